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
    if key.is_weak() || !is_canonical_y(bytes) {
        return Err(Malformed::BadPublicKey(what));
    }
    Ok(key)
}

/// Whether the encoded y coordinate (the low 255 bits, little-endian) is below
/// p = 2^255 - 19. The only non-canonical encodings are y in [p, 2^255).
fn is_canonical_y(bytes: &[u8; 32]) -> bool {
    let top_is_all_ones = bytes[31] & 0x7f == 0x7f && bytes[1..31].iter().all(|b| *b == 0xff);
    !(top_is_all_ones && bytes[0] >= 0xed)
}

/// Whether this build skips signature checks: only a fuzzing build (`cargo fuzz`
/// passes `--cfg fuzzing`), never a normal one. The `verifier` binary refuses to
/// compile with it, and `normal_builds_check_signatures` fails if it is ever set.
pub const SIGNATURE_CHECKS_SKIPPED: bool = cfg!(fuzzing);

/// Strict Ed25519 verification. `false` for any failure.
///
/// In a fuzzing build every signature "verifies", as rustls does under
/// `cfg(fuzzing)`: the parsers that only signed bytes reach (claims, licence record,
/// trust bundle and status list payloads) are then fuzzed at full speed from raw
/// inputs, instead of behind a harness that signs each input.
pub fn verify_strict(key: &VerifyingKey, message: &[u8], signature: &[u8; 64]) -> bool {
    if SIGNATURE_CHECKS_SKIPPED {
        return true;
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    #[allow(
        clippy::assertions_on_constants,
        reason = "the constant is what is tested: it must be false in every build that runs tests"
    )]
    fn normal_builds_check_signatures() {
        assert!(
            !SIGNATURE_CHECKS_SKIPPED,
            "a test build must never skip signatures"
        );
        let key = SigningKey::from_bytes(&[7; 32]);
        let signature = sign(&key, b"message");
        assert!(verify_strict(&key.verifying_key(), b"message", &signature));
        assert!(!verify_strict(
            &key.verifying_key(),
            b"other message",
            &signature
        ));
        assert!(!verify_strict(&key.verifying_key(), b"message", &[0; 64]));
    }

    #[test]
    fn public_keys_have_one_encoding_and_full_order() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32])
            .verifying_key()
            .to_bytes();
        assert!(public_key(&key, "k").is_ok());
        // The identity point (small order).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(public_key(&identity, "k").is_err());
        // y and y + p (for y < 19, y + p < 2^255) decode to the same point: only the
        // canonical encoding is accepted, whatever the point's order.
        let mut full_order_cases = 0;
        for y in 0u8..19 {
            for sign in [0u8, 0x80] {
                let mut canonical = [0u8; 32];
                canonical[0] = y;
                canonical[31] = sign;
                // p = 2^255 - 19, little-endian: ed ff .. ff 7f; y + p adds y to the low byte.
                let mut non_canonical = [0xffu8; 32];
                non_canonical[0] = 0xed + y;
                non_canonical[31] = 0x7f | sign;
                assert!(
                    public_key(&non_canonical, "k").is_err(),
                    "y = {y} + p accepted"
                );
                if public_key(&canonical, "k").is_ok() {
                    full_order_cases += 1;
                }
            }
        }
        assert!(
            full_order_cases > 0,
            "no full-order point with a small y: the test proves nothing"
        );
    }
}
