//! Trust bundles: the raw file, and the input as a payload under the root's header
//! with a zero signature (accepted by a `--cfg fuzzing` build), so the payload
//! parser of §9.2 is fuzzed without signing each input.
#![no_main]

use ciborium::value::Value;
use credential::trust_bundle::TrustBundle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let root = licence_fuzz::root();
    let _ = TrustBundle::verify(bytes, root);
    let wrapped = credential::cose::assemble(
        licence_fuzz::root_header().to_vec(),
        Value::Map(vec![]),
        bytes.to_vec(),
        vec![0; 64],
    );
    if let Ok(bundle) = TrustBundle::verify(&wrapped, root) {
        assert!(bundle.content.issued_at <= bundle.content.next_update);
        assert!(bundle.content.keys.len() <= credential::limits::MAX_BUNDLE_ENTRIES);
    }
});
