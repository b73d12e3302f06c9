//! Batch issuance throughput against its floor, raw Ed25519 signing, in one run.
//! `cargo bench -p issuer --bench issuance`.
//!
//! Measures: CSV enrolment of N holders (with retained portraits), then `issue_batch`
//! (licence from the registry, 4 profile credentials signed, committed 64 holders
//! per transaction with synchronous=FULL), and per photo the portrait checks against
//! making the portrait for the code. Reports ratios, since machines are noisy.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use credential::ed25519_dalek::{Signer, SigningKey};
use issuer::keyfile::KdfParams;
use issuer::Keyring;
use zeroize::Zeroizing;

const HOLDERS: usize = 2000;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let now = 1_780_279_200;
    let mut registry = issuer::backend::open(
        &dir.path().join("registry"),
        "bench",
        KdfParams::fast_for_tests(),
    )
    .unwrap();
    let mut keyring = Keyring::new(Zeroizing::new(b"bench passphrase".to_vec()));
    registry.root_init(&mut keyring, now).unwrap();
    registry
        .authority_add("川J", "四川省遂宁市公安局交通警察支队", &mut keyring, now)
        .unwrap();
    let portrait = issuer::portrait::synthetic_portrait(
        358,
        441,
        [255, 255, 255],
        issuer::portrait::ImageFormat::Jpeg,
    );
    std::fs::write(dir.path().join("p.jpg"), &portrait).unwrap();
    let mut csv = String::from("licence_number,name,sex,nationality,birth_date,address,file_number,first_issue_date,classes,valid_from,valid_to,authority,device_key,portrait\n");
    for i in 0..HOLDERS {
        let device = SigningKey::from_bytes(&credential::signature::sha256(&i.to_be_bytes()));
        csv += &format!(
            "P{i:08},持证人{i},男,CHN,1985-01-01,四川省遂宁市船山区明月路{i}号,5109{i:08},2005-07-22,C1E,2020-07-22,2030-07-22,川J,{},p.jpg\n",
            hex::encode(device.verifying_key().as_bytes())
        );
    }
    let started = Instant::now();
    let file = issuer::csv_import::read_csv(csv.as_bytes(), dir.path()).unwrap();
    let report = registry
        .holder_import(&file.lines, file.blank_lines, true, now, || {})
        .unwrap();
    assert!(report.errors.is_empty() && report.added == HOLDERS);
    let enrol_s = started.elapsed().as_secs_f64();

    let pending = registry.pending_issuance().unwrap();
    let started = Instant::now();
    let batch = registry
        .issue_batch(&pending, 64, &mut keyring, now, 7 * 86_400, |_| {})
        .unwrap();
    let issue_s = started.elapsed().as_secs_f64();
    assert!(batch.refused.is_empty() && batch.issued == HOLDERS);

    let key = SigningKey::from_bytes(&[7; 32]);
    let message = vec![0x5a; 300];
    let started = Instant::now();
    let signatures = HOLDERS * 4;
    for _ in 0..signatures {
        std::hint::black_box(key.sign(std::hint::black_box(&message)));
    }
    let sign_s = started.elapsed().as_secs_f64();

    // The format's share: licence → 4 signed profile credentials, no database.
    let licence = vectorgen_like_licence();
    let params = credential::issue::IssueParams {
        serial: 1,
        issued_at: now,
        expires_at: now + 86_400,
        device_key: key.verifying_key().to_bytes(),
    };
    let started = Instant::now();
    for _ in 0..HOLDERS {
        std::hint::black_box(
            credential::issue::issue_all_profiles(&licence, &params, &key).unwrap(),
        );
    }
    let format_s = started.elapsed().as_secs_f64();

    // What enrolment now spends per photo: the automatic checks (the baseline, as
    // before), and making the portrait for the code (format §17.3) on top.
    let photos = 200;
    let started = Instant::now();
    for _ in 0..photos {
        std::hint::black_box(issuer::portrait::check_portrait(
            std::hint::black_box(&portrait),
            now,
        ));
    }
    let check_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for _ in 0..photos {
        std::hint::black_box(
            issuer::portrait_code::make_portrait(
                std::hint::black_box(&portrait),
                &issuer::portrait_code::STANDARD,
            )
            .unwrap(),
        );
    }
    let make_s = started.elapsed().as_secs_f64();
    println!(
        "portrait checks (358 × 441 JPEG):         {:>8.0} photos/s",
        photos as f64 / check_s
    );
    println!(
        "portrait made for the code:               {:>8.0} photos/s ({:.2}× the checks' cost)",
        photos as f64 / make_s,
        make_s / check_s
    );
    println!(
        "format only (4 credentials, no database):  {:>8.0} holders/s",
        HOLDERS as f64 / format_s
    );
    println!(
        "enrolment from CSV (checks + made portrait): {:>6.0} holders/s",
        HOLDERS as f64 / enrol_s
    );
    println!("batch issuance, signed and committed:     {:>8.0} holders/s ({:.0} credentials/s, 4 profiles each)", HOLDERS as f64 / issue_s, signatures as f64 / issue_s);
    println!(
        "raw Ed25519 signing:                      {:>8.0} signatures/s",
        signatures as f64 / sign_s
    );
    println!(
        "ratio (issuance cost per credential / raw signing cost): {:.2}",
        issue_s / sign_s
    );
}

fn vectorgen_like_licence() -> credential::Licence {
    credential::Licence {
        name: "持证人".into(),
        sex: credential::Sex::Male,
        nationality: "CHN".into(),
        birth_date: credential::date::Date::parse("1985-01-01").unwrap(),
        address: "四川省遂宁市船山区明月路1号".into(),
        licence_number: "P00000001".into(),
        file_number: "510900000001".into(),
        first_issue_date: credential::date::Date::parse("2005-07-22").unwrap(),
        classes: credential::ClassSet::parse("C1E").unwrap(),
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
        portrait_digest: [1; 16],
    }
}
