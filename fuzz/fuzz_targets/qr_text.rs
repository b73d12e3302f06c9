//! QR text (as a scanner types it) through the whole verification algorithm.
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

fuzz_target!(|text: &str| {
    let (bundle, lists) = context();
    let verdict = credential::verify(text, bundle, lists, fixture::T0, &Policy::default());
    assert_eq!(verdict.checks.len(), credential::verify::CHECKS.len());
});
