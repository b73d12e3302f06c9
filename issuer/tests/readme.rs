//! The README's office day runs as pasted: the block is read from README.md and run
//! with bash against the binaries this test build made (its first line, the
//! `cargo build`, is what the test does itself).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

const MARKER: &str = "An office's day, as pasted";

fn office_day_block() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let section = &readme[readme.find(MARKER).expect("the README has the office day")..];
    let start = section.find("```sh\n").unwrap() + "```sh\n".len();
    let end = start + section[start..].find("```").unwrap();
    section[start..end]
        .lines()
        .filter(|line| !line.starts_with("cargo build"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_readme_office_day_runs_as_pasted() {
    let issuer = Path::new(env!("CARGO_BIN_EXE_issuer"));
    let bin_dir = issuer.parent().unwrap();
    let examples = bin_dir.join("examples");
    assert!(
        examples.join("office_inputs").exists(),
        "cargo test builds the examples"
    );
    let tmp = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}:{}",
        bin_dir.display(),
        examples.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = format!("set -euo pipefail\n{}\n", office_day_block());
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("PATH", path)
        .env("TMPDIR", tmp.path())
        .env("ISSUER_INSECURE_FAST_KDF", "1")
        .env_remove("ISSUER_REGISTRY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    for expected in [
        "198 holders enrolled, 2 lines rejected",
        "line 51: field 1 opens a quote that is not closed on this line",
        "line 121: birth_date",
        "portraits awaiting review",
        "approved",
        "198 credentials issued, 0 refused",
        "re-issued as serial 川J/",
        "status B, points 12, credential suspended",
        "status F, points 0, credential revoked",
        "registry OK: 199 holders",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    // Times for a clerk are local times with an offset, not Unix seconds.
    let audit_line = stdout
        .lines()
        .find(|l| l.contains("status.revoke"))
        .unwrap();
    assert!(
        audit_line
            .split_whitespace()
            .nth(3)
            .is_some_and(|offset| offset.starts_with('+') || offset.starts_with('-')),
        "{audit_line}"
    );
}
