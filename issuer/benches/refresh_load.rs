//! Refresh requests per second served by a real `issuer serve` on loopback, with the
//! same run's raw Ed25519 signing and verification rates for comparison, and the
//! wallet's `present()` time (what a phone spends on each new QR code).
//! `cargo bench -p issuer --bench refresh_load`.
//!
//! Setup with the real binary: an authority, holders enrolled from CSV with device
//! keys and retained portraits, `issue --all`. Then client threads send
//! pre-signed requests (so the clients' signing does not compete with the server
//! for the two cores during the measurement), one connection per request, for a
//! bounded time and count. Every answer must be `200 ok`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use credential::ed25519_dalek::{Signer, SigningKey, Verifier};
use credential::refresh::{RefreshRequest, RefreshResponse};
use credential::Profile;
use wallet_core::{HttpClient, SoftwareDeviceKey, Wallet};

const HOLDERS: usize = 64;
const CLIENTS: usize = 4;
const REQUESTS_PER_CLIENT: usize = 6000;
const LOAD_TIME: Duration = Duration::from_secs(6);

fn device_seed(i: usize) -> [u8; 32] {
    credential::signature::sha256(format!("bench device {i}").as_bytes())
}

fn issuer(registry: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_issuer"));
    command
        .arg("--registry")
        .arg(registry)
        .args(args)
        .env("ISSUER_PASSPHRASE", "bench passphrase")
        .env("ISSUER_INSECURE_FAST_KDF", "1");
    command
}

fn run(registry: &std::path::Path, args: &[&str]) {
    let out = issuer(registry, args).output().unwrap();
    assert!(
        out.status.success(),
        "issuer {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn rate(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let setup_at = (now - 3600).to_string();
    run(&registry, &["--at", &setup_at, "root", "init"]);
    run(
        &registry,
        &[
            "--at",
            &setup_at,
            "authority",
            "add",
            "--code",
            "川J",
            "--name",
            "四川省遂宁市公安局交通警察支队",
        ],
    );
    std::fs::write(
        dir.path().join("p.jpg"),
        issuer::portrait::synthetic_portrait(
            358,
            441,
            [255, 255, 255],
            issuer::portrait::ImageFormat::Jpeg,
        ),
    )
    .unwrap();
    let mut csv = String::from("licence_number,name,sex,nationality,birth_date,address,file_number,first_issue_date,classes,valid_from,valid_to,authority,device_key,portrait\n");
    for i in 0..HOLDERS {
        let device = SoftwareDeviceKey::from_seed(&device_seed(i));
        csv += &format!(
            "P{i:08},持证人{i},男,CHN,1985-01-01,四川省遂宁市船山区明月路{i}号,5109{i:08},2005-07-22,C1E,2020-07-22,2030-07-22,川J,{},p.jpg\n",
            hex::encode(wallet_core::DeviceKey::public_key(&device))
        );
    }
    let csv_path = dir.path().join("holders.csv");
    std::fs::write(&csv_path, csv).unwrap();
    run(
        &registry,
        &[
            "--at",
            &setup_at,
            "holder",
            "import",
            "--all-or-nothing",
            csv_path.to_str().unwrap(),
        ],
    );
    run(&registry, &["--at", &setup_at, "issue", "--all"]);

    let mut server = issuer(
        &registry,
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--refreshes-per-hour",
            "1000000000",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(std::fs::File::create(dir.path().join("serve.log")).unwrap())
    .spawn()
    .unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let address = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_owned();
    let base = format!("http://{address}");

    // Pre-signed requests, fresh for the service's 300 s window.
    let keys: Vec<SigningKey> = (0..HOLDERS)
        .map(|i| SigningKey::from_bytes(&device_seed(i)))
        .collect();
    let requested_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let batches: Vec<Vec<Vec<u8>>> = (0..CLIENTS)
        .map(|c| {
            (0..REQUESTS_PER_CLIENT)
                .map(|n| {
                    let key = &keys[(c + n * CLIENTS) % HOLDERS];
                    let mut nonce = [0u8; 16];
                    nonce[..8].copy_from_slice(&(c as u64).to_be_bytes());
                    nonce[8..].copy_from_slice(&(n as u64).to_be_bytes());
                    RefreshRequest {
                        device_key: key.verifying_key().to_bytes(),
                        requested_at,
                        nonce,
                        current: None,
                    }
                    .sign_with(|m| Ok::<_, ()>(credential::signature::sign(key, m)))
                    .unwrap()
                })
                .collect()
        })
        .collect();

    // Warm-up: one refresh per holder (also gives a package for the present() timing).
    let client = HttpClient::new(&base).unwrap();
    let mut first_package = None;
    for key in &keys {
        let request = RefreshRequest {
            device_key: key.verifying_key().to_bytes(),
            requested_at,
            nonce: [0xff; 16],
            current: None,
        }
        .sign_with(|m| Ok::<_, ()>(credential::signature::sign(key, m)))
        .unwrap();
        let response = client.post("application/cbor", &request).unwrap();
        assert_eq!(response.status, 200, "warm-up");
        if first_package.is_none() {
            first_package = RefreshResponse::decode(&response.body)
                .unwrap()
                .package()
                .map(<[u8]>::to_vec);
        }
    }

    // The load.
    let ok = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let threads: Vec<_> = batches
        .into_iter()
        .map(|batch| {
            let ok = Arc::clone(&ok);
            let client = HttpClient::new(&base).unwrap();
            std::thread::spawn(move || {
                for request in batch {
                    if started.elapsed() > LOAD_TIME {
                        break;
                    }
                    let response = client.post("application/cbor", &request).unwrap();
                    assert_eq!(
                        response.status,
                        200,
                        "{:?}",
                        RefreshResponse::decode(&response.body)
                    );
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let load_elapsed = started.elapsed();
    let refreshed = ok.load(Ordering::Relaxed);
    let _ = server.kill();
    let _ = server.wait();
    let log_lines = std::fs::read_to_string(dir.path().join("serve.log"))
        .unwrap()
        .lines()
        .count();

    // Raw Ed25519 in the same run, same machine state.
    let key = SigningKey::from_bytes(&[7; 32]);
    let message = [0x42u8; 200];
    let (mut signs, t) = (0u64, Instant::now());
    while t.elapsed() < Duration::from_secs(1) {
        std::hint::black_box(key.sign(std::hint::black_box(&message)));
        signs += 1;
    }
    let sign_rate = rate(signs, t.elapsed());
    let signature = key.sign(&message);
    let verifying = key.verifying_key();
    let (mut verifies, t) = (0u64, Instant::now());
    while t.elapsed() < Duration::from_secs(1) {
        assert!(verifying
            .verify(std::hint::black_box(&message), &signature)
            .is_ok());
        verifies += 1;
    }
    let verify_rate = rate(verifies, t.elapsed());

    // The phone's side: one new QR code (sign the holder proof, base45, QR encode).
    let wallet_dir = dir.path().join("wallet");
    std::fs::create_dir(&wallet_dir).unwrap();
    let mut wallet = Wallet::open_with_key(
        &wallet_dir,
        Box::new(SoftwareDeviceKey::from_seed(&device_seed(0))),
    )
    .unwrap();
    wallet.enrol(&first_package.unwrap(), now).unwrap();
    let mut present_times = Vec::new();
    for profile in [Profile::Full, Profile::Rental] {
        let (mut n, t) = (0u64, Instant::now());
        while t.elapsed() < Duration::from_millis(500) {
            std::hint::black_box(wallet.present(profile, now).unwrap());
            n += 1;
        }
        present_times.push((
            profile,
            t.elapsed() / n as u32,
            wallet.present(profile, now).unwrap().qr.version(),
        ));
    }

    let refresh_rate = rate(refreshed, load_elapsed);
    // Per refresh the service verifies one signature and signs four credentials.
    let crypto_floor = 1.0 / (4.0 / sign_rate + 1.0 / verify_rate);
    println!("refresh load: {refreshed} refreshes by {CLIENTS} clients in {load_elapsed:.2?} ({log_lines} log lines)");
    println!("| measured | rate | ratio |");
    println!("|---|---|---|");
    println!("| raw Ed25519 sign | {sign_rate:.0} /s | baseline |");
    println!(
        "| raw Ed25519 verify | {verify_rate:.0} /s | {:.2}× the sign cost |",
        sign_rate / verify_rate
    );
    println!("| crypto floor of one refresh (1 verify + 4 signs) | {crypto_floor:.0} /s | {:.1}× the sign cost |", sign_rate / crypto_floor);
    println!("| `issuer serve` refresh, HTTP on loopback, end to end | {refresh_rate:.0} /s | {:.1}× the sign cost |", sign_rate / refresh_rate);
    for (profile, per_call, version) in present_times {
        println!("| wallet `present({profile})` (holder proof + QR v{version}) | {:.0} /s ({per_call:.2?} each) | {:.1}× the sign cost |", 1.0 / per_call.as_secs_f64(), sign_rate * per_call.as_secs_f64());
    }
}
