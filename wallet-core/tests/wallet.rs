//! The wallet against the spec's fixtures: what it presents verifies with
//! `credential::verify`; refresh outcomes are stored and change what it presents;
//! corrupt files are reported and left alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;

use credential::licence::{ClassSet, StatusSet};
use credential::refresh::{RefreshResponse, Refusal};
use credential::{Policy, Profile, StatusLists};
use vectorgen::fixture;
use wallet_core::{
    CredentialStatus, RefreshClient, RefreshOutcome, SoftwareDeviceKey, Wallet, WalletError,
};

mod common;
use common::device;

const T0: u64 = fixture::T0;

/// A package issued at `issued_at`, valid for 7 days, the licence edited by `edit`.
fn package_with(serial: u64, issued_at: u64, edit: impl Fn(&mut credential::Licence)) -> Vec<u8> {
    let mut licence = fixture::licence();
    edit(&mut licence);
    let mut params = fixture::params();
    params.serial = serial;
    params.issued_at = issued_at;
    params.expires_at = issued_at + 7 * fixture::DAY;
    common::package_of(&licence, &params)
}

fn package(serial: u64, issued_at: u64) -> Vec<u8> {
    package_with(serial, issued_at, |_| {})
}

fn lists() -> StatusLists {
    let mut lists = StatusLists::default();
    lists.insert(fixture::status_list());
    lists
}

fn enrolled(dir: &std::path::Path) -> Wallet {
    let mut wallet = Wallet::open_with_key(dir, Box::new(device())).unwrap();
    wallet
        .enrol(
            &package(fixture::SERIAL, T0 - fixture::DAY),
            T0 - fixture::DAY,
        )
        .unwrap();
    wallet
}

/// Answers every request with the next canned response, and keeps the requests.
struct Canned {
    responses: RefCell<Vec<RefreshResponse>>,
    requests: RefCell<Vec<Vec<u8>>>,
}

impl Canned {
    fn new(responses: Vec<RefreshResponse>) -> Canned {
        Canned {
            responses: RefCell::new(responses),
            requests: RefCell::new(Vec::new()),
        }
    }
}

impl RefreshClient for Canned {
    fn send(&self, request: &[u8]) -> Result<Vec<u8>, WalletError> {
        self.requests.borrow_mut().push(request.to_vec());
        let mut responses = self.responses.borrow_mut();
        if responses.is_empty() {
            return Err(WalletError::Offline("no network".into()));
        }
        Ok(responses.remove(0).encode())
    }
}

#[test]
fn every_profile_presented_verifies_with_the_fixture_trust_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = enrolled(dir.path());
    let bundle = fixture::trust_bundle();
    for profile in Profile::ALL {
        let started = std::time::Instant::now();
        let presented = wallet.present(profile, T0 - 10).unwrap();
        let elapsed = started.elapsed();
        println!(
            "{profile}: QR version {} in {elapsed:?}",
            presented.qr.version()
        );
        assert!(presented.text.starts_with("DL1:"));
        assert_eq!(presented.refresh_at, T0 - 10 + 30);
        let verdict =
            credential::verify(&presented.text, &bundle, &lists(), T0, &Policy::default());
        let verified = verdict.outcome.unwrap();
        assert_eq!(verified.profile, profile);
        assert_eq!(verified.serial, fixture::SERIAL);
        // The same text, from the module matrix, the PNG and the SVG, describes one symbol.
        let qr = &presented.qr;
        assert_eq!(qr.modules().len(), qr.width() * qr.width());
        assert!(qr.to_png(2).unwrap().starts_with(b"\x89PNG"));
        assert!(qr.to_svg().contains("<path"));
        assert_eq!(
            qr.to_terminal().lines().count(),
            (qr.width() + 8).div_ceil(2)
        );
    }
    // A screenshot is stale three minutes later: the live QR is what makes it fresh.
    let old = wallet.present(Profile::Rental, T0 - 200).unwrap();
    let verdict = credential::verify(&old.text, &bundle, &lists(), T0, &Policy::default());
    assert_eq!(verdict.reason_code(), Some("stale_presentation"));
}

#[test]
fn state_survives_reopening_and_a_corrupt_file_is_reported_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    enrolled(dir.path());
    let reopened = Wallet::open_with_key(dir.path(), Box::new(device())).unwrap();
    assert_eq!(reopened.package().unwrap().serial, fixture::SERIAL);
    let status = reopened.status(T0).unwrap();
    assert_eq!(status.holder.name, "欧阳婷婷");
    assert_eq!(status.holder.classes, "B2DE");
    assert_eq!(status.holder.points, 3);
    assert_eq!(status.status, CredentialStatus::Valid);

    let path = dir.path().join(wallet_core::wallet::STATE_FILE);
    let good = std::fs::read(&path).unwrap();
    for damaged in [good[..good.len() / 2].to_vec(), Vec::new(), {
        let mut flipped = good.clone();
        flipped[good.len() / 2] ^= 0x10;
        flipped
    }] {
        std::fs::write(&path, &damaged).unwrap();
        match Wallet::open_with_key(dir.path(), Box::new(device())) {
            Err(WalletError::Corrupt { reason, .. }) => println!("reported: {reason}"),
            Err(other) => panic!("expected corrupt, got {other}"),
            Ok(_) => panic!("a damaged file was accepted"),
        }
        assert_eq!(
            std::fs::read(&path).unwrap(),
            damaged,
            "the damaged file was modified"
        );
    }
    // The file belongs to another key: also refused.
    std::fs::write(&path, &good).unwrap();
    let other = SoftwareDeviceKey::from_seed(&[9; 32]);
    assert!(matches!(
        Wallet::open_with_key(dir.path(), Box::new(other)),
        Err(WalletError::Corrupt { .. })
    ));
}

#[test]
fn a_package_for_another_phone_is_refused_at_enrolment() {
    let dir = tempfile::tempdir().unwrap();
    let mut wallet =
        Wallet::open_with_key(dir.path(), Box::new(SoftwareDeviceKey::from_seed(&[9; 32])))
            .unwrap();
    let error = wallet.enrol(&package(fixture::SERIAL, T0), T0).unwrap_err();
    assert_eq!(error.code(), "package_other_device");
    assert!(wallet.package().is_none());
    assert!(matches!(
        wallet.present(Profile::Full, T0),
        Err(WalletError::NotEnrolled)
    ));
}

#[test]
fn refresh_stores_what_the_issuer_says() {
    let dir = tempfile::tempdir().unwrap();
    let mut wallet = enrolled(dir.path());
    let renewed = package(fixture::SERIAL, T0);
    let reissued = package_with(fixture::SERIAL + 1000, T0 + 60, |l| {
        l.classes = ClassSet::parse("A2D").unwrap();
    });
    let suspended = package_with(fixture::SERIAL + 1000, T0 + 120, |l| {
        l.status = StatusSet::parse("D").unwrap();
    });
    let client = Canned::new(vec![
        RefreshResponse::Current { package: renewed },
        RefreshResponse::Superseded { package: reissued },
        RefreshResponse::Suspended { package: suspended },
        RefreshResponse::refused(Refusal::RateLimited { retry_after_s: 60 }),
        RefreshResponse::refused(Refusal::Revoked),
    ]);

    // Same serial, new expiry; the request names the current serial.
    let outcome = wallet.refresh(&client, T0, [1; 16]).unwrap();
    assert_eq!(
        outcome,
        RefreshOutcome::Refreshed {
            serial: fixture::SERIAL,
            expires_at: T0 + 7 * fixture::DAY
        }
    );
    let sent = credential::refresh::verify_request(&client.requests.borrow()[0], T0, 300).unwrap();
    assert_eq!(sent.current.unwrap().serial, fixture::SERIAL);
    assert_eq!(sent.device_key, wallet.public_key());
    assert_eq!(wallet.status(T0).unwrap().last_refresh_at, Some(T0));

    // Re-issued with new classes: the new credential replaces the old one.
    let outcome = wallet.refresh(&client, T0 + 60, [2; 16]).unwrap();
    assert!(
        matches!(outcome, RefreshOutcome::Replaced { ref old, .. } if old.as_deref() == Some("川J/100")),
        "{outcome:?}"
    );
    let status = wallet.status(T0 + 60).unwrap();
    assert_eq!(
        (status.serial, status.holder.classes.as_str()),
        (fixture::SERIAL + 1000, "A2D")
    );
    assert_eq!(status.replaced.as_deref(), Some("川J/100"));

    // Suspended: stored, still presented (the credential itself says D).
    assert!(matches!(
        wallet.refresh(&client, T0 + 120, [3; 16]).unwrap(),
        RefreshOutcome::Suspended { .. }
    ));
    assert_eq!(
        wallet.credential_status(),
        Some(CredentialStatus::Suspended)
    );
    let text = wallet.present(Profile::Full, T0 + 130).unwrap().text;
    let verdict = credential::verify(
        &text,
        &fixture::trust_bundle(),
        &lists(),
        T0 + 130,
        &Policy::default(),
    );
    assert_eq!(verdict.reason_code(), Some("licence_status"));

    // Rate limited: an error, nothing stored.
    let error = wallet.refresh(&client, T0 + 130, [4; 16]).unwrap_err();
    assert_eq!(error.code(), "rate_limited");
    assert_eq!(
        wallet.credential_status(),
        Some(CredentialStatus::Suspended)
    );

    // Revoked: stored, and the wallet refuses to present from now on, also after reopening.
    assert!(matches!(
        wallet.refresh(&client, T0 + 140, [5; 16]).unwrap(),
        RefreshOutcome::Revoked { .. }
    ));
    assert!(matches!(
        wallet.present(Profile::Full, T0 + 150),
        Err(WalletError::Revoked)
    ));
    let reopened = Wallet::open_with_key(dir.path(), Box::new(device())).unwrap();
    assert_eq!(
        reopened.credential_status(),
        Some(CredentialStatus::Revoked)
    );
    assert!(matches!(
        reopened.present(Profile::Rental, T0 + 150),
        Err(WalletError::Revoked)
    ));
    assert!(reopened.status(T0 + 150).unwrap().cannot_present.is_some());

    // Offline: an error, the state is kept.
    assert!(matches!(
        wallet.refresh(&client, T0 + 160, [6; 16]),
        Err(WalletError::Offline(_))
    ));
}

#[test]
fn a_replacement_for_another_phone_stops_the_old_credential() {
    let dir = tempfile::tempdir().unwrap();
    let mut wallet = enrolled(dir.path());
    let mut params = fixture::params();
    params.device_key = fixture::other_device_key().verifying_key().to_bytes();
    let foreign = common::package_of(&fixture::licence(), &params);
    let client = Canned::new(vec![RefreshResponse::Superseded { package: foreign }]);
    assert_eq!(
        wallet.refresh(&client, T0, [1; 16]).unwrap_err().code(),
        "package_other_device"
    );
    assert_eq!(
        wallet.credential_status(),
        Some(CredentialStatus::Superseded)
    );
    assert!(matches!(
        wallet.present(Profile::Full, T0),
        Err(WalletError::Superseded)
    ));
}

#[test]
fn time_left_and_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = enrolled(dir.path());
    let expires_at = T0 + 6 * fixture::DAY;
    let early = wallet.time_left(T0).unwrap();
    assert_eq!(
        (early.seconds_left, early.expired, early.refresh_recommended),
        (6 * fixture::DAY, false, false)
    );
    let late = wallet.time_left(expires_at - fixture::DAY).unwrap();
    assert!(late.refresh_recommended && !late.expired);
    let gone = wallet.time_left(expires_at).unwrap();
    assert!(gone.expired && gone.seconds_left == 0);
    assert!(matches!(
        wallet.present(Profile::Full, expires_at),
        Err(WalletError::Expired { expired_at }) if expired_at == expires_at
    ));
    assert!(wallet.present(Profile::Full, expires_at - 1).is_ok());
}
