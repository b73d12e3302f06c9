//! The frame sources of `verifier scan` (still images, GIF, APNG, Y4M; told by
//! content): any bytes decoded with small bounds. Never a panic, every frame as
//! large as it says, never more frames than the bound; the Y4M header parser
//! alone on the first line.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use verifier::frames::{decode_all, FrameLimits, Y4mHeader};

fuzz_target!(|bytes: &[u8]| {
    let limits = FrameLimits {
        max_frames: 16,
        max_pixels: 1_000_000,
        max_total_bytes: 8 << 20,
        max_file_bytes: 8 << 20,
        max_time: Duration::from_secs(1),
    };
    let (frames, _) = decode_all(bytes, &limits);
    assert!(frames.len() <= limits.max_frames);
    for frame in &frames {
        assert_eq!(
            frame.pixels.len() as u64,
            u64::from(frame.width) * u64::from(frame.height)
        );
        assert!(u64::from(frame.width) * u64::from(frame.height) <= limits.max_pixels);
    }
    let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    if let Ok(header) = Y4mHeader::parse(line, limits.max_pixels) {
        assert!(header.width > 0 && header.height > 0 && header.rate_num > 0);
        assert!(header.frame_bytes() >= u64::from(header.width) * u64::from(header.height));
    }
});
