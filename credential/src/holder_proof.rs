//! The holder proof: the device key signs when and what is shown (spec §7.2).
//!
//! A QR code can be photographed; the proof makes a photo useless after the
//! freshness window, and a copied credential useless without the phone's key.

use ciborium::value::Value;

use crate::cbor::{self, int};
use crate::profile::Profile;

/// Domain separation string of the holder proof.
pub const CONTEXT: &str = "DL1 holder proof";

/// The bytes the device key signs.
pub fn message(profile: Profile, presented_at: u64, credential_digest: &[u8; 32]) -> Vec<u8> {
    cbor::encode(&Value::Array(vec![
        Value::Text(CONTEXT.into()),
        int(profile.code()),
        int(presented_at),
        Value::Bytes(credential_digest.to_vec()),
    ]))
}
