//! The registry's files on disk: key files are found inside the registry that is
//! used (relative paths, moved and copied registries), exposed key files are
//! refused, and the folders and database are private.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

const PASSPHRASE: &str = "registry files passphrase";

fn issuer(cwd: &Path, registry: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_issuer"))
        .current_dir(cwd)
        .arg("--registry")
        .arg(registry)
        .args(args)
        .env("ISSUER_PASSPHRASE", PASSPHRASE)
        .env("ISSUER_INSECURE_FAST_KDF", "1")
        .env("ISSUER_OPERATOR", "clerk-li")
        .output()
        .unwrap()
}

fn ok(cwd: &Path, registry: &str, args: &[&str]) -> String {
    let out = issuer(cwd, registry, args);
    assert!(
        out.status.success(),
        "issuer {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A registry made with a relative path, with a root and an authority.
fn office(tmp: &Path) {
    ok(tmp, "office", &["root", "init"]);
    ok(
        tmp,
        "office",
        &[
            "authority",
            "add",
            "--code",
            "川J",
            "--name",
            "遂宁市公安局交通警察支队",
        ],
    );
}

#[test]
fn a_registry_made_with_a_relative_path_works_from_another_directory() {
    let tmp = tempfile::tempdir().unwrap();
    office(tmp.path());
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let absolute = tmp.path().join("office");
    let published = ok(
        &elsewhere,
        absolute.to_str().unwrap(),
        &["publish", "--out", "published"],
    );
    assert!(published.contains("trust bundle version 1"), "{published}");
    ok(
        &elsewhere,
        "../office",
        &["key", "rotate", "--authority", "川J"],
    );
}

#[test]
fn a_copied_registry_signs_with_its_own_keys_and_refuses_clearly_without_them() {
    let tmp = tempfile::tempdir().unwrap();
    office(tmp.path());
    copy_dir(&tmp.path().join("office"), &tmp.path().join("copy"));
    // The original's keys are gone: the copy must not need them.
    std::fs::remove_dir_all(tmp.path().join("office/keys")).unwrap();
    let published = ok(tmp.path(), "copy", &["publish", "--out", "published"]);
    assert!(published.contains("trust bundle version 1"), "{published}");

    // A copy without its keys folder says which key file it looked for, in itself.
    copy_dir(&tmp.path().join("copy"), &tmp.path().join("keyless"));
    std::fs::remove_dir_all(tmp.path().join("keyless/keys")).unwrap();
    let out = issuer(tmp.path(), "keyless", &["publish", "--out", "p2"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("keyless/keys/"), "{stderr}");
}

#[test]
fn a_key_file_readable_by_others_is_refused_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    office(tmp.path());
    let keys = tmp.path().join("office/keys");
    for entry in std::fs::read_dir(&keys).unwrap() {
        std::fs::set_permissions(
            entry.unwrap().path(),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
    }
    let out = issuer(
        tmp.path(),
        "office",
        &["--json", "publish", "--out", "published"],
    );
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["code"], "key_file_exposed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("chmod 600"), "{stderr}");
    assert!(!tmp.path().join("published/trust-bundle.cbor").exists());
}

#[test]
fn the_registry_folder_keys_and_database_are_private() {
    let tmp = tempfile::tempdir().unwrap();
    office(tmp.path());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let registry = tmp.path().join("office");
    assert_eq!(mode(&registry), 0o700);
    assert_eq!(mode(&registry.join("keys")), 0o700);
    assert_eq!(mode(&registry.join("registry.sqlite")), 0o600);
    for entry in std::fs::read_dir(registry.join("keys")).unwrap() {
        assert_eq!(mode(&entry.unwrap().path()), 0o600);
    }
    for suffix in ["-wal", "-shm"] {
        let file = registry.join(format!("registry.sqlite{suffix}"));
        if file.exists() {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    }
}
