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
        let scale = scale.clamp(1, 64) as usize;
        let side = self.side_with_quiet_zone() * scale;
        let side_u32 =
            u32::try_from(side).map_err(|_| WalletError::Qr("image too large".into()))?;
        let mut pixels = vec![255u8; side * side];
        for (y, row) in pixels.chunks_mut(side).enumerate() {
            for (x, pixel) in row.iter_mut().enumerate() {
                if self.is_dark_with_quiet_zone(x / scale, y / scale) {
                    *pixel = 0;
                }
            }
        }
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, side_u32, side_u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let png_error = |e: png::EncodingError| WalletError::Qr(format!("PNG encoding: {e}"));
        let mut writer = encoder.write_header().map_err(png_error)?;
        writer.write_image_data(&pixels).map_err(png_error)?;
        writer.finish().map_err(png_error)?;
        Ok(out)
    }

    /// An SVG image (one path of unit squares, with the quiet zone), scalable.
    pub fn to_svg(&self) -> String {
        let side = self.side_with_quiet_zone();
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
                        start + QUIET_ZONE,
                        y + QUIET_ZONE,
                        x - start,
                        x - start
                    );
                } else {
                    x += 1;
                }
            }
        }
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" width=\"{}\" height=\"{}\" shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>\n",
            side * 8,
            side * 8
        )
    }

    /// The symbol for a terminal: two module rows per line with half blocks, in
    /// black on bright white (ANSI colours), so it scans on dark and light themes.
    pub fn to_terminal(&self) -> String {
        let side = self.side_with_quiet_zone();
        let mut out = String::new();
        for y in (0..side).step_by(2) {
            out += "\x1b[30;107m";
            for x in 0..side {
                let top = self.is_dark_with_quiet_zone(x, y);
                let bottom = y + 1 < side && self.is_dark_with_quiet_zone(x, y + 1);
                out.push(match (top, bottom) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            out += "\x1b[0m\n";
        }
        out
    }
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
    }
}
