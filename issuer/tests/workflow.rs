//! The office's day through the real `issuer` binary: enrol 1,000 holders from CSV,
//! review portraits, issue, change classes, revoke, publish; then the published
//! files checked by the verifier's rules, and the database and audit log inspected.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use credential::status_list::{SerialStatus, StatusList};
use credential::trust_bundle::TrustBundle;
use credential::{Policy, Profile, StatusLists};

fn present(
    package: &[u8],
    profile: Profile,
    device: &credential::ed25519_dalek::SigningKey,
    at: u64,
) -> String {
    let value =
        credential::cbor::decode(package, &credential::limits::CborLimits::DOCUMENT).unwrap();
    let credential = value
        .as_map()
        .unwrap()
        .iter()
        .find(|(k, _)| k.as_text() == Some(profile.name()))
        .and_then(|(_, v)| v.as_bytes().cloned())
        .unwrap();
    let message = credential::presentation::Presentation::message_to_sign(&credential, profile, at);
    let p = credential::presentation::Presentation {
        holder_signature: credential::signature::sign(device, &message),
        credential,
        presented_at: at,
    };
    credential::qr_text::to_qr_text(&p.encode())
}

/// The root key and the verified trust bundle that `issuer publish` wrote to `out`.
fn published_bundle(
    out: &std::path::Path,
) -> (credential::ed25519_dalek::VerifyingKey, TrustBundle) {
    let root_pub = std::fs::read_to_string(out.join("root.pub")).unwrap();
    let root_hex = root_pub.lines().nth(1).unwrap();
    let root = credential::ed25519_dalek::VerifyingKey::from_bytes(
        &hex::decode(root_hex).unwrap().try_into().unwrap(),
    )
    .unwrap();
    let bundle = TrustBundle::verify(
        &std::fs::read(out.join("trust-bundle.cbor")).unwrap(),
        &root,
    )
    .unwrap();
    (root, bundle)
}

#[test]
fn a_day_at_the_office() {
    let office = Office::with_authorities();
    let dir = office.dir.path();
    let (good, grey) = portraits(dir);

    // Batch enrolment: 1,000 good lines and three bad ones, reported by line number.
    let mut csv = vec![CSV_HEADER.to_string()];
    for i in 0..1000 {
        csv.push(csv_line(i, "good.jpg"));
    }
    csv.insert(101, csv_line(5000, "good.jpg").replace("1985-0", "1985-1")); // month 1x: invalid date
    csv.insert(501, csv_line(5001, "good.jpg").replace(",C1E,", ",Z9,"));
    csv.insert(801, csv_line(7, "good.jpg")); // duplicate licence number of holder 7
    let file = write(&dir.join("holders.csv"), csv.join("\n") + "\n");
    let before: i64 = office
        .db()
        .query_row("SELECT count(*) FROM holders", [], |r| r.get(0))
        .unwrap();
    let out = office.run(&[
        "--json",
        "--at",
        &T.to_string(),
        "holder",
        "import",
        "--all-or-nothing",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["committed"], false);
    assert_eq!(report["errors"].as_array().unwrap().len(), 3);
    let after: i64 = office
        .db()
        .query_row("SELECT count(*) FROM holders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(before, after, "--all-or-nothing committed something");

    let out = office.run(&[
        "--json",
        "--at",
        &T.to_string(),
        "holder",
        "import",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "bad lines make the import exit 1 even though the good ones are committed"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["committed"], true);
    assert_eq!(report["added"], 1000);
    let lines: Vec<u64> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![102, 502, 802], "{report}");
    assert!(report["errors"][1]["reason"]
        .as_str()
        .unwrap()
        .contains("classes"));
    assert!(report["errors"][2]["reason"]
        .as_str()
        .unwrap()
        .contains("already enrolled"));

    // Counter enrolment of someone without a photo, then a camera portrait through review.
    let id = citizen_id(1);
    let counter = office.ok(&[
        "holder",
        "add",
        "--licence-number",
        &id,
        "--name",
        "欧阳婷婷",
        "--sex",
        "女",
        "--birth-date",
        &citizen_birth_date(1),
        "--address",
        "四川省遂宁市船山区明月路88号",
        "--file-number",
        "510900123456",
        "--first-issue-date",
        "2008-07-22",
        "--classes",
        "B2DE",
        "--valid-from",
        "2020-07-22",
        "--authority",
        "川J",
        "--channel",
        "counter",
    ]);
    let holder = counter["holder"].as_i64().unwrap().to_string();
    let out = office.run(&[
        "--json",
        "--at",
        &T.to_string(),
        "portrait",
        "add",
        "--holder",
        &holder,
        "--source",
        "camera",
        grey.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let rejected: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rejected["state"], "rejected");
    assert!(
        rejected["failures"][0]
            .as_str()
            .unwrap()
            .starts_with("white_background"),
        "{rejected}"
    );
    let pending = office.ok(&[
        "portrait",
        "add",
        "--holder",
        &id,
        "--source",
        "camera",
        good.to_str().unwrap(),
    ]);
    assert_eq!(pending["state"], "pending");
    let portrait = pending["portrait"].as_i64().unwrap().to_string();
    let queue = office.ok(&["review", "list"]);
    assert_eq!(queue["pending"].as_array().unwrap().len(), 1);
    assert_eq!(queue["pending"][0]["overdue"], false);
    let queue = office.ok_at(T + 2 * 86_400 + 3600, &["review", "list"]);
    assert_eq!(
        queue["pending"][0]["overdue"], true,
        "submitted Monday, due end of Tuesday"
    );
    assert_eq!(
        office
            .run(&["review", "reject", &portrait, "--reason", ""])
            .status
            .code(),
        Some(2)
    );
    office.ok(&["review", "approve", &portrait]);
    // No device key yet: refused (exit 1), then issued with the wallet's key.
    assert_eq!(
        office.run(&["issue", "--holder", &id]).status.code(),
        Some(1)
    );
    let wallet = device_key(424_242);
    let package = dir.join("package.cbor");
    office.ok(&[
        "issue",
        "--holder",
        &id,
        "--device-key",
        &hex::encode(wallet.verifying_key().as_bytes()),
        "--out",
        package.to_str().unwrap(),
    ]);

    // Batch issuance for everyone else.
    let batch = office.ok(&["issue", "--all"]);
    assert_eq!(batch["issued"], 1000);
    let check = office.ok(&["check"]);
    assert_eq!(check["current_credentials"], 1001);

    // Classes change: re-issue, old serial superseded.
    let old: u64 = office.db().query_row("SELECT serial FROM credentials c JOIN holders h ON h.id = c.holder_id WHERE h.licence_number = 'P00000010'", [], |r| r.get(0)).unwrap();
    let update = office.ok(&["holder", "update", "P00000010", "--classes", "A2D"]);
    let new = update["reissued"]["serial"].as_u64().unwrap();
    assert!(new > old);
    // Authority change: re-issued by 川A, old 川J serial superseded.
    let moved = office.ok(&["holder", "update", "P00000011", "--authority", "川A"]);
    assert_eq!(moved["reissued"]["authority"], "川A");

    office.ok(&["revoke", "--holder", "P00000020"]);
    office.ok(&["suspend", "--holder", "P00000021"]);
    let points = office.ok(&["points", "add", "--holder", "P00000022", "12"]);
    assert_eq!(points["holder_status"]["status"], "B");
    assert_eq!(
        office
            .run(&["reinstate", "--holder", "P00000020"])
            .status
            .code(),
        Some(1),
        "revoked cannot be reinstated"
    );

    // Publish, and check the files as a verifier would.
    let out = dir.join("publish");
    let published = office.ok(&["publish", "--out", out.to_str().unwrap()]);
    let (_, bundle) = published_bundle(&out);
    assert_eq!(bundle.content.version, 1);
    assert_eq!(bundle.content.keys.len(), 2);
    let mut lists = StatusLists::default();
    for list in published["status_lists"].as_array().unwrap() {
        let list = StatusList::verify(
            &std::fs::read(out.join(list["file"].as_str().unwrap())).unwrap(),
            &bundle,
        )
        .unwrap();
        lists.insert(list);
    }
    let chuan_j = lists.get("川J").unwrap();
    assert_eq!(chuan_j.get(old), Some(SerialStatus::Superseded));
    assert_eq!(chuan_j.get(new), Some(SerialStatus::Valid));
    let serial_of = |licence: &str| -> u64 {
        office.db().query_row("SELECT serial FROM credentials c JOIN holders h ON h.id = c.holder_id WHERE h.licence_number = ?1 AND c.state != 'superseded'", [licence], |r| r.get(0)).unwrap()
    };
    assert_eq!(
        chuan_j.get(serial_of("P00000020")),
        Some(SerialStatus::Revoked)
    );
    assert_eq!(
        chuan_j.get(serial_of("P00000021")),
        Some(SerialStatus::Suspended)
    );
    assert_eq!(
        chuan_j.get(serial_of("P00000022")),
        Some(SerialStatus::Suspended)
    );

    // The wallet's package verifies end to end with the published files.
    let text = present(
        &std::fs::read(&package).unwrap(),
        Profile::Rental,
        &wallet,
        T + 5,
    );
    let verdict = credential::verify(&text, &bundle, &lists, T + 10, &Policy::default());
    assert_eq!(verdict.reason_code(), None, "{:?}", verdict.outcome);
    assert_eq!(
        verdict.outcome.unwrap().licence.name.as_deref(),
        Some("欧阳婷婷")
    );

    // The audit log: who did what, and it cannot be rewritten.
    let audit = office.ok(&["audit", "--limit", "100000"]);
    let entries = audit["entries"].as_array().unwrap();
    let count = |action: &str| entries.iter().filter(|e| e["action"] == action).count();
    assert_eq!(count("holder.add"), 1001);
    assert_eq!(count("credential.issue"), 1003);
    assert_eq!(count("status.revoke"), 1);
    assert_eq!(count("portrait.approve"), 1);
    assert!(entries.iter().all(|e| e["operator"] == "clerk-wang"));
    let update = entries
        .iter()
        .find(|e| e["action"] == "holder.update")
        .unwrap();
    assert!(
        update["old"].as_str().unwrap().contains("C1E")
            && update["new"].as_str().unwrap().contains("A2D")
    );
    assert!(office.db().execute("DELETE FROM audit", []).is_err());
    assert!(office
        .db()
        .execute("UPDATE audit SET operator = 'nobody'", [])
        .is_err());
}

#[test]
fn wrong_passphrase_is_refused_without_leaking_secrets() {
    let office = Office::with_authorities();
    let out = office
        .command(&["key", "rotate", "--authority", "川J"])
        .env("ISSUER_PASSPHRASE", "wrong passphrase 123")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.to_lowercase().contains("passphrase"), "{stderr}");
    assert!(!stderr.contains("wrong passphrase 123") && !stderr.contains(PASSPHRASE));
    // Key files: mode 0600, no raw key bytes.
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(office.registry().join("keys")).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600,
            "{}",
            path.display()
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("untrusted comment:"), "{text}");
    }
}

#[test]
fn rotated_and_retired_keys_reach_the_trust_bundle() {
    let office = Office::with_authorities();
    let dir = office.dir.path();
    let (good, _) = portraits(dir);
    let wallet = device_key(1);
    let added = office.ok(&[
        "holder",
        "add",
        "--licence-number",
        "P1",
        "--name",
        "张伟",
        "--sex",
        "M",
        "--birth-date",
        "1990-01-01",
        "--address",
        "遂宁",
        "--file-number",
        "510900000001",
        "--first-issue-date",
        "2010-01-01",
        "--classes",
        "C1",
        "--valid-from",
        "2020-01-01",
        "--authority",
        "川J",
        "--device-key",
        &hex::encode(wallet.verifying_key().as_bytes()),
    ]);
    let holder = added["holder"].to_string();
    office.ok(&[
        "portrait",
        "add",
        "--holder",
        &holder,
        "--source",
        "retained",
        good.to_str().unwrap(),
    ]);
    let package = dir.join("old.cbor");
    office.ok(&[
        "issue",
        "--holder",
        &holder,
        "--out",
        package.to_str().unwrap(),
    ]);
    let old_kid: String = office
        .db()
        .query_row("SELECT kid FROM credentials", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        office
            .run(&["key", "retire", "--kid", &old_kid])
            .status
            .code(),
        Some(1),
        "the signing key needs a successor first"
    );
    let rotated = office.ok_at(T + 60, &["key", "rotate", "--authority", "川J"]);
    assert_ne!(rotated["kid"].as_str().unwrap(), old_kid);
    let out = dir.join("pub1");
    office.ok_at(T + 120, &["publish", "--out", out.to_str().unwrap()]);
    let (root, bundle) = published_bundle(&out);
    let old = bundle
        .content
        .keys
        .iter()
        .find(|k| hex::encode(k.kid) == old_kid)
        .unwrap();
    assert!(
        !old.retired,
        "rotated, but its credential has not expired: still trusted"
    );
    let text = present(
        &std::fs::read(&package).unwrap(),
        Profile::Full,
        &wallet,
        T + 130,
    );
    assert_eq!(
        credential::verify(
            &text,
            &bundle,
            &StatusLists::default(),
            T + 130,
            &Policy::default()
        )
        .reason_code(),
        None
    );

    // Compromise: retire at once; the next bundle rejects its credentials.
    office.ok_at(T + 200, &["key", "retire", "--kid", &old_kid]);
    let out = dir.join("pub2");
    office.ok_at(T + 300, &["publish", "--out", out.to_str().unwrap()]);
    let bundle = TrustBundle::verify(
        &std::fs::read(out.join("trust-bundle.cbor")).unwrap(),
        &root,
    )
    .unwrap();
    assert_eq!(bundle.content.version, 2);
    let text = present(
        &std::fs::read(&package).unwrap(),
        Profile::Full,
        &wallet,
        T + 310,
    );
    assert_eq!(
        credential::verify(
            &text,
            &bundle,
            &StatusLists::default(),
            T + 310,
            &Policy::default()
        )
        .reason_code(),
        Some("issuer_key_retired")
    );
    // New credentials come from the new key.
    let refreshed = office.ok_at(T + 400, &["refresh", "--holder", &holder]);
    assert_eq!(
        refreshed["issued"]["serial"], 1,
        "a refresh keeps the serial"
    );
    let kid_now: String = office
        .db()
        .query_row("SELECT kid FROM credentials", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kid_now, rotated["kid"].as_str().unwrap());
}
