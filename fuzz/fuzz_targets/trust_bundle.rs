//! Trust bundles: the raw file, and any payload behind a valid root signature.
#![no_main]

use credential::trust_bundle::TrustBundle;
use libfuzzer_sys::fuzz_target;
use vectorgen::fixture;

fuzz_target!(|bytes: &[u8]| {
    let root = fixture::root_key();
    let _ = TrustBundle::verify(bytes, &root.verifying_key());
    let signed = credential::cose::sign(&root, bytes.to_vec());
    if let Ok(bundle) = TrustBundle::verify(&signed, &root.verifying_key()) {
        assert!(bundle.content.issued_at <= bundle.content.next_update);
    }
});
