//! The `verifier` binary driven like a user would: a store in a temp dir, the
//! spec's vectors through `check --json`, rollback refusal, desk mode on garbage.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Output;

use common::{json, verifier};

use credential::trust_bundle::TrustBundleContent;
use vectorgen::fixture;

/// A store with the vectors' root key and trust bundle, and optionally the status list.
fn store(dir: &Path, with_status_list: bool) {
    store_with_list(
        dir,
        with_status_list.then(fixture::status_list_bytes).as_deref(),
    );
}

/// A store with the vectors' root key and trust bundle, and `status_list` if any.
fn store_with_list(dir: &Path, status_list: Option<&[u8]>) {
    let root = hex::encode(fixture::root_key().verifying_key().as_bytes());
    assert!(verifier(dir, &["init", "--root", &root], b"")
        .status
        .success());
    let bundle = dir.join("bundle.cbor");
    std::fs::write(&bundle, fixture::trust_bundle_bytes()).unwrap();
    let out = verifier(dir, &["trust", "import", bundle.to_str().unwrap()], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(status_list) = status_list {
        let list = dir.join("status.cbor");
        std::fs::write(&list, status_list).unwrap();
        let out = verifier(dir, &["status", "import", list.to_str().unwrap()], b"");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_spec_vector_through_the_cli() {
    let with_list = tempfile::tempdir().unwrap();
    let without_list = tempfile::tempdir().unwrap();
    // The compaction vectors carry their own list (spec §13): the compacted one.
    let compacted = tempfile::tempdir().unwrap();
    let compacted_list = fixture::compacted_status_list_bytes();
    store(with_list.path(), true);
    store(without_list.path(), false);
    store_with_list(compacted.path(), Some(&compacted_list));
    let mut failures = Vec::new();
    let vectors = vectorgen::vectors();
    for v in &vectors {
        let dir = match (&v.status_list, v.status_lists) {
            (Some(list), _) => {
                assert_eq!(list, &compacted_list, "{}: an unknown list", v.name);
                compacted.path()
            }
            (None, true) => with_list.path(),
            (None, false) => without_list.path(),
        };
        let out = verifier(
            dir,
            &["check", "--json", "--at", &v.now.to_string(), "-"],
            &v.input,
        );
        let verdict = json(&out);
        let got = verdict["reason"].as_str().unwrap_or("valid");
        let warnings: Vec<_> = verdict["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["code"].as_str().unwrap().to_owned())
            .collect();
        let exit_ok = out.status.code() == Some(if v.expect == "valid" { 0 } else { 1 });
        if got != v.expect
            || warnings != v.warnings
            || !exit_ok
            || verdict["checks"].as_array().map(Vec::len) != Some(15)
        {
            failures.push(format!(
                "{}: expected {} {:?}, got {got} {warnings:?} exit {:?}",
                v.name,
                v.expect,
                v.warnings,
                out.status.code()
            ));
        }
        if v.expect == "valid" {
            assert_eq!(verdict["verdict"], "valid");
            assert_eq!(verdict["profile"].as_str(), v.profile.as_deref());
            assert_eq!(verdict["issuer"]["code"], "川J");
            assert_eq!(verdict["trust_bundle_version"], 3);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}

#[test]
fn human_output_leads_with_the_verdict_and_shows_chinese_labels() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path(), true);
    let text = fixture::qr_text(credential::Profile::Rental);
    let out = verifier(
        dir.path(),
        &[
            "check",
            "--lang",
            "zh",
            "--at",
            &fixture::T0.to_string(),
            &text,
        ],
        b"",
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert!(stdout.starts_with("✔ 有效 VALID"), "{stdout}");
    assert!(
        stdout.contains("姓名") && stdout.contains("欧阳婷婷"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("住址"),
        "rental must not show the address: {stdout}"
    );
    let later = (fixture::T0 + 600).to_string();
    let out = verifier(
        dir.path(),
        &["check", "--lang", "en", "--at", &later, &text],
        b"",
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.starts_with("✘ REJECTED") && stdout.contains("stale_presentation"),
        "{stdout}"
    );
}

#[test]
fn trust_bundle_rollback_and_foreign_roots_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path(), false);
    let older = TrustBundleContent {
        version: 2,
        ..fixture::trust_bundle_content()
    };
    let path = dir.path().join("old.cbor");
    std::fs::write(&path, older.sign(&fixture::root_key())).unwrap();
    let out = verifier(
        dir.path(),
        &["--json", "trust", "import", path.to_str().unwrap()],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["reason"], "trust_bundle_rollback");

    let same_version_other_content = TrustBundleContent {
        next_update: fixture::T0 + 99,
        ..fixture::trust_bundle_content()
    };
    std::fs::write(&path, same_version_other_content.sign(&fixture::root_key())).unwrap();
    let out = verifier(
        dir.path(),
        &["--json", "trust", "import", path.to_str().unwrap()],
        b"",
    );
    assert_eq!(json(&out)["reason"], "trust_bundle_conflict");

    let forged = TrustBundleContent {
        version: 9,
        ..fixture::trust_bundle_content()
    };
    std::fs::write(&path, forged.sign(&fixture::stranger_key())).unwrap();
    let out = verifier(
        dir.path(),
        &["--json", "trust", "import", path.to_str().unwrap()],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["reason"], "unknown_issuer");

    let newer = TrustBundleContent {
        version: 4,
        ..fixture::trust_bundle_content()
    };
    std::fs::write(&path, newer.sign(&fixture::root_key())).unwrap();
    assert!(verifier(
        dir.path(),
        &["trust", "import", path.to_str().unwrap()],
        b""
    )
    .status
    .success());
    let shown = json(&verifier(dir.path(), &["--json", "trust", "show"], b""));
    assert_eq!(shown["version"], 4);
}

#[test]
fn desk_mode_survives_ten_thousand_lines_of_garbage() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path(), true);
    let mut input = Vec::new();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for i in 0..10_000 {
        // xorshift: varied garbage, including binary and very long lines.
        let len = if i % 1000 == 0 {
            20_000
        } else {
            (seed % 200) as usize
        };
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let b = (seed & 0xff) as u8;
            input.push(if b == b'\n' { b'x' } else { b });
        }
        if i % 3 == 0 {
            input.extend_from_slice(b"DL1:");
        }
        input.push(b'\n');
    }
    input.extend_from_slice(fixture::qr_text(credential::Profile::Full).as_bytes());
    input.extend_from_slice(b"\r\n");
    let out = verifier(
        dir.path(),
        &["desk", "--json", "--at", &fixture::T0.to_string()],
        &input,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let blank_lines = input
        .split(|b| *b == b'\n')
        .filter(|l| l.iter().all(u8::is_ascii_whitespace))
        .count();
    assert_eq!(lines.len(), 10_001 - (blank_lines - 1));
    assert!(lines[..lines.len() - 1]
        .iter()
        .all(|v| v["verdict"] == "rejected"));
    assert_eq!(lines.last().unwrap()["verdict"], "valid");
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = verifier(dir.path(), &["check", "DL1:00"], b"");
    assert_eq!(out.status.code(), Some(2), "no store yet");
    assert!(String::from_utf8_lossy(&out.stderr).contains("verifier init"));
    let out = verifier(dir.path(), &["init", "--root", "not a key"], b"");
    assert_eq!(out.status.code(), Some(2));
    let out = verifier(dir.path(), &["check", "--at", "yesterday", "x"], b"");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn older_or_conflicting_status_lists_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path(), true);
    let path = dir.path().join("list.cbor");
    let mut older = fixture::status_list();
    older.issued_at -= 3600;
    std::fs::write(&path, older.sign(&fixture::authority_key())).unwrap();
    let out = verifier(
        dir.path(),
        &["--json", "status", "import", path.to_str().unwrap()],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["reason"], "status_list_rollback");
    let mut conflicting = fixture::status_list();
    conflicting
        .set(7, credential::status_list::SerialStatus::Revoked)
        .unwrap();
    std::fs::write(&path, conflicting.sign(&fixture::authority_key())).unwrap();
    let out = verifier(
        dir.path(),
        &["--json", "status", "import", path.to_str().unwrap()],
        b"",
    );
    assert_eq!(json(&out)["reason"], "status_list_conflict");
    let forged = fixture::status_list();
    std::fs::write(&path, forged.sign(&fixture::stranger_key())).unwrap();
    let out = verifier(
        dir.path(),
        &["--json", "status", "import", path.to_str().unwrap()],
        b"",
    );
    assert_eq!(json(&out)["reason"], "unknown_issuer");
}

fn vector_input(name: &str) -> (Vec<u8>, u64) {
    let v = vectorgen::vectors()
        .into_iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no vector {name}"));
    (v.input, v.now)
}

fn check_vector(dir: &Path, name: &str, extra: &[&str]) -> Output {
    let (input, now) = vector_input(name);
    let now = now.to_string();
    let mut args = vec!["check", "--at", &now];
    args.extend_from_slice(extra);
    args.push("-");
    verifier(dir, &args, &input)
}

#[test]
fn a_rejection_after_the_signature_shows_who_was_rejected() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path(), true);
    for name in [
        "invalid-status-list-revoked",
        "invalid-status-list-suspended",
        "invalid-credential-expired",
        "invalid-stale-presentation",
        "invalid-licence-status-seized",
    ] {
        let out = check_vector(dir.path(), name, &["--json"]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let v = json(&out);
        assert_eq!(v["verdict"], "rejected", "{name}");
        assert_eq!(
            v["credential"], "rejected",
            "{name}: marked as a rejected credential"
        );
        assert_eq!(v["fields"]["name"], "欧阳婷婷", "{name}");
        assert_eq!(v["issuer"]["code"], "川J", "{name}");
        assert!(v["serial"].is_u64(), "{name}");
        assert!(
            v["presented_at"].is_null(),
            "{name}: not issuer-authenticated"
        );

        let out = check_vector(dir.path(), name, &["--lang", "en"]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.starts_with("✘ REJECTED"), "{name}: {text}");
        let heading = text
            .find("Rejected credential (issuer-signed data, NOT valid):")
            .unwrap_or_else(|| panic!("{name}: {text}"));
        let name_at = text.find("欧阳婷婷").unwrap();
        assert!(
            heading < name_at,
            "{name}: fields under the heading: {text}"
        );
        assert!(
            text.contains("川J 四川省遂宁市公安局交通警察支队"),
            "{text}"
        );
        assert!(!text.contains("✔"), "{name}: {text}");
    }
    let out = check_vector(dir.path(), "invalid-status-list-revoked", &[]);
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("serial             101"));
}

#[test]
fn a_rejection_before_the_signature_verified_shows_nothing_of_the_credential() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path(), true);
    // The altered name (王小明) is in the presentation but was never signed.
    for name in [
        "invalid-altered-field",
        "invalid-bad-signature-bit-flip",
        "invalid-unknown-issuer",
        "invalid-retired-key",
        "invalid-claims-unknown-claim",
    ] {
        let out = check_vector(dir.path(), name, &["--json"]);
        let v = json(&out);
        assert_eq!(v["verdict"], "rejected", "{name}");
        for key in ["credential", "fields", "issuer", "serial", "profile"] {
            assert!(v[key].is_null(), "{name}: {key} = {}", v[key]);
        }
        let out = check_vector(dir.path(), name, &[]);
        let text = String::from_utf8(out.stdout).unwrap();
        // (The retired key's authority may be named: that comes from the trust bundle.)
        for leaked in [
            "王小明",
            "欧阳婷婷",
            "Rejected credential",
            "serial",
            "四川省遂宁市",
        ] {
            assert!(!text.contains(leaked), "{name} shows {leaked}: {text}");
        }
    }
}

#[test]
fn chinese_verdicts_are_chinese_in_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path(), true);
    let out = check_vector(dir.path(), "invalid-stale-presentation", &["--lang", "zh"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("✘ 无效 REJECTED  此码生成于 181 秒前（上限 180 秒）"),
        "{text}"
    );
    for label in [
        "原因: stale_presentation",
        "检查项:",
        "序号",
        "核验时间",
        "被拒绝的凭证",
    ] {
        assert!(text.contains(label), "{label}: {text}");
    }
    for english in [
        "checks:",
        "reason:",
        "serial",
        "Checked at",
        "ask the holder",
    ] {
        assert!(!text.contains(english), "{english}: {text}");
    }
    let out = check_vector(
        dir.path(),
        "valid-warning-stale-status-list",
        &["--json", "--lang", "zh"],
    );
    let v = json(&out);
    assert_eq!(v["verdict"], "valid");
    let warning = v["warnings"][0]["message"].as_str().unwrap();
    assert!(warning.starts_with("状态列表已有 2 天"), "{warning}");
    let out = check_vector(
        dir.path(),
        "invalid-status-list-revoked",
        &["--json", "--lang", "zh"],
    );
    assert_eq!(json(&out)["message"], "凭证已被撤销（状态列表）");
    let out = check_vector(dir.path(), "valid-rental", &["--lang", "zh"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("✔ 有效 VALID  租车 (出示范围)"), "{text}");
    // A store error in Chinese, with the repair command.
    let empty = tempfile::tempdir().unwrap();
    let out = verifier(
        empty.path(),
        &["--json", "--lang", "zh", "check", "DL1:00"],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(json(&out)["message"]
        .as_str()
        .unwrap()
        .contains("请先运行 `verifier init"));
    let out = verifier(dir.path(), &["--lang", "fr", "check", "DL1:00"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected zh or en"));
}

#[test]
fn not_utf8_input_is_a_malformed_verdict_not_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path(), true);
    let out = check_vector(dir.path(), "invalid-not-utf8", &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["reason"], "malformed");
}

#[test]
fn colour_only_on_request_of_a_terminal_and_never_with_no_color() {
    // Piped output (as here) is never coloured.
    let dir = tempfile::tempdir().unwrap();
    store(dir.path(), true);
    let out = check_vector(dir.path(), "valid-full", &[]);
    assert!(!out.stdout.contains(&0x1b));
    let verdict = credential::verify(
        &fixture::qr_text(credential::Profile::Full),
        &fixture::trust_bundle(),
        &credential::StatusLists::default(),
        fixture::T0,
        &credential::Policy::default(),
    );
    let coloured = verifier::render::human(
        &verdict,
        verifier::render::Lang::En,
        verifier::render::Colour::On,
    );
    assert!(
        coloured.starts_with("\x1b[1;32m✔ VALID\x1b[0m"),
        "{coloured}"
    );
}

#[test]
fn desk_answers_a_blank_line_with_a_prompt() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path(), true);
    let out = verifier(
        dir.path(),
        &["desk", "--at", &fixture::T0.to_string()],
        b"\n  \n",
    );
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "no verdict for blank lines");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.matches("empty line: scan a licence code").count(),
        2,
        "{stderr}"
    );
}

#[test]
fn completions_and_manual_page_are_generated() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = verifier(dir.path(), &["completions", shell], b"");
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(
            script.contains("verifier") && script.contains("desk"),
            "{shell}"
        );
    }
    let out = verifier(dir.path(), &["manpage"], b"");
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.contains(".TH verifier 1") && page.contains("store damaged"),
        "{page}"
    );
}
