//! Kill the `wallet` process while it writes (SIGKILL at random moments, in a
//! loop): the wallet opens afterwards with either the old or the new credential,
//! never a corrupt or empty one. Both writing commands are exercised: `enrol`, and
//! `refresh` against a small in-test HTTP server on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use credential::refresh::RefreshResponse;
use credential::Profile;
use vectorgen::fixture;
use wallet_core::Wallet;

mod common;
use common::device;

fn package(serial: u64) -> Vec<u8> {
    common::package_with(serial, |_| {})
}

const T0: u64 = fixture::T0;
const SERIAL_A: u64 = 100;
const SERIAL_B: u64 = 1100;

/// Answers every POST with `ok` and packages A and B in turn.
fn serve_packages() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let responses = [package(SERIAL_A), package(SERIAL_B)]
        .map(|p| RefreshResponse::Current { package: p }.encode());
    let turn = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            // Headers, then the body by Content-Length.
            let complete = loop {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break false,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
                if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break true;
                    }
                }
            };
            if !complete {
                continue;
            }
            let body = &responses[turn.fetch_add(1, Ordering::Relaxed) % 2];
            let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/cbor\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream
                .write_all(head.as_bytes())
                .and_then(|()| stream.write_all(body));
        }
    });
    format!("http://{address}")
}

fn wallet_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wallet"));
    command
        .arg("--dir")
        .arg(dir)
        .arg("--at")
        .arg(T0.to_string())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

fn serial_after_crash(dir: &Path) -> u64 {
    let wallet = Wallet::open_with_key(dir, Box::new(device()))
        .unwrap_or_else(|e| panic!("the wallet does not open after a kill: {e}"));
    let serial = wallet.package().expect("the credential vanished").serial;
    assert!(serial == SERIAL_A || serial == SERIAL_B, "serial {serial}");
    // And it still works.
    wallet.present(Profile::Rental, T0).unwrap();
    serial
}

#[test]
fn sigkill_while_writing_leaves_the_old_or_the_new_credential() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("wallet");
    std::fs::create_dir(&dir).unwrap();
    device()
        .save(&dir.join(wallet_core::wallet::KEY_FILE))
        .unwrap();
    let package_a = scratch.path().join("a.cbor");
    let package_b = scratch.path().join("b.cbor");
    std::fs::write(&package_a, package(SERIAL_A)).unwrap();
    std::fs::write(&package_b, package(SERIAL_B)).unwrap();
    let issuer = serve_packages();
    let enrol_a = ["enrol", "--package", package_a.to_str().unwrap()];
    let enrol_b = ["enrol", "--package", package_b.to_str().unwrap()];
    let refresh = ["refresh", "--issuer", issuer.as_str()];

    // A first, uninterrupted run of each, to learn how long one takes.
    let mut longest = Duration::ZERO;
    for args in [&enrol_a[..], &refresh[..]] {
        let started = Instant::now();
        let status = wallet_command(&dir, args).status().unwrap();
        assert!(status.success(), "{args:?}");
        longest = longest.max(started.elapsed());
    }
    serial_after_crash(&dir);

    // Kill at random moments within (and a little beyond) that duration.
    let mut seed = u64::from(std::process::id()) | 1;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let window_us = (longest.as_micros() as u64 * 5 / 4).max(1);
    let (mut killed_running, mut finished, mut seen) = (0, 0, [0usize; 2]);
    for round in 0..400 {
        if killed_running >= 40 && seen[0] > 0 && seen[1] > 0 {
            break;
        }
        let args: &[&str] = match round % 3 {
            0 => &enrol_a,
            1 => &enrol_b,
            _ => &refresh,
        };
        let mut child = wallet_command(&dir, args).spawn().unwrap();
        std::thread::sleep(Duration::from_micros(random() % window_us));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL on Unix
            killed_running += 1;
        } else {
            finished += 1;
        }
        child.wait().unwrap();
        let serial = serial_after_crash(&dir);
        seen[usize::from(serial == SERIAL_B)] += 1;
    }
    let temporaries = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    println!(
        "{killed_running} processes killed while running ({temporaries} of them mid-write, leaving a temporary file), {finished} finished first; serials seen A {} B {}",
        seen[0], seen[1]
    );
    assert!(
        killed_running >= 20,
        "only {killed_running} kills landed while the process ran"
    );
    // Left-over temporary files are not the wallet file and do not disturb it.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n == "device.key" || n == "wallet.cbor" || n.ends_with(".tmp")),
        "{names:?}"
    );
}
