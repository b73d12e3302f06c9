//! The trust bundle: which authority keys a verifier trusts (spec §9).
//!
//! Signed by the national root key, versioned so that a verifier can refuse a
//! rollback to an older bundle (one that still trusts a since-retired key).

use ciborium::value::Value;
use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::cbor::{self, int, take};
use crate::cose::{HeaderError, Sign1};
use crate::error::{DocumentError, Malformed};
use crate::limits::{CborLimits, MAX_BUNDLE_ENTRIES};
use crate::signature::{key_id, KID_LEN};

/// One authority key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorityKey {
    /// Key id (fingerprint of the key).
    pub kid: [u8; KID_LEN],
    /// Ed25519 public key.
    pub public_key: [u8; 32],
    /// Authority code, e.g. 川J.
    pub authority_code: String,
    /// Authority name.
    pub authority_name: String,
    /// Credentials issued before this instant are not accepted.
    pub valid_from: u64,
    /// Credentials issued after this instant are not accepted.
    pub valid_to: u64,
    /// No credential of this key is accepted any more.
    pub retired: bool,
}

/// The content of a trust bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustBundleContent {
    /// Monotonic version.
    pub version: u64,
    /// When it was signed.
    pub issued_at: u64,
    /// When verifiers should have a newer one.
    pub next_update: u64,
    /// The authority keys.
    pub keys: Vec<AuthorityKey>,
}

/// A trust bundle whose root signature has been verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustBundle {
    /// The verified content.
    pub content: TrustBundleContent,
    /// The signed file bytes (kept to store and compare).
    pub bytes: Vec<u8>,
    verifying_keys: Vec<VerifyingKey>,
}

impl TrustBundleContent {
    fn to_value(&self) -> Value {
        let keys = self
            .keys
            .iter()
            .map(|k| {
                cbor::map(vec![
                    (int(1), Value::Bytes(k.kid.to_vec())),
                    (int(2), Value::Bytes(k.public_key.to_vec())),
                    (int(3), Value::Text(k.authority_code.clone())),
                    (int(4), Value::Text(k.authority_name.clone())),
                    (int(5), int(k.valid_from)),
                    (int(6), int(k.valid_to)),
                    (int(7), Value::Bool(k.retired)),
                ])
            })
            .collect();
        cbor::map(vec![
            (int(1), int(self.version)),
            (int(2), int(self.issued_at)),
            (int(3), int(self.next_update)),
            (int(4), Value::Array(keys)),
        ])
    }

    fn from_value(value: Value) -> Result<TrustBundleContent, Malformed> {
        let mut map = take::IntMap::new(value, "trust bundle")?;
        let version = take::uint(map.required(1, "version")?, "version")?;
        let issued_at = take::uint(map.required(2, "issued_at")?, "issued_at")?;
        let next_update = take::uint(map.required(3, "next_update")?, "next_update")?;
        let entries = take::array(map.required(4, "keys")?, "keys")?;
        map.finish()?;
        if issued_at > next_update {
            return Err(Malformed::Invalid("issued_at after next_update"));
        }
        if entries.len() > MAX_BUNDLE_ENTRIES {
            return Err(Malformed::OutOfRange("number of keys"));
        }
        let mut keys: Vec<AuthorityKey> = Vec::with_capacity(entries.len());
        for entry in entries {
            let mut e = take::IntMap::new(entry, "authority key")?;
            let key = AuthorityKey {
                kid: take::bytes_of(e.required(1, "kid")?, "kid")?,
                public_key: take::bytes_of(e.required(2, "public key")?, "public key")?,
                authority_code: take::text(e.required(3, "authority code")?, "authority code")?,
                authority_name: take::text(e.required(4, "authority name")?, "authority name")?,
                valid_from: take::uint(e.required(5, "valid_from")?, "valid_from")?,
                valid_to: take::uint(e.required(6, "valid_to")?, "valid_to")?,
                retired: take::boolean(e.required(7, "retired")?, "retired")?,
            };
            e.finish()?;
            crate::signature::public_key(&key.public_key, "authority key")?;
            for (text, what) in [
                (&key.authority_code, "authority code"),
                (&key.authority_name, "authority name"),
            ] {
                if text.is_empty()
                    || text.len() > crate::limits::MAX_TEXT_BYTES
                    || text.chars().any(char::is_control)
                {
                    return Err(Malformed::Invalid(what));
                }
            }
            if key.kid != key_id(&key.public_key) {
                return Err(Malformed::Invalid("kid (not the key's fingerprint)"));
            }
            if key.valid_from > key.valid_to {
                return Err(Malformed::Invalid("key validity"));
            }
            if keys.iter().any(|k| k.kid == key.kid) {
                return Err(Malformed::Invalid("duplicate kid"));
            }
            keys.push(key);
        }
        Ok(TrustBundleContent {
            version,
            issued_at,
            next_update,
            keys,
        })
    }

    /// Signs the bundle with the root key.
    pub fn sign(&self, root: &SigningKey) -> Vec<u8> {
        crate::cose::sign(root, cbor::encode(&self.to_value()))
    }
}

/// Verifies a COSE_Sign1 document signed by one of `keys` and returns its payload and signer index.
pub(crate) fn verify_signed_document<'k>(
    bytes: &[u8],
    limits: &CborLimits,
    keys: impl Iterator<Item = (&'k [u8; KID_LEN], &'k VerifyingKey)>,
) -> Result<(Value, [u8; KID_LEN]), DocumentError> {
    let sign1 = Sign1::from_cbor(bytes, limits)?;
    let header = sign1.strict_header().map_err(|e| match e {
        HeaderError::Malformed(m) => DocumentError::Malformed(m),
        HeaderError::UnsupportedAlgorithm(alg) => DocumentError::UnsupportedAlgorithm(alg),
    })?;
    let (_, key) = keys
        .into_iter()
        .find(|(kid, _)| **kid == header.kid)
        .ok_or_else(|| DocumentError::UnknownSigner {
            kid: hex(&header.kid),
        })?;
    let signature = sign1.ed25519_signature()?;
    if !crate::signature::verify_strict(key, &sign1.to_be_signed(), &signature) {
        return Err(DocumentError::BadSignature);
    }
    let value = cbor::decode(&sign1.payload, limits).map_err(Malformed::from)?;
    Ok((value, header.kid))
}

/// Lower-case hex, for key ids in messages.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl TrustBundle {
    /// Verifies a bundle file against the root public key.
    pub fn verify(bytes: &[u8], root: &VerifyingKey) -> Result<TrustBundle, DocumentError> {
        let root_kid = key_id(root.as_bytes());
        let (value, _) = verify_signed_document(
            bytes,
            &CborLimits::TRUST_BUNDLE,
            std::iter::once((&root_kid, root)),
        )?;
        let content = TrustBundleContent::from_value(value)?;
        let verifying_keys = content
            .keys
            .iter()
            .map(|k| crate::signature::public_key(&k.public_key, "authority key"))
            .collect::<Result<_, _>>()?;
        Ok(TrustBundle {
            content,
            bytes: bytes.to_vec(),
            verifying_keys,
        })
    }

    /// The key with this id, and its parsed public key.
    pub fn key(&self, kid: &[u8; KID_LEN]) -> Option<(&AuthorityKey, &VerifyingKey)> {
        self.content
            .keys
            .iter()
            .zip(&self.verifying_keys)
            .find(|(k, _)| k.kid == *kid)
    }

    /// Every key with its parsed public key (retired ones too: callers decide).
    pub(crate) fn active_keys(&self) -> impl Iterator<Item = (&AuthorityKey, &VerifyingKey)> {
        self.content.keys.iter().zip(&self.verifying_keys)
    }
}
