//! The animated code (spec §17): a loop of QR frames, the normal presentation
//! plus portrait frames, each within QR version max(presentation's, [`PORTRAIT_MIN_VERSION`]).
//!
//! Layout: the presentation every [`AnimationOptions::presentation_every`] frames
//! (so a verifier reads it within half a second at 8 fps, and a verifier that
//! knows nothing of portraits still reads the code as today), portrait frames
//! between, K source symbols and some repair symbols so that a verifier that
//! misses frames still completes the portrait within one loop.
//!
//! Why the portrait frames have a version floor ([`PORTRAIT_MIN_VERSION`]): a
//! portrait of K source symbols needs about K/0.75 portrait frames read when a
//! quarter of the frames are lost, so the loop's time to the portrait grows
//! with K. Sized to the presentation's own version, the smaller profiles'
//! frames (rental v12, insurance v13) carried K = 8 and 7 and missed 1.5 s in
//! half the videos; sized to at least the floor, every profile gets the same,
//! smaller K, while the presentation frames, and so a verifier that knows
//! nothing of portraits, are exactly as before. The symbol is the largest whose
//! frame's text fits `max(presentation version, floor)` at level M. Showing the
//! presentation less often was measured too (every 8th: 78 % within 1.5 s) and
//! rejected: the wallet cannot know when the verifier has read it, so it slows
//! the verdict for every verifier; more repair or a higher rate leave the
//! K/0.75 frames needed as they are.

use credential::portrait_frame::{self, PortraitFrame, MAX_SYMBOL_BYTES, MIN_SYMBOL_BYTES};

use crate::error::WalletError;
use crate::qr::Qr;
use crate::wallet::Presented;

/// Tunables of the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnimationOptions {
    /// Frames per second the loop is shown at (default 8).
    pub fps: u32,
    /// The presentation is every this many frames (default 4: 1 in 4).
    pub presentation_every: usize,
    /// Repair frames beyond the K source frames, as a percentage of K (default 50).
    pub repair_percent: usize,
    /// Portrait frames may use QR versions up to the larger of this and the
    /// presentation's version (default [`PORTRAIT_MIN_VERSION`]).
    pub portrait_min_version: i16,
}

/// The QR version (level M) portrait frames may always use, whatever the
/// presentation's: chosen by the phone-screen video bench (README, "The portrait
/// code through a camera"), where frames of this version still decode from a
/// hand-held phone and a 1,901-byte portrait needs K = 4 symbols in every profile.
pub const PORTRAIT_MIN_VERSION: i16 = 18;

impl Default for AnimationOptions {
    fn default() -> Self {
        AnimationOptions {
            fps: 8,
            presentation_every: 4,
            repair_percent: 50,
            portrait_min_version: PORTRAIT_MIN_VERSION,
        }
    }
}

/// What a frame of the loop shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// The presentation (`DL1:`).
    Presentation,
    /// A portrait frame (`DL1P:`) with this RaptorQ symbol id.
    Portrait {
        /// Encoding symbol id.
        symbol_id: u32,
    },
}

/// One frame of the loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoopFrame {
    /// What it shows.
    pub kind: FrameKind,
    /// Its QR text.
    pub text: String,
    /// Its QR symbol.
    pub qr: Qr,
}

/// The loop of one presentation and its portrait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnimatedLoop {
    /// Frames in display order; the loop repeats.
    pub frames: Vec<LoopFrame>,
    /// Frames per second.
    pub fps: u32,
    /// Symbol size chosen.
    pub symbol_size: usize,
    /// Source symbols K of the portrait.
    pub source_symbols: usize,
}

impl AnimatedLoop {
    /// Milliseconds each frame is shown.
    pub fn frame_ms(&self) -> u64 {
        1000 / u64::from(self.fps.max(1))
    }
}

/// The largest symbol whose frame text fits QR `version` at level M, if any.
pub fn symbol_size_for(
    portrait_len: usize,
    version: i16,
    tag: [u8; portrait_frame::LOOP_TAG_LEN],
) -> Option<usize> {
    let fits = |size: usize| {
        let frame = PortraitFrame {
            loop_tag: tag,
            portrait_len,
            symbol_size: size,
            symbol_id: portrait_frame::MAX_SYMBOL_ID,
            symbol: vec![0xff; size],
        };
        Qr::encode(&frame.to_text()).is_ok_and(|qr| qr.version() <= version)
    };
    // A frame's text grows with its symbol, so the sizes that fit are a prefix.
    let (mut lo, mut hi) = (
        MIN_SYMBOL_BYTES,
        MAX_SYMBOL_BYTES.min(portrait_len.max(MIN_SYMBOL_BYTES)),
    );
    if !fits(lo) {
        return None;
    }
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Some(lo)
}

/// Builds the loop of `presented` and `portrait`.
pub fn build(
    presented: &Presented,
    portrait: &[u8],
    options: AnimationOptions,
) -> Result<AnimatedLoop, WalletError> {
    let tag = portrait_frame::loop_tag(&credential::licence::portrait_digest(portrait));
    let version = presented.qr.version().max(options.portrait_min_version);
    let symbol_size = symbol_size_for(portrait.len(), version, tag).ok_or_else(|| {
        WalletError::Qr(format!(
            "no portrait frame fits QR version {version}: the version floor is too small"
        ))
    })?;
    let k = portrait_frame::source_symbols(portrait.len(), symbol_size);
    let count = k + (k * options.repair_percent).div_ceil(100);
    let portrait_frames = portrait_frame::split(portrait, symbol_size, count)?;
    let every = options.presentation_every.max(2);
    let mut frames = Vec::with_capacity(count + count / (every - 1) + 1);
    let presentation = LoopFrame {
        kind: FrameKind::Presentation,
        text: presented.text.clone(),
        qr: presented.qr.clone(),
    };
    for frame in portrait_frames {
        if frames.len() % every == 0 {
            frames.push(presentation.clone());
        }
        let text = frame.to_text();
        frames.push(LoopFrame {
            kind: FrameKind::Portrait {
                symbol_id: frame.symbol_id,
            },
            qr: Qr::encode(&text)?,
            text,
        });
    }
    Ok(AnimatedLoop {
        frames,
        fps: options.fps.clamp(1, 60),
        symbol_size,
        source_symbols: k,
    })
}
