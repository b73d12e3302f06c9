//! Raw presentation bytes (NFC, files) through the whole verification algorithm.
//! Built with `--cfg fuzzing`, every signature verifies, so mutated presentations of
//! the seed corpus reach every step of §11.
#![no_main]

use credential::Policy;
use libfuzzer_sys::fuzz_target;
use vectorgen::fixture;

fuzz_target!(|bytes: &[u8]| {
    let (bundle, lists) = licence_fuzz::context();
    let verdict = credential::verify_bytes(bytes, bundle, lists, fixture::T0, &Policy::default());
    assert_eq!(verdict.checks.len(), credential::verify::CHECKS.len());
    // Authenticated content exists only once the claims decoded (step 6 passed).
    if verdict.authenticated.is_some() {
        assert!(verdict.checks[5].outcome == credential::verify::CheckOutcome::Passed);
    }
});
