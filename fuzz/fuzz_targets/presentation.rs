//! Raw presentation bytes (NFC, files) through the whole verification algorithm.
#![no_main]

use credential::Policy;
use libfuzzer_sys::fuzz_target;
use vectorgen::fixture;

fuzz_target!(|bytes: &[u8]| {
    let (bundle, lists) = licence_fuzz::context();
    let verdict = credential::verify_bytes(bytes, bundle, lists, fixture::T0, &Policy::default());
    // Nothing the fuzzer makes can carry a valid issuer signature.
    assert!(verdict.outcome.is_err() || bytes.len() > 200);
});
