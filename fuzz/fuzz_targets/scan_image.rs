//! The image path of `verifier scan`: any bytes as a PNG/JPEG file, with a short
//! deadline so a slow input shows up as a libFuzzer timeout only if the bound fails.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use verifier::scan::{scan_bytes, Limits};

fuzz_target!(|bytes: &[u8]| {
    let limits = Limits {
        max_pixels: 4_000_000,
        max_scan_time: Duration::from_millis(500),
        ..Limits::default()
    };
    let _ = scan_bytes(bytes, &limits);
});
