//! The portrait made for the code (spec §17.3): from the approved photo, the
//! issuer makes the small image the credential's `portrait_digest` signs and the
//! wallet's animated code carries.
//!
//! Why the issuer makes these bytes itself: the digest is truncated to 128 bits
//! (spec §5.1), so an applicant who could choose the signed file could prepare two
//! files with one digest (a birthday collision, about 2^64 work) and later show
//! the one the office never saw. When the signed bytes are the output of this
//! deterministic function of the approved photo, the applicant chooses none of
//! them (spec/security.md).
//!
//! Steps, all deterministic (same photo, same bytes, on every run):
//! 1. decode the approved JPEG or PNG, bounded ([`MAX_PHOTO_BYTES`], [`MAX_PHOTO_PIXELS`]),
//!    EXIF orientation applied, any decoder panic contained;
//! 2. find the head against the required white background (photo rules: white
//!    background, upright, facing the camera — DOMAIN.md): the rows and columns
//!    whose pixels are not background, in the upper 60 % where the shoulders do not
//!    reach the edges yet;
//! 3. crop a 3:4 box around it: head width × [`CROP_WIDTH_PER_HEAD`] wide, the top
//!    of the hair [`CROP_MARGIN_ABOVE`] of the box below its top edge;
//! 4. downscale (Catmull-Rom) to the [`PortraitSpec`] size, greyscale or colour;
//! 5. encode as baseline JPEG at the spec's quality, no metadata, stepping the
//!    quality down until the file fits the spec's byte budget.
//!
//! [`STANDARD`] was chosen by measurement (`cargo run --release -p portrait-codec`,
//! README "Portrait in the code"): see that table for bytes against SSIM.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, GrayImage, ImageDecoder, ImageReader, RgbImage};

/// Largest approved photo accepted (as in the portrait checks).
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;
/// Largest approved photo, in pixels.
pub const MAX_PHOTO_PIXELS: u64 = 40_000_000;
/// Crop width as a multiple of the head's width: the head and a little of the shoulders.
pub const CROP_WIDTH_PER_HEAD: f64 = 1.5;
/// Space above the hair, as a share of the crop height.
pub const CROP_MARGIN_ABOVE: f64 = 0.08;

/// How the portrait is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortraitSpec {
    /// Width in pixels (height is 4/3 of it).
    pub width: u32,
    /// Greyscale instead of colour.
    pub grey: bool,
    /// JPEG quality 1..=100 to start from.
    pub quality: u8,
    /// Largest portrait in bytes: the quality steps down by 5 (to 20 at least)
    /// until the file fits, so a detailed photo costs quality, not frames.
    pub max_bytes: usize,
}

impl PortraitSpec {
    /// Height in pixels: the 3:4 of a licence photo.
    pub fn height(&self) -> u32 {
        self.width * 4 / 3
    }
}

/// The portrait every credential's digest signs, chosen by the measurement in the
/// README: the largest size whose JPEG stays within 2,000 bytes at a quality with
/// SSIM ≥ 0.97 on photo-like input (120 × 160 grey, q70: 1,874 B, SSIM 0.979).
/// Colour JPEG at this size needs q20 to fit (SSIM 0.949); lossy WebP would fit
/// 144 × 192 in about 1,450 bytes but needs libwebp (C) to encode.
pub const STANDARD: PortraitSpec = PortraitSpec {
    width: 120,
    grey: true,
    quality: 70,
    max_bytes: 2_000,
};

/// Why no portrait could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PortraitCodeError {
    /// The photo is larger than [`MAX_PHOTO_BYTES`] or [`MAX_PHOTO_PIXELS`].
    #[error("the approved photo is too large to make the portrait from ({0}) / 照片过大")]
    TooLarge(String),
    /// The photo does not decode as JPEG or PNG.
    #[error("the approved photo cannot be decoded ({0}) / 照片无法解码")]
    Undecodable(String),
    /// The requested size or quality is out of range.
    #[error("portrait spec out of range: {0} / 照片参数超出范围")]
    BadSpec(&'static str),
}

impl PortraitCodeError {
    /// Stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            PortraitCodeError::TooLarge(_) => "portrait_photo_too_large",
            PortraitCodeError::Undecodable(_) => "portrait_photo_undecodable",
            PortraitCodeError::BadSpec(_) => "portrait_spec_out_of_range",
        }
    }
}

/// A rectangle in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crop {
    /// Left.
    pub x: u32,
    /// Top.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

fn decode(photo: &[u8]) -> Result<DynamicImage, PortraitCodeError> {
    if photo.len() > MAX_PHOTO_BYTES {
        return Err(PortraitCodeError::TooLarge(format!(
            "{} bytes",
            photo.len()
        )));
    }
    let undecodable = |e: image::ImageError| PortraitCodeError::Undecodable(e.to_string());
    let reader = ImageReader::new(Cursor::new(photo))
        .with_guessed_format()
        .map_err(|e| PortraitCodeError::Undecodable(e.to_string()))?;
    match reader.format() {
        Some(image::ImageFormat::Jpeg | image::ImageFormat::Png) => {}
        _ => return Err(PortraitCodeError::Undecodable("not JPEG or PNG".into())),
    }
    let mut decoder = reader.into_decoder().map_err(undecodable)?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_PHOTO_PIXELS {
        return Err(PortraitCodeError::TooLarge(format!("{w}×{h} pixels")));
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// Whether a pixel is the white background of the photo rules (the same
/// thresholds as the automatic check: luminance ≥ 215, colourfulness ≤ 30).
fn is_background(p: [u8; 3]) -> bool {
    let luma = 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]);
    let colourfulness = p.iter().max().unwrap_or(&0) - p.iter().min().unwrap_or(&0);
    luma >= 215.0 && colourfulness <= 30
}

/// The 3:4 crop around the head; the centre 3:4 box if no head is found.
pub fn face_crop(image: &RgbImage) -> Crop {
    let (w, h) = image.dimensions();
    let centre = || {
        let width = w.min(h * 3 / 4).max(1);
        let height = (width * 4 / 3).min(h).max(1);
        Crop {
            x: (w - width) / 2,
            y: (h - height) / 2,
            width,
            height,
        }
    };
    if w < 8 || h < 8 {
        return centre();
    }
    // A row belongs to the head once at least 1 % of it is not background.
    let foreground_in_row = |y: u32| {
        (0..w)
            .filter(|&x| !is_background(image.get_pixel(x, y).0))
            .count()
    };
    let min_run = (w / 100).max(2) as usize;
    let band_end = h * 60 / 100;
    let Some(top) = (0..band_end).find(|&y| foreground_in_row(y) >= min_run) else {
        return centre();
    };
    // Head columns: in the rows from the top of the hair down to 45 % of the
    // photo, the leftmost and rightmost non-background pixels, taken at their
    // median so a stray dark pixel does not widen the head.
    let head_end = (h * 45 / 100).max(top + 1);
    let mut lefts = Vec::new();
    let mut rights = Vec::new();
    for y in top..head_end {
        let xs: Vec<u32> = (0..w)
            .filter(|&x| !is_background(image.get_pixel(x, y).0))
            .collect();
        if let (Some(&l), Some(&r)) = (xs.first(), xs.last()) {
            lefts.push(l);
            rights.push(r);
        }
    }
    lefts.sort_unstable();
    rights.sort_unstable();
    let (Some(&left), Some(&right)) = (lefts.get(lefts.len() / 2), rights.get(rights.len() / 2))
    else {
        return centre();
    };
    let head_width = f64::from(right.saturating_sub(left).max(1));
    let centre_x = f64::from(left + right) / 2.0;
    let width = (head_width * CROP_WIDTH_PER_HEAD)
        .min(f64::from(w))
        .min(f64::from(h) * 0.75);
    let height = width * 4.0 / 3.0;
    let x = (centre_x - width / 2.0).clamp(0.0, f64::from(w) - width);
    let y = (f64::from(top) - height * CROP_MARGIN_ABOVE).clamp(0.0, f64::from(h) - height);
    Crop {
        x: x.round() as u32,
        y: y.round() as u32,
        width: (width.round() as u32).max(1).min(w),
        height: (height.round() as u32).max(1).min(h),
    }
}

/// The cropped, downscaled portrait before encoding (for measurements).
pub fn portrait_pixels(
    photo: &[u8],
    spec: &PortraitSpec,
) -> Result<DynamicImage, PortraitCodeError> {
    if !(32..=512).contains(&spec.width) {
        return Err(PortraitCodeError::BadSpec("width must be 32..=512"));
    }
    let decoded = std::panic::catch_unwind(|| decode(photo))
        .unwrap_or_else(|_| Err(PortraitCodeError::Undecodable("decoder fault".into())))?;
    let rgb = decoded.to_rgb8();
    let crop = face_crop(&rgb);
    let cropped = DynamicImage::ImageRgb8(rgb).crop_imm(crop.x, crop.y, crop.width, crop.height);
    let scaled = cropped.resize_exact(spec.width, spec.height(), FilterType::CatmullRom);
    Ok(if spec.grey {
        DynamicImage::ImageLuma8(scaled.to_luma8())
    } else {
        DynamicImage::ImageRgb8(scaled.to_rgb8())
    })
}

/// Encodes pixels as baseline JPEG at `quality`, without metadata.
pub fn encode_jpeg(pixels: &DynamicImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    let result = match pixels {
        DynamicImage::ImageLuma8(grey) => encoder.encode_image(grey),
        other => encoder.encode_image(&other.to_rgb8()),
    };
    // Encoding a few kilobytes into memory fails only on allocation failure.
    if result.is_err() {
        out.clear();
    }
    out
}

/// Lowest quality the byte budget may step down to.
pub const MIN_QUALITY: u8 = 20;

/// The issuer-made portrait bytes of `photo` (the approved photo file): the
/// spec's quality, or the highest lower one (in steps of 5, down to
/// [`MIN_QUALITY`]) whose file fits `max_bytes`; the smallest tried if none does.
pub fn make_portrait(photo: &[u8], spec: &PortraitSpec) -> Result<Vec<u8>, PortraitCodeError> {
    if !(1..=100).contains(&spec.quality) {
        return Err(PortraitCodeError::BadSpec("quality must be 1..=100"));
    }
    let pixels = portrait_pixels(photo, spec)?;
    let mut quality = spec.quality;
    loop {
        let bytes = encode_jpeg(&pixels, quality);
        if bytes.is_empty() {
            return Err(PortraitCodeError::Undecodable(
                "JPEG encoding failed".into(),
            ));
        }
        if bytes.len() <= spec.max_bytes || quality <= MIN_QUALITY {
            return Ok(bytes);
        }
        quality = quality.saturating_sub(5).max(MIN_QUALITY);
    }
}

/// Greyscale structural similarity (Wang et al. 2004) of two equally sized
/// images, over 8 × 8 windows with stride 4: 1.0 for identical images.
pub fn ssim(a: &GrayImage, b: &GrayImage) -> f64 {
    const C1: f64 = (0.01 * 255.0) * (0.01 * 255.0);
    const C2: f64 = (0.03 * 255.0) * (0.03 * 255.0);
    if a.dimensions() != b.dimensions() || a.width() < 8 || a.height() < 8 {
        return 0.0;
    }
    let (mut total, mut windows) = (0.0, 0u32);
    for y0 in (0..=a.height() - 8).step_by(4) {
        for x0 in (0..=a.width() - 8).step_by(4) {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for y in y0..y0 + 8 {
                for x in x0..x0 + 8 {
                    let (p, q) = (
                        f64::from(a.get_pixel(x, y).0[0]),
                        f64::from(b.get_pixel(x, y).0[0]),
                    );
                    sa += p;
                    sb += q;
                    saa += p * p;
                    sbb += q * q;
                    sab += p * q;
                }
            }
            let n = 64.0;
            let (ma, mb) = (sa / n, sb / n);
            let (va, vb, cov) = (saa / n - ma * ma, sbb / n - mb * mb, sab / n - ma * mb);
            total += ((2.0 * ma * mb + C1) * (2.0 * cov + C2))
                / ((ma * ma + mb * mb + C1) * (va + vb + C2));
            windows += 1;
        }
    }
    total / f64::from(windows.max(1))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::portrait::{synthetic_portrait, ImageFormat};

    #[test]
    fn the_portrait_is_deterministic_small_and_cropped_to_the_head() {
        let photo = synthetic_portrait(358, 441, [255, 255, 255], ImageFormat::Jpeg);
        let a = make_portrait(&photo, &STANDARD).unwrap();
        let b = make_portrait(&photo, &STANDARD).unwrap();
        assert_eq!(a, b, "same photo, same bytes");
        assert!(a.len() <= 2_000, "{} bytes", a.len());
        let decoded = image::load_from_memory(&a).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (120, 160));
        assert!(matches!(decoded, DynamicImage::ImageLuma8(_)));
        // The crop is narrower than the photo (the head, not the white margins)
        // and starts near the top of the hair.
        let crop = face_crop(&image::load_from_memory(&photo).unwrap().to_rgb8());
        assert!(crop.width < 358 && crop.height <= 441, "{crop:?}");
        assert!(
            (i64::from(crop.height) - i64::from(crop.width * 4 / 3)).abs() <= 1,
            "3:4 {crop:?}"
        );
        // Another photo gives other bytes.
        let other = synthetic_portrait(358, 441, [250, 250, 250], ImageFormat::Png);
        assert_ne!(make_portrait(&other, &STANDARD).unwrap(), a);
    }

    #[test]
    fn a_blank_photo_falls_back_to_the_centre_and_bad_input_is_refused() {
        let blank = crate::portrait::synthetic_portrait(8, 8, [255, 255, 255], ImageFormat::Png);
        assert!(make_portrait(&blank, &STANDARD).is_ok());
        assert_eq!(
            make_portrait(b"not an image", &STANDARD)
                .unwrap_err()
                .code(),
            "portrait_photo_undecodable"
        );
        assert_eq!(
            make_portrait(&[], &STANDARD).unwrap_err().code(),
            "portrait_photo_undecodable"
        );
        let bad = PortraitSpec {
            quality: 0,
            ..STANDARD
        };
        // A tight budget lowers the quality instead of growing the file.
        let photo = synthetic_portrait(358, 441, [255, 255, 255], ImageFormat::Jpeg);
        let tight = PortraitSpec {
            max_bytes: 1_400,
            ..STANDARD
        };
        let small = make_portrait(&photo, &tight).unwrap();
        assert!(
            small.len() <= 1_400 && small.len() < make_portrait(&photo, &STANDARD).unwrap().len()
        );
        assert_eq!(
            make_portrait(&blank, &bad).unwrap_err().code(),
            "portrait_spec_out_of_range"
        );
        let big = vec![0u8; MAX_PHOTO_BYTES + 1];
        assert_eq!(
            make_portrait(&big, &STANDARD).unwrap_err().code(),
            "portrait_photo_too_large"
        );
    }

    #[test]
    fn ssim_is_one_for_identical_and_lower_for_worse() {
        let photo = synthetic_portrait(358, 441, [255, 255, 255], ImageFormat::Png);
        let reference = portrait_pixels(&photo, &STANDARD).unwrap().to_luma8();
        assert!((ssim(&reference, &reference) - 1.0).abs() < 1e-9);
        let good = image::load_from_memory(&encode_jpeg(
            &DynamicImage::ImageLuma8(reference.clone()),
            90,
        ))
        .unwrap()
        .to_luma8();
        let bad = image::load_from_memory(&encode_jpeg(
            &DynamicImage::ImageLuma8(reference.clone()),
            5,
        ))
        .unwrap()
        .to_luma8();
        assert!(ssim(&reference, &good) > ssim(&reference, &bad));
    }
}
