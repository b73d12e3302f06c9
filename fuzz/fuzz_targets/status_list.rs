//! Status lists (including decompression): the raw file, and any payload behind a
//! valid authority signature.
#![no_main]

use std::sync::OnceLock;

use credential::status_list::StatusList;
use credential::trust_bundle::TrustBundle;
use libfuzzer_sys::fuzz_target;
use vectorgen::fixture;

fn bundle() -> &'static TrustBundle {
    static BUNDLE: OnceLock<TrustBundle> = OnceLock::new();
    BUNDLE.get_or_init(fixture::trust_bundle)
}

fuzz_target!(|bytes: &[u8]| {
    let _ = StatusList::verify(bytes, bundle());
    let signed = credential::cose::sign(&fixture::authority_key(), bytes.to_vec());
    if let Ok(list) = StatusList::verify(&signed, bundle()) {
        assert!(list.size <= credential::limits::MAX_STATUS_LIST_ENTRIES);
        let _ = list.get(list.size.saturating_sub(1));
    }
});
