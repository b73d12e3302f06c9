#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Exhaustive tampering with valid presentations (spec §11): every single-bit
//! flip, every truncation, one-byte extensions, and credentials spliced together
//! from two validly signed ones. Nothing tampered may verify, and each rejection
//! must carry a reason code that the tampered region can legitimately produce.
//!
//! Every test collects all failures and reports them together, and prints a
//! histogram of reason codes per region of the presentation.

use std::collections::{BTreeMap, BTreeSet};

use ciborium::value::Value;
use credential::claims::Claims;
use credential::cose::{self, Sign1};
use credential::date::Date;
use credential::ed25519_dalek::SigningKey;
use credential::issue::IssueParams;
use credential::licence::{portrait_digest, ClassSet, Licence, LicenceRecord, Sex, StatusSet};
use credential::limits::CborLimits;
use credential::presentation::Presentation;
use credential::qr_text::{decode_text, to_qr_text, to_url_text};
use credential::signature::key_id;
use credential::trust_bundle::TrustBundle;
use credential::{Field, Policy, Profile, StatusLists, Validity, Verdict};
use vectorgen::fixture;

// ---------------------------------------------------------------------------
// Context
// ---------------------------------------------------------------------------

struct Context {
    bundle: TrustBundle,
    lists: StatusLists,
}

impl Context {
    fn new() -> Context {
        let mut lists = StatusLists::default();
        lists.insert(fixture::status_list());
        Context {
            bundle: fixture::trust_bundle(),
            lists,
        }
    }

    fn verify(&self, text: &str) -> Verdict {
        credential::verify(
            text,
            &self.bundle,
            &self.lists,
            fixture::T0,
            &Policy::default(),
        )
    }

    /// `None` if valid, else the reason code.
    fn reason(&self, text: &str) -> Option<&'static str> {
        let verdict = self.verify(text);
        verdict.reason_code()
    }
}

fn presentation_bytes(profile: Profile) -> Vec<u8> {
    decode_text(&fixture::qr_text(profile)).expect("fixture QR text decodes")
}

/// Length of the CBOR head of a byte string of `len` bytes.
fn bstr_head_len(len: usize) -> usize {
    cbor_len(&Value::Bytes(vec![0; len])) - len
}

fn cbor_len(value: &Value) -> usize {
    credential::cbor::encode(value).len()
}

fn count(
    histogram: &mut BTreeMap<String, BTreeMap<&'static str, usize>>,
    row: &str,
    reason: Option<&'static str>,
) {
    *histogram
        .entry(row.to_owned())
        .or_default()
        .entry(reason.unwrap_or("VALID"))
        .or_default() += 1;
}

fn print_histogram(title: &str, histogram: &BTreeMap<String, BTreeMap<&'static str, usize>>) {
    println!("{title}");
    let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
    for (row, codes) in histogram {
        let cells: Vec<String> = codes.iter().map(|(c, n)| format!("{c}={n}")).collect();
        println!("  {row:<28} {}", cells.join(" "));
        for (c, n) in codes {
            *totals.entry(c).or_default() += n;
        }
    }
    let sum: usize = totals.values().sum();
    let cells: Vec<String> = totals.iter().map(|(c, n)| format!("{c}={n}")).collect();
    println!("  {:<28} {} (total {sum})", "TOTAL", cells.join(" "));
}

fn report(what: &str, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{what}: {} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------
// Regions of a presentation and the reason codes each may produce
// ---------------------------------------------------------------------------

/// Where a byte sits in `[18([protected, {}, payload, signature]), presented_at, holder_sig]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Region {
    /// A CBOR head of the layout: the two array heads, tag 18, byte-string heads,
    /// the empty unprotected map, the head of presented_at.
    Structure,
    /// The protected header's map head and labels and the kid's byte-string head.
    ProtectedStructure,
    /// The `alg` value `-8`.
    Alg,
    /// The 3 kid bytes.
    Kid,
    /// The payload's bytes (the claims, opaque until the issuer signature passes).
    Payload,
    /// The 64 bytes of the issuer signature.
    IssuerSignature,
    /// The value bytes of presented_at.
    PresentedAt,
    /// The 64 bytes of the holder signature.
    HolderSignature,
}

impl Region {
    /// Reason codes a single-bit flip in this region may legitimately yield.
    ///
    /// The verifier runs its checks in a fixed order (verify.rs), so a flip is
    /// caught by the first check that reads the flipped byte:
    ///
    /// * Structure: any change to a head misaligns or retypes the strict,
    ///   definite-length decoding of the whole presentation, or changes the COSE
    ///   tag/shape → `malformed` only.
    /// * ProtectedStructure: a changed map length, label or kid length makes the
    ///   header fail strict decoding or lose/duplicate/misorder `alg` or `kid` →
    ///   `malformed`.
    /// * Alg: `-8` (0x27) flipped to another small int (-7, -6, -4, -16, -24, 7)
    ///   → `unsupported_algorithm`; to a string or map head that runs past the
    ///   header → `malformed`.
    /// * Kid: a kid one bit away from the signing key's kid is in no bundle entry
    ///   → `unknown_issuer`. (Not `issuer_key_retired`, nor another authority's key:
    ///   `kid_distances_exceed_one_bit` checks that every bundle kid is at least 2
    ///   bits away from the signing kid.)
    /// * Payload, IssuerSignature: the issuer signature (step 5) covers the
    ///   payload bytes as received, and nothing reads the payload before it →
    ///   `bad_signature`. Never `profile_mismatch` or a claims check: those run only
    ///   on signed bytes.
    /// * PresentedAt, HolderSignature: the holder proof (step 10) signs
    ///   presented_at and runs before freshness (step 11) → `bad_holder_proof`.
    ///   `stale_presentation` / `presentation_from_future` would mean a flipped
    ///   time got past the holder proof, so they are deliberately not allowed.
    fn allowed(self) -> &'static [&'static str] {
        match self {
            Region::Structure | Region::ProtectedStructure => &["malformed"],
            Region::Alg => &["malformed", "unsupported_algorithm"],
            Region::Kid => &["unknown_issuer"],
            Region::Payload | Region::IssuerSignature => &["bad_signature"],
            Region::PresentedAt | Region::HolderSignature => &["bad_holder_proof"],
        }
    }
}

/// The union of all regions' lists: every reason a single-bit flip may give.
const ALLOW_LIST: [&str; 6] = [
    "malformed",
    "unsupported_version",
    "unsupported_algorithm",
    "unknown_issuer",
    "bad_signature",
    "bad_holder_proof",
];

/// The region of every byte of a presentation, derived from its decoded parts
/// (and checked against them, so a layout change fails loudly instead of
/// silently mislabelling bytes).
fn regions(bytes: &[u8]) -> Vec<Region> {
    let presentation = Presentation::decode(bytes).expect("valid presentation decodes");
    let sign1 = Sign1::from_cbor(&presentation.credential, &CborLimits::DOCUMENT).unwrap();
    let kid = sign1.strict_header().unwrap().kid;
    assert_eq!(sign1.protected, cose::protected_header(&kid));
    assert!(sign1.unprotected.is_empty());
    assert_eq!(
        cose::assemble(
            sign1.protected.clone(),
            Value::Map(vec![]),
            sign1.payload.clone(),
            sign1.signature.clone()
        ),
        presentation.credential,
        "credential is canonical"
    );
    assert_eq!(presentation.encode(), bytes, "presentation is canonical");

    let mut map = Vec::with_capacity(bytes.len());
    let mut push = |region: Region, n: usize| map.resize(map.len() + n, region);
    push(Region::Structure, 1); // 0x83
    push(Region::Structure, 2); // tag 18, array of 4
    push(Region::Structure, bstr_head_len(sign1.protected.len()));
    // Protected header: a2 01 27 04 43 <kid>.
    assert_eq!(&sign1.protected[..5], &[0xa2, 0x01, 0x27, 0x04, 0x43]);
    push(Region::ProtectedStructure, 2); // a2 01
    push(Region::Alg, 1); // 27
    push(Region::ProtectedStructure, 2); // 04 43
    push(Region::Kid, kid.len());
    push(Region::Structure, 1); // a0
    push(Region::Structure, bstr_head_len(sign1.payload.len()));
    push(Region::Payload, sign1.payload.len());
    push(Region::Structure, bstr_head_len(sign1.signature.len()));
    push(Region::IssuerSignature, sign1.signature.len());
    let time_len = cbor_len(&credential::cbor::int(presentation.presented_at));
    assert_eq!(time_len, 5, "presented_at is a 4-byte integer");
    push(Region::Structure, 1);
    push(Region::PresentedAt, time_len - 1);
    push(Region::Structure, bstr_head_len(64));
    push(Region::HolderSignature, 64);
    assert_eq!(map.len(), bytes.len(), "region map covers the presentation");
    map
}

/// Flips bit `bit` (0 = most significant bit of byte 0).
fn flip(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[bit / 8] ^= 0x80 >> (bit % 8);
    out
}

/// Flips bits of presentation bytes (every `step`-th bit), encodes each result
/// with `encode`, verifies, and checks validity and region expectations.
fn flip_bytes_and_verify(
    ctx: &Context,
    profile: Profile,
    step: usize,
    encode: fn(&[u8]) -> String,
    histogram: &mut BTreeMap<String, BTreeMap<&'static str, usize>>,
    failures: &mut Vec<String>,
) -> usize {
    let bytes = presentation_bytes(profile);
    assert_eq!(ctx.reason(&encode(&bytes)), None, "{profile}: control");
    let map = regions(&bytes);
    let mut cases = 0;
    for bit in (0..bytes.len() * 8).step_by(step) {
        cases += 1;
        let region = map[bit / 8];
        let text = encode(&flip(&bytes, bit));
        let reason = ctx.reason(&text);
        count(histogram, &format!("{region:?}"), reason);
        let where_ = format!(
            "{profile}: bit {bit} (byte {} = {:#04x}, mask {:#04x}, {region:?})",
            bit / 8,
            bytes[bit / 8],
            0x80 >> (bit % 8)
        );
        match reason {
            None => failures.push(format!("{where_}: ACCEPTED as valid")),
            Some(code) if !ALLOW_LIST.contains(&code) => {
                failures.push(format!("{where_}: reason {code} not in the allow-list"))
            }
            Some(code) if !region.allowed().contains(&code) => failures.push(format!(
                "{where_}: reason {code}, expected one of {:?}",
                region.allowed()
            )),
            Some(_) => {}
        }
    }
    cases
}

// ---------------------------------------------------------------------------
// 1. Every single-bit flip of every profile
// ---------------------------------------------------------------------------

#[test]
fn every_bit_flip_of_every_profile_is_rejected_for_a_reason_its_region_explains() {
    let ctx = Context::new();
    let mut histogram = BTreeMap::new();
    let mut failures = Vec::new();
    let mut total = 0;
    for profile in Profile::ALL {
        let cases =
            flip_bytes_and_verify(&ctx, profile, 1, to_qr_text, &mut histogram, &mut failures);
        println!("{profile}: {cases} bit flips");
        total += cases;
    }
    let expected: usize = Profile::ALL
        .iter()
        .map(|p| presentation_bytes(*p).len() * 8)
        .sum();
    assert_eq!(total, expected, "every bit of every profile was flipped");
    print_histogram(
        &format!("bit-flip reasons by region (DL1: base45, 4 profiles, {total} flips):"),
        &histogram,
    );
    report("bit flips", &failures);
}

#[test]
fn kid_distances_exceed_one_bit() {
    // Justifies Region::Kid allowing only unknown_issuer: no bundle key (the
    // retired 川J key, 川A) has a kid one bit away from the signing key's kid.
    let signing = key_id(fixture::authority_key().verifying_key().as_bytes());
    for entry in &fixture::trust_bundle_content().keys {
        if entry.kid == signing {
            continue;
        }
        let distance: u32 = entry
            .kid
            .iter()
            .zip(signing)
            .map(|(a, b)| (a ^ b).count_ones())
            .sum();
        assert!(
            distance > 1,
            "kid of {} is {distance} bit(s) from the signing kid",
            entry.authority_code
        );
    }
}

// ---------------------------------------------------------------------------
// 2. Truncations and extensions
// ---------------------------------------------------------------------------

#[test]
fn every_truncation_and_one_byte_extension_is_rejected_as_malformed() {
    // A strict decoder of a definite-length array: every proper prefix ends inside
    // an item (truncated), every extension leaves trailing bytes. Both → malformed.
    let ctx = Context::new();
    let mut failures = Vec::new();
    let mut histogram = BTreeMap::new();
    let mut cases = 0;
    for profile in Profile::ALL {
        let bytes = presentation_bytes(profile);
        for len in 0..bytes.len() {
            cases += 1;
            let reason = ctx.reason(&to_qr_text(&bytes[..len]));
            count(&mut histogram, "truncation", reason);
            if reason != Some("malformed") {
                failures.push(format!(
                    "{profile}: prefix of {len}/{} bytes: {reason:?}",
                    bytes.len()
                ));
            }
        }
        for extra in [0x00u8, 0x01, 0xff, 0x80] {
            for encode in [to_qr_text as fn(&[u8]) -> String, to_url_text] {
                cases += 1;
                let mut longer = bytes.clone();
                longer.push(extra);
                let reason = ctx.reason(&encode(&longer));
                count(&mut histogram, "extension", reason);
                if reason != Some("malformed") {
                    failures.push(format!("{profile}: appended {extra:#04x}: {reason:?}"));
                }
            }
        }
    }
    print_histogram(
        &format!("truncation/extension reasons ({cases} cases):"),
        &histogram,
    );
    report("truncations and extensions", &failures);
}

// ---------------------------------------------------------------------------
// 3. Credentials spliced from two validly signed ones
// ---------------------------------------------------------------------------

fn date(text: &str) -> Date {
    Date::parse(text).unwrap()
}

/// A second holder's licence differing from the fixture's in every field, from the same authority.
fn licence_b() -> Licence {
    Licence {
        name: "李明".into(),
        sex: Sex::Male,
        nationality: "SGP".into(),
        birth_date: date("1975-11-02"),
        address: "四川省遂宁市安居区凤凰大道1号".into(),
        licence_number: "11010519491231002X".into(),
        file_number: "510900654321".into(),
        first_issue_date: date("1995-05-05"),
        classes: ClassSet::parse("C1").unwrap(),
        validity: Validity {
            from: date("2019-01-01"),
            to: None,
        },
        issuing_authority: fixture::licence().issuing_authority,
        status: StatusSet::parse("H").unwrap(),
        points: 11,
        portrait_digest: portrait_digest(b"portrait of the second holder"),
    }
}

fn params_b() -> IssueParams {
    IssueParams {
        serial: 200,
        issued_at: fixture::T0 - 2 * fixture::DAY,
        expires_at: fixture::T0 + 5 * fixture::DAY,
        device_key: fixture::other_device_key().verifying_key().to_bytes(),
    }
}

/// Copies one field of `from` into `to`.
fn set_field(to: &mut LicenceRecord, from: &LicenceRecord, field: Field) {
    match field {
        Field::Name => to.name.clone_from(&from.name),
        Field::Sex => to.sex = from.sex,
        Field::Nationality => to.nationality.clone_from(&from.nationality),
        Field::BirthDate => to.birth_date = from.birth_date,
        Field::Address => to.address.clone_from(&from.address),
        Field::LicenceNumber => to.licence_number.clone_from(&from.licence_number),
        Field::FileNumber => to.file_number.clone_from(&from.file_number),
        Field::FirstIssueDate => to.first_issue_date = from.first_issue_date,
        Field::Classes => to.classes = from.classes,
        Field::Validity => to.validity = from.validity,
        Field::Status => to.status = from.status,
        Field::Points => to.points = from.points,
        Field::PortraitDigest => to.portrait_digest = from.portrait_digest,
    }
}

fn claims_of(sign1: &Sign1) -> Claims {
    let value = credential::cbor::decode(&sign1.payload, &CborLimits::DOCUMENT).unwrap();
    Claims::from_value(value).unwrap()
}

fn encode_claims(claims: &Claims) -> Vec<u8> {
    credential::cbor::encode(&claims.to_value())
}

fn show(credential: Vec<u8>, profile: Profile, device: &SigningKey) -> String {
    to_qr_text(&fixture::present(credential, profile, fixture::T0 - 10, device).encode())
}

#[test]
fn credentials_spliced_from_two_valid_ones_fail_the_issuer_signature() {
    let ctx = Context::new();
    let device = fixture::device_key();
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut expect_bad_signature = |name: String, credential: Vec<u8>, profile: Profile| {
        cases += 1;
        // Presented with the holder's real device key: only the issuer signature is at fault.
        let verdict = ctx.verify(&show(credential, profile, &device));
        let issuer_signature = verdict
            .checks
            .iter()
            .find(|c| c.name == "issuer_signature")
            .map(|c| c.outcome.clone());
        if verdict.reason_code() != Some("bad_signature")
            || issuer_signature != Some(credential::verify::CheckOutcome::Failed("bad_signature"))
        {
            failures.push(format!("{profile}: {name}: {:?}", verdict.reason_code()));
        }
    };
    for profile in Profile::ALL {
        let a = fixture::credential(
            &fixture::licence(),
            profile,
            &fixture::params(),
            &fixture::authority_key(),
        );
        let b = fixture::credential(
            &licence_b(),
            profile,
            &params_b(),
            &fixture::authority_key(),
        );
        // Same claims as A, signed by another authority in the bundle (川A).
        let c = fixture::credential(
            &fixture::licence(),
            profile,
            &fixture::params(),
            &fixture::other_authority_key(),
        );
        // Controls: A, B and C are each valid as issued (C: the verifier takes the
        // authority from the key, so 川A signing works too).
        assert_eq!(ctx.reason(&show(a.clone(), profile, &device)), None, "A");
        assert_eq!(
            ctx.reason(&show(b.clone(), profile, &fixture::other_device_key())),
            None,
            "B"
        );
        assert_eq!(ctx.reason(&show(c.clone(), profile, &device)), None, "C");

        let sa = Sign1::from_cbor(&a, &CborLimits::DOCUMENT).unwrap();
        let sb = Sign1::from_cbor(&b, &CborLimits::DOCUMENT).unwrap();
        let sc = Sign1::from_cbor(&c, &CborLimits::DOCUMENT).unwrap();
        // Same key, so A and B have the same protected header: "protected of A with
        // payload of B" can only be paired with A's signature to be a forgery.
        assert_eq!(sa.protected, sb.protected);
        assert_ne!(sa.protected, sc.protected);
        assert_ne!(sa.payload, sb.payload);
        let empty = || Value::Map(vec![]);
        let assemble = |p: &Sign1, q: &Sign1, r: &Sign1| {
            cose::assemble(
                p.protected.clone(),
                empty(),
                q.payload.clone(),
                r.signature.clone(),
            )
        };
        expect_bad_signature(
            "payload A + signature B".into(),
            assemble(&sa, &sa, &sb),
            profile,
        );
        expect_bad_signature(
            "protected A + payload B + signature A".into(),
            assemble(&sa, &sb, &sa),
            profile,
        );
        expect_bad_signature(
            "protected C (川A) + payload A + signature A".into(),
            assemble(&sc, &sa, &sa),
            profile,
        );
        expect_bad_signature(
            "protected A + payload A + signature C (川A)".into(),
            assemble(&sa, &sa, &sc),
            profile,
        );
        expect_bad_signature(
            "protected C (川A) + payload B + signature B".into(),
            assemble(&sc, &sb, &sb),
            profile,
        );

        // Claim-level splices: A's payload decoded, one part taken from B,
        // re-encoded, A's protected header and signature kept.
        let claims_a = claims_of(&sa);
        let claims_b = claims_of(&sb);
        assert_eq!(
            encode_claims(&claims_a),
            sa.payload,
            "claims re-encode exactly"
        );
        let mut splice = |name: String, edit: &dyn Fn(&mut Claims)| {
            let mut claims = claims_a.clone();
            edit(&mut claims);
            let payload = encode_claims(&claims);
            assert_ne!(payload, sa.payload, "{profile}: {name} changes the payload");
            let credential =
                cose::assemble(sa.protected.clone(), empty(), payload, sa.signature.clone());
            expect_bad_signature(name, credential, profile);
        };
        for &field in profile.fields() {
            splice(format!("licence field {} from B", field.name()), &|c| {
                set_field(&mut c.licence, &claims_b.licence, field)
            });
        }
        splice("whole licence record from B".into(), &|c| {
            c.licence = claims_b.licence.clone()
        });
        splice("serial from B".into(), &|c| c.serial = claims_b.serial);
        splice("iat from B".into(), &|c| c.issued_at = claims_b.issued_at);
        splice("exp from B".into(), &|c| c.expires_at = claims_b.expires_at);
        splice("device key from B".into(), &|c| {
            c.device_key = claims_b.device_key
        });
    }
    println!("spliced credentials: {cases} cases, all expected bad_signature");
    report("spliced credentials", &failures);
}

// ---------------------------------------------------------------------------
// 4. The base64url form (and text-level flips of both forms), full profile
// ---------------------------------------------------------------------------

#[test]
fn base64url_form_bit_flips_are_rejected() {
    let ctx = Context::new();
    let mut histogram = BTreeMap::new();
    let mut failures = Vec::new();
    let cases = flip_bytes_and_verify(
        &ctx,
        Profile::Full,
        7,
        to_url_text,
        &mut histogram,
        &mut failures,
    );
    print_histogram(
        &format!("DL1U: byte-level flips, full profile, every 7th bit ({cases} flips):"),
        &histogram,
    );
    report("base64url byte flips", &failures);
}

#[test]
fn text_level_bit_flips_of_both_forms_are_rejected() {
    // Flipping bits of the text itself: a character leaves the alphabet
    // (malformed), breaks the prefix (malformed, or unsupported_version for a
    // digit such as DL3U:), becomes non-ASCII (invalid UTF-8, replaced by U+FFFD:
    // malformed), or becomes another alphabet character, which changes decoded
    // bits and so falls under the byte-level allow-list. Nothing may verify.
    let ctx = Context::new();
    let bytes = presentation_bytes(Profile::Full);
    let mut histogram = BTreeMap::new();
    let mut failures = Vec::new();
    let mut cases = 0;
    for (form, text) in [("DL1U:", to_url_text(&bytes)), ("DL1:", to_qr_text(&bytes))] {
        assert_eq!(ctx.reason(&text), None, "{form}: control");
        for bit in (0..text.len() * 8).step_by(7) {
            cases += 1;
            let flipped = flip(text.as_bytes(), bit);
            let flipped = String::from_utf8_lossy(&flipped);
            let reason = ctx.reason(&flipped);
            let row = if bit / 8 < form.len() {
                format!("{form} prefix")
            } else {
                format!("{form} body")
            };
            count(&mut histogram, &row, reason);
            match reason {
                None => failures.push(format!("{form} text bit {bit}: ACCEPTED as valid")),
                Some(code) if !ALLOW_LIST.contains(&code) => {
                    failures.push(format!("{form} text bit {bit}: reason {code}"))
                }
                Some(_) => {}
            }
        }
    }
    print_histogram(
        &format!("text-level flips, full profile, every 7th bit ({cases} flips):"),
        &histogram,
    );
    let codes: BTreeSet<&str> = histogram.values().flat_map(|m| m.keys().copied()).collect();
    assert!(codes.contains("malformed"));
    report("text flips", &failures);
}
