//! Collecting the frames of an animated code (spec §17.5): the presentation,
//! verified as `check` and `scan` verify it, and the portrait that its loop
//! carries, checked against the digest the credential signs.
//!
//! [`FrameCollector`] is fed frame by frame (images with
//! [`FrameCollector::push_frame`], texts from another QR reader with
//! [`FrameCollector::push_text`]) and says after each frame how far it got
//! ([`FrameCollector::progress`]): at which frame the verdict was ready, at which
//! the portrait matched, and the portrait's state. Why it is more than a loop
//! around [`PortraitCollector`]:
//!
//! - portrait frames may come before the presentation, so their texts are
//!   buffered, bounded, until the signed digest is known;
//! - a second code in view (another holder's phone) must not take over: the first
//!   presentation whose issuer signature verified is the one collected for, other
//!   presentations are refused frame by frame (`other_presentation`), and portrait
//!   frames of other loops are refused by the portrait collector;
//! - the portrait is handed out only when it matched ([`FrameCollector::portrait`]),
//!   never the bytes of a failed rebuild.
//!
//! The digest comes from the issuer-signed credential (`Verdict::authenticated`),
//! so a rejected but authentic presentation (stale, revoked) still gets its
//! holder's portrait checked: the officer may need the face most then.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use credential::licence::PORTRAIT_DIGEST_LEN;
use credential::portrait_frame::{
    source_symbols, CollectorLimits, PortraitCollector, PortraitFrame, PortraitFrameError,
    Progress as PortraitProgress, FRAME_PREFIX,
};
use credential::trust_bundle::TrustBundle;
use credential::verify::Verdict;
use credential::{Policy, StatusLists};

use crate::scan::{self, Luma, Scan};

/// Code of a presentation frame of another credential than the one collected for.
pub const OTHER_PRESENTATION: &str = "other_presentation";

/// Every code a frame can be refused with: the portrait frames' and [`OTHER_PRESENTATION`].
/// A presentation that is not authentic is refused with its verdict's reason code.
pub const FRAME_CODES: [&str; 6] = [
    "portrait_frame_malformed",
    "portrait_frame_other_loop",
    "portrait_frame_inconsistent",
    "portrait_too_many_frames",
    "portrait_too_many_bytes",
    OTHER_PRESENTATION,
];

/// Every name of [`PortraitState::name`].
pub const PORTRAIT_STATES: [&str; 7] = [
    "awaiting_presentation",
    "not_in_profile",
    "missing",
    "incomplete",
    "matched",
    "mismatch",
    "failed",
];

/// Bounds of one collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CollectLimits {
    /// Portrait frames buffered before the presentation is known (spec §17.5: 256).
    pub max_buffered: usize,
    /// Refused frames remembered with their frame index (all are counted).
    pub max_kept_rejections: usize,
    /// Bounds of the portrait collector.
    pub portrait: CollectorLimits,
    /// Time the QR reader may spend on one frame ([`FrameCollector::push_frame`]).
    pub scan_time_per_frame: Duration,
}

impl Default for CollectLimits {
    fn default() -> CollectLimits {
        CollectLimits {
            max_buffered: CollectorLimits::default().max_frames,
            max_kept_rejections: 64,
            portrait: CollectorLimits::default(),
            scan_time_per_frame: scan::Limits::default().max_scan_time,
        }
    }
}

/// Where the portrait stands (spec §17.5's table, and what comes before it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortraitState {
    /// No authentic presentation yet, so no digest to check frames against.
    AwaitingPresentation {
        /// Portrait frames buffered meanwhile.
        buffered: usize,
    },
    /// The presentation's profile carries no portrait digest (employment).
    NotInProfile,
    /// No frame of this loop seen.
    Missing,
    /// Frames of this loop seen, not enough yet.
    Incomplete {
        /// Distinct frames held.
        held: usize,
        /// Source symbols K (at least this many are needed).
        needed: usize,
    },
    /// Rebuilt and equal to the signed digest: the holder's portrait.
    Matched {
        /// Bytes of the portrait.
        bytes: usize,
    },
    /// Rebuilt but not the signed portrait: never shown.
    Mismatch,
    /// Gave up: too many frames or bytes, or the decoder failed.
    Failed {
        /// The reason code (`portrait_too_many_frames`, ...).
        code: &'static str,
    },
}

impl PortraitState {
    /// Stable name, reported as `portrait.state` in JSON.
    pub fn name(self) -> &'static str {
        match self {
            PortraitState::AwaitingPresentation { .. } => "awaiting_presentation",
            PortraitState::NotInProfile => "not_in_profile",
            PortraitState::Missing => "missing",
            PortraitState::Incomplete { .. } => "incomplete",
            PortraitState::Matched { .. } => "matched",
            PortraitState::Mismatch => "mismatch",
            PortraitState::Failed { .. } => "failed",
        }
    }

    /// The reason code of a portrait that will not be shown, if there is one.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            PortraitState::Mismatch => Some("portrait_mismatch"),
            PortraitState::Failed { code } => Some(code),
            _ => None,
        }
    }

    /// Whether no further frame can change it.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            PortraitState::NotInProfile
                | PortraitState::Matched { .. }
                | PortraitState::Mismatch
                | PortraitState::Failed { .. }
        )
    }
}

/// A refused frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RejectedFrame {
    /// Frame index.
    pub frame: usize,
    /// Why ([`FRAME_CODES`], or a verdict's reason code).
    pub code: &'static str,
}

/// How far a collection got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Frames pushed.
    pub frames: usize,
    /// First frame in which a code was read.
    pub first_code_frame: Option<usize>,
    /// Frame at which the verdict was ready.
    pub verdict_frame: Option<usize>,
    /// Frame at which the portrait matched or failed for good; never before
    /// `verdict_frame`, since frames read before the presentation wait for its digest.
    pub portrait_frame: Option<usize>,
    /// The portrait's state.
    pub portrait: PortraitState,
    /// Frames refused, all counted.
    pub rejected: usize,
    /// Frames that repeated one already held (a loop repeats).
    pub duplicates: usize,
}

/// What one frame gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameOutcome {
    /// Its index.
    pub frame: usize,
    /// Codes read in it.
    pub codes: usize,
    /// Contained decoder panics while reading it.
    pub decoder_faults: u32,
    /// The QR reader ran out of time on it.
    pub timed_out: bool,
}

enum Slot {
    /// Digest unknown: portrait frames wait here (already decoded, bounded).
    Waiting(Vec<(usize, PortraitFrame)>),
    NotInProfile,
    Collecting {
        collector: Box<PortraitCollector>,
        /// `(portrait_len, symbol_size)` of the first accepted frame: gives K.
        shape: Option<(usize, usize)>,
        failed: Option<PortraitFrameError>,
    },
}

struct Held {
    text: String,
    verdict: Verdict,
    /// Issuer key id, serial and profile of an authentic presentation: a refreshed
    /// code of the same credential is the same presentation.
    identity: Option<Identity>,
}

/// Issuer key id, serial and profile: what makes two presentations one credential's.
type Identity = (
    [u8; credential::signature::KID_LEN],
    u64,
    Option<credential::Profile>,
);

/// Collects one presentation and its portrait from a sequence of frames.
pub struct FrameCollector<'a> {
    bundle: &'a TrustBundle,
    lists: &'a StatusLists,
    now: u64,
    policy: Policy,
    limits: CollectLimits,
    frames: usize,
    first_code_frame: Option<usize>,
    verdict_frame: Option<usize>,
    portrait_frame: Option<usize>,
    held: Option<Held>,
    slot: Slot,
    rejected: usize,
    duplicates: usize,
    kept: Vec<RejectedFrame>,
    by_code: BTreeMap<&'static str, usize>,
}

impl<'a> FrameCollector<'a> {
    /// A collector verifying with this trust material, at `now`, under `policy`.
    pub fn new(
        bundle: &'a TrustBundle,
        lists: &'a StatusLists,
        now: u64,
        policy: Policy,
        limits: CollectLimits,
    ) -> FrameCollector<'a> {
        FrameCollector {
            bundle,
            lists,
            now,
            policy,
            limits,
            frames: 0,
            first_code_frame: None,
            verdict_frame: None,
            portrait_frame: None,
            held: None,
            slot: Slot::Waiting(Vec::new()),
            rejected: 0,
            duplicates: 0,
            kept: Vec::new(),
            by_code: BTreeMap::new(),
        }
    }

    /// Reads the QR codes in `luma` (bounded by
    /// [`CollectLimits::scan_time_per_frame`]) and offers each, as one frame.
    pub fn push_frame(&mut self, luma: &Luma) -> FrameOutcome {
        let scan = scan::read_codes(luma, Instant::now() + self.limits.scan_time_per_frame);
        self.push_scan(&scan)
    }

    /// Offers the codes a QR reader already found in one frame.
    pub fn push_scan(&mut self, scan: &Scan) -> FrameOutcome {
        let frame = self.begin_frame(!scan.codes.is_empty());
        for code in &scan.codes {
            self.offer(frame, &code.text);
        }
        FrameOutcome {
            frame,
            codes: scan.codes.len(),
            decoder_faults: scan.decoder_faults,
            timed_out: scan.timed_out,
        }
    }

    /// Offers one QR text as one frame (a camera app's reader, a scanner gun).
    pub fn push_text(&mut self, text: &str) -> FrameOutcome {
        let frame = self.begin_frame(true);
        self.offer(frame, text);
        FrameOutcome {
            frame,
            codes: 1,
            decoder_faults: 0,
            timed_out: false,
        }
    }

    fn begin_frame(&mut self, has_code: bool) -> usize {
        let frame = self.frames;
        self.frames += 1;
        if has_code && self.first_code_frame.is_none() {
            self.first_code_frame = Some(frame);
        }
        frame
    }

    /// Whether more frames can change nothing: the verdict is ready on an authentic
    /// presentation and the portrait matched, failed, or is not in its profile. (A
    /// presentation rejected before its signature verified could be a foreign code
    /// in view; collection goes on in case the holder's follows.)
    pub fn is_done(&self) -> bool {
        self.held.as_ref().is_some_and(|h| h.identity.is_some()) && self.portrait_state().is_final()
    }

    /// The verdict on the presentation, once one was read.
    pub fn verdict(&self) -> Option<&Verdict> {
        self.held.as_ref().map(|h| &h.verdict)
    }

    /// The presentation's QR text, once one was read.
    pub fn presentation_text(&self) -> Option<&str> {
        self.held.as_ref().map(|h| h.text.as_str())
    }

    /// The holder's portrait, only once it matched the signed digest.
    pub fn portrait(&self) -> Option<&[u8]> {
        match &self.slot {
            Slot::Collecting {
                collector,
                failed: None,
                ..
            } => collector.portrait(),
            _ => None,
        }
    }

    /// The portrait's state.
    pub fn portrait_state(&self) -> PortraitState {
        match &self.slot {
            Slot::Waiting(buffered) => PortraitState::AwaitingPresentation {
                buffered: buffered.len(),
            },
            Slot::NotInProfile => PortraitState::NotInProfile,
            Slot::Collecting {
                failed: Some(PortraitFrameError::PortraitMismatch),
                ..
            } => PortraitState::Mismatch,
            Slot::Collecting {
                failed: Some(error),
                ..
            } => PortraitState::Failed { code: error.code() },
            Slot::Collecting {
                collector, shape, ..
            } => match (collector.portrait(), shape) {
                (Some(bytes), _) => PortraitState::Matched { bytes: bytes.len() },
                (None, None) => PortraitState::Missing,
                (None, Some((len, size))) => PortraitState::Incomplete {
                    held: collector.symbols(),
                    needed: source_symbols(*len, *size),
                },
            },
        }
    }

    /// Source symbols K of the portrait, once a frame of its loop was accepted.
    pub fn source_symbols(&self) -> Option<usize> {
        match &self.slot {
            Slot::Collecting {
                shape: Some((len, size)),
                ..
            } => Some(source_symbols(*len, *size)),
            _ => None,
        }
    }

    /// Distinct portrait frames of this loop held.
    pub fn frames_held(&self) -> usize {
        match &self.slot {
            Slot::Collecting { collector, .. } => collector.symbols(),
            Slot::Waiting(buffered) => buffered.len(),
            Slot::NotInProfile => 0,
        }
    }

    /// The first refused frames ([`CollectLimits::max_kept_rejections`] of them).
    pub fn rejections(&self) -> &[RejectedFrame] {
        &self.kept
    }

    /// How many frames were refused with each code.
    pub fn rejections_by_code(&self) -> &BTreeMap<&'static str, usize> {
        &self.by_code
    }

    /// How far the collection got.
    pub fn progress(&self) -> Progress {
        Progress {
            frames: self.frames,
            first_code_frame: self.first_code_frame,
            verdict_frame: self.verdict_frame,
            portrait_frame: self.portrait_frame,
            portrait: self.portrait_state(),
            rejected: self.rejected,
            duplicates: self.duplicates,
        }
    }

    fn reject(&mut self, frame: usize, code: &'static str) {
        self.rejected += 1;
        *self.by_code.entry(code).or_insert(0) += 1;
        if self.kept.len() < self.limits.max_kept_rejections {
            self.kept.push(RejectedFrame { frame, code });
        }
    }

    fn offer(&mut self, frame: usize, text: &str) {
        if text.starts_with(FRAME_PREFIX) {
            match PortraitFrame::from_text(text) {
                Ok(portrait_frame) => self.offer_portrait(frame, portrait_frame),
                Err(error) => self.reject(frame, error.code()),
            }
        } else {
            self.offer_presentation(frame, text);
        }
    }

    fn offer_presentation(&mut self, frame: usize, text: &str) {
        if self.held.as_ref().is_some_and(|h| h.text == text) {
            self.duplicates += 1;
            return;
        }
        let verdict = credential::verify(text, self.bundle, self.lists, self.now, &self.policy);
        let identity = verdict
            .authenticated
            .as_ref()
            .map(|a| (a.kid, a.serial, a.profile));
        let held_identity = self.held.as_ref().map(|h| h.identity);
        match (held_identity, identity) {
            // The first code read, or the first authentic one after foreign ones.
            (None, _) | (Some(None), Some(_)) => {
                if let Some(Held { verdict: old, .. }) = self.held.take() {
                    self.reject(
                        self.verdict_frame.unwrap_or(frame),
                        old.reason_code().unwrap_or(OTHER_PRESENTATION),
                    );
                }
                self.take(frame, text, verdict, identity);
            }
            // A refreshed code of the same credential: a valid one replaces a
            // rejected one (e.g. stale at the first frame, fresh at a later one).
            (Some(Some(held)), Some(new)) if held == new => {
                let replaces = self
                    .held
                    .as_ref()
                    .is_some_and(|h| h.verdict.outcome.is_err() && verdict.outcome.is_ok());
                if replaces {
                    self.held = Some(Held {
                        text: text.to_owned(),
                        verdict,
                        identity,
                    });
                    self.verdict_frame = Some(frame);
                } else {
                    self.duplicates += 1;
                }
            }
            (Some(Some(_)), Some(_)) => self.reject(frame, OTHER_PRESENTATION),
            (Some(_), None) => {
                self.reject(frame, verdict.reason_code().unwrap_or(OTHER_PRESENTATION))
            }
        }
    }

    fn take(&mut self, frame: usize, text: &str, verdict: Verdict, identity: Option<Identity>) {
        let digest: Option<[u8; PORTRAIT_DIGEST_LEN]> = verdict
            .authenticated
            .as_ref()
            .and_then(|a| a.licence.portrait_digest);
        let authentic = identity.is_some();
        self.held = Some(Held {
            text: text.to_owned(),
            verdict,
            identity,
        });
        self.verdict_frame = Some(frame);
        if !authentic {
            return;
        }
        let buffered = match std::mem::replace(&mut self.slot, Slot::NotInProfile) {
            Slot::Waiting(buffered) => buffered,
            other => {
                self.slot = other;
                return;
            }
        };
        match digest {
            None => {
                for (at, _) in buffered {
                    self.reject(at, "portrait_frame_other_loop");
                }
            }
            Some(digest) => {
                self.slot = Slot::Collecting {
                    collector: Box::new(PortraitCollector::new(digest, self.limits.portrait)),
                    shape: None,
                    failed: None,
                };
                for (at, portrait_frame) in buffered {
                    self.offer_portrait(at, portrait_frame);
                }
                // Frames buffered before the presentation settle the portrait
                // only now: it is ready when the later of the two was read.
                if let Some(settled) = &mut self.portrait_frame {
                    *settled = (*settled).max(frame);
                }
            }
        }
    }

    fn offer_portrait(&mut self, frame: usize, portrait_frame: PortraitFrame) {
        let max_buffered = self.limits.max_buffered;
        let outcome = match &mut self.slot {
            Slot::Waiting(buffered) => {
                if buffered.len() >= max_buffered {
                    Err(PortraitFrameError::TooManyFrames { max: max_buffered })
                } else {
                    buffered.push((frame, portrait_frame));
                    return;
                }
            }
            Slot::NotInProfile => Err(PortraitFrameError::OtherLoop),
            Slot::Collecting {
                collector,
                shape,
                failed,
            } => {
                if failed.is_some() || collector.portrait().is_some() {
                    // Settled: later frames change nothing and are not refusals.
                    self.duplicates += 1;
                    return;
                }
                let result = collector.push(&portrait_frame);
                match &result {
                    Ok(_) => {
                        shape.get_or_insert((
                            portrait_frame.portrait_len,
                            portrait_frame.symbol_size,
                        ));
                    }
                    Err(
                        error @ (PortraitFrameError::TooManyFrames { .. }
                        | PortraitFrameError::TooManyBytes { .. }
                        | PortraitFrameError::PortraitMismatch
                        | PortraitFrameError::DecoderFault),
                    ) => {
                        *failed = Some(error.clone());
                    }
                    Err(_) => {}
                }
                result
            }
        };
        match outcome {
            Ok(PortraitProgress::Complete) => {
                self.portrait_frame.get_or_insert(frame);
            }
            Ok(PortraitProgress::Duplicate) => self.duplicates += 1,
            Ok(PortraitProgress::Collecting { .. }) => {}
            Err(error) => {
                if self.portrait_state().is_final() {
                    self.portrait_frame.get_or_insert(frame);
                }
                self.reject(frame, error.code());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use credential::portrait_frame::split;
    use credential::Profile;
    use vectorgen::fixture;

    fn trust() -> (TrustBundle, StatusLists) {
        let mut lists = StatusLists::default();
        lists.insert(fixture::status_list());
        (fixture::trust_bundle(), lists)
    }

    fn default_collector<'a>(
        bundle: &'a TrustBundle,
        lists: &'a StatusLists,
    ) -> FrameCollector<'a> {
        FrameCollector::new(
            bundle,
            lists,
            fixture::T0,
            Policy::default(),
            CollectLimits::default(),
        )
    }

    /// The fixture's rental presentation, whose credential signs `portrait`.
    fn presentation_of(portrait: &[u8]) -> String {
        let mut licence = fixture::licence();
        licence.portrait_digest = credential::licence::portrait_digest(portrait);
        let credential = fixture::credential(
            &licence,
            Profile::Rental,
            &fixture::params(),
            &fixture::authority_key(),
        );
        let presented = fixture::present(
            credential,
            Profile::Rental,
            fixture::T0 - 10,
            &fixture::device_key(),
        );
        credential::qr_text::to_qr_text(&presented.encode())
    }

    #[test]
    fn a_foreign_code_first_does_not_end_collection_and_is_replaced() {
        let (bundle, lists) = trust();
        let portrait = vec![7u8; 600];
        let mut collector = default_collector(&bundle, &lists);
        collector.push_text("https://example.com/a-poster");
        assert_eq!(
            collector.verdict().unwrap().reason_code(),
            Some("malformed")
        );
        assert!(
            !collector.is_done(),
            "a foreign code may precede the holder's"
        );
        collector.push_text(&presentation_of(&portrait));
        assert!(collector.verdict().unwrap().outcome.is_ok());
        assert_eq!(collector.progress().verdict_frame, Some(1));
        assert_eq!(collector.rejections_by_code().get("malformed"), Some(&1));
        assert_eq!(collector.portrait_state(), PortraitState::Missing);
        for frame in split(&portrait, 100, 6).unwrap() {
            collector.push_text(&frame.to_text());
        }
        assert_eq!(collector.portrait(), Some(portrait.as_slice()));
        assert!(collector.is_done());
    }

    #[test]
    fn a_portrait_from_buffered_frames_is_ready_with_the_presentation() {
        let (bundle, lists) = trust();
        let portrait = vec![5u8; 600];
        let mut collector = default_collector(&bundle, &lists);
        let frames = split(&portrait, 100, 9).unwrap();
        for frame in &frames {
            collector.push_text(&frame.to_text());
        }
        assert_eq!(collector.portrait(), None, "no digest yet");
        collector.push_text(&presentation_of(&portrait));
        assert_eq!(collector.portrait(), Some(portrait.as_slice()));
        let progress = collector.progress();
        assert_eq!(progress.verdict_frame, Some(frames.len()));
        assert_eq!(
            progress.portrait_frame,
            Some(frames.len()),
            "the portrait is ready only once the presentation that gives its digest is read"
        );
    }

    #[test]
    fn buffered_frames_and_kept_rejections_are_bounded() {
        let (bundle, lists) = trust();
        let portrait = vec![9u8; 4_000];
        let limits = CollectLimits {
            max_buffered: 10,
            max_kept_rejections: 3,
            ..CollectLimits::default()
        };
        let mut collector =
            FrameCollector::new(&bundle, &lists, fixture::T0, Policy::default(), limits);
        let frames = split(&portrait, 100, 60).unwrap();
        for frame in &frames[..25] {
            collector.push_text(&frame.to_text());
        }
        assert_eq!(
            collector.portrait_state(),
            PortraitState::AwaitingPresentation { buffered: 10 }
        );
        assert_eq!(collector.progress().rejected, 15);
        assert_eq!(
            collector.rejections().len(),
            3,
            "kept: bounded; counted: all"
        );
        assert_eq!(
            collector
                .rejections_by_code()
                .get("portrait_too_many_frames"),
            Some(&15)
        );
        collector.push_text(&presentation_of(&portrait));
        assert_eq!(
            collector.portrait_state(),
            PortraitState::Incomplete {
                held: 10,
                needed: 40
            }
        );
        // A malformed portrait text is refused with its code and changes nothing.
        collector.push_text("DL1P:not base45 at all");
        assert_eq!(
            collector
                .rejections_by_code()
                .get("portrait_frame_malformed"),
            Some(&1)
        );
        assert_eq!(collector.frames_held(), 10);
    }
}
