//! The whole chain with the real pieces: the issuer's registry issues, the wallet
//! presents a PNG, `verifier scan` reads the photo and decides — fresh, stale,
//! revoked after a status list import, an authority the bundle does not know, and a
//! bundle rollback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use credential::date::Date;
use credential::licence::{ClassSet, Sex, Validity};
use credential::Profile;
use issuer::keyfile::KdfParams;
use issuer::model::{Channel, HolderInput, PortraitSource, DAY};
use issuer::Keyring;
use wallet_core::Wallet;
use zeroize::Zeroizing;

const T: u64 = 1_780_279_200;

fn verifier(store: &Path, args: &[&str]) -> Output {
    let output = Command::new(e2e::binary("verifier"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    output
}

fn scan(store: &Path, png: &Path, at: u64) -> serde_json::Value {
    let out = verifier(
        store,
        &[
            "scan",
            "--json",
            "--at",
            &at.to_string(),
            png.to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let first = stdout
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no output: {}", String::from_utf8_lossy(&out.stderr)));
    serde_json::from_str(first).unwrap()
}

fn reason(verdict: &serde_json::Value) -> &str {
    verdict["verdict"]["reason"]
        .as_str()
        .or(verdict["reason"].as_str())
        .unwrap_or("valid")
}

fn holder(licence_number: &str, authority: &str, device_key: [u8; 32]) -> HolderInput {
    HolderInput {
        licence_number: licence_number.into(),
        name: "欧阳婷婷".into(),
        sex: Sex::Female,
        nationality: "CHN".into(),
        birth_date: Date::parse("1988-03-14").unwrap(),
        address: "四川省遂宁市船山区明月路88号".into(),
        file_number: "510900123456".into(),
        first_issue_date: Date::parse("2008-07-22").unwrap(),
        classes: ClassSet::parse("C1E").unwrap(),
        validity: Validity {
            from: Date::parse("2020-07-22").unwrap(),
            to: None,
        },
        authority_code: authority.into(),
        points: 0,
        channel: Channel::App,
        device_key: Some(device_key),
    }
}

#[test]
fn issuer_to_wallet_png_to_verifier_scan() {
    let dir = tempfile::tempdir().unwrap();
    let mut registry = issuer::backend::open(
        &dir.path().join("registry"),
        "test",
        KdfParams::fast_for_tests(),
    )
    .unwrap();
    let mut keyring = Keyring::new(Zeroizing::new(b"chain test passphrase".to_vec()));
    registry.root_init(&mut keyring, T).unwrap();
    registry
        .authority_add("川J", "四川省遂宁市公安局交通警察支队", &mut keyring, T)
        .unwrap();
    let portrait = issuer::portrait::synthetic_portrait(
        358,
        441,
        [255, 255, 255],
        issuer::portrait::ImageFormat::Jpeg,
    );

    let mut wallet = Wallet::init(&dir.path().join("wallet")).unwrap();
    let id = registry
        .holder_add(&holder("P1", "川J", wallet.public_key()), T)
        .unwrap();
    registry
        .portrait_add(id, PortraitSource::Retained, &portrait, T)
        .unwrap();
    let issued = registry.issue(id, None, &mut keyring, T, 7 * DAY).unwrap();
    wallet.enrol(&issued.package(), T).unwrap();

    let published = dir.path().join("published");
    registry.publish(&published, &mut keyring, T, DAY).unwrap();
    let old_bundle = std::fs::read(published.join("trust-bundle.cbor")).unwrap();
    let store = dir.path().join("store");
    assert!(verifier(
        &store,
        &[
            "init",
            "--root",
            published.join("root.pub").to_str().unwrap()
        ]
    )
    .status
    .success());
    assert!(verifier(
        &store,
        &[
            "trust",
            "import",
            published.join("trust-bundle.cbor").to_str().unwrap()
        ]
    )
    .status
    .success());
    let list = published.join(format!("status-{}.cbor", hex::encode("川J".as_bytes())));
    assert!(
        verifier(&store, &["status", "import", list.to_str().unwrap()])
            .status
            .success()
    );

    // The rental QR as the phone shows it, scanned from the PNG.
    let shown = wallet.present(Profile::Rental, T + 10).unwrap();
    let png = dir.path().join("qr.png");
    std::fs::write(&png, shown.qr.to_png(6).unwrap()).unwrap();
    let fresh = scan(&store, &png, T + 20);
    assert_eq!(reason(&fresh), "valid", "{fresh}");
    assert!(
        fresh.to_string().contains("\"verdict\":\"valid\""),
        "{fresh}"
    );
    let stale = scan(&store, &png, T + 10 + 181);
    assert_eq!(reason(&stale), "stale_presentation", "{stale}");

    // Revoked at the office; the verifier learns it from the next status list.
    registry.revoke(id, T + 100).unwrap();
    registry
        .publish(&published, &mut keyring, T + 200, DAY)
        .unwrap();
    assert!(verifier(
        &store,
        &[
            "trust",
            "import",
            published.join("trust-bundle.cbor").to_str().unwrap()
        ]
    )
    .status
    .success());
    assert!(
        verifier(&store, &["status", "import", list.to_str().unwrap()])
            .status
            .success()
    );
    let shown = wallet.present(Profile::Full, T + 300).unwrap();
    std::fs::write(&png, shown.qr.to_png(4).unwrap()).unwrap();
    assert_eq!(
        reason(&scan(&store, &png, T + 305)),
        "revoked_by_status_list"
    );

    // An authority added after the verifier's bundle was published.
    registry
        .authority_add("川A", "四川省成都市公安局交通管理局", &mut keyring, T + 400)
        .unwrap();
    let mut other_wallet = Wallet::init(&dir.path().join("wallet2")).unwrap();
    let other = registry
        .holder_add(&holder("P2", "川A", other_wallet.public_key()), T + 400)
        .unwrap();
    registry
        .portrait_add(other, PortraitSource::Retained, &portrait, T + 400)
        .unwrap();
    other_wallet
        .enrol(
            &registry
                .issue(other, None, &mut keyring, T + 400, 7 * DAY)
                .unwrap()
                .package(),
            T + 400,
        )
        .unwrap();
    std::fs::write(
        &png,
        other_wallet
            .present(Profile::Rental, T + 500)
            .unwrap()
            .qr
            .to_png(6)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(reason(&scan(&store, &png, T + 505)), "unknown_issuer");

    // The first bundle again: a rollback, refused.
    let rollback = dir.path().join("old-bundle.cbor");
    std::fs::write(&rollback, old_bundle).unwrap();
    let out = verifier(
        &store,
        &["--json", "trust", "import", rollback.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("trust_bundle_rollback"));
}
