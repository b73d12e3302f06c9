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
    /// The QR text.
    pub input: String,
    /// Verifier clock.
    pub now: u64,
    /// Whether the verifier holds the context's status list.
    pub status_lists: bool,
    /// `valid` or a reason code.
    pub expect: String,
    /// Profile of a valid verdict.
    pub profile: Option<String>,
    /// Warning codes expected, in order.
    pub warnings: Vec<String>,
}

impl Vector {
    /// The JSON file content.
    pub fn to_json(&self) -> String {
        let mut value = serde_json::json!({
            "name": self.name,
            "comment": self.comment,
            "input": self.input,
            "now": self.now,
            "status_lists": self.status_lists,
            "expect": self.expect,
            "warnings": self.warnings,
        });
        if let Some(profile) = &self.profile {
            value["profile"] = serde_json::json!(profile);
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
            input: s("input")?,
            now: v["now"].as_u64().ok_or("missing now")?,
            status_lists: v["status_lists"].as_bool().ok_or("missing status_lists")?,
            expect: s("expect")?,
            profile: v["profile"].as_str().map(str::to_owned),
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
        input: String,
        now: u64,
        expect: &str,
    ) -> &mut Vector {
        self.0.push(Vector {
            name: name.into(),
            comment: comment.into(),
            input,
            now,
            status_lists: true,
            expect: expect.into(),
            profile: None,
            warnings: vec![],
        });
        self.0.last_mut().expect("just pushed")
    }

    fn valid(
        &mut self,
        name: &str,
        comment: &str,
        input: String,
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
        "hello world".into(),
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
    b.add(
        "invalid-base45-dangling-character",
        "A base45 text whose length is 1 mod 3.",
        show(full.clone(), Profile::Full) + "0",
        now,
        "malformed",
    );
    b.add(
        "invalid-base45-triple-overflow",
        "A base45 triple above 65535 (GGW).",
        show(full.clone(), Profile::Full) + "GGW",
        now,
        "malformed",
    );
    b.add(
        "invalid-1mb-input",
        "One megabyte of text: refused by the length limit before decoding.",
        format!("DL1:{}", "0".repeat(1 << 20)),
        now,
        "malformed",
    );
    // --- decode_presentation ---
    let good = present(full.clone(), Profile::Full, T0 - 10, &device_key()).encode();
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
    b.0
}
