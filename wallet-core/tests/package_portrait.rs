//! The portrait in the credential package (spec/refresh.md §7): stored with the
//! package on enrolment and refresh, no `wallet portrait set` step; a package
//! without one keeps the wallet's portrait only while the new credential signs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use credential::refresh::RefreshResponse;
use vectorgen::fixture;
use wallet_core::wallet::PORTRAIT_FILE;
use wallet_core::{Wallet, WalletError};

mod common;
use common::device;

const T0: u64 = fixture::T0;

/// A package of serial `serial` whose credentials sign `signed`, carrying `carried`.
fn package(serial: u64, signed: &[u8], carried: Option<&[u8]>) -> Vec<u8> {
    let mut licence = fixture::licence();
    licence.portrait_digest = credential::licence::portrait_digest(signed);
    let mut params = fixture::params();
    params.serial = serial;
    common::package_carrying(&licence, &params, carried)
}

fn open(dir: &Path) -> Wallet {
    Wallet::open_with_key(dir, Box::new(device())).unwrap()
}

#[test]
fn the_package_portrait_is_stored_on_enrolment_and_kept_by_a_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let mut wallet = open(dir.path());
    wallet
        .enrol(&package(1, b"made A", Some(b"made A")), T0)
        .unwrap();
    assert_eq!(wallet.portrait().unwrap().as_deref(), Some(&b"made A"[..]));
    // In the state file with the package: a reopened wallet has it, no extra file.
    assert_eq!(
        open(dir.path()).portrait().unwrap().as_deref(),
        Some(&b"made A"[..])
    );
    assert!(!dir.path().join(PORTRAIT_FILE).exists());

    // A refresh from an issuer that sends it again: still there.
    let mut wallet = open(dir.path());
    wallet
        .apply(
            RefreshResponse::Current {
                package: package(1, b"made A", Some(b"made A")),
            },
            T0 + 60,
        )
        .unwrap();
    assert_eq!(wallet.portrait().unwrap().as_deref(), Some(&b"made A"[..]));

    // A package without the portrait whose credential still signs it keeps it.
    wallet
        .apply(
            RefreshResponse::Current {
                package: package(1, b"made A", None),
            },
            T0 + 120,
        )
        .unwrap();
    assert_eq!(wallet.package().unwrap().portrait, None);
    assert_eq!(wallet.portrait().unwrap().as_deref(), Some(&b"made A"[..]));
    assert_eq!(
        open(dir.path()).portrait().unwrap().as_deref(),
        Some(&b"made A"[..])
    );

    // A re-issue over another photo, without the portrait: the old one is dropped.
    wallet
        .apply(
            RefreshResponse::Superseded {
                package: package(2, b"made B", None),
            },
            T0 + 180,
        )
        .unwrap();
    assert_eq!(wallet.portrait().unwrap(), None);
    assert!(!dir.path().join(PORTRAIT_FILE).exists());

    // A re-issue carrying the new portrait brings it.
    wallet
        .apply(
            RefreshResponse::Superseded {
                package: package(3, b"made C", Some(b"made C")),
            },
            T0 + 240,
        )
        .unwrap();
    assert_eq!(wallet.portrait().unwrap().as_deref(), Some(&b"made C"[..]));
}

#[test]
fn a_package_whose_portrait_is_not_the_signed_one_is_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let mut wallet = open(dir.path());
    wallet
        .enrol(&package(1, b"made A", Some(b"made A")), T0)
        .unwrap();
    let before = std::fs::read(dir.path().join(wallet_core::wallet::STATE_FILE)).unwrap();
    let crafted = package(2, b"made A", Some(b"crafted"));
    let error = wallet
        .apply(
            RefreshResponse::Current {
                package: crafted.clone(),
            },
            T0 + 60,
        )
        .unwrap_err();
    assert!(matches!(error, WalletError::Package(_)), "{error}");
    assert_eq!(error.code(), "package_portrait_mismatch");
    let error = open(dir.path()).enrol(&crafted, T0).unwrap_err();
    assert_eq!(error.code(), "package_portrait_mismatch");
    assert_eq!(
        std::fs::read(dir.path().join(wallet_core::wallet::STATE_FILE)).unwrap(),
        before
    );
    assert_eq!(
        open(dir.path()).portrait().unwrap().as_deref(),
        Some(&b"made A"[..])
    );
}

#[test]
fn a_portrait_set_for_an_older_issuers_package_survives_a_refresh_that_still_signs_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut wallet = open(dir.path());
    wallet.enrol(&package(1, b"old file", None), T0).unwrap();
    assert_eq!(wallet.portrait().unwrap(), None);
    wallet.set_portrait(b"old file").unwrap();
    wallet
        .apply(
            RefreshResponse::Current {
                package: package(1, b"old file", None),
            },
            T0 + 60,
        )
        .unwrap();
    assert_eq!(
        wallet.portrait().unwrap().as_deref(),
        Some(&b"old file"[..])
    );
    // The issuer upgraded: the refreshed credential signs the made portrait and
    // carries it; the stale file goes.
    wallet
        .apply(
            RefreshResponse::Current {
                package: package(1, b"made", Some(b"made")),
            },
            T0 + 120,
        )
        .unwrap();
    assert_eq!(wallet.portrait().unwrap().as_deref(), Some(&b"made"[..]));
    assert!(!dir.path().join(PORTRAIT_FILE).exists());
}
