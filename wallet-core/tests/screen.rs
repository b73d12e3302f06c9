//! The wallet screen (issue #12): the code's colour follows the licence status, a
//! red code is read by the verifier's scanner as well as a black one (the
//! wallet's own PNG screen, and photo-like samples from tools/qr-corpus), the
//! full profile's terminal screen fits 80 × 24, and the `wallet show` binary
//! reports the colour, local times with their offset and the countdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use credential::licence::StatusSet;
use credential::Profile;
use vectorgen::fixture;
use wallet_core::screen::text_columns;
use wallet_core::{CodeColour, CredentialStatus, TerminalCells, Wallet};

mod common;
use common::{device, package_with};

const T0: u64 = fixture::T0;

/// A wallet directory the `wallet` binary can open (fixture device key on disk).
fn wallet_dir(dir: &Path, edit: impl Fn(&mut credential::Licence)) -> Wallet {
    std::fs::create_dir_all(dir).unwrap();
    device()
        .save(&dir.join(wallet_core::wallet::KEY_FILE))
        .unwrap();
    let mut wallet = Wallet::open(dir).unwrap();
    wallet
        .enrol(&package_with(fixture::SERIAL, edit), T0 - 60)
        .unwrap();
    wallet
}

/// A change to the fixture licence.
type Edit = Box<dyn Fn(&mut credential::Licence)>;

fn strip_ansi(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn the_code_is_black_when_normal_and_red_otherwise() {
    let scratch = tempfile::tempdir().unwrap();
    let cases: [(&str, Edit, CodeColour, &str); 5] = [
        ("normal", Box::new(|_| {}), CodeColour::Black, "正常"),
        (
            "points",
            Box::new(|l| {
                l.points = 12;
                l.status = StatusSet::parse("B").unwrap();
            }),
            CodeColour::Red,
            "超分",
        ),
        (
            "seized",
            Box::new(|l| l.status = StatusSet::parse("D").unwrap()),
            CodeColour::Red,
            "暂扣",
        ),
        (
            "overdue",
            Box::new(|l| l.status = StatusSet::parse("S").unwrap()),
            CodeColour::Red,
            "逾期未审验",
        ),
        (
            "expired",
            Box::new(|l| {
                l.validity.to = Some(credential::date::Date::at(T0 - 86_400 * 2, 8 * 3600));
            }),
            CodeColour::Red,
            "已过有效期",
        ),
    ];
    for (name, edit, colour, label) in cases {
        let wallet = wallet_dir(&scratch.path().join(name), edit);
        let screen = wallet.screen(Profile::Full, T0).unwrap();
        assert_eq!(screen.at_a_glance.colour, colour, "{name}");
        assert!(
            screen.lines().iter().any(|l| l.contains(label)),
            "{name}: {:?}",
            screen.lines()
        );
        let ink = colour.rgb();
        let escape = format!("\x1b[38;2;{};{};{};", ink[0], ink[1], ink[2]);
        assert!(
            screen.to_terminal(TerminalCells::Octant).contains(&escape),
            "{name}"
        );
        // The PNG screen has the status colour in its code and no other code colour.
        let png = wallet_core::screen_image::screen_png(&screen, None).unwrap();
        let rgb = image::load_from_memory(&png).unwrap().to_rgb8();
        let count = |c: [u8; 3]| rgb.pixels().filter(|p| p.0 == c).count();
        let other = if colour == CodeColour::Red {
            CodeColour::Black
        } else {
            CodeColour::Red
        };
        assert!(count(ink) > 10_000, "{name}: code pixels");
        assert_eq!(count(other.rgb()), 0, "{name}: no {} pixels", other.name());
        let svg = wallet_core::screen_image::screen_svg(&screen, None);
        assert!(
            svg.contains(&format!("data-colour=\"{}\"", colour.name())),
            "{name}"
        );
    }
    // A credential the issuer suspended is red even before its record says why.
    let wallet = wallet_dir(&scratch.path().join("suspended"), |_| {});
    let mut wallet = wallet;
    let suspended = credential::refresh::RefreshResponse::Suspended {
        package: package_with(fixture::SERIAL, |_| {}),
    };
    wallet.apply(suspended, T0).unwrap();
    assert_eq!(
        wallet.credential_status(),
        Some(CredentialStatus::Suspended)
    );
    assert_eq!(
        wallet
            .screen(Profile::Rental, T0)
            .unwrap()
            .at_a_glance
            .colour,
        CodeColour::Red
    );
}

fn scan(bytes: &[u8]) -> Vec<String> {
    verifier::scan::scan_bytes(bytes, &verifier::scan::Limits::default())
        .map(|s| s.codes.into_iter().map(|c| c.text).collect())
        .unwrap_or_default()
}

#[test]
fn the_verifier_reads_a_red_code_as_well_as_a_black_one() {
    // 1. The wallet's own PNG screens, black and red, each read back exactly.
    let scratch = tempfile::tempdir().unwrap();
    for (name, status) in [("black", "A"), ("red", "D")] {
        let wallet = wallet_dir(&scratch.path().join(name), |l| {
            l.status = StatusSet::parse(status).unwrap()
        });
        for profile in [Profile::Full, Profile::Rental] {
            let screen = wallet.screen(profile, T0).unwrap();
            let png = wallet_core::screen_image::screen_png(&screen, None).unwrap();
            assert_eq!(
                scan(&png),
                vec![screen.presented.text.clone()],
                "{name} {profile}"
            );
        }
    }
    // 2. Photos of a phone showing the code (tools/qr-corpus), a few hard ones here;
    //    `red_and_black_over_the_photo_corpus` (ignored, run by hand) does all categories.
    let (black, red) = corpus_reads(
        &[
            qr_corpus::Category::Perspective,
            qr_corpus::Category::LowContrast,
        ],
        1,
    );
    assert_eq!(black, 2, "the samples themselves should read");
    assert!(red >= black, "red read less often than black");
}

/// Photos with the same seeds, so the same phone, pose and camera, with the code
/// black or red: how many of each the verifier's scanner reads exactly.
fn corpus_reads(categories: &[qr_corpus::Category], per_category: u64) -> (usize, usize) {
    let red = CodeColour::Red.rgb().map(f32::from);
    let (mut black_read, mut red_read) = (0, 0);
    for &category in categories {
        let (mut b_n, mut r_n) = (0, 0);
        for index in 0..per_category {
            let black = qr_corpus::generate_in(category, index, 7, None);
            let reddened = qr_corpus::generate_in(category, index, 7, Some(red));
            assert_eq!(black.texts, reddened.texts);
            b_n += usize::from(scan(&black.bytes) == black.texts);
            r_n += usize::from(scan(&reddened.bytes) == reddened.texts);
        }
        println!(
            "{:<14} black {b_n:>3}/{per_category}  red {r_n:>3}/{per_category}",
            category.name()
        );
        black_read += b_n;
        red_read += r_n;
    }
    println!("all            black {black_read:>3}  red {red_read:>3}");
    (black_read, red_read)
}

/// By hand: `cargo test --release -p wallet-core --test screen -- --ignored --nocapture`.
/// Last run: black 201, red 197 of 220; red falls behind in moiré only (11 vs 16 of
/// 20), so this fails until the red is darkened or the scanner's moiré pass improves.
#[test]
#[ignore = "minutes: the whole photo corpus in both colours"]
fn red_and_black_over_the_photo_corpus() {
    let light: Vec<_> = qr_corpus::Category::ALL
        .into_iter()
        .filter(|c| *c != qr_corpus::Category::DarkMode && *c != qr_corpus::Category::TwoCodes)
        .collect();
    let (black, red) = corpus_reads(&light, 20);
    assert!(red + 2 >= black, "red {red} vs black {black}");
}

#[test]
fn the_full_profiles_terminal_screen_fits_80_by_24() {
    let scratch = tempfile::tempdir().unwrap();
    // A national-scale serial (3-byte cti) and the fixture's long address: the
    // largest full presentation of spec §6.2 (QR version 15).
    std::fs::create_dir_all(scratch.path()).unwrap();
    let mut wallet = Wallet::open_with_key(scratch.path(), Box::new(device())).unwrap();
    wallet
        .enrol(&package_with(1_234_567, |_| {}), T0 - 60)
        .unwrap();
    let screen = wallet.screen(Profile::Full, T0).unwrap();
    assert!(
        screen.qr().version() >= 14,
        "version {}",
        screen.qr().version()
    );
    let terminal = screen.to_terminal(TerminalCells::Octant);
    let lines: Vec<String> = terminal.lines().map(strip_ansi).collect();
    assert!(lines.len() <= 24, "{} lines", lines.len());
    for line in &lines {
        assert!(
            text_columns(line) <= 80,
            "{} columns: {line}",
            text_columns(line)
        );
    }
    // The half-block drawing is still there for terminals without octants.
    let half = screen.qr().to_terminal_in([0; 3], TerminalCells::Half);
    assert_eq!(half.lines().count(), screen.qr().side_modules().div_ceil(2));
}

fn wallet_cli(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wallet"))
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn wallet_show_reports_colour_local_times_and_countdown() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("w");
    wallet_dir(&dir, |l| {
        l.points = 12;
        l.status = StatusSet::parse("B").unwrap();
    });
    let at = (T0 - 5).to_string();
    let out = wallet_cli(
        &dir,
        &[
            "--json",
            "--at",
            &at,
            "show",
            "--profile",
            "rental",
            "--qr-refresh",
            "20",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let screen = &json["screen"];
    assert_eq!(screen["colour"], "red");
    assert_eq!(screen["reasons"][0]["code"], "status_B");
    assert_eq!(screen["reasons"][0]["zh"], "超分");
    assert_eq!(screen["seconds_to_refresh"], 20);
    assert_eq!(screen["presented_at_local"], "2026-06-01 09:59:55 +08:00");
    let out = wallet_cli(
        &dir,
        &["--at", &at, "--utc-offset", "Z", "show", "--cells", "half"],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("2026-06-01 01:59:55 +00:00"), "{text}");
    assert!(text.contains("超分") && !text.contains("暂扣"), "{text}");
    assert!(text.contains("next code in 30 s"), "{text}");
    // PNG and SVG screens and the bare code.
    let png = dir.join("screen.png");
    let out = wallet_cli(&dir, &["--at", &at, "show", "--png", png.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    let code = dir.join("code.svg");
    wallet_cli(
        &dir,
        &[
            "--at",
            &at,
            "show",
            "--svg",
            code.to_str().unwrap(),
            "--code-only",
        ],
    );
    assert!(std::fs::read_to_string(&code)
        .unwrap()
        .contains("fill=\"#c8101e\""));
    // A bad offset is a usage error.
    let out = wallet_cli(&dir, &["--utc-offset", "8", "show"]);
    assert_eq!(out.status.code(), Some(2));
}
