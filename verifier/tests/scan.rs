//! `verifier scan` driven like a user would: images of real presentations (drawn by
//! `tools/qr-corpus`) through the binary to a verdict, and hostile files (empty,
//! random, a 200-megapixel header, a truncated JPEG, a PNG bomb) to a clear
//! refusal within bounded time, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use credential::Profile;
use qr_corpus::{render_screen, side_by_side, ScreenStyle};
use vectorgen::fixture;

/// Runs the verifier and checks what every scan must satisfy: no panic, no abort.
fn verifier(store: &Path, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_verifier"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env("LANG", "en_US.UTF-8")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(
        output.status.code().is_some(),
        "{args:?}: killed by a signal (abort?)"
    );
    output
}

mod common;
use common::json_lines;

/// A store with the vectors' root key, trust bundle and status list (as in cli.rs).
fn store(dir: &Path) {
    let root = hex::encode(fixture::root_key().verifying_key().as_bytes());
    assert!(verifier(dir, &["init", "--root", &root]).status.success());
    let bundle = dir.join("bundle.cbor");
    std::fs::write(&bundle, fixture::trust_bundle_bytes()).unwrap();
    assert!(
        verifier(dir, &["trust", "import", bundle.to_str().unwrap()])
            .status
            .success()
    );
    let list = dir.join("status.cbor");
    std::fs::write(&list, fixture::status_list_bytes()).unwrap();
    assert!(verifier(dir, &["status", "import", list.to_str().unwrap()])
        .status
        .success());
}

/// The wallet's screen showing `profile`'s presentation, small enough for a debug build.
fn screen(profile: Profile, dark: bool) -> qr_corpus::Canvas {
    render_screen(&fixture::qr_text(profile), ScreenStyle { width: 540, dark }).canvas
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_owned()
}

fn at(offset: u64) -> String {
    (fixture::T0 + offset).to_string()
}

#[test]
fn a_screenshot_of_a_fresh_presentation_is_valid_and_goes_stale() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let png = write(
        dir.path(),
        "wallet.png",
        &qr_corpus::png(&screen(Profile::Full, false)),
    );
    let out = verifier(dir.path(), &["scan", "--json", "--at", &at(0), &png]);
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["verdict"], "valid");
    assert_eq!(lines[0]["profile"], "full");
    assert_eq!(lines[0]["file"], png);
    assert_eq!(lines[0]["index"], 0);
    assert_eq!(lines[0]["decoder"], "rxing/hybrid");

    let out = verifier(dir.path(), &["scan", "--json", "--at", &at(600), &png]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_lines(&out)[0]["reason"], "stale_presentation");

    // The human form is check's, under the image name.
    let out = verifier(dir.path(), &["scan", "--at", &at(0), &png]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with(&format!("{png} · code 1 of 1\n✔ VALID")),
        "{stdout}"
    );
}

#[test]
fn two_codes_in_one_image_give_two_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let both = side_by_side(&[screen(Profile::Full, false), screen(Profile::Rental, false)]);
    let png = write(dir.path(), "two.png", &qr_corpus::png(&both));
    let out = verifier(dir.path(), &["scan", "--json", "--at", &at(0), &png]);
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out);
    let profiles: Vec<&str> = lines
        .iter()
        .map(|l| l["profile"].as_str().unwrap())
        .collect();
    assert_eq!(profiles, ["full", "rental"], "left to right");
    assert!(lines.iter().all(|l| l["verdict"] == "valid"));
    assert_eq!(lines[1]["index"], 1);
}

#[test]
fn a_dark_mode_screen_is_read() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let png = write(
        dir.path(),
        "dark.png",
        &qr_corpus::png(&screen(Profile::Insurance, true)),
    );
    let out = verifier(dir.path(), &["scan", "--json", "--at", &at(0), &png]);
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["verdict"], "valid");
    assert_eq!(lines[0]["decoder"], "rxing/inverted");
}

#[test]
fn a_tilted_jpeg_photo_is_read() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let sample = qr_corpus::generate(qr_corpus::Category::Perspective, 0, 1);
    let jpg = write(dir.path(), "photo.jpg", &sample.bytes);
    let out = verifier(dir.path(), &["scan", "--raw", &jpg]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{}\n", sample.texts[0])
    );
}

#[test]
fn raw_prints_the_exact_text_without_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let text = fixture::qr_text(Profile::Employment);
    let png = write(
        dir.path(),
        "wallet.png",
        &qr_corpus::png(&screen(Profile::Employment, false)),
    );
    let out = verifier(dir.path(), &["scan", "--raw", &png]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{text}\n"));

    let out = verifier(dir.path(), &["scan", "--raw", "--json", &png, &png]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["text"], text);
    assert_eq!(lines[0]["position"].as_array().unwrap().len(), 4);
    // Without --raw the store is needed, as for `check`.
    let out = verifier(dir.path(), &["scan", &png]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("verifier init"));
}

#[test]
fn an_image_without_a_code_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let blank = qr_corpus::Canvas::new(300, 200, [240.0; 3]);
    let png = write(dir.path(), "blank.png", &qr_corpus::png(&blank));
    let out = verifier(dir.path(), &["scan", "--json", &png]);
    assert_eq!(out.status.code(), Some(1));
    let line = &json_lines(&out)[0];
    assert_eq!(line["verdict"], "rejected");
    assert_eq!(line["reason"], "no_qr_code");
    let out = verifier(dir.path(), &["scan", "--raw", &png]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}

/// CRC-32 (IEEE), for hand-made PNG chunks.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG with the given header and IDAT payload.
fn png_file(width: u32, height: u32, bit_depth: u8, idat: &[u8]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[bit_depth, 0, 0, 0, 0]); // greyscale, deflate, no filter, no interlace
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", idat);
    chunk(b"IEND", b"");
    out
}

/// A zlib stream of `rows` rows of `row_bytes` zero bytes (filter type 0): a
/// single-colour image, compressed about 1000:1.
fn zero_rows(rows: usize, row_bytes: usize) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let row = vec![0u8; row_bytes + 1];
    for _ in 0..rows {
        z.write_all(&row).unwrap();
    }
    z.finish().unwrap()
}

#[test]
fn hostile_files_are_refused_quickly_without_panic() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let mut random = Vec::with_capacity(10 << 20);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    while random.len() < 10 << 20 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        random.extend_from_slice(&seed.to_le_bytes());
    }
    let jpeg = qr_corpus::jpeg(&screen(Profile::Full, false), 90);
    let mut random_png = b"\x89PNG\r\n\x1a\n".to_vec();
    random_png.extend_from_slice(&random[..1 << 20]);
    let mut random_jpeg = vec![0xff, 0xd8, 0xff, 0xe0];
    random_jpeg.extend_from_slice(&random[..1 << 20]);
    // 20000 × 20000 at 1 bit per pixel: ~50 KB on disk, 400 megapixels decoded.
    let bomb = png_file(20_000, 20_000, 1, &zero_rows(20_000, 2_500));
    // Under the pixel limit but large: must decode and scan in bounded time.
    let big_blank = png_file(3_000, 3_000, 8, &zero_rows(3_000, 3_000));
    // Tiled with 62,500 tiny finder patterns: rxing's own search is quadratic in them.
    let tiles = image::GrayImage::from_fn(2_000, 2_000, |x, y| {
        let (dx, dy) = ((x % 8) as i32 - 3, (y % 8) as i32 - 3);
        let ring = dx.abs().max(dy.abs());
        image::Luma([if ring == 2 || ring > 3 { 255 } else { 0 }])
    });
    let mut finder_tiles = std::io::Cursor::new(Vec::new());
    tiles
        .write_to(&mut finder_tiles, image::ImageFormat::Png)
        .unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.png", Vec::new(), "not_an_image"),
        ("random.jpg", random.clone(), "not_an_image"),
        (
            "200-megapixels.png",
            png_file(20_000, 10_000, 8, &[]),
            "image_too_many_pixels",
        ),
        ("bomb.png", bomb, "image_too_many_pixels"),
        (
            "truncated.jpg",
            jpeg[..jpeg.len() / 3].to_vec(),
            "image_undecodable|no_qr_code",
        ),
        (
            "random-after-png-signature.png",
            random_png,
            "image_undecodable",
        ),
        (
            "random-after-jpeg-marker.jpg",
            random_jpeg,
            "image_undecodable|no_qr_code",
        ),
        ("big-blank.png", big_blank, "no_qr_code"),
        ("finder-tiles.png", finder_tiles.into_inner(), "no_qr_code"),
    ];
    for (name, bytes, expected) in cases {
        let path = write(dir.path(), name, &bytes);
        let started = Instant::now();
        let out = verifier(dir.path(), &["scan", "--json", &path]);
        let took = started.elapsed();
        let line = &json_lines(&out)[0];
        let reason = line["reason"].as_str().unwrap();
        assert!(
            expected.split('|').any(|e| e == reason),
            "{name}: expected {expected}, got {line}"
        );
        assert_eq!(out.status.code(), Some(1), "{name}: {line}");
        assert_eq!(line["verdict"], "rejected");
        assert!(line["message"].as_str().is_some_and(|m| !m.is_empty()));
        println!("{name}: {reason} in {took:?}");
        assert!(took < Duration::from_secs(10), "{name} took {took:?}");
    }

    // Over the file-size bound: refused without reading it (a sparse file costs no disk).
    let huge = dir.path().join("huge.jpg");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(60 << 20)
        .unwrap();
    let out = verifier(dir.path(), &["scan", "--json", huge.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_lines(&out)[0]["reason"], "image_file_too_large");

    // Unreadable: I/O error, exit 2; the other files are still reported.
    let missing = dir.path().join("missing.png");
    let empty = dir.path().join("empty.png");
    let out = verifier(
        dir.path(),
        &[
            "scan",
            "--json",
            missing.to_str().unwrap(),
            empty.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let reasons: Vec<_> = json_lines(&out)
        .iter()
        .map(|l| l["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(reasons, ["io_error", "not_an_image"]);
    let out = verifier(dir.path(), &["scan", dir.path().to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a directory is not an image file"
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = verifier(dir.path(), &["scan", "--raw"]);
    assert_eq!(out.status.code(), Some(2), "no image given");
}
