//! The portrait through the code, end to end with the real binaries (issue 12):
//! the issuer enrols two holders with photos, approves them and issues; each
//! wallet enrols and writes its animated loop (`wallet show --animated
//! --frames-dir`); the loop is filmed as a phone held by hand (`qr_corpus::video`,
//! a quarter of the loop frames blurred or glared out) into a Y4M video; `verifier
//! scan video.y4m --portrait-out` gives the verdict and writes the portrait, which
//! must be exactly the issuer's bytes. A video in which a second phone's loop is
//! mixed in yields the portrait of the holder whose verdict it reports, never the
//! other's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use e2e::binary;
use qr_corpus::video::{read_frames_dir, LoopScreens, PhoneVideo, VideoOptions};

// The issuer's own command lines for setting an office up.
#[path = "../../issuer/tests/common/office_commands.rs"]
mod office_commands;
use office_commands::{add_holder, ADD_AUTHORITY};

/// 2026-06-01 08:00 UTC: every binary acts at this time.
const T: u64 = 1_780_279_200;

fn run(command: &mut Command) -> Output {
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{command:?}: {stderr}");
    out
}

fn ok(command: &mut Command) -> String {
    let out = run(command);
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct Office {
    dir: PathBuf,
}

impl Office {
    fn issuer(&self) -> Command {
        let mut c = Command::new(binary("issuer"));
        c.env("ISSUER_REGISTRY", self.dir.join("office"))
            .env("ISSUER_PASSPHRASE", "a long passphrase")
            .env("ISSUER_OPERATOR", "clerk-wang")
            .env("ISSUER_INSECURE_FAST_KDF", "1")
            .arg("--at")
            .arg(T.to_string());
        c
    }
}

/// A holder: licence number, name, photo, wallet directory.
struct Holder {
    licence_number: &'static str,
    name: &'static str,
    birth_date: &'static str,
    photo_size: (u32, u32),
}

const A: Holder = Holder {
    licence_number: "510903198803140029",
    name: "欧阳婷婷",
    birth_date: "1988-03-14",
    photo_size: (358, 441),
};
const B: Holder = Holder {
    licence_number: "510903199005120028",
    name: "李建国",
    birth_date: "1990-05-12",
    photo_size: (330, 430),
};

fn wallet(dir: &Path) -> Command {
    let mut c = Command::new(binary("wallet"));
    c.arg("--dir").arg(dir).arg("--at").arg(T.to_string());
    c
}

/// Enrols `holder` at the office with a camera photo (reviewed and approved),
/// issues to a new wallet, and returns the wallet's directory and the portrait
/// bytes its credential signs (the issuer's).
fn enrol(office: &Office, holder: &Holder) -> (PathBuf, Vec<u8>) {
    let work = office.dir.join(holder.licence_number);
    std::fs::create_dir_all(&work).unwrap();
    let add = add_holder(holder.licence_number, holder.name, holder.birth_date);
    ok(office.issuer().args(add).args(["--channel", "counter"]));
    let photo = issuer::portrait::synthetic_portrait_taken_at(
        holder.photo_size.0,
        holder.photo_size.1,
        [255, 255, 255],
        issuer::portrait::ImageFormat::Jpeg,
        T - 86_400,
    );
    let photo_file = work.join("photo.jpg");
    std::fs::write(&photo_file, &photo).unwrap();
    ok(office
        .issuer()
        .args(["portrait", "add", "--holder", holder.licence_number])
        .args(["--source", "camera"])
        .arg(&photo_file));
    ok(office
        .issuer()
        .args(["review", "approve", "--holder", holder.licence_number]));
    let wallet_dir = work.join("wallet");
    ok(wallet(&wallet_dir).arg("init"));
    let public_key = ok(wallet(&wallet_dir).arg("public-key"));
    let package = work.join("package.cbor");
    ok(office
        .issuer()
        .args(["issue", "--holder", holder.licence_number, "--device-key"])
        .arg(public_key.trim())
        .arg("--out")
        .arg(&package));
    ok(wallet(&wallet_dir)
        .args(["enrol", "--package"])
        .arg(&package));
    let status: serde_json::Value =
        serde_json::from_str(&ok(wallet(&wallet_dir).args(["--json", "status"]))).unwrap();
    let portrait = if status["portrait_bytes"].is_null() {
        // The package does not carry the portrait (yet): the credential signs the
        // approved photo, which the holder stores in the wallet.
        ok(wallet(&wallet_dir)
            .args(["portrait", "set"])
            .arg(&photo_file));
        photo
    } else {
        // The package carries the issuer's own portrait, made from the photo.
        issuer::portrait_code::make_portrait(&photo, &issuer::portrait_code::STANDARD).unwrap()
    };
    (wallet_dir, portrait)
}

/// The loop's PNG frames as `wallet show --animated --frames-dir` writes them.
fn loop_frames(wallet_dir: &Path, into: &Path) -> Vec<image::RgbImage> {
    let out = ok(wallet(wallet_dir)
        .args(["--json", "show", "--profile", "rental", "--animated"])
        .arg("--frames-dir")
        .arg(into));
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    let frames = read_frames_dir(into).unwrap();
    assert_eq!(
        shown["animation"]["frames"].as_u64(),
        Some(frames.len() as u64)
    );
    frames
}

/// What a camera films in a few seconds: small frames at 15 fps keep the test short.
fn film(frames: &[image::RgbImage], seed: u64, seconds: f32, path: &Path) {
    let screens = LoopScreens::from_images(frames).unwrap();
    let options = VideoOptions {
        width: 320,
        height: 428,
        camera_fps: 15,
        frames: (seconds * 15.0) as usize,
        ..VideoOptions::default()
    };
    let video = PhoneVideo::new(&screens, options, seed).unwrap();
    let (lost, shown) = video.unreadable_slots();
    assert_eq!(lost, (shown as f32 * 0.25).round() as usize);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    video.write_y4m(&mut out).unwrap();
    std::io::Write::flush(&mut out).unwrap();
}

fn scan(store: &Path, video: &Path, portrait_out: &Path) -> (Option<i32>, serde_json::Value) {
    let out = run(Command::new(binary("verifier"))
        .arg("--store")
        .arg(store)
        .args(["scan", "--json", "--at", &T.to_string(), "--portrait-out"])
        .arg(portrait_out)
        .arg(video));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let json = serde_json::from_str(stdout.lines().next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), json)
}

/// Whether a PNG frame of a loop is its presentation (`DL1:`), read back with the scanner.
fn is_presentation(frame: &image::RgbImage) -> bool {
    let mut png = std::io::Cursor::new(Vec::new());
    frame.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let scan =
        verifier::scan::scan_bytes(png.get_ref(), &verifier::scan::Limits::default()).unwrap();
    scan.codes[0].text.starts_with("DL1:")
}

#[test]
fn a_filmed_loop_gives_the_verdict_and_exactly_the_issuers_portrait() {
    let scratch = tempfile::tempdir().unwrap();
    let office = Office {
        dir: scratch.path().to_owned(),
    };
    ok(office.issuer().args(["root", "init"]));
    ok(office.issuer().args(ADD_AUTHORITY));
    let (wallet_a, portrait_a) = enrol(&office, &A);
    let (wallet_b, portrait_b) = enrol(&office, &B);
    assert_ne!(portrait_a, portrait_b);
    let published = scratch.path().join("published");
    ok(office.issuer().args(["publish", "--out"]).arg(&published));
    let store = scratch.path().join("store");
    let verifier = || {
        let mut c = Command::new(binary("verifier"));
        c.arg("--store").arg(&store);
        c
    };
    ok(verifier()
        .args(["init", "--root"])
        .arg(published.join("root.pub")));
    ok(verifier()
        .args(["trust", "import"])
        .arg(published.join("trust-bundle.cbor")));
    for entry in std::fs::read_dir(&published).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("status-") {
            ok(verifier().args(["status", "import"]).arg(&path));
        }
    }

    let frames_a = loop_frames(&wallet_a, &scratch.path().join("frames-a"));
    let frames_b = loop_frames(&wallet_b, &scratch.path().join("frames-b"));

    // One phone, filmed by hand.
    let video = scratch.path().join("video.y4m");
    film(&frames_a, 12, 3.0, &video);
    let written = scratch.path().join("p.jpg");
    let (code, json) = scan(&store, &video, &written);
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["verdict"], "valid", "{json}");
    assert_eq!(json["portrait"]["state"], "matched", "{json}");
    assert!(json["fields"].to_string().contains(A.name), "{json}");
    assert_eq!(std::fs::read(&written).unwrap(), portrait_a);
    assert!(
        json["frames"]["read"].as_u64().unwrap() < 45,
        "stops once the portrait matched: {json}"
    );

    // A second phone's loop in view: its presentation and portrait frames come
    // between the first phone's. Whichever presentation is collected, the portrait
    // written is that holder's, and the other loop's frames are refused.
    let presentation_b = frames_b
        .iter()
        .position(is_presentation)
        .expect("a presentation in the loop");
    let mut mixed = Vec::new();
    for (i, frame) in frames_a.iter().enumerate() {
        mixed.push(frame.clone());
        if let Some(other) = frames_b.get(i).filter(|_| i != presentation_b) {
            mixed.push(other.clone());
        }
        if i == frames_a.len() / 2 {
            mixed.push(frames_b[presentation_b].clone());
        }
    }
    let video = scratch.path().join("mixed.y4m");
    film(&mixed, 5, 5.5, &video);
    let written = scratch.path().join("mixed.jpg");
    let (code, json) = scan(&store, &video, &written);
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["verdict"], "valid", "{json}");
    assert_eq!(json["portrait"]["state"], "matched", "{json}");
    let fields = json["fields"].to_string();
    let expected = if fields.contains(A.name) {
        &portrait_a
    } else {
        assert!(fields.contains(B.name), "{json}");
        &portrait_b
    };
    assert_eq!(&std::fs::read(&written).unwrap(), expected);
    let refused = &json["frames"]["rejected_by_code"];
    assert!(
        refused["portrait_frame_other_loop"].as_u64().unwrap_or(0) > 0,
        "the other loop's portrait frames are refused: {json}"
    );
}
