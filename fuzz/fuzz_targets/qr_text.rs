//! QR text (as a scanner types it) through the whole verification algorithm.
#![no_main]

use credential::Policy;
use libfuzzer_sys::fuzz_target;
use vectorgen::fixture;

fuzz_target!(|text: &str| {
    let (bundle, lists) = licence_fuzz::context();
    let verdict = credential::verify(text, bundle, lists, fixture::T0, &Policy::default());
    assert_eq!(verdict.checks.len(), credential::verify::CHECKS.len());
});
