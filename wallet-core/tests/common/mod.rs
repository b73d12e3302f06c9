//! Shared by the wallet-core tests: the fixture device key and credential packages
//! like `issuer issue --out` writes, from the vectorgen fixture licence.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use credential::issue::IssueParams;
use credential::{Licence, Profile};
use vectorgen::fixture;
use wallet_core::SoftwareDeviceKey;

/// The device key the fixture credentials are bound to.
pub fn device() -> SoftwareDeviceKey {
    SoftwareDeviceKey::from_seed(&credential::signature::sha256(b"vectorgen device 1"))
}

/// The package of `licence` under `params`: the four profiles' credentials and
/// the package fields.
pub fn package_of(licence: &Licence, params: &IssueParams) -> Vec<u8> {
    package_carrying(licence, params, None)
}

/// [`package_of`], carrying `portrait` as an issuer that makes portraits sends it.
pub fn package_carrying(
    licence: &Licence,
    params: &IssueParams,
    portrait: Option<&[u8]>,
) -> Vec<u8> {
    let credentials: Vec<(Profile, Vec<u8>)> = Profile::ALL
        .into_iter()
        .map(|profile| {
            let bytes = fixture::credential(licence, profile, params, &fixture::authority_key());
            (profile, bytes)
        })
        .collect();
    credential::refresh::Package::encode(
        fixture::AUTHORITY,
        params.serial,
        params.issued_at,
        params.expires_at,
        &credentials,
        portrait,
    )
}

/// The fixture package with another serial and the licence edited by `edit`.
pub fn package_with(serial: u64, edit: impl Fn(&mut Licence)) -> Vec<u8> {
    let mut licence = fixture::licence();
    edit(&mut licence);
    let mut params = fixture::params();
    params.serial = serial;
    package_of(&licence, &params)
}
