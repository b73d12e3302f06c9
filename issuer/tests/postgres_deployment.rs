//! The PostgreSQL registry as a deployment runs it, through the real binary
//! (issue 10, "PostgreSQL backend"):
//! - the application role (`src/store/postgres_app_role.sql`) runs every command
//!   but can neither change the audit log nor drop or disable its triggers;
//! - an `issuer serve` node whose database session is terminated reconnects for
//!   the next refresh;
//! - TLS: `sslmode=verify-full` with a private CA (`sslrootcert=`) connects over
//!   TLS, a server whose certificate another CA signed is refused with
//!   `database_certificate_untrusted`, and `sslmode=disable` to another machine is
//!   refused with `database_plaintext_refused`.
//!
//! Needs PostgreSQL (see `common/postgres_server.rs`; without it outside CI these
//! tests say so and pass).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::concurrent::{enrolment_line, now, wallet_for, write_csv, RegistryView, Service};
use common::{csv_line, portraits, write, Office, CSV_HEADER};
use postgres::error::SqlState;
use serde_json::Value;
use wallet_core::RefreshOutcome;

/// An office whose registry is the database at `url`.
fn office_on(url: &str) -> Office {
    Office {
        dir: tempfile::tempdir().unwrap(),
        database: Some(url.to_owned()),
    }
}

/// `issuer --json [--lang zh] check` expected to fail: its exit code and JSON.
fn refused(office: &Office, zh: bool) -> (Option<i32>, Value) {
    let mut args = vec!["--json"];
    if zh {
        args.extend(["--lang", "zh"]);
    }
    args.push("check");
    let out = office.run(&args);
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

/// Enrols one holder without a credential and gives it a wallet; returns both.
fn holder_with_wallet(office: &Office, line: usize) -> (i64, wallet_core::Wallet) {
    portraits(office.dir.path());
    let csv = write_csv(
        office.dir.path(),
        &format!("wallet-{line}.csv"),
        [enrolment_line(line, None, Some("good.jpg"))],
    );
    office.ok_at(now(), &["holder", "import", csv.to_str().unwrap()]);
    let id = RegistryView::open(office).holder_ids()[&common::concurrent::licence_number(line)];
    let wallet = wallet_for(
        office,
        id,
        &office.dir.path().join(format!("wallet-{line}")),
    );
    (id, wallet)
}

fn refresh(wallet: &mut wallet_core::Wallet, service: &Service) -> RefreshOutcome {
    let nonce = wallet_core::random_nonce().unwrap();
    match wallet.refresh(&service.client(), now(), nonce) {
        Ok(outcome) => outcome,
        Err(error) => panic!("refresh failed: {error}; service log:\n{}", service.log()),
    }
}

#[test]
fn the_app_role_runs_every_command_and_cannot_touch_the_audit_log() {
    let Some(owner_url) = common::postgres_server::fresh_database() else {
        return;
    };
    let mut office = office_on(&owner_url);
    // The owner migrates the schema (any command does) and grants the app role.
    office.ok_at(now(), &["check"]);
    let mut owner = postgres::Client::connect(&owner_url, postgres::NoTls).unwrap();
    let login = format!("issuer_node_{}", std::process::id());
    owner
        .batch_execute(&format!(
            "DO $$ BEGIN CREATE ROLE issuer_app NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
             CREATE ROLE {login} LOGIN IN ROLE issuer_app"
        ))
        .unwrap();
    owner
        .batch_execute(include_str!("../src/store/postgres_app_role.sql"))
        .unwrap();
    let app_url = owner_url.replacen("postgres://postgres@", &format!("postgres://{login}@"), 1);
    assert_ne!(app_url, owner_url);
    office.database = Some(app_url.clone());

    // Every kind of command, as the app role.
    office.found(now());
    let (good, _) = portraits(office.dir.path());
    let mut csv = format!("{CSV_HEADER}\n");
    for i in 0..6 {
        csv.push_str(&csv_line(i, good.file_name().unwrap().to_str().unwrap()));
        csv.push('\n');
    }
    let file = write(&office.dir.path().join("holders.csv"), csv);
    office.ok_at(now(), &["holder", "import", file.to_str().unwrap()]);
    assert_eq!(office.ok_at(now(), &["issue", "--all"])["issued"], 6);
    office.ok_at(now(), &["holder", "update", "3", "--classes", "A2D"]);
    office.ok_at(now(), &["revoke", "--holder", "5"]);
    office.ok_at(now(), &["suspend", "--holder", "4"]);
    office.ok_at(now(), &["points", "add", "--holder", "2", "12"]);
    office.ok_at(now(), &["holder", "show", "2"]);
    let published = office.dir.path().join("published");
    office.ok_at(now(), &["publish", "--out", published.to_str().unwrap()]);
    let (_, mut wallet) = holder_with_wallet(&office, 40);
    let service = Service::start(&office, "app");
    assert!(
        matches!(
            refresh(&mut wallet, &service),
            RefreshOutcome::Refreshed { .. }
        ),
        "{}",
        service.log()
    );
    drop(service);
    assert_eq!(office.ok_at(now(), &["check"])["integrity"], "ok");
    let audit = office.ok_at(now(), &["audit", "--limit", "1000"]);

    // The audit log stays as written: no privilege, and no owner's power.
    let mut app = postgres::Client::connect(&app_url, postgres::NoTls).unwrap();
    for sql in [
        "UPDATE audit SET operator = 'someone else'",
        "DELETE FROM audit",
        "TRUNCATE audit",
        "DROP TRIGGER audit_append_only_rows ON audit",
        "ALTER TABLE audit DISABLE TRIGGER audit_append_only_rows",
        "DROP FUNCTION audit_append_only() CASCADE",
        "DROP TABLE audit",
        "DELETE FROM holders",
        "CREATE TABLE shadow_audit (id BIGINT)",
    ] {
        let error = app.batch_execute(sql).unwrap_err();
        assert_eq!(
            error.code(),
            Some(&SqlState::INSUFFICIENT_PRIVILEGE),
            "{sql}: {error:?}"
        );
    }
    assert_eq!(office.ok_at(now(), &["audit", "--limit", "1000"]), audit);
}

#[test]
fn a_serve_node_reconnects_after_its_database_session_is_terminated() {
    let Some(url) = common::postgres_server::fresh_database() else {
        return;
    };
    let office = office_on(&url);
    office.found(now());
    let (holder, mut wallet) = holder_with_wallet(&office, 1);
    let service = Service::start(&office, "node");
    assert!(matches!(
        refresh(&mut wallet, &service),
        RefreshOutcome::Refreshed { .. }
    ));
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    for round in 1..=2 {
        // As an operator would, or a failover: the node's session ends.
        let ended: i64 = admin
            .query_one(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity
                  WHERE datname = current_database() AND application_name = 'issuer' AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(ended, 1, "round {round}: the node's one session");
        // As after any real pause: the node checks a connection idle that long
        // before using it (a loss within the pause fails one refresh, retryable).
        std::thread::sleep(issuer::store::postgres::PROBE_AFTER_IDLE * 2);
        assert!(
            matches!(
                refresh(&mut wallet, &service),
                RefreshOutcome::Refreshed { .. }
            ),
            "round {round}: {}",
            service.log()
        );
    }
    let log = service.log();
    assert_eq!(
        log.matches("connection lost; reconnecting").count(),
        2,
        "{log}"
    );
    drop(service);
    // Three answers, three refreshes in the audit log: nothing lost or doubled.
    let refreshes = RegistryView::open(&office)
        .audit()
        .iter()
        .filter(|row| row.action == "credential.refresh" && row.subject == holder.to_string())
        .count();
    assert_eq!(refreshes, 3);
}

/// A throwaway CA that signs server certificates.
struct TestCa {
    key: rcgen::KeyPair,
    certificate: rcgen::Certificate,
}

impl TestCa {
    fn new(name: &str) -> TestCa {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let certificate = params.self_signed(&key).unwrap();
        TestCa { key, certificate }
    }

    /// A server certificate for `names` (host names or IP addresses) and its key, PEM.
    fn server_certificate(&self, names: &[&str]) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let certificate = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.certificate, &self.key)
            .unwrap();
        (certificate.pem(), key.serialize_pem())
    }
}

/// The URL of the TLS server's `postgres` database with `sslmode` and `sslrootcert`.
fn tls_url(port: u16, mode: &str, root: &Path) -> String {
    format!(
        "postgres://postgres@127.0.0.1:{port}/postgres?sslmode={mode}&sslrootcert={}",
        root.display().to_string().replace('/', "%2F")
    )
}

#[test]
fn verify_full_connects_with_the_private_ca_and_another_ca_is_refused() {
    let ca = TestCa::new("issuer test CA");
    let (certificate, key) = ca.server_certificate(&["localhost", "127.0.0.1"]);
    let Some(server) = common::postgres_server::tls_server(&certificate, &key) else {
        return;
    };
    let files = tempfile::tempdir().unwrap();
    let right = write(&files.path().join("ca.pem"), ca.certificate.pem());
    let wrong = write(
        &files.path().join("other-ca.pem"),
        TestCa::new("another CA").certificate.pem(),
    );

    for mode in ["verify-full", "require"] {
        let office = office_on(&tls_url(server.port, mode, &right));
        assert_eq!(office.ok_at(now(), &["check"])["integrity"], "ok");
    }
    let log = server.log();
    assert!(
        log.contains("application_name=issuer SSL enabled"),
        "the issuer's connections were not TLS: {log}"
    );

    let office = office_on(&tls_url(server.port, "verify-full", &wrong));
    for zh in [false, true] {
        let (exit, json) = refused(&office, zh);
        assert_eq!(exit, Some(2));
        assert_eq!(json["code"], "database_certificate_untrusted", "{json}");
        let message = json["message"].as_str().unwrap();
        assert!(
            message.contains(if zh {
                "证书不受信任"
            } else {
                "not trusted"
            }),
            "{message}"
        );
    }
}

#[test]
fn plaintext_to_another_machine_is_refused_before_connecting() {
    let secret = "pa55-w0rd";
    // No server needed: refused before any connection is tried.
    let office = office_on(&format!(
        "postgres://issuer:{secret}@db.example:5432/registry?sslmode=disable"
    ));
    for zh in [false, true] {
        let (exit, json) = refused(&office, zh);
        assert_eq!(exit, Some(2));
        assert_eq!(json["code"], "database_plaintext_refused", "{json}");
        let message = json["message"].as_str().unwrap();
        assert!(message.contains("issuer:***@db.example"), "{message}");
        assert!(!message.contains(secret), "{message}");
        assert!(
            message.contains(if zh { "明文" } else { "in clear" }),
            "{message}"
        );
    }
}
