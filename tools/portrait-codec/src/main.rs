//! `portrait-codec`: bytes against quality for the portrait made for the code
//! (issue #12, spec §17.3), to choose its size and codec by measurement.
//!
//! `cargo run --release -p portrait-codec [-- --markdown]` prints, for each input
//! photo, size (96×128, 120×160, 144×192), greyscale or colour, and codec (JPEG
//! through `image`, lossy WebP through libwebp) at several qualities: the bytes
//! and the SSIM of the decoded portrait against the same crop at the same size
//! before encoding (so it measures what the codec loses), then, per row, the
//! best SSIM within 2,000 bytes.
//!
//! Inputs are synthetic (no face photos ship with the project): the demo portrait
//! (flat colours, the easy case) and a photo-like version of it with sensor noise,
//! shading and skin texture, which costs codecs what a camera photo does. Decide
//! with real approved photos before a deployment; the tool takes files too:
//! `portrait-codec photo1.jpg photo2.jpg`.

use std::process::ExitCode;

use image::{DynamicImage, GrayImage, RgbImage};
use issuer::portrait::{synthetic_portrait, ImageFormat};
use issuer::portrait_code::{encode_jpeg, portrait_pixels, ssim, PortraitSpec};

const BUDGET: usize = 2_000;

/// The demo portrait with what a camera adds: noise, a light gradient and texture.
fn photo_like() -> Vec<u8> {
    let flat = image::load_from_memory(&synthetic_portrait(
        716,
        882,
        [255, 255, 255],
        ImageFormat::Png,
    ))
    .map(|i| i.to_rgb8())
    .unwrap_or_else(|_| RgbImage::new(1, 1));
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 40) as f64 / f64::from(1u32 << 24)) - 0.5
    };
    let (w, h) = flat.dimensions();
    let out = RgbImage::from_fn(w, h, |x, y| {
        let p = flat.get_pixel(x, y).0;
        let background = p.iter().all(|c| *c > 240);
        let (u, v) = (f64::from(x) / f64::from(w), f64::from(y) / f64::from(h));
        // Light from the upper left; texture at a few pixels' scale on the subject.
        let shade = if background {
            0.0
        } else {
            28.0 * (0.5 - u) + 14.0 * (0.5 - v)
        };
        let texture = if background {
            0.0
        } else {
            9.0 * ((f64::from(x) * 0.9).sin() * (f64::from(y) * 1.3).cos())
        };
        let grain = noise() * if background { 6.0 } else { 18.0 };
        let channel = |c: u8| (f64::from(c) + shade + texture + grain).clamp(0.0, 255.0) as u8;
        image::Rgb([channel(p[0]), channel(p[1]), channel(p[2])])
    });
    let mut bytes = Vec::new();
    let _ = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 95).encode_image(&out);
    bytes
}

#[derive(Clone, Copy)]
enum Codec {
    Jpeg,
    WebP,
}

impl Codec {
    fn name(self) -> &'static str {
        match self {
            Codec::Jpeg => "JPEG",
            Codec::WebP => "WebP",
        }
    }

    fn qualities(self) -> &'static [u8] {
        match self {
            Codec::Jpeg => &[20, 30, 40, 50, 60, 70, 80, 90],
            Codec::WebP => &[10, 20, 30, 40, 50, 60, 70, 80, 90],
        }
    }

    fn encode(self, pixels: &DynamicImage, quality: u8) -> Vec<u8> {
        match self {
            Codec::Jpeg => encode_jpeg(pixels, quality),
            Codec::WebP => {
                // libwebp encodes RGB; a grey portrait is sent as grey RGB (WebP has no grey mode).
                let rgb = pixels.to_rgb8();
                webp::Encoder::from_rgb(rgb.as_raw(), rgb.width(), rgb.height())
                    .encode(f32::from(quality))
                    .to_vec()
            }
        }
    }
}

fn decoded_luma(bytes: &[u8]) -> Option<GrayImage> {
    image::load_from_memory(bytes).ok().map(|i| i.to_luma8())
}

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let mut inputs: Vec<(String, Vec<u8>)> = vec![
        (
            "demo portrait (flat)".into(),
            synthetic_portrait(358, 441, [255, 255, 255], ImageFormat::Jpeg),
        ),
        ("photo-like (noise, shading, texture)".into(), photo_like()),
    ];
    for file in files {
        match std::fs::read(&file) {
            Ok(bytes) => inputs.push((file, bytes)),
            Err(e) => {
                eprintln!("portrait-codec: {file}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let sizes = [96u32, 120, 144];
    for (name, photo) in &inputs {
        println!("\n### {name} ({} bytes)\n", photo.len());
        println!(
            "| size | colour | codec | bytes at each quality (SSIM) | best within {BUDGET} B |"
        );
        println!("|---|---|---|---|---|");
        for width in sizes {
            for grey in [true, false] {
                let spec = PortraitSpec {
                    width,
                    grey,
                    quality: 0,
                    max_bytes: BUDGET,
                };
                let pixels = match portrait_pixels(photo, &spec) {
                    Ok(p) => p,
                    Err(e) => {
                        eprintln!("portrait-codec: {name}: {e}");
                        return ExitCode::from(2);
                    }
                };
                let reference = pixels.to_luma8();
                for codec in [Codec::Jpeg, Codec::WebP] {
                    let mut cells = Vec::new();
                    let mut best: Option<(u8, usize, f64)> = None;
                    for &quality in codec.qualities() {
                        let bytes = codec.encode(&pixels, quality);
                        let score = decoded_luma(&bytes).map_or(0.0, |d| ssim(&reference, &d));
                        cells.push(format!("q{quality}: {} ({score:.3})", bytes.len()));
                        if bytes.len() <= BUDGET && best.is_none_or(|(_, _, s)| score > s) {
                            best = Some((quality, bytes.len(), score));
                        }
                    }
                    let best = best.map_or("none".to_owned(), |(q, n, s)| {
                        format!("**q{q}: {n} B, SSIM {s:.3}**")
                    });
                    println!(
                        "| {width}×{} | {} | {} | {} | {best} |",
                        spec.height(),
                        if grey { "grey" } else { "colour" },
                        codec.name(),
                        cells.join(", ")
                    );
                }
            }
        }
    }
    ExitCode::SUCCESS
}
