//! The refresh protocol end to end: real `issuer serve` processes on loopback over
//! a registry set up with the real `issuer` binary, and wallets (wallet-core)
//! refreshing from them. Two service instances share the registry, as behind a
//! load balancer: a nonce used at one is refused at the other.
//!
//! Lives in the issuer package so that cargo builds the `issuer` binary for it
//! (`CARGO_BIN_EXE_issuer`); the wallet side runs in-process through the library.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use credential::ed25519_dalek::SigningKey;
use credential::refresh::{RefreshRequest, RefreshResponse, Refusal};
use credential::status_list::StatusList;
use credential::trust_bundle::TrustBundle;
use credential::{Policy, Profile, StatusLists};
use serde_json::Value;
use wallet_core::{CredentialStatus, HttpClient, RefreshOutcome, Wallet, WalletError};

mod common;
use common::office_commands::{
    add_holder, add_retained_portrait, issue_to, portrait_file, ADD_AUTHORITY,
};
use common::serve_process::ServeProcess;
use common::{citizen_birth_date, citizen_id};

const PASSPHRASE: &str = "correct horse battery staple 马";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

struct Office {
    dir: tempfile::TempDir,
    /// Setup happens an hour ago, so a refresh visibly moves the expiry.
    setup_at: u64,
}

impl Office {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_issuer"));
        command
            .arg("--registry")
            .arg(self.dir.path().join("registry"))
            .args(args)
            .env("ISSUER_PASSPHRASE", PASSPHRASE)
            .env("ISSUER_INSECURE_FAST_KDF", "1")
            .env("ISSUER_OPERATOR", "clerk-li");
        command
    }

    fn ok_at(&self, at: u64, args: &[&str]) -> Value {
        let at = at.to_string();
        let mut full = vec!["--json", "--at", &at];
        full.extend_from_slice(args);
        let out = self.command(&full).output().unwrap();
        assert!(
            out.status.success(),
            "issuer {args:?}: {}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn ok(&self, args: &[&str]) -> Value {
        self.ok_at(self.setup_at, args)
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.path().join("registry").join("registry.sqlite"))
            .unwrap()
    }

    /// Enrols holder `i` with a portrait and issues to a new wallet; returns (holder id, wallet).
    fn holder_with_wallet(&self, i: usize, portrait: &Path) -> (String, Wallet) {
        let (licence_number, name) = (citizen_id(i), format!("持证人{i}"));
        let added = self.ok(&add_holder(&licence_number, &name, &citizen_birth_date(i)));
        let holder = added["holder"].as_i64().unwrap().to_string();
        let portrait = self.ok(&add_retained_portrait(&holder, portrait));
        assert_eq!(portrait["state"], "approved", "{portrait}");
        let mut wallet = Wallet::init(&self.dir.path().join(format!("wallet-{i}"))).unwrap();
        let package = self.dir.path().join(format!("package-{i}.cbor"));
        let device_key = hex::encode(wallet.public_key());
        self.ok(&issue_to(&holder, &device_key, &package));
        wallet
            .enrol(&std::fs::read(&package).unwrap(), self.setup_at)
            .unwrap();
        (holder, wallet)
    }

    /// Publishes and loads the trust bundle and status lists as a verifier would.
    fn published(&self) -> (TrustBundle, StatusLists) {
        let out = self.dir.path().join("publish");
        let published = self.ok_at(now(), &["publish", "--out", out.to_str().unwrap()]);
        let root_line = std::fs::read_to_string(out.join("root.pub"))
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .to_owned();
        let root: [u8; 32] = hex::decode(root_line).unwrap().try_into().unwrap();
        let root = credential::ed25519_dalek::VerifyingKey::from_bytes(&root).unwrap();
        let bundle = TrustBundle::verify(
            &std::fs::read(out.join("trust-bundle.cbor")).unwrap(),
            &root,
        )
        .unwrap();
        let mut lists = StatusLists::default();
        for list in published["status_lists"].as_array().unwrap() {
            let bytes = std::fs::read(out.join(list["file"].as_str().unwrap())).unwrap();
            lists.insert(StatusList::verify(&bytes, &bundle).unwrap());
        }
        (bundle, lists)
    }
}

struct Server(ServeProcess);

impl Server {
    fn start(office: &Office, name: &str, extra: &[&str]) -> Server {
        let log = office.dir.path().join(format!("{name}.log"));
        Server(ServeProcess::start(office.command(&[]), extra, Some(&log)))
    }

    fn client(&self) -> HttpClient {
        HttpClient::new(&self.0.base_url())
            .unwrap()
            .with_timeout(Duration::from_secs(20))
    }

    /// POSTs a body to /v1/refresh; returns the status and the decoded response.
    fn post(&self, content_type: &str, body: &[u8]) -> (u16, RefreshResponse) {
        let response = self.client().post(content_type, body).unwrap();
        let decoded = RefreshResponse::decode(&response.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not a refresh response: {e}",
                response.status
            )
        });
        (response.status, decoded)
    }

    /// A raw HTTP exchange, for requests the wallet's client never makes.
    fn raw(&self, request: &str) -> (u16, Vec<u8>) {
        let mut stream = TcpStream::connect(self.0.address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let status = String::from_utf8_lossy(&raw[9..12]).parse().unwrap();
        (status, raw[end + 4..].to_vec())
    }

    fn log(&self) -> String {
        self.0.log()
    }
}

fn refusal_of(response: &RefreshResponse) -> (Refusal, String) {
    match response {
        RefreshResponse::Refused { refusal, message } => (*refusal, message.clone()),
        other => panic!("expected a refusal, got {}", other.code()),
    }
}

fn refused(result: Result<RefreshOutcome, WalletError>) -> Refusal {
    match result {
        Err(WalletError::Refused { refusal, .. }) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn wallets_refresh_from_a_real_issuer_service() {
    let office = Office {
        dir: tempfile::tempdir().unwrap(),
        setup_at: now() - 3600,
    };
    let portrait = portrait_file(office.dir.path());
    office.ok(&["root", "init"]);
    office.ok(&ADD_AUTHORITY);
    let (holder1, mut wallet1) = office.holder_with_wallet(1, &portrait);
    let (holder2, mut wallet2) = office.holder_with_wallet(2, &portrait);
    let (_holder3, mut wallet3) = office.holder_with_wallet(3, &portrait);

    let a = Server::start(&office, "a", &[]);
    let b = Server::start(&office, "b", &["--refreshes-per-hour", "2"]);
    let (status, body) = a.raw("GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!((status, body.as_slice()), (200, &b"ok\n"[..]));

    // 1. Enrolled wallet refreshes: same serial, expiry moved by the hour since issue.
    let before = wallet1.package().unwrap().clone();
    let outcome = wallet1
        .refresh(&a.client(), now(), wallet_core::random_nonce().unwrap())
        .unwrap();
    let RefreshOutcome::Refreshed { serial, expires_at } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(serial, before.serial);
    assert!(
        expires_at >= before.expires_at + 3500,
        "{expires_at} vs {}",
        before.expires_at
    );
    assert_eq!(wallet1.credential_status(), Some(CredentialStatus::Valid));
    // The service's answer carries the portrait the issuer made (spec/refresh.md §7),
    // the same one `issue --out` sent, and the wallet stored it with the package.
    let made = issuer::portrait_code::make_portrait(
        &std::fs::read(&portrait).unwrap(),
        &issuer::portrait_code::STANDARD,
    )
    .unwrap();
    assert_eq!(before.portrait.as_deref(), Some(made.as_slice()));
    assert_eq!(
        wallet1.package().unwrap().portrait.as_deref(),
        Some(made.as_slice())
    );
    assert_eq!(wallet1.portrait().unwrap(), Some(made.clone()));
    // `issuer portrait export` writes those bytes (0600), and never over a file.
    let exported = office.dir.path().join("made.jpg");
    let export = [
        "portrait",
        "export",
        "--holder",
        &holder1,
        "--out",
        exported.to_str().unwrap(),
    ];
    let out = office.ok(&export);
    assert_eq!(std::fs::read(&exported).unwrap(), made);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&exported).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(
        out["digest"],
        hex::encode(credential::licence::portrait_digest(&made))
    );
    assert_eq!(out["stored"], true);
    let again = office
        .command(&[&["--json"][..], &export].concat())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));

    // 2. A replayed request is refused, at the same instance and at the other one.
    let request = wallet1.refresh_request(now(), [0x5a; 16]).unwrap();
    let (status, response) = a.post("application/cbor", &request);
    assert_eq!((status, response.code()), (200, "ok"));
    for server in [&a, &b] {
        let (status, response) = server.post("application/cbor", &request);
        assert_eq!((status, refusal_of(&response).0), (409, Refusal::Replayed));
    }

    // 3. Another device key: naming the holder's key but signed by another one is
    //    bad_proof (the signature is checked before any lookup); a well-signed request
    //    from a phone the issuer never enrolled is unknown_holder.
    let forged = RefreshRequest {
        device_key: wallet1.public_key(),
        requested_at: now(),
        nonce: [1; 16],
        current: None,
    }
    .sign_with(|m| {
        Ok::<_, ()>(credential::signature::sign(
            &SigningKey::from_bytes(&[3; 32]),
            m,
        ))
    })
    .unwrap();
    let (status, response) = a.post("application/cbor", &forged);
    assert_eq!((status, refusal_of(&response).0), (403, Refusal::BadProof));
    let mut stranger = Wallet::init(&office.dir.path().join("stranger")).unwrap();
    assert_eq!(
        refused(stranger.refresh(&a.client(), now(), [2; 16])),
        Refusal::UnknownHolder
    );
    let (status, _) = a.post(
        "application/cbor",
        &stranger.refresh_request(now(), [3; 16]).unwrap(),
    );
    assert_eq!(status, 404);

    // 4. A request made 20 minutes ago (or a phone clock that far off) is stale.
    let (status, response) = a.post(
        "application/cbor",
        &wallet1.refresh_request(now() - 1200, [4; 16]).unwrap(),
    );
    assert_eq!(status, 400);
    assert!(
        matches!(refusal_of(&response).0, Refusal::StaleRequest { server_time } if server_time.abs_diff(now()) < 60)
    );

    // 5. Malformed bodies: 4xx with a reason, and the service keeps serving.
    let good = wallet1.refresh_request(now(), [5; 16]).unwrap();
    let mut bad: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("1 MiB", vec![0x41; 1024 * 1024]),
        ("an integer", vec![0x01]),
        (
            "a map",
            credential::cbor::encode(&credential::cbor::map(vec![(
                credential::cbor::int(1),
                credential::cbor::int(2),
            )])),
        ),
        (
            "text payload",
            credential::cbor::encode(&ciborium::Value::Array(vec![
                ciborium::Value::Text("x".into()),
                ciborium::Value::Bytes(vec![0; 64]),
            ])),
        ),
        ("garbage", b"\xff\xfe\xfd not cbor".to_vec()),
    ];
    let mut one_bit = good.clone();
    one_bit[10] ^= 0x04;
    bad.push(("one bit flipped", one_bit));
    for (what, body) in &bad {
        let (status, response) = a.post("application/cbor", body);
        let (refusal, message) = refusal_of(&response);
        assert!((400..500).contains(&status), "{what}: {status}");
        assert!(
            matches!(refusal, Refusal::Malformed | Refusal::BadProof),
            "{what}: {refusal:?}"
        );
        assert!(!message.is_empty(), "{what}: no reason");
        println!("{what:16} -> {status} {} ({message})", refusal.code());
    }
    let (status, response) = a.post("application/cbor", &vec![0x41; 1024 * 1024]);
    assert_eq!((status, response.code()), (413, "malformed"));
    let (status, response) = a.post("text/plain", &good);
    assert_eq!((status, response.code()), (415, "malformed"));
    let (status, body) = a.raw("GET /v1/refresh HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(
        (status, RefreshResponse::decode(&body).unwrap().code()),
        (405, "malformed")
    );
    let (status, body) = a.raw(
        "POST /v2/anything HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        (status, RefreshResponse::decode(&body).unwrap().code()),
        (404, "malformed")
    );
    let (status, response) = a.post("application/cbor", &good);
    assert_eq!(
        (status, response.code()),
        (200, "ok"),
        "the service still answers a good request"
    );

    // 6. New classes at the office: the refresh brings a new credential (new serial);
    //    the old serial is superseded in the registry and in the published status list.
    let old_wallet = office.dir.path().join("wallet-1-before-update");
    std::fs::create_dir(&old_wallet).unwrap();
    for file in ["device.key", "wallet.cbor"] {
        std::fs::copy(wallet1.dir().join(file), old_wallet.join(file)).unwrap();
    }
    let old_serial = wallet1.package().unwrap().serial;
    office.ok_at(now(), &["holder", "update", &holder1, "--classes", "A2D"]);
    let outcome = wallet1
        .refresh(&a.client(), now(), wallet_core::random_nonce().unwrap())
        .unwrap();
    let RefreshOutcome::Replaced { old, new, .. } = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(old.as_deref(), Some(format!("川J/{old_serial}").as_str()));
    let new_serial = wallet1.package().unwrap().serial;
    assert_eq!(new, &format!("川J/{new_serial}"));
    assert_ne!(new_serial, old_serial);
    let status = wallet1.status(now()).unwrap();
    assert_eq!(
        (status.holder.classes.as_str(), status.replaced.clone()),
        ("A2D", old.clone())
    );
    let state: String = office
        .db()
        .query_row(
            "SELECT state FROM credentials WHERE authority_code = '川J' AND serial = ?1",
            [old_serial as i64],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(state, "superseded");
    let (bundle, lists) = office.published();
    let verify = |text: &str| credential::verify(text, &bundle, &lists, now(), &Policy::default());
    let fresh = wallet1.present(Profile::Rental, now()).unwrap();
    let verdict = verify(&fresh.text);
    assert_eq!(verdict.reason_code(), None, "{:?}", verdict.outcome);
    assert_eq!(
        verdict
            .outcome
            .unwrap()
            .licence
            .classes
            .unwrap()
            .to_string(),
        "A2D"
    );
    let stale_copy = Wallet::open(&old_wallet).unwrap();
    assert_eq!(
        verify(&stale_copy.present(Profile::Full, now()).unwrap().text).reason_code(),
        Some("superseded_by_status_list")
    );

    // 7. Revoked at the office: the wallet stores it and refuses to present.
    office.ok_at(now(), &["revoke", "--holder", &holder1]);
    let outcome = wallet1
        .refresh(&a.client(), now(), wallet_core::random_nonce().unwrap())
        .unwrap();
    assert!(
        matches!(outcome, RefreshOutcome::Revoked { .. }),
        "{outcome:?}"
    );
    assert!(matches!(
        wallet1.present(Profile::Full, now()),
        Err(WalletError::Revoked)
    ));
    let reopened = Wallet::open(wallet1.dir()).unwrap();
    assert_eq!(
        reopened.credential_status(),
        Some(CredentialStatus::Revoked)
    );
    assert!(matches!(
        reopened.present(Profile::Rental, now()),
        Err(WalletError::Revoked)
    ));
    let (status, response) = a.post(
        "application/cbor",
        &reopened.refresh_request(now(), [6; 16]).unwrap(),
    );
    assert_eq!((status, refusal_of(&response).0), (410, Refusal::Revoked));

    // 8. Suspended, then reinstated: the credential says D meanwhile.
    office.ok_at(now(), &["suspend", "--holder", &holder2]);
    let outcome = wallet2
        .refresh(&a.client(), now(), wallet_core::random_nonce().unwrap())
        .unwrap();
    assert!(
        matches!(outcome, RefreshOutcome::Suspended { .. }),
        "{outcome:?}"
    );
    let (bundle, lists) = office.published();
    let text = wallet2.present(Profile::Full, now()).unwrap().text;
    assert_eq!(
        credential::verify(&text, &bundle, &lists, now(), &Policy::default()).reason_code(),
        Some("licence_status")
    );
    office.ok_at(now(), &["reinstate", "--holder", &holder2]);
    let outcome = wallet2
        .refresh(&a.client(), now(), wallet_core::random_nonce().unwrap())
        .unwrap();
    assert!(
        matches!(outcome, RefreshOutcome::Refreshed { .. }),
        "{outcome:?}"
    );
    assert_eq!(wallet2.credential_status(), Some(CredentialStatus::Valid));

    // 9. Rate limit (instance b: 2 per hour): the third refresh waits.
    for _ in 0..2 {
        wallet3
            .refresh(&b.client(), now(), wallet_core::random_nonce().unwrap())
            .unwrap();
    }
    match refused(wallet3.refresh(&b.client(), now(), wallet_core::random_nonce().unwrap())) {
        Refusal::RateLimited { retry_after_s } => {
            assert!((3000..=3600).contains(&retry_after_s), "{retry_after_s}")
        }
        other => panic!("{other:?}"),
    }

    // One log line per request, without secrets.
    let log = a.log();
    assert!(log.contains("POST /v1/refresh 200 ok holder="), "{log}");
    assert!(log.contains("POST /v1/refresh 409 replayed"), "{log}");
    assert!(log.contains("POST /v1/refresh 413 malformed"), "{log}");
    assert!(
        !log.contains(&hex::encode([0x5a; 16])),
        "a nonce was logged"
    );
    assert!(!log.contains(PASSPHRASE));
    assert!(b.log().contains("429 rate_limited"), "{}", b.log());
    // Each request's line is whole: one request, its duration last.
    for line in log.lines().filter(|line| line.contains(" /v1/refresh ")) {
        let whole = line.matches(" /v1/refresh ").count() == 1 && line.ends_with("ms");
        assert!(whole, "a request's log line is cut or joined: {line:?}");
    }
}

#[test]
fn a_wrong_passphrase_stops_the_service_at_start() {
    let office = Office {
        dir: tempfile::tempdir().unwrap(),
        setup_at: now(),
    };
    office.ok(&["root", "init"]);
    office.ok(&ADD_AUTHORITY);
    let out = office
        .command(&["serve", "--bind", "127.0.0.1:0"])
        .env("ISSUER_PASSPHRASE", "wrong")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).is_empty(),
        "it must not start listening"
    );
}
