//! Every limit of `credential::limits` at its bound and one past it (spec §2.2).
//! The CBOR depth, item and size limits and the QR text length are tested next to
//! their code (cbor.rs, qr_text.rs); these are the ones that need whole documents.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use credential::date::Date;
use credential::ed25519_dalek::SigningKey;
use credential::error::{DocumentError, Malformed, VerifyError};
use credential::limits::*;
use credential::status_list::StatusList;
use credential::trust_bundle::{AuthorityKey, TrustBundle, TrustBundleContent};
use credential::{Authority, ClassSet, Licence, Policy, Sex, StatusLists, StatusSet, Validity};

fn key(i: u64) -> SigningKey {
    SigningKey::from_bytes(&credential::signature::sha256(&i.to_be_bytes()))
}

fn entry(key: &SigningKey) -> AuthorityKey {
    let public_key = key.verifying_key().to_bytes();
    AuthorityKey {
        kid: credential::signature::key_id(&public_key),
        public_key,
        authority_code: "川J".into(),
        authority_name: "四川省遂宁市公安局交通警察支队".into(),
        valid_from: 0,
        valid_to: 10,
        retired: false,
    }
}

fn bundle_with(keys: Vec<AuthorityKey>) -> Result<TrustBundle, DocumentError> {
    let root = key(u64::MAX);
    let content = TrustBundleContent {
        version: 1,
        issued_at: 0,
        next_update: 10,
        keys,
    };
    TrustBundle::verify(&content.sign(&root), &root.verifying_key())
}

fn too_large(result: Result<impl std::fmt::Debug, DocumentError>) -> bool {
    matches!(
        result,
        Err(DocumentError::Malformed(Malformed::Cbor(
            credential::cbor::CborError::TooLarge { .. }
        )))
    )
}

#[test]
fn trust_bundle_entries_and_size() {
    // Distinct kids (3 bytes: a bundle with a repeated kid is malformed for that reason).
    let mut seen = HashSet::new();
    let keys: Vec<_> = (0..)
        .map(key)
        .map(|k| entry(&k))
        .filter(|e| seen.insert(e.kid))
        .take(MAX_BUNDLE_ENTRIES + 1)
        .collect();
    assert_eq!(
        bundle_with(keys[..MAX_BUNDLE_ENTRIES].to_vec())
            .unwrap()
            .content
            .keys
            .len(),
        MAX_BUNDLE_ENTRIES
    );
    assert_eq!(
        bundle_with(keys).unwrap_err(),
        DocumentError::Malformed(Malformed::OutOfRange("number of keys"))
    );

    let root = key(u64::MAX).verifying_key();
    assert!(!too_large(TrustBundle::verify(
        &vec![0; MAX_TRUST_BUNDLE_BYTES],
        &root
    )));
    assert!(too_large(TrustBundle::verify(
        &vec![0; MAX_TRUST_BUNDLE_BYTES + 1],
        &root
    )));
}

#[test]
fn status_list_entries_and_size() {
    assert!(StatusList::new("川J".into(), 0, 10, MAX_STATUS_LIST_ENTRIES).is_ok());
    assert_eq!(
        StatusList::new("川J".into(), 0, 10, MAX_STATUS_LIST_ENTRIES + 1).unwrap_err(),
        Malformed::OutOfRange("status list size")
    );
    let authority = key(1);
    let bundle = bundle_with(vec![entry(&authority)]).unwrap();
    // The largest list decompresses to 32 MiB and is accepted.
    let mut full = StatusList::new("川J".into(), 0, 10, MAX_STATUS_LIST_ENTRIES).unwrap();
    full.set(
        MAX_STATUS_LIST_ENTRIES - 1,
        credential::status_list::SerialStatus::Revoked,
    )
    .unwrap();
    let verified = StatusList::verify(&full.sign(&authority), &bundle).unwrap();
    assert_eq!(
        verified.get(MAX_STATUS_LIST_ENTRIES - 1),
        Some(credential::status_list::SerialStatus::Revoked)
    );
    assert!(!too_large(StatusList::verify(
        &vec![0; MAX_STATUS_LIST_BYTES],
        &bundle
    )));
    assert!(too_large(StatusList::verify(
        &vec![0; MAX_STATUS_LIST_BYTES + 1],
        &bundle
    )));
}

#[test]
fn presentation_bytes() {
    let bundle = bundle_with(vec![entry(&key(1))]).unwrap();
    let lists = StatusLists::default();
    let too_long = |n: usize| {
        let verdict =
            credential::verify_bytes(&vec![0x83; n], &bundle, &lists, 5, &Policy::default());
        matches!(
            verdict.outcome,
            Err(VerifyError::Malformed(Malformed::TooLong { .. }))
        )
    };
    assert!(!too_long(MAX_PRESENTATION_BYTES));
    assert!(too_long(MAX_PRESENTATION_BYTES + 1));
    // Through QR text the character limit binds first: the longest text decodes to
    // fewer bytes than the byte limit (qr_text.rs tests that limit exactly).
    assert!((MAX_QR_TEXT_CHARS - "DL1:".len()) / 3 * 2 < MAX_PRESENTATION_BYTES);
}

#[test]
fn text_fields() {
    let licence = |name: String| Licence {
        name,
        sex: Sex::Male,
        nationality: "CHN".into(),
        birth_date: Date::parse("1990-01-01").unwrap(),
        address: "遂宁".into(),
        licence_number: "P1".into(),
        file_number: "510900000001".into(),
        first_issue_date: Date::parse("2010-01-01").unwrap(),
        classes: ClassSet::parse("C1").unwrap(),
        validity: Validity {
            from: Date::parse("2020-01-01").unwrap(),
            to: None,
        },
        issuing_authority: Authority {
            code: "川J".into(),
            name: "x".into(),
        },
        status: StatusSet::NORMAL,
        points: 0,
        portrait_digest: [0; 16],
    };
    // 85 three-byte characters + 1 byte = 256 bytes.
    let at_limit = format!("{}a", "张".repeat(85));
    assert_eq!(at_limit.len(), MAX_TEXT_BYTES);
    assert!(licence(at_limit.clone()).validate().is_ok());
    assert_eq!(
        licence(at_limit + "a").validate(),
        Err(Malformed::Invalid("name"))
    );
}
