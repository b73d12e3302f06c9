//! Reading licence QR codes from photos and screenshots (`verifier scan`).
//!
//! Why this module exists apart from `check`: a photo is hostile input of a
//! different kind than QR text. It can be huge, a decompression bomb, or truncated,
//! and the QR decoder is third-party code that has been seen to panic on real
//! photos. So, in order:
//!
//! 1. the file is read with a size bound ([`Limits::max_file_bytes`]);
//! 2. only PNG and JPEG are accepted, and the pixel count is checked from the
//!    header **before** anything is decoded ([`Limits::max_pixels`]), with the
//!    decoder's own allocation limit as a second fence;
//! 3. every decoder pass runs inside [`std::panic::catch_unwind`] (the release
//!    profile keeps `panic = "unwind"` for this): a panic becomes a counted
//!    decoder fault and the next pass runs, never a crash;
//! 4. decoding stops at [`Limits::max_scan_time`], checked between passes, between
//!    finder-pattern triples and on every row of the finder-pattern search, which
//!    `scan` runs itself because rxing's is quadratic in the patterns it finds.
//!
//! The decoder is `rxing` (a Rust port of ZXing's C++ QR reader). It was chosen by
//! measurement on the photo-like corpus of `tools/qr-corpus` (README, "Reading QR
//! codes from photos"): `rqrr` read 104 of 260 images, plain `rxing` 182, and the
//! cascade below 241, against 224 for zxing-cpp. The payload is `DL1:` + base45,
//! i.e. QR alphanumeric mode, so no character-set guessing is involved and the text
//! comes back exactly as encoded (the signature check would catch any change).
//!
//! The cascade stops at the first pass that finds a code; each later pass exists
//! because a corpus category needed it (see [`Pass`]). A clean photo or screenshot
//! costs one pass.

use std::cell::Cell;
use std::collections::HashSet;
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use std::time::{Duration, Instant};

use rxing::common::cpp_essentials::{
    ConcentricPattern, FindLeftGuardBy, FixedPattern, GetPatternRowTP, IsPattern,
    LocateConcentricPattern, PatternRow, PatternView,
};
use rxing::common::{BitMatrix, DetectorRXingResult, GlobalHistogramBinarizer, HybridBinarizer};
use rxing::qrcode::cpp_port::decoder::Decode;
use rxing::qrcode::cpp_port::detector::{GenerateFinderPatternSets, SampleQR};
use rxing::{point, Binarizer, BinaryBitmap, Luma8LuminanceSource};

/// Finder patterns collected per pass. A photo of one or two phones has six real
/// ones and at most a few dozen false ones; the cap matters only for images made
/// of finder patterns, whose search is quadratic in their number.
const MAX_FINDER_PATTERNS: usize = 500;
/// Pattern triples sampled per pass, most plausible first.
const MAX_PATTERN_SETS: usize = 1000;

/// Bounds on what a photo may cost before it is refused.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest file read, in bytes.
    pub max_file_bytes: u64,
    /// Largest image, in pixels (width × height), checked from the header.
    pub max_pixels: u64,
    /// Largest allocation the image decoder may make, in bytes.
    pub max_decoder_alloc: u64,
    /// Time after which no further decoder pass or pattern triple is tried.
    pub max_scan_time: Duration,
}

impl Default for Limits {
    /// 50 MiB files, 40 megapixels (a 7,700 × 5,200 camera image), 512 MiB for the
    /// image decoder, 3 s of QR decoding (a 1080p photo takes ~15 ms; a blank
    /// 36-megapixel one under 1 s).
    fn default() -> Limits {
        Limits {
            max_file_bytes: 50 * 1024 * 1024,
            max_pixels: 40_000_000,
            max_decoder_alloc: 512 * 1024 * 1024,
            max_scan_time: Duration::from_secs(3),
        }
    }
}

/// Why an image could not be scanned. Each has a stable code ([`ScanError::code`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// The file could not be read (the CLI names the file before this message).
    #[error("cannot read the file: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is larger than [`Limits::max_file_bytes`].
    #[error("image file is {size} bytes, more than the {max} allowed; send a smaller photo or screenshot")]
    FileTooLarge {
        /// File size in bytes (at least this).
        size: u64,
        /// The limit.
        max: u64,
    },
    /// Not a PNG or JPEG (including an empty file).
    #[error("not a PNG or JPEG image{}", if *.empty { " (the file is empty)" } else { "" })]
    NotAnImage {
        /// The file had no bytes at all.
        empty: bool,
    },
    /// The header claims more pixels than [`Limits::max_pixels`].
    #[error(
        "image is {width}×{height} pixels, more than the {max} allowed; refused before decoding"
    )]
    TooManyPixels {
        /// Claimed width.
        width: u32,
        /// Claimed height.
        height: u32,
        /// The limit.
        max: u64,
    },
    /// The image data is corrupt, truncated, or needs more memory than allowed.
    #[error("image cannot be decoded: {0}")]
    Undecodable(String),
}

impl ScanError {
    /// Every code a scan can report: the errors', then [`NO_CODE`], [`NO_CODE_IN_TIME`]
    /// and [`DECODER_FAULTS`].
    pub const CODES: [&'static str; 8] = [
        "io_error",
        "image_file_too_large",
        "not_an_image",
        "image_too_many_pixels",
        "image_undecodable",
        NO_CODE,
        NO_CODE_IN_TIME,
        DECODER_FAULTS,
    ];

    /// Stable reason code for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            ScanError::Io { .. } => "io_error",
            ScanError::FileTooLarge { .. } => "image_file_too_large",
            ScanError::NotAnImage { .. } => "not_an_image",
            ScanError::TooManyPixels { .. } => "image_too_many_pixels",
            ScanError::Undecodable(_) => "image_undecodable",
        }
    }

    /// Whether the input was read and refused (exit 1) rather than unreadable (exit 2).
    pub fn is_refusal(&self) -> bool {
        !matches!(self, ScanError::Io { .. })
    }
}

/// Reason code used when an image holds no readable QR code.
pub const NO_CODE: &str = "no_qr_code";
/// Message code for an image whose scan ran out of time without a code (reason [`NO_CODE`]).
pub const NO_CODE_IN_TIME: &str = "no_qr_code_in_time";
/// Message code of the note that decoder passes failed internally.
pub const DECODER_FAULTS: &str = "decoder_faults";

/// One decoder pass of the cascade, in the order they are tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pass {
    /// ZXing's hybrid (local-threshold) binariser on the image as is: reads almost
    /// every sharp photo, screenshot, rotated or tilted code, and several codes at once.
    Hybrid,
    /// The same binarised image inverted: dark-mode wallets (light modules on dark).
    Inverted,
    /// Unsharp mask (radius 4, amount 3) first: out-of-focus photos, and thumbs over the code.
    Sharpened,
    /// Averaged 2×2 down: moiré from photographing a screen averages out.
    Downscaled,
    /// One global threshold: very low contrast, where local thresholds see only noise.
    GlobalHistogram,
    /// Light unsharp mask (radius 1): codes at under 2 pixels per module.
    SharpenedFine,
}

impl Pass {
    /// Every pass, in cascade order.
    pub const CASCADE: [Pass; 6] = [
        Pass::Hybrid,
        Pass::Inverted,
        Pass::Sharpened,
        Pass::Downscaled,
        Pass::GlobalHistogram,
        Pass::SharpenedFine,
    ];

    /// Stable name, reported as `decoder` in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Pass::Hybrid => "rxing/hybrid",
            Pass::Inverted => "rxing/inverted",
            Pass::Sharpened => "rxing/sharpened",
            Pass::Downscaled => "rxing/downscaled",
            Pass::GlobalHistogram => "rxing/global-histogram",
            Pass::SharpenedFine => "rxing/sharpened-fine",
        }
    }
}

/// One QR code found in an image.
#[derive(Clone, Debug, PartialEq)]
pub struct Code {
    /// The decoded text, exactly as encoded.
    pub text: String,
    /// The pass that read it.
    pub pass: Pass,
    /// Corner or finder-pattern points in image pixels, as the decoder reports them.
    pub position: Vec<(f32, f32)>,
}

/// What a scan found.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    /// Codes in reading order (top to bottom, then left to right); empty if none.
    pub codes: Vec<Code>,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Decoder panics that were contained (each cost one pass, not the process).
    pub decoder_faults: u32,
    /// The time budget ran out before every pass was tried.
    pub timed_out: bool,
}

/// A greyscale image.
#[derive(Clone, Debug)]
pub struct Luma {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row-major 8-bit luma, `width * height` bytes.
    pub pixels: Vec<u8>,
}

/// Reads `path` (bounded) and scans it.
pub fn scan_file(path: &Path, limits: &Limits) -> Result<Scan, ScanError> {
    let io = |source| ScanError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > limits.max_file_bytes {
        return Err(ScanError::FileTooLarge {
            size,
            max: limits.max_file_bytes,
        });
    }
    // Bounded even if the file grows while being read (or is a pipe that lies about its size).
    let mut bytes = Vec::new();
    file.take(limits.max_file_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(ScanError::FileTooLarge {
            size: bytes.len() as u64,
            max: limits.max_file_bytes,
        });
    }
    scan_bytes(&bytes, limits)
}

/// Decodes an encoded PNG or JPEG and scans it.
pub fn scan_bytes(bytes: &[u8], limits: &Limits) -> Result<Scan, ScanError> {
    let started = Instant::now();
    let luma = decode_image(bytes, limits)?;
    Ok(read_codes(&luma, started + limits.max_scan_time))
}

/// Decodes PNG or JPEG bytes to greyscale within `limits`. Transparent pixels are
/// composed over white, as a screenshot tool would show them.
pub fn decode_image(bytes: &[u8], limits: &Limits) -> Result<Luma, ScanError> {
    use image::ImageDecoder;

    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(ScanError::FileTooLarge {
            size: bytes.len() as u64,
            max: limits.max_file_bytes,
        });
    }
    let format = image::guess_format(bytes).map_err(|_| ScanError::NotAnImage {
        empty: bytes.is_empty(),
    })?;
    if !matches!(format, image::ImageFormat::Png | image::ImageFormat::Jpeg) {
        return Err(ScanError::NotAnImage { empty: false });
    }
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_alloc = Some(limits.max_decoder_alloc);
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    reader.limits(decoder_limits);
    let decoder = reader.into_decoder().map_err(undecodable)?;
    // The header alone: nothing is decompressed before this check.
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ScanError::TooManyPixels {
            width,
            height,
            max: limits.max_pixels,
        });
    }
    if width == 0 || height == 0 {
        return Err(ScanError::Undecodable("the image has no pixels".into()));
    }
    let image = image::DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    let pixels = if image.color().has_alpha() {
        image
            .into_luma_alpha8()
            .pixels()
            .map(|p| {
                let [l, a] = p.0;
                over_white(l, a)
            })
            .collect()
    } else {
        image.into_luma8().into_raw()
    };
    Ok(Luma {
        width,
        height,
        pixels,
    })
}

/// A pixel of luma `l` and opacity `a` shown over white.
pub(crate) fn over_white(l: u8, a: u8) -> u8 {
    let shown = u32::from(l) * u32::from(a) + 255 * (255 - u32::from(a));
    (shown / 255) as u8
}

fn undecodable(e: image::ImageError) -> ScanError {
    match e {
        image::ImageError::Limits(l) => ScanError::Undecodable(format!(
            "{l}; the image needs more memory than a scan may use"
        )),
        other => ScanError::Undecodable(other.to_string()),
    }
}

/// Runs the decoder cascade on a greyscale image: passes in [`Pass::CASCADE`] order
/// until one finds a code or `deadline` passes.
pub fn read_codes(luma: &Luma, deadline: Instant) -> Scan {
    let mut scan = Scan {
        width: luma.width,
        height: luma.height,
        ..Scan::default()
    };
    if luma.pixels.len() as u64 != u64::from(luma.width) * u64::from(luma.height)
        || luma.width == 0
        || luma.height == 0
    {
        return scan;
    }
    let mut binarised = None;
    for pass in Pass::CASCADE {
        if Instant::now() > deadline {
            scan.timed_out = true;
            break;
        }
        match contain(|| run_pass(pass, luma, &mut binarised, deadline)) {
            Some(results) => {
                let mut seen = HashSet::new();
                scan.codes = results
                    .into_iter()
                    .filter(|code| seen.insert(code.text.clone()))
                    .collect();
            }
            None => {
                scan.decoder_faults += 1;
                // Whatever the panicking pass left half-built is not reused.
                binarised = None;
            }
        }
        if !scan.codes.is_empty() {
            break;
        }
    }
    sort_reading_order(&mut scan.codes);
    scan
}

thread_local! {
    /// Set while a decoder pass runs, so [`silence_contained_panics`]'s hook knows a
    /// panic will be caught and reported as a decoder fault.
    static IN_DECODER: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, turning a panic into `None`.
fn contain<T>(f: impl FnOnce() -> T) -> Option<T> {
    IN_DECODER.with(|flag| flag.set(true));
    // The pass owns or only reads its inputs; nothing it touched is used after a panic.
    let result = catch_unwind(AssertUnwindSafe(f)).ok();
    IN_DECODER.with(|flag| flag.set(false));
    result
}

/// Installs a panic hook that stays silent for panics inside a decoder pass (they
/// are contained and counted in [`Scan::decoder_faults`]) and defers to the previous
/// hook for every other panic. For binaries; call once at start-up.
pub fn silence_contained_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !IN_DECODER.with(Cell::get) {
            previous(info);
        }
    }));
}

type Hybrid = BinaryBitmap<HybridBinarizer<Luma8LuminanceSource>>;

/// Runs one pass. The hybrid pass leaves its binarised image in `binarised` for the
/// inverted pass, which then costs one bit flip instead of a second binarisation.
fn run_pass(
    pass: Pass,
    luma: &Luma,
    binarised: &mut Option<Hybrid>,
    deadline: Instant,
) -> Vec<Code> {
    let (w, h) = (luma.width, luma.height);
    let decode_opt = |bitmap: Option<Hybrid>, scale| match bitmap {
        Some(mut bitmap) => decode(pass, &mut bitmap, scale, deadline),
        None => Vec::new(),
    };
    match pass {
        Pass::Hybrid | Pass::Inverted => {
            if binarised.is_none() {
                *binarised = hybrid(luma.pixels.clone(), w, h);
            }
            match binarised {
                Some(bitmap) => {
                    if pass == Pass::Inverted {
                        bitmap.invert();
                    }
                    decode(pass, bitmap, 1.0, deadline)
                }
                None => Vec::new(),
            }
        }
        Pass::Sharpened => decode_opt(hybrid(sharpen(luma, 4, 3.0), w, h), 1.0),
        Pass::Downscaled => decode_opt(
            downscale_2x(luma).and_then(|s| hybrid(s.pixels, s.width, s.height)),
            2.0,
        ),
        Pass::GlobalHistogram => match Luma8LuminanceSource::new(luma.pixels.clone(), w, h) {
            Ok(source) => decode(
                pass,
                &mut BinaryBitmap::new(GlobalHistogramBinarizer::new(source)),
                1.0,
                deadline,
            ),
            Err(_) => Vec::new(),
        },
        Pass::SharpenedFine => decode_opt(hybrid(sharpen(luma, 1, 1.0), w, h), 1.0),
    }
}

fn hybrid(pixels: Vec<u8>, width: u32, height: u32) -> Option<Hybrid> {
    Luma8LuminanceSource::new(pixels, width, height)
        .ok()
        .map(|source| BinaryBitmap::new(HybridBinarizer::new(source)))
}

/// Decodes every QR code in `bitmap`; `scale` maps its coordinates back to the image's.
///
/// This is rxing's multi-symbol QR loop (`QrReader::decode_multiple`) with two
/// bounds added. Its finder-pattern search is linear in the pixels, but it then
/// samples and error-corrects every plausible triple of patterns: an image tiled
/// with finder patterns (2,500 of them in a 2000×2000 image) took 74 s in one pass.
/// So only the [`MAX_FINDER_PATTERNS`] largest patterns and the
/// [`MAX_PATTERN_SETS`] most plausible triples are tried, and never past `deadline`.
fn decode<B: Binarizer>(
    pass: Pass,
    bitmap: &mut BinaryBitmap<B>,
    scale: f32,
    deadline: Instant,
) -> Vec<Code> {
    let matrix = bitmap.get_black_matrix();
    let mut patterns = find_finder_patterns(matrix, deadline);
    let sets = GenerateFinderPatternSets(&mut patterns);
    let mut used = Vec::new();
    let mut codes = Vec::new();
    for set in sets.iter().take(MAX_PATTERN_SETS) {
        if Instant::now() > deadline {
            break;
        }
        if used.contains(&set.bl) || used.contains(&set.tl) || used.contains(&set.tr) {
            continue;
        }
        let Ok(detected) = SampleQR(matrix, set) else {
            continue;
        };
        let Ok(decoded) = Decode(detected.getBits()) else {
            continue;
        };
        if !decoded.isValid() {
            continue;
        }
        used.extend([set.bl, set.tl, set.tr]);
        codes.push(Code {
            text: decoded.text(),
            pass,
            position: detected
                .getPoints()
                .iter()
                .map(|p| (p.x * scale, p.y * scale))
                .collect(),
        });
    }
    codes
}

/// The 1:1:3:1:1 ratio of a finder pattern's black and white runs.
const FINDER: FixedPattern<5, 7, false> = FixedPattern::new([1, 1, 3, 1, 1]);

/// rxing's `FindFinderPatterns` (try-harder: every third row), with the two
/// bounds it lacks: it stops at [`MAX_FINDER_PATTERNS`] and at `deadline`.
/// Without them, each candidate is compared with every pattern found so far, so an
/// image tiled with small finder patterns runs for minutes.
fn find_finder_patterns(image: &BitMatrix, deadline: Instant) -> Vec<ConcentricPattern> {
    const ROW_STEP: u32 = 3;
    let mut found: Vec<ConcentricPattern> = Vec::new();
    let mut row = PatternRow::default();
    let mut y = ROW_STEP - 1;
    while y < image.height() && found.len() < MAX_FINDER_PATTERNS && Instant::now() <= deadline {
        GetPatternRowTP(image, y, &mut row, false);
        let mut next = PatternView::new(&row);
        while let Ok(candidate) = FindLeftGuardBy::<5, _>(next, 5, |view: &PatternView, space| {
            // The quick plausibility test rxing applies before the exact ratio check.
            let run = |i: usize| view[i];
            run(2) >= 3
                && run(2) >= 2 * run(0).max(run(4))
                && run(2) >= run(1).max(run(3))
                && IsPattern::<true, 5, 7, false>(view, &FINDER, space, 0.1, 0.0, 0.0) != 0.0
        }) {
            next = candidate;
            if !next.isValid() {
                break;
            }
            let centre = point(
                f32::from(next.pixelsInFront())
                    + f32::from(next[0usize])
                    + f32::from(next[1usize])
                    + f32::from(next[2usize]) / 2.0,
                y as f32 + 0.5,
            );
            let inside_known = found
                .iter()
                .any(|old| rxing::Point::distance(centre, old.p) < old.size as f32 / 2.0);
            if !inside_known {
                let width: u32 = next.iter().map(u32::from).sum();
                let range = i32::try_from(width.saturating_mul(3)).unwrap_or(i32::MAX);
                if let Some(pattern) =
                    LocateConcentricPattern::<true, 5, 7>(image, &FINDER.into(), centre, range)
                {
                    found.push(pattern);
                    if found.len() >= MAX_FINDER_PATTERNS {
                        break;
                    }
                }
            }
            next.skipPair();
            next.skipPair();
            next.extend();
        }
        y += ROW_STEP;
    }
    found
}

/// Unsharp mask: `v + amount × (v − box_mean(v, radius))`, with separable running sums.
fn sharpen(luma: &Luma, radius: usize, amount: f32) -> Vec<u8> {
    let (w, h) = (luma.width as usize, luma.height as usize);
    let src = &luma.pixels;
    // Horizontal box sums, then vertical sums of those: O(1) per pixel whatever the radius.
    let mut rows = vec![0u32; w * h];
    for (src_row, row) in src.chunks_exact(w).zip(rows.chunks_exact_mut(w)) {
        let mut acc: u32 = src_row.iter().take(radius + 1).map(|v| u32::from(*v)).sum();
        for (x, out) in row.iter_mut().enumerate() {
            *out = acc;
            if let Some(v) = src_row.get(x + radius + 1) {
                acc += u32::from(*v);
            }
            if x >= radius {
                if let Some(v) = src_row.get(x - radius) {
                    acc -= u32::from(*v);
                }
            }
        }
    }
    let mut out = vec![0u8; w * h];
    let mut column = vec![0u32; w];
    for y in 0..(radius + 1).min(h) {
        for (c, r) in column.iter_mut().zip(&rows[y * w..(y + 1) * w]) {
            *c += r;
        }
    }
    for y in 0..h {
        let y0 = y.saturating_sub(radius);
        let y1 = (y + radius + 1).min(h);
        let x_count = |x: usize| ((x + radius + 1).min(w) - x.saturating_sub(radius)) as f32;
        let rows_in = (y1 - y0) as f32;
        let line = &src[y * w..(y + 1) * w];
        for (x, ((o, v), sum)) in out[y * w..(y + 1) * w]
            .iter_mut()
            .zip(line)
            .zip(&column)
            .enumerate()
        {
            let mean = *sum as f32 / (x_count(x) * rows_in);
            let v = f32::from(*v);
            *o = (v + amount * (v - mean)).clamp(0.0, 255.0) as u8;
        }
        if let Some(next) = rows.get((y + radius + 1) * w..(y + radius + 2) * w) {
            for (c, r) in column.iter_mut().zip(next) {
                *c += r;
            }
        }
        if y >= radius {
            if let Some(old) = rows.get((y - radius) * w..(y - radius + 1) * w) {
                for (c, r) in column.iter_mut().zip(old) {
                    *c -= r;
                }
            }
        }
    }
    out
}

/// Halves the image with a 4×4 tent filter (weights 1 3 3 1 each way), which
/// averages a screen's pixel grid away better than 2×2 blocks (two more moiré photos
/// of 20 read). `None` if the result would be too small to hold a QR code.
fn downscale_2x(luma: &Luma) -> Option<Luma> {
    const WEIGHTS: [u32; 4] = [1, 3, 3, 1];
    let (sw, sh) = (luma.width as usize, luma.height as usize);
    let (w, h) = (sw / 2, sh / 2);
    if w < 21 || h < 21 || luma.pixels.len() != sw * sh {
        return None;
    }
    // Source index of tap `k` for output coordinate `o`, clamped at the borders.
    let tap = |o: usize, k: usize, max: usize| (2 * o + k).saturating_sub(1).min(max - 1);
    let mut horizontal = vec![0u32; w * sh];
    for (src_row, out_row) in luma
        .pixels
        .chunks_exact(sw)
        .zip(horizontal.chunks_exact_mut(w))
    {
        for (x, out) in out_row.iter_mut().enumerate() {
            *out = WEIGHTS
                .iter()
                .enumerate()
                .map(|(k, weight)| {
                    weight * u32::from(src_row.get(tap(x, k, sw)).copied().unwrap_or(0))
                })
                .sum();
        }
    }
    let mut pixels = vec![0u8; w * h];
    for (y, out_row) in pixels.chunks_exact_mut(w).enumerate() {
        for (x, out) in out_row.iter_mut().enumerate() {
            let sum: u32 = WEIGHTS
                .iter()
                .enumerate()
                .map(|(k, weight)| {
                    weight * horizontal.get(tap(y, k, sh) * w + x).copied().unwrap_or(0)
                })
                .sum();
            *out = ((sum + 32) / 64) as u8;
        }
    }
    Some(Luma {
        width: w as u32,
        height: h as u32,
        pixels,
    })
}

/// Reading order: rows top to bottom, each row left to right. A code joins the
/// current row if its centre lies within the vertical extent of the row's first
/// code, so two phones side by side come out left first even if one is held higher.
fn sort_reading_order(codes: &mut Vec<Code>) {
    struct Placed {
        bottom: f32,
        centre: (f32, f32),
        code: Code,
    }
    let mut placed: Vec<Placed> = codes
        .drain(..)
        .map(|code| {
            let n = code.position.len().max(1) as f32;
            let (sx, sy) = code
                .position
                .iter()
                .fold((0.0, 0.0), |(x, y), p| (x + p.0, y + p.1));
            Placed {
                bottom: code.position.iter().map(|p| p.1).fold(f32::MIN, f32::max),
                centre: (sx / n, sy / n),
                code,
            }
        })
        .collect();
    placed.sort_by(|a, b| a.centre.1.total_cmp(&b.centre.1));
    let mut rows: Vec<Vec<Placed>> = Vec::new();
    for item in placed {
        match rows.last_mut() {
            Some(row)
                if row
                    .first()
                    .is_some_and(|first| item.centre.1 <= first.bottom) =>
            {
                row.push(item)
            }
            _ => rows.push(vec![item]),
        }
    }
    for mut row in rows {
        row.sort_by(|a, b| a.centre.0.total_cmp(&b.centre.0));
        codes.extend(row.into_iter().map(|p| p.code));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn luma(width: u32, height: u32, f: impl Fn(u32, u32) -> u8) -> Luma {
        let pixels = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .map(|(x, y)| f(x, y))
            .collect();
        Luma {
            width,
            height,
            pixels,
        }
    }

    #[test]
    fn sharpen_keeps_flat_areas_and_steepens_edges() {
        let step = luma(40, 30, |x, _| if x < 20 { 50 } else { 200 });
        let out = sharpen(&step, 4, 3.0);
        assert_eq!(out[5 * 40 + 2], 50, "flat area unchanged");
        assert_eq!(out[5 * 40 + 37], 200, "flat area unchanged");
        assert!(
            out[5 * 40 + 19] < 50 && out[5 * 40 + 20] > 200,
            "edge overshoots"
        );
        assert_eq!(out.len(), 40 * 30);
    }

    #[test]
    fn downscale_averages_blocks() {
        let checker = luma(64, 42, |x, y| if (x + y) % 2 == 0 { 0 } else { 255 });
        let small = downscale_2x(&checker).unwrap();
        assert_eq!((small.width, small.height), (32, 21));
        // Interior pixels see a balanced 4×4 window; borders are clamped.
        assert!(small.pixels[5 * 32 + 5].abs_diff(128) <= 1);
        let flat = downscale_2x(&luma(50, 50, |_, _| 77)).unwrap();
        assert!(flat.pixels.iter().all(|v| *v == 77));
        assert!(downscale_2x(&luma(40, 40, |_, _| 0)).is_none());
    }

    #[test]
    fn degenerate_images_find_nothing_and_do_not_panic() {
        for (w, h) in [
            (1, 1),
            (1, 500),
            (500, 1),
            (3, 3),
            (64, 64),
            (200_000, 2),
            (2, 200_000),
        ] {
            let scan = read_codes(
                &luma(w, h, |x, y| ((x * 7 + y * 13) % 256) as u8),
                Instant::now() + Duration::from_secs(3),
            );
            assert!(scan.codes.is_empty());
        }
        let lying = Luma {
            width: 100,
            height: 100,
            pixels: vec![0; 10],
        };
        assert!(read_codes(&lying, Instant::now()).codes.is_empty());
    }

    #[test]
    fn codes_come_in_reading_order() {
        let code = |x: f32, y: f32, text: &str| Code {
            text: text.into(),
            pass: Pass::Hybrid,
            position: vec![
                (x, y),
                (x + 100.0, y),
                (x, y + 100.0),
                (x + 100.0, y + 100.0),
            ],
        };
        let mut codes = vec![
            code(300.0, 500.0, "second row"),
            code(600.0, 0.0, "right, held higher"),
            code(0.0, 40.0, "left"),
        ];
        sort_reading_order(&mut codes);
        let texts: Vec<&str> = codes.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["left", "right, held higher", "second row"]);
    }

    #[test]
    fn contained_panics_become_none() {
        silence_contained_panics();
        assert_eq!(contain(|| 7), Some(7));
        assert_eq!(contain(|| -> u8 { panic!("decoder bug") }), None);
        assert!(!IN_DECODER.with(Cell::get));
    }

    #[test]
    fn errors_have_stable_codes() {
        let limits = Limits::default();
        let err = decode_image(b"", &limits).unwrap_err();
        assert_eq!(err.code(), "not_an_image");
        assert!(err.to_string().contains("empty"));
        let err = decode_image(b"GIF89a......", &limits).unwrap_err();
        assert_eq!(err.code(), "not_an_image");
        assert!(err.is_refusal());
    }
}
