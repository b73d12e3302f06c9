//! The claims and licence-record parsers that only signed bytes reach: the input is
//! the COSE payload, wrapped in a credential under the 川J key's header with a zero
//! signature, which a `--cfg fuzzing` build accepts (credential::signature). No
//! signing per input, so this runs at the speed of the parsers.
#![no_main]

use ciborium::value::Value;
use credential::presentation::Presentation;
use credential::{Policy, Profile};
use libfuzzer_sys::fuzz_target;
use vectorgen::fixture;

fuzz_target!(|payload: &[u8]| {
    let (bundle, lists) = licence_fuzz::context();
    let credential = credential::cose::assemble(
        licence_fuzz::authority_header().to_vec(),
        Value::Map(vec![]),
        payload.to_vec(),
        vec![0; 64],
    );
    let presentation = Presentation {
        credential,
        presented_at: fixture::T0,
        holder_signature: [0; 64],
    };
    let verdict = credential::verify_bytes(
        &presentation.encode(),
        bundle,
        lists,
        fixture::T0,
        &Policy::default(),
    );
    assert_eq!(verdict.checks.len(), credential::verify::CHECKS.len());
    if let Ok(verified) = &verdict.outcome {
        // A valid verdict names the profile whose field set the payload carries.
        assert!(Profile::ALL.contains(&verified.profile));
        assert_eq!(verified.licence.profile(), Some(verified.profile));
    }
});
