//! The status list: revocation and suspension, offline (spec §10).
//!
//! Modelled on the IETF Token Status List: two bits per serial, zlib-compressed,
//! signed by the authority. Fifty million mostly-valid serials compress to a few
//! hundred kilobytes. Decompression is bounded by the declared size, which is
//! itself bounded, so a zlib bomb costs at most 32 MiB.

use std::io::Read;

use ciborium::value::Value;
use ed25519_dalek::SigningKey;

use crate::cbor::{self, int, take};
use crate::error::{DocumentError, Malformed};
use crate::limits::{CborLimits, MAX_STATUS_LIST_ENTRIES};
use crate::trust_bundle::TrustBundle;

/// The status of one serial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SerialStatus {
    /// 0: valid.
    Valid = 0,
    /// 1: revoked (permanent).
    Revoked = 1,
    /// 2: suspended (may be lifted).
    Suspended = 2,
    /// 3: superseded by a re-issued credential (permanent).
    Superseded = 3,
}

impl SerialStatus {
    fn from_bits(bits: u8) -> SerialStatus {
        match bits & 3 {
            0 => SerialStatus::Valid,
            1 => SerialStatus::Revoked,
            2 => SerialStatus::Suspended,
            _ => SerialStatus::Superseded,
        }
    }

    /// Stable name.
    pub fn name(self) -> &'static str {
        match self {
            SerialStatus::Valid => "valid",
            SerialStatus::Revoked => "revoked",
            SerialStatus::Suspended => "suspended",
            SerialStatus::Superseded => "superseded",
        }
    }
}

/// A status list's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusList {
    /// The authority code whose serials it covers.
    pub issuer: String,
    /// When it was signed.
    pub issued_at: u64,
    /// When a newer one is due; after it the list is stale.
    pub next_update: u64,
    /// Number of serials covered (index = serial).
    pub size: u64,
    /// Two bits per serial, little-endian within each byte.
    packed: Vec<u8>,
}

const BITS: u64 = 2;

impl StatusList {
    /// An all-valid list of `size` serials.
    pub fn new(
        issuer: String,
        issued_at: u64,
        next_update: u64,
        size: u64,
    ) -> Result<StatusList, Malformed> {
        if size > MAX_STATUS_LIST_ENTRIES {
            return Err(Malformed::OutOfRange("status list size"));
        }
        Ok(StatusList {
            issuer,
            issued_at,
            next_update,
            size,
            packed: vec![0; packed_len(size)],
        })
    }

    /// The status of a serial; `None` if the list does not cover it.
    pub fn get(&self, serial: u64) -> Option<SerialStatus> {
        if serial >= self.size {
            return None;
        }
        let byte = *self.packed.get(usize::try_from(serial / 4).ok()?)?;
        Some(SerialStatus::from_bits(byte >> ((serial % 4) * BITS)))
    }

    /// Sets the status of a serial below `size`.
    pub fn set(&mut self, serial: u64, status: SerialStatus) -> Result<(), Malformed> {
        let index = usize::try_from(serial / 4).map_err(|_| Malformed::OutOfRange("serial"))?;
        let byte = self
            .packed
            .get_mut(index)
            .filter(|_| serial < self.size)
            .ok_or(Malformed::OutOfRange("serial"))?;
        let shift = (serial % 4) * BITS;
        *byte = (*byte & !(3 << shift)) | ((status as u8) << shift);
        Ok(())
    }

    /// Signs the list with the authority key.
    pub fn sign(&self, key: &SigningKey) -> Vec<u8> {
        let mut compressed =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        // Invariant: writing to a Vec cannot fail.
        #[allow(clippy::expect_used)]
        let lst = {
            std::io::Write::write_all(&mut compressed, &self.packed).expect("Vec write");
            compressed.finish().expect("Vec write")
        };
        let payload = cbor::map(vec![
            (int(1), Value::Text(self.issuer.clone())),
            (int(2), int(self.issued_at)),
            (int(3), int(self.next_update)),
            (int(4), int(BITS)),
            (int(5), int(self.size)),
            (int(6), Value::Bytes(lst)),
        ]);
        crate::cose::sign(key, cbor::encode(&payload))
    }

    /// Verifies a signed status list against the trust bundle.
    pub fn verify(bytes: &[u8], bundle: &TrustBundle) -> Result<StatusList, DocumentError> {
        let (value, kid) = crate::trust_bundle::verify_signed_document(
            bytes,
            &CborLimits::STATUS_LIST,
            bundle.active_keys().map(|(k, v)| (&k.kid, v)),
        )?;
        let (signer, _) = bundle.key(&kid).ok_or(DocumentError::BadSignature)?;
        if signer.retired {
            return Err(DocumentError::SignerRetired(signer.authority_code.clone()));
        }
        let mut map = take::IntMap::new(value, "status list")?;
        let issuer = take::text(map.required(1, "iss")?, "iss")?;
        let issued_at = take::uint(map.required(2, "issued_at")?, "issued_at")?;
        let next_update = take::uint(map.required(3, "next_update")?, "next_update")?;
        let bits = take::uint(map.required(4, "bits")?, "bits")?;
        let size = take::uint(map.required(5, "size")?, "size")?;
        let lst = take::bytes(map.required(6, "lst")?, "lst")?;
        map.finish()?;
        if issuer != signer.authority_code {
            return Err(DocumentError::IssuerMismatch {
                claimed: issuer,
                actual: signer.authority_code.clone(),
            });
        }
        if issued_at > next_update {
            return Err(Malformed::Invalid("issued_at after next_update").into());
        }
        // A rotated-out key must not speak for the authority's current serials.
        if !(signer.valid_from..=signer.valid_to).contains(&issued_at) {
            return Err(DocumentError::SignerNotValidAtTime {
                issued_at,
                valid_from: signer.valid_from,
                valid_to: signer.valid_to,
            });
        }
        if bits != BITS {
            return Err(Malformed::Invalid("bits (only 2)").into());
        }
        if size > MAX_STATUS_LIST_ENTRIES {
            return Err(Malformed::OutOfRange("status list size").into());
        }
        let packed = inflate_exact(&lst, packed_len(size))?;
        // One encoding per list: the padding bits after the last entry are zero.
        let used_bits = (size % 4) * BITS;
        if used_bits != 0 && packed.last().is_some_and(|last| last >> used_bits != 0) {
            return Err(
                Malformed::BadStatusList("padding bits after the last entry are not zero").into(),
            );
        }
        Ok(StatusList {
            issuer,
            issued_at,
            next_update,
            size,
            packed,
        })
    }
}

fn packed_len(size: u64) -> usize {
    // size <= MAX_STATUS_LIST_ENTRIES, so this fits.
    usize::try_from(size.div_ceil(4)).unwrap_or(usize::MAX)
}

/// Inflates zlib data that must produce exactly `len` bytes, reading at most `len + 1`,
/// and must end exactly where the zlib stream ends.
fn inflate_exact(compressed: &[u8], len: usize) -> Result<Vec<u8>, Malformed> {
    let corrupt = |_| Malformed::BadStatusList("not valid zlib data");
    let mut out = Vec::with_capacity(len.min(1 << 20));
    let mut decoder = flate2::read::ZlibDecoder::new(compressed);
    (&mut decoder)
        .take(len as u64 + 1)
        .read_to_end(&mut out)
        .map_err(corrupt)?;
    if out.len() != len {
        return Err(Malformed::BadStatusList(
            "decompressed size differs from the declared size",
        ));
    }
    // One more read reaches the end of the stream, so total_in covers all of it.
    let mut probe = [0u8; 1];
    if decoder.read(&mut probe).map_err(corrupt)? != 0
        || decoder.total_in() != compressed.len() as u64
    {
        return Err(Malformed::BadStatusList(
            "bytes after the end of the zlib stream",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bit_layout_matches_the_spec_example() {
        let mut list = StatusList::new("川J".into(), 0, 0, 8).unwrap();
        for (serial, status) in [0u8, 1, 2, 3, 0, 0, 1, 0].into_iter().enumerate() {
            list.set(serial as u64, SerialStatus::from_bits(status))
                .unwrap();
        }
        assert_eq!(list.packed, vec![0xe4, 0x10]);
        assert_eq!(list.get(3), Some(SerialStatus::Superseded));
        assert_eq!(list.get(8), None);
        assert!(list.set(8, SerialStatus::Revoked).is_err());
    }

    #[test]
    fn padding_bits_after_the_last_entry_must_be_zero() {
        use crate::trust_bundle::{AuthorityKey, TrustBundleContent};
        let root = SigningKey::from_bytes(&[1; 32]);
        let authority = SigningKey::from_bytes(&[2; 32]);
        let public_key = authority.verifying_key().to_bytes();
        let content = TrustBundleContent {
            version: 1,
            issued_at: 0,
            next_update: 10,
            keys: vec![AuthorityKey {
                kid: crate::signature::key_id(&public_key),
                public_key,
                authority_code: "川J".into(),
                authority_name: "n".into(),
                valid_from: 0,
                valid_to: 10,
                retired: false,
            }],
        };
        let bundle = TrustBundle::verify(&content.sign(&root), &root.verifying_key()).unwrap();
        let clean = StatusList {
            issuer: "川J".into(),
            issued_at: 0,
            next_update: 10,
            size: 5,
            packed: vec![0, 0b0000_0001],
        };
        assert_eq!(
            StatusList::verify(&clean.sign(&authority), &bundle)
                .unwrap()
                .get(4),
            Some(SerialStatus::Revoked)
        );
        let dirty = StatusList {
            packed: vec![0, 0b0000_0101],
            ..clean.clone()
        };
        assert!(
            StatusList::verify(&dirty.sign(&authority), &bundle).is_err(),
            "serial 5 is past the size"
        );
        let backwards = StatusList {
            issued_at: 9,
            next_update: 8,
            ..clean.clone()
        };
        assert!(
            StatusList::verify(&backwards.sign(&authority), &bundle).is_err(),
            "issued after next_update"
        );
        let late = StatusList {
            issued_at: 11,
            next_update: 20,
            ..clean
        };
        assert!(
            matches!(
                StatusList::verify(&late.sign(&authority), &bundle),
                Err(DocumentError::SignerNotValidAtTime { .. })
            ),
            "signed after the key's validity ended"
        );
    }

    #[test]
    fn inflate_is_bounded_by_the_declared_size() {
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut enc, &vec![0u8; 10_000_000]).unwrap();
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 20_000);
        assert!(inflate_exact(&bomb, 1000).is_err());
        assert_eq!(inflate_exact(&bomb, 10_000_000).unwrap().len(), 10_000_000);
        assert!(inflate_exact(b"not zlib", 10).is_err());
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut enc, &[0u8; 100]).unwrap();
        let mut trailing = enc.finish().unwrap();
        assert_eq!(inflate_exact(&trailing, 100).unwrap().len(), 100);
        trailing.push(0);
        assert!(inflate_exact(&trailing, 100).is_err());
    }
}
