//! Phone-screen videos of the animated code (spec §17, issue 12): what a verifier's
//! camera records when an officer films a phone held by hand that plays the
//! wallet's loop of QR frames.
//!
//! Why a video model and not still photos: the verifier collects frames over
//! time, so what matters is the *sequence* — the loop runs at its own rate (8 fps)
//! against the camera's (30 fps), a camera frame can catch the screen while it
//! switches from one loop frame to the next, the hand shakes and drifts, and some
//! loop frames are lost outright to a blur burst or a reflection. The still
//! corpus's phone, camera and distortions ([`crate::generate_in`]) are reused
//! here; only time is added:
//!
//! - the screen shows loop frame ⌊(t + phase)·loop_fps⌋ mod L at time t;
//! - a rolling shutter exposes row r from t + r/H·readout for the exposure time,
//!   so a row whose exposure spans a screen refresh blends the two loop frames
//!   in proportion (a "refresh transition");
//! - the pose is a base pose plus a slow drift plus hand tremor (a few sinusoids
//!   at 3–9 Hz), and the code's image speed times the exposure is the motion blur;
//! - auto-exposure hunts (a slow gain oscillation), a mild reflection may move over
//!   the screen, moiré (sub-pixel sampling and the sensor's beat) in some videos,
//!   sensor noise in every frame;
//! - a configurable share of the loop frames shown (default 25 %) is *unreadable*:
//!   every camera frame that shows any part of one is blurred out (a shake burst)
//!   or glared out (a reflection over the whole code).
//!
//! Everything is a function of (loop, options, seed): frame `i` can be made alone,
//! in any order, and is the same bytes every time. Sizes, rates and lengths are
//! bounded ([`VideoOptions::check`]).

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

use crate::{
    background, composite, modules_across, phone, phone_to_photo, qr_modules, render_screen_art,
    Canvas, CodeArt, Glare, MoireBeat, Pose, Rng, Sampling, ScreenStyle,
};

/// Largest camera frame side, pixels.
pub const MAX_SIDE: usize = 1920;
/// Most camera frames in one video (a minute at 30 fps).
pub const MAX_FRAMES: usize = 1800;
/// Most frames in one loop.
pub const MAX_LOOP_FRAMES: usize = 1024;
/// Largest PNG frame file read from a frames directory.
pub const MAX_FRAME_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Largest PNG frame, pixels per side.
pub const MAX_FRAME_PIXELS_SIDE: u32 = 4096;

/// Screen width the loop is drawn at: 5 screen pixels per module for a v12 code,
/// finer than the 3–5 camera pixels per module the camera sees.
pub const VIDEO_SCREEN_WIDTH: usize = 540;

/// Why a video could not be made.
#[derive(Debug)]
#[non_exhaustive]
pub enum VideoError {
    /// An option is out of its bounds.
    Option(String),
    /// The loop has no frame, too many, or a frame without a code.
    Loop(String),
    /// A frame file could not be read or decoded.
    Frame {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl std::fmt::Display for VideoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VideoError::Option(m) => write!(f, "option out of bounds: {m}"),
            VideoError::Loop(m) => write!(f, "unusable loop: {m}"),
            VideoError::Frame { path, reason } => write!(f, "{}: {reason}", path.display()),
        }
    }
}

impl std::error::Error for VideoError {}

/// How the video is filmed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VideoOptions {
    /// Camera frame width, pixels (even).
    pub width: usize,
    /// Camera frame height, pixels (even).
    pub height: usize,
    /// Camera frames per second.
    pub camera_fps: u32,
    /// Camera frames in the video.
    pub frames: usize,
    /// Loop frames per second on the phone (the wallet's default is 8).
    pub loop_fps: u32,
    /// Share of the loop frames shown that are unreadable (blurred or glared out), 0–1.
    pub unreadable_share: f32,
}

impl Default for VideoOptions {
    /// 480 × 640 (a phone camera's 480p, held upright) at 30 fps for 3 s, the loop
    /// at 8 fps, a quarter of its frames unreadable.
    fn default() -> VideoOptions {
        VideoOptions {
            width: 480,
            height: 640,
            camera_fps: 30,
            frames: 90,
            loop_fps: 8,
            unreadable_share: 0.25,
        }
    }
}

impl VideoOptions {
    /// Refuses options outside their bounds.
    pub fn check(&self) -> Result<(), VideoError> {
        let bad = |m: String| Err(VideoError::Option(m));
        if !(16..=MAX_SIDE).contains(&self.width) || !(16..=MAX_SIDE).contains(&self.height) {
            return bad(format!(
                "frame {}×{} (each side 16..={MAX_SIDE})",
                self.width, self.height
            ));
        }
        if self.width % 2 == 1 || self.height % 2 == 1 {
            return bad(format!(
                "frame {}×{}: sides must be even (4:2:0 chroma)",
                self.width, self.height
            ));
        }
        if !(1..=120).contains(&self.camera_fps) {
            return bad(format!("camera fps {} (1..=120)", self.camera_fps));
        }
        if !(1..=60).contains(&self.loop_fps) {
            return bad(format!("loop fps {} (1..=60)", self.loop_fps));
        }
        if !(1..=MAX_FRAMES).contains(&self.frames) {
            return bad(format!("{} frames (1..={MAX_FRAMES})", self.frames));
        }
        if !(0.0..=1.0).contains(&self.unreadable_share) {
            return bad(format!(
                "unreadable share {} (0..=1)",
                self.unreadable_share
            ));
        }
        Ok(())
    }
}

/// What one camera frame shows, for scoring a reader against the truth.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameTruth {
    /// Time of the frame's first row, seconds from the video's start.
    pub time_s: f32,
    /// The loop frames (indices into the loop) visible in it: one, or two during
    /// a refresh transition (top rows the first).
    pub loop_frames: Vec<usize>,
    /// Blurred or glared out on purpose: no loop frame can be read from it.
    pub unreadable: bool,
}

/// One camera frame.
pub struct CameraFrame {
    /// The pixels, sRGB 0–255 (values may leave that range until encoded).
    pub canvas: Canvas,
    /// What it shows.
    pub truth: FrameTruth,
}

impl CameraFrame {
    /// 8-bit luma (BT.601, full range), row-major: what a QR reader looks at.
    pub fn luma(&self) -> Vec<u8> {
        self.canvas
            .pixels
            .iter()
            .map(|p| to_u8(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]))
            .collect()
    }
}

fn to_u8(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

/// A loop as the phone shows it: one phone (screen in its bezel) per loop frame,
/// each drawn the first time a video shows it (a 100-frame loop filmed for 3 s
/// shows a quarter of its frames).
pub struct LoopScreens {
    sources: Vec<LoopSource>,
    phones: Vec<OnceLock<Canvas>>,
    /// Bezel width, phone pixels.
    bezel: f32,
    /// Phone size, pixels.
    phone_size: (usize, usize),
    /// The code's square on the screen: left, top, side (screen pixels).
    code: (f32, f32, f32),
    /// Modules across the code, quiet zone included.
    modules: usize,
}

enum LoopSource {
    Text(String),
    Image(image::RgbImage),
}

impl LoopSource {
    fn art(&self) -> CodeArt<'_> {
        match self {
            LoopSource::Text(text) => CodeArt::Text(text),
            LoopSource::Image(picture) => CodeArt::Image(picture),
        }
    }

    /// Modules across the code, quiet zone included (0: no code), without drawing it.
    fn modules(&self) -> usize {
        match self {
            LoopSource::Text(text) => {
                let (n, _) = qr_modules(text);
                if n == 0 {
                    0
                } else {
                    n + 8
                }
            }
            LoopSource::Image(picture) => modules_across(picture),
        }
    }
}

const STYLE: ScreenStyle = ScreenStyle {
    width: VIDEO_SCREEN_WIDTH,
    dark: false,
};

impl LoopScreens {
    /// The loop of QR `texts` (e.g. the texts of `wallet_core::animated::build`),
    /// each drawn on the wallet screen.
    pub fn from_texts(texts: &[String]) -> Result<LoopScreens, VideoError> {
        LoopScreens::build(texts.iter().cloned().map(LoopSource::Text).collect())
    }

    /// The loop of code pictures (the PNG frames of `wallet show --animated
    /// --frames-dir`), each shown in the code area of the wallet screen.
    pub fn from_images(images: &[image::RgbImage]) -> Result<LoopScreens, VideoError> {
        LoopScreens::build(images.iter().cloned().map(LoopSource::Image).collect())
    }

    fn build(sources: Vec<LoopSource>) -> Result<LoopScreens, VideoError> {
        if sources.is_empty() || sources.len() > MAX_LOOP_FRAMES {
            return Err(VideoError::Loop(format!(
                "{} frames (1..={MAX_LOOP_FRAMES})",
                sources.len()
            )));
        }
        let mut modules = 0;
        for (i, source) in sources.iter().enumerate() {
            let across = source.modules();
            if across == 0 {
                return Err(VideoError::Loop(format!("frame {i} shows no QR code")));
            }
            modules = usize::max(modules, across);
        }
        // The loop's codes share one QR version and one code area, so the first
        // frame's geometry frames the camera.
        let first = render_screen_art(sources[0].art(), STYLE, None);
        let (phone, bezel) = phone(&first.canvas);
        let phones: Vec<OnceLock<Canvas>> = sources.iter().map(|_| OnceLock::new()).collect();
        let _ = phones[0].set(phone.clone());
        Ok(LoopScreens {
            sources,
            phones,
            bezel,
            phone_size: (phone.width, phone.height),
            code: first.code,
            modules,
        })
    }

    /// The phone showing loop frame `index` (wrapped).
    fn phone(&self, index: usize) -> &Canvas {
        let index = index % self.phones.len();
        self.phones[index].get_or_init(|| {
            phone(&render_screen_art(self.sources[index].art(), STYLE, None).canvas).0
        })
    }

    /// Frames in the loop.
    pub fn len(&self) -> usize {
        self.phones.len()
    }

    /// Never true: a loop has at least one frame.
    pub fn is_empty(&self) -> bool {
        self.phones.is_empty()
    }
}

/// Reads `frame-000.png`, `frame-001.png`, … from `dir` (as `wallet show
/// --animated --frames-dir` writes them) until one is missing; each file bounded.
pub fn read_frames_dir(dir: &Path) -> Result<Vec<image::RgbImage>, VideoError> {
    let mut images = Vec::new();
    for i in 0..=MAX_LOOP_FRAMES {
        let path = dir.join(format!("frame-{i:03}.png"));
        if !path.exists() {
            break;
        }
        if i == MAX_LOOP_FRAMES {
            return Err(VideoError::Loop(format!(
                "more than {MAX_LOOP_FRAMES} frames in {}",
                dir.display()
            )));
        }
        let fail = |reason: String| VideoError::Frame {
            path: path.clone(),
            reason,
        };
        let size = std::fs::metadata(&path)
            .map_err(|e| fail(e.to_string()))?
            .len();
        if size > MAX_FRAME_FILE_BYTES {
            return Err(fail(format!(
                "{size} bytes (at most {MAX_FRAME_FILE_BYTES})"
            )));
        }
        let bytes = std::fs::read(&path).map_err(|e| fail(e.to_string()))?;
        let mut reader =
            image::ImageReader::with_format(std::io::Cursor::new(bytes), image::ImageFormat::Png);
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_FRAME_PIXELS_SIDE);
        limits.max_image_height = Some(MAX_FRAME_PIXELS_SIDE);
        reader.limits(limits);
        let picture = reader.decode().map_err(|e| fail(e.to_string()))?;
        images.push(picture.to_rgb8());
    }
    if images.is_empty() {
        return Err(VideoError::Loop(format!(
            "no frame-000.png in {}",
            dir.display()
        )));
    }
    Ok(images)
}

/// Hand tremor along one axis: a sum of sinusoids (amplitude, Hz, phase).
#[derive(Clone, Debug)]
struct Tremor(Vec<(f32, f32, f32)>);

impl Tremor {
    fn random(rng: &mut Rng, amplitude: f32) -> Tremor {
        Tremor(
            (0..3)
                .map(|_| {
                    (
                        amplitude * rng.range(0.3, 1.0),
                        rng.range(3.0, 9.0),
                        rng.range(0.0, std::f32::consts::TAU),
                    )
                })
                .collect(),
        )
    }

    fn at(&self, t: f32) -> f32 {
        self.0
            .iter()
            .map(|(a, hz, phase)| a * (std::f32::consts::TAU * hz * t + phase).sin())
            .sum()
    }
}

/// How an unreadable loop frame is lost.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Loss {
    /// A shake burst: motion blur of several modules plus defocus.
    Blur { length: f32, angle: f32 },
    /// A reflection over the whole code.
    Glare { offset: (f32, f32), angle: f32 },
}

/// One video: a loop filmed with one seed.
pub struct PhoneVideo<'a> {
    screens: &'a LoopScreens,
    options: VideoOptions,
    seed: u64,
    background: Canvas,
    /// Loop-frame phase at t = 0, in loop frames (the officer starts filming anywhere in the loop).
    phase: f32,
    base: Pose,
    drift: [(f32, f32); 5],
    tremor: [Tremor; 5],
    exposure_s: f32,
    readout_s: f32,
    gain: (f32, f32, f32, f32),
    black_level: f32,
    defocus: f32,
    noise: f32,
    moire: Option<MoireBeat>,
    glare: Option<Glare>,
    /// Per slot shown during the video (⌊(t + phase)·loop_fps⌋ − first slot): how it is lost, if it is.
    losses: Vec<Option<Loss>>,
    first_slot: i64,
}

impl<'a> PhoneVideo<'a> {
    /// The video of `screens` filmed with `options`; deterministic in `seed`.
    pub fn new(
        screens: &'a LoopScreens,
        options: VideoOptions,
        seed: u64,
    ) -> Result<PhoneVideo<'a>, VideoError> {
        options.check()?;
        let mut rng = Rng::new(seed ^ 0x5eed_f11e_0000_0000);
        let (w, h) = (options.width as f32, options.height as f32);
        let background = background(options.width, options.height, &mut rng);
        let phase = rng.range(0.0, screens.len() as f32);
        let (phone_w, phone_h) = (screens.phone_size.0 as f32, screens.phone_size.1 as f32);
        // Frame the code, not the phone: the code's side is 55–80 % of the frame's
        // width, as when an officer aims at it.
        let code_side = w * rng.range(0.55, 0.8);
        let height = code_side / (screens.code.2 / phone_h);
        let scale = height / phone_h;
        // Offset of the code's centre from the phone's centre, in frame pixels.
        let code_cx = screens.bezel + screens.code.0 + screens.code.2 / 2.0;
        let code_cy = screens.bezel + screens.code.1 + screens.code.2 / 2.0;
        let offset = (
            (code_cx - phone_w / 2.0) * scale,
            (code_cy - phone_h / 2.0) * scale,
        );
        let roll = rng.range(-8f32, 8.0).to_radians();
        let (sr, cr) = roll.sin_cos();
        let target = (w * rng.range(0.45, 0.55), h * rng.range(0.42, 0.58));
        let base = Pose {
            centre: (
                target.0 - (offset.0 * cr - offset.1 * sr),
                target.1 - (offset.0 * sr + offset.1 * cr),
            ),
            height,
            roll,
            pitch: rng.range(-15f32, 15.0).to_radians(),
            yaw: rng.range(-15f32, 15.0).to_radians(),
        };
        // Per second: centre x, y (pixels), height (fraction), roll, tilt (radians).
        let drift = [
            (rng.range(-0.06, 0.06) * w, rng.range(0.0, 6.3)),
            (rng.range(-0.06, 0.06) * h, rng.range(0.0, 6.3)),
            (rng.range(-0.05, 0.05), rng.range(0.0, 6.3)),
            (rng.range(-3f32, 3.0).to_radians(), rng.range(0.0, 6.3)),
            (rng.range(-4f32, 4.0).to_radians(), rng.range(0.0, 6.3)),
        ];
        let steadiness = rng.range(0.3, 1.0);
        let tremor = [
            Tremor::random(&mut rng, 0.006 * w * steadiness),
            Tremor::random(&mut rng, 0.006 * w * steadiness),
            Tremor::random(&mut rng, 0.004 * steadiness),
            Tremor::random(&mut rng, 0.3f32.to_radians() * steadiness),
            Tremor::random(&mut rng, 0.6f32.to_radians() * steadiness),
        ];
        let exposure_s = 1.0 / rng.range(40.0, 160.0);
        let readout_s = rng.range(0.012, 0.03);
        let gain = (
            rng.range(0.8, 1.1),
            rng.range(0.04, 0.14),
            rng.range(0.2, 0.7),
            rng.range(0.0, 6.3),
        );
        let black_level = rng.range(4.0, 40.0);
        let defocus = rng.range(0.3, 0.8);
        let noise = rng.range(2.5, 7.0);
        let moire = (rng.unit() < 0.3).then(|| MoireBeat::random(&mut rng));
        let glare = (rng.unit() < 0.4).then(|| Glare {
            centre: (
                rng.range(-0.4, 0.4) * code_side,
                rng.range(-0.4, 0.4) * code_side,
            ),
            size: (
                rng.range(0.1, 0.25) * code_side,
                rng.range(0.05, 0.12) * code_side,
            ),
            angle: rng.range(0.0, std::f32::consts::PI),
            strength: rng.range(40.0, 110.0),
        });
        // The slots shown from the first row of frame 0 to the last row of the last frame.
        let loop_fps = options.loop_fps as f32;
        let end_s =
            (options.frames as f32 - 1.0) / options.camera_fps as f32 + readout_s + exposure_s;
        let first_slot = phase.floor() as i64;
        let last_slot = (end_s * loop_fps + phase).floor() as i64;
        let slots = (last_slot - first_slot + 1).max(1) as usize;
        // Exactly round(share × slots) unreadable, spread by a seeded shuffle.
        let lost = ((slots as f32 * options.unreadable_share).round() as usize).min(slots);
        let mut order: Vec<usize> = (0..slots).collect();
        for i in (1..slots).rev() {
            order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        let mut losses = vec![None; slots];
        for &slot in order.iter().take(lost) {
            losses[slot] = Some(if rng.unit() < 0.6 {
                Loss::Blur {
                    length: rng.range(2.5, 4.5),
                    angle: rng.range(0.0, std::f32::consts::PI),
                }
            } else {
                Loss::Glare {
                    offset: (rng.range(-0.1, 0.1), rng.range(-0.1, 0.1)),
                    angle: rng.range(0.0, std::f32::consts::PI),
                }
            });
        }
        Ok(PhoneVideo {
            screens,
            options,
            seed,
            background,
            phase,
            base,
            drift,
            tremor,
            exposure_s,
            readout_s,
            gain,
            black_level,
            defocus,
            noise,
            moire,
            glare,
            losses,
            first_slot,
        })
    }

    /// Camera frames in the video.
    pub fn len(&self) -> usize {
        self.options.frames
    }

    /// Never true: a video has at least one frame.
    pub fn is_empty(&self) -> bool {
        self.options.frames == 0
    }

    /// The options it was made with.
    pub fn options(&self) -> VideoOptions {
        self.options
    }

    /// The loop slot (loop frames shown since the loop's start, not wrapped) at time `t`.
    fn slot_at(&self, t: f32) -> i64 {
        (t * self.options.loop_fps as f32 + self.phase).floor() as i64
    }

    fn loss(&self, slot: i64) -> Option<Loss> {
        usize::try_from(slot - self.first_slot)
            .ok()
            .and_then(|i| self.losses.get(i).copied().flatten())
    }

    fn pose_at(&self, t: f32) -> Pose {
        let d = &self.drift;
        let wave = |(amount, phase): (f32, f32)| amount * (0.9 * t + phase).sin();
        let shake = |i: usize| self.tremor[i].at(t);
        let mut pose = self.base;
        pose.centre.0 += wave(d[0]) + shake(0);
        pose.centre.1 += wave(d[1]) + shake(1);
        pose.height *= 1.0 + wave(d[2]) + shake(2);
        pose.roll += wave(d[3]) + shake(3);
        pose.pitch += wave(d[4]) + shake(4);
        pose.yaw += 0.5 * wave(d[4]) - shake(4);
        pose
    }

    /// The first and last loop slot camera frame `index` shows, and its time.
    fn slots_of(&self, index: usize) -> (i64, i64, f32) {
        let index = index.min(self.options.frames.saturating_sub(1));
        let t = index as f32 / self.options.camera_fps as f32;
        (
            self.slot_at(t),
            self.slot_at(t + self.readout_s + self.exposure_s),
            t,
        )
    }

    /// What camera frame `index` shows, without drawing it.
    pub fn frame_truth(&self, index: usize) -> FrameTruth {
        let (first, last, t) = self.slots_of(index);
        let loop_len = self.screens.len() as i64;
        FrameTruth {
            time_s: t,
            loop_frames: (first..=last)
                .map(|slot| slot.rem_euclid(loop_len) as usize)
                .collect(),
            unreadable: (first..=last).any(|slot| self.loss(slot).is_some()),
        }
    }

    /// Camera frame `index` (0-based); frames past the end repeat the last one.
    pub fn frame(&self, index: usize) -> CameraFrame {
        let (first, last, t) = self.slots_of(index);
        let frame_index = index.min(self.options.frames.saturating_sub(1));
        let mut rng = Rng::new(
            self.seed
                ^ 0x0f7a_3e00_0000_0000
                ^ (frame_index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let (w, h) = (self.options.width, self.options.height);
        let loop_len = self.screens.len() as i64;
        let pose = self.pose_at(t);
        let sampling = if self.moire.is_some() {
            Sampling::SubPixel
        } else {
            Sampling::CoarseArea
        };
        let film = |slot: i64| {
            let mut photo = self.background.clone();
            let phone = self.screens.phone(slot.rem_euclid(loop_len) as usize);
            let to_photo = composite(&mut photo, phone, &pose, sampling);
            (photo, to_photo)
        };
        let (mut photo, to_photo) = film(first);
        if last != first {
            // Rolling shutter across a screen refresh: each row is the share of its
            // exposure spent on each loop frame.
            let (next, _) = film(last);
            let switch = (last as f32 - self.phase) / self.options.loop_fps as f32;
            for y in 0..h {
                let start = t + y as f32 / h as f32 * self.readout_s;
                let after = ((start + self.exposure_s - switch) / self.exposure_s).clamp(0.0, 1.0);
                if after <= 0.0 {
                    continue;
                }
                for x in 0..w {
                    let (a, b) = (&mut photo.pixels[y * w + x], next.pixels[y * w + x]);
                    for i in 0..3 {
                        a[i] += (b[i] - a[i]) * after;
                    }
                }
            }
        }
        // Where the code is now, and how fast its image moves (for the motion blur).
        let s = &self.screens;
        let code_centre = (
            s.bezel + s.code.0 + s.code.2 / 2.0,
            s.bezel + s.code.1 + s.code.2 / 2.0,
        );
        let centre = to_photo(code_centre.0, code_centre.1);
        let corner = to_photo(s.bezel + s.code.0, s.bezel + s.code.1);
        let code_side = 2.0
            * ((centre.0 - corner.0).powi(2) + (centre.1 - corner.1).powi(2)).sqrt()
            / std::f32::consts::SQRT_2;
        let module = code_side / s.modules.max(1) as f32;
        let moved = phone_to_photo((w, h), s.phone_size, &self.pose_at(t + self.exposure_s))(
            code_centre.0,
            code_centre.1,
        );
        let speed = (moved.0 - centre.0, moved.1 - centre.1);
        photo.motion_blur(speed.0, speed.1);
        let losses: Vec<Loss> = (first..=last).filter_map(|slot| self.loss(slot)).collect();
        for loss in &losses {
            match *loss {
                Loss::Blur { length, angle } => {
                    let (sa, ca) = angle.sin_cos();
                    photo.motion_blur(ca * length * module, sa * length * module);
                    photo.blur(0.8 * module);
                }
                Loss::Glare { offset, angle } => Glare {
                    centre: (
                        centre.0 + offset.0 * code_side,
                        centre.1 + offset.1 * code_side,
                    ),
                    size: (0.6 * code_side, 0.45 * code_side),
                    angle,
                    strength: 320.0,
                }
                .apply(&mut photo),
            }
        }
        if let Some(beat) = self.moire {
            let mut beat = beat;
            // The beat slides as the phone moves relative to the sensor.
            beat.phase += (pose.centre.0 + pose.centre.1) * 0.05;
            beat.apply(&mut photo);
        }
        photo.blur(self.defocus);
        if let Some(glare) = self.glare {
            // A reflection of a lamp: fixed relative to the phone, so it moves with it.
            Glare {
                centre: (centre.0 + glare.centre.0, centre.1 + glare.centre.1),
                ..glare
            }
            .apply(&mut photo);
        }
        let (g0, amplitude, hz, phase) = self.gain;
        let gain = g0 * (1.0 + amplitude * (std::f32::consts::TAU * hz * t + phase).sin());
        let black = self.black_level;
        photo.map(|v| black + v * gain);
        photo.noise(self.noise, &mut rng);
        CameraFrame {
            canvas: photo,
            truth: self.frame_truth(index),
        }
    }

    /// The loop frames shown during the video that are unreadable, and all shown.
    pub fn unreadable_slots(&self) -> (usize, usize) {
        (
            self.losses.iter().filter(|l| l.is_some()).count(),
            self.losses.len(),
        )
    }

    /// Writes the whole video as YUV4MPEG2 (4:2:0, full-range BT.601), frame by frame.
    pub fn write_y4m(&self, out: &mut impl Write) -> std::io::Result<()> {
        let o = &self.options;
        writeln!(
            out,
            "YUV4MPEG2 W{} H{} F{}:1 Ip A1:1 C420jpeg XYSCSS=420JPEG",
            o.width, o.height, o.camera_fps
        )?;
        // Frames are independent: draw a batch on every core, write it in order.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let indices: Vec<usize> = (0..o.frames).collect();
        for batch in indices.chunks(threads) {
            let planes: Vec<Vec<u8>> = std::thread::scope(|scope| {
                let handles: Vec<_> = batch
                    .iter()
                    .map(|&i| scope.spawn(move || y4m_planes(&self.frame(i).canvas)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_default())
                    .collect()
            });
            for frame in planes {
                out.write_all(b"FRAME\n")?;
                out.write_all(&frame)?;
            }
        }
        Ok(())
    }
}

/// The Y, Cb and Cr planes of `canvas` (4:2:0, chroma sited between luma samples).
pub fn y4m_planes(canvas: &Canvas) -> Vec<u8> {
    let (w, h) = (canvas.width, canvas.height);
    let mut out = Vec::with_capacity(w * h * 3 / 2);
    out.extend(
        canvas
            .pixels
            .iter()
            .map(|p| to_u8(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2])),
    );
    let (cw, ch) = (w / 2, h / 2);
    let mut cb = Vec::with_capacity(cw * ch);
    let mut cr = Vec::with_capacity(cw * ch);
    for y in 0..ch {
        for x in 0..cw {
            let mut rgb = [0.0f32; 3];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let p = canvas.pixels[(2 * y + dy) * w + 2 * x + dx];
                for i in 0..3 {
                    rgb[i] += p[i].clamp(0.0, 255.0) / 4.0;
                }
            }
            let [r, g, b] = rgb;
            cb.push(to_u8(128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b));
            cr.push(to_u8(128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b));
        }
    }
    out.extend(cb);
    out.extend(cr);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn small() -> VideoOptions {
        VideoOptions {
            width: 120,
            height: 160,
            frames: 24,
            ..VideoOptions::default()
        }
    }

    fn screens() -> LoopScreens {
        let texts: Vec<String> = (0..4).map(|i| format!("DL1P:LOOP FRAME {i}")).collect();
        LoopScreens::from_texts(&texts).unwrap()
    }

    #[test]
    fn same_seed_same_frames_other_seed_other_video() {
        let screens = screens();
        let a = PhoneVideo::new(&screens, small(), 7).unwrap();
        let b = PhoneVideo::new(&screens, small(), 7).unwrap();
        let c = PhoneVideo::new(&screens, small(), 8).unwrap();
        for i in [0, 5, 23] {
            assert_eq!(a.frame(i).canvas.pixels, b.frame(i).canvas.pixels);
            assert_eq!(a.frame(i).truth, b.frame(i).truth);
        }
        assert_ne!(a.frame(3).canvas.pixels, c.frame(3).canvas.pixels);
        let mut y4m = Vec::new();
        a.write_y4m(&mut y4m).unwrap();
        let header = b"YUV4MPEG2 W120 H160 F30:1 Ip A1:1 C420jpeg XYSCSS=420JPEG\n";
        assert!(y4m.starts_with(header));
        assert_eq!(y4m.len(), header.len() + 24 * (6 + 120 * 160 * 3 / 2));
    }

    #[test]
    fn the_loop_runs_at_its_own_rate_and_the_share_lost_is_exact() {
        let screens = screens();
        for share in [0.0, 0.25, 1.0] {
            let video = PhoneVideo::new(
                &screens,
                VideoOptions {
                    unreadable_share: share,
                    frames: 90,
                    ..small()
                },
                3,
            )
            .unwrap();
            let (lost, shown) = video.unreadable_slots();
            assert_eq!(
                lost,
                (shown as f32 * share).round() as usize,
                "share {share}"
            );
            // 3 s at 8 loop fps: 24 or 25 loop frames shown (plus the exposure of the last).
            assert!((24..=26).contains(&shown), "{shown} slots");
            let truths: Vec<FrameTruth> = (0..90).map(|i| video.frame(i).truth).collect();
            let blends = truths.iter().filter(|t| t.loop_frames.len() == 2).count();
            assert!(blends > 0, "some frames catch a refresh");
            assert_eq!(
                truths.iter().filter(|t| t.unreadable).count() > 0,
                share > 0.0,
                "share {share}"
            );
            // Consecutive loop frames follow each other in loop order.
            for t in &truths {
                if let [a, b] = t.loop_frames[..] {
                    assert_eq!(b, (a + 1) % screens.len());
                }
            }
        }
    }

    #[test]
    fn frame_files_are_read_in_order_and_bounded() {
        let dir = std::env::temp_dir().join(format!("qr-corpus-frames-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(matches!(read_frames_dir(&dir), Err(VideoError::Loop(_))));
        let mut code = image::RgbImage::from_pixel(29, 29, image::Rgb([255, 255, 255]));
        for y in 4..11 {
            for x in 4..11 {
                code.put_pixel(x, y, image::Rgb([0, 0, 0]));
            }
        }
        code.save(dir.join("frame-000.png")).unwrap();
        code.save(dir.join("frame-001.png")).unwrap();
        // frame-002 is missing: frame-003 is not part of the loop.
        std::fs::write(dir.join("frame-003.png"), b"not read").unwrap();
        let frames = read_frames_dir(&dir).unwrap();
        assert_eq!(frames.len(), 2);
        // 7 pixels of finder pattern: 1 pixel a module, 29 modules across.
        assert_eq!(crate::modules_across(&frames[0]), 29);
        std::fs::write(dir.join("frame-001.png"), b"not a PNG").unwrap();
        assert!(matches!(
            read_frames_dir(&dir),
            Err(VideoError::Frame { .. })
        ));
        let huge = vec![0u8; MAX_FRAME_FILE_BYTES as usize + 1];
        std::fs::write(dir.join("frame-001.png"), huge).unwrap();
        let refused = read_frames_dir(&dir).err().unwrap().to_string();
        assert!(refused.contains("at most"), "{refused}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn options_out_of_bounds_are_refused() {
        let screens = screens();
        for bad in [
            VideoOptions {
                width: 121,
                ..small()
            },
            VideoOptions {
                width: 4000,
                ..small()
            },
            VideoOptions {
                frames: 0,
                ..small()
            },
            VideoOptions {
                frames: MAX_FRAMES + 1,
                ..small()
            },
            VideoOptions {
                camera_fps: 0,
                ..small()
            },
            VideoOptions {
                loop_fps: 0,
                ..small()
            },
            VideoOptions {
                unreadable_share: 1.5,
                ..small()
            },
            VideoOptions {
                unreadable_share: f32::NAN,
                ..small()
            },
        ] {
            assert!(
                matches!(
                    PhoneVideo::new(&screens, bad, 1),
                    Err(VideoError::Option(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            LoopScreens::from_texts(&[]),
            Err(VideoError::Loop(_))
        ));
        assert!(matches!(
            LoopScreens::from_images(&[image::RgbImage::new(20, 20)]),
            Err(VideoError::Loop(_))
        ));
    }
}
