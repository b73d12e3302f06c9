//! Photo-like test images of licence QR codes, made deterministically from a seed.
//!
//! Why a generator and not a folder of photos: the verifier's reader must be
//! measured on what officers will really point it at — a phone screen photographed
//! at an angle, in bad light, through a scratched lens — and on *our* payload
//! (`DL1:` + base45, QR version 12–15 at level M). Public QR photo sets hold other
//! payloads and cannot be regenerated with a new credential format; a seeded
//! generator can, and tests that use it are reproducible bit for bit.
//!
//! The model, in order: the wallet's screen is drawn at phone resolution (status
//! bar, header, card, the code with its quiet zone, a caption; light or dark
//! theme); the phone (screen in a black bezel) is placed in 3-D and projected by a
//! pinhole camera onto a desk background; then the camera: defocus blur, exposure,
//! glare, sensor noise, JPEG compression. Each [`Category`] turns one of these up.
//! Screens are sampled either with area averaging (a camera integrates light) or,
//! for moiré, by point sampling of the screen's RGB sub-pixel grid, which aliases
//! exactly as a real sensor does against a real display.

#![forbid(unsafe_code)]

use credential::Profile;
use qrcode::{Color, EcLevel, QrCode};
use vectorgen::fixture;

pub mod video;

/// What a sample stresses. `Clean` is a phone screenshot; all others are photos.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// A phone screenshot, as the wallet renders it (PNG).
    Clean,
    /// A photo with a strongly tilted phone (25–50° out of plane).
    Perspective,
    /// A photo with the phone turned in plane by any angle.
    Rotation,
    /// Out of focus: Gaussian blur of 0.25–0.6 module widths.
    Blur,
    /// Sensor noise, σ 14–32 grey levels.
    Noise,
    /// Heavy JPEG compression, quality 6–20.
    Jpeg,
    /// A dim screen in bright light: 30–70 grey levels between dark and light modules.
    LowContrast,
    /// A reflection washing out part of the code.
    Glare,
    /// The camera's pixel grid beating against the screen's sub-pixel grid.
    Moire,
    /// A thumb over part of the code.
    PartialCover,
    /// The wallet in dark mode: light modules on a dark background.
    DarkMode,
    /// Phone far away: 1.2–1.9 pixels per module.
    Small,
    /// Two phones in one photo, each showing a code.
    TwoCodes,
}

impl Category {
    /// Every category, in report order.
    pub const ALL: [Category; 13] = [
        Category::Clean,
        Category::Perspective,
        Category::Rotation,
        Category::Blur,
        Category::Noise,
        Category::Jpeg,
        Category::LowContrast,
        Category::Glare,
        Category::Moire,
        Category::PartialCover,
        Category::DarkMode,
        Category::Small,
        Category::TwoCodes,
    ];

    /// Stable name, used for folders and reports.
    pub fn name(self) -> &'static str {
        match self {
            Category::Clean => "clean",
            Category::Perspective => "perspective",
            Category::Rotation => "rotation",
            Category::Blur => "blur",
            Category::Noise => "noise",
            Category::Jpeg => "jpeg",
            Category::LowContrast => "low_contrast",
            Category::Glare => "glare",
            Category::Moire => "moire",
            Category::PartialCover => "partial_cover",
            Category::DarkMode => "dark_mode",
            Category::Small => "small",
            Category::TwoCodes => "two_codes",
        }
    }

    /// The category called `name`.
    pub fn from_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// One generated image.
pub struct Sample {
    /// Encoded image (PNG for screenshots, JPEG for photos).
    pub bytes: Vec<u8>,
    /// File extension matching `bytes`: `png` or `jpg`.
    pub extension: &'static str,
    /// The QR text of every code in the image.
    pub texts: Vec<String>,
    /// Pixel size.
    pub width: u32,
    /// Pixel size.
    pub height: u32,
}

/// SplitMix64: tiny, seedable, identical on every platform.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u = self.unit().max(1e-7);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

/// An RGB image with float channels in 0..=255 (values may leave that range until encoded).
#[derive(Clone)]
pub struct Canvas {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major pixels.
    pub pixels: Vec<[f32; 3]>,
}

impl Canvas {
    /// A canvas filled with `color`.
    pub fn new(width: usize, height: usize, color: [f32; 3]) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![color; width * height],
        }
    }

    fn fill_rect(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, color: [f32; 3]) {
        self.fill_rounded(x0, y0, x1, y1, 0.0, color);
    }

    /// Fills a rectangle with rounded corners (radius `r`), with 1-pixel antialiasing at the corners.
    fn fill_rounded(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, r: f32, color: [f32; 3]) {
        let (w, h) = (self.width as f32, self.height as f32);
        let ys = y0.max(0.0).floor() as usize;
        let ye = y1.min(h).ceil().max(0.0) as usize;
        let xs = x0.max(0.0).floor() as usize;
        let xe = x1.min(w).ceil().max(0.0) as usize;
        for y in ys..ye {
            for x in xs..xe {
                let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                // Coverage of the pixel by the (rounded) rectangle, approximated per axis.
                let cx = (px - x0 + 0.5).clamp(0.0, 1.0) * (x1 - px + 0.5).clamp(0.0, 1.0);
                let cy = (py - y0 + 0.5).clamp(0.0, 1.0) * (y1 - py + 0.5).clamp(0.0, 1.0);
                let mut coverage = cx * cy;
                if r > 0.0 {
                    let dx = (x0 + r - px).max(px - (x1 - r)).max(0.0);
                    let dy = (y0 + r - py).max(py - (y1 - r)).max(0.0);
                    let d = (dx * dx + dy * dy).sqrt();
                    coverage *= (r - d + 0.5).clamp(0.0, 1.0);
                }
                self.blend(x, y, color, coverage);
            }
        }
    }

    /// Fills an ellipse with a soft edge `soft` pixels wide.
    fn fill_ellipse(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, soft: f32, color: [f32; 3]) {
        let ys = (cy - ry - soft).max(0.0) as usize;
        let ye = ((cy + ry + soft).max(0.0) as usize).min(self.height);
        let xs = (cx - rx - soft).max(0.0) as usize;
        let xe = ((cx + rx + soft).max(0.0) as usize).min(self.width);
        for y in ys..ye {
            for x in xs..xe {
                let dx = (x as f32 + 0.5 - cx) / rx;
                let dy = (y as f32 + 0.5 - cy) / ry;
                let d = ((dx * dx + dy * dy).sqrt() - 1.0) * rx.min(ry);
                let coverage = (0.5 - d / soft.max(0.5)).clamp(0.0, 1.0);
                // Shade the thumb: darker towards its edge, like a lit rounded object.
                let shade = 1.0 - 0.25 * (dx * dx + dy * dy).min(1.0);
                let c = [color[0] * shade, color[1] * shade, color[2] * shade];
                self.blend(x, y, c, coverage);
            }
        }
    }

    fn blend(&mut self, x: usize, y: usize, color: [f32; 3], alpha: f32) {
        if alpha <= 0.0 {
            return;
        }
        if let Some(p) = self.pixels.get_mut(y * self.width + x) {
            for (channel, c) in p.iter_mut().zip(color) {
                *channel += (c - *channel) * alpha;
            }
        }
    }

    /// Bilinear sample at continuous coordinates (pixel centres at +0.5); `None` outside.
    fn bilinear(&self, x: f32, y: f32) -> Option<[f32; 3]> {
        let fx = x - 0.5;
        let fy = y - 0.5;
        if fx < -0.5 || fy < -0.5 || fx > self.width as f32 - 0.5 || fy > self.height as f32 - 0.5 {
            return None;
        }
        let x0 = fx.floor().max(0.0) as usize;
        let y0 = fy.floor().max(0.0) as usize;
        let x1 = (x0 + 1).min(self.width - 1);
        let y1 = (y0 + 1).min(self.height - 1);
        let tx = (fx - x0 as f32).clamp(0.0, 1.0);
        let ty = (fy - y0 as f32).clamp(0.0, 1.0);
        let p = |x: usize, y: usize| self.pixels[y * self.width + x];
        let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
        let mut out = [0.0; 3];
        for i in 0..3 {
            let top = a[i] + (b[i] - a[i]) * tx;
            let bottom = c[i] + (d[i] - c[i]) * tx;
            out[i] = top + (bottom - top) * ty;
        }
        Some(out)
    }

    /// Point sample of a display: the pixel's colour through its RGB sub-pixel stripe mask.
    fn subpixel(&self, x: f32, y: f32) -> Option<[f32; 3]> {
        if x < 0.0 || y < 0.0 || x >= self.width as f32 || y >= self.height as f32 {
            return None;
        }
        let (ix, iy) = (x as usize, y as usize);
        let base = self.pixels[iy * self.width + ix];
        let stripe = ((x.fract() * 3.0) as usize).min(2);
        // Dark gaps between pixel rows, and light leaking into neighbouring stripes.
        let row = if y.fract() > 0.8 { 0.35 } else { 1.0 };
        let mut out = [0.0; 3];
        for (i, o) in out.iter_mut().enumerate() {
            let gain = if i == stripe { 2.4 } else { 0.3 };
            *o = base[i] * gain * row;
        }
        Some(out)
    }

    /// Separable Gaussian blur with standard deviation `sigma` pixels.
    pub fn blur(&mut self, sigma: f32) {
        if sigma < 0.1 {
            return;
        }
        let radius = (sigma * 3.0).ceil() as isize;
        let kernel: Vec<f32> = (-radius..=radius)
            .map(|i| (-((i * i) as f32) / (2.0 * sigma * sigma)).exp())
            .collect();
        let total: f32 = kernel.iter().sum();
        let kernel: Vec<f32> = kernel.iter().map(|k| k / total).collect();
        let (w, h) = (self.width as isize, self.height as isize);
        let mut tmp = vec![[0.0f32; 3]; self.pixels.len()];
        for y in 0..h {
            for x in 0..w {
                let mut acc = [0.0; 3];
                for (k, weight) in kernel.iter().enumerate() {
                    let sx = (x + k as isize - radius).clamp(0, w - 1);
                    let p = self.pixels[(y * w + sx) as usize];
                    for i in 0..3 {
                        acc[i] += p[i] * weight;
                    }
                }
                tmp[(y * w + x) as usize] = acc;
            }
        }
        for y in 0..h {
            for x in 0..w {
                let mut acc = [0.0; 3];
                for (k, weight) in kernel.iter().enumerate() {
                    let sy = (y + k as isize - radius).clamp(0, h - 1);
                    let p = tmp[(sy * w + x) as usize];
                    for i in 0..3 {
                        acc[i] += p[i] * weight;
                    }
                }
                self.pixels[(y * w + x) as usize] = acc;
            }
        }
    }

    /// Motion blur: the average along the segment (`dx`, `dy`) pixels centred on
    /// each pixel, as a moving image integrates over the exposure.
    pub fn motion_blur(&mut self, dx: f32, dy: f32) {
        let length = (dx * dx + dy * dy).sqrt();
        if length < 0.5 {
            return;
        }
        let taps = (length.ceil() as usize + 1).min(33);
        let source = self.clone();
        for y in 0..self.height {
            for x in 0..self.width {
                let mut acc = [0.0f32; 3];
                let mut hits = 0.0f32;
                for k in 0..taps {
                    let f = k as f32 / (taps - 1) as f32 - 0.5;
                    let (sx, sy) = (x as f32 + 0.5 + f * dx, y as f32 + 0.5 + f * dy);
                    if let Some(p) = source.bilinear(sx, sy) {
                        hits += 1.0;
                        for i in 0..3 {
                            acc[i] += p[i];
                        }
                    }
                }
                if hits > 0.0 {
                    self.pixels[y * self.width + x] = acc.map(|a| a / hits);
                }
            }
        }
    }

    /// Adds Gaussian noise: `sigma` grey levels, partly shared by the channels (luma noise).
    pub fn noise(&mut self, sigma: f32, rng: &mut Rng) {
        for p in &mut self.pixels {
            let shared = rng.normal() * sigma * 0.8;
            for c in p.iter_mut() {
                *c += shared + rng.normal() * sigma * 0.6;
            }
        }
    }

    /// Replaces every value v by `f(v)`.
    fn map(&mut self, f: impl Fn(f32) -> f32) {
        for p in &mut self.pixels {
            for c in p.iter_mut() {
                *c = f(*c);
            }
        }
    }

    /// Clamped 8-bit RGB.
    pub fn to_rgb8(&self) -> image::RgbImage {
        let mut raw = Vec::with_capacity(self.pixels.len() * 3);
        for p in &self.pixels {
            for c in p {
                raw.push(c.round().clamp(0.0, 255.0) as u8);
            }
        }
        image::RgbImage::from_raw(self.width as u32, self.height as u32, raw)
            .unwrap_or_else(|| image::RgbImage::new(1, 1))
    }
}

/// The module matrix of `text` at error-correction level M, as the wallet encodes it.
pub fn qr_modules(text: &str) -> (usize, Vec<bool>) {
    match QrCode::with_error_correction_level(text, EcLevel::M) {
        Ok(code) => (
            code.width(),
            code.to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect(),
        ),
        Err(_) => (0, Vec::new()),
    }
}

/// How the wallet screen looks.
#[derive(Clone, Copy, Debug)]
pub struct ScreenStyle {
    /// Screen width in pixels (height is 2.1667× the width, a 19.5:9 phone).
    pub width: usize,
    /// Dark theme: light modules on a dark background.
    pub dark: bool,
}

const LIGHT_BG: [f32; 3] = [250.0, 250.0, 252.0];
const DARK_BG: [f32; 3] = [18.0, 18.0, 20.0];

/// A rendered wallet screen and where its code is.
pub struct Screen {
    /// The pixels.
    pub canvas: Canvas,
    /// The code's square including its quiet zone: left, top, side, in screen pixels.
    pub code: (f32, f32, f32),
    /// Modules across, quiet zone included.
    pub modules: usize,
}

/// Draws the wallet's screen showing `text` as a QR code.
pub fn render_screen(text: &str, style: ScreenStyle) -> Screen {
    render_screen_in(text, style, None)
}

/// Like [`render_screen`], with the dark modules in `code_ink` (sRGB 0–255) instead of
/// the theme's colour: the wallet draws the code red when the licence is not
/// normal (issue #12), and the scanner must read that as well as black.
pub fn render_screen_in(text: &str, style: ScreenStyle, code_ink: Option<[f32; 3]>) -> Screen {
    render_screen_art(CodeArt::Text(text), style, code_ink)
}

/// What the screen's code area shows.
#[derive(Clone, Copy)]
pub enum CodeArt<'a> {
    /// A code drawn from its text, integer pixels per module.
    Text(&'a str),
    /// A picture of a code (e.g. a PNG frame the wallet wrote), quiet zone
    /// included, scaled into the code area as the phone would.
    Image(&'a image::RgbImage),
}

/// Draws the wallet's screen with `art` in the code area.
pub fn render_screen_art(
    art: CodeArt<'_>,
    style: ScreenStyle,
    code_ink: Option<[f32; 3]>,
) -> Screen {
    let w = style.width;
    let h = w * 13 / 6;
    let s = w as f32 / 1080.0;
    let (bg, ink, code_dark, code_light) = if style.dark {
        (DARK_BG, [200.0, 200.0, 205.0], [232.0; 3], DARK_BG)
    } else {
        (LIGHT_BG, [40.0, 40.0, 45.0], [0.0; 3], LIGHT_BG)
    };
    let code_dark = code_ink.unwrap_or(code_dark);
    let mut c = Canvas::new(w, h, bg);
    // Status bar: clock and icons.
    c.fill_rect(60.0 * s, 40.0 * s, 170.0 * s, 80.0 * s, ink);
    c.fill_rect(820.0 * s, 45.0 * s, 1020.0 * s, 75.0 * s, ink);
    // Header band with a title.
    let header = if style.dark {
        [20.0, 60.0, 120.0]
    } else {
        [22.0, 119.0, 255.0]
    };
    c.fill_rect(0.0, 120.0 * s, w as f32, 320.0 * s, header);
    c.fill_rect(
        300.0 * s,
        190.0 * s,
        780.0 * s,
        250.0 * s,
        [250.0, 250.0, 255.0],
    );
    // Card: portrait and text lines.
    c.fill_rounded(
        80.0 * s,
        380.0 * s,
        260.0 * s,
        600.0 * s,
        16.0 * s,
        [150.0, 160.0, 175.0],
    );
    for (i, len) in [600.0, 420.0, 520.0].iter().enumerate() {
        let y = 400.0 * s + i as f32 * 70.0 * s;
        c.fill_rect(310.0 * s, y, (310.0 + len) * s, y + 36.0 * s, ink);
    }
    let mut code = (0.0, 0.0, 0.0);
    let mut across = 0;
    let y0 = (700.0 * s).floor();
    match art {
        CodeArt::Text(text) => {
            // The code, integer pixels per module as phones draw it, centred, with its quiet zone.
            let (n, modules) = qr_modules(text);
            if n > 0 {
                let quiet = 4;
                let total = n + 2 * quiet;
                let px = ((820.0 * s) / total as f32).floor().max(1.0);
                let size = px * total as f32;
                let x0 = ((w as f32 - size) / 2.0).floor();
                c.fill_rect(x0, y0, x0 + size, y0 + size, code_light);
                code = (x0, y0, size);
                across = total;
                for (i, dark) in modules.iter().enumerate() {
                    if *dark {
                        let mx = x0 + (quiet + i % n) as f32 * px;
                        let my = y0 + (quiet + i / n) as f32 * px;
                        c.fill_rect(mx, my, mx + px, my + px, code_dark);
                    }
                }
            }
        }
        CodeArt::Image(picture) if picture.width() > 0 && picture.height() > 0 => {
            // Nearest-neighbour, as a phone shows a bitmap that is not at its native size.
            let size = (820.0 * s).floor();
            let x0 = ((w as f32 - size) / 2.0).floor();
            let (iw, ih) = (picture.width() as f32, picture.height() as f32);
            for y in 0..size as usize {
                for x in 0..size as usize {
                    let sx = ((x as f32 + 0.5) / size * iw) as u32;
                    let sy = ((y as f32 + 0.5) / size * ih) as u32;
                    let p = picture
                        .get_pixel(sx.min(picture.width() - 1), sy.min(picture.height() - 1));
                    if let Some(dst) = c.pixels.get_mut((y0 as usize + y) * w + x0 as usize + x) {
                        *dst = [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])];
                    }
                }
            }
            code = (x0, y0, size);
            across = modules_across(picture);
        }
        CodeArt::Image(_) => {}
    }
    if across > 0 {
        // Caption under the code ("refreshes in 180 s").
        let cy = y0 + code.2 + 60.0 * s;
        c.fill_rect(300.0 * s, cy, 780.0 * s, cy + 40.0 * s, ink);
    }
    Screen {
        canvas: c,
        code,
        modules: across,
    }
}

/// Modules across a picture of a QR code, quiet zone included, from the width
/// of the top-left finder pattern (7 modules) on its first dark row; 0 if none.
pub fn modules_across(picture: &image::RgbImage) -> usize {
    let dark = |x: u32, y: u32| {
        let p = picture.get_pixel(x, y);
        u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2]) < 3 * 128
    };
    for y in 0..picture.height() {
        if let Some(start) = (0..picture.width()).find(|&x| dark(x, y)) {
            let run = (start..picture.width()).take_while(|&x| dark(x, y)).count();
            let module = run as f32 / 7.0;
            // A code has a light quiet zone around its finder pattern.
            let framed = start > 0 && start as usize + run < picture.width() as usize;
            return if framed && module >= 1.0 {
                (picture.width() as f32 / module).round() as usize
            } else {
                0
            };
        }
    }
    0
}

/// The screen inside a phone: a black bezel with rounded corners. Returns the bezel width too.
pub(crate) fn phone(screen: &Canvas) -> (Canvas, f32) {
    let bezel = (screen.width as f32 * 0.045).round();
    let w = screen.width + 2 * bezel as usize;
    let h = screen.height + 2 * bezel as usize;
    // Transparent marker: negative values are "not phone" for the compositor.
    let mut c = Canvas::new(w, h, [-1.0; 3]);
    c.fill_rounded(
        0.0,
        0.0,
        w as f32,
        h as f32,
        bezel * 2.5,
        [12.0, 12.0, 14.0],
    );
    let b = bezel as usize;
    for y in 0..screen.height {
        for x in 0..screen.width {
            c.pixels[(y + b) * w + x + b] = screen.pixels[y * screen.width + x];
        }
    }
    (c, bezel)
}

/// A 3×3 projective transform, row-major.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Homography([f64; 9]);

impl Homography {
    /// Maps the unit square (0,0),(1,0),(1,1),(0,1) onto `quad` (Heckbert's closed form).
    fn square_to_quad(q: [[f64; 2]; 4]) -> Homography {
        let [[x0, y0], [x1, y1], [x2, y2], [x3, y3]] = q;
        let dx3 = x0 - x1 + x2 - x3;
        let dy3 = y0 - y1 + y2 - y3;
        if dx3.abs() < 1e-12 && dy3.abs() < 1e-12 {
            return Homography([x1 - x0, x2 - x1, x0, y1 - y0, y2 - y1, y0, 0.0, 0.0, 1.0]);
        }
        let dx1 = x1 - x2;
        let dx2 = x3 - x2;
        let dy1 = y1 - y2;
        let dy2 = y3 - y2;
        let den = dx1 * dy2 - dx2 * dy1;
        let g = (dx3 * dy2 - dx2 * dy3) / den;
        let h = (dx1 * dy3 - dx3 * dy1) / den;
        Homography([
            x1 - x0 + g * x1,
            x3 - x0 + h * x3,
            x0,
            y1 - y0 + g * y1,
            y3 - y0 + h * y3,
            y0,
            g,
            h,
            1.0,
        ])
    }

    fn inverse(self) -> Homography {
        let [a, b, c, d, e, f, g, h, i] = self.0;
        let det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
        let inv = [
            e * i - f * h,
            c * h - b * i,
            b * f - c * e,
            f * g - d * i,
            a * i - c * g,
            c * d - a * f,
            d * h - e * g,
            b * g - a * h,
            a * e - b * d,
        ];
        Homography(inv.map(|v| v / det))
    }

    fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        let m = &self.0;
        let z = m[6] * x + m[7] * y + m[8];
        (
            (m[0] * x + m[1] * y + m[2]) / z,
            (m[3] * x + m[4] * y + m[5]) / z,
        )
    }
}

/// Where a phone lands in the photo: the projection of its four corners.
#[derive(Clone, Copy, Debug)]
pub struct Pose {
    /// Centre in the photo, pixels.
    pub centre: (f32, f32),
    /// Phone height in the photo if seen face-on, pixels.
    pub height: f32,
    /// In-plane rotation, radians.
    pub roll: f32,
    /// Tilt about the phone's horizontal axis, radians.
    pub pitch: f32,
    /// Tilt about the phone's vertical axis, radians.
    pub yaw: f32,
}

impl Pose {
    /// Projects the phone rectangle (aspect `w`:`h`) with a pinhole camera of focal
    /// length ≈ the photo's diagonal (a phone camera's ~28 mm equivalent).
    fn quad(&self, w: f32, h: f32, focal: f32) -> [[f64; 2]; 4] {
        let scale = self.height / h;
        let (hw, hh) = (w * scale / 2.0, h * scale / 2.0);
        let corners = [[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]];
        let (sr, cr) = self.roll.sin_cos();
        let (sp, cp) = self.pitch.sin_cos();
        let (sy, cy) = self.yaw.sin_cos();
        let distance = focal;
        corners.map(|[x, y]| {
            // Yaw (about y), then pitch (about x), then roll (about the optical axis).
            let (x1, z1) = (x * cy, -x * sy);
            let (y2, z2) = (y * cp - z1 * sp, y * sp + z1 * cp);
            let (x3, y3) = (x1 * cr - y2 * sr, x1 * sr + y2 * cr);
            let z = distance + z2;
            [
                (self.centre.0 + focal * x3 / z) as f64,
                (self.centre.1 + focal * y3 / z) as f64,
            ]
        })
    }
}

/// How the phone's pixels reach the sensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sampling {
    /// Area average over 3×3 points per photo pixel (a camera integrates light).
    Area,
    /// Area average over 2×2 points: video frames, where the motion and defocus
    /// blur that follow hide the difference and there are thousands of frames.
    CoarseArea,
    /// 2×2 points per photo pixel through the display's sub-pixel mask: too few to
    /// integrate the stripes away, so they alias into moiré.
    SubPixel,
}

/// A desk: a two-colour gradient with low-frequency texture.
pub(crate) fn background(width: usize, height: usize, rng: &mut Rng) -> Canvas {
    let a = [
        rng.range(90.0, 200.0),
        rng.range(80.0, 180.0),
        rng.range(60.0, 160.0),
    ];
    let b = [
        rng.range(60.0, 160.0),
        rng.range(60.0, 150.0),
        rng.range(50.0, 140.0),
    ];
    let (fx, fy, phase) = (
        rng.range(0.002, 0.01),
        rng.range(0.002, 0.01),
        rng.range(0.0, 6.0),
    );
    let mut c = Canvas::new(width, height, [0.0; 3]);
    for y in 0..height {
        for x in 0..width {
            let t = (x + y) as f32 / (width + height) as f32;
            let grain = 12.0 * ((x as f32 * fx + phase).sin() * (y as f32 * fy).cos());
            let p = &mut c.pixels[y * width + x];
            for i in 0..3 {
                p[i] = a[i] + (b[i] - a[i]) * t + grain;
            }
        }
    }
    c
}

/// Projects `phone` into `photo` with `pose`; returns the map from phone pixels to photo pixels.
pub(crate) fn composite(
    photo: &mut Canvas,
    phone: &Canvas,
    pose: &Pose,
    sampling: Sampling,
) -> impl Fn(f32, f32) -> (f32, f32) {
    let to_photo = projection(
        (photo.width, photo.height),
        (phone.width, phone.height),
        pose,
    );
    let to_unit = to_photo.inverse();
    let quad = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)].map(|(u, v)| {
        let (x, y) = to_photo.apply(u, v);
        [x, y]
    });
    let (xs, xe, ys, ye) = quad.iter().fold(
        (f64::MAX, f64::MIN, f64::MAX, f64::MIN),
        |(a, b, c, d), [x, y]| (a.min(*x), b.max(*x), c.min(*y), d.max(*y)),
    );
    let clampx = |v: f64| (v.max(0.0) as usize).min(photo.width);
    let clampy = |v: f64| (v.max(0.0) as usize).min(photo.height);
    let (pw, ph) = (phone.width as f64, phone.height as f64);
    let offsets: &[f64] = match sampling {
        Sampling::Area => &[1.0 / 6.0, 0.5, 5.0 / 6.0],
        Sampling::CoarseArea => &[0.25, 0.75],
        Sampling::SubPixel => &[0.25, 0.75],
    };
    for y in clampy(ys)..clampy(ye + 1.0) {
        for x in clampx(xs)..clampx(xe + 1.0) {
            let mut acc = [0.0f32; 3];
            let mut hits = 0usize;
            let mut total = 0usize;
            for oy in offsets {
                for ox in offsets {
                    total += 1;
                    let (u, v) = to_unit.apply(x as f64 + ox, y as f64 + oy);
                    let (sx, sy) = ((u * pw) as f32, (v * ph) as f32);
                    let sample = match sampling {
                        Sampling::Area | Sampling::CoarseArea => phone.bilinear(sx, sy),
                        Sampling::SubPixel => phone.subpixel(sx, sy),
                    };
                    if let Some(p) = sample.filter(|p| p[0] >= 0.0) {
                        hits += 1;
                        for i in 0..3 {
                            acc[i] += p[i];
                        }
                    }
                }
            }
            if hits > 0 {
                let dst = &mut photo.pixels[y * photo.width + x];
                let alpha = hits as f32 / total as f32;
                for i in 0..3 {
                    dst[i] += (acc[i] / hits as f32 - dst[i]) * alpha;
                }
            }
        }
    }
    phone_to_photo(
        (photo.width, photo.height),
        (phone.width, phone.height),
        pose,
    )
}

/// A specular reflection on the screen: an additive, elongated Gaussian highlight.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Glare {
    /// Centre in photo pixels.
    pub(crate) centre: (f32, f32),
    /// Standard deviations along and across the highlight, pixels.
    pub(crate) size: (f32, f32),
    /// Direction of the long axis, radians.
    pub(crate) angle: f32,
    /// Grey levels added at the centre.
    pub(crate) strength: f32,
}

impl Glare {
    pub(crate) fn apply(&self, photo: &mut Canvas) {
        let (gx, gy) = self.centre;
        let (sx, sy) = (self.size.0.max(0.5), self.size.1.max(0.5));
        let (sa, ca) = self.angle.sin_cos();
        for y in 0..photo.height {
            for x in 0..photo.width {
                let (dx, dy) = (x as f32 - gx, y as f32 - gy);
                let (u, v) = (dx * ca + dy * sa, -dx * sa + dy * ca);
                let g =
                    self.strength * (-(u * u) / (2.0 * sx * sx) - (v * v) / (2.0 * sy * sy)).exp();
                if g > 0.5 {
                    for c in photo.pixels[y * photo.width + x].iter_mut() {
                        *c = (*c + g).min(255.0);
                    }
                }
            }
        }
    }
}

/// The low-frequency beat a sensor's colour filter array adds on top of the
/// aliasing of point-sampled sub-pixels.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MoireBeat {
    period: f32,
    angle: f32,
    depth: f32,
    /// Phase of the beat, radians; a moving camera shifts it from frame to frame.
    pub(crate) phase: f32,
}

impl MoireBeat {
    pub(crate) fn random(rng: &mut Rng) -> MoireBeat {
        MoireBeat {
            period: rng.range(10.0, 40.0),
            angle: rng.range(0.0, std::f32::consts::PI),
            depth: rng.range(0.25, 0.45),
            phase: rng.range(0.0, std::f32::consts::TAU),
        }
    }

    pub(crate) fn apply(&self, photo: &mut Canvas) {
        let (sa, ca) = self.angle.sin_cos();
        let depth = self.depth;
        for y in 0..photo.height {
            for x in 0..photo.width {
                let t = (x as f32 * ca + y as f32 * sa) / self.period * std::f32::consts::TAU;
                let gain = 1.0 - depth * (0.5 + 0.5 * (t + self.phase).cos());
                let hue = (t * 0.5).sin() * depth * 0.3;
                let p = &mut photo.pixels[y * photo.width + x];
                p[0] *= gain * (1.0 + hue);
                p[1] *= gain;
                p[2] *= gain * (1.0 - hue);
            }
        }
    }
}

/// The pinhole projection of a `phone`-sized canvas (unit square coordinates) into
/// a `photo`-sized one with `pose`, focal length the photo's diagonal.
fn projection(photo: (usize, usize), phone: (usize, usize), pose: &Pose) -> Homography {
    let focal = ((photo.0 * photo.0 + photo.1 * photo.1) as f32).sqrt();
    Homography::square_to_quad(pose.quad(phone.0 as f32, phone.1 as f32, focal))
}

/// The map from phone pixels to photo pixels that [`composite`] uses, without drawing.
pub(crate) fn phone_to_photo(
    photo: (usize, usize),
    phone: (usize, usize),
    pose: &Pose,
) -> impl Fn(f32, f32) -> (f32, f32) {
    let to_photo = projection(photo, phone, pose);
    let (pw, ph) = (phone.0 as f64, phone.1 as f64);
    move |x, y| {
        let (px, py) = to_photo.apply(x as f64 / pw, y as f64 / ph);
        (px as f32, py as f32)
    }
}

/// Where a code landed in the photo.
#[derive(Clone, Copy, Debug)]
struct Placed {
    centre: (f32, f32),
    /// Side of the code (quiet zone included), pixels, averaged over its four edges.
    side: f32,
    /// Pixels per module.
    module: f32,
}

/// The presentation texts used by sample `index`: distinct per sample (the
/// presentation time differs), cycling through the four profiles.
pub fn texts_for(index: u64, count: usize) -> Vec<String> {
    let profiles = [
        Profile::Full,
        Profile::Rental,
        Profile::Insurance,
        Profile::Employment,
    ];
    (0..count as u64)
        .map(|k| {
            let profile = profiles[((index + k) % 4) as usize];
            presentation_text(profile, fixture::T0 - 10 - index * 2 - k)
        })
        .collect()
}

/// The QR text of the fixture licence presented with `profile` at `presented_at`.
pub fn presentation_text(profile: Profile, presented_at: u64) -> String {
    let credential = fixture::credential(
        &fixture::licence(),
        profile,
        &fixture::params(),
        &fixture::authority_key(),
    );
    let presentation = fixture::present(credential, profile, presented_at, &fixture::device_key());
    credential::qr_text::to_qr_text(&presentation.encode())
}

/// Encodes `canvas` as PNG.
pub fn png(canvas: &Canvas) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    // Writing PNG to memory fails only on allocation failure.
    let _ = canvas.to_rgb8().write_to(&mut out, image::ImageFormat::Png);
    out.into_inner()
}

/// Encodes `canvas` as baseline JPEG at `quality` (1–100).
pub fn jpeg(canvas: &Canvas, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let rgb = canvas.to_rgb8();
    let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    let _ = encoder.encode_image(&rgb);
    out
}

/// Places `screens` side by side on a neutral background: a screenshot-like image
/// with several codes, cheap enough for debug-build tests.
pub fn side_by_side(screens: &[Canvas]) -> Canvas {
    let gap = 40;
    let width = screens.iter().map(|s| s.width + gap).sum::<usize>() + gap;
    let height = screens.iter().map(|s| s.height).max().unwrap_or(0) + 2 * gap;
    let mut c = Canvas::new(width, height, [128.0, 128.0, 128.0]);
    let mut x0 = gap;
    for s in screens {
        for y in 0..s.height {
            for x in 0..s.width {
                c.pixels[(y + gap) * width + x + x0] = s.pixels[y * s.width + x];
            }
        }
        x0 += s.width + gap;
    }
    c
}

/// Photo size: portrait 1080p, the phone camera's default for a phone held upright.
pub const PHOTO: (usize, usize) = (1080, 1920);
/// Screen width the wallet renders at (a 1080×2340 phone).
pub const SCREEN_WIDTH: usize = 1080;

/// Generates sample `index` of `category`. Deterministic in (`category`, `index`, `seed`).
pub fn generate(category: Category, index: u64, seed: u64) -> Sample {
    generate_in(category, index, seed, None)
}

/// Like [`generate`], with the code drawn in `ink` (e.g. the wallet's red); the
/// same seed gives the same phone, pose and camera whatever the ink, so black and
/// red samples differ in the colour of the code only.
pub fn generate_in(category: Category, index: u64, seed: u64, ink: Option<[f32; 3]>) -> Sample {
    let mut rng = Rng::new(
        seed ^ (index.wrapping_mul(0x2545_f491_4f6c_dd1d)) ^ ((category as u64 + 1) << 56),
    );
    let two = category == Category::TwoCodes;
    let texts = texts_for(index, if two { 2 } else { 1 });
    let style = ScreenStyle {
        width: SCREEN_WIDTH,
        dark: category == Category::DarkMode,
    };
    let screens: Vec<Screen> = texts
        .iter()
        .map(|t| render_screen_in(t, style, ink))
        .collect();
    if category == Category::Clean {
        let canvas = &screens[0].canvas;
        return Sample {
            bytes: png(canvas),
            extension: "png",
            texts,
            width: canvas.width as u32,
            height: canvas.height as u32,
        };
    }
    let (pw, ph) = PHOTO;
    let mut photo = background(pw, ph, &mut rng);
    let small_tilt = 8f32.to_radians();
    let mut placed = Vec::new();
    for (k, screen) in screens.iter().enumerate() {
        let (phone, bezel) = phone(&screen.canvas);
        let mut pose = Pose {
            centre: (
                pw as f32 * rng.range(0.45, 0.55),
                ph as f32 * rng.range(0.45, 0.55),
            ),
            height: ph as f32 * rng.range(0.62, 0.85),
            roll: rng.range(-small_tilt, small_tilt),
            pitch: rng.range(-small_tilt, small_tilt),
            yaw: rng.range(-small_tilt, small_tilt),
        };
        let code_fraction = screen.code.2 / phone.height as f32;
        match category {
            Category::Perspective => {
                let sign = |r: &mut Rng| if r.unit() < 0.5 { -1.0 } else { 1.0 };
                // One strong tilt and one moderate one, like a phone held out at a counter.
                let strong = rng.range(25f32, 50.0).to_radians() * sign(&mut rng);
                let moderate = rng.range(0f32, 25.0).to_radians() * sign(&mut rng);
                if rng.unit() < 0.5 {
                    pose.pitch = strong;
                    pose.yaw = moderate;
                } else {
                    pose.yaw = strong;
                    pose.pitch = moderate;
                }
            }
            Category::Rotation => {
                pose.roll = rng.range(0.0, std::f32::consts::TAU);
                // A rotated phone must still fit: its diagonal, not its height.
                pose.height = ph as f32 * rng.range(0.45, 0.5);
            }
            Category::Small => {
                let module_px = rng.range(1.2, 1.9);
                pose.height = module_px * screen.modules as f32 / code_fraction;
            }
            Category::TwoCodes => {
                pose.height = ph as f32 * rng.range(0.4, 0.48);
                pose.centre.0 = pw as f32 * if k == 0 { 0.27 } else { 0.73 };
                pose.centre.1 = ph as f32 * rng.range(0.4, 0.6);
            }
            Category::Moire => {
                // The beat is strongest when a screen pixel is close to a camera pixel.
                pose.height = (phone.height as f32 * rng.range(0.55, 0.95)).min(ph as f32 * 0.95);
            }
            _ => {}
        }
        let sampling = if category == Category::Moire {
            Sampling::SubPixel
        } else {
            Sampling::Area
        };
        let to_photo = composite(&mut photo, &phone, &pose, sampling);
        let (x0, y0, side) = screen.code;
        let corners = [
            to_photo(x0 + bezel, y0 + bezel),
            to_photo(x0 + side + bezel, y0 + bezel),
            to_photo(x0 + side + bezel, y0 + side + bezel),
            to_photo(x0 + bezel, y0 + side + bezel),
        ];
        let centre = (
            corners.iter().map(|c| c.0).sum::<f32>() / 4.0,
            corners.iter().map(|c| c.1).sum::<f32>() / 4.0,
        );
        let edge =
            |a: (f32, f32), b: (f32, f32)| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
        let side = (0..4)
            .map(|i| edge(corners[i], corners[(i + 1) % 4]))
            .sum::<f32>()
            / 4.0;
        placed.push(Placed {
            centre,
            side,
            module: side / screen.modules.max(1) as f32,
        });
    }
    let code = placed.first().copied().unwrap_or(Placed {
        centre: (pw as f32 / 2.0, ph as f32 / 2.0),
        side: 400.0,
        module: 5.0,
    });
    // The camera: optics, light, sensor, encoder.
    let mut sigma_blur = rng.range(0.4, 0.8);
    let mut sigma_noise = rng.range(2.0, 4.0);
    let mut quality = rng.range(82.0, 92.0) as u8;
    match category {
        Category::Blur => sigma_blur = rng.range(0.25, 0.6) * code.module,
        Category::Noise => sigma_noise = rng.range(14.0, 32.0),
        Category::Jpeg => quality = rng.range(6.0, 20.0) as u8,
        Category::Small => sigma_blur = rng.range(0.3, 0.6),
        Category::Moire => sigma_blur = rng.range(0.3, 0.6),
        _ => {}
    }
    if category == Category::LowContrast {
        // Dim screen, bright room: compress the range above a raised black level.
        let contrast = rng.range(30.0, 70.0) / 255.0;
        let black = rng.range(70.0, 140.0);
        photo.map(|v| black + v.clamp(0.0, 255.0) * contrast);
    }
    if category == Category::PartialCover {
        // A thumb from one side of the code, reaching 8–22 % into it.
        let (cx, cy) = code.centre;
        let side = (rng.unit() * 4.0) as u32;
        let depth = rng.range(0.08, 0.22) * code.side;
        let along = rng.range(-0.3, 0.3) * code.side;
        let (r_across, r_along) = (code.side * 0.22, code.side * 0.5);
        let skin = [
            rng.range(190.0, 230.0),
            rng.range(140.0, 180.0),
            rng.range(110.0, 150.0),
        ];
        let half = code.side / 2.0;
        let (ex, ey, erx, ery) = match side {
            0 => (cx - half - r_across + depth, cy + along, r_across, r_along),
            1 => (cx + half + r_across - depth, cy + along, r_across, r_along),
            2 => (cx + along, cy - half - r_across + depth, r_along, r_across),
            _ => (cx + along, cy + half + r_across - depth, r_along, r_across),
        };
        photo.fill_ellipse(ex, ey, erx, ery, 6.0, skin);
    }
    if category == Category::Moire {
        MoireBeat::random(&mut rng).apply(&mut photo);
    }
    photo.blur(sigma_blur);
    if category == Category::Glare {
        // A specular reflection: an additive, elongated highlight over the code.
        let glare = Glare {
            centre: (
                code.centre.0 + rng.range(-0.3, 0.3) * code.side,
                code.centre.1 + rng.range(-0.3, 0.3) * code.side,
            ),
            size: (
                rng.range(0.12, 0.3) * code.side,
                rng.range(0.06, 0.18) * code.side,
            ),
            angle: rng.range(0.0, std::f32::consts::PI),
            strength: rng.range(170.0, 260.0),
        };
        glare.apply(&mut photo);
    }
    photo.noise(sigma_noise, &mut rng);
    Sample {
        bytes: jpeg(&photo, quality),
        extension: "jpg",
        texts,
        width: pw as u32,
        height: ph as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_other_seed_other_noise() {
        let a = generate(Category::Clean, 3, 1);
        let b = generate(Category::Clean, 3, 1);
        assert_eq!(a.bytes, b.bytes);
        assert_eq!(a.texts.len(), 1);
        assert!(a.texts[0].starts_with("DL1:"));
        let (mut x, mut y) = (Rng::new(7), Rng::new(8));
        assert_ne!(x.next_u64(), y.next_u64());
        assert_eq!(Rng::new(7).next_u64(), Rng::new(7).next_u64());
    }

    #[test]
    fn every_category_has_a_stable_name() {
        for c in Category::ALL {
            assert_eq!(Category::from_name(c.name()), Some(c));
        }
        assert_eq!(texts_for(0, 2).len(), 2);
        assert_ne!(
            texts_for(0, 1),
            texts_for(1, 1),
            "each sample its own presentation"
        );
    }
}
