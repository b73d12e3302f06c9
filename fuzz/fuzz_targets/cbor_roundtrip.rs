//! The strict CBOR decoder: never panics, and whatever it accepts re-encodes to
//! exactly the same bytes (one encoding per value).
#![no_main]

use credential::cbor;
use credential::limits::CborLimits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(value) = cbor::decode(bytes, &CborLimits::DOCUMENT) {
        assert_eq!(cbor::encode(&value), bytes, "accepted a non-canonical encoding");
    }
});
