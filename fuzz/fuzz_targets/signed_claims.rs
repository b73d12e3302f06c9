//! The claims and licence-record parsers behind a valid issuer signature: the
//! harness signs whatever payload the fuzzer makes, so the code that only signed
//! bytes reach is fuzzed too.
#![no_main]

use credential::{Policy, Profile};
use libfuzzer_sys::fuzz_target;
use vectorgen::fixture;

fuzz_target!(|payload: &[u8]| {
    let (bundle, lists) = licence_fuzz::context();
    let credential = credential::cose::sign(&fixture::authority_key(), payload.to_vec());
    for profile in Profile::ALL {
        let presentation = fixture::present(credential.clone(), profile, fixture::T0, &fixture::device_key());
        let verdict = credential::verify_bytes(&presentation.encode(), bundle, lists, fixture::T0, &Policy::default());
        if let Ok(verified) = verdict.outcome {
            assert_eq!(verified.profile, profile);
        }
    }
});
