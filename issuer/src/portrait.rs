//! Automatic portrait checks, run before a clerk reviews a submitted photo.
//!
//! Phone-camera and album photos are reviewed by the office within one working day
//! (DOMAIN.md, "Applying and the portrait"). Most of the photo rules need a human (pose,
//! expression, no hat, no retouching), but a few can be measured, and measuring them
//! first saves the clerk from rejecting obviously unusable files by eye and tells the
//! applicant exactly what to fix. [`check_portrait`] measures those rules and returns
//! every failure with its numbers; it never approves a photo on its own.
//!
//! What is checked, and why these thresholds:
//!
//! | rule | threshold | reason |
//! |---|---|---|
//! | [`PortraitRule::FileSize`] | <= 10 MiB file, <= 40 megapixels | bounds the work before any pixel is decoded |
//! | [`PortraitRule::Decodes`] | JPEG or PNG that decodes | the formats the offices accept |
//! | [`PortraitRule::MinimumResolution`] | >= 260 × 378 px | the driving-licence archive photo (机动车驾驶证档案用数字相片) is 260 × 378 px, 22 × 32 mm at 300 dpi; an ID-card photo (GA 461: 358 × 441 px, 26 × 32 mm at 350 dpi) is larger in both directions, so both pass |
//! | [`PortraitRule::AspectRatio`] | width / height in 0.66 ..= 0.85 | covers 22:32 (0.69, driving licence), 2:3, 3:4 and 26:32 (0.81, ID card); the app's own guidance is "between 2:3 and 3:4" |
//! | [`PortraitRule::WhiteBackground`] | background band: mean luminance >= 215, std dev <= 18, mean colourfulness <= 30 | "white background, even lighting" |
//! | [`PortraitRule::Exposure`] | face area mean luminance 60 ..= 210 | not too dark, not washed out |
//! | [`PortraitRule::Contrast`] | face area luminance std dev >= 25 | not flat, hazy or blank |
//! | [`PortraitRule::TakenWithinSixMonths`] | EXIF date no more than 183 days before `now` | "taken within the last 6 months", where the file records it |
//!
//! The pixel sizes are the published requirements for the driving-licence archive photo
//! (260 × 378 px, 300 dpi, 24-bit colour, JPEG) as repeated by traffic-management
//! offices' guidance; GA 461-2004 for the resident ID card. Both come from secondary
//! summaries, so check them against the office's current notice before relying on them.
//!
//! Regions: the *background band* is the top 2.5 % of rows plus the left and right 10 %
//! of columns down to 55 % of the height. In a compliant photo the hair starts 10-20 px
//! below the top edge and the head is 165-189 px wide out of 260, so these strips see
//! background only; the bottom is left out because the shoulders reach the edges there.
//! The *face area* is the centre (20-80 % of the width, 15-75 % of the height); exposure
//! is measured there rather than over the whole image because the required white
//! background would otherwise dominate the mean. Luminance is BT.601 (as in JPEG),
//! colourfulness is max(R,G,B) − min(R,G,B); transparent pixels are composited over
//! mid-grey, so a transparent "background" is not taken for white. At most about a
//! million pixels are sampled (on a regular grid), whatever the image size.
//!
//! EXIF: `DateTimeOriginal`, else `DateTime`; its local time is read with
//! `OffsetTimeOriginal` / `OffsetTime` when present, otherwise as China time (UTC+8).
//! A file without a date, or with a date in the future, passes this rule: the date is
//! easy to strip or forge, so it only catches honest old photos. EXIF orientation is
//! applied before measuring, so an upright phone photo stored sideways is judged upright.
//!
//! Safety: the file size is checked first, then the format and the declared dimensions
//! (header only, with [`image::Limits`] set), and only then are the pixels decoded. A
//! panic inside the third-party decoders is contained and reported as
//! [`PortraitRule::Decodes`], like any other undecodable file.
//!
//! Not checked (left to the clerk): head size and position, pose, expression, eyes,
//! clothing, accessories, retouching, composites, liveness.

use std::fmt;
use std::io::Cursor;

use credential::date::Date;
use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{
    DynamicImage, GenericImageView, ImageDecoder, ImageEncoder, ImageError, ImageReader, Limits,
    RgbImage,
};

/// Largest accepted file (10 MiB).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Largest accepted image (40 megapixels), checked from the header before decoding.
pub const MAX_PIXELS: u64 = 40_000_000;
/// Longest accepted side, enforced by the decoder itself ([`image::Limits`]).
pub const MAX_SIDE_PX: u32 = 20_000;
/// Largest decoded pixel buffer (40 megapixels of RGBA at 8 bits, with room to spare).
const MAX_DECODED_BYTES: u64 = 256 * 1024 * 1024;

/// Minimum width in pixels (driving-licence archive photo: 260 × 378).
pub const MIN_WIDTH_PX: u32 = 260;
/// Minimum height in pixels.
pub const MIN_HEIGHT_PX: u32 = 378;
/// Narrowest accepted width / height (below 22:32 = 0.6875 and 2:3).
pub const MIN_ASPECT: f64 = 0.66;
/// Widest accepted width / height (above 26:32 = 0.8125).
pub const MAX_ASPECT: f64 = 0.85;

/// Minimum mean luminance (0-255) of the background band.
pub const BACKGROUND_MIN_LUMINANCE: f64 = 215.0;
/// Maximum luminance standard deviation of the background band (shadows, objects).
pub const BACKGROUND_MAX_STD_DEV: f64 = 18.0;
/// Maximum mean colourfulness (max − min channel) of the background band (blue, red).
pub const BACKGROUND_MAX_COLOURFULNESS: f64 = 30.0;
/// Minimum mean luminance of the face area.
pub const EXPOSURE_MIN_LUMINANCE: f64 = 60.0;
/// Maximum mean luminance of the face area.
pub const EXPOSURE_MAX_LUMINANCE: f64 = 210.0;
/// Minimum luminance standard deviation of the face area.
pub const CONTRAST_MIN_STD_DEV: f64 = 25.0;

/// "Six months", in days: half of a leap year, rounded up.
pub const MAX_AGE_DAYS: u64 = 183;
/// UTC offset assumed for EXIF local times without an offset tag (China time).
const EXIF_DEFAULT_OFFSET_MIN: i64 = 8 * 60;
/// Pixels sampled per image at most (the grid step grows with the image).
const MAX_SAMPLES: u64 = 1_000_000;

/// One automatically checkable photo rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PortraitRule {
    /// The file and the image are within the size bounds.
    FileSize,
    /// The file is a JPEG or PNG that decodes.
    Decodes,
    /// The image is large enough.
    MinimumResolution,
    /// The image is an upright portrait of the right proportions.
    AspectRatio,
    /// The background is near-white and uniform.
    WhiteBackground,
    /// The face area is neither too dark nor too bright.
    Exposure,
    /// The face area has enough contrast.
    Contrast,
    /// The photo was taken within the last six months, where EXIF records it.
    TakenWithinSixMonths,
}

impl PortraitRule {
    /// Every rule, in the order they are checked.
    pub const ALL: [PortraitRule; 8] = [
        PortraitRule::FileSize,
        PortraitRule::Decodes,
        PortraitRule::MinimumResolution,
        PortraitRule::AspectRatio,
        PortraitRule::WhiteBackground,
        PortraitRule::Exposure,
        PortraitRule::Contrast,
        PortraitRule::TakenWithinSixMonths,
    ];

    /// Stable snake_case code, for JSON output and the registry.
    pub fn code(self) -> &'static str {
        match self {
            PortraitRule::FileSize => "file_size",
            PortraitRule::Decodes => "decodes",
            PortraitRule::MinimumResolution => "minimum_resolution",
            PortraitRule::AspectRatio => "aspect_ratio",
            PortraitRule::WhiteBackground => "white_background",
            PortraitRule::Exposure => "exposure",
            PortraitRule::Contrast => "contrast",
            PortraitRule::TakenWithinSixMonths => "taken_within_six_months",
        }
    }

    /// What the rule requires, as a plain sentence for the office clerk.
    pub fn describe(self) -> &'static str {
        match self {
            PortraitRule::FileSize => "the file is at most 10 MiB and the image at most 40 megapixels",
            PortraitRule::Decodes => "the file is a readable JPEG or PNG image",
            PortraitRule::MinimumResolution => "the image is at least 260 pixels wide and 378 pixels high",
            PortraitRule::AspectRatio => {
                "the image is an upright portrait, width/height between 0.66 and 0.85 (22×32 mm to 26×32 mm)"
            }
            PortraitRule::WhiteBackground => "the background is near-white, plain and evenly lit",
            PortraitRule::Exposure => "the face is neither too dark nor overexposed",
            PortraitRule::Contrast => "the face area is not flat, hazy or blank",
            PortraitRule::TakenWithinSixMonths => {
                "the photo was taken within the last 6 months (where the file records the date)"
            }
        }
    }
}

impl fmt::Display for PortraitRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A rule the photo fails, with what was measured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleFailure {
    /// The rule.
    pub rule: PortraitRule,
    /// A plain sentence with the measured numbers and the threshold, e.g.
    /// "the background is not near-white and uniform: mean luminance 180 (must be at least 215)".
    pub detail: String,
}

impl RuleFailure {
    fn new(rule: PortraitRule, detail: impl Into<String>) -> Self {
        RuleFailure {
            rule,
            detail: detail.into(),
        }
    }

    /// The rule's stable code.
    pub fn code(&self) -> &'static str {
        self.rule.code()
    }
}

impl fmt::Display for RuleFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

/// The outcome of [`check_portrait`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortraitReport {
    /// Width in pixels as displayed (after EXIF orientation); 0 if unknown.
    pub width: u32,
    /// Height in pixels as displayed; 0 if unknown.
    pub height: u32,
    /// `"jpeg"`, `"png"`, or `"unknown"`.
    pub format: &'static str,
    /// When the photo was taken (Unix seconds), if its EXIF data says so.
    pub taken_at: Option<u64>,
    /// Every rule the photo fails; empty if it passes every automatic check.
    pub failures: Vec<RuleFailure>,
}

impl PortraitReport {
    /// True if no automatic rule failed (a clerk still has to review the photo).
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// True if `rule` is among the failures.
    pub fn fails(&self, rule: PortraitRule) -> bool {
        self.failures.iter().any(|f| f.rule == rule)
    }

    fn fail(&mut self, rule: PortraitRule, detail: impl Into<String>) {
        self.failures.push(RuleFailure::new(rule, detail));
    }
}

/// The image formats accepted for portraits (and produced by [`synthetic_portrait`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
}

impl ImageFormat {
    /// `"jpeg"` or `"png"`, as in [`PortraitReport::format`].
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
        }
    }

    fn image_format(self) -> image::ImageFormat {
        match self {
            ImageFormat::Jpeg => image::ImageFormat::Jpeg,
            ImageFormat::Png => image::ImageFormat::Png,
        }
    }
}

/// Checks a submitted portrait file against the automatically checkable photo rules.
///
/// `now` is the current Unix time, for the six-month rule. Never panics: any byte
/// string gives a report, an undecodable one with a [`PortraitRule::Decodes`] (or
/// [`PortraitRule::FileSize`]) failure and zero size.
pub fn check_portrait(bytes: &[u8], now: u64) -> PortraitReport {
    let mut report = PortraitReport {
        width: 0,
        height: 0,
        format: "unknown",
        taken_at: None,
        failures: Vec::new(),
    };
    if bytes.len() > MAX_FILE_BYTES {
        report.fail(
            PortraitRule::FileSize,
            format!(
                "the file is {:.1} MiB; at most 10 MiB is accepted (export the photo smaller)",
                bytes.len() as f64 / (1024.0 * 1024.0)
            ),
        );
        return report;
    }
    if bytes.is_empty() {
        report.fail(PortraitRule::Decodes, "the file is empty");
        return report;
    }
    let format = match guess_format(bytes) {
        Ok(format) => format,
        Err(detail) => {
            report.fail(PortraitRule::Decodes, detail);
            return report;
        }
    };
    report.format = format.as_str();

    // The decoders are third-party code fed with untrusted bytes: contain any panic.
    let decoded = std::panic::catch_unwind(|| decode(bytes, format)).unwrap_or_else(|_| {
        Err(Undecodable::Broken(format!(
            "the {} decoder failed on this file; it is probably damaged",
            format.as_str().to_uppercase()
        )))
    });
    let (image, exif) = match decoded {
        Ok(decoded) => decoded,
        Err(Undecodable::TooLarge(detail)) => {
            report.fail(PortraitRule::FileSize, detail);
            return report;
        }
        Err(Undecodable::Broken(detail)) => {
            report.fail(PortraitRule::Decodes, detail);
            return report;
        }
    };
    let (width, height) = image.dimensions();
    report.width = width;
    report.height = height;
    report.taken_at = exif.as_ref().and_then(|exif| exif_taken_at(exif));

    check_geometry(&mut report);
    check_pixels(&image, &mut report);
    check_age(&mut report, now);
    report
}

fn guess_format(bytes: &[u8]) -> Result<ImageFormat, String> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("the file could not be read: {e}"))?;
    match reader.format() {
        Some(image::ImageFormat::Jpeg) => Ok(ImageFormat::Jpeg),
        Some(image::ImageFormat::Png) => Ok(ImageFormat::Png),
        Some(other) => Err(format!(
            "the file is a {} image; only JPEG and PNG are accepted",
            other
                .extensions_str()
                .first()
                .unwrap_or(&"different")
                .to_uppercase()
        )),
        None => Err("the file is not a JPEG or PNG image".to_owned()),
    }
}

enum Undecodable {
    /// Over the size bounds (rule `file_size`), with the detail.
    TooLarge(String),
    /// Not decodable (rule `decodes`), with the detail.
    Broken(String),
}

/// Reads the header, checks the declared size, then decodes the pixels and applies the
/// EXIF orientation. Returns the image and the raw EXIF (TIFF) bytes, if any.
fn decode(
    bytes: &[u8],
    format: ImageFormat,
) -> Result<(DynamicImage, Option<Vec<u8>>), Undecodable> {
    let name = format.as_str().to_uppercase();
    let broken = |e: ImageError| match e {
        ImageError::Limits(_) => Undecodable::TooLarge(format!(
            "the image is larger than {MAX_SIDE_PX} pixels on a side or needs too much memory; \
             at most 40 megapixels are accepted"
        )),
        other => Undecodable::Broken(format!("the file is not a readable {name}: {other}")),
    };

    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE_PX);
    limits.max_image_height = Some(MAX_SIDE_PX);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    reader.limits(limits);
    // Header only: no pixel data has been decoded yet.
    let mut decoder = reader.into_decoder().map_err(broken)?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels == 0 {
        return Err(Undecodable::Broken(format!(
            "the {name} declares an empty image ({width} × {height} pixels)"
        )));
    }
    if pixels > MAX_PIXELS {
        return Err(Undecodable::TooLarge(format!(
            "the image is {width} × {height} pixels ({:.1} megapixels); at most 40 megapixels are accepted",
            pixels as f64 / 1e6
        )));
    }
    if decoder.total_bytes() > MAX_DECODED_BYTES {
        return Err(Undecodable::TooLarge(format!(
            "the image is {width} × {height} pixels with {:?} colour, too deep to check; \
             export it as an ordinary 8-bit JPEG or PNG",
            decoder.color_type()
        )));
    }
    let exif = decoder.exif_metadata().ok().flatten();
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(broken)?;
    image.apply_orientation(orientation);
    Ok((image, exif))
}

fn check_geometry(report: &mut PortraitReport) {
    let (width, height) = (report.width, report.height);
    if width < MIN_WIDTH_PX || height < MIN_HEIGHT_PX {
        report.fail(
            PortraitRule::MinimumResolution,
            format!(
                "the image is {width} × {height} pixels; it must be at least \
                 {MIN_WIDTH_PX} × {MIN_HEIGHT_PX} (width × height)"
            ),
        );
    }
    let aspect = f64::from(width) / f64::from(height.max(1));
    if !(MIN_ASPECT..=MAX_ASPECT).contains(&aspect) {
        let shape = if aspect > 1.0 {
            "a landscape image"
        } else if aspect > MAX_ASPECT {
            "too wide for a portrait"
        } else {
            "too narrow for a portrait"
        };
        report.fail(
            PortraitRule::AspectRatio,
            format!(
                "the image is {width} × {height} pixels (width/height {aspect:.2}), {shape}; \
                 an upright portrait has width/height between {MIN_ASPECT} and {MAX_ASPECT}"
            ),
        );
    }
}

/// Luminance sums over a set of sampled pixels.
#[derive(Default)]
struct Stats {
    count: u64,
    sum: f64,
    sum_squares: f64,
    colourfulness: f64,
}

impl Stats {
    fn add(&mut self, [r, g, b]: [u8; 3]) {
        let luminance = 0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b);
        self.count += 1;
        self.sum += luminance;
        self.sum_squares += luminance * luminance;
        self.colourfulness += f64::from(r.max(g).max(b) - r.min(g).min(b));
    }

    fn mean(&self) -> f64 {
        self.sum / self.count.max(1) as f64
    }

    fn std_dev(&self) -> f64 {
        let n = self.count.max(1) as f64;
        let mean = self.sum / n;
        (self.sum_squares / n - mean * mean).max(0.0).sqrt()
    }

    fn mean_colourfulness(&self) -> f64 {
        self.colourfulness / self.count.max(1) as f64
    }
}

/// A rectangle of the image `[x0, x1) × [y0, y1)`.
struct Region {
    x0: u32,
    x1: u32,
    y0: u32,
    y1: u32,
}

/// `value * percent / 100`, without overflow.
fn percent(value: u32, percent: u32) -> u32 {
    u32::try_from(u64::from(value) * u64::from(percent) / 100).unwrap_or(value)
}

fn sample(image: &DynamicImage, region: &Region, step: u32, stats: &mut Stats) {
    let step = usize::try_from(step.max(1)).unwrap_or(1);
    for y in (region.y0..region.y1).step_by(step) {
        for x in (region.x0..region.x1).step_by(step) {
            if !image.in_bounds(x, y) {
                continue;
            }
            let [r, g, b, a] = image.get_pixel(x, y).0;
            // Composite over mid-grey so that transparency never passes for white.
            let over_grey = |c: u8| {
                let c = (u32::from(c) * u32::from(a) + 128 * (255 - u32::from(a))) / 255;
                u8::try_from(c).unwrap_or(u8::MAX)
            };
            stats.add([over_grey(r), over_grey(g), over_grey(b)]);
        }
    }
}

fn check_pixels(image: &DynamicImage, report: &mut PortraitReport) {
    let (width, height) = image.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    // Smallest grid step with at most MAX_SAMPLES samples over the whole image.
    let mut step: u32 = 1;
    while pixels / u64::from(step).pow(2) > MAX_SAMPLES {
        step += 1;
    }

    let top = percent(height, 55);
    let band_rows = (height / 40).max(1);
    let strip = (width / 10).max(1);
    let mut background = Stats::default();
    for region in [
        Region {
            x0: 0,
            x1: width,
            y0: 0,
            y1: band_rows,
        },
        Region {
            x0: 0,
            x1: strip,
            y0: band_rows,
            y1: top,
        },
        Region {
            x0: width.saturating_sub(strip).max(strip),
            x1: width,
            y0: band_rows,
            y1: top,
        },
    ] {
        sample(image, &region, step, &mut background);
    }
    let mut face = Stats::default();
    sample(
        image,
        &Region {
            x0: percent(width, 20),
            x1: percent(width, 80),
            y0: percent(height, 15),
            y1: percent(height, 75),
        },
        step,
        &mut face,
    );

    if background.count > 0 {
        let (mean, std_dev, colour) = (
            background.mean(),
            background.std_dev(),
            background.mean_colourfulness(),
        );
        let mut problems = Vec::new();
        if mean < BACKGROUND_MIN_LUMINANCE {
            problems.push(format!(
                "mean luminance {mean:.0} (must be at least {BACKGROUND_MIN_LUMINANCE:.0})"
            ));
        }
        if std_dev > BACKGROUND_MAX_STD_DEV {
            problems.push(format!(
                "variation {std_dev:.0} (must be at most {BACKGROUND_MAX_STD_DEV:.0}: shadows or objects)"
            ));
        }
        if colour > BACKGROUND_MAX_COLOURFULNESS {
            problems.push(format!(
                "colourfulness {colour:.0} (must be at most {BACKGROUND_MAX_COLOURFULNESS:.0}: tinted, not white)"
            ));
        }
        if !problems.is_empty() {
            report.fail(
                PortraitRule::WhiteBackground,
                format!(
                    "the background is not near-white and uniform: {}",
                    problems.join("; ")
                ),
            );
        }
    }

    if face.count > 0 {
        let mean = face.mean();
        if mean < EXPOSURE_MIN_LUMINANCE {
            report.fail(
                PortraitRule::Exposure,
                format!(
                    "the photo is too dark: mean luminance of the face area {mean:.0}, \
                     must be at least {EXPOSURE_MIN_LUMINANCE:.0} (retake it with more light)"
                ),
            );
        } else if mean > EXPOSURE_MAX_LUMINANCE {
            report.fail(
                PortraitRule::Exposure,
                format!(
                    "the photo is overexposed: mean luminance of the face area {mean:.0}, \
                     must be at most {EXPOSURE_MAX_LUMINANCE:.0} (retake it with less light or no flash)"
                ),
            );
        }
        let std_dev = face.std_dev();
        if std_dev < CONTRAST_MIN_STD_DEV {
            report.fail(
                PortraitRule::Contrast,
                format!(
                    "the face area has too little contrast: luminance variation {std_dev:.0}, \
                     must be at least {CONTRAST_MIN_STD_DEV:.0} (blurred, hazy, flat or blank)"
                ),
            );
        }
    }
}

fn check_age(report: &mut PortraitReport, now: u64) {
    let Some(taken_at) = report.taken_at else {
        return;
    };
    let age_s = now.saturating_sub(taken_at);
    if age_s > MAX_AGE_DAYS * 86_400 {
        let (year, month, day) = Date::at(taken_at, EXIF_DEFAULT_OFFSET_MIN * 60).ymd();
        report.fail(
            PortraitRule::TakenWithinSixMonths,
            format!(
                "the photo was taken on {year:04}-{month:02}-{day:02} (according to the file), \
                 {} days ago; it must be at most 6 months ({MAX_AGE_DAYS} days) old",
                age_s / 86_400
            ),
        );
    }
}

/// When the photo was taken, from raw EXIF (TIFF) bytes; `None` if not recorded or invalid.
fn exif_taken_at(raw: &[u8]) -> Option<u64> {
    use exif::{In, Tag, Value};

    let exif = exif::Reader::new().read_raw(raw.to_vec()).ok()?;
    let ascii = |tag: Tag| match exif.get_field(tag, In::PRIMARY).map(|f| &f.value) {
        Some(Value::Ascii(values)) => values.first().cloned(),
        _ => None,
    };
    [
        (Tag::DateTimeOriginal, Tag::OffsetTimeOriginal),
        (Tag::DateTime, Tag::OffsetTime),
    ]
    .into_iter()
    .find_map(|(time_tag, offset_tag)| {
        let mut time = exif::DateTime::from_ascii(&ascii(time_tag)?).ok()?;
        if let Some(offset) = ascii(offset_tag) {
            // An unreadable offset falls back to China time rather than losing the date.
            if time.parse_offset(&offset).is_err() {
                time.offset = None;
            }
        }
        unix_seconds(&time)
    })
}

fn unix_seconds(time: &exif::DateTime) -> Option<u64> {
    if time.hour > 23 || time.minute > 59 || time.second > 60 {
        return None;
    }
    let offset_min = time
        .offset
        .map(i64::from)
        .filter(|m| m.abs() <= 14 * 60)
        .unwrap_or(EXIF_DEFAULT_OFFSET_MIN);
    let date = Date::from_ymd(
        i64::from(time.year),
        u32::from(time.month),
        u32::from(time.day),
    )?;
    let seconds = date.0 * 86_400
        + i64::from(time.hour) * 3_600
        + i64::from(time.minute) * 60
        + i64::from(time.second)
        - offset_min * 60;
    u64::try_from(seconds).ok()
}

/// A synthetic head-and-shoulders portrait, for tests and the demo only.
///
/// A `background`-coloured image with a skin-toned head (with dark hair, eyes and
/// mouth), a neck and dark clothing, proportioned like a licence photo. With a white
/// background and a size such as 358 × 441 or 260 × 378 it passes every rule of
/// [`check_portrait`]; change the background, size or shape to make one fail.
///
/// Returns an empty vector (which [`check_portrait`] reports as undecodable) if the
/// image cannot be encoded, e.g. a zero side, or a side over 65535 for JPEG. The
/// caller chooses the size, so keep it reasonable.
pub fn synthetic_portrait(
    width: u32,
    height: u32,
    background: [u8; 3],
    format: ImageFormat,
) -> Vec<u8> {
    encode(&draw_portrait(width, height, background), format, None)
}

/// Like [`synthetic_portrait`], with EXIF saying the photo was taken at `taken_at`
/// (Unix seconds; written as China local time with `OffsetTimeOriginal` +08:00), for
/// tests and demos of the six-month rule.
pub fn synthetic_portrait_taken_at(
    width: u32,
    height: u32,
    background: [u8; 3],
    format: ImageFormat,
    taken_at: u64,
) -> Vec<u8> {
    let exif = exif_with_date(taken_at);
    encode(
        &draw_portrait(width, height, background),
        format,
        exif.as_deref(),
    )
}

fn draw_portrait(width: u32, height: u32, background: [u8; 3]) -> RgbImage {
    const SKIN: [u8; 3] = [224, 180, 150];
    const HAIR: [u8; 3] = [35, 28, 26];
    const CLOTHES: [u8; 3] = [38, 44, 62];
    const EYES: [u8; 3] = [40, 30, 30];
    const MOUTH: [u8; 3] = [160, 80, 80];
    let inside = |u: f64, v: f64, cu: f64, cv: f64, ru: f64, rv: f64| {
        let (du, dv) = ((u - cu) / ru, (v - cv) / rv);
        du * du + dv * dv <= 1.0
    };
    let (w, h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    RgbImage::from_fn(width, height, |x, y| {
        let u = (f64::from(x) + 0.5) / w;
        let v = (f64::from(y) + 0.5) / h;
        let colour =
            if inside(u, v, 0.40, 0.40, 0.045, 0.018) || inside(u, v, 0.60, 0.40, 0.045, 0.018) {
                EYES
            } else if inside(u, v, 0.50, 0.57, 0.07, 0.015) {
                MOUTH
            } else if inside(u, v, 0.50, 0.40, 0.27, 0.31) {
                if v < 0.22 {
                    HAIR
                } else {
                    SKIN
                }
            } else if inside(u, v, 0.50, 0.38, 0.28, 0.30) && v < 0.26 {
                HAIR
            } else if inside(u, v, 0.50, 1.22, 0.62, 0.44) {
                CLOTHES
            } else if (0.42..=0.58).contains(&u) && (0.60..=0.85).contains(&v) {
                SKIN
            } else {
                background
            };
        image::Rgb(colour)
    })
}

fn encode(image: &RgbImage, format: ImageFormat, exif: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    let result = match format {
        ImageFormat::Jpeg => {
            let mut encoder = JpegEncoder::new_with_quality(&mut out, 92);
            if let Some(exif) = exif {
                let _ = encoder.set_exif_metadata(exif.to_vec());
            }
            image.write_with_encoder(encoder)
        }
        ImageFormat::Png => {
            let mut encoder = image::codecs::png::PngEncoder::new(&mut out);
            if let Some(exif) = exif {
                let _ = encoder.set_exif_metadata(exif.to_vec());
            }
            image.write_with_encoder(encoder)
        }
    };
    match result {
        Ok(()) => out,
        Err(_) => Vec::new(),
    }
}

/// A TIFF/EXIF block with `DateTimeOriginal` (China local time) and its offset.
fn exif_with_date(taken_at: u64) -> Option<Vec<u8>> {
    use exif::{Field, In, Tag, Value};

    let local = i64::try_from(taken_at).ok()? + EXIF_DEFAULT_OFFSET_MIN * 60;
    let (year, month, day) = Date(local.div_euclid(86_400)).ymd();
    let second_of_day = local.rem_euclid(86_400);
    let text = format!(
        "{year:04}:{month:02}:{day:02} {:02}:{:02}:{:02}",
        second_of_day / 3_600,
        second_of_day / 60 % 60,
        second_of_day % 60
    );
    let time = Field {
        tag: Tag::DateTimeOriginal,
        ifd_num: In::PRIMARY,
        value: Value::Ascii(vec![text.into_bytes()]),
    };
    let offset = Field {
        tag: Tag::OffsetTimeOriginal,
        ifd_num: In::PRIMARY,
        value: Value::Ascii(vec![b"+08:00".to_vec()]),
    };
    let mut writer = exif::experimental::Writer::new();
    writer.push_field(&time);
    writer.push_field(&offset);
    let mut out = Cursor::new(Vec::new());
    writer.write(&mut out, false).ok()?;
    Some(out.into_inner())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const WHITE: [u8; 3] = [255, 255, 255];
    /// 2026-06-01T00:00:00+08:00.
    const NOW: u64 = 1_780_243_200;
    const DAY: u64 = 86_400;

    fn codes(report: &PortraitReport) -> Vec<&'static str> {
        report.failures.iter().map(RuleFailure::code).collect()
    }

    fn reencode(image: &DynamicImage, format: image::ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn decode_png(bytes: &[u8]) -> DynamicImage {
        image::load_from_memory_with_format(bytes, image::ImageFormat::Png).unwrap()
    }

    #[test]
    fn rule_codes_are_stable_unique_snake_case() {
        let codes: Vec<&str> = PortraitRule::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(
            codes,
            [
                "file_size",
                "decodes",
                "minimum_resolution",
                "aspect_ratio",
                "white_background",
                "exposure",
                "contrast",
                "taken_within_six_months"
            ]
        );
        for rule in PortraitRule::ALL {
            assert!(!rule.describe().is_empty());
        }
    }

    #[test]
    fn good_synthetic_portraits_pass_every_rule() {
        for (width, height) in [(358, 441), (260, 378), (390, 567), (520, 756), (600, 800)] {
            for format in [ImageFormat::Png, ImageFormat::Jpeg] {
                let bytes = synthetic_portrait(width, height, WHITE, format);
                let report = check_portrait(&bytes, NOW);
                assert!(
                    report.passed(),
                    "{width}×{height} {format:?}: {:?}",
                    report.failures
                );
                assert_eq!((report.width, report.height), (width, height));
                assert_eq!(report.format, format.as_str());
                assert_eq!(report.taken_at, None);
            }
        }
        // A slightly off-white studio background is still white.
        let bytes = synthetic_portrait(358, 441, [240, 238, 235], ImageFormat::Jpeg);
        assert!(check_portrait(&bytes, NOW).passed());
    }

    #[test]
    fn grey_background_fails_white_background() {
        let bytes = synthetic_portrait(358, 441, [160, 160, 160], ImageFormat::Png);
        let report = check_portrait(&bytes, NOW);
        assert_eq!(codes(&report), ["white_background"]);
        let detail = &report.failures[0].detail;
        assert!(detail.contains("mean luminance 160"), "{detail}");
        assert!(detail.contains("at least 215"), "{detail}");
    }

    #[test]
    fn blue_background_fails_white_background_on_colour() {
        // Light blue, bright enough by luminance alone: caught as tinted.
        let bytes = synthetic_portrait(358, 441, [200, 225, 255], ImageFormat::Png);
        let report = check_portrait(&bytes, NOW);
        assert_eq!(codes(&report), ["white_background"]);
        assert!(report.failures[0].detail.contains("colourfulness"));
    }

    #[test]
    fn shadow_on_the_background_fails_white_background() {
        let mut image = decode_png(&synthetic_portrait(358, 441, WHITE, ImageFormat::Png));
        let (width, height) = image.dimensions();
        let rgb = image.as_mut_rgb8().unwrap();
        for y in 0..height / 2 {
            for x in 0..width / 10 {
                rgb.put_pixel(x, y, image::Rgb([150, 150, 150]));
            }
        }
        let report = check_portrait(&reencode(&image, image::ImageFormat::Png), NOW);
        assert_eq!(codes(&report), ["white_background"]);
        assert!(report.failures[0].detail.contains("variation"));
    }

    #[test]
    fn transparent_background_is_not_white() {
        let image = decode_png(&synthetic_portrait(358, 441, WHITE, ImageFormat::Png));
        let mut rgba = image.to_rgba8();
        for pixel in rgba.pixels_mut() {
            if pixel.0[..3] == WHITE {
                *pixel = image::Rgba([255, 255, 255, 0]);
            }
        }
        let bytes = reencode(&DynamicImage::ImageRgba8(rgba), image::ImageFormat::Png);
        assert!(check_portrait(&bytes, NOW).fails(PortraitRule::WhiteBackground));
    }

    #[test]
    fn too_small_fails_minimum_resolution() {
        let report = check_portrait(&synthetic_portrait(200, 270, WHITE, ImageFormat::Jpeg), NOW);
        assert_eq!(codes(&report), ["minimum_resolution"]);
        assert!(report.failures[0].detail.contains("200 × 270"));
        // One pixel short in either direction.
        for (w, h) in [(259, 378), (300, 377)] {
            let report = check_portrait(&synthetic_portrait(w, h, WHITE, ImageFormat::Png), NOW);
            assert!(report.fails(PortraitRule::MinimumResolution), "{w}×{h}");
        }
    }

    #[test]
    fn wrong_shapes_fail_aspect_ratio() {
        for (w, h) in [(600, 400), (441, 441), (400, 441), (300, 480)] {
            let report = check_portrait(&synthetic_portrait(w, h, WHITE, ImageFormat::Png), NOW);
            assert!(
                report.fails(PortraitRule::AspectRatio),
                "{w}×{h}: {:?}",
                report.failures
            );
            assert!(!report.fails(PortraitRule::MinimumResolution));
        }
        let report = check_portrait(&synthetic_portrait(600, 400, WHITE, ImageFormat::Png), NOW);
        assert!(report.failures[0].detail.contains("landscape"));
    }

    #[test]
    fn very_dark_image_fails_exposure() {
        let image = decode_png(&synthetic_portrait(358, 441, WHITE, ImageFormat::Png));
        let dark = image.brighten(-200);
        let report = check_portrait(&reencode(&dark, image::ImageFormat::Jpeg), NOW);
        assert!(
            report.fails(PortraitRule::Exposure),
            "{:?}",
            report.failures
        );
        assert!(report
            .failures
            .iter()
            .any(|f| f.detail.contains("too dark")));
    }

    #[test]
    fn washed_out_image_fails_exposure() {
        let image = decode_png(&synthetic_portrait(358, 441, WHITE, ImageFormat::Png));
        let bright = image.brighten(120);
        let report = check_portrait(&reencode(&bright, image::ImageFormat::Png), NOW);
        assert!(
            report.fails(PortraitRule::Exposure),
            "{:?}",
            report.failures
        );
        assert!(!report.fails(PortraitRule::WhiteBackground));
    }

    #[test]
    fn flat_image_fails_contrast() {
        let flat = RgbImage::from_pixel(358, 441, image::Rgb([140, 140, 140]));
        let report = check_portrait(
            &reencode(&DynamicImage::ImageRgb8(flat), image::ImageFormat::Png),
            NOW,
        );
        assert!(report.fails(PortraitRule::Contrast));
        assert!(!report.fails(PortraitRule::Exposure));
    }

    /// A minimal big-endian TIFF with IFD0 → Exif IFD → DateTimeOriginal, built by hand.
    fn hand_made_exif(date_time: &[u8; 19]) -> Vec<u8> {
        let mut tiff = Vec::new();
        tiff.extend_from_slice(b"MM\x00\x2a\x00\x00\x00\x08"); // big-endian, IFD0 at 8
        tiff.extend_from_slice(&[0x00, 0x01]); // IFD0: one entry
        tiff.extend_from_slice(&[0x87, 0x69, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 26]); // ExifIFD at 26
        tiff.extend_from_slice(&[0, 0, 0, 0]); // no next IFD
        tiff.extend_from_slice(&[0x00, 0x01]); // Exif IFD: one entry
        tiff.extend_from_slice(&[0x90, 0x03, 0x00, 0x02, 0, 0, 0, 20, 0, 0, 0, 44]); // ASCII[20] at 44
        tiff.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(tiff.len(), 44);
        tiff.extend_from_slice(date_time);
        tiff.push(0);
        tiff
    }

    /// Splices an APP1 Exif segment right after the JPEG's SOI marker.
    fn splice_app1(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
        let length = u16::try_from(2 + 6 + tiff.len()).unwrap();
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xff, 0xe1]);
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(b"Exif\0\0");
        out.extend_from_slice(tiff);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    #[test]
    fn old_exif_date_fails_taken_within_six_months() {
        let jpeg = synthetic_portrait(358, 441, WHITE, ImageFormat::Jpeg);
        let bytes = splice_app1(&jpeg, &hand_made_exif(b"2024:01:15 09:30:00"));
        let report = check_portrait(&bytes, NOW);
        // 2024-01-15 09:30:00 in China time.
        assert_eq!(report.taken_at, Some(1_705_282_200));
        assert_eq!(codes(&report), ["taken_within_six_months"]);
        let detail = &report.failures[0].detail;
        assert!(detail.contains("2024-01-15"), "{detail}");
        assert!(detail.contains("867 days ago"), "{detail}");
    }

    #[test]
    fn recent_exif_date_passes() {
        let jpeg = synthetic_portrait(358, 441, WHITE, ImageFormat::Jpeg);
        let bytes = splice_app1(&jpeg, &hand_made_exif(b"2026:03:01 12:00:00"));
        let report = check_portrait(&bytes, NOW);
        assert!(report.passed(), "{:?}", report.failures);
        assert_eq!(report.taken_at, Some(1_772_337_600));
    }

    #[test]
    fn six_month_boundary_and_png_exif() {
        for format in [ImageFormat::Jpeg, ImageFormat::Png] {
            let at_limit = NOW - MAX_AGE_DAYS * DAY;
            let bytes = synthetic_portrait_taken_at(358, 441, WHITE, format, at_limit);
            let report = check_portrait(&bytes, NOW);
            assert_eq!(report.taken_at, Some(at_limit), "{format:?}");
            assert!(report.passed(), "{format:?}: {:?}", report.failures);

            let bytes = synthetic_portrait_taken_at(358, 441, WHITE, format, at_limit - 1);
            let report = check_portrait(&bytes, NOW);
            assert_eq!(codes(&report), ["taken_within_six_months"], "{format:?}");
        }
        // A date in the future (wrong camera clock) is reported but not failed.
        let bytes = synthetic_portrait_taken_at(358, 441, WHITE, ImageFormat::Jpeg, NOW + 30 * DAY);
        let report = check_portrait(&bytes, NOW);
        assert_eq!(report.taken_at, Some(NOW + 30 * DAY));
        assert!(report.passed());
    }

    #[test]
    fn exif_offset_is_honoured() {
        use exif::{Field, In, Tag, Value};
        let fields = [
            Field {
                tag: Tag::DateTimeOriginal,
                ifd_num: In::PRIMARY,
                value: Value::Ascii(vec![b"2026:03:01 12:00:00".to_vec()]),
            },
            Field {
                tag: Tag::OffsetTimeOriginal,
                ifd_num: In::PRIMARY,
                value: Value::Ascii(vec![b"-05:00".to_vec()]),
            },
        ];
        let mut writer = exif::experimental::Writer::new();
        for field in &fields {
            writer.push_field(field);
        }
        let mut tiff = Cursor::new(Vec::new());
        writer.write(&mut tiff, true).unwrap();
        assert_eq!(
            exif_taken_at(tiff.get_ref()),
            Some(1_772_337_600 + 13 * 3_600)
        );
        // DateTime alone is used when DateTimeOriginal is absent; garbage gives None.
        let field = Field {
            tag: Tag::DateTime,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"2026:03:01 12:00:00".to_vec()]),
        };
        let mut writer = exif::experimental::Writer::new();
        writer.push_field(&field);
        let mut tiff = Cursor::new(Vec::new());
        writer.write(&mut tiff, false).unwrap();
        assert_eq!(exif_taken_at(tiff.get_ref()), Some(1_772_337_600));
        for bad in [
            &b"2026:13:01 12:00:00"[..],
            b"2026:02:30 12:00:00",
            b"2026:03:01 24:00:00",
        ] {
            let field = Field {
                tag: Tag::DateTimeOriginal,
                ifd_num: In::PRIMARY,
                value: Value::Ascii(vec![bad.to_vec()]),
            };
            let mut writer = exif::experimental::Writer::new();
            writer.push_field(&field);
            let mut tiff = Cursor::new(Vec::new());
            writer.write(&mut tiff, false).unwrap();
            assert_eq!(exif_taken_at(tiff.get_ref()), None);
        }
        assert_eq!(exif_taken_at(b""), None);
        assert_eq!(exif_taken_at(b"MM\x00\x2a\xff\xff\xff\xff"), None);
    }

    #[test]
    fn exif_orientation_is_applied() {
        use exif::{Field, In, Tag, Value};
        // An upright portrait stored sideways, as phones do, with Orientation 6.
        let upright = decode_png(&synthetic_portrait(358, 441, WHITE, ImageFormat::Png));
        let stored = upright.rotate270();
        let field = Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![6]),
        };
        let mut writer = exif::experimental::Writer::new();
        writer.push_field(&field);
        let mut tiff = Cursor::new(Vec::new());
        writer.write(&mut tiff, false).unwrap();
        let bytes = encode(&stored.to_rgb8(), ImageFormat::Jpeg, Some(tiff.get_ref()));
        let report = check_portrait(&bytes, NOW);
        assert_eq!((report.width, report.height), (358, 441));
        assert!(report.passed(), "{:?}", report.failures);
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }

    /// A PNG whose header claims `width` × `height` 8-bit greyscale pixels, with a tiny
    /// IDAT (a few zero rows) and IEND.
    fn png_claiming(width: u32, height: u32) -> Vec<u8> {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        png_chunk(&mut png, b"IHDR", &ihdr);
        // zlib stream of an empty stored block: almost no data for a huge image.
        png_chunk(
            &mut png,
            b"IDAT",
            &[0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 1],
        );
        png_chunk(&mut png, b"IEND", &[]);
        png
    }

    #[test]
    fn huge_declared_dimensions_are_refused_before_decoding() {
        let report = check_portrait(&png_claiming(100_000, 100_000), NOW);
        assert_eq!(codes(&report), ["file_size"]);
        assert_eq!((report.width, report.height), (0, 0));

        // Under the per-side limit but over 40 megapixels: refused with its numbers,
        // although the pixel data is missing (so it was never decoded).
        let report = check_portrait(&png_claiming(10_000, 10_000), NOW);
        assert_eq!(codes(&report), ["file_size"]);
        assert!(report.failures[0].detail.contains("10000 × 10000"));
        assert!(report.failures[0].detail.contains("100.0 megapixels"));

        // Under every limit: decoding the missing data fails cleanly.
        let report = check_portrait(&png_claiming(400, 500), NOW);
        assert_eq!(codes(&report), ["decodes"]);
    }

    #[test]
    fn largest_accepted_image_is_bounded() {
        // 36 megapixels of black compress to a small file (a "zlib bomb" within limits):
        // decoded once, sampled on a grid.
        let black = image::GrayImage::new(6_000, 6_000);
        let bytes = reencode(&DynamicImage::ImageLuma8(black), image::ImageFormat::Png);
        assert!(bytes.len() < 200_000, "{}", bytes.len());
        let report = check_portrait(&bytes, NOW);
        assert_eq!((report.width, report.height), (6_000, 6_000));
        assert!(report.fails(PortraitRule::WhiteBackground));
        assert!(report.fails(PortraitRule::Exposure));
    }

    #[test]
    fn oversized_file_is_refused_unread() {
        let mut bytes = synthetic_portrait(358, 441, WHITE, ImageFormat::Png);
        bytes.resize(MAX_FILE_BYTES + 1, 0);
        let report = check_portrait(&bytes, NOW);
        assert_eq!(codes(&report), ["file_size"]);
        assert!(report.failures[0].detail.contains("10.0 MiB"));
    }

    #[test]
    fn garbage_never_panics() {
        let report = check_portrait(b"", NOW);
        assert_eq!(codes(&report), ["decodes"]);
        assert_eq!(
            (report.width, report.height, report.format),
            (0, 0, "unknown")
        );

        let report = check_portrait(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", NOW);
        assert_eq!(codes(&report), ["decodes"]);
        assert!(
            report.failures[0].detail.contains("GIF"),
            "{:?}",
            report.failures
        );

        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let prefixes: [&[u8]; 4] = [
            b"",
            b"\xff\xd8\xff",
            b"\xff\xd8\xff\xe0\x00\x10JFIF\0",
            b"\x89PNG\r\n\x1a\n",
        ];
        for case in 0..400 {
            let len = usize::try_from(next() % 3_000).unwrap();
            let mut bytes = prefixes[case % prefixes.len()].to_vec();
            bytes.extend((0..len).map(|_| next() as u8));
            let report = check_portrait(&bytes, NOW);
            assert!(!report.passed(), "case {case}");
        }
    }

    #[test]
    fn truncated_and_corrupted_files_never_panic() {
        for format in [ImageFormat::Jpeg, ImageFormat::Png] {
            let bytes = synthetic_portrait(300, 400, WHITE, format);
            let step = (bytes.len() / 60).max(1);
            for len in (0..bytes.len()).step_by(step) {
                let report = check_portrait(&bytes[..len], NOW);
                // A truncated JPEG may still decode (grey fill); it must not panic.
                if len < 100 {
                    assert!(!report.passed(), "{format:?} prefix {len}");
                }
            }
            let mut state = 0x2545_f491_4f6c_dd1du64;
            for _ in 0..60 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let mut corrupted = bytes.clone();
                let at = usize::try_from(state % bytes.len() as u64).unwrap();
                corrupted[at] ^= (state >> 32) as u8 | 1;
                let _ = check_portrait(&corrupted, NOW);
            }
        }
    }
}
