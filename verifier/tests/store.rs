//! The store fails closed and is safe to share, driven through the real binary:
//! every kind of damage to every file the store holds gives a store error (exit 3,
//! JSON `error: "store"` naming the file) and never a verdict; the rollback floors
//! survive the loss of the file they protect; the repair commands repair; and
//! importers and checkers running at once on one store all get a correct answer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{json, verifier};

use credential::issue::IssueParams;
use credential::status_list::{SerialStatus, StatusList};
use credential::trust_bundle::TrustBundleContent;
use credential::Profile;
use vectorgen::fixture::{self, T0};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn import(store: &Path, what: &str, file: &Path) -> Output {
    verifier(
        store,
        &["--json", what, "import", file.to_str().unwrap()],
        b"",
    )
}

/// A store with the vectors' root, bundle and status list, in `dir/store`.
fn set_up(dir: &Path) -> PathBuf {
    let store = dir.join("store");
    let root = hex::encode(fixture::root_key().verifying_key().as_bytes());
    assert!(verifier(&store, &["init", "--root", &root], b"")
        .status
        .success());
    let bundle = write(dir, "bundle.cbor", &fixture::trust_bundle_bytes());
    assert!(import(&store, "trust", &bundle).status.success());
    let list = write(dir, "list.cbor", &fixture::status_list_bytes());
    assert!(import(&store, "status", &list).status.success());
    store
}

/// The QR text of a credential whose serial the fixture's status list revokes.
fn revoked_text() -> String {
    let params = IssueParams {
        serial: fixture::SERIAL_REVOKED,
        ..fixture::params()
    };
    let credential = fixture::credential(
        &fixture::licence(),
        Profile::Rental,
        &params,
        &fixture::authority_key(),
    );
    credential::qr_text::to_qr_text(
        &fixture::present(credential, Profile::Rental, T0 - 10, &fixture::device_key()).encode(),
    )
}

fn check(store: &Path, text: &str, json: bool) -> Output {
    let at = T0.to_string();
    let mut args = vec!["check", "--at", &at];
    if json {
        args.insert(0, "--json");
    }
    args.push(text);
    verifier(store, &args, b"")
}

/// The store's manifest, as JSON.
fn manifest_of(store: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(store.join("manifest.json")).unwrap()).unwrap()
}

/// The path of an installed file, read from the manifest as an operator would.
fn installed(store: &Path, key: &str) -> PathBuf {
    let manifest = manifest_of(store);
    let file = match key {
        "manifest" => "manifest.json",
        "root" => manifest["root"]["file"].as_str().unwrap(),
        "trust_bundle" => manifest["trust_bundle"]["file"].as_str().unwrap(),
        _ => manifest["status_lists"]["川J"]["file"].as_str().unwrap(),
    };
    store.join(file)
}

#[derive(Clone, Copy, Debug)]
enum Harm {
    Delete,
    Truncate,
    Empty,
    FlipBit,
    ReplaceByDirectory,
}

fn harm(path: &Path, harm: Harm) {
    let bytes = std::fs::read(path).unwrap();
    match harm {
        Harm::Delete => std::fs::remove_file(path).unwrap(),
        Harm::Truncate => std::fs::write(path, &bytes[..bytes.len() / 2]).unwrap(),
        Harm::Empty => std::fs::write(path, b"").unwrap(),
        Harm::FlipBit => {
            let mut bytes = bytes;
            let at = bytes.len() * 2 / 3;
            bytes[at] ^= 0x10;
            std::fs::write(path, bytes).unwrap();
        }
        Harm::ReplaceByDirectory => {
            std::fs::remove_file(path).unwrap();
            std::fs::create_dir(path).unwrap();
        }
    }
}

#[test]
fn every_damage_to_every_file_is_a_store_error_never_a_verdict() {
    let text = revoked_text();
    let mut failures = Vec::new();
    for file in ["manifest", "root", "trust_bundle", "status_list"] {
        for damage in [
            Harm::Delete,
            Harm::Truncate,
            Harm::Empty,
            Harm::FlipBit,
            Harm::ReplaceByDirectory,
        ] {
            let dir = tempfile::tempdir().unwrap();
            let store = set_up(dir.path());
            let path = installed(&store, file);
            harm(&path, damage);
            let case = format!("{file} {damage:?}");
            let out = check(&store, &text, true);
            let value = json(&out);
            if out.status.code() != Some(3)
                || value["error"] != "store"
                || !value["code"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("store_file_")
                || value["file"] != path.display().to_string()
                || value.get("verdict").is_some()
            {
                failures.push(format!("{case}: {:?} {value}", out.status.code()));
            }
            let out = check(&store, &text, false);
            let stderr = String::from_utf8_lossy(&out.stderr);
            if out.status.code() != Some(3)
                || !out.stdout.is_empty()
                || !stderr.contains("NO VERDICT")
                || !stderr.contains(&path.display().to_string())
                || !stderr.contains("verifier ")
            {
                failures.push(format!("{case} (human): {:?} {stderr}", out.status.code()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_rollback_floors_survive_damage_and_reimporting_repairs() {
    let dir = tempfile::tempdir().unwrap();
    let store = set_up(dir.path());
    let text = revoked_text();

    // A damaged status list keeps its floor: an older list is still refused.
    harm(&installed(&store, "status_list"), Harm::Truncate);
    let mut older = fixture::status_list();
    older.issued_at -= 3600;
    older
        .set(fixture::SERIAL_REVOKED, SerialStatus::Valid)
        .unwrap();
    let older = write(
        dir.path(),
        "older.cbor",
        &older.sign(&fixture::authority_key()),
    );
    let out = import(&store, "status", &older);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["reason"], "status_list_rollback");
    // A different list with the installed one's time is a conflict, as before the damage.
    let mut conflicting = fixture::status_list();
    conflicting.set(7, SerialStatus::Revoked).unwrap();
    let conflicting = write(
        dir.path(),
        "conflicting.cbor",
        &conflicting.sign(&fixture::authority_key()),
    );
    assert_eq!(
        json(&import(&store, "status", &conflicting))["reason"],
        "status_list_conflict"
    );
    assert_eq!(check(&store, &text, true).status.code(), Some(3));
    // Re-importing the installed list repairs it.
    let current = write(dir.path(), "list.cbor", &fixture::status_list_bytes());
    assert!(import(&store, "status", &current).status.success());
    let out = check(&store, &text, true);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["reason"], "revoked_by_status_list");

    // Same for the trust bundle.
    harm(&installed(&store, "trust_bundle"), Harm::FlipBit);
    let old_bundle = TrustBundleContent {
        version: 2,
        ..fixture::trust_bundle_content()
    };
    let old_bundle = write(
        dir.path(),
        "old.cbor",
        &old_bundle.sign(&fixture::root_key()),
    );
    let out = import(&store, "trust", &old_bundle);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["reason"], "trust_bundle_rollback");
    let other_same_version = TrustBundleContent {
        next_update: T0 + 99,
        ..fixture::trust_bundle_content()
    };
    let other = write(
        dir.path(),
        "other.cbor",
        &other_same_version.sign(&fixture::root_key()),
    );
    assert_eq!(
        json(&import(&store, "trust", &other))["reason"],
        "trust_bundle_conflict"
    );
    let shown = verifier(&store, &["--json", "trust", "show"], b"");
    assert_eq!(
        shown.status.code(),
        Some(3),
        "a damaged bundle is not shown"
    );
    let current = write(dir.path(), "bundle.cbor", &fixture::trust_bundle_bytes());
    assert!(import(&store, "trust", &current).status.success());
    assert_eq!(
        json(&check(&store, &text, true))["reason"],
        "revoked_by_status_list"
    );
}

#[test]
fn init_repairs_the_root_key_and_force_rebuilds_a_lost_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let store = set_up(dir.path());
    let text = revoked_text();
    let root = hex::encode(fixture::root_key().verifying_key().as_bytes());
    harm(&installed(&store, "root"), Harm::FlipBit);
    assert_eq!(check(&store, &text, true).status.code(), Some(3));
    // Another key is refused without --force, even while root.pub is damaged.
    let stranger = hex::encode(fixture::stranger_key().verifying_key().as_bytes());
    let out = verifier(&store, &["--json", "init", "--root", &stranger], b"");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["code"], "root_already_set");
    // The same key repairs root.pub and keeps the bundle and the list.
    assert!(verifier(&store, &["init", "--root", &root], b"")
        .status
        .success());
    assert_eq!(
        json(&check(&store, &text, true))["reason"],
        "revoked_by_status_list"
    );

    std::fs::remove_file(store.join("manifest.json")).unwrap();
    let out = check(&store, &text, true);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json(&out)["code"], "store_file_missing");
    assert!(verifier(&store, &["init", "--root", &root, "--force"], b"")
        .status
        .success());
    let out = check(&store, &text, true);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["code"], "no_trust_bundle");
}

fn list_signed_at(minute: u64) -> Vec<u8> {
    let mut list = fixture::status_list();
    list.issued_at = T0 - 3600 + minute * 60;
    // Distinct content per list; every one revokes the fixture's revoked serial.
    list.set(200 + minute, SerialStatus::Revoked).unwrap();
    list.sign(&fixture::authority_key())
}

/// Asserts the manifest's floor of 川J is the last of `count` lists signed a minute
/// apart ([`lists_signed_at_minutes`]); returns the manifest.
fn newest_list_installed(store: &Path, count: u64) -> serde_json::Value {
    let manifest = manifest_of(store);
    assert_eq!(
        manifest["status_lists"]["川J"]["issued_at"],
        T0 - 3600 + count * 60
    );
    manifest
}

/// Files `PREFIX-M.cbor` in `dir` of the lists signed at minutes 1..=count.
fn lists_signed_at_minutes(dir: &Path, prefix: &str, count: u64) -> Vec<PathBuf> {
    (0..count)
        .map(|m| write(dir, &format!("{prefix}-{m}.cbor"), &list_signed_at(m + 1)))
        .collect()
}

#[test]
fn concurrent_imports_and_checks_on_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = set_up(dir.path());
    let text = revoked_text();
    const LISTS: u64 = 6;
    const BUNDLES: u64 = 6;
    let lists = lists_signed_at_minutes(dir.path(), "list", LISTS);
    let bundles: Vec<PathBuf> = (0..BUNDLES)
        .map(|i| {
            let content = TrustBundleContent {
                version: 3 + i,
                ..fixture::trust_bundle_content()
            };
            write(
                dir.path(),
                &format!("bundle-{i}.cbor"),
                &content.sign(&fixture::root_key()),
            )
        })
        .collect();
    let failures = std::sync::Mutex::new(Vec::<String>::new());
    std::thread::scope(|scope| {
        for worker in 0..6 {
            let (store, lists, bundles, failures) = (&store, &lists, &bundles, &failures);
            scope.spawn(move || {
                // Half the importers go up, half come down; each file twice.
                let mut order: Vec<usize> = (0..lists.len()).chain(0..lists.len()).collect();
                if worker % 2 == 1 {
                    order.reverse();
                }
                for i in order {
                    for (what, file) in [("status", &lists[i]), ("trust", &bundles[i])] {
                        let out = import(store, what, file);
                        let value = json(&out);
                        let refused_as_older = out.status.code() == Some(1)
                            && (value["reason"] == "status_list_rollback"
                                || value["reason"] == "trust_bundle_rollback");
                        if !(out.status.success() || refused_as_older) {
                            failures.lock().unwrap().push(format!(
                                "{what} import {i}: {:?} {value}",
                                out.status.code()
                            ));
                        }
                    }
                }
            });
        }
        for _ in 0..2 {
            let (store, text, failures) = (&store, &text, &failures);
            scope.spawn(move || {
                for _ in 0..15 {
                    let out = check(store, text, true);
                    let value = json(&out);
                    if out.status.code() != Some(1) || value["reason"] != "revoked_by_status_list" {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("check: {:?} {value}", out.status.code()));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The newest of each won, nothing else is left in the store.
    let manifest = newest_list_installed(&store, LISTS);
    assert_eq!(manifest["trust_bundle"]["version"], 3 + BUNDLES - 1);
    let shown = json(&verifier(&store, &["--json", "trust", "show"], b""));
    assert_eq!(shown["version"], 3 + BUNDLES - 1);
    let installed_list = StatusList::verify(
        &std::fs::read(installed(&store, "status_list")).unwrap(),
        &fixture::trust_bundle(),
    )
    .unwrap();
    assert_eq!(installed_list.issued_at, T0 - 3600 + LISTS * 60);
    for sub in ["status", "trust-bundle"] {
        let names = file_names(&store.join(sub));
        assert_eq!(names.len(), 1, "{sub}: {names:?}");
    }
}

/// 川J's fixture list signed at `issued_at`, revoking `extra` too (distinct content).
fn list_of_chuan_j(issued_at: u64, extra: u64) -> Vec<u8> {
    let mut list = fixture::status_list();
    list.issued_at = issued_at;
    list.set(extra, SerialStatus::Revoked).unwrap();
    list.sign(&fixture::authority_key())
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The names in `dir`, sorted.
fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn status_files(store: &Path) -> Vec<String> {
    file_names(&store.join("status"))
}

#[test]
fn a_batch_installs_the_good_lists_and_reports_each_refused_one_with_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let store = set_up(dir.path());
    let newer_at = T0 - 600;
    let chuan_a = StatusList::new("川A".into(), T0 - 3600, T0 + 23 * 3600, 1000)
        .unwrap()
        .sign(&fixture::other_authority_key());
    let files = [
        write(dir.path(), "a.cbor", &chuan_a),
        write(dir.path(), "j-newer.cbor", &list_of_chuan_j(newer_at, 300)),
        // Older than the installed list: rollback.
        write(dir.path(), "j-older.cbor", &list_of_chuan_j(T0 - 7200, 301)),
        // Same instant as the newer one accepted earlier in this batch, other bytes.
        write(dir.path(), "j-twin.cbor", &list_of_chuan_j(newer_at, 302)),
        dir.path().join("missing.cbor"),
    ];
    let mut args = vec!["--json", "status", "import"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let out = verifier(&store, &args, b"");
    // The unreadable file makes it a usage error (2), the worst of the batch.
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let lines = json_lines(&out);
    let by_file = |name: &str| {
        lines
            .iter()
            .find(|l| l["file"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("no line for {name}: {lines:?}"))
            .clone()
    };
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert_eq!(by_file("a.cbor")["ok"], true);
    assert_eq!(by_file("a.cbor")["issuer"], "川A");
    assert_eq!(by_file("j-newer.cbor")["ok"], true);
    assert_eq!(by_file("j-newer.cbor")["issued_at"], newer_at);
    assert_eq!(by_file("j-older.cbor")["code"], "status_list_rollback");
    assert_eq!(by_file("j-older.cbor")["error"], "refused");
    assert_eq!(by_file("j-twin.cbor")["code"], "status_list_conflict");
    assert_eq!(by_file("missing.cbor")["code"], "input_error");

    let manifest = manifest_of(&store);
    assert_eq!(manifest["status_lists"]["川J"]["issued_at"], newer_at);
    assert_eq!(manifest["status_lists"]["川A"]["issued_at"], T0 - 3600);
    assert_eq!(status_files(&store).len(), 2, "{:?}", status_files(&store));
    let installed_list = StatusList::verify(
        &std::fs::read(installed(&store, "status_list")).unwrap(),
        &fixture::trust_bundle(),
    )
    .unwrap();
    assert_eq!(installed_list.get(300), Some(SerialStatus::Revoked));
    assert_eq!(
        json(&check(&store, &revoked_text(), true))["reason"],
        "revoked_by_status_list"
    );

    // Without the unreadable file, a refusal is the worst: exit 1; the good ones again
    // change nothing.
    let out = verifier(&store, &args[..args.len() - 1], b"");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(json_lines(&out).len(), 4);
    assert_eq!(status_files(&store).len(), 2);
}

#[test]
fn a_batch_over_a_damaged_manifest_is_refused_and_installs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = set_up(dir.path());
    let before = status_files(&store);
    let files = [
        write(dir.path(), "j1.cbor", &list_of_chuan_j(T0 - 600, 300)),
        write(dir.path(), "j2.cbor", &list_of_chuan_j(T0 - 300, 301)),
    ];
    let manifest = store.join("manifest.json");
    let mut bytes = std::fs::read(&manifest).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&manifest, &bytes).unwrap();
    for json_output in [true, false] {
        let mut args = vec!["status", "import"];
        if json_output {
            args.insert(0, "--json");
        }
        args.extend(files.iter().map(|f| f.to_str().unwrap()));
        let out = verifier(&store, &args, b"");
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        if json_output {
            let value = json(&out);
            assert_eq!(value["error"], "store");
            assert_eq!(value["code"], "store_file_invalid");
        }
    }
    assert_eq!(std::fs::read(&manifest).unwrap(), bytes);
    assert_eq!(status_files(&store), before);
    assert_eq!(check(&store, &revoked_text(), true).status.code(), Some(3));
}

#[test]
fn concurrent_batch_imports_leave_the_newest_list_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let store = set_up(dir.path());
    const LISTS: u64 = 6;
    let lists = lists_signed_at_minutes(dir.path(), "batch", LISTS);
    let failures = std::sync::Mutex::new(Vec::<String>::new());
    std::thread::scope(|scope| {
        for worker in 0..4 {
            let (store, lists, failures) = (&store, &lists, &failures);
            scope.spawn(move || {
                let mut order: Vec<&str> = lists.iter().map(|p| p.to_str().unwrap()).collect();
                if worker % 2 == 1 {
                    order.reverse();
                }
                for _ in 0..2 {
                    let mut args = vec!["--json", "status", "import"];
                    args.extend(&order);
                    let out = verifier(store, &args, b"");
                    for line in json_lines(&out) {
                        if line["ok"] != true && line["code"] != "status_list_rollback" {
                            failures.lock().unwrap().push(line.to_string());
                        }
                    }
                    if !matches!(out.status.code(), Some(0 | 1)) {
                        failures.lock().unwrap().push(format!("{out:?}"));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    newest_list_installed(&store, LISTS);
    assert_eq!(status_files(&store).len(), 1, "{:?}", status_files(&store));
    assert_eq!(
        json(&check(&store, &revoked_text(), true))["reason"],
        "revoked_by_status_list"
    );
}
