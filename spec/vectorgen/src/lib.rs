//! The generator of spec/vectors (spec §13) and the fixtures tests share.
//!
//! Every vector is built from fixed seeds and a fixed clock, states the verdict the
//! spec requires, and tests exactly one rule. `cargo run -p vectorgen` rewrites the
//! files; the `vectors` test fails if they differ from what this code generates,
//! and runs the verifier over each of them.

#![forbid(unsafe_code)]
// A generator and test fixtures: a failing expectation is a bug in the fixture, so
// panicking with a message is the right behaviour here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod fixture;
pub mod trust_material;

use ciborium::value::Value;
use credential::cbor::{self, int};
use credential::claims::Claims;
use credential::cose;
use credential::ed25519_dalek::SigningKey;
use credential::licence::{StatusSet, Validity};
use credential::presentation::Presentation;
use credential::qr_text::{to_qr_text, to_url_text};
use credential::signature::{key_id, sign};
use credential::Profile;
use fixture::*;

/// One test vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vector {
    /// File stem, e.g. `invalid-bad-signature-bit-flip`.
    pub name: String,
    /// What it tests.
    pub comment: String,
    /// The input as received: QR text, or (for the not-UTF-8 case) raw bytes.
    pub input: Vec<u8>,
    /// Verifier clock.
    pub now: u64,
    /// Whether the verifier holds the context's status list.
    pub status_lists: bool,
    /// A signed status list the verifier holds instead of the context's (the
    /// compacted list of §10.5); `None` for the context's.
    pub status_list: Option<Vec<u8>>,
    /// `valid` or a reason code.
    pub expect: String,
    /// Profile of a valid verdict.
    pub profile: Option<String>,
    /// Warning codes expected, in order.
    pub warnings: Vec<String>,
    /// Whether the verdict carries issuer-authenticated content (spec §11.1): valid,
    /// or rejected at step 7 or later. Rejections before the claims were decoded from
    /// signed bytes show nothing of the credential.
    pub authenticated: bool,
}

/// Whether a verdict with this `expect` carries issuer-authenticated content (spec
/// §11.1): valid, or a reason code of steps 7–14, i.e. from `issuer_key_not_valid_at_time`
/// on in the step-ordered table of §12.
pub fn shows_authenticated_content(expect: &str) -> bool {
    expect == "valid"
        || credential::VerifyError::REASON_CODES
            .iter()
            .skip_while(|code| **code != "issuer_key_not_valid_at_time")
            .any(|code| *code == expect)
}

impl Vector {
    /// The JSON file content.
    pub fn to_json(&self) -> String {
        let mut value = serde_json::json!({
            "name": self.name,
            "comment": self.comment,
            "now": self.now,
            "status_lists": self.status_lists,
            "expect": self.expect,
            "warnings": self.warnings,
            "authenticated": self.authenticated,
        });
        match std::str::from_utf8(&self.input) {
            Ok(text) => value["input"] = serde_json::json!(text),
            Err(_) => value["input_hex"] = serde_json::json!(hex::encode(&self.input)),
        }
        if let Some(profile) = &self.profile {
            value["profile"] = serde_json::json!(profile);
        }
        if let Some(list) = &self.status_list {
            value["status_list"] = serde_json::json!(hex::encode(list));
        }
        serde_json::to_string_pretty(&value).expect("JSON") + "\n"
    }

    /// Parses a vector file.
    pub fn from_json(text: &str) -> Result<Vector, String> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let s = |k: &str| {
            v[k].as_str()
                .map(str::to_owned)
                .ok_or(format!("missing {k}"))
        };
        Ok(Vector {
            name: s("name")?,
            comment: s("comment")?,
            input: match v["input_hex"].as_str() {
                Some(h) => hex::decode(h).map_err(|e| format!("input_hex: {e}"))?,
                None => s("input")?.into_bytes(),
            },
            now: v["now"].as_u64().ok_or("missing now")?,
            status_lists: v["status_lists"].as_bool().ok_or("missing status_lists")?,
            status_list: v["status_list"]
                .as_str()
                .map(|h| hex::decode(h).map_err(|e| format!("status_list: {e}")))
                .transpose()?,
            expect: s("expect")?,
            profile: v["profile"].as_str().map(str::to_owned),
            authenticated: v["authenticated"]
                .as_bool()
                .ok_or("missing authenticated")?,
            warnings: v["warnings"]
                .as_array()
                .ok_or("missing warnings")?
                .iter()
                .map(|w| {
                    w.as_str()
                        .map(str::to_owned)
                        .ok_or("warning not a string".to_string())
                })
                .collect::<Result<_, _>>()?,
        })
    }
}

/// The shared context file: root key, trust bundle, status list.
pub fn context_json() -> String {
    let value = serde_json::json!({
        "comment": "Context for every vector: the verifier trusts root_public_key, has imported trust_bundle, and (where a vector says status_lists: true) the status list. Policy: freshness window 180 s, clock skew 60 s, dates in UTC+8.",
        "root_public_key": hex::encode(root_key().verifying_key().as_bytes()),
        "trust_bundle": hex::encode(trust_bundle_bytes()),
        "status_list": hex::encode(status_list_bytes()),
        "device_public_key": hex::encode(device_key().verifying_key().as_bytes()),
    });
    serde_json::to_string_pretty(&value).expect("JSON") + "\n"
}

fn claims(profile: Profile) -> Claims {
    let p = params();
    Claims {
        issued_at: p.issued_at,
        expires_at: p.expires_at,
        serial: p.serial,
        device_key: p.device_key,
        licence: licence().disclose(profile).expect("fixture licence"),
    }
}

fn sign_claims(claims: &Claims, key: &SigningKey) -> Vec<u8> {
    cose::sign(key, cbor::encode(&claims.to_value()))
}

/// Signs arbitrary payload bytes under arbitrary headers, for malformed-but-signed cases.
fn sign_raw(protected: Vec<u8>, unprotected: Value, payload: Vec<u8>, key: &SigningKey) -> Vec<u8> {
    let signature = sign(key, &cose::to_be_signed(&protected, &[], &payload));
    cose::assemble(protected, unprotected, payload, signature.to_vec())
}

fn show(credential: Vec<u8>, profile: Profile) -> String {
    to_qr_text(&present(credential, profile, T0 - 10, &device_key()).encode())
}

fn show_at(credential: Vec<u8>, profile: Profile, presented_at: u64) -> String {
    to_qr_text(&present(credential, profile, presented_at, &device_key()).encode())
}

/// The standard presentation bytes of a credential (full profile, 10 s before T0).
fn good_bytes(credential: &[u8]) -> Vec<u8> {
    present(credential.to_vec(), Profile::Full, T0 - 10, &device_key()).encode()
}

/// A protected header `{1: alg, 4: kid}` with `alg` given as its raw CBOR encoding
/// (for integers outside what the encoder API takes).
fn protected_with_raw_alg(alg: &[u8], key: &SigningKey) -> Vec<u8> {
    let kid = key_id(key.verifying_key().as_bytes());
    [&[0xa2, 0x01][..], alg, &[0x04, 0x43], &kid].concat()
}

/// CBOR of −2^63, the least signed 64-bit integer.
pub const CBOR_I64_MIN: [u8; 9] = [0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
/// CBOR of −2^63 − 1, one past.
pub const CBOR_BELOW_I64_MIN: [u8; 9] = [0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0];

fn standard(profile: Profile) -> Vec<u8> {
    credential(&licence(), profile, &params(), &authority_key())
}

fn kid_bytes(key: &SigningKey) -> Value {
    Value::Bytes(key_id(key.verifying_key().as_bytes()).to_vec())
}

fn with_licence(edit: impl FnOnce(&mut credential::Licence)) -> Vec<u8> {
    let mut l = licence();
    edit(&mut l);
    credential(&l, Profile::Full, &params(), &authority_key())
}

fn with_params(edit: impl FnOnce(&mut credential::issue::IssueParams)) -> Vec<u8> {
    let mut p = params();
    edit(&mut p);
    credential(&licence(), Profile::Full, &p, &authority_key())
}

fn flip_last_signature_bit(cose_bytes: &[u8]) -> Vec<u8> {
    let mut bytes = cose_bytes.to_vec();
    if let Some(last) = bytes.last_mut() {
        *last ^= 1;
    }
    bytes
}

struct Builder(Vec<Vector>);

impl Builder {
    fn add(
        &mut self,
        name: &str,
        comment: &str,
        input: impl Into<Vec<u8>>,
        now: u64,
        expect: &str,
    ) -> &mut Vector {
        self.0.push(Vector {
            name: name.into(),
            comment: comment.into(),
            input: input.into(),
            now,
            status_lists: true,
            status_list: None,
            expect: expect.into(),
            profile: None,
            warnings: vec![],
            authenticated: shows_authenticated_content(expect),
        });
        self.0.last_mut().expect("just pushed")
    }

    fn valid(
        &mut self,
        name: &str,
        comment: &str,
        input: impl Into<Vec<u8>>,
        now: u64,
        profile: Profile,
    ) -> &mut Vector {
        let v = self.add(name, comment, input, now, "valid");
        v.profile = Some(profile.name().into());
        v
    }
}

fn warnings(v: &mut Vector, codes: &[&str]) {
    v.warnings = codes.iter().map(|c| c.to_string()).collect();
}

/// Every vector, in a stable order.
pub fn vectors() -> Vec<Vector> {
    let mut b = Builder(Vec::new());
    let now = T0;

    for profile in Profile::ALL {
        b.valid(
            &format!("valid-{}", profile.name()),
            &format!(
                "A fresh {} presentation: every check passes.",
                profile.name()
            ),
            show(standard(profile), profile),
            now,
            profile,
        );
    }
    let full = standard(Profile::Full);
    b.valid(
        "valid-base64url-form",
        "The DL1U: base64url text form of the full presentation.",
        to_url_text(&present(full.clone(), Profile::Full, T0 - 10, &device_key()).encode()),
        now,
        Profile::Full,
    );
    b.valid(
        "valid-long-term-licence",
        "Validity 长期 (long-term, encoded as null): never expires.",
        show(
            with_licence(|l| {
                l.validity = Validity {
                    from: l.validity.from,
                    to: None,
                }
            }),
            Profile::Full,
        ),
        now,
        Profile::Full,
    );
    b.valid(
        "valid-trailing-newline",
        "A keyboard-wedge scanner's Enter (CRLF) after the text is stripped.",
        show(full.clone(), Profile::Full) + "\r\n",
        now,
        Profile::Full,
    );
    let v = b.valid(
        "valid-warning-no-status-list",
        "The verifier has no status list for 川J: valid, status undetermined (warning), never a false revoked.",
        show(full.clone(), Profile::Full),
        now,
        Profile::Full,
    );
    v.status_lists = false;
    warnings(v, &["status_unknown"]);
    let later = T0 + 2 * DAY;
    let v = b.valid(
        "valid-warning-stale-status-list",
        "Two days later the status list is past its next update: valid with a status_list_stale warning.",
        show_at(full.clone(), Profile::Full, later - 5),
        later,
        Profile::Full,
    );
    warnings(v, &["status_list_stale"]);
    let v = b.valid(
        "valid-warning-suspended-on-stale-list",
        "A stale list says suspended: a suspension can be lifted, so this is a warning, not a rejection.",
        show_at(with_params(|p| p.serial = SERIAL_SUSPENDED), Profile::Full, later - 5),
        later,
        Profile::Full,
    );
    warnings(v, &["suspended_on_stale_list"]);
    let v = b.valid(
        "valid-warning-serial-not-covered",
        "Serial 5000 was issued after the status list (1000 entries): status undetermined.",
        show(with_params(|p| p.serial = 5000), Profile::Full),
        now,
        Profile::Full,
    );
    warnings(v, &["status_not_covered"]);
    let v = b.valid(
        "valid-warning-licence-status-notice",
        "Status H (违法未处理, unprocessed violation) allows driving: valid with a notice.",
        show(
            with_licence(|l| l.status = StatusSet::parse("H").expect("H")),
            Profile::Full,
        ),
        now,
        Profile::Full,
    );
    warnings(v, &["licence_status_notice"]);
    let much_later = T0 + 31 * DAY;
    let v = b.valid(
        "valid-warning-trust-bundle-stale",
        "31 days later the trust bundle is past its next update: valid with a warning (status list also stale).",
        show_at(
            with_params(|p| {
                p.issued_at = much_later - DAY;
                p.expires_at = much_later + DAY;
            }),
            Profile::Full,
            much_later - 5,
        ),
        much_later,
        Profile::Full,
    );
    warnings(v, &["status_list_stale", "trust_bundle_stale"]);

    // --- parse_text ---
    b.add(
        "invalid-empty",
        "Empty input.",
        String::new(),
        now,
        "malformed",
    );
    b.add(
        "invalid-not-a-licence-code",
        "Text without the DL1: prefix.",
        "hello world",
        now,
        "malformed",
    );
    b.add(
        "invalid-version-2-url-prefix",
        "A future format version in the base64url prefix.",
        to_url_text(&present(full.clone(), Profile::Full, T0 - 10, &device_key()).encode())
            .replacen("DL1U:", "DL2U:", 1),
        now,
        "unsupported_version",
    );
    b.add(
        "invalid-version-2-prefix",
        "A future format version in the prefix: the verifier says it is unsupported, not garbage.",
        show(full.clone(), Profile::Full).replacen("DL1:", "DL2:", 1),
        now,
        "unsupported_version",
    );
    b.add(
        "invalid-base45-lowercase",
        "Lowercase letters are not in the base45 alphabet.",
        show(full.clone(), Profile::Full)
            .to_lowercase()
            .replacen("dl1:", "DL1:", 1),
        now,
        "malformed",
    );
    let text = show(full.clone(), Profile::Full);
    let base45 = &text["DL1:".len()..];
    // Extend the text to a length of 1 (mod 3) with digits that keep every earlier
    // group in range: the dangling last character is the only fault.
    let dangling = match base45.len() % 3 {
        0 => format!("{text}0"),
        2 => format!("{text}00"),
        _ => unreachable!("base45 output is never 1 (mod 3) long"),
    };
    b.add(
        "invalid-base45-dangling-character",
        "A base45 text whose length is 1 (mod 3): one character that is neither a pair nor a triple (every group before it decodes).",
        dangling,
        now,
        "malformed",
    );
    b.add(
        "invalid-base45-triple-overflow",
        "The first aligned triple replaced by GGW = 16 + 45·16 + 2025·32 = 65536, one past 65535 (length unchanged, every other group valid).",
        format!("DL1:GGW{}", &base45[3..]),
        now,
        "malformed",
    );
    b.add(
        "invalid-base45-pair-overflow",
        "The final pair of an odd-length presentation replaced by 26 = 2 + 45·6 = 272 > 255 (the check on final pairs).",
        {
            let odd = to_qr_text(&[good_bytes(&full), vec![0]].concat());
            format!("{}26", &odd[..odd.len() - 2])
        },
        now,
        "malformed",
    );
    b.add(
        "invalid-not-utf8",
        "The text with one byte 0xFF after the prefix: input that is not UTF-8 is a malformed presentation (§8.1 item 1), not an error of the channel.",
        [&b"DL1:"[..], &[0xff], base45.as_bytes()].concat(),
        now,
        "malformed",
    );
    for (name, comment, input, expect) in [
        (
            "invalid-version-leading-zero-prefix",
            "DL01: + a valid presentation's base45: only the exact prefix DL1 selects version 1.",
            text.replacen("DL1:", "DL01:", 1),
            "unsupported_version",
        ),
        (
            "invalid-version-leading-zeros-url-prefix",
            "DL001U: + a valid presentation's base64url.",
            to_url_text(&good_bytes(&full)).replacen("DL1U:", "DL001U:", 1),
            "unsupported_version",
        ),
        (
            "invalid-version-nine-digits",
            "DL123456789: (9 digits, the most a version prefix has) + valid base45.",
            text.replacen("DL1:", "DL123456789:", 1),
            "unsupported_version",
        ),
        (
            "invalid-version-ten-digits",
            "DL1234567890: (10 digits, one past): not a version prefix.",
            text.replacen("DL1:", "DL1234567890:", 1),
            "malformed",
        ),
    ] {
        b.add(name, comment, input, now, expect);
    }
    b.add(
        "invalid-1mb-input",
        "One megabyte of text: refused by the length limit before decoding.",
        format!("DL1:{}", "0".repeat(1 << 20)),
        now,
        "malformed",
    );
    // --- decode_presentation ---
    let good = good_bytes(&full);
    b.add(
        "invalid-truncated",
        "The presentation bytes cut 10 bytes short.",
        to_qr_text(&good[..good.len() - 10]),
        now,
        "malformed",
    );
    b.add(
        "invalid-trailing-garbage",
        "One byte after the presentation.",
        to_qr_text(&[good.clone(), vec![0]].concat()),
        now,
        "malformed",
    );
    let mut bomb = vec![0x81u8; 1000];
    bomb.push(0);
    b.add(
        "invalid-nesting-bomb",
        "1000 nested arrays: refused at depth 9.",
        to_qr_text(&bomb),
        now,
        "malformed",
    );
    b.add(
        "invalid-non-shortest-integer",
        "presented_at encoded with an 8-byte head although it fits in 4: not deterministic CBOR.",
        to_qr_text(&{
            let t = (T0 - 10).to_be_bytes();
            let short: Vec<u8> = [&[0x1a][..], &t[4..]].concat();
            let long: Vec<u8> = [&[0x1b][..], &t[..]].concat();
            let at = good
                .windows(5)
                .position(|w| w == short.as_slice())
                .expect("presented_at in the bytes");
            [&good[..at], &long[..], &good[at + 5..]].concat()
        }),
        now,
        "malformed",
    );
    b.add(
        "invalid-presentation-indefinite-array",
        "The presentation as an indefinite-length array.",
        to_qr_text(&[&[0x9f][..], &good[1..], &[0xff]].concat()),
        now,
        "malformed",
    );
    b.add(
        "invalid-credential-wrapped-in-bytes",
        "The credential wrapped in a byte string instead of embedded as a COSE_Sign1 item.",
        to_qr_text(&cbor::encode(&Value::Array(vec![
            Value::Bytes(full.clone()),
            int(T0 - 10),
            Value::Bytes(vec![0; 64]),
        ]))),
        now,
        "malformed",
    );
    b.add(
        "invalid-holder-signature-63-bytes",
        "A holder signature one byte short.",
        to_qr_text(&cbor::encode(&Value::Array(vec![
            cbor::decode(&full, &credential::limits::CborLimits::DOCUMENT).expect("credential"),
            int(T0 - 10),
            Value::Bytes(vec![0; 63]),
        ]))),
        now,
        "malformed",
    );
    // --- decode_credential ---
    let retag = |tag: u8| {
        let mut c = full.clone();
        c[0] = tag;
        c
    };
    b.add(
        "invalid-cose-tag-17",
        "COSE_Mac0 tag (17) instead of COSE_Sign1 (18).",
        show(retag(0xd1), Profile::Full),
        now,
        "malformed",
    );
    b.add(
        "invalid-cose-untagged",
        "The COSE_Sign1 array without its tag.",
        show(full[1..].to_vec(), Profile::Full),
        now,
        "malformed",
    );
    let payload = cbor::encode(&claims(Profile::Full).to_value());
    let protected_with = |entries: Vec<(Value, Value)>| cbor::encode(&cbor::map(entries));
    b.add(
        "invalid-alg-es256",
        "alg ES256 (-7) in the protected header.",
        show(
            sign_raw(
                protected_with(vec![
                    (int(1), int(-7)),
                    (int(4), kid_bytes(&authority_key())),
                ]),
                Value::Map(vec![]),
                payload.clone(),
                &authority_key(),
            ),
            Profile::Full,
        ),
        now,
        "unsupported_algorithm",
    );
    for (name, comment, alg, expect) in [
        (
            "invalid-alg-i64-min",
            "alg = −2^63, the least integer of the signed 64-bit range (§4.2 rule 4): an integer other than −8.",
            CBOR_I64_MIN,
            "unsupported_algorithm",
        ),
        (
            "invalid-alg-below-i64-range",
            "alg = −2^63 − 1, one past the signed 64-bit range: not an algorithm identifier at all (§4.2 rule 4).",
            CBOR_BELOW_I64_MIN,
            "malformed",
        ),
    ] {
        b.add(
            name,
            comment,
            show(
                sign_raw(
                    protected_with_raw_alg(&alg, &authority_key()),
                    Value::Map(vec![]),
                    payload.clone(),
                    &authority_key(),
                ),
                Profile::Full,
            ),
            now,
            expect,
        );
    }
    b.add(
        "invalid-alg-in-unprotected-header",
        "alg in the unprotected bucket, where it is not covered by the signature.",
        show(
            sign_raw(
                protected_with(vec![(int(4), kid_bytes(&authority_key()))]),
                Value::Map(vec![(int(1), int(-8))]),
                payload.clone(),
                &authority_key(),
            ),
            Profile::Full,
        ),
        now,
        "malformed",
    );
    b.add(
        "invalid-unknown-critical-header",
        "A crit (2) header listing label 99: unknown critical headers are refused.",
        show(
            sign_raw(
                protected_with(vec![
                    (int(1), int(-8)),
                    (int(2), Value::Array(vec![int(99)])),
                    (int(4), kid_bytes(&authority_key())),
                    (int(99), int(1)),
                ]),
                Value::Map(vec![]),
                payload.clone(),
                &authority_key(),
            ),
            Profile::Full,
        ),
        now,
        "malformed",
    );
    b.add(
        "invalid-protected-header-non-canonical",
        "Protected header with kid before alg (unsorted map).",
        show(
            sign_raw(
                cbor::encode(&Value::Map(vec![
                    (int(4), kid_bytes(&authority_key())),
                    (int(1), int(-8)),
                ])),
                Value::Map(vec![]),
                payload.clone(),
                &authority_key(),
            ),
            Profile::Full,
        ),
        now,
        "malformed",
    );
    // --- issuer_key ---
    b.add(
        "invalid-unknown-issuer",
        "Signed by a key that is in no trust bundle.",
        show(
            credential(&licence(), Profile::Full, &params(), &stranger_key()),
            Profile::Full,
        ),
        now,
        "unknown_issuer",
    );
    b.add(
        "invalid-retired-key",
        "Signed by 川J's retired key.",
        show(
            credential(&licence(), Profile::Full, &params(), &retired_key()),
            Profile::Full,
        ),
        now,
        "issuer_key_retired",
    );
    // --- issuer_signature ---
    b.add(
        "invalid-bad-signature-bit-flip",
        "One bit of the issuer signature flipped (holder proof redone over the altered credential).",
        show(flip_last_signature_bit(&full), Profile::Full),
        now,
        "bad_signature",
    );
    let altered = {
        let sign1 = cose::Sign1::from_cbor(&full, &credential::limits::CborLimits::DOCUMENT)
            .expect("sign1");
        let mut c = claims(Profile::Full);
        c.licence.name = Some("王小明".into());
        cose::assemble(
            sign1.protected,
            Value::Map(vec![]),
            cbor::encode(&c.to_value()),
            sign1.signature,
        )
    };
    b.add(
        "invalid-altered-field",
        "The name changed after signing, signature kept: the disclosed data must match what was signed.",
        show(altered, Profile::Full),
        now,
        "bad_signature",
    );
    // --- decode_claims (signed, but not well-formed) ---
    let claims_entries = match claims(Profile::Full).to_value() {
        Value::Map(entries) => entries,
        _ => unreachable!("claims are a map"),
    };
    let mut reversed = claims_entries.clone();
    reversed.reverse();
    b.add(
        "invalid-claims-non-canonical-order",
        "Claims map keys in reverse order, signed by the issuer: non-deterministic CBOR is refused even when signed.",
        show(cose::sign(&authority_key(), cbor::encode(&Value::Map(reversed))), Profile::Full),
        now,
        "malformed",
    );
    let mut duplicated = claims_entries.clone();
    duplicated.insert(1, duplicated[0].clone());
    b.add(
        "invalid-claims-duplicate-key",
        "The exp claim twice, signed: duplicate keys are refused.",
        show(
            cose::sign(&authority_key(), cbor::encode(&Value::Map(duplicated))),
            Profile::Full,
        ),
        now,
        "malformed",
    );
    let indefinite: Vec<u8> = std::iter::once(0xbf)
        .chain(
            claims_entries
                .iter()
                .flat_map(|(k, v)| [cbor::encode(k), cbor::encode(v)].concat()),
        )
        .chain(std::iter::once(0xff))
        .collect();
    b.add(
        "invalid-claims-indefinite-map",
        "Claims as an indefinite-length map, signed.",
        show(cose::sign(&authority_key(), indefinite), Profile::Full),
        now,
        "malformed",
    );
    let mut unknown_claim = claims_entries.clone();
    unknown_claim.push((int(-65538), int(1)));
    b.add(
        "invalid-claims-unknown-claim",
        "An extra private claim -65538, signed: unknown claims are refused.",
        show(
            cose::sign(&authority_key(), cbor::encode(&cbor::map(unknown_claim))),
            Profile::Full,
        ),
        now,
        "malformed",
    );
    // --- key_validity, credential_validity ---
    b.add(
        "invalid-issued-before-key-validity",
        "Issued (iat) 400 days ago, before the 川J key's validity began 365 days ago.",
        show(with_params(|p| p.issued_at = T0 - 400 * DAY), Profile::Full),
        now,
        "issuer_key_not_valid_at_time",
    );
    b.add(
        "invalid-credential-expired",
        "Checked 8 days later: the 7-day credential expired (beyond the 60 s skew).",
        show_at(full.clone(), Profile::Full, T0 + 8 * DAY - 10),
        T0 + 8 * DAY,
        "credential_expired",
    );
    b.add(
        "invalid-credential-not-yet-valid",
        "iat (valid from) two hours after the verifier's clock, beyond the 60 s skew.",
        show(with_params(|p| p.issued_at = T0 + 7200), Profile::Full),
        now,
        "credential_not_yet_valid",
    );
    b.add(
        "invalid-credential-lifetime-too-long",
        "exp 40 days after iat: longer than the 31 days a verifier accepts (caps what a stolen key can sign).",
        show(with_params(|p| p.expires_at = p.issued_at + 40 * DAY), Profile::Full),
        now,
        "credential_lifetime_too_long",
    );
    b.valid(
        "valid-credential-lifetime-at-limit",
        "exp exactly 31 days after iat: at the policy's bound, accepted.",
        show(
            with_params(|p| p.expires_at = p.issued_at + 31 * DAY),
            Profile::Full,
        ),
        now,
        Profile::Full,
    );
    // --- profile_fields ---
    let mut leaky = claims(Profile::Rental);
    leaky.licence.address = licence().disclose(Profile::Full).expect("full").address;
    b.add(
        "invalid-rental-discloses-address",
        "A rental credential carrying the address (a field the profile hides), issuer-signed.",
        show(sign_claims(&leaky, &authority_key()), Profile::Rental),
        now,
        "profile_mismatch",
    );
    let mut short = claims(Profile::Rental);
    short.licence.portrait_digest = None;
    b.add(
        "invalid-rental-missing-portrait",
        "A rental credential without the portrait digest the profile requires.",
        show(sign_claims(&short, &authority_key()), Profile::Rental),
        now,
        "profile_mismatch",
    );
    // --- holder_proof ---
    b.add(
        "invalid-swapped-holder-key",
        "The credential is bound to another phone's key; this phone signs the proof.",
        show(
            with_params(|p| p.device_key = other_device_key().verifying_key().to_bytes()),
            Profile::Full,
        ),
        now,
        "bad_holder_proof",
    );
    b.add(
        "invalid-holder-signature-bit-flip",
        "One bit of the holder signature flipped.",
        to_qr_text(&{
            let mut p = present(full.clone(), Profile::Full, T0 - 10, &device_key());
            p.holder_signature[0] ^= 0x80;
            p.encode()
        }),
        now,
        "bad_holder_proof",
    );
    b.add(
        "invalid-holder-proof-wrong-profile",
        "The holder proof signs profile rental for a full credential.",
        to_qr_text(&{
            let message = Presentation::message_to_sign(&full, Profile::Rental, T0 - 10);
            Presentation {
                credential: full.clone(),
                presented_at: T0 - 10,
                holder_signature: sign(&device_key(), &message),
            }
            .encode()
        }),
        now,
        "bad_holder_proof",
    );
    let mut weak = claims(Profile::Full);
    let mut identity = [0u8; 32];
    identity[0] = 1;
    weak.device_key = identity;
    b.add(
        "invalid-small-order-device-key",
        "cnf carries the identity point (small order): no holder proof can be trusted.",
        show(sign_claims(&weak, &authority_key()), Profile::Full),
        now,
        "bad_holder_proof",
    );
    // --- freshness ---
    b.add(
        "invalid-stale-presentation",
        "Generated 181 s before the check: one second past the 180 s freshness window (a screenshot).",
        show_at(full.clone(), Profile::Full, T0 - 181),
        now,
        "stale_presentation",
    );
    b.valid(
        "valid-at-freshness-limit",
        "Generated exactly 180 s before the check: at the window's edge, still fresh.",
        show_at(full.clone(), Profile::Full, T0 - 180),
        now,
        Profile::Full,
    );
    b.add(
        "invalid-presentation-from-future",
        "presented_at 61 s ahead of the verifier's clock (skew allowance 60 s).",
        show_at(full.clone(), Profile::Full, T0 + 61),
        now,
        "presentation_from_future",
    );
    // --- licence validity and status ---
    b.add(
        "invalid-licence-expired",
        "Licence validity ended 2026-05-31, the day before the check (UTC+8).",
        show(
            with_licence(|l| l.validity.to = credential::date::Date::parse("2026-05-31")),
            Profile::Full,
        ),
        now,
        "licence_expired",
    );
    b.add(
        "invalid-licence-not-yet-valid",
        "Licence validity starts 2026-06-02.",
        show(
            with_licence(|l| {
                l.validity.from = credential::date::Date::parse("2026-06-02").expect("date");
            }),
            Profile::Full,
        ),
        now,
        "licence_not_yet_valid",
    );
    b.add(
        "invalid-licence-status-seized",
        "Status D (暂扣, temporarily seized): may not drive.",
        show(
            with_licence(|l| l.status = StatusSet::parse("D").expect("D")),
            Profile::Full,
        ),
        now,
        "licence_status",
    );
    b.add(
        "invalid-licence-status-points-exceeded",
        "Status BH (超分 + 违法未处理): B forbids driving.",
        show(
            with_licence(|l| l.status = StatusSet::parse("BH").expect("BH")),
            Profile::Full,
        ),
        now,
        "licence_status",
    );
    // --- status list ---
    for (serial, code, what) in [
        (SERIAL_REVOKED, "revoked_by_status_list", "revoked"),
        (SERIAL_SUSPENDED, "suspended_by_status_list", "suspended"),
        (SERIAL_SUPERSEDED, "superseded_by_status_list", "superseded"),
    ] {
        b.add(
            &format!("invalid-status-list-{what}"),
            &format!("Serial {serial} is marked {what} in the current status list."),
            show(with_params(|p| p.serial = serial), Profile::Full),
            now,
            code,
        );
    }
    b.add(
        "invalid-stale-list-still-revokes",
        "A stale status list still rejects a revoked serial: revocation is permanent, so this is never a false revoked.",
        show_at(with_params(|p| p.serial = SERIAL_REVOKED), Profile::Full, later - 5),
        later,
        "revoked_by_status_list",
    );
    compaction(&mut b);
    boundaries(&mut b);
    b.0
}

/// The compacted list (§10.5): its horizon refuses what its zeros no longer stop.
fn compaction(b: &mut Builder) {
    let horizon = compaction_horizon();
    let compacted = compacted_status_list_bytes();
    let expiring_at = |serial: u64, exp: u64| {
        with_params(|p| {
            p.serial = serial;
            p.issued_at = exp - 7 * DAY;
            p.expires_at = exp;
        })
    };
    let v = b.valid(
        "valid-on-compacted-list",
        "The standard credential against the compacted list of 川J (compacted_before = issued_at − 31 d − 60 s): valid.",
        show(standard(Profile::Full), Profile::Full),
        T0,
        Profile::Full,
    );
    v.status_list = Some(compacted.clone());
    let v = b.add(
        "invalid-expired-before-compacted-list",
        "Revoked serial 101 reads 0 in the compacted list; its credential expired at the list's horizon. The verifier's clock is 31 days behind (59 s after exp, within the skew), yet the list proves the expiry: refused, never let through.",
        show_at(expiring_at(SERIAL_REVOKED, horizon), Profile::Full, horizon + 49),
        horizon + 59,
        "expired_before_status_list",
    );
    v.status_list = Some(compacted.clone());
    let v = b.valid(
        "valid-expired-one-second-after-compaction-horizon",
        "A credential of valid serial 100 expiring at the horizon + 1, checked by a clock 31 days behind the list: the horizon does not refuse it.",
        show_at(expiring_at(100, horizon + 1), Profile::Full, horizon + 50),
        horizon + 60,
        Profile::Full,
    );
    v.status_list = Some(compacted.clone());
    let v = b.add(
        "invalid-compacted-list-keeps-live-suspension",
        "Suspended serial 102 still has a credential that can verify, so the compacted list keeps its entry 2.",
        show(with_params(|p| p.serial = SERIAL_SUSPENDED), Profile::Full),
        T0,
        "suspended_by_status_list",
    );
    v.status_list = Some(compacted);
}

/// Both sides of every comparison of §11.2 (equal, one past) that the vectors above
/// do not already pin.
fn boundaries(b: &mut Builder) {
    let now = T0;
    let key_from = T0 - 365 * DAY;
    let key_to = T0 + 3 * 365 * DAY;
    let issued = |iat: u64| {
        with_params(|p| {
            p.issued_at = iat;
            p.expires_at = iat + 7 * DAY;
        })
    };
    // key_validity: E.valid_from <= iat <= E.valid_to, no skew.
    b.valid(
        "valid-issued-at-key-valid-from",
        "iat = the 川J key's valid_from (checked a minute later): inside the key's validity.",
        show_at(issued(key_from), Profile::Full, key_from + 50),
        key_from + 60,
        Profile::Full,
    );
    b.add(
        "invalid-issued-one-second-before-key-valid-from",
        "iat = valid_from − 1: one second before the key's validity.",
        show_at(issued(key_from - 1), Profile::Full, key_from + 50),
        key_from + 60,
        "issuer_key_not_valid_at_time",
    );
    let v = b.valid(
        "valid-issued-at-key-valid-to",
        "iat = the 川J key's valid_to (checked a minute later; list and bundle are stale by then).",
        show_at(issued(key_to), Profile::Full, key_to + 50),
        key_to + 60,
        Profile::Full,
    );
    warnings(v, &["status_list_stale", "trust_bundle_stale"]);
    b.add(
        "invalid-issued-one-second-after-key-valid-to",
        "iat = valid_to + 1: the key's signing period had ended.",
        show_at(issued(key_to + 1), Profile::Full, key_to + 50),
        key_to + 60,
        "issuer_key_not_valid_at_time",
    );
    // credential_validity: iat <= now + s; now < exp + s; exp - iat <= max.
    let skew = 60;
    b.valid(
        "valid-issued-at-clock-skew-limit",
        "iat = now + 60 s: ahead of the verifier's clock by exactly the skew allowance.",
        show(with_params(|p| p.issued_at = now + skew), Profile::Full),
        now,
        Profile::Full,
    );
    b.add(
        "invalid-issued-one-second-past-clock-skew",
        "iat = now + 61 s: one second beyond the skew allowance.",
        show(with_params(|p| p.issued_at = now + skew + 1), Profile::Full),
        now,
        "credential_not_yet_valid",
    );
    let exp = params().expires_at;
    let v = b.valid(
        "valid-one-second-before-expiry-plus-skew",
        "now = exp + 60 − 1: the last second the credential is accepted (the status list is stale by then).",
        show_at(standard(Profile::Full), Profile::Full, exp + skew - 11),
        exp + skew - 1,
        Profile::Full,
    );
    warnings(v, &["status_list_stale"]);
    b.add(
        "invalid-expired-at-expiry-plus-skew",
        "now = exp + 60: expired (the bound is exclusive).",
        show_at(standard(Profile::Full), Profile::Full, exp + skew - 10),
        exp + skew,
        "credential_expired",
    );
    b.add(
        "invalid-credential-lifetime-one-second-too-long",
        "exp − iat = 31 days + 1 s: one second longer than the policy accepts.",
        show(
            with_params(|p| p.expires_at = p.issued_at + 31 * DAY + 1),
            Profile::Full,
        ),
        now,
        "credential_lifetime_too_long",
    );
    // freshness: presented_at <= now + s (the stale side is pinned above).
    b.valid(
        "valid-presented-at-clock-skew-limit",
        "presented_at = now + 60 s: ahead by exactly the skew allowance.",
        show_at(standard(Profile::Full), Profile::Full, now + skew),
        now,
        Profile::Full,
    );
    // licence_validity: from <= today <= to, today in UTC+8.
    b.valid(
        "valid-licence-valid-from-today",
        "Licence validity starts today (2026-06-01 in UTC+8).",
        show(
            with_licence(|l| {
                l.validity.from = credential::date::Date::parse("2026-06-01").expect("date")
            }),
            Profile::Full,
        ),
        now,
        Profile::Full,
    );
    b.valid(
        "valid-licence-valid-to-today",
        "Licence validity ends today (2026-06-01 in UTC+8): the last day is included.",
        show(
            with_licence(|l| l.validity.to = credential::date::Date::parse("2026-06-01")),
            Profile::Full,
        ),
        now,
        Profile::Full,
    );
    let midnight = T0 - 10 * 3600; // 2026-06-01T00:00:00+08:00 = 2026-05-31T16:00:00Z
    let ends_may_31 = with_licence(|l| l.validity.to = credential::date::Date::parse("2026-05-31"));
    b.valid(
        "valid-licence-last-second-of-last-day-utc8",
        "Validity to 2026-05-31, checked at 23:59:59 Beijing time (15:59:59 UTC): still the last day.",
        show_at(ends_may_31.clone(), Profile::Full, midnight - 11),
        midnight - 1,
        Profile::Full,
    );
    b.add(
        "invalid-licence-expired-at-midnight-utc8",
        "Validity to 2026-05-31, checked at 00:00:00 Beijing time on 06-01 (still 05-31 in UTC): expired, since dates are in UTC+8.",
        show_at(ends_may_31, Profile::Full, midnight - 10),
        midnight,
        "licence_expired",
    );
    // status_list: serial < size; now <= next_update (not stale).
    b.valid(
        "valid-serial-last-entry-of-status-list",
        "Serial 999 = size − 1: the last entry the list covers (valid, no warning).",
        show(
            with_params(|p| p.serial = STATUS_LIST_SIZE - 1),
            Profile::Full,
        ),
        now,
        Profile::Full,
    );
    let v = b.valid(
        "valid-warning-serial-equal-to-list-size",
        "Serial 1000 = size: one past the list's last entry, status undetermined.",
        show(with_params(|p| p.serial = STATUS_LIST_SIZE), Profile::Full),
        now,
        Profile::Full,
    );
    warnings(v, &["status_not_covered"]);
    let list_next = T0 + 23 * 3600;
    b.valid(
        "valid-status-list-at-next-update",
        "now = the list's next_update: not stale yet (stale is now > next_update).",
        show_at(standard(Profile::Full), Profile::Full, list_next - 10),
        list_next,
        Profile::Full,
    );
    let v = b.valid(
        "valid-warning-status-list-one-second-past-next-update",
        "now = next_update + 1: the list is stale.",
        show_at(standard(Profile::Full), Profile::Full, list_next - 9),
        list_next + 1,
        Profile::Full,
    );
    warnings(v, &["status_list_stale"]);
    let suspended = with_params(|p| p.serial = SERIAL_SUSPENDED);
    b.add(
        "invalid-suspended-at-list-next-update",
        "A suspension on a list checked at its next_update: the list is still fresh, so it is enforced.",
        show_at(suspended.clone(), Profile::Full, list_next - 10),
        list_next,
        "suspended_by_status_list",
    );
    let v = b.valid(
        "valid-warning-suspended-one-second-past-next-update",
        "The same suspension one second later: the list is stale, a warning only.",
        show_at(suspended, Profile::Full, list_next - 9),
        list_next + 1,
        Profile::Full,
    );
    warnings(v, &["suspended_on_stale_list"]);
    // trust_bundle_freshness: now <= next_update.
    let bundle_next = T0 + 30 * DAY;
    let around = |t: u64| {
        with_params(|p| {
            p.issued_at = t - DAY;
            p.expires_at = t + DAY;
        })
    };
    let v = b.valid(
        "valid-trust-bundle-at-next-update",
        "now = the bundle's next_update: not overdue (the status list is stale by then).",
        show_at(around(bundle_next), Profile::Full, bundle_next - 10),
        bundle_next,
        Profile::Full,
    );
    warnings(v, &["status_list_stale"]);
    let v = b.valid(
        "valid-warning-trust-bundle-one-second-past-next-update",
        "now = next_update + 1: the bundle is overdue.",
        show_at(around(bundle_next + 1), Profile::Full, bundle_next - 9),
        bundle_next + 1,
        Profile::Full,
    );
    warnings(v, &["status_list_stale", "trust_bundle_stale"]);
}
