//! Verification cost against its floor: the two strict Ed25519 verifications
//! (issuer and holder) that every presentation needs, measured in the same run.
//! `cargo bench -p credential --bench verify`. Reports ratios, since machines are noisy.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use credential::ed25519_dalek::{Signer, SigningKey};
use credential::status_list::StatusList;
use credential::trust_bundle::{AuthorityKey, TrustBundle, TrustBundleContent};
use credential::{Policy, Profile, StatusLists};

fn rate(mut f: impl FnMut(), budget: Duration) -> f64 {
    for _ in 0..100 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for _ in 0..100 {
            f();
        }
        n += 100;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let root = SigningKey::from_bytes(&[1; 32]);
    let authority = SigningKey::from_bytes(&[2; 32]);
    let device = SigningKey::from_bytes(&[3; 32]);
    let now = 1_780_279_200u64;
    let public_key = authority.verifying_key().to_bytes();
    let bundle = TrustBundleContent {
        version: 1,
        issued_at: now - 100,
        next_update: now + 100_000,
        keys: vec![AuthorityKey {
            kid: credential::signature::key_id(&public_key),
            public_key,
            authority_code: "川J".into(),
            authority_name: "四川省遂宁市公安局交通警察支队".into(),
            valid_from: now - 1_000_000,
            valid_to: now + 1_000_000,
            retired: false,
        }],
    };
    let bundle = TrustBundle::verify(&bundle.sign(&root), &root.verifying_key()).unwrap();
    let list = StatusList::new("川J".into(), now - 10, now + 1000, 1_000_000).unwrap();
    let mut lists = StatusLists::default();
    lists.insert(StatusList::verify(&list.sign(&authority), &bundle).unwrap());
    let licence = credential::Licence {
        name: "欧阳婷婷".into(),
        sex: credential::Sex::Female,
        nationality: "CHN".into(),
        birth_date: credential::date::Date::parse("1988-03-14").unwrap(),
        address: "四川省遂宁市船山区明月路88号3栋2单元501室".into(),
        licence_number: "510903198803140029".into(),
        file_number: "510900123456".into(),
        first_issue_date: credential::date::Date::parse("2008-07-22").unwrap(),
        classes: credential::ClassSet::parse("B2DE").unwrap(),
        validity: credential::Validity {
            from: credential::date::Date::parse("2020-07-22").unwrap(),
            to: None,
        },
        issuing_authority: credential::Authority {
            code: "川J".into(),
            name: "x".into(),
        },
        status: credential::StatusSet::NORMAL,
        points: 0,
        portrait_digest: [7; 16],
    };
    let params = credential::issue::IssueParams {
        serial: 42,
        issued_at: now - 100,
        expires_at: now + 100_000,
        device_key: device.verifying_key().to_bytes(),
    };
    let cred =
        credential::issue::issue_credential(&licence, Profile::Full, &params, &authority).unwrap();
    let message =
        credential::presentation::Presentation::message_to_sign(&cred, Profile::Full, now);
    let presentation = credential::presentation::Presentation {
        holder_signature: credential::signature::sign(&device, &message),
        credential: cred.clone(),
        presented_at: now,
    };
    let text = credential::qr_text::to_qr_text(&presentation.encode());
    assert!(
        credential::verify(&text, &bundle, &lists, now, &Policy::default())
            .outcome
            .is_ok()
    );

    let budget = Duration::from_secs(2);
    let issuer_msg = b"x".repeat(300);
    let issuer_sig = authority.sign(&issuer_msg).to_bytes();
    let holder_sig = device.sign(&message).to_bytes();
    let (a, d) = (authority.verifying_key(), device.verifying_key());
    let raw = rate(
        || {
            assert!(credential::signature::verify_strict(
                &a,
                black_box(&issuer_msg),
                &issuer_sig
            ));
            assert!(credential::signature::verify_strict(
                &d,
                black_box(&message),
                &holder_sig
            ));
        },
        budget,
    );
    let full = rate(
        || {
            let verdict =
                credential::verify(black_box(&text), &bundle, &lists, now, &Policy::default());
            assert!(verdict.outcome.is_ok());
        },
        budget,
    );
    let raw_sign = rate(
        || {
            black_box(authority.sign(black_box(&issuer_msg)));
        },
        budget,
    );
    let issue = rate(
        || {
            drop(black_box(
                credential::issue::issue_credential(&licence, Profile::Full, &params, &authority)
                    .unwrap(),
            ))
        },
        budget,
    );
    println!("raw strict Ed25519 verify x2 (issuer + holder): {raw:>9.0} /s");
    println!("verify() from QR text, all 15 checks:           {full:>9.0} /s");
    println!(
        "ratio (cost of verify / cost of 2 raw verifies): {:.3}",
        raw / full
    );
    println!("raw Ed25519 sign:                               {raw_sign:>9.0} /s");
    println!("issue_credential (encode + sign, full profile): {issue:>9.0} /s");
    println!(
        "ratio (cost of issue / cost of raw sign):        {:.3}",
        raw_sign / issue
    );
}
