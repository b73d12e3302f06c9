//! The presentation: what one QR code carries (spec §7.1).
//!
//! `[credential, presented_at, holder signature]`. The format version is not
//! repeated here: it is the text prefix (`DL1:`), which every channel carries. The
//! credential is embedded
//! as a CBOR item (not wrapped in a byte string: 3 bytes saved), and the decoder
//! keeps its exact bytes, over which the holder's digest and the issuer's
//! signature are computed.

use ciborium::value::Value;

use crate::cbor::{self, int, take};
use crate::error::{Malformed, VerifyError};
use crate::limits::CborLimits;
use crate::profile::Profile;

/// The format version this crate implements (the `1` of the `DL1:` prefix).
pub const FORMAT_VERSION: u64 = 1;

/// A decoded (not yet verified) presentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presentation {
    /// The credential: tagged COSE_Sign1 bytes as received.
    pub credential: Vec<u8>,
    /// When the holder's phone generated it.
    pub presented_at: u64,
    /// The device key's signature.
    pub holder_signature: [u8; 64],
}

impl Presentation {
    /// Decodes presentation bytes (no verification).
    pub fn decode(bytes: &[u8]) -> Result<Presentation, VerifyError> {
        let (items, raw) =
            cbor::decode_array_items(bytes, &CborLimits::DOCUMENT).map_err(Malformed::from)?;
        if raw.is_empty() {
            return Err(Malformed::WrongType("presentation").into());
        }
        let [_credential, presented_at, signature] =
            <[Value; 3]>::try_from(items).map_err(|_| Malformed::WrongLength("presentation"))?;
        let credential = raw.first().ok_or(Malformed::WrongLength("presentation"))?;
        Ok(Presentation {
            credential: credential.to_vec(),
            presented_at: take::uint(presented_at, "presented_at")?,
            holder_signature: take::bytes_of(signature, "holder signature")?,
        })
    }

    /// Encodes to presentation bytes.
    pub fn encode(&self) -> Vec<u8> {
        // The credential is spliced in as the bytes it is, never re-encoded.
        const ARRAY_OF_3: u8 = 0x83;
        [
            &[ARRAY_OF_3][..],
            &self.credential,
            &cbor::encode(&int(self.presented_at)),
            &cbor::encode(&Value::Bytes(self.holder_signature.to_vec())),
        ]
        .concat()
    }

    /// What the device key must sign to present `credential` of `profile` at `presented_at`.
    pub fn message_to_sign(credential: &[u8], profile: Profile, presented_at: u64) -> Vec<u8> {
        crate::holder_proof::message(profile, presented_at, &crate::signature::sha256(credential))
    }
}
