//! The wallet screen as an image (feature `screen-image`, on with `cli`): PNG
//! and SVG of [`Screen`], and the animated code as an animated GIF or a set of
//! PNG/SVG frames.
//!
//! Text in the PNG is drawn with GNU Unifont's bitmaps (`unifont` crate), which
//! cover every Chinese character a name can hold, so the image needs no system
//! font; the SVG uses text elements and the viewer's fonts. The portrait, when
//! the wallet holds one, is decoded with `image` (JPEG, PNG or WebP, bounded)
//! for the PNG and embedded as is in the SVG. A phone app draws its own screen
//! from [`Screen`] and needs none of this.

use std::io::Cursor;

use base64::Engine;

use crate::animated::AnimatedLoop;
use crate::error::WalletError;
use crate::qr::{encode_png, Qr};
use crate::screen::{local_time, CodeColour, Screen};

/// Width of the screen image in pixels (height follows from the content).
pub const SCREEN_WIDTH: usize = 720;
const BACKGROUND: [u8; 3] = [0xf7, 0xf8, 0xfa];
const HEADER: [u8; 3] = [0x16, 0x77, 0xff];
const WHITE: [u8; 3] = [0xff, 0xff, 0xff];
const INK: [u8; 3] = [0x26, 0x26, 0x2c];
const GREY: [u8; 3] = [0x6b, 0x6b, 0x75];
const PORTRAIT: (usize, usize) = (120, 160);
const CODE_SIDE: usize = 600;
const MAX_PORTRAIT_PIXELS: u64 = 4_000_000;

struct Canvas {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize, colour: [u8; 3]) -> Canvas {
        Canvas {
            width,
            height,
            rgb: colour.repeat(width * height),
        }
    }

    fn set(&mut self, x: usize, y: usize, colour: [u8; 3]) {
        if x < self.width && y < self.height {
            let at = (y * self.width + x) * 3;
            self.rgb[at..at + 3].copy_from_slice(&colour);
        }
    }

    fn fill(&mut self, x0: usize, y0: usize, w: usize, h: usize, colour: [u8; 3]) {
        for y in y0..(y0 + h).min(self.height) {
            for x in x0..(x0 + w).min(self.width) {
                self.set(x, y, colour);
            }
        }
    }

    /// Draws `text` with Unifont glyphs magnified `scale` times; returns the width drawn.
    fn text(&mut self, x0: usize, y0: usize, text: &str, scale: usize, colour: [u8; 3]) -> usize {
        let mut x = x0;
        for c in text.chars() {
            let Some(glyph) = unifont::get_glyph(c).or_else(|| unifont::get_glyph('?')) else {
                continue;
            };
            let width = glyph.get_width();
            for gy in 0..16 {
                for gx in 0..width {
                    if glyph.get_pixel(gx, gy) {
                        self.fill(x + gx * scale, y0 + gy * scale, scale, scale, colour);
                    }
                }
            }
            x += width * scale;
        }
        x - x0
    }

    fn code(&mut self, qr: &Qr, x0: usize, y0: usize, module: usize, ink: [u8; 3]) {
        let side = qr.side_modules() * module;
        self.fill(x0, y0, side, side, WHITE);
        let quiet = crate::qr::QUIET_ZONE;
        for y in 0..qr.width() {
            for x in 0..qr.width() {
                if qr.is_dark(x, y) {
                    self.fill(
                        x0 + (x + quiet) * module,
                        y0 + (y + quiet) * module,
                        module,
                        module,
                        ink,
                    );
                }
            }
        }
    }

    fn image(&mut self, x0: usize, y0: usize, image: &image::RgbImage) {
        for (x, y, p) in image.enumerate_pixels() {
            self.set(x0 + x as usize, y0 + y as usize, p.0);
        }
    }

    fn png(&self) -> Result<Vec<u8>, WalletError> {
        let (w, h) = (
            u32::try_from(self.width).map_err(|_| WalletError::Qr("image too large".into()))?,
            u32::try_from(self.height).map_err(|_| WalletError::Qr("image too large".into()))?,
        );
        encode_png(&self.rgb, w, h, png::ColorType::Rgb)
    }
}

/// Decodes a portrait for drawing, fitted into `PORTRAIT`; `None` if it does not decode.
fn portrait_image(bytes: &[u8]) -> Option<image::RgbImage> {
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PORTRAIT_PIXELS * 4);
    reader.limits(limits);
    let (w, h) = reader.into_dimensions().ok()?;
    if u64::from(w) * u64::from(h) > MAX_PORTRAIT_PIXELS {
        return None;
    }
    let decoded = image::load_from_memory(bytes).ok()?;
    Some(
        decoded
            .resize(
                PORTRAIT.0 as u32,
                PORTRAIT.1 as u32,
                image::imageops::FilterType::Triangle,
            )
            .to_rgb8(),
    )
}

struct Layout {
    module: usize,
    code_x: usize,
    code_y: usize,
    code_side: usize,
    lines_y: usize,
    height: usize,
}

fn layout(screen: &Screen) -> Layout {
    let modules = screen.qr().side_modules().max(1);
    let module = (CODE_SIDE / modules).max(2);
    let code_side = module * modules;
    let code_y = 96 + 24 + PORTRAIT.1 + 24;
    let lines_y = code_y + code_side + 24;
    Layout {
        module,
        code_x: (SCREEN_WIDTH.saturating_sub(code_side)) / 2,
        code_y,
        code_side,
        lines_y,
        height: lines_y + 3 * 40 + 24,
    }
}

fn time_lines(screen: &Screen) -> [String; 3] {
    [
        format!(
            "生成时间 {}",
            local_time(screen.presented.presented_at, screen.utc_offset_s)
        ),
        format!("当前时间 {}", local_time(screen.now, screen.utc_offset_s)),
        format!(
            "{} 秒后刷新 · next code in {} s",
            screen.seconds_to_refresh(),
            screen.seconds_to_refresh()
        ),
    ]
}

/// The screen as a PNG: header, portrait, name and status, the code in the
/// status colour, generation time, current time and countdown.
pub fn screen_png(screen: &Screen, portrait: Option<&[u8]>) -> Result<Vec<u8>, WalletError> {
    let l = layout(screen);
    let ink = screen.at_a_glance.colour.rgb();
    let mut c = Canvas::new(SCREEN_WIDTH, l.height, BACKGROUND);
    c.fill(0, 0, SCREEN_WIDTH, 96, HEADER);
    c.text(24, 32, "电子驾驶证 Electronic driving licence", 2, WHITE);
    let (px, py) = (24, 96 + 24);
    match portrait.and_then(portrait_image) {
        Some(image) => c.image(px, py, &image),
        None => {
            c.fill(px, py, PORTRAIT.0, PORTRAIT.1, [0xdd, 0xdf, 0xe4]);
            c.text(px + 28, py + 64, "照片", 2, GREY);
        }
    }
    let tx = px + PORTRAIT.0 + 24;
    c.text(tx, py, &screen.holder_name, 3, INK);
    c.text(
        tx,
        py + 60,
        &format!("证号 {}", screen.licence_number),
        1,
        INK,
    );
    c.text(
        tx,
        py + 84,
        &format!("准驾车型 {}   记分 {}", screen.classes, screen.points),
        1,
        INK,
    );
    let status = format!("状态 {}", screen.at_a_glance.label());
    c.text(
        tx,
        py + 116,
        &status,
        1,
        if screen.at_a_glance.colour == CodeColour::Red {
            ink
        } else {
            INK
        },
    );
    c.code(screen.qr(), l.code_x, l.code_y, l.module, ink);
    for (i, line) in time_lines(screen).iter().enumerate() {
        c.text(
            l.code_x,
            l.lines_y + i * 40,
            line,
            2,
            if i == 2 { GREY } else { INK },
        );
    }
    c.png()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn hex(colour: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", colour[0], colour[1], colour[2])
}

fn mime_of(bytes: &[u8]) -> &'static str {
    match bytes {
        [0xff, 0xd8, ..] => "image/jpeg",
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "image/webp",
        _ => "application/octet-stream",
    }
}

/// The same screen as SVG (text as text, the portrait embedded as a data URI).
pub fn screen_svg(screen: &Screen, portrait: Option<&[u8]>) -> String {
    let l = layout(screen);
    let ink = hex(screen.at_a_glance.colour.rgb());
    let (px, py) = (24, 96 + 24);
    let tx = px + PORTRAIT.0 + 24;
    let portrait_element = match portrait {
        Some(bytes) => format!(
            "<image x=\"{px}\" y=\"{py}\" width=\"{}\" height=\"{}\" preserveAspectRatio=\"xMidYMid meet\" href=\"data:{};base64,{}\"/>",
            PORTRAIT.0,
            PORTRAIT.1,
            mime_of(bytes),
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ),
        None => format!(
            "<rect x=\"{px}\" y=\"{py}\" width=\"{}\" height=\"{}\" fill=\"#dddfe4\"/><text x=\"{}\" y=\"{}\" font-size=\"28\" fill=\"{}\" text-anchor=\"middle\">照片</text>",
            PORTRAIT.0,
            PORTRAIT.1,
            px + PORTRAIT.0 / 2,
            py + PORTRAIT.1 / 2 + 10,
            hex(GREY)
        ),
    };
    let status_fill = if screen.at_a_glance.colour == CodeColour::Red {
        ink.clone()
    } else {
        hex(INK)
    };
    let times: String = time_lines(screen)
        .iter()
        .enumerate()
        .map(|(i, line)| {
            format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"28\" fill=\"{}\">{}</text>",
                l.code_x,
                l.lines_y + i * 40 + 28,
                hex(if i == 2 { GREY } else { INK }),
                escape(line)
            )
        })
        .collect();
    let m = l.module;
    format!(
        concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\">",
            "<rect width=\"{w}\" height=\"{h}\" fill=\"{bg}\"/><rect width=\"{w}\" height=\"96\" fill=\"{header}\"/>",
            "<text x=\"24\" y=\"60\" font-size=\"32\" fill=\"#fff\">电子驾驶证 Electronic driving licence</text>",
            "{portrait}",
            "<text x=\"{tx}\" y=\"{name_y}\" font-size=\"48\" fill=\"{text}\">{name}</text>",
            "<text x=\"{tx}\" y=\"{l1}\" font-size=\"16\" fill=\"{text}\">证号 {number}</text>",
            "<text x=\"{tx}\" y=\"{l2}\" font-size=\"16\" fill=\"{text}\">准驾车型 {classes}   记分 {points}</text>",
            "<text x=\"{tx}\" y=\"{l3}\" font-size=\"16\" fill=\"{status_fill}\" data-colour=\"{colour}\">状态 {status}</text>",
            "<rect x=\"{cx}\" y=\"{cy}\" width=\"{cs}\" height=\"{cs}\" fill=\"#fff\"/>",
            "<path transform=\"translate({cx} {cy}) scale({m})\" shape-rendering=\"crispEdges\" fill=\"{ink}\" d=\"{path}\"/>",
            "{times}</svg>\n"
        ),
        w = SCREEN_WIDTH,
        h = l.height,
        bg = hex(BACKGROUND),
        header = hex(HEADER),
        portrait = portrait_element,
        tx = tx,
        name_y = py + 44,
        text = hex(INK),
        name = escape(&screen.holder_name),
        l1 = py + 76,
        l2 = py + 100,
        l3 = py + 132,
        number = escape(&screen.licence_number),
        classes = escape(&screen.classes),
        points = screen.points,
        status_fill = status_fill,
        colour = screen.at_a_glance.colour.name(),
        status = escape(&screen.at_a_glance.label()),
        cx = l.code_x,
        cy = l.code_y,
        cs = l.code_side,
        m = m,
        ink = ink,
        path = screen.qr().svg_path(0, 0),
        times = times,
    )
}

/// The loop as an animated GIF (repeating forever): each frame the code in
/// `colour`, `scale` pixels per module, all frames the size of the largest.
pub fn loop_gif(
    animation: &AnimatedLoop,
    colour: CodeColour,
    scale: u32,
) -> Result<Vec<u8>, WalletError> {
    let scale = scale.clamp(1, 32) as usize;
    let side = animation
        .frames
        .iter()
        .map(|f| f.qr.side_modules())
        .max()
        .unwrap_or(0)
        * scale;
    let side_u16 = u16::try_from(side).map_err(|_| WalletError::Qr("GIF too large".into()))?;
    let ink = colour.rgb();
    let palette = [255, 255, 255, ink[0], ink[1], ink[2]];
    let gif_error = |e: gif::EncodingError| WalletError::Qr(format!("GIF encoding: {e}"));
    let mut out = Vec::new();
    {
        let mut encoder =
            gif::Encoder::new(&mut out, side_u16, side_u16, &palette).map_err(gif_error)?;
        encoder
            .set_repeat(gif::Repeat::Infinite)
            .map_err(gif_error)?;
        // GIF delays are in hundredths of a second.
        let delay = u16::try_from((100 + animation.fps / 2) / animation.fps.max(1)).unwrap_or(12);
        for frame in &animation.frames {
            let qr = &frame.qr;
            // Smaller symbols (a shorter presentation) are centred in the frame.
            let offset = (side - qr.side_modules() * scale) / 2;
            let mut pixels = vec![0u8; side * side];
            for y in 0..qr.width() {
                for x in 0..qr.width() {
                    if qr.is_dark(x, y) {
                        let (x0, y0) = (
                            offset + (x + crate::qr::QUIET_ZONE) * scale,
                            offset + (y + crate::qr::QUIET_ZONE) * scale,
                        );
                        for row in pixels[y0 * side..(y0 + scale) * side].chunks_mut(side) {
                            row[x0..x0 + scale].fill(1);
                        }
                    }
                }
            }
            let mut gif_frame = gif::Frame::from_indexed_pixels(side_u16, side_u16, pixels, None);
            gif_frame.delay = delay;
            encoder.write_frame(&gif_frame).map_err(gif_error)?;
        }
    }
    Ok(out)
}

/// The loop as PNG and SVG files: `(file name, bytes)` pairs, `frame-000.png`,
/// `frame-000.svg`, … in display order.
pub fn loop_frame_files(
    animation: &AnimatedLoop,
    colour: CodeColour,
    scale: u32,
) -> Result<Vec<(String, Vec<u8>)>, WalletError> {
    let mut files = Vec::with_capacity(animation.frames.len() * 2);
    for (i, frame) in animation.frames.iter().enumerate() {
        files.push((
            format!("frame-{i:03}.png"),
            frame.qr.to_png_in(colour.rgb(), scale)?,
        ));
        let svg = frame
            .qr
            .to_svg()
            .replace("fill=\"#000\"", &format!("fill=\"{}\"", hex(colour.rgb())));
        files.push((format!("frame-{i:03}.svg"), svg.into_bytes()));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn unifont_draws_chinese_names() {
        let mut c = Canvas::new(200, 40, WHITE);
        let width = c.text(0, 0, "欧阳婷婷 A", 1, INK);
        assert_eq!(width, 4 * 16 + 2 * 8);
        assert!(c.rgb.chunks(3).any(|p| p == INK));
    }
}
