//! What the fuzz targets share: the vectors' trust bundle and status list, built once,
//! and the protected headers under which targets wrap raw payloads.
//!
//! The targets are built with `--cfg fuzzing` (by `cargo fuzz`), under which
//! `credential::signature::verify_strict` accepts every signature: payloads behind a
//! signature are reached without signing each input. This crate refuses to build
//! otherwise, so the targets' assumptions never meet a real verifier.

#[cfg(not(fuzzing))]
compile_error!("build the fuzz targets with `cargo +nightly fuzz` (it passes --cfg fuzzing)");

use std::sync::OnceLock;

use credential::ed25519_dalek::VerifyingKey;
use credential::trust_bundle::TrustBundle;
use credential::StatusLists;
use vectorgen::fixture;

/// The verifier's context of spec/vectors: the trust bundle and the 川J status list.
pub fn context() -> &'static (TrustBundle, StatusLists) {
    static CONTEXT: OnceLock<(TrustBundle, StatusLists)> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        let mut lists = StatusLists::default();
        lists.insert(fixture::status_list());
        (fixture::trust_bundle(), lists)
    })
}

/// The national root public key of the vectors.
pub fn root() -> &'static VerifyingKey {
    static ROOT: OnceLock<VerifyingKey> = OnceLock::new();
    ROOT.get_or_init(|| fixture::root_key().verifying_key())
}

fn header_of(key: &VerifyingKey) -> Vec<u8> {
    credential::cose::protected_header(&credential::signature::key_id(key.as_bytes()))
}

/// The protected header `{alg: EdDSA, kid: root}`.
pub fn root_header() -> &'static [u8] {
    static HEADER: OnceLock<Vec<u8>> = OnceLock::new();
    HEADER.get_or_init(|| header_of(root()))
}

/// The protected header `{alg: EdDSA, kid: 川J's current key}`.
pub fn authority_header() -> &'static [u8] {
    static HEADER: OnceLock<Vec<u8>> = OnceLock::new();
    HEADER.get_or_init(|| header_of(&fixture::authority_key().verifying_key()))
}
