//! The animated code end to end on the wallet side (spec §17): the issuer-made
//! portrait (issuer::portrait_code) is stored with `wallet portrait set` (refused
//! if it is not the signed one), `wallet show --animated` writes the loop as PNG
//! frames and a GIF, the verifier's scanner reads the frames back, and with a
//! quarter of them lost and the rest in another order the presentation verifies
//! and the portrait collector rebuilds exactly the signed portrait.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use credential::portrait_frame::{CollectorLimits, PortraitCollector, Progress};
use credential::{Policy, StatusLists};
use vectorgen::fixture;
use wallet_core::Wallet;

mod common;
use common::{device, package_with};

const T0: u64 = fixture::T0;

/// A wallet directory the binary opens, enrolled with a credential signing `portrait`.
fn enrol_signing(dir: &Path, portrait: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    device()
        .save(&dir.join(wallet_core::wallet::KEY_FILE))
        .unwrap();
    let signing = package_with(fixture::SERIAL, |l| {
        l.portrait_digest = credential::licence::portrait_digest(portrait)
    });
    Wallet::open(dir).unwrap().enrol(&signing, T0 - 60).unwrap();
}

fn wallet(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wallet"))
        .arg("--dir")
        .arg(dir)
        .arg("--at")
        .arg(T0.to_string())
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn the_animated_loop_carries_the_signed_portrait_to_the_verifier() {
    let scratch = tempfile::tempdir().unwrap();
    let photo = issuer::portrait::synthetic_portrait(
        358,
        441,
        [255, 255, 255],
        issuer::portrait::ImageFormat::Jpeg,
    );
    let portrait =
        issuer::portrait_code::make_portrait(&photo, &issuer::portrait_code::STANDARD).unwrap();
    let dir = scratch.path().join("wallet");
    enrol_signing(&dir, &portrait);

    // No portrait yet: the animated code says what to do.
    let out = wallet(&dir, &["--json", "show", "--animated", "--gif", "x.gif"]);
    assert_eq!(
        (out.status.code(), json(&out)["error"].as_str()),
        (Some(1), Some("no_portrait"))
    );
    // Another file than the signed portrait is refused and not stored.
    let wrong = scratch.path().join("wrong.jpg");
    std::fs::write(&wrong, &photo).unwrap();
    let out = wallet(
        &dir,
        &["--json", "portrait", "set", wrong.to_str().unwrap()],
    );
    assert_eq!(
        (out.status.code(), json(&out)["error"].as_str()),
        (Some(1), Some("portrait_mismatch"))
    );
    let file = scratch.path().join("portrait.jpg");
    std::fs::write(&file, &portrait).unwrap();
    let out = wallet(&dir, &["--json", "portrait", "set", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let frames_dir = scratch.path().join("frames");
    let gif = scratch.path().join("loop.gif");
    let out = wallet(
        &dir,
        &[
            "--json",
            "show",
            "--profile",
            "rental",
            "--animated",
            "--scale",
            "3",
            "--frames-dir",
            frames_dir.to_str().unwrap(),
            "--gif",
            gif.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = json(&out);
    let animation = &shown["animation"];
    let frames = animation["frames"].as_u64().unwrap() as usize;
    // Portrait frames may use the version floor when the presentation's is smaller
    // (spec §17.4), never more.
    let allowed = shown["qr_version"]
        .as_i64()
        .unwrap()
        .max(i64::from(wallet_core::animated::PORTRAIT_MIN_VERSION));
    assert!(
        animation["max_qr_version"].as_i64().unwrap() <= allowed,
        "no frame needs a larger QR code than max(presentation, floor) = {allowed}: {shown}"
    );

    // The GIF has every frame at 8 fps (13 hundredths of a second each).
    let mut decoder = gif::DecodeOptions::new()
        .read_info(std::fs::File::open(&gif).unwrap())
        .unwrap();
    let mut gif_frames = 0;
    while let Some(frame) = decoder.read_next_frame().unwrap() {
        assert_eq!(frame.delay, 13);
        gif_frames += 1;
    }
    assert_eq!(gif_frames, frames);

    // Read the PNG frames back with the verifier's scanner, lose every 4th
    // portrait frame and take the rest backwards.
    let texts: Vec<String> = (0..frames)
        .map(|i| {
            let png = std::fs::read(frames_dir.join(format!("frame-{i:03}.png"))).unwrap();
            let scan =
                verifier::scan::scan_bytes(&png, &verifier::scan::Limits::default()).unwrap();
            assert_eq!(scan.codes.len(), 1, "frame {i}");
            scan.codes[0].text.clone()
        })
        .collect();
    assert!(std::fs::read_to_string(frames_dir.join("frame-000.svg"))
        .unwrap()
        .contains("<path"));
    let presentation = texts.iter().find(|t| t.starts_with("DL1:")).unwrap();
    let mut lists = StatusLists::default();
    lists.insert(fixture::status_list());
    let verified = credential::verify(
        presentation,
        &fixture::trust_bundle(),
        &lists,
        T0,
        &Policy::default(),
    )
    .outcome
    .unwrap();
    let digest = verified.licence.portrait_digest.unwrap();
    let mut collector = PortraitCollector::new(digest, CollectorLimits::default());
    let mut portrait_frames = 0;
    let mut complete = false;
    for text in texts.iter().rev().filter(|t| t.starts_with("DL1P:")) {
        portrait_frames += 1;
        if portrait_frames % 4 == 0 {
            continue;
        }
        if collector.push_text(text).unwrap() == Progress::Complete {
            complete = true;
            break;
        }
    }
    assert!(
        complete,
        "{} symbols of {portrait_frames} frames",
        collector.symbols()
    );
    assert_eq!(collector.portrait().unwrap(), portrait.as_slice());
}

#[test]
fn many_writers_and_readers_of_the_portrait_see_none_or_all_of_it() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("wallet");
    let portrait: Vec<u8> = (0..1_900u32).map(|i| (i * 7 % 256) as u8).collect();
    enrol_signing(&dir, &portrait);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let wallet = Wallet::open(&dir).unwrap();
                for _ in 0..20 {
                    wallet.set_portrait(&portrait).unwrap();
                }
            });
            scope.spawn(|| {
                let wallet = Wallet::open(&dir).unwrap();
                for _ in 0..50 {
                    if let Some(read) = wallet.portrait().unwrap() {
                        assert_eq!(read, portrait, "a torn portrait file");
                    }
                }
            });
        }
    });
    assert_eq!(
        Wallet::open(&dir).unwrap().portrait().unwrap().unwrap(),
        portrait
    );
    // No temporary files are left beside it.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
}
