//! The `wallet` CLI refreshes from a real deployment over HTTPS: a real `issuer
//! serve` process (set up with the real `issuer` binary) behind a
//! TLS-terminating proxy in this test (tokio-rustls, a certificate made here
//! with rcgen for `localhost`), all on loopback. The proxy stands for the nginx
//! or load balancer of the README; the wallet trusts its certificate through
//! `--ca-file`, and refuses it without, or under another name.
//!
//! The `issuer` binary is taken from the same target directory as `wallet`
//! (`cargo test --workspace` builds it; run alone, this test builds it first).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

// The issuer's own command lines for setting an office up.
#[path = "../../issuer/tests/common/office_commands.rs"]
mod office_commands;
use office_commands::{add_holder, add_retained_portrait, issue_to, portrait_file, ADD_AUTHORITY};
// The issuer's own harness for starting `issuer serve` (standard library only).
#[path = "../../issuer/tests/common/serve_process.rs"]
mod serve_process;
use serve_process::ServeProcess;

const PASSPHRASE: &str = "correct horse battery staple 马";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The `issuer` binary next to `wallet` in the target directory, built if missing.
fn issuer_binary() -> PathBuf {
    let wallet = Path::new(env!("CARGO_BIN_EXE_wallet"));
    let issuer = wallet.with_file_name(format!("issuer{}", std::env::consts::EXE_SUFFIX));
    if !issuer.exists() {
        let target_dir = wallet.parent().and_then(Path::parent).unwrap();
        let status = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "issuer", "--bin", "issuer"])
            .env("CARGO_TARGET_DIR", target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "could not build the issuer binary");
    }
    issuer
}

struct Office {
    dir: tempfile::TempDir,
    issuer: PathBuf,
}

impl Office {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.issuer);
        command
            .arg("--registry")
            .arg(self.dir.path().join("registry"))
            .args(args)
            .env("ISSUER_PASSPHRASE", PASSPHRASE)
            .env("ISSUER_INSECURE_FAST_KDF", "1")
            .env("ISSUER_OPERATOR", "clerk-zhao");
        command
    }

    fn ok(&self, args: &[&str]) -> Value {
        let at = (now() - 3600).to_string();
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
}

fn start_serve(office: &Office) -> (ServeProcess, SocketAddr) {
    let log = office.dir.path().join("serve.log");
    let serve = ServeProcess::start(office.command(&[]), &[], Some(&log));
    let address = serve.address;
    (serve, address)
}

/// A TLS-terminating proxy on 127.0.0.1 forwarding to `backend`; returns its
/// port. It runs until the test process ends.
fn start_tls_proxy(cert_der: Vec<u8>, key_der: Vec<u8>, backend: SocketAddr) -> u16 {
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert_der)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der)),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_io()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that refuses our certificate ends its handshake here.
                    let Ok(mut tls) = acceptor.accept(client).await else {
                        return;
                    };
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                });
            }
        });
    });
    port
}

fn wallet(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wallet"))
        .arg("--dir")
        .arg(dir)
        .arg("--json")
        .args(args)
        .env_remove("WALLET_CA_FILE")
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn the_cli_refreshes_over_https_through_a_tls_terminating_proxy() {
    let office = Office {
        dir: tempfile::tempdir().unwrap(),
        issuer: issuer_binary(),
    };
    let portrait = portrait_file(office.dir.path());
    office.ok(&["root", "init"]);
    office.ok(&ADD_AUTHORITY);
    let added = office.ok(&add_holder("510903198803140029", "欧阳婷婷", "1988-03-14"));
    let holder = added["holder"].as_i64().unwrap().to_string();
    office.ok(&add_retained_portrait(&holder, &portrait));
    let wallet_dir = office.dir.path().join("wallet");
    let init = json(&wallet(&wallet_dir, &["init"]));
    let package = office.dir.path().join("package.cbor");
    office.ok(&issue_to(
        &holder,
        init["device_key"].as_str().unwrap(),
        &package,
    ));
    let enrolled = json(&wallet(
        &wallet_dir,
        &["enrol", "--package", package.to_str().unwrap()],
    ));
    let serial = enrolled["wallet"]["serial"].clone();
    // The package from `issuer issue --out` carried the portrait the issuer made:
    // stored with it, and the animated code works with no `wallet portrait set`.
    let made = issuer::portrait_code::make_portrait(
        &std::fs::read(&portrait).unwrap(),
        &issuer::portrait_code::STANDARD,
    )
    .unwrap();
    let status = json(&wallet(&wallet_dir, &["status"]));
    assert_eq!(status["portrait_bytes"], made.len(), "{status}");
    let frames = office.dir.path().join("frames");
    let out = wallet(
        &wallet_dir,
        &[
            "show",
            "--profile",
            "rental",
            "--animated",
            "--frames-dir",
            frames.to_str().unwrap(),
        ],
    );
    let shown = json(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert_eq!(shown["animation"]["portrait_bytes"], made.len(), "{shown}");
    let frame_count = shown["animation"]["frames"].as_u64().unwrap();
    assert!(frame_count > 1 && frames.join("frame-001.png").exists());

    let (_serve, backend) = start_serve(&office);
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let ca = office.dir.path().join("proxy-ca.pem");
    std::fs::write(&ca, certified.cert.pem()).unwrap();
    let port = start_tls_proxy(
        certified.cert.der().to_vec(),
        certified.key_pair.serialize_der(),
        backend,
    );
    let url = format!("https://localhost:{port}");

    // Trusting the proxy's certificate: refreshed, same serial, expiry moved.
    let out = wallet(
        &wallet_dir,
        &[
            "refresh",
            "--issuer",
            &url,
            "--ca-file",
            ca.to_str().unwrap(),
        ],
    );
    let refreshed = json(&out);
    assert_eq!(out.status.code(), Some(0), "{refreshed}");
    assert_eq!(refreshed["refresh"]["outcome"], "refreshed");
    assert_eq!(refreshed["wallet"]["serial"], serial);
    assert!(
        refreshed["wallet"]["expires_at"].as_u64() > enrolled["wallet"]["expires_at"].as_u64(),
        "{refreshed}"
    );
    assert!(refreshed["wallet"]["last_refresh_at"].is_u64());
    // `issuer serve`'s answer carries the portrait again: still stored.
    let status = json(&wallet(&wallet_dir, &["status"]));
    assert_eq!(status["portrait_bytes"], made.len(), "{status}");

    // Without the CA (Mozilla's roots do not know it) and under a name the
    // certificate does not carry: TLS refused, the credential kept.
    let out = wallet(&wallet_dir, &["refresh", "--issuer", &url]);
    assert_eq!(
        (out.status.code(), json(&out)["error"].as_str()),
        (Some(1), Some("tls"))
    );
    let by_ip = format!("https://127.0.0.1:{port}");
    let out = wallet(
        &wallet_dir,
        &[
            "refresh",
            "--issuer",
            &by_ip,
            "--ca-file",
            ca.to_str().unwrap(),
        ],
    );
    assert_eq!(
        (out.status.code(), json(&out)["error"].as_str()),
        (Some(1), Some("tls"))
    );
    // Plain http is for loopback only; a real address must be https.
    let out = wallet(
        &wallet_dir,
        &["refresh", "--issuer", "http://issuer.example"],
    );
    assert_eq!(json(&out)["error"], "offline");
    assert!(String::from_utf8_lossy(&out.stderr).contains("plain http is refused"));
    // The loopback backend itself still answers plain http (a proxy on the same host).
    let out = wallet(
        &wallet_dir,
        &["refresh", "--issuer", &format!("http://{backend}")],
    );
    assert_eq!(json(&out)["refresh"]["outcome"], "refreshed");
    let status = json(&wallet(&wallet_dir, &["status"]));
    assert_eq!(status["wallet"]["status"], "valid");
}

#[test]
fn completions_and_the_man_page_describe_every_option() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_wallet"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let bash = run(&["completions", "bash"]);
    assert!(bash.contains("--ca-file") && bash.contains("--animated") && bash.contains("portrait"));
    assert!(run(&["completions", "zsh"]).contains("#compdef wallet"));
    assert!(run(&["completions", "fish"]).contains("complete -c wallet"));
    let man = run(&["man"]);
    assert!(
        man.starts_with(".ie") || man.contains(".TH wallet"),
        "{}",
        &man[..200.min(man.len())]
    );
    // Every long option of every subcommand appears in the page with its help text.
    let help = run(&["show", "--help"]);
    for option in [
        "--png",
        "--svg",
        "--code-only",
        "--watch",
        "--cells",
        "--animated",
        "--gif",
        "--frames-dir",
        "--fps",
        "--loops",
    ] {
        assert!(help.contains(option), "{option} in show --help");
        assert!(
            man.contains(&option.replace('-', "\\-")),
            "{option} in the man page"
        );
    }
    for section in [
        "WALLET REFRESH",
        "WALLET SHOW",
        "WALLET PORTRAIT SET",
        "WALLET COMPLETIONS",
    ] {
        assert!(man.contains(section), "{section}");
    }
    assert!(man.contains("\\-\\-ca\\-file") && man.contains("\\-\\-utc\\-offset"));
}
