//! COSE_Sign1 (RFC 9052 §4.2, §4.4) in the one shape this format allows (spec §4.1).
//!
//! A generic reader ([`Sign1::from_cbor`]) keeps the protected header and payload as
//! the exact bytes received, because the signature covers those bytes and nothing
//! re-encoded. [`Sign1::strict_header`] then enforces our header profile: `alg`
//! EdDSA and `kid`, both protected, nothing else, empty unprotected bucket.

use ciborium::value::Value;

use crate::cbor::{self, int, take};
use crate::error::Malformed;
use crate::limits::CborLimits;
use crate::signature::KID_LEN;

/// The CBOR tag of COSE_Sign1.
pub const COSE_SIGN1_TAG: u64 = 18;
/// COSE algorithm id of EdDSA.
pub const ALG_EDDSA: i64 = -8;
const LABEL_ALG: i64 = 1;
const LABEL_KID: i64 = 4;

/// A decoded COSE_Sign1 with the signed parts kept as received.
#[derive(Clone, Debug, PartialEq)]
pub struct Sign1 {
    /// The protected header, exactly as its byte string.
    pub protected: Vec<u8>,
    /// The unprotected header map.
    pub unprotected: Vec<(Value, Value)>,
    /// The payload bytes.
    pub payload: Vec<u8>,
    /// The signature bytes (any length at this layer).
    pub signature: Vec<u8>,
}

/// The protected header of our profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Key id of the signer.
    pub kid: [u8; KID_LEN],
}

/// Why a header does not fit our profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// Structurally wrong.
    Malformed(Malformed),
    /// `alg` is not EdDSA.
    UnsupportedAlgorithm(i64),
}

impl From<Malformed> for HeaderError {
    fn from(m: Malformed) -> Self {
        HeaderError::Malformed(m)
    }
}

impl Sign1 {
    /// Reads a COSE_Sign1 from a CBOR value; `tagged` requires tag 18 (RFC 9052 §2).
    pub fn from_value(value: Value, tagged: bool) -> Result<Sign1, Malformed> {
        let value = match (value, tagged) {
            (Value::Tag(COSE_SIGN1_TAG, inner), true) => *inner,
            (Value::Tag(..), _) | (_, true) => return Err(Malformed::WrongCoseTag),
            (value, false) => value,
        };
        let [protected, unprotected, payload, signature] = take::array_of(value, "COSE_Sign1")?;
        let Value::Map(unprotected) = unprotected else {
            return Err(Malformed::WrongType("unprotected header"));
        };
        Ok(Sign1 {
            protected: take::bytes(protected, "protected header")?,
            unprotected,
            payload: take::bytes(payload, "payload")?,
            signature: take::bytes(signature, "signature")?,
        })
    }

    /// Decodes and reads a tagged COSE_Sign1 from bytes.
    pub fn from_cbor(bytes: &[u8], limits: &CborLimits) -> Result<Sign1, Malformed> {
        Sign1::from_value(cbor::decode(bytes, limits)?, true)
    }

    /// The bytes the signature covers (RFC 9052 §4.4), with empty external AAD.
    pub fn to_be_signed(&self) -> Vec<u8> {
        to_be_signed(&self.protected, &[], &self.payload)
    }

    /// Enforces our header profile and returns the key id.
    pub fn strict_header(&self) -> Result<Header, HeaderError> {
        if let Some((label, _)) = self.unprotected.first() {
            let label = take::int(label.clone(), "unprotected header label")?;
            return Err(match label {
                LABEL_ALG => Malformed::MisplacedHeader("alg"),
                LABEL_KID => Malformed::MisplacedHeader("kid"),
                _ => Malformed::MisplacedHeader("unprotected header"),
            }
            .into());
        }
        let mut header = take::IntMap::new(
            cbor::decode(&self.protected, &CborLimits::DOCUMENT).map_err(Malformed::from)?,
            "protected header",
        )?;
        let alg = take::int(header.required(LABEL_ALG, "alg")?, "alg")?;
        if alg != ALG_EDDSA {
            return Err(HeaderError::UnsupportedAlgorithm(alg));
        }
        let kid = take::bytes_of(header.required(LABEL_KID, "kid")?, "kid")?;
        header.finish().map_err(|error| match error {
            Malformed::UnknownField { key, .. } => Malformed::UnknownHeader(key),
            other => other,
        })?;
        Ok(Header { kid })
    }

    /// The signature as an Ed25519 signature.
    pub fn ed25519_signature(&self) -> Result<[u8; 64], Malformed> {
        <[u8; 64]>::try_from(self.signature.as_slice())
            .map_err(|_| Malformed::WrongLength("signature"))
    }
}

/// The Sig_structure for COSE_Sign1 (RFC 9052 §4.4).
pub fn to_be_signed(protected: &[u8], external_aad: &[u8], payload: &[u8]) -> Vec<u8> {
    cbor::encode(&Value::Array(vec![
        Value::Text("Signature1".into()),
        Value::Bytes(protected.to_vec()),
        Value::Bytes(external_aad.to_vec()),
        Value::Bytes(payload.to_vec()),
    ]))
}

/// The protected header bytes of our profile.
pub fn protected_header(kid: &[u8; KID_LEN]) -> Vec<u8> {
    cbor::encode(&cbor::map(vec![
        (int(LABEL_ALG), int(ALG_EDDSA)),
        (int(LABEL_KID), Value::Bytes(kid.to_vec())),
    ]))
}

/// Assembles a tagged COSE_Sign1 from its parts.
pub fn assemble(
    protected: Vec<u8>,
    unprotected: Value,
    payload: Vec<u8>,
    signature: Vec<u8>,
) -> Vec<u8> {
    cbor::encode(&Value::Tag(
        COSE_SIGN1_TAG,
        Box::new(Value::Array(vec![
            Value::Bytes(protected),
            unprotected,
            Value::Bytes(payload),
            Value::Bytes(signature),
        ])),
    ))
}

/// Signs `payload` with our header profile and returns the tagged COSE_Sign1 bytes.
pub fn sign(key: &ed25519_dalek::SigningKey, payload: Vec<u8>) -> Vec<u8> {
    let kid = crate::signature::key_id(key.verifying_key().as_bytes());
    let protected = protected_header(&kid);
    let signature = crate::signature::sign(key, &to_be_signed(&protected, &[], &payload));
    assemble(protected, Value::Map(vec![]), payload, signature.to_vec())
}
