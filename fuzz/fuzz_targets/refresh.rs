//! Refresh protocol messages: requests (as the service reads them), responses and
//! packages (as the wallet reads them).
#![no_main]

use credential::refresh::{verify_request, Package, RefreshResponse};
use libfuzzer_sys::fuzz_target;
use vectorgen::fixture;

fuzz_target!(|bytes: &[u8]| {
    let _ = verify_request(bytes, fixture::T0, 300);
    let _ = RefreshResponse::decode(bytes);
    let _ = Package::decode_for(bytes, &fixture::device_key().verifying_key().to_bytes());
});
