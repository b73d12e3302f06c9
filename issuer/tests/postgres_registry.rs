//! The registry on PostgreSQL through the real binary: `issuer migrate` copies an
//! office's SQLite registry so that both pass `issuer check` and export the same
//! (audit log, holders, and byte-identical published trust bundle and status
//! lists); connection strings never show their password. Needs a PostgreSQL
//! server (see `common/postgres_server.rs`; without one outside CI these tests
//! say so and pass).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Output;

use common::{csv_line, portraits, write, Office, CSV_HEADER, T};
use serde_json::Value;

/// Runs `issuer --json --at T args` on the SQLite registry, or with `--database`.
fn run(office: &Office, database: Option<&str>, args: &[&str]) -> Output {
    let at = T.to_string();
    let mut full = vec!["--json", "--at", &at];
    if let Some(url) = database {
        full.extend(["--database", url]);
    }
    full.extend_from_slice(args);
    office.run(&full)
}

fn ok(office: &Office, database: Option<&str>, args: &[&str]) -> Value {
    let out = run(office, database, args);
    assert!(
        out.status.success(),
        "issuer {args:?} (database {database:?}) failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every file of `dir` by name, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn migrate_copies_an_office_so_that_both_check_and_export_the_same() {
    let Some(url) = common::postgres_server::fresh_database() else {
        return;
    };
    // An office with some history on SQLite: holders, portraits, credentials
    // (one superseded), a revocation, points, a published bundle.
    let office = Office::with_authorities();
    assert!(
        office.database.is_none(),
        "this test builds a SQLite office"
    );
    let (good, _) = portraits(office.dir.path());
    let mut csv = format!("{CSV_HEADER}\n");
    for i in 0..30 {
        csv.push_str(&csv_line(i, good.file_name().unwrap().to_str().unwrap()));
        csv.push('\n');
    }
    let file = write(&office.dir.path().join("holders.csv"), csv);
    ok(&office, None, &["holder", "import", file.to_str().unwrap()]);
    ok(&office, None, &["issue", "--all"]);
    ok(
        &office,
        None,
        &["holder", "update", "3", "--classes", "A2D"],
    );
    ok(&office, None, &["revoke", "--holder", "5"]);
    ok(&office, None, &["points", "add", "--holder", "7", "12"]);
    ok(
        &office,
        None,
        &[
            "publish",
            "--out",
            office.dir.path().join("p0").to_str().unwrap(),
        ],
    );
    let registry = office.registry();
    let migrated = ok(
        &office,
        None,
        &[
            "migrate",
            "--from",
            registry.to_str().unwrap(),
            "--to",
            &url,
        ],
    );
    assert_eq!(migrated["rows"]["holders"], 30, "{migrated}");
    assert_eq!(migrated["rows"]["credentials"], 31, "{migrated}");

    let sqlite = None;
    let postgres = Some(url.as_str());
    for database in [sqlite, postgres] {
        let check = ok(&office, database, &["check"]);
        assert_eq!(check["integrity"], "ok");
        // The made portraits were copied: every current credential's digest is theirs.
        assert_eq!(check["portraits_signed_as_made"], 30, "{check}");
    }
    let made = |database, name: &str| {
        let path = office.dir.path().join(name);
        ok(
            &office,
            database,
            &[
                "portrait",
                "export",
                "--holder",
                "1",
                "--out",
                path.to_str().unwrap(),
            ],
        );
        std::fs::read(path).unwrap()
    };
    assert_eq!(
        made(sqlite, "made-sqlite.jpg"),
        made(postgres, "made-postgres.jpg")
    );
    // The same answers from both registries.
    let exports = |database| {
        let mut export = vec![ok(&office, database, &["audit", "--limit", "10000"])];
        for holder in 1..=30 {
            export.push(ok(
                &office,
                database,
                &["holder", "show", &holder.to_string()],
            ));
        }
        export
    };
    assert_eq!(exports(sqlite), exports(postgres));
    // Published from both at the same instant, with the same keys: the same bytes
    // (the trust bundle version continued from the copied one on both).
    let out = |name: &str| office.dir.path().join(name);
    for (database, dir) in [(sqlite, "from-sqlite"), (postgres, "from-postgres")] {
        ok(
            &office,
            database,
            &["publish", "--out", out(dir).to_str().unwrap()],
        );
    }
    assert_eq!(files(&out("from-sqlite")), files(&out("from-postgres")));

    // The copy continues: new holders and audit entries get fresh ids.
    let added = ok(
        &office,
        postgres,
        &[
            "holder",
            "add",
            "--licence-number",
            &common::citizen_id(900),
            "--name",
            "新持证人",
            "--sex",
            "F",
            "--birth-date",
            &common::citizen_birth_date(900),
            "--address",
            "四川省遂宁市",
            "--file-number",
            "510900000900",
            "--first-issue-date",
            "2010-01-01",
            "--classes",
            "C1",
            "--valid-from",
            "2020-01-01",
            "--authority",
            "川J",
        ],
    );
    assert_eq!(added["holder"], 31, "{added}");

    // A second migration into the same database is refused, changing nothing.
    let again = run(
        &office,
        None,
        &[
            "migrate",
            "--from",
            registry.to_str().unwrap(),
            "--to",
            &url,
        ],
    );
    assert_eq!(again.status.code(), Some(2));
    let refused: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(refused["code"], "registry_constraint", "{refused}");
    assert_eq!(ok(&office, postgres, &["check"])["holders"], 31);
}

#[test]
fn connection_strings_never_show_their_password() {
    let office = Office::new();
    let secret = "pa55-w0rd-马";
    let url = format!("postgres://issuer:{secret}@127.0.0.1:1/registry?connect_timeout=2");
    // Unreachable: the error names the database without the password.
    let out = office.run(&["--database", &url, "check"]);
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("issuer:***@127.0.0.1:1"), "{said}");
    assert!(!said.contains(secret), "{said}");
    // Nor does the help show the variable's value.
    let help = office
        .command(&["--help"])
        .env("ISSUER_DATABASE", &url)
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--database"), "{help}");
    assert!(!help.contains(secret), "{help}");
    // Nor a value that is not a PostgreSQL URL at all.
    let out = office.run(&["--database", &format!("mysql://u:{secret}@h/db"), "check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(secret));
}
