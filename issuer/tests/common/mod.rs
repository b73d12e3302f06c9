//! Shared helpers for the issuer's end-to-end tests: the real binary in a temp registry.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod concurrent;
pub mod office_commands;
pub mod postgres_server;
pub mod serve_process;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const PASSPHRASE: &str = "correct horse battery staple 马";
pub const T: u64 = 1_780_279_200; // 2026-06-01T02:00:00Z, a Monday

/// With this variable set to `postgres`, every [`Office`] keeps its registry in a
/// fresh PostgreSQL database (`--database`, see [`postgres_server`]) instead of
/// SQLite; its folder then holds only `keys/`. Only suites that read the registry
/// through the binary or [`concurrent::RegistryView`] follow it (`.ci/run` runs the
/// concurrency suite so).
pub const BACKEND_VARIABLE: &str = "ISSUER_TEST_BACKEND";

pub struct Office {
    pub dir: tempfile::TempDir,
    /// The PostgreSQL database, when the registry is there.
    pub database: Option<String>,
}

impl Default for Office {
    fn default() -> Self {
        Office::new()
    }
}

impl Office {
    pub fn new() -> Office {
        let database = match std::env::var(BACKEND_VARIABLE).as_deref() {
            Ok("postgres") => Some(postgres_server::fresh_database().unwrap_or_else(|| {
                panic!("{BACKEND_VARIABLE}=postgres but no PostgreSQL for the tests")
            })),
            Ok("sqlite") | Err(_) => None,
            Ok(other) => panic!("{BACKEND_VARIABLE}={other}: expected sqlite or postgres"),
        };
        Office {
            dir: tempfile::tempdir().unwrap(),
            database,
        }
    }

    /// An office whose registry is a fresh PostgreSQL database, whatever
    /// [`BACKEND_VARIABLE`] says; `None` when there is no PostgreSQL for the tests
    /// (which then skip, except under `CI=true`: see [`postgres_server`]).
    pub fn on_postgres() -> Option<Office> {
        Some(Office {
            dir: tempfile::tempdir().unwrap(),
            database: Some(postgres_server::fresh_database()?),
        })
    }

    pub fn registry(&self) -> PathBuf {
        self.dir.path().join("registry")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_issuer"));
        command.arg("--registry").arg(self.registry());
        match &self.database {
            Some(url) => command.arg("--database").arg(url),
            None => command.env_remove("ISSUER_DATABASE"),
        };
        command
            .args(args)
            .env("ISSUER_PASSPHRASE", PASSPHRASE)
            .env("ISSUER_INSECURE_FAST_KDF", "1")
            .env("ISSUER_OPERATOR", "clerk-wang");
        command
    }

    /// Runs the command; every run's output is checked for the passphrase and the
    /// key files' secret part, so no test can pass while a secret leaks.
    pub fn run(&self, args: &[&str]) -> Output {
        let output = self.command(args).output().unwrap();
        assert_no_secret(&self.registry(), &output);
        output
    }

    /// Runs with `--json --at T+offset` and expects success; returns the JSON.
    pub fn ok(&self, args: &[&str]) -> serde_json::Value {
        self.ok_at(T, args)
    }

    pub fn ok_at(&self, at: u64, args: &[&str]) -> serde_json::Value {
        let at = at.to_string();
        let mut full = vec!["--json", "--at", &at];
        full.extend_from_slice(args);
        let out = self.run(&full);
        assert!(
            out.status.success(),
            "issuer {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Creates the root key and authority 川J at `at`.
    pub fn found(&self, at: u64) {
        self.ok_at(at, &["root", "init"]);
        self.ok_at(at, &office_commands::ADD_AUTHORITY);
    }

    /// Root, 川J and 川A.
    pub fn with_authorities() -> Office {
        let office = Office::new();
        office.add_authorities();
        office
    }

    /// Creates the root and authorities 川J and 川A.
    pub fn add_authorities(&self) {
        let office = self;
        office.found(T);
        office.ok(&[
            "authority",
            "add",
            "--code",
            "川A",
            "--name",
            "四川省成都市公安局交通管理局",
        ]);
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.registry().join("registry.sqlite")).unwrap()
    }
}

/// A device key for holder `i` (deterministic).
pub fn device_key(i: usize) -> credential::ed25519_dalek::SigningKey {
    credential::ed25519_dalek::SigningKey::from_bytes(&credential::signature::sha256(
        format!("device {i}").as_bytes(),
    ))
}

/// A valid 18-character citizen ID for holder `i`.
pub fn citizen_id(i: usize) -> String {
    with_check_digit(&format!(
        "510903{:08}{:03}",
        19_800_101 + (i % 28),
        i % 1000
    ))
}

/// The 17 digits of a citizen ID followed by their GB 11643 check character.
pub fn with_check_digit(first17: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    format!(
        "{first17}{}",
        char::from(b"10X98765432"[(sum % 11) as usize])
    )
}

/// The birth date that [`citizen_id`]`(i)` encodes (GB 11643 digits 7–14).
pub fn citizen_birth_date(i: usize) -> String {
    format!("1980-01-{:02}", 1 + i % 28)
}

pub const CSV_HEADER: &str = "licence_number,name,sex,nationality,birth_date,address,file_number,first_issue_date,classes,valid_from,valid_to,authority,points,channel,device_key,portrait";

/// One CSV line for holder `i` (unique licence number by `i`).
pub fn csv_line(i: usize, portrait: &str) -> String {
    format!(
        "P{i:08},持证人{i},{},CHN,1985-0{}-1{},四川省遂宁市船山区明月路{i}号,5109{i:08},2005-07-22,C1E,2020-07-22,2030-07-22,川J,0,{},{},{portrait}",
        if i.is_multiple_of(2) { "男" } else { "女" },
        1 + i % 9,
        i % 10,
        if i.is_multiple_of(7) { "counter" } else { "app" },
        hex::encode(device_key(i).verifying_key().as_bytes()),
    )
}

pub fn write(path: &Path, bytes: impl AsRef<[u8]>) -> PathBuf {
    std::fs::write(path, bytes).unwrap();
    path.to_owned()
}

/// A portrait that passes the automatic checks, and one that fails (grey background).
pub fn portraits(dir: &Path) -> (PathBuf, PathBuf) {
    let good = write(
        &dir.join("good.jpg"),
        issuer::portrait::synthetic_portrait(
            358,
            441,
            [255, 255, 255],
            issuer::portrait::ImageFormat::Jpeg,
        ),
    );
    let bad = write(
        &dir.join("grey.jpg"),
        issuer::portrait::synthetic_portrait(
            358,
            441,
            [120, 120, 120],
            issuer::portrait::ImageFormat::Jpeg,
        ),
    );
    (good, bad)
}

/// Fails if the output contains the passphrase or the encrypted part of a key file.
pub fn assert_no_secret(registry: &Path, output: &Output) {
    let text = [
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    ]
    .concat();
    assert!(!text.contains(PASSPHRASE), "the passphrase leaked: {text}");
    if let Ok(entries) = std::fs::read_dir(registry.join("keys")) {
        for entry in entries.flatten() {
            let key_file = std::fs::read_to_string(entry.path()).unwrap_or_default();
            // Line 3 holds the salt, nonce and sealed seed.
            if let Some(sealed) = key_file.lines().nth(2).filter(|l| l.len() > 16) {
                assert!(
                    !text.contains(sealed),
                    "a key file's sealed part leaked: {text}"
                );
            }
        }
    }
}
