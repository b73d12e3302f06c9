//! The QR code of a presentation: module matrix, PNG, SVG and terminal renderings.
//!
//! The text is `DL1:` + base45, all in the QR alphanumeric set, so the encoder's
//! mode optimisation puts it in alphanumeric mode (spec §8.2). Error correction
//! level M, the level of the spec's size budget (§6.2). The renderings are written
//! here (a few lines each) rather than through the `qrcode` crate's `image`
//! feature, which would pull an image library into every phone build; PNG uses the
//! `png` encoder directly.

use qrcode::{Color, EcLevel, QrCode, Version};

use crate::error::WalletError;

/// Quiet zone around the symbol, in modules (ISO/IEC 18004 asks for 4).
pub const QUIET_ZONE: usize = 4;

/// A QR symbol as a square matrix of modules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Qr {
    width: usize,
    version: i16,
    dark: Vec<bool>,
}

impl Qr {
    /// Encodes `text` at error-correction level M in the smallest version that fits.
    pub fn encode(text: &str) -> Result<Qr, WalletError> {
        let code = QrCode::with_error_correction_level(text, EcLevel::M)
            .map_err(|e| WalletError::Qr(e.to_string()))?;
        let version = match code.version() {
            Version::Normal(v) | Version::Micro(v) => v,
        };
        Ok(Qr {
            width: code.width(),
            version,
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect(),
        })
    }

    /// Modules per side (without quiet zone).
    pub fn width(&self) -> usize {
        self.width
    }

    /// The QR version (1..=40).
    pub fn version(&self) -> i16 {
        self.version
    }

    /// Whether the module at column `x`, row `y` is dark (false outside the symbol).
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width
            && y < self.width
            && self.dark.get(y * self.width + x).copied().unwrap_or(false)
    }

    /// The modules row by row (`true` = dark), `width × width` of them.
    pub fn modules(&self) -> &[bool] {
        &self.dark
    }

    fn is_dark_with_quiet_zone(&self, x: usize, y: usize) -> bool {
        x >= QUIET_ZONE && y >= QUIET_ZONE && self.is_dark(x - QUIET_ZONE, y - QUIET_ZONE)
    }

    fn side_with_quiet_zone(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }

    /// A greyscale PNG, `scale` pixels per module, with the quiet zone.
    pub fn to_png(&self, scale: u32) -> Result<Vec<u8>, WalletError> {
        self.to_png_in([0, 0, 0], scale)
    }

    /// A PNG with the dark modules in `ink` (sRGB) on white, `scale` pixels per
    /// module, with the quiet zone. Black ink gives a greyscale PNG.
    pub fn to_png_in(&self, ink: [u8; 3], scale: u32) -> Result<Vec<u8>, WalletError> {
        let scale = scale.clamp(1, 64) as usize;
        let side = self.side_with_quiet_zone() * scale;
        let side_u32 =
            u32::try_from(side).map_err(|_| WalletError::Qr("image too large".into()))?;
        let grey = ink[0] == ink[1] && ink[1] == ink[2];
        let channels = if grey { 1 } else { 3 };
        let mut pixels = vec![255u8; side * side * channels];
        for (y, row) in pixels.chunks_mut(side * channels).enumerate() {
            for (x, pixel) in row.chunks_mut(channels).enumerate() {
                if self.is_dark_with_quiet_zone(x / scale, y / scale) {
                    pixel.copy_from_slice(&ink[..channels]);
                }
            }
        }
        let colour = if grey {
            png::ColorType::Grayscale
        } else {
            png::ColorType::Rgb
        };
        encode_png(&pixels, side_u32, side_u32, colour)
    }

    /// An SVG image (one path of unit squares, with the quiet zone), scalable.
    pub fn to_svg(&self) -> String {
        let side = self.side_with_quiet_zone();
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" width=\"{}\" height=\"{}\" shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{}\"/></svg>\n",
            side * 8,
            side * 8,
            self.svg_path(0, 0)
        )
    }

    /// The dark modules as an SVG path of unit squares, the symbol's top-left
    /// quiet-zone corner at (`x0`, `y0`) in module units.
    pub fn svg_path(&self, x0: usize, y0: usize) -> String {
        let mut path = String::new();
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if self.is_dark(x, y) {
                    let start = x;
                    while x < self.width && self.is_dark(x, y) {
                        x += 1;
                    }
                    path += &format!(
                        "M{} {}h{}v1h-{}z",
                        x0 + start + QUIET_ZONE,
                        y0 + y + QUIET_ZONE,
                        x - start,
                        x - start
                    );
                } else {
                    x += 1;
                }
            }
        }
        path
    }

    /// Modules per side including the quiet zone.
    pub fn side_modules(&self) -> usize {
        self.side_with_quiet_zone()
    }

    /// The symbol for a terminal: two module rows per line with half blocks, in
    /// black on bright white, so it scans on dark and light themes.
    pub fn to_terminal(&self) -> String {
        self.to_terminal_in([0, 0, 0], TerminalCells::Half)
    }

    /// Terminal columns the symbol takes with `cells`.
    pub fn terminal_columns(&self, cells: TerminalCells) -> usize {
        self.side_with_quiet_zone().div_ceil(cells.modules_across())
    }

    /// The symbol for a terminal in `ink` (24-bit ANSI colour) on white, with the
    /// quiet zone, drawn with `cells`.
    pub fn to_terminal_in(&self, ink: [u8; 3], cells: TerminalCells) -> String {
        let side = self.side_with_quiet_zone();
        let (across, down) = (cells.modules_across(), cells.modules_down());
        let mut out = String::new();
        for y in (0..side).step_by(down) {
            out += &format!(
                "\x1b[38;2;{};{};{};48;2;255;255;255m",
                ink[0], ink[1], ink[2]
            );
            for x in (0..side).step_by(across) {
                let mut mask = 0u8;
                for dy in 0..down {
                    for dx in 0..across {
                        if self.is_dark_with_quiet_zone(x + dx, y + dy) {
                            mask |= 1 << (dy * across + dx);
                        }
                    }
                }
                out.push(cells.glyph(mask));
            }
            out += "\x1b[0m\n";
        }
        out
    }
}

/// How many modules one terminal character cell draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TerminalCells {
    /// 1 × 2 modules per cell (`▀ ▄ █`): every terminal font has these, but the full
    /// profile's code needs about 41 lines.
    Half,
    /// 2 × 4 modules per cell (Unicode 16 block octants): square modules in a
    /// 1:2 character cell, and the full profile's code in 43 columns × 22 lines,
    /// so the screen fits 80 × 24. Needs a terminal that draws Unicode 16 octants
    /// (most draw block elements themselves).
    #[default]
    Octant,
}

impl TerminalCells {
    /// Stable name (`half`, `octant`).
    pub fn name(self) -> &'static str {
        match self {
            TerminalCells::Half => "half",
            TerminalCells::Octant => "octant",
        }
    }

    /// From the name.
    pub fn parse(name: &str) -> Option<TerminalCells> {
        [TerminalCells::Half, TerminalCells::Octant]
            .into_iter()
            .find(|c| c.name() == name)
    }

    fn modules_across(self) -> usize {
        match self {
            TerminalCells::Half => 1,
            TerminalCells::Octant => 2,
        }
    }

    fn modules_down(self) -> usize {
        match self {
            TerminalCells::Half => 2,
            TerminalCells::Octant => 4,
        }
    }

    /// The character for a cell whose modules are set in `mask`: bit
    /// `row × across + column`, i.e. octant `n` (numbered 1 2 / 3 4 / 5 6 / 7 8)
    /// is bit `n − 1`.
    fn glyph(self, mask: u8) -> char {
        match self {
            TerminalCells::Half => match mask & 3 {
                0 => ' ',
                1 => '▀',
                2 => '▄',
                _ => '█',
            },
            TerminalCells::Octant => octant(mask),
        }
    }
}

/// Octant patterns that Unicode encodes outside the octant block (as block
/// elements, quadrants or Legacy Computing characters); every other pattern is
/// in U+1CD00..=U+1CDE5, in increasing order of its mask.
const OCTANTS_ELSEWHERE: [(u8, char); 26] = [
    (0x00, ' '),
    (0x01, '\u{1CEA8}'),
    (0x02, '\u{1CEAB}'),
    (0x03, '\u{1FB82}'),
    (0x05, '▘'),
    (0x0a, '▝'),
    (0x0f, '▀'),
    (0x14, '\u{1FBE6}'),
    (0x28, '\u{1FBE7}'),
    (0x3f, '\u{1FB85}'),
    (0x40, '\u{1CEA3}'),
    (0x50, '▖'),
    (0x55, '▌'),
    (0x5a, '▞'),
    (0x5f, '▛'),
    (0x80, '\u{1CEA0}'),
    (0xa0, '▗'),
    (0xa5, '▚'),
    (0xaa, '▐'),
    (0xaf, '▜'),
    (0xc0, '▂'),
    (0xf0, '▄'),
    (0xf5, '▙'),
    (0xfa, '▟'),
    (0xfc, '▆'),
    (0xff, '█'),
];

fn octant(mask: u8) -> char {
    if let Some((_, c)) = OCTANTS_ELSEWHERE.iter().find(|(m, _)| *m == mask) {
        return *c;
    }
    let skipped = OCTANTS_ELSEWHERE.iter().filter(|(m, _)| *m < mask).count() as u32;
    char::from_u32(0x1CD00 + u32::from(mask) - skipped).unwrap_or('?')
}

/// Encodes 8-bit `pixels` (grey or RGB) as PNG.
pub(crate) fn encode_png(
    pixels: &[u8],
    width: u32,
    height: u32,
    colour: png::ColorType,
) -> Result<Vec<u8>, WalletError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(colour);
    encoder.set_depth(png::BitDepth::Eight);
    let png_error = |e: png::EncodingError| WalletError::Qr(format!("PNG encoding: {e}"));
    let mut writer = encoder.write_header().map_err(png_error)?;
    writer.write_image_data(pixels).map_err(png_error)?;
    writer.finish().map_err(png_error)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn renderings_agree_with_the_matrix() {
        let qr = Qr::encode("DL1:HELLO WORLD").unwrap();
        assert_eq!(qr.version(), 1);
        assert_eq!(qr.width(), 21);
        assert_eq!(qr.modules().len(), 21 * 21);
        // Finder pattern corners are dark.
        assert!(qr.is_dark(0, 0) && qr.is_dark(20, 0) && qr.is_dark(0, 20));
        assert!(!qr.is_dark(21, 0));
        let png = qr.to_png(4).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let svg = qr.to_svg();
        assert!(svg.contains("viewBox=\"0 0 29 29\""));
        let terminal = qr.to_terminal();
        assert_eq!(terminal.lines().count(), 15);
        let octants = qr.to_terminal_in([0xc8, 0x10, 0x1e], TerminalCells::Octant);
        assert_eq!(octants.lines().count(), 8, "29 rows, 4 per line");
        assert!(octants.starts_with("\x1b[38;2;200;16;30;48;2;255;255;255m"));
        assert_eq!(qr.terminal_columns(TerminalCells::Octant), 15);
    }

    #[test]
    fn octant_glyphs_cover_every_pattern_once() {
        let glyphs: std::collections::HashSet<char> = (0..=255u8).map(octant).collect();
        assert_eq!(glyphs.len(), 256);
        // The 230 patterns without an older character fill the octant block exactly.
        assert_eq!(octant(0x04), '\u{1CD00}');
        assert_eq!(octant(0x17), '\u{1CD0F}', "BLOCK OCTANT-1235");
        assert_eq!(octant(0x77), '\u{1CD68}', "BLOCK OCTANT-123567");
        assert_eq!(octant(0xfe), '\u{1CDE5}', "BLOCK OCTANT-2345678");
        assert!(!glyphs.contains(&'?'));
    }
}
