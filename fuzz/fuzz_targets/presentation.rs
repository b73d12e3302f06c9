//! Raw presentation bytes (NFC, files) through the whole verification algorithm.
#![no_main]

use std::sync::OnceLock;

use credential::{Policy, StatusLists};
use libfuzzer_sys::fuzz_target;
use vectorgen::fixture;

fn context() -> &'static (credential::trust_bundle::TrustBundle, StatusLists) {
    static CONTEXT: OnceLock<(credential::trust_bundle::TrustBundle, StatusLists)> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        let mut lists = StatusLists::default();
        lists.insert(fixture::status_list());
        (fixture::trust_bundle(), lists)
    })
}

fuzz_target!(|bytes: &[u8]| {
    let (bundle, lists) = context();
    let verdict = credential::verify_bytes(bytes, bundle, lists, fixture::T0, &Policy::default());
    // Nothing the fuzzer makes can carry a valid issuer signature.
    assert!(verdict.outcome.is_err() || bytes.len() > 200);
});
