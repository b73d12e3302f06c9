//! Ed25519 as this format uses it (spec §3): strict verification and key ids.
//!
//! Strict means: `s` must be canonical (`s < L`), and neither `R` nor the public key
//! may be of small order. Lax verifiers accept signatures an attacker can malleate,
//! and small-order keys verify signatures on messages their owner never saw.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::Malformed;

/// Length of a key id (spec §3.2: short, because it rides in every QR code; the
/// root refuses a bundle with two equal ids, so it is a hint, never an identity).
pub const KID_LEN: usize = 3;

/// The key id of a public key: the first 3 bytes of its SHA-256.
pub fn key_id(public_key: &[u8; 32]) -> [u8; KID_LEN] {
    let digest = Sha256::digest(public_key);
    let mut kid = [0u8; KID_LEN];
    kid.copy_from_slice(&digest[..KID_LEN]);
    kid
}

/// Parses a public key, refusing points that are not on the curve, of small order,
/// or encoded non-canonically (y >= p): one key, one encoding.
pub fn public_key(bytes: &[u8; 32], what: &'static str) -> Result<VerifyingKey, Malformed> {
    let key = VerifyingKey::from_bytes(bytes).map_err(|_| Malformed::BadPublicKey(what))?;
    if key.is_weak() || key.to_edwards().compress().to_bytes() != *bytes {
        return Err(Malformed::BadPublicKey(what));
    }
    Ok(key)
}

/// Strict Ed25519 verification. `false` for any failure.
pub fn verify_strict(key: &VerifyingKey, message: &[u8], signature: &[u8; 64]) -> bool {
    let signature = Signature::from_bytes(signature);
    key.verify_strict(message, &signature).is_ok()
}

/// Signs (deterministic, RFC 8032).
pub fn sign(key: &SigningKey, message: &[u8]) -> [u8; 64] {
    key.sign(message).to_bytes()
}

/// SHA-256, the digest used throughout the format.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}
