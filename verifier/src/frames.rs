//! Frame sources for the animated code (spec §17.5): still images, an animated
//! GIF, an APNG or a raw Y4M video, decoded into one bounded sequence of
//! greyscale frames ([`Luma`]) that [`crate::collect::FrameCollector`] reads.
//!
//! Why a module of its own: a video is hostile input with more ways to cost
//! memory and time than a photo. A GIF or APNG can hold thousands of frames of a
//! large canvas in a small file, and a Y4M header can claim any size. So the
//! sequence is bounded as a whole ([`FrameLimits`]: frames, pixels per frame,
//! bytes read, wall-clock time), each frame's size is checked from its header
//! before it is decoded, and every refusal is a typed [`FrameError`] with a
//! stable code.
//!
//! The format is told by content, never by the file name: `\x89PNG` (an APNG if
//! it has an animation control chunk), JPEG's `FF D8 FF`, `GIF87a`/`GIF89a`,
//! `YUV4MPEG2 `. Frames are decoded lazily, so a reader that has what it needs
//! stops and the rest of the file is never decoded (a Y4M video is streamed,
//! never held whole).
//!
//! Y4M (YUV4MPEG2) is parsed here, strictly: the header line must give `W`, `H`
//! and `F`, may give `I`, `A`, `X` and a `C` of `420jpeg`, `420paldv`,
//! `420mpeg2`, `420` or `mono` (8-bit only), and nothing else; each frame is a
//! `FRAME` line followed by exactly one frame of planes. Only the Y plane is
//! kept: it is the luma the QR reader needs.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use image::AnimationDecoder;

use crate::scan::{self, Luma, ScanError};

/// Bounds on what a whole frame sequence may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameLimits {
    /// Frames decoded, over every input.
    pub max_frames: usize,
    /// Pixels of one frame (width × height), checked from the header.
    pub max_pixels: u64,
    /// Bytes read, over every input (file bytes, not decoded pixels).
    pub max_total_bytes: u64,
    /// Largest still image, GIF or APNG file (read whole; a Y4M is streamed).
    pub max_file_bytes: u64,
    /// Wall-clock time from the first frame after which no further frame is decoded.
    pub max_time: Duration,
}

impl Default for FrameLimits {
    /// 2,000 frames (over 4 minutes at 8 fps; the portrait collector gives up
    /// after 256 frames of its loop anyway), 8.3 megapixels (a 4K frame), 1 GiB
    /// read (about 330 frames of raw 1080p video), 50 MiB per image file (as
    /// [`scan::Limits`]), 120 s.
    fn default() -> FrameLimits {
        FrameLimits {
            max_frames: 2_000,
            max_pixels: 3_840 * 2_160,
            max_total_bytes: 1 << 30,
            max_file_bytes: scan::Limits::default().max_file_bytes,
            max_time: Duration::from_secs(120),
        }
    }
}

/// What kind of source a file is, told by its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// One PNG or JPEG image.
    Still,
    /// An animated GIF.
    Gif,
    /// An animated PNG.
    Apng,
    /// A raw YUV4MPEG2 video.
    Y4m,
}

impl SourceKind {
    /// Stable name, reported as `source` in JSON.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Still => "image",
            SourceKind::Gif => "gif",
            SourceKind::Apng => "apng",
            SourceKind::Y4m => "y4m",
        }
    }
}

/// One decoded frame.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Position in the whole sequence, from 0.
    pub index: usize,
    /// Which input (position in the list given to [`FrameReader::new`]).
    pub input: usize,
    /// Position within its input, from 0.
    pub index_in_input: usize,
    /// When the frame is shown, in milliseconds from the start of its input, if
    /// the source says (GIF and APNG delays, the Y4M frame rate).
    pub at_ms: Option<u64>,
    /// The frame in greyscale (transparency composed over white).
    pub luma: Luma,
}

/// Why a frame source was refused. Each has a stable code ([`FrameError::code`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A still image was refused (its own code: `not_an_image`, `image_too_many_pixels`, ...).
    #[error(transparent)]
    Image(ScanError),
    /// A frame (or a GIF's canvas) is larger than [`FrameLimits::max_pixels`].
    #[error(
        "frames are {width}×{height} pixels, more than the {max} allowed; refused before decoding"
    )]
    TooManyPixels {
        /// Claimed width.
        width: u64,
        /// Claimed height.
        height: u64,
        /// The limit.
        max: u64,
    },
    /// An animation's data is corrupt or needs more memory than allowed.
    #[error("animation cannot be decoded: {0}")]
    Undecodable(String),
    /// The Y4M header breaks the format's rules.
    #[error("bad Y4M header: {0}")]
    Y4mHeader(&'static str),
    /// The Y4M colour space is not 8-bit 4:2:0 or mono.
    #[error(
        "Y4M colour space {0} is not supported (only C420jpeg, C420paldv, C420mpeg2, C420, Cmono)"
    )]
    Y4mColourSpace(String),
    /// A Y4M frame is cut short or its `FRAME` line is wrong.
    #[error("Y4M frame {frame} is truncated or malformed")]
    Y4mTruncated {
        /// Index of the frame within the file.
        frame: usize,
    },
    /// The source holds no frame at all.
    #[error("the file holds no frame")]
    NoFrames,
    /// More than [`FrameLimits::max_frames`] frames.
    #[error("more than {max} frames; stopped")]
    TooManyFrames {
        /// The limit.
        max: usize,
    },
    /// More than [`FrameLimits::max_total_bytes`] read.
    #[error("more than {max} bytes of frames; stopped")]
    TooManyBytes {
        /// The limit.
        max: u64,
    },
    /// [`FrameLimits::max_time`] passed.
    #[error("frames took more than {seconds} s to decode; stopped")]
    OutOfTime {
        /// The limit in seconds.
        seconds: u64,
    },
}

impl FrameError {
    /// Every code of a frame error that is not a [`ScanError`]'s.
    pub const CODES: [&'static str; 8] = [
        "frames_too_many_pixels",
        "animation_undecodable",
        "y4m_bad_header",
        "y4m_unsupported_colour_space",
        "y4m_truncated_frame",
        "no_frames",
        "too_many_frames",
        "frames_too_many_bytes",
    ];

    /// Code of [`FrameError::OutOfTime`] (apart: its message names a limit).
    pub const OUT_OF_TIME: &'static str = "frames_out_of_time";

    /// Stable reason code for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            FrameError::Image(e) => e.code(),
            FrameError::TooManyPixels { .. } => "frames_too_many_pixels",
            FrameError::Undecodable(_) => "animation_undecodable",
            FrameError::Y4mHeader(_) => "y4m_bad_header",
            FrameError::Y4mColourSpace(_) => "y4m_unsupported_colour_space",
            FrameError::Y4mTruncated { .. } => "y4m_truncated_frame",
            FrameError::NoFrames => "no_frames",
            FrameError::TooManyFrames { .. } => "too_many_frames",
            FrameError::TooManyBytes { .. } => "frames_too_many_bytes",
            FrameError::OutOfTime { .. } => FrameError::OUT_OF_TIME,
        }
    }

    /// Whether the input was read and refused (exit 1) rather than unreadable (exit 2).
    pub fn is_refusal(&self) -> bool {
        match self {
            FrameError::Image(e) => e.is_refusal(),
            _ => true,
        }
    }

    /// Whether the whole sequence stops here (a bound), rather than only this input.
    pub fn ends_sequence(&self) -> bool {
        matches!(
            self,
            FrameError::TooManyFrames { .. }
                | FrameError::TooManyBytes { .. }
                | FrameError::OutOfTime { .. }
        )
    }
}

/// A failure while reading the frames, with the input it concerns.
#[derive(Debug)]
pub struct InputError {
    /// Which input (position in the list).
    pub input: usize,
    /// What went wrong.
    pub error: FrameError,
}

/// Tells a source's kind from its first bytes (`None`: not a frame source).
/// A PNG is reported as [`SourceKind::Still`]; whether it is animated needs its chunks.
pub fn sniff(head: &[u8]) -> Option<SourceKind> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") || head.starts_with(&[0xff, 0xd8, 0xff]) {
        Some(SourceKind::Still)
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some(SourceKind::Gif)
    } else if head.starts_with(Y4M_MAGIC) {
        Some(SourceKind::Y4m)
    } else {
        None
    }
}

/// The kind of the file at `path`, from its first 64 KiB (`None`: unreadable or
/// not a frame source; reading it for frames then says why). An APNG's animation
/// chunk comes before its image data, so a PNG whose `acTL` lies further is
/// reported as a still image.
pub fn probe(path: &Path) -> Option<SourceKind> {
    let mut head = Vec::new();
    File::open(path)
        .ok()?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .ok()?;
    match sniff(&head)? {
        SourceKind::Still if is_apng(&head) => Some(SourceKind::Apng),
        kind => Some(kind),
    }
}

/// The frames of several inputs, in order, as one bounded sequence.
///
/// An input that cannot be read or decoded yields one [`InputError`] and the
/// sequence goes on with the next input; a bound of [`FrameLimits`] yields its
/// error and ends the sequence.
pub struct FrameReader {
    inputs: Vec<PathBuf>,
    limits: FrameLimits,
    next_input: usize,
    current: Option<(usize, Source)>,
    frames: usize,
    bytes: u64,
    started: Option<Instant>,
    finished: bool,
}

enum Source {
    Still(Option<Luma>),
    Gif(Box<GifFrames>),
    Apng(Box<ApngFrames>),
    Y4m(Box<Y4mFrames<BufReader<File>>>),
}

impl FrameReader {
    /// A reader over `inputs` (files), in order.
    pub fn new(inputs: &[PathBuf], limits: FrameLimits) -> FrameReader {
        FrameReader {
            inputs: inputs.to_vec(),
            limits,
            next_input: 0,
            current: None,
            frames: 0,
            bytes: 0,
            started: None,
            finished: false,
        }
    }

    /// Bytes read so far, over every input.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Frames decoded so far.
    pub fn frames_read(&self) -> usize {
        self.frames
    }

    fn remaining_bytes(&self) -> u64 {
        self.limits.max_total_bytes.saturating_sub(self.bytes)
    }

    fn open(&mut self, path: &Path) -> Result<(SourceKind, Source), FrameError> {
        let io = |source| {
            FrameError::Image(ScanError::Io {
                path: path.to_owned(),
                source,
            })
        };
        let file = File::open(path).map_err(io)?;
        let metadata = file.metadata().map_err(io)?;
        if metadata.is_dir() {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "is a directory",
            )));
        }
        let mut reader = BufReader::new(file);
        let head = reader.fill_buf().map_err(io)?.to_vec();
        let kind = sniff(&head).ok_or(FrameError::Image(ScanError::NotAnImage {
            empty: head.is_empty(),
        }))?;
        if kind == SourceKind::Y4m {
            let frames = Y4mFrames::new(reader, self.limits.max_pixels)?;
            self.bytes += frames.consumed;
            return Ok((kind, Source::Y4m(Box::new(frames))));
        }
        let max = self.limits.max_file_bytes.min(self.remaining_bytes());
        let mut bytes = Vec::new();
        reader
            .take(max.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io)?;
        self.bytes += bytes.len() as u64;
        if bytes.len() as u64 > max {
            return Err(if max < self.limits.max_file_bytes {
                FrameError::TooManyBytes {
                    max: self.limits.max_total_bytes,
                }
            } else {
                FrameError::Image(ScanError::FileTooLarge {
                    size: metadata.len().max(bytes.len() as u64),
                    max,
                })
            });
        }
        match kind {
            SourceKind::Gif => Ok((
                kind,
                Source::Gif(Box::new(GifFrames::new(bytes, self.limits.max_pixels)?)),
            )),
            _ if is_apng(&bytes) => Ok((
                SourceKind::Apng,
                Source::Apng(Box::new(ApngFrames::new(bytes, self.limits.max_pixels)?)),
            )),
            _ => {
                let image_limits = scan::Limits {
                    max_file_bytes: self.limits.max_file_bytes,
                    max_pixels: self.limits.max_pixels,
                    ..scan::Limits::default()
                };
                let luma = scan::decode_image(&bytes, &image_limits).map_err(FrameError::Image)?;
                Ok((kind, Source::Still(Some(luma))))
            }
        }
    }

    fn next_frame(&mut self) -> Option<Result<Frame, InputError>> {
        let started = *self.started.get_or_insert_with(Instant::now);
        loop {
            let remaining = self.remaining_bytes();
            let (frames, limits) = (self.frames, self.limits);
            let Some((input, source)) = self.current.as_mut() else {
                let input = self.next_input;
                let path = self.inputs.get(input)?.clone();
                self.next_input += 1;
                match self.open(&path) {
                    Ok((_, source)) => self.current = Some((input, source)),
                    Err(error) => return Some(Err(InputError { input, error })),
                }
                continue;
            };
            let input = *input;
            let bound = |error| Some(Err(InputError { input, error }));
            if started.elapsed() > limits.max_time {
                self.finished = true;
                return bound(FrameError::OutOfTime {
                    seconds: limits.max_time.as_secs(),
                });
            }
            if frames >= limits.max_frames {
                self.finished = true;
                return bound(FrameError::TooManyFrames {
                    max: limits.max_frames,
                });
            }
            let next = match source {
                Source::Still(luma) => Ok(luma.take().map(|luma| (0, None, luma))),
                Source::Gif(gif) => gif.next_frame(),
                Source::Apng(apng) => apng.next_frame(),
                Source::Y4m(y4m) => y4m.next_frame(remaining).map(|frame| {
                    frame.map(|(index, luma, bytes)| {
                        self.bytes += bytes;
                        (index, y4m.at_ms(index), luma)
                    })
                }),
            };
            match next {
                Ok(Some((index_in_input, at_ms, luma))) => {
                    let index = self.frames;
                    self.frames += 1;
                    return Some(Ok(Frame {
                        index,
                        input,
                        index_in_input,
                        at_ms,
                        luma,
                    }));
                }
                Ok(None) => self.current = None,
                Err(error) => {
                    self.current = None;
                    let error = match error {
                        FrameError::TooManyBytes { .. } => FrameError::TooManyBytes {
                            max: self.limits.max_total_bytes,
                        },
                        other => other,
                    };
                    if error.ends_sequence() {
                        self.finished = true;
                    }
                    return bound(error);
                }
            }
        }
    }
}

impl Iterator for FrameReader {
    type Item = Result<Frame, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let next = self.next_frame();
        if next.is_none() {
            self.finished = true;
        }
        next
    }
}

/// Whether PNG bytes hold an animation control chunk (`acTL`) before the image data.
fn is_apng(bytes: &[u8]) -> bool {
    let mut at = 8;
    // Chunks: length (4, big-endian), type (4), data, CRC (4).
    while let (Some(len), Some(kind)) = (bytes.get(at..at + 4), bytes.get(at + 4..at + 8)) {
        if kind == b"acTL" {
            return true;
        }
        if kind == b"IDAT" || kind == b"IEND" {
            return false;
        }
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        at = match at.checked_add(12).and_then(|a| a.checked_add(len)) {
            Some(next) => next,
            None => return false,
        };
    }
    false
}

/// A frame as a source gives it: index in the source, display time, pixels.
type SourceFrame = (usize, Option<u64>, Luma);

fn check_pixels(width: u64, height: u64, max: u64) -> Result<(), FrameError> {
    if width.saturating_mul(height) > max {
        return Err(FrameError::TooManyPixels { width, height, max });
    }
    if width == 0 || height == 0 {
        return Err(FrameError::Undecodable("the frames have no pixels".into()));
    }
    Ok(())
}

/// An animated GIF, composed frame by frame onto its canvas as a viewer shows it.
struct GifFrames {
    decoder: gif::Decoder<Cursor<Vec<u8>>>,
    width: usize,
    height: usize,
    /// RGBA canvas; transparent shows as white.
    canvas: Vec<u8>,
    /// What the last frame asks for before the next one is drawn.
    dispose: Option<(gif::DisposalMethod, [usize; 4], Option<Vec<u8>>)>,
    index: usize,
    at_ms: u64,
}

impl GifFrames {
    fn new(bytes: Vec<u8>, max_pixels: u64) -> Result<GifFrames, FrameError> {
        let mut options = gif::DecodeOptions::new();
        options.set_color_output(gif::ColorOutput::RGBA);
        // Per frame: a frame is at most the canvas, which is checked below; this
        // fences a frame rectangle larger than its canvas.
        let per_frame = std::num::NonZeroU64::new(max_pixels.saturating_mul(4).max(1))
            .map_or(gif::MemoryLimit::Unlimited, gif::MemoryLimit::Bytes);
        options.set_memory_limit(per_frame);
        let decoder = options
            .read_info(Cursor::new(bytes))
            .map_err(|e| FrameError::Undecodable(e.to_string()))?;
        let (width, height) = (usize::from(decoder.width()), usize::from(decoder.height()));
        check_pixels(width as u64, height as u64, max_pixels)?;
        Ok(GifFrames {
            decoder,
            width,
            height,
            canvas: vec![0; width * height * 4],
            dispose: None,
            index: 0,
            at_ms: 0,
        })
    }

    fn next_frame(&mut self) -> Result<Option<SourceFrame>, FrameError> {
        if let Some((method, [left, top, w, h], previous)) = self.dispose.take() {
            match (method, previous) {
                (gif::DisposalMethod::Background, _) => {
                    self.for_each_pixel(left, top, w, h, |canvas, at, _| canvas[at..at + 4].fill(0))
                }
                (gif::DisposalMethod::Previous, Some(previous)) => self.canvas = previous,
                _ => {}
            }
        }
        let frame = match self.decoder.read_next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) if self.index == 0 => return Err(FrameError::NoFrames),
            Ok(None) => return Ok(None),
            Err(e) => return Err(FrameError::Undecodable(e.to_string())),
        };
        let (left, top) = (usize::from(frame.left), usize::from(frame.top));
        let (w, h) = (usize::from(frame.width), usize::from(frame.height));
        let delay_ms = u64::from(frame.delay) * 10;
        let method = frame.dispose;
        let buffer = frame.buffer.to_vec();
        let previous = (method == gif::DisposalMethod::Previous).then(|| self.canvas.clone());
        self.for_each_pixel(left, top, w, h, |canvas, at, from| {
            if let (Some(src), Some(dst)) = (buffer.get(from..from + 4), canvas.get_mut(at..at + 4))
            {
                // A transparent pixel of a frame shows what is beneath it.
                if src[3] != 0 {
                    dst.copy_from_slice(src);
                }
            }
        });
        self.dispose = Some((method, [left, top, w, h], previous));
        let index = self.index;
        let at_ms = self.at_ms;
        self.index += 1;
        self.at_ms += delay_ms;
        let luma = rgba_over_white(&self.canvas, self.width as u32, self.height as u32);
        Ok(Some((index, Some(at_ms), luma)))
    }

    /// Calls `f(canvas, canvas_offset, frame_offset)` for each pixel of the frame
    /// rectangle that lies on the canvas (a rectangle may stick out: clipped).
    fn for_each_pixel(
        &mut self,
        left: usize,
        top: usize,
        w: usize,
        h: usize,
        mut f: impl FnMut(&mut Vec<u8>, usize, usize),
    ) {
        for y in 0..h {
            let cy = top + y;
            if cy >= self.height {
                break;
            }
            for x in 0..w {
                let cx = left + x;
                if cx >= self.width {
                    break;
                }
                f(
                    &mut self.canvas,
                    (cy * self.width + cx) * 4,
                    (y * w + x) * 4,
                );
            }
        }
    }
}

fn rgba_over_white(rgba: &[u8], width: u32, height: u32) -> Luma {
    let pixels = rgba
        .chunks_exact(4)
        .map(|p| {
            // ITU-R BT.601 luma, as `image`'s into_luma8 computes it.
            let l =
                (u32::from(p[0]) * 2126 + u32::from(p[1]) * 7152 + u32::from(p[2]) * 722) / 10_000;
            scan::over_white(l as u8, p[3])
        })
        .collect();
    Luma {
        width,
        height,
        pixels,
    }
}

/// An APNG, composed by the `image` crate's decoder.
struct ApngFrames {
    frames: image::Frames<'static>,
    index: usize,
    at_ms: u64,
}

impl ApngFrames {
    fn new(bytes: Vec<u8>, max_pixels: u64) -> Result<ApngFrames, FrameError> {
        use image::ImageDecoder;

        let undecodable = |e: image::ImageError| FrameError::Undecodable(e.to_string());
        let mut limits = image::Limits::default();
        limits.max_alloc = Some(max_pixels.saturating_mul(4 * 3));
        let decoder = image::codecs::png::PngDecoder::with_limits(Cursor::new(bytes), limits)
            .map_err(undecodable)?;
        let (width, height) = decoder.dimensions();
        check_pixels(u64::from(width), u64::from(height), max_pixels)?;
        let frames = decoder.apng().map_err(undecodable)?.into_frames();
        Ok(ApngFrames {
            frames,
            index: 0,
            at_ms: 0,
        })
    }

    fn next_frame(&mut self) -> Result<Option<SourceFrame>, FrameError> {
        let frame = match self.frames.next() {
            Some(Ok(frame)) => frame,
            Some(Err(e)) => return Err(FrameError::Undecodable(e.to_string())),
            None if self.index == 0 => return Err(FrameError::NoFrames),
            None => return Ok(None),
        };
        let (numerator, denominator) = frame.delay().numer_denom_ms();
        let delay_ms = u64::from(numerator) / u64::from(denominator.max(1));
        let buffer = frame.into_buffer();
        let luma = rgba_over_white(buffer.as_raw(), buffer.width(), buffer.height());
        let index = self.index;
        let at_ms = self.at_ms;
        self.index += 1;
        self.at_ms = self.at_ms.saturating_add(delay_ms);
        Ok(Some((index, Some(at_ms), luma)))
    }
}

const Y4M_MAGIC: &[u8] = b"YUV4MPEG2 ";
/// Longest header or `FRAME` line accepted (real ones are under 100 bytes).
const Y4M_MAX_LINE: usize = 1024;

/// The parsed Y4M stream header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Y4mHeader {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frame rate numerator (frames per `rate_den` seconds).
    pub rate_num: u32,
    /// Frame rate denominator.
    pub rate_den: u32,
    /// Whether the frames carry chroma planes (4:2:0) or only luma (mono).
    pub chroma: bool,
}

impl Y4mHeader {
    /// Parses the header line (without its `\n`), refusing anything outside
    /// 8-bit 4:2:0 or mono and frames over `max_pixels`.
    pub fn parse(line: &[u8], max_pixels: u64) -> Result<Y4mHeader, FrameError> {
        let bad = FrameError::Y4mHeader;
        let rest = line
            .strip_prefix(Y4M_MAGIC)
            .ok_or(bad("no YUV4MPEG2 signature"))?;
        let text = std::str::from_utf8(rest).map_err(|_| bad("not ASCII"))?;
        let (mut width, mut height, mut rate, mut chroma) = (None, None, None, None);
        for token in text.split(' ') {
            let mut chars = token.chars();
            let tag = chars.next().ok_or(bad("empty parameter (two spaces)"))?;
            let value = chars.as_str();
            match tag {
                'W' => {
                    once(&width)?;
                    width = Some(dimension(value)?);
                }
                'H' => {
                    once(&height)?;
                    height = Some(dimension(value)?);
                }
                'F' => {
                    once(&rate)?;
                    let (num, den) = ratio(value).ok_or(bad("frame rate is not N:D"))?;
                    if num == 0 || den == 0 {
                        return Err(bad("frame rate is zero"));
                    }
                    rate = Some((num, den));
                }
                'C' => {
                    once(&chroma)?;
                    chroma = Some(match value {
                        "420jpeg" | "420paldv" | "420mpeg2" | "420" => true,
                        "mono" => false,
                        other => {
                            return Err(FrameError::Y4mColourSpace(
                                other.chars().take(32).collect(),
                            ))
                        }
                    });
                }
                'I' => {
                    if !matches!(value, "p" | "?") {
                        return Err(bad("interlaced video is not supported"));
                    }
                }
                'A' => {
                    ratio(value).ok_or(bad("aspect ratio is not N:D"))?;
                }
                'X' => {}
                _ => return Err(bad("unknown parameter")),
            }
        }
        let width = width.ok_or(bad("no width (W)"))?;
        let height = height.ok_or(bad("no height (H)"))?;
        let (rate_num, rate_den) = rate.ok_or(bad("no frame rate (F)"))?;
        if u64::from(width) * u64::from(height) > max_pixels {
            return Err(FrameError::TooManyPixels {
                width: width.into(),
                height: height.into(),
                max: max_pixels,
            });
        }
        Ok(Y4mHeader {
            width,
            height,
            rate_num,
            rate_den,
            // The format's default colour space is 4:2:0 (420jpeg).
            chroma: chroma.unwrap_or(true),
        })
    }

    /// Bytes of one frame's planes.
    pub fn frame_bytes(&self) -> u64 {
        let luma = u64::from(self.width) * u64::from(self.height);
        if self.chroma {
            let chroma = u64::from(self.width.div_ceil(2)) * u64::from(self.height.div_ceil(2));
            luma + 2 * chroma
        } else {
            luma
        }
    }
}

/// Refuses a header parameter given twice.
fn once<T>(slot: &Option<T>) -> Result<(), FrameError> {
    match slot {
        Some(_) => Err(FrameError::Y4mHeader("a parameter is given twice")),
        None => Ok(()),
    }
}

fn dimension(text: &str) -> Result<u32, FrameError> {
    let bad = FrameError::Y4mHeader;
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("width or height is not a number"));
    }
    match text.parse::<u32>() {
        Ok(0) | Err(_) => Err(bad("width or height is zero")),
        Ok(n) => Ok(n),
    }
}

fn ratio(text: &str) -> Option<(u32, u32)> {
    let (num, den) = text.split_once(':')?;
    let number = |t: &str| {
        (!t.is_empty() && t.len() <= 10 && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse::<u32>().ok())
            .flatten()
    };
    Some((number(num)?, number(den)?))
}

/// Reads a line ending in `\n` of at most [`Y4M_MAX_LINE`] bytes; `Ok(None)` at a
/// clean end of input, `Err(())` for a longer, unterminated or unreadable line.
fn read_line<R: BufRead>(reader: &mut R) -> Result<Option<Vec<u8>>, ()> {
    let mut line = Vec::new();
    let read = reader
        .take(Y4M_MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut line)
        .map_err(|_| ())?;
    if read == 0 {
        return Ok(None);
    }
    if line.pop() != Some(b'\n') {
        return Err(());
    }
    Ok(Some(line))
}

/// A Y4M stream, read frame by frame.
pub struct Y4mFrames<R> {
    reader: R,
    /// The stream header.
    pub header: Y4mHeader,
    index: usize,
    consumed: u64,
}

impl<R: BufRead> Y4mFrames<R> {
    /// Reads and checks the header.
    pub fn new(mut reader: R, max_pixels: u64) -> Result<Y4mFrames<R>, FrameError> {
        let line = read_line(&mut reader)
            .map_err(|()| FrameError::Y4mHeader("header line too long or unterminated"))?
            .ok_or(FrameError::Y4mHeader("empty file"))?;
        let header = Y4mHeader::parse(&line, max_pixels)?;
        Ok(Y4mFrames {
            reader,
            header,
            index: 0,
            consumed: line.len() as u64 + 1,
        })
    }

    /// When frame `index` is shown, in ms from the first.
    pub fn at_ms(&self, index: usize) -> Option<u64> {
        let h = &self.header;
        (index as u64)
            .checked_mul(1000 * u64::from(h.rate_den))
            .map(|ms| ms / u64::from(h.rate_num))
    }

    /// The next frame's luma and the bytes it took, if `budget` bytes allow it.
    pub fn next_frame(&mut self, budget: u64) -> Result<Option<(usize, Luma, u64)>, FrameError> {
        let index = self.index;
        let truncated = FrameError::Y4mTruncated { frame: index };
        let line = match read_line(&mut self.reader) {
            Ok(Some(line)) => line,
            Ok(None) if index == 0 => return Err(FrameError::NoFrames),
            Ok(None) => return Ok(None),
            Err(()) => return Err(truncated),
        };
        // `FRAME`, optionally followed by parameters (which this reader ignores).
        if line != b"FRAME" && !line.starts_with(b"FRAME ") {
            return Err(truncated);
        }
        let frame_bytes = self.header.frame_bytes();
        let total = line.len() as u64 + 1 + frame_bytes;
        if total > budget {
            return Err(FrameError::TooManyBytes { max: budget });
        }
        let luma_len = u64::from(self.header.width) * u64::from(self.header.height);
        // Bounded by max_pixels (checked with the header), so this fits in memory.
        let mut pixels = vec![0u8; luma_len as usize];
        self.reader
            .read_exact(&mut pixels)
            .map_err(|_| FrameError::Y4mTruncated { frame: index })?;
        let chroma = frame_bytes - luma_len;
        let skipped = std::io::copy(&mut (&mut self.reader).take(chroma), &mut std::io::sink())
            .map_err(|_| FrameError::Y4mTruncated { frame: index })?;
        if skipped != chroma {
            return Err(FrameError::Y4mTruncated { frame: index });
        }
        self.index += 1;
        self.consumed += total;
        Ok(Some((
            index,
            Luma {
                width: self.header.width,
                height: self.header.height,
                pixels,
            },
            total,
        )))
    }
}

/// Decodes every frame of an in-memory source (a fuzz target, a test): its kind
/// is told by content, bounds as `limits` (the time bound excepted). Stops at
/// the first error, which is returned with the frames before it.
pub fn decode_all(bytes: &[u8], limits: &FrameLimits) -> (Vec<Luma>, Option<FrameError>) {
    let mut frames = Vec::new();
    let push = |next: Result<Option<SourceFrame>, FrameError>, frames: &mut Vec<Luma>| match next {
        Ok(Some((_, _, luma))) if frames.len() < limits.max_frames => {
            frames.push(luma);
            None
        }
        Ok(Some(_)) => Some(Some(FrameError::TooManyFrames {
            max: limits.max_frames,
        })),
        Ok(None) => Some(None),
        Err(e) => Some(Some(e)),
    };
    let error = match sniff(bytes) {
        None => Some(FrameError::Image(ScanError::NotAnImage {
            empty: bytes.is_empty(),
        })),
        Some(SourceKind::Y4m) => match Y4mFrames::new(bytes, limits.max_pixels) {
            Err(e) => Some(e),
            Ok(mut y4m) => loop {
                let next = y4m
                    .next_frame(limits.max_total_bytes)
                    .map(|f| f.map(|(i, luma, _)| (i, None, luma)));
                if let Some(end) = push(next, &mut frames) {
                    break end;
                }
            },
        },
        Some(SourceKind::Gif) => match GifFrames::new(bytes.to_vec(), limits.max_pixels) {
            Err(e) => Some(e),
            Ok(mut gif) => loop {
                if let Some(end) = push(gif.next_frame(), &mut frames) {
                    break end;
                }
            },
        },
        Some(_) if is_apng(bytes) => match ApngFrames::new(bytes.to_vec(), limits.max_pixels) {
            Err(e) => Some(e),
            Ok(mut apng) => loop {
                if let Some(end) = push(apng.next_frame(), &mut frames) {
                    break end;
                }
            },
        },
        Some(_) => {
            let image_limits = scan::Limits {
                max_pixels: limits.max_pixels,
                ..scan::Limits::default()
            };
            match scan::decode_image(bytes, &image_limits) {
                Ok(luma) => {
                    frames.push(luma);
                    None
                }
                Err(e) => Some(FrameError::Image(e)),
            }
        }
    };
    (frames, error)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn header(line: &str) -> Result<Y4mHeader, &'static str> {
        Y4mHeader::parse(line.as_bytes(), 1_000_000).map_err(|e| e.code())
    }

    #[test]
    fn y4m_headers_are_parsed_strictly() {
        let ok = header("YUV4MPEG2 W5 H3 F30000:1001 Ip A0:0 C420mpeg2 XYSCSS=420MPEG2").unwrap();
        assert_eq!(
            (ok.width, ok.height, ok.rate_num, ok.rate_den),
            (5, 3, 30000, 1001)
        );
        assert!(ok.chroma);
        // 4:2:0 planes round up: 5×3 luma, two 3×2 chroma planes.
        assert_eq!(ok.frame_bytes(), 15 + 2 * 6);
        let mono = header("YUV4MPEG2 W4 H4 F8:1 Cmono").unwrap();
        assert_eq!(mono.frame_bytes(), 16);
        assert!(
            header("YUV4MPEG2 W4 H4 F8:1").unwrap().chroma,
            "default is 4:2:0"
        );
        for (line, code) in [
            ("YUV4MPEG W4 H4 F8:1", "y4m_bad_header"),
            ("YUV4MPEG2 W4 H4 F8:1 W4", "y4m_bad_header"),
            ("YUV4MPEG2 W4  H4 F8:1", "y4m_bad_header"),
            ("YUV4MPEG2 W4 H4 F8:0", "y4m_bad_header"),
            ("YUV4MPEG2 W4 H4 F8", "y4m_bad_header"),
            ("YUV4MPEG2 W-4 H4 F8:1", "y4m_bad_header"),
            ("YUV4MPEG2 W+4 H4 F8:1", "y4m_bad_header"),
            ("YUV4MPEG2 W4 H4 F8:1 It", "y4m_bad_header"),
            ("YUV4MPEG2 W4 H4 F8:1 Q1", "y4m_bad_header"),
            ("YUV4MPEG2 W4 H4 F8:1 C444", "y4m_unsupported_colour_space"),
            (
                "YUV4MPEG2 W4 H4 F8:1 Cmono16",
                "y4m_unsupported_colour_space",
            ),
            ("YUV4MPEG2 W4294967295 H4294967295 F8:1", "y4m_bad_header"),
            ("YUV4MPEG2 W2000 H1000 F8:1", "frames_too_many_pixels"),
        ] {
            assert_eq!(header(line).map(|_| ()), Err(code), "{line}");
        }
    }

    #[test]
    fn y4m_frames_are_read_one_by_one_and_a_cut_is_typed() {
        let mut video = b"YUV4MPEG2 W2 H2 F4:1 C420\n".to_vec();
        for i in 0..3u8 {
            video.extend_from_slice(b"FRAME\n");
            video.extend_from_slice(&[i; 4]);
            video.extend_from_slice(&[128, 128]);
        }
        let (frames, error) = decode_all(&video, &FrameLimits::default());
        assert!(error.is_none());
        assert_eq!(
            frames.iter().map(|f| f.pixels.clone()).collect::<Vec<_>>(),
            [[0; 4], [1; 4], [2; 4]]
        );
        let mut y4m = Y4mFrames::new(video.as_slice(), 100).unwrap();
        assert_eq!(y4m.at_ms(2), Some(500));
        assert_eq!(
            y4m.next_frame(5).unwrap_err().code(),
            "frames_too_many_bytes",
            "the byte budget is checked before a frame is read"
        );
        let (frames, error) = decode_all(&video[..video.len() - 1], &FrameLimits::default());
        assert_eq!(frames.len(), 2);
        assert_eq!(error.unwrap().code(), "y4m_truncated_frame");
        let limits = FrameLimits {
            max_frames: 1,
            ..FrameLimits::default()
        };
        let (frames, error) = decode_all(&video, &limits);
        assert_eq!(frames.len(), 1);
        assert_eq!(error.unwrap().code(), "too_many_frames");
    }

    #[test]
    fn gif_frames_are_composed_on_their_canvas() {
        // Frame 2 covers only the right half, with a transparent pixel that shows frame 1.
        let mut bytes = Vec::new();
        {
            let palette = [255, 255, 255, 0, 0, 0];
            let mut encoder = gif::Encoder::new(&mut bytes, 4, 1, &palette).unwrap();
            let mut first = gif::Frame::from_indexed_pixels(4, 1, vec![1, 1, 1, 1], None);
            first.delay = 10;
            encoder.write_frame(&first).unwrap();
            let mut second = gif::Frame::from_indexed_pixels(2, 1, vec![0, 2], Some(2));
            second.left = 2;
            encoder.write_frame(&second).unwrap();
        }
        let (frames, error) = decode_all(&bytes, &FrameLimits::default());
        assert!(error.is_none(), "{error:?}");
        assert_eq!(frames[0].pixels, [0, 0, 0, 0]);
        assert_eq!(frames[1].pixels, [0, 0, 255, 0]);
        // A canvas over the bound is refused before any frame is decoded.
        let limits = FrameLimits {
            max_pixels: 3,
            ..FrameLimits::default()
        };
        assert_eq!(
            decode_all(&bytes, &limits).1.unwrap().code(),
            "frames_too_many_pixels"
        );
    }

    #[test]
    fn the_kind_is_told_by_content() {
        assert_eq!(sniff(b"GIF89a..."), Some(SourceKind::Gif));
        assert_eq!(sniff(b"YUV4MPEG2 W1"), Some(SourceKind::Y4m));
        assert_eq!(sniff(&[0xff, 0xd8, 0xff, 0xe0]), Some(SourceKind::Still));
        assert_eq!(sniff(b"YUV4MPEG2"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(
            decode_all(b"", &FrameLimits::default()).1.unwrap().code(),
            "not_an_image"
        );
        // A PNG whose chunk length runs past the end is not an APNG (and no panic).
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, b'I', b'H', b'D', b'R']);
        assert!(!is_apng(&png));
    }
}
