//! Vectors for installing trust material (spec §9.2 trust bundles, §10.4 status
//! lists): each a signed file and the verdict of `TrustBundle::verify` against the
//! context's root key, or of `StatusList::verify` against the context's bundle:
//! `accepted` or a trust-material code of §12. Each tests one rule, with both sides
//! of every comparison (equal, one past).

use std::io::Write;

use ciborium::value::Value;
use credential::cbor::{self, int};
use credential::ed25519_dalek::SigningKey;
use credential::limits::MAX_STATUS_LIST_ENTRIES;
use credential::status_list::COMPACTION_MARGIN_S;
use credential::trust_bundle::TrustBundleContent;

use crate::fixture::*;

/// One trust-material vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentVector {
    /// File stem.
    pub name: String,
    /// What it tests.
    pub comment: String,
    /// `trust_bundle` or `status_list`.
    pub kind: String,
    /// The signed file.
    pub input: Vec<u8>,
    /// `accepted` or a trust-material reason code.
    pub expect: String,
}

impl DocumentVector {
    /// The JSON file content.
    pub fn to_json(&self) -> String {
        let value = serde_json::json!({
            "name": self.name,
            "comment": self.comment,
            "kind": self.kind,
            "input": hex::encode(&self.input),
            "expect": self.expect,
        });
        serde_json::to_string_pretty(&value).expect("JSON") + "\n"
    }

    /// Parses a vector file.
    pub fn from_json(text: &str) -> Result<DocumentVector, String> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let s = |k: &str| {
            v[k].as_str()
                .map(str::to_owned)
                .ok_or(format!("missing {k}"))
        };
        Ok(DocumentVector {
            name: s("name")?,
            comment: s("comment")?,
            kind: s("kind")?,
            input: hex::decode(s("input")?).map_err(|e| e.to_string())?,
            expect: s("expect")?,
        })
    }
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("in memory");
    encoder.finish().expect("in memory")
}

/// A status list payload with every field given, signed by `key`.
struct ListPayload {
    iss: String,
    issued_at: u64,
    next_update: u64,
    bits: u64,
    size: u64,
    lst: Vec<u8>,
    extra: Option<(Value, Value)>,
}

impl ListPayload {
    fn standard() -> ListPayload {
        let list = status_list();
        // The fixture's compressed entries, as its signed file carries them.
        let signed = credential::cose::Sign1::from_cbor(
            &status_list_bytes(),
            &credential::limits::CborLimits::STATUS_LIST,
        )
        .expect("fixture list");
        let payload = cbor::decode(
            &signed.payload,
            &credential::limits::CborLimits::STATUS_LIST,
        )
        .expect("fixture payload");
        let lst = match payload {
            Value::Map(entries) => entries
                .into_iter()
                .find_map(|(k, v)| match (k, v) {
                    (Value::Integer(k), Value::Bytes(b)) if i128::from(k) == 6 => Some(b),
                    _ => None,
                })
                .expect("lst"),
            _ => unreachable!("a status list payload is a map"),
        };
        ListPayload {
            iss: AUTHORITY.into(),
            issued_at: list.issued_at,
            next_update: list.next_update,
            bits: 2,
            size: STATUS_LIST_SIZE,
            lst,
            extra: None,
        }
    }

    fn sign(&self, key: &SigningKey) -> Vec<u8> {
        let mut entries = vec![
            (int(1), Value::Text(self.iss.clone())),
            (int(2), int(self.issued_at)),
            (int(3), int(self.next_update)),
            (int(4), int(self.bits)),
            (int(5), int(self.size)),
            (int(6), Value::Bytes(self.lst.clone())),
        ];
        entries.extend(self.extra.clone());
        credential::cose::sign(key, cbor::encode(&cbor::map(entries)))
    }
}

fn flip_last_bit(mut bytes: Vec<u8>) -> Vec<u8> {
    if let Some(last) = bytes.last_mut() {
        *last ^= 1;
    }
    bytes
}

struct Builder(Vec<DocumentVector>);

impl Builder {
    fn add(&mut self, kind: &str, name: &str, comment: &str, input: Vec<u8>, expect: &str) {
        self.0.push(DocumentVector {
            name: name.into(),
            comment: comment.into(),
            kind: kind.into(),
            input,
            expect: expect.into(),
        });
    }

    fn bundle(
        &mut self,
        name: &str,
        comment: &str,
        edit: impl FnOnce(&mut TrustBundleContent),
        expect: &str,
    ) {
        let mut content = trust_bundle_content();
        edit(&mut content);
        self.add(
            "trust_bundle",
            name,
            comment,
            content.sign(&root_key()),
            expect,
        );
    }

    fn list(
        &mut self,
        name: &str,
        comment: &str,
        edit: impl FnOnce(&mut ListPayload),
        expect: &str,
    ) {
        let mut payload = ListPayload::standard();
        edit(&mut payload);
        self.add(
            "status_list",
            name,
            comment,
            payload.sign(&authority_key()),
            expect,
        );
    }
}

/// Every trust-material vector, in a stable order.
pub fn vectors() -> Vec<DocumentVector> {
    let mut b = Builder(Vec::new());
    let tb = "trust_bundle";
    b.add(
        tb,
        "bundle-accepted",
        "The context's trust bundle.",
        trust_bundle_bytes(),
        "accepted",
    );
    b.add(
        tb,
        "bundle-unknown-signer",
        "A bundle signed by a key other than the root (§9.2 rule 2).",
        trust_bundle_content().sign(&stranger_key()),
        "unknown_issuer",
    );
    b.add(
        tb,
        "bundle-bad-signature",
        "The root signature with its last bit flipped (rule 3).",
        flip_last_bit(trust_bundle_bytes()),
        "bad_signature",
    );
    let payload = {
        let signed = credential::cose::Sign1::from_cbor(
            &trust_bundle_bytes(),
            &credential::limits::CborLimits::TRUST_BUNDLE,
        )
        .expect("bundle");
        signed.payload
    };
    for (name, comment, alg, expect) in [
        (
            "bundle-alg-es256",
            "Protected alg −7 (ES256), signed by the root (rule 1).",
            cbor::encode(&int(-7)),
            "unsupported_algorithm",
        ),
        (
            "bundle-alg-i64-min",
            "Protected alg −2^63: an integer other than −8 (rule 1, §4.2 rule 4).",
            crate::CBOR_I64_MIN.to_vec(),
            "unsupported_algorithm",
        ),
        (
            "bundle-alg-below-i64-range",
            "Protected alg −2^63 − 1, outside the signed 64-bit range (§4.2 rule 4).",
            crate::CBOR_BELOW_I64_MIN.to_vec(),
            "malformed",
        ),
    ] {
        let protected = crate::protected_with_raw_alg(&alg, &root_key());
        let signature = credential::signature::sign(
            &root_key(),
            &credential::cose::to_be_signed(&protected, &[], &payload),
        );
        b.add(
            tb,
            name,
            comment,
            credential::cose::assemble(
                protected,
                Value::Map(vec![]),
                payload.clone(),
                signature.to_vec(),
            ),
            expect,
        );
    }
    b.bundle(
        "bundle-issued-at-equals-next-update",
        "issued_at = next_update (rule 4: issued_at ≤ next_update).",
        |c| c.issued_at = c.next_update,
        "accepted",
    );
    b.bundle(
        "bundle-issued-at-after-next-update",
        "issued_at = next_update + 1.",
        |c| c.issued_at = c.next_update + 1,
        "malformed",
    );
    b.bundle(
        "bundle-key-valid-from-equals-valid-to",
        "An entry with valid_from = valid_to (rule 4: valid_from ≤ valid_to).",
        |c| c.keys[0].valid_from = c.keys[0].valid_to,
        "accepted",
    );
    b.bundle(
        "bundle-key-valid-from-after-valid-to",
        "An entry with valid_from = valid_to + 1.",
        |c| c.keys[0].valid_from = c.keys[0].valid_to + 1,
        "malformed",
    );
    let code_256 = format!("{}J", "川".repeat(85));
    b.bundle(
        "bundle-authority-code-256-bytes",
        "An authority code of 256 bytes of UTF-8, the most allowed.",
        |c| c.keys[2].authority_code = code_256.clone(),
        "accepted",
    );
    b.bundle(
        "bundle-authority-code-257-bytes",
        "An authority code of 257 bytes, one past.",
        |c| c.keys[2].authority_code = format!("{code_256}J"),
        "malformed",
    );
    b.bundle(
        "bundle-authority-name-empty",
        "An empty authority name (0 bytes; at least 1 is required).",
        |c| c.keys[2].authority_name = String::new(),
        "malformed",
    );
    b.bundle(
        "bundle-authority-name-one-byte",
        "An authority name of 1 byte, the least allowed.",
        |c| c.keys[2].authority_name = "A".into(),
        "accepted",
    );
    b.bundle(
        "bundle-authority-code-control-character",
        "An authority code with U+0007 (BEL), of general category Cc (§9.2 rule 4).",
        |c| c.keys[2].authority_code = "川\u{7}A".into(),
        "malformed",
    );
    b.bundle(
        "bundle-authority-name-c1-control-character",
        "An authority name ending in U+009F, the last Cc character.",
        |c| c.keys[2].authority_name = "四川省成都市公安局交通警察支队\u{9f}".into(),
        "malformed",
    );
    b.bundle(
        "bundle-authority-name-no-break-space",
        "An authority name with U+00A0 (no-break space), just past the Cc range: allowed.",
        |c| c.keys[2].authority_name = "四川省\u{a0}成都市".into(),
        "accepted",
    );
    b.bundle(
        "bundle-duplicate-kid",
        "The same key listed twice (rule 4: no two entries with one kid).",
        |c| c.keys.push(c.keys[0].clone()),
        "malformed",
    );
    b.bundle(
        "bundle-kid-not-fingerprint",
        "An entry whose kid is not kid(public key).",
        |c| c.keys[0].kid[0] ^= 1,
        "malformed",
    );
    b.bundle(
        "bundle-small-order-key",
        "An entry whose public key is the identity point (small order, rule 4).",
        |c| {
            let mut identity = [0u8; 32];
            identity[0] = 1;
            c.keys[2].public_key = identity;
            c.keys[2].kid = credential::signature::key_id(&identity);
        },
        "malformed",
    );

    let sl = "status_list";
    b.add(
        sl,
        "list-accepted",
        "The context's status list of 川J.",
        status_list_bytes(),
        "accepted",
    );
    b.add(
        sl,
        "list-wrong-tag",
        "The status list with COSE tag 17 instead of 18 (§10.4 step 1).",
        {
            let mut bytes = status_list_bytes();
            bytes[0] = 0xd1;
            bytes
        },
        "malformed",
    );
    b.add(
        sl,
        "list-unknown-signer",
        "Signed by a key in no bundle entry (step 2).",
        ListPayload::standard().sign(&stranger_key()),
        "unknown_issuer",
    );
    b.add(
        sl,
        "list-bad-signature",
        "The signature's last bit flipped (step 3).",
        flip_last_bit(status_list_bytes()),
        "bad_signature",
    );
    b.add(sl, "list-signed-by-retired-key", "Signed by 川J's retired key (step 5; also outside that key's validity, which is checked later).", ListPayload::standard().sign(&retired_key()), "issuer_key_retired");
    b.list(
        "list-unknown-payload-key",
        "An extra payload key 7 (step 6: the CDDL exactly).",
        |p| p.extra = Some((int(7), int(0))),
        "malformed",
    );
    b.list(
        "list-unknown-payload-key-8",
        "An extra payload key 8 (step 6: the CDDL exactly). (Key 7 = 0 is list-unknown-payload-key: no compaction is spelt by omitting key 7.)",
        |p| p.extra = Some((int(8), int(1))),
        "malformed",
    );
    b.list(
        "list-compacted-before-not-uint",
        "compacted_before (key 7) as a text string (step 6).",
        |p| p.extra = Some((int(7), Value::Text("1".into()))),
        "malformed",
    );
    let latest_horizon = |p: &ListPayload| p.issued_at - COMPACTION_MARGIN_S;
    b.list(
        "list-compacted-before-at-margin",
        "compacted_before = issued_at − 31 d − 60 s, the latest horizon allowed (step 8, §10.5).",
        |p| p.extra = Some((int(7), int(latest_horizon(p)))),
        "accepted",
    );
    b.list(
        "list-compacted-before-inside-margin",
        "compacted_before = issued_at − 31 d − 60 s + 1: a horizon too close to the signing time (step 8).",
        |p| p.extra = Some((int(7), int(latest_horizon(p) + 1))),
        "malformed",
    );
    b.list(
        "list-issuer-mismatch",
        "iss 川A in a list signed by a 川J key (step 7).",
        |p| p.iss = "川A".into(),
        "issuer_mismatch",
    );
    b.list(
        "list-bits-1-and-issuer-mismatch",
        "bits = 1 and iss 川A: iss is checked (step 7) before bits (step 10).",
        |p| {
            p.iss = "川A".into();
            p.bits = 1;
        },
        "issuer_mismatch",
    );
    b.list(
        "list-bits-1",
        "bits = 1 (step 10: only 2 in version 1).",
        |p| p.bits = 1,
        "malformed",
    );
    b.list(
        "list-issued-at-equals-next-update",
        "issued_at = next_update (step 8).",
        |p| p.next_update = p.issued_at,
        "accepted",
    );
    b.list(
        "list-issued-at-after-next-update",
        "issued_at = next_update + 1 (step 8).",
        |p| p.next_update = p.issued_at - 1,
        "malformed",
    );
    let key_from = T0 - 365 * DAY;
    let key_to = T0 + 3 * 365 * DAY;
    for (name, comment, at, expect) in [
        (
            "list-signed-at-key-valid-from",
            "issued_at = the signing key's valid_from (step 9).",
            key_from,
            "accepted",
        ),
        (
            "list-signed-before-key-valid-from",
            "issued_at = valid_from − 1 (step 9).",
            key_from - 1,
            "issuer_key_not_valid_at_time",
        ),
        (
            "list-signed-at-key-valid-to",
            "issued_at = the signing key's valid_to (step 9).",
            key_to,
            "accepted",
        ),
        (
            "list-signed-after-key-valid-to",
            "issued_at = valid_to + 1 (step 9).",
            key_to + 1,
            "issuer_key_not_valid_at_time",
        ),
    ] {
        b.list(
            name,
            comment,
            |p| {
                p.issued_at = at;
                p.next_update = at + DAY;
            },
            expect,
        );
    }
    b.list(
        "list-size-at-maximum",
        "size = 2^27 entries, the most allowed (step 10), all valid.",
        |p| {
            p.size = MAX_STATUS_LIST_ENTRIES;
            p.lst = zlib(&vec![0; MAX_STATUS_LIST_ENTRIES.div_ceil(4) as usize]);
        },
        "accepted",
    );
    b.list(
        "list-size-one-past-maximum",
        "size = 2^27 + 1 (step 10), its lst the right length.",
        |p| {
            p.size = MAX_STATUS_LIST_ENTRIES + 1;
            p.lst = zlib(&vec![0; (MAX_STATUS_LIST_ENTRIES + 1).div_ceil(4) as usize]);
        },
        "malformed",
    );
    let packed = |len: usize| zlib(&vec![0; len]);
    b.list(
        "list-inflates-one-byte-long",
        "lst inflates to ceil(size / 4) + 1 bytes (step 11).",
        |p| p.lst = packed(251),
        "malformed",
    );
    b.list(
        "list-inflates-one-byte-short",
        "lst inflates to ceil(size / 4) − 1 bytes (step 11).",
        |p| p.lst = packed(249),
        "malformed",
    );
    b.list(
        "list-bytes-after-zlib-stream",
        "One byte after the end of the zlib stream in lst (step 11).",
        |p| p.lst.push(0),
        "malformed",
    );
    b.list(
        "list-raw-deflate",
        "lst as raw deflate without the zlib header and Adler-32 (step 11).",
        |p| {
            let mut encoder =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
            encoder.write_all(&[0; 250]).expect("in memory");
            p.lst = encoder.finish().expect("in memory");
        },
        "malformed",
    );
    b.list(
        "list-padding-bits-zero",
        "size = 999: the top two bits of the last byte are padding, here 0.",
        |p| {
            p.size = 999;
            p.lst = packed(250);
        },
        "accepted",
    );
    b.list(
        "list-padding-bits-set",
        "size = 999 with the padding bits of the last byte set (step 11).",
        |p| {
            p.size = 999;
            let mut bytes = vec![0; 250];
            bytes[249] = 0b1100_0000;
            p.lst = zlib(&bytes);
        },
        "malformed",
    );
    b.0
}
