//! Portrait frames (spec §17.2) and the collector (§17.5): any bytes as a frame,
//! as a frame's text, and as a run of frames pushed into collectors. Never a
//! panic; an accepted frame re-encodes to the same bytes (one encoding per
//! frame); a collector hands out a portrait only if it has the signed digest.
#![no_main]

use credential::licence::{portrait_digest, PORTRAIT_DIGEST_LEN};
use credential::portrait_frame::{CollectorLimits, PortraitCollector, PortraitFrame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(frame) = PortraitFrame::decode(bytes) {
        assert_eq!(frame.encode(), bytes, "accepted a second encoding of a frame");
        assert_eq!(PortraitFrame::from_text(&frame.to_text()).as_ref(), Ok(&frame));
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        if let Ok(frame) = PortraitFrame::from_text(text) {
            assert_eq!(PortraitFrame::from_text(&frame.to_text()), Ok(frame));
        }
    }
    // A run of frames separated by 0xff (never the first byte of a frame's CBOR
    // array), pushed into a collector for the first frame's tag, so the fountain
    // decoder is reached, and into one for a fixed digest.
    let frames: Vec<PortraitFrame> = bytes
        .split(|b| *b == 0xff)
        .filter_map(|chunk| PortraitFrame::decode(chunk).ok())
        .take(64)
        .collect();
    let Some(first) = frames.first() else {
        return;
    };
    let mut digest = [0u8; PORTRAIT_DIGEST_LEN];
    digest[..first.loop_tag.len()].copy_from_slice(&first.loop_tag);
    let limits = CollectorLimits {
        max_frames: 32,
        max_bytes: 16 * 1024,
    };
    for digest in [digest, portrait_digest(b"fuzz")] {
        let mut collector = PortraitCollector::new(digest, limits);
        for frame in &frames {
            let _ = collector.push(frame);
        }
        if let Some(portrait) = collector.portrait() {
            assert_eq!(portrait_digest(portrait), digest, "a portrait that does not match");
        }
    }
});
