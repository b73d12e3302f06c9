#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Property tests of the codec: random licences round-trip through every
//! profile's record, the strict decoder accepts everything the encoder produces,
//! claims round-trip, issued credentials verify to the record they carry, and no
//! decoder panics on random input.

use std::sync::OnceLock;

use credential::cbor;
use credential::claims::Claims;
use credential::cose::Sign1;
use credential::date::Date;
use credential::ed25519_dalek::SigningKey;
use credential::issue::{issue_credential, IssueParams};
use credential::licence::{
    Authority, ClassSet, Licence, LicenceRecord, Sex, StatusSet, Validity, STATUS_LETTERS,
};
use credential::limits::{CborLimits, MAX_TEXT_BYTES};
use credential::presentation::Presentation;
use credential::qr_text::{decode_text, to_qr_text, to_url_text};
use credential::signature::{key_id, sha256};
use credential::trust_bundle::{AuthorityKey, TrustBundle, TrustBundleContent};
use credential::{verify_bytes, Policy, Profile, StatusLists};
use proptest::prelude::*;

/// 0001-01-01 and 9999-12-31 as day numbers: the accepted date range.
const MIN_DAY: i64 = -719_162;
const MAX_DAY: i64 = 2_932_896;

// ---------------------------------------------------------------------------
// Citizen ID numbers (GB 11643-1999, ISO 7064 MOD 11-2), computed independently
// ---------------------------------------------------------------------------

fn citizen_id_check(first17: &str) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    char::from(b"10X98765432"[(sum % 11) as usize])
}

fn is_citizen_id(text: &str) -> bool {
    text.len() == 18
        && text.as_bytes()[..17].iter().all(u8::is_ascii_digit)
        && text[17..].chars().eq([citizen_id_check(&text[..17])])
}

#[test]
fn citizen_id_check_matches_published_examples() {
    // GB 11643 examples (also used in the licence module's unit tests).
    assert!(is_citizen_id("11010519491231002X"));
    assert!(is_citizen_id("510903198803140029"));
    assert!(!is_citizen_id("510903198803140028"));
    assert!(!is_citizen_id("11010519491231002x"));
    // And the date range the strategies rely on.
    assert!(Date::from_days(MIN_DAY).is_some() && Date::from_days(MIN_DAY - 1).is_none());
    assert!(Date::from_days(MAX_DAY).is_some() && Date::from_days(MAX_DAY + 1).is_none());
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

fn cjk() -> impl Strategy<Value = char> {
    (0x4e00u32..=0x9fa5).prop_map(|c| char::from_u32(c).unwrap())
}

fn ascii_letter() -> impl Strategy<Value = char> {
    prop_oneof![b'a'..=b'z', b'A'..=b'Z'].prop_map(char::from)
}

fn text_of(chars: impl Strategy<Value = char>, max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(chars, 1..=max).prop_map(String::from_iter)
}

fn name() -> impl Strategy<Value = String> {
    text_of(prop_oneof![cjk(), ascii_letter()], 10)
}

/// Up to 60 characters, mostly CJK, some digits and spaces: at most 180 bytes.
fn address() -> impl Strategy<Value = String> {
    text_of(
        prop_oneof![
            6 => cjk(),
            2 => (b'0'..=b'9').prop_map(char::from),
            1 => Just(' '),
        ],
        60,
    )
}

fn licence_number() -> impl Strategy<Value = String> {
    let citizen_id = "[0-9]{17}".prop_map(|d| {
        let check = citizen_id_check(&d);
        format!("{d}{check}")
    });
    // 17 digits with a wrong check character (including lower-case x): text form.
    let near_miss = ("[0-9]{17}", "[0-9Xx]").prop_filter_map("correct check", |(d, c)| {
        let id = format!("{d}{c}");
        (!is_citizen_id(&id)).then_some(id)
    });
    let other = "[0-9A-Za-z]{1,32}".prop_filter("a valid citizen ID", |t| !is_citizen_id(t));
    prop_oneof![citizen_id, near_miss, other]
}

fn date() -> impl Strategy<Value = Date> {
    (MIN_DAY..=MAX_DAY).prop_map(|d| Date::from_days(d).unwrap())
}

fn validity() -> impl Strategy<Value = Validity> {
    prop_oneof![
        (date(), date()).prop_map(|(a, b)| Validity {
            from: a.min(b),
            to: Some(a.max(b)),
        }),
        date().prop_map(|from| Validity { from, to: None }),
    ]
}

fn status() -> impl Strategy<Value = StatusSet> {
    let may_drive: u64 = STATUS_LETTERS
        .iter()
        .enumerate()
        .filter(|(_, s)| s.may_drive && s.letter != 'A')
        .fold(0, |bits, (i, _)| bits | 1 << i);
    prop_oneof![
        Just(StatusSet::NORMAL),
        // Any non-empty set of B..S (bits 1..=16); A only alone.
        (1u64..(1 << 16)).prop_map(|b| StatusSet::from_bits(b << 1).unwrap()),
        // Notices only (H, K, ...): the holder may still drive.
        (1u64..(1 << 16))
            .prop_filter_map("empty", move |b| StatusSet::from_bits((b << 1) & may_drive)),
    ]
}

fn classes() -> impl Strategy<Value = ClassSet> {
    (1u64..=0x1ffff).prop_map(|b| ClassSet::from_bits(b).unwrap())
}

fn sex() -> impl Strategy<Value = Sex> {
    prop_oneof![Just(Sex::Male), Just(Sex::Female)]
}

fn authority() -> impl Strategy<Value = Authority> {
    (
        text_of(prop_oneof![cjk(), ascii_letter()], 4),
        text_of(cjk(), 20),
    )
        .prop_map(|(code, name)| Authority { code, name })
}

fn licence() -> impl Strategy<Value = Licence> {
    (
        (
            name(),
            sex(),
            "[A-Z]{3}",
            date(),
            address(),
            licence_number(),
        ),
        (
            "[0-9]{12}",
            date(),
            classes(),
            validity(),
            authority(),
            status(),
            0u32..=999,
            any::<[u8; 16]>(),
        ),
    )
        .prop_map(
            |(
                (name, sex, nationality, birth_date, address, licence_number),
                (
                    file_number,
                    first_issue_date,
                    classes,
                    validity,
                    issuing_authority,
                    status,
                    points,
                    portrait_digest,
                ),
            )| Licence {
                name,
                sex,
                nationality,
                birth_date,
                address,
                licence_number,
                file_number,
                first_issue_date,
                classes,
                validity,
                issuing_authority,
                status,
                points,
                portrait_digest,
            },
        )
}

fn profile() -> impl Strategy<Value = Profile> {
    prop::sample::select(Profile::ALL.to_vec())
}

/// Encodes, decodes strictly, checks the encoding is a fixed point, and returns the value.
fn strict_round_trip(value: &ciborium::value::Value) -> Result<ciborium::value::Value, String> {
    let bytes = cbor::encode(value);
    let decoded = cbor::decode(&bytes, &CborLimits::DOCUMENT).map_err(|e| {
        format!(
            "strict decoder rejects our encoding ({e}): {}",
            hex::encode(&bytes)
        )
    })?;
    if cbor::encode(&decoded) != bytes {
        return Err(format!("re-encoding differs: {}", hex::encode(&bytes)));
    }
    Ok(decoded)
}

// ---------------------------------------------------------------------------
// A tiny verifier context of our own (vectorgen's fixture depends on this crate)
// ---------------------------------------------------------------------------

const NOW: u64 = 1_780_279_200;

struct Keys {
    issuer: SigningKey,
    device: SigningKey,
    bundle: TrustBundle,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = |label: &str| SigningKey::from_bytes(&sha256(label.as_bytes()));
        let (root, issuer, device) = (key("props root"), key("props issuer"), key("props device"));
        let public_key = issuer.verifying_key().to_bytes();
        let content = TrustBundleContent {
            version: 1,
            issued_at: NOW - 86_400,
            next_update: NOW + 86_400,
            keys: vec![AuthorityKey {
                kid: key_id(&public_key),
                public_key,
                authority_code: "测A".into(),
                authority_name: "测试公安局交通警察支队".into(),
                valid_from: 0,
                valid_to: u64::MAX,
                retired: false,
            }],
        };
        let bundle = TrustBundle::verify(&content.sign(&root), &root.verifying_key()).unwrap();
        Keys {
            issuer,
            device,
            bundle,
        }
    })
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    /// Every profile's record of a random licence encodes canonically, is accepted
    /// by the strict decoder, decodes to itself, and names its profile.
    #[test]
    fn licence_records_round_trip_in_every_profile(licence in licence()) {
        prop_assert!(licence.address.len() <= MAX_TEXT_BYTES);
        licence.validate().map_err(|e| TestCaseError::fail(format!("validate: {e}")))?;
        for profile in Profile::ALL {
            let record = licence
                .disclose(profile)
                .map_err(|e| TestCaseError::fail(format!("{profile}: disclose: {e}")))?;
            prop_assert_eq!(record.profile(), Some(profile));
            let decoded = strict_round_trip(&record.to_value()).map_err(TestCaseError::fail)?;
            let back = LicenceRecord::from_value(decoded)
                .map_err(|e| TestCaseError::fail(format!("{profile}: from_value: {e}")))?;
            prop_assert_eq!(&back, &record, "{}", profile);
        }
        // The full record is the whole licence (the authority is the key's, not a field).
        let full = licence.disclose(Profile::Full).unwrap();
        prop_assert_eq!(full.licence_number.as_deref(), Some(licence.licence_number.as_str()));
        prop_assert_eq!(full.file_number.as_deref(), Some(licence.file_number.as_str()));
        prop_assert_eq!(full.validity, Some(licence.validity));
    }

    /// Claims round-trip through the strict decoder.
    #[test]
    fn claims_round_trip(
        (issued_at, expires_at) in (0..u64::MAX).prop_flat_map(|iat| (Just(iat), iat + 1..=u64::MAX)),
        serial in 1..=u64::MAX,
        device_key in any::<[u8; 32]>(),
        licence in licence(),
        profile in profile(),
    ) {
        let claims = Claims {
            issued_at,
            expires_at,
            serial,
            device_key,
            licence: licence.disclose(profile).unwrap(),
        };
        let decoded = strict_round_trip(&claims.to_value()).map_err(TestCaseError::fail)?;
        let back = Claims::from_value(decoded)
            .map_err(|e| TestCaseError::fail(format!("from_value: {e}")))?;
        prop_assert_eq!(back, claims);
    }

    /// Claims whose exp is not after iat are refused.
    #[test]
    fn claims_with_exp_not_after_iat_are_refused(
        (expires_at, issued_at) in (0..=u64::MAX).prop_flat_map(|exp| (Just(exp), exp..=u64::MAX)),
        serial in 1..=u64::MAX,
        licence in licence(),
    ) {
        let claims = Claims {
            issued_at,
            expires_at,
            serial,
            device_key: [7; 32],
            licence: licence.disclose(Profile::Employment).unwrap(),
        };
        let decoded = strict_round_trip(&claims.to_value()).map_err(TestCaseError::fail)?;
        prop_assert!(Claims::from_value(decoded).is_err());
    }

    /// A credential issued for a random licence verifies to exactly its record,
    /// or is rejected only for the licence's own validity or status.
    #[test]
    fn issued_credentials_verify_to_their_record(
        mut licence in licence(),
        profile in profile(),
        current in any::<bool>(),
    ) {
        let keys = keys();
        let policy = Policy::default();
        let today = Date::at(NOW, policy.utc_offset_s);
        if current {
            // Half the cases stretch the validity over today, so valid verdicts are common.
            licence.validity.from = licence.validity.from.min(today);
            licence.validity.to = licence.validity.to.map(|to| to.max(today));
        }
        let params = IssueParams {
            serial: 42,
            issued_at: NOW - 3600,
            expires_at: NOW + 3600,
            device_key: keys.device.verifying_key().to_bytes(),
        };
        let credential = issue_credential(&licence, profile, &params, &keys.issuer).unwrap();
        let presented_at = NOW - 5;
        let message = Presentation::message_to_sign(&credential, profile, presented_at);
        let presentation = Presentation {
            holder_signature: credential::signature::sign(&keys.device, &message),
            credential,
            presented_at,
        };
        let bytes = presentation.encode();
        prop_assert_eq!(Presentation::decode(&bytes).unwrap(), presentation);
        let verdict = verify_bytes(&bytes, &keys.bundle, &StatusLists::default(), NOW, &policy);
        let expected = if today < licence.validity.from {
            Some("licence_not_yet_valid")
        } else if licence.validity.to.is_some_and(|to| today > to) {
            Some("licence_expired")
        } else if !licence.status.prohibiting().is_empty() {
            Some("licence_status")
        } else {
            None
        };
        prop_assert_eq!(verdict.reason_code(), expected);
        if let Ok(verified) = &verdict.outcome {
            prop_assert_eq!(verified.profile, profile);
            prop_assert_eq!(&verified.licence, &licence.disclose(profile).unwrap());
            prop_assert_eq!(verified.serial, 42);
        }
        // The same bytes through both text forms give the same verdict.
        for text in [to_qr_text(&bytes), to_url_text(&bytes)] {
            let again = credential::verify(&text, &keys.bundle, &StatusLists::default(), NOW, &policy);
            prop_assert_eq!(again.reason_code(), expected);
        }
    }

    /// Both text forms round-trip any byte string.
    #[test]
    fn text_forms_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        prop_assert_eq!(decode_text(&to_qr_text(&bytes)).unwrap(), bytes.clone());
        prop_assert_eq!(decode_text(&to_url_text(&bytes)).unwrap(), bytes);
    }

    /// Random bytes never panic a decoder or the verifier.
    #[test]
    fn decoders_never_panic_on_random_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        prefix in prop::sample::select(vec![
            &[][..],
            &[0x83][..],                   // a presentation's start
            &[0x83, 0xd2, 0x84][..],       // ... and a COSE_Sign1's
            &[0xd2, 0x84][..],             // a credential's start
            &[0xa5, 0x04][..],             // a claims map
        ]),
    ) {
        let bytes = [prefix, &bytes[..]].concat();
        if let Ok(value) = cbor::decode(&bytes, &CborLimits::DOCUMENT) {
            // Whatever the strict decoder accepts is canonical: it re-encodes to itself.
            prop_assert_eq!(cbor::encode(&value), bytes.clone());
            let _ = Claims::from_value(value.clone());
            let _ = LicenceRecord::from_value(value);
        }
        if let Ok(p) = Presentation::decode(&bytes) {
            let _ = Sign1::from_cbor(&p.credential, &CborLimits::DOCUMENT);
        }
        if let Ok(sign1) = Sign1::from_cbor(&bytes, &CborLimits::DOCUMENT) {
            let _ = sign1.strict_header();
            let _ = sign1.ed25519_signature();
        }
        let keys = keys();
        let verdict = verify_bytes(&bytes, &keys.bundle, &StatusLists::default(), NOW, &Policy::default());
        prop_assert!(verdict.outcome.is_err());
    }

    /// Random strings never panic the text decoder or the verifier.
    #[test]
    fn text_decoding_never_panics(
        text in prop_oneof![
            any::<String>(),
            "DL1:[0-9A-Z $%*+./:-]{0,80}",
            "DL1U:[A-Za-z0-9_-]{0,80}",
            "DL[0-9]{0,12}U?:.{0,20}(\r|\n|\r\n)?",
            "(\r|\n|\r\n){0,3}",
        ],
    ) {
        let _ = decode_text(&text);
        let keys = keys();
        let verdict = credential::verify(&text, &keys.bundle, &StatusLists::default(), NOW, &Policy::default());
        prop_assert!(verdict.outcome.is_err());
    }
}

// ---------------------------------------------------------------------------
// What the issuer signs, the decoder accepts (regression: issuer-side validation
// used to be weaker than the decoder's)
// ---------------------------------------------------------------------------

fn minimal_licence() -> Licence {
    Licence {
        name: "张三".into(),
        sex: Sex::Male,
        nationality: "CHN".into(),
        birth_date: Date::parse("1990-01-01").unwrap(),
        address: "测试路1号".into(),
        licence_number: "P1234567".into(),
        file_number: "000000000001".into(),
        first_issue_date: Date::parse("2010-01-01").unwrap(),
        classes: ClassSet::parse("C1").unwrap(),
        validity: Validity {
            from: Date::parse("2020-01-01").unwrap(),
            to: None,
        },
        issuing_authority: Authority {
            code: "测A".into(),
            name: "测试公安局".into(),
        },
        status: StatusSet::NORMAL,
        points: 0,
        portrait_digest: [0; 16],
    }
}

/// What the issuer signs, every verifier must be able to read: whatever
/// `disclose`/`issue_credential` accept must decode back (points <= 999, the
/// date range, iat < exp are enforced on both sides).
#[test]
fn what_the_issuer_accepts_the_decoder_accepts() {
    let mut failures = Vec::new();
    let mut cases: Vec<(&str, Licence)> = Vec::new();
    let mut l = minimal_licence();
    l.points = 1000;
    cases.push(("points 1000", l));
    let mut l = minimal_licence();
    l.birth_date = Date(MAX_DAY + 1);
    cases.push(("birth_date 10000-01-01", l));
    let mut l = minimal_licence();
    l.first_issue_date = Date(MIN_DAY - 1);
    cases.push(("first_issue_date 0000-12-31", l));
    for (name, licence) in cases {
        if let Ok(record) = licence.disclose(Profile::Full) {
            let value =
                cbor::decode(&cbor::encode(&record.to_value()), &CborLimits::DOCUMENT).unwrap();
            if let Err(e) = LicenceRecord::from_value(value) {
                failures.push(format!("{name}: disclose accepts, decoder says {e}"));
            }
        }
    }
    let keys = keys();
    let params = IssueParams {
        serial: 1,
        issued_at: NOW,
        expires_at: NOW,
        device_key: keys.device.verifying_key().to_bytes(),
    };
    if let Ok(credential) =
        issue_credential(&minimal_licence(), Profile::Full, &params, &keys.issuer)
    {
        let sign1 = Sign1::from_cbor(&credential, &CborLimits::DOCUMENT).unwrap();
        let value = cbor::decode(&sign1.payload, &CborLimits::DOCUMENT).unwrap();
        if let Err(e) = Claims::from_value(value) {
            failures.push(format!(
                "iat == exp: issue_credential signs, decoder says {e}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
