//! The status list: revocation and suspension, offline (spec §10).
//!
//! Modelled on the IETF Token Status List: two bits per serial, zlib-compressed,
//! signed by the authority. Fifty million mostly-valid serials compress to a few
//! hundred kilobytes. Decompression is bounded by the declared size, which is
//! itself bounded, so a zlib bomb costs at most 32 MiB.
//!
//! Compaction (§10.5): an entry only matters while a credential with that serial
//! can still verify, so an issuer returns it to 0 once every credential of the
//! serial expired before the list's [`StatusList::compaction_horizon`], and a
//! verifier rejects any credential that old outright (step 14). A list then
//! carries only what changed within about one credential lifetime, and
//! [`CompressedEntries::from_sorted`] builds it from those few entries, streaming,
//! without ever holding the packed entries of a large authority in memory.

use miniz_oxide::deflate::core::{
    compress_to_output, create_comp_flags_from_zip_params, CompressionStrategy, CompressorOxide,
    TDEFLFlush, TDEFLStatus,
};
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
    /// The compaction horizon (§10.5), if the issuer compacted the list: every
    /// credential of this authority that expired at or before it is refused, so
    /// entries of serials whose credentials all expired by then may read 0.
    pub compacted_before: Option<u64>,
    /// Two bits per serial, little-endian within each byte.
    packed: Vec<u8>,
}

const BITS: u64 = 2;

/// How long before a list's `issued_at` its compaction horizon may be at the
/// latest (spec §10.5): the default longest credential lifetime (31 days, §2.3)
/// plus the default clock skew (60 s). A constant of the format, not verifier
/// policy, so issuers and verifiers agree on it.
pub const COMPACTION_MARGIN_S: u64 = 31 * 86_400 + 60;

/// The longest credential lifetime the compaction rule assumes (§2.3 default):
/// every credential a verifier with the default policy accepts expires at most
/// this long after it was issued.
pub const COMPACTION_LIFETIME_S: u64 = 31 * 86_400;

/// The latest horizon a list signed at `issued_at` may carry (spec §10.5), or
/// `None` if the list is signed too close to the epoch to carry one.
pub fn latest_compaction_horizon(issued_at: u64) -> Option<u64> {
    issued_at
        .checked_sub(COMPACTION_MARGIN_S)
        .filter(|horizon| *horizon >= 1)
}

/// Whether an issuer must still publish the entry of a serial whose latest
/// credential has these times, on a list with compaction horizon `horizon`
/// (spec §10.5). Earlier credentials of the serial were issued no later than
/// `latest_issued_at`, and a verifier with the default policy refuses any that
/// lives longer than [`COMPACTION_LIFETIME_S`], so none of them expires after
/// `latest_issued_at + COMPACTION_LIFETIME_S`; a longer-lived latest credential
/// is covered by its own expiry.
pub fn entry_still_matters(latest_issued_at: u64, latest_expires_at: u64, horizon: u64) -> bool {
    latest_expires_at > horizon || latest_issued_at.saturating_add(COMPACTION_LIFETIME_S) > horizon
}

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
            compacted_before: None,
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
        let mut compressed = Deflater::new();
        compressed.write(&self.packed);
        let lst = compressed.finish();
        let times = ListTimes {
            issued_at: self.issued_at,
            next_update: self.next_update,
            compacted_before: self.compacted_before,
        };
        sign_payload(&self.issuer, times, self.size, lst, key)
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
        let compacted_before = map
            .optional(7)
            .map(|v| take::uint(v, "compacted_before"))
            .transpose()?;
        map.finish()?;
        // No compaction has one encoding: the key absent, never 0.
        if compacted_before == Some(0) {
            return Err(Malformed::OutOfRange("compacted_before (0: omit the key)").into());
        }
        if issuer != signer.authority_code {
            return Err(DocumentError::IssuerMismatch {
                claimed: issuer,
                actual: signer.authority_code.clone(),
            });
        }
        if issued_at > next_update {
            return Err(Malformed::Invalid("issued_at after next_update").into());
        }
        if compacted_before.is_some_and(|h| latest_compaction_horizon(issued_at) < Some(h)) {
            return Err(Malformed::Invalid(
                "compacted_before later than issued_at minus the compaction margin",
            )
            .into());
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
            compacted_before,
            packed,
        })
    }
}

/// A list's entries, packed (§10.2) and compressed, ready to be signed with
/// [`CompressedEntries::sign`]. Built by streaming, so an authority's packed
/// entries (up to 32 MiB) never exist in memory at once: only a 64 KiB chunk
/// and the compressed output do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompressedEntries {
    size: u64,
    lst: Vec<u8>,
}

/// Packed bytes are handed to the encoder in chunks of this size.
const CHUNK_BYTES: usize = 64 * 1024;

impl CompressedEntries {
    /// Compresses a list of `size` serials whose non-zero entries are `entries`,
    /// in strictly increasing serial order (the order a database index gives); a
    /// serial out of order or not below `size` is refused.
    pub fn from_sorted(
        size: u64,
        entries: impl IntoIterator<Item = (u64, SerialStatus)>,
    ) -> Result<CompressedEntries, Malformed> {
        if size > MAX_STATUS_LIST_ENTRIES {
            return Err(Malformed::OutOfRange("status list size"));
        }
        let mut packer = Packer {
            encoder: Deflater::new(),
            chunk: Vec::with_capacity(CHUNK_BYTES),
            written: 0,
        };
        let mut previous: Option<u64> = None;
        for (serial, status) in entries {
            if serial >= size || previous.is_some_and(|p| serial <= p) {
                return Err(Malformed::OutOfRange(
                    "serial (unsorted or beyond the size)",
                ));
            }
            previous = Some(serial);
            packer.set(serial / 4, (status as u8) << ((serial % 4) * BITS));
        }
        let lst = packer.finish(size.div_ceil(4));
        Ok(CompressedEntries { size, lst })
    }

    /// Number of serials covered.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes of the compressed entries.
    pub fn compressed_len(&self) -> usize {
        self.lst.len()
    }

    /// Signs the list of `issuer` with these entries.
    pub fn sign(self, issuer: &str, times: ListTimes, key: &SigningKey) -> Vec<u8> {
        sign_payload(issuer, times, self.size, self.lst, key)
    }
}

/// The instants a list carries (§10.1 keys 2, 3 and 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListTimes {
    /// When it is signed.
    pub issued_at: u64,
    /// When a newer one is due.
    pub next_update: u64,
    /// The compaction horizon, if the issuer compacted (§10.5); at most
    /// [`latest_compaction_horizon`] of `issued_at`, never 0.
    pub compacted_before: Option<u64>,
}

/// Feeds packed bytes to the encoder, a chunk at a time.
struct Packer {
    encoder: Deflater,
    chunk: Vec<u8>,
    /// Packed bytes handed over so far, the chunk included.
    written: u64,
}

impl Packer {
    /// ORs `bits` into packed byte `index`, writing zeros up to it first.
    fn set(&mut self, index: u64, bits: u8) {
        if index + 1 == self.written {
            if let Some(last) = self.chunk.last_mut() {
                *last |= bits;
                return;
            }
        }
        self.zeros_until(index);
        self.push(bits);
    }

    fn zeros_until(&mut self, index: u64) {
        while self.written < index {
            self.flush_if_full();
            let room = (CHUNK_BYTES - self.chunk.len()) as u64;
            let run = room.min(index - self.written);
            // run <= CHUNK_BYTES, so it fits a usize.
            self.chunk.resize(self.chunk.len() + run as usize, 0);
            self.written += run;
        }
    }

    /// Flushing before a byte is added, never after, keeps the last byte in the
    /// chunk, where a later entry of the same byte can still be ORed in.
    fn push(&mut self, byte: u8) {
        self.flush_if_full();
        self.chunk.push(byte);
        self.written += 1;
    }

    fn flush_if_full(&mut self) {
        if self.chunk.len() >= CHUNK_BYTES {
            self.flush();
        }
    }

    fn flush(&mut self) {
        self.encoder.write(&self.chunk);
        self.chunk.clear();
    }

    fn finish(mut self, packed_len: u64) -> Vec<u8> {
        self.zeros_until(packed_len);
        self.flush();
        self.encoder.finish()
    }
}

/// The one encoder of `lst`: zlib (RFC 1950) by miniz_oxide at level 9 with the
/// run-length strategy (matches at distance 1 only). A list is long runs of zero
/// bytes between rare non-zero ones; the default strategy spends distance bits on
/// matches found far back, where a run of the previous byte says the same. Measured
/// on the national lists (`cargo bench -p issuer --bench status_lists`): 20 bits a
/// non-zero entry instead of 26, in a quarter of the time. Any zlib stream is valid
/// (§10.4 step 11), so this changes bytes, not the format.
struct Deflater {
    compressor: Box<CompressorOxide>,
    out: Vec<u8>,
}

impl Deflater {
    fn new() -> Deflater {
        let flags = create_comp_flags_from_zip_params(
            9,
            // Positive window bits: a zlib header and Adler-32 trailer.
            15,
            CompressionStrategy::RLE as i32,
        );
        Deflater {
            compressor: Box::new(CompressorOxide::new(flags)),
            out: Vec::new(),
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        self.compress(bytes, TDEFLFlush::None);
    }

    fn finish(mut self) -> Vec<u8> {
        self.compress(&[], TDEFLFlush::Finish);
        self.out
    }

    /// Compresses all of `input` into `out`. The output callback always takes the
    /// bytes, so a call consumes its whole input (and a finishing call ends the
    /// stream); the loop only guards that.
    fn compress(&mut self, mut input: &[u8], flush: TDEFLFlush) {
        loop {
            let out = &mut self.out;
            let (status, used) = compress_to_output(&mut self.compressor, input, flush, |bytes| {
                out.extend_from_slice(bytes);
                true
            });
            input = input.get(used..).unwrap_or_default();
            // Invariant: the flags are valid and nothing is written after the end, so
            // the compressor cannot refuse; a refusal would be a bug here, not bad
            // input, and a truncated list must never be signed.
            assert!(
                matches!(status, TDEFLStatus::Okay | TDEFLStatus::Done),
                "deflate refused: {status:?}"
            );
            if status == TDEFLStatus::Done || (flush != TDEFLFlush::Finish && input.is_empty()) {
                return;
            }
        }
    }
}

fn sign_payload(
    issuer: &str,
    times: ListTimes,
    size: u64,
    lst: Vec<u8>,
    key: &SigningKey,
) -> Vec<u8> {
    let mut entries = vec![
        (int(1), Value::Text(issuer.to_owned())),
        (int(2), int(times.issued_at)),
        (int(3), int(times.next_update)),
        (int(4), int(BITS)),
        (int(5), int(size)),
        (int(6), Value::Bytes(lst)),
    ];
    if let Some(horizon) = times.compacted_before {
        entries.push((int(7), int(horizon)));
    }
    let payload = cbor::map(entries);
    crate::cose::sign(key, cbor::encode(&payload))
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
        let authority = SigningKey::from_bytes(&[2; 32]);
        let bundle = one_key_bundle(&authority, 10);
        let clean = StatusList {
            issuer: "川J".into(),
            issued_at: 0,
            next_update: 10,
            size: 5,
            compacted_before: None,
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

    /// A bundle with `authority` as 川J's one key, valid from 0 to `valid_to`.
    fn one_key_bundle(authority: &SigningKey, valid_to: u64) -> TrustBundle {
        use crate::trust_bundle::{AuthorityKey, TrustBundleContent};
        let root = SigningKey::from_bytes(&[1; 32]);
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
                valid_to,
                retired: false,
            }],
        };
        TrustBundle::verify(&content.sign(&root), &root.verifying_key()).unwrap()
    }

    #[test]
    fn streamed_entries_equal_the_dense_list_across_chunks() {
        let authority = SigningKey::from_bytes(&[2; 32]);
        let bundle = one_key_bundle(&authority, u64::MAX);
        // Entries in one byte, on both sides of a chunk boundary, and at the end.
        let size = (CHUNK_BYTES as u64) * 4 * 3 + 5;
        let chunk_serials = CHUNK_BYTES as u64 * 4;
        let entries = [
            (1, SerialStatus::Revoked),
            (2, SerialStatus::Suspended),
            (3, SerialStatus::Superseded),
            (chunk_serials - 5, SerialStatus::Suspended),
            (chunk_serials - 2, SerialStatus::Superseded),
            (chunk_serials - 1, SerialStatus::Revoked),
            (chunk_serials, SerialStatus::Superseded),
            (2 * chunk_serials + 7, SerialStatus::Suspended),
            (size - 1, SerialStatus::Revoked),
        ];
        let mut dense = StatusList::new("川J".into(), 5, 9, size).unwrap();
        for (serial, status) in entries {
            dense.set(serial, status).unwrap();
        }
        let streamed = CompressedEntries::from_sorted(size, entries).unwrap();
        assert_eq!(streamed.size(), size);
        let times = ListTimes {
            issued_at: 5,
            next_update: 9,
            compacted_before: None,
        };
        let signed = streamed.sign("川J", times, &authority);
        assert_eq!(StatusList::verify(&signed, &bundle).unwrap(), dense);
        // Same deflate input, so the same bytes as signing the dense list.
        assert_eq!(signed, dense.sign(&authority));
        let empty = CompressedEntries::from_sorted(0, []).unwrap();
        let verified = StatusList::verify(&empty.sign("川J", times, &authority), &bundle).unwrap();
        assert_eq!(verified.size, 0);
    }

    #[test]
    fn streamed_entries_must_be_sorted_and_below_the_size() {
        let revoked = SerialStatus::Revoked;
        assert!(CompressedEntries::from_sorted(10, [(3, revoked), (3, revoked)]).is_err());
        assert!(CompressedEntries::from_sorted(10, [(4, revoked), (3, revoked)]).is_err());
        assert!(CompressedEntries::from_sorted(10, [(10, revoked)]).is_err());
        assert!(CompressedEntries::from_sorted(MAX_STATUS_LIST_ENTRIES + 1, []).is_err());
        assert!(CompressedEntries::from_sorted(10, [(9, revoked)]).is_ok());
    }

    #[test]
    fn a_compacted_list_carries_a_horizon_at_least_the_margin_before_signing() {
        let authority = SigningKey::from_bytes(&[2; 32]);
        let bundle = one_key_bundle(&authority, u64::MAX);
        let issued_at = 100 * 86_400;
        let latest = latest_compaction_horizon(issued_at).unwrap();
        assert_eq!(latest, issued_at - 31 * 86_400 - 60);
        let sign = |compacted_before| {
            let times = ListTimes {
                issued_at,
                next_update: issued_at + 86_400,
                compacted_before,
            };
            let entries = CompressedEntries::from_sorted(8, [(3, SerialStatus::Revoked)]);
            StatusList::verify(&entries.unwrap().sign("川J", times, &authority), &bundle)
        };
        assert_eq!(sign(Some(latest)).unwrap().compacted_before, Some(latest));
        assert_eq!(sign(Some(1)).unwrap().compacted_before, Some(1));
        assert_eq!(sign(None).unwrap().compacted_before, None);
        assert!(sign(Some(latest + 1)).is_err(), "horizon within the margin");
        assert!(sign(Some(0)).is_err(), "0 is spelt by omitting the key");
        assert_eq!(latest_compaction_horizon(COMPACTION_MARGIN_S), None);
        assert_eq!(latest_compaction_horizon(COMPACTION_MARGIN_S + 1), Some(1));
    }

    #[test]
    fn an_entry_matters_until_every_credential_of_the_serial_is_past_the_horizon() {
        let horizon = 100 * 86_400;
        // A 7-day credential: the latest issue decides (an earlier one of the same
        // serial may have lived up to 31 days).
        let issued = horizon - COMPACTION_LIFETIME_S;
        assert!(!entry_still_matters(issued, issued + 7 * 86_400, horizon));
        assert!(entry_still_matters(
            issued + 1,
            issued + 1 + 7 * 86_400,
            horizon
        ));
        // A credential longer than 31 days: its own expiry decides.
        assert!(entry_still_matters(issued - 86_400, horizon + 1, horizon));
        assert!(!entry_still_matters(issued - 86_400, horizon, horizon));
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
