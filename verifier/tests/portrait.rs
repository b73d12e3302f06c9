//! `verifier scan` of the animated code (spec §17.5) driven like a user would:
//! the wallet's loop (`wallet_core::animated`, the presentation plus portrait
//! frames) as several PNGs, an animated GIF, an APNG and a Y4M video, through the
//! real binary to a verdict with the verified portrait; two holders' loops mixed;
//! a tampered symbol; hostile videos and the frame bound.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Output;

use credential::Profile;
use vectorgen::fixture;
use wallet_core::animated::{self, AnimatedLoop, AnimationOptions, FrameKind};
use wallet_core::{Presented, Qr};

const T0: u64 = fixture::T0;
const SCALE: usize = 3;

mod common;
use common::json_lines;

fn verifier(store: &Path, args: &[&str]) -> Output {
    common::verifier(store, args, b"")
}

/// A store with the vectors' root key, trust bundle and status list.
fn store(dir: &Path) {
    let root = hex::encode(fixture::root_key().verifying_key().as_bytes());
    assert!(verifier(dir, &["init", "--root", &root]).status.success());
    for (args, bytes) in [
        (["trust", "import"], fixture::trust_bundle_bytes()),
        (["status", "import"], fixture::status_list_bytes()),
    ] {
        let file = dir.join(format!("{}.cbor", args[0]));
        std::fs::write(&file, bytes).unwrap();
        let out = verifier(dir, &[args[0], args[1], file.to_str().unwrap()]);
        assert!(out.status.success());
    }
}

/// A portrait-sized file (the verifier checks its digest, not its codec).
fn portrait(seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..1_900)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// The fixture holder's rental presentation (or another holder's: `serial`, name)
/// with a credential signing `portrait`, shown 10 s before T0.
fn presented(portrait: &[u8], serial: u64, name: &str) -> Presented {
    let mut licence = fixture::licence();
    licence.portrait_digest = credential::licence::portrait_digest(portrait);
    licence.name = name.into();
    let mut params = fixture::params();
    params.serial = serial;
    let profile = Profile::Rental;
    let credential = fixture::credential(&licence, profile, &params, &fixture::authority_key());
    let presentation = fixture::present(credential, profile, T0 - 10, &fixture::device_key());
    let text = credential::qr_text::to_qr_text(&presentation.encode());
    Presented {
        profile,
        presented_at: T0 - 10,
        refresh_at: T0 + 20,
        qr: Qr::encode(&text).unwrap(),
        text,
    }
}

fn holder_loop(portrait: &[u8], serial: u64, name: &str) -> AnimatedLoop {
    animated::build(
        &presented(portrait, serial, name),
        portrait,
        AnimationOptions::default(),
    )
    .unwrap()
}

/// Every frame of `frames` drawn at [`SCALE`] pixels per module, centred on one
/// white canvas of the largest frame's size: (side, greyscale pixels per frame).
fn canvases(frames: &[&Qr]) -> (usize, Vec<Vec<u8>>) {
    let side = frames.iter().map(|q| q.side_modules()).max().unwrap() * SCALE;
    let drawn = frames
        .iter()
        .map(|qr| {
            let quiet = (qr.side_modules() - qr.width()) / 2;
            let offset = (side - qr.side_modules() * SCALE) / 2 + quiet * SCALE;
            let mut pixels = vec![255u8; side * side];
            for y in 0..qr.width() * SCALE {
                for x in 0..qr.width() * SCALE {
                    if qr.is_dark(x / SCALE, y / SCALE) {
                        pixels[(offset + y) * side + offset + x] = 0;
                    }
                }
            }
            pixels
        })
        .collect();
    (side, drawn)
}

fn write_pngs(dir: &Path, frames: &[&Qr]) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    frames
        .iter()
        .enumerate()
        .map(|(i, qr)| {
            let path = dir.join(format!("frame-{i:03}.png"));
            std::fs::write(&path, qr.to_png(SCALE as u32).unwrap()).unwrap();
            path.to_str().unwrap().to_owned()
        })
        .collect()
}

fn apng(frames: &[&Qr]) -> Vec<u8> {
    let (side, drawn) = canvases(frames);
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, side as u32, side as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_animated(drawn.len() as u32, 0).unwrap();
    encoder.set_frame_delay(1, 8).unwrap();
    let mut writer = encoder.write_header().unwrap();
    for pixels in &drawn {
        writer.write_image_data(pixels).unwrap();
    }
    writer.finish().unwrap();
    bytes
}

/// A raw 4:2:0 video at 8 fps of `frames` (grey chroma).
fn y4m(frames: &[&Qr]) -> Vec<u8> {
    let (side, drawn) = canvases(frames);
    let mut bytes = format!("YUV4MPEG2 W{side} H{side} F8:1 Ip A1:1 C420jpeg\n").into_bytes();
    let chroma = side.div_ceil(2) * side.div_ceil(2) * 2;
    for pixels in &drawn {
        bytes.extend_from_slice(b"FRAME\n");
        bytes.extend_from_slice(pixels);
        bytes.extend(std::iter::repeat_n(128u8, chroma));
    }
    bytes
}

fn qrs(animation: &AnimatedLoop) -> Vec<&Qr> {
    animation.frames.iter().map(|f| &f.qr).collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_owned()
}

/// A store in a fresh directory, a portrait and the fixture holder's loop of it.
fn setup(seed: u32) -> (tempfile::TempDir, Vec<u8>, AnimatedLoop) {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let bytes = portrait(seed);
    let animation = holder_loop(&bytes, fixture::SERIAL, "欧阳婷婷");
    (dir, bytes, animation)
}

/// The human output of `scan` in `lang`.
fn scan_text(dir: &Path, lang: &str, inputs: &[String]) -> String {
    let at = T0.to_string();
    let mut args = vec!["--lang", lang, "scan", "--at", &at];
    args.extend(inputs.iter().map(String::as_str));
    String::from_utf8(verifier(dir, &args).stdout).unwrap()
}

/// `scan --json --portrait-out DIR/NAME INPUTS...`, and the portrait file's path.
fn scan_portrait(dir: &Path, name: impl AsRef<Path>, inputs: &[String]) -> (Output, PathBuf) {
    let file = dir.join(name);
    let out = scan(dir, &["--portrait-out", file.to_str().unwrap()], inputs);
    (out, file)
}

fn scan(dir: &Path, extra: &[&str], inputs: &[String]) -> Output {
    let at = T0.to_string();
    let mut args = vec!["scan", "--json", "--at", &at];
    args.extend_from_slice(extra);
    args.extend(inputs.iter().map(String::as_str));
    verifier(dir, &args)
}

#[test]
fn the_loop_as_several_pngs_gives_the_verified_portrait_and_stops_reading() {
    let (dir, bytes, animation) = setup(1);
    let frames = qrs(&animation);
    // The loop twice over: collection stops within the first.
    let twice: Vec<&Qr> = frames.iter().chain(frames.iter()).copied().collect();
    let pngs = write_pngs(&dir.path().join("frames"), &twice);
    let (out, out_file) = scan_portrait(dir.path(), "portrait.jpg", &pngs);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["verdict"], "valid");
    assert_eq!(line["portrait"]["state"], "matched", "{line}");
    assert_eq!(line["portrait"]["bytes"], bytes.len());
    assert_eq!(
        line["portrait"]["source_symbols"], animation.source_symbols,
        "{line}"
    );
    assert_eq!(
        line["portrait"]["sha256_prefix"],
        hex::encode(&credential::signature::sha256(&bytes)[..8])
    );
    assert_eq!(std::fs::read(&out_file).unwrap(), bytes);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the portrait is personal data");
    }
    let frames_read = line["frames"]["read"].as_u64().unwrap() as usize;
    assert!(frames_read <= frames.len(), "read {frames_read} frames");
    assert_eq!(line["frames"]["first_code"], 0);
    assert_eq!(
        line["frames"]["verdict"], 0,
        "the loop starts with the presentation"
    );
    assert_eq!(line["frames"]["portrait"], frames_read - 1);
    assert_eq!(line["file"], pngs[0]);

    // The human form says so in both languages.
    let text = scan_text(dir.path(), "en", &pngs);
    assert!(text.contains("✔ VALID"), "{text}");
    assert!(
        text.contains("Portrait: the holder's, matches the signed credential (1900 bytes)"),
        "{text}"
    );
    let text = scan_text(dir.path(), "zh", &pngs);
    assert!(text.contains("照片：持证人照片，与签名凭证一致"), "{text}");

    // 600 s later the code is stale: rejected, and the portrait is the rejected
    // credential's holder's (signed), said as such; the exit status is the verdict's.
    let later = (T0 + 600).to_string();
    let mut args = vec!["scan", "--json", "--at", &later];
    args.extend(pngs.iter().map(String::as_str));
    let out = verifier(dir.path(), &args);
    assert_eq!(out.status.code(), Some(1));
    let line = &json_lines(&out)[0];
    assert_eq!(line["reason"], "stale_presentation");
    assert_eq!(line["portrait"]["state"], "matched");
    assert!(line["portrait"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Portrait of the REJECTED credential's holder"));
}

#[test]
fn a_gif_an_apng_and_a_y4m_video_of_the_loop_are_matched() {
    let (dir, bytes, animation) = setup(2);
    let gif = wallet_core::screen_image::loop_gif(
        &animation,
        wallet_core::CodeColour::Black,
        SCALE as u32,
    )
    .unwrap();
    let frames = qrs(&animation);
    // Named against their content: the format is told by content.
    for (name, content, ms_per_frame) in [
        ("loop.png", gif, 130),
        ("loop.gif", apng(&frames), 125),
        ("loop.bin", y4m(&frames), 125),
    ] {
        let input = write(dir.path(), name, &content);
        let (out, out_file) = scan_portrait(dir.path(), format!("{name}.jpg"), &[input]);
        assert_eq!(out.status.code(), Some(0), "{name}: {out:?}");
        let line = &json_lines(&out)[0];
        assert_eq!(line["verdict"], "valid", "{name}");
        assert_eq!(line["portrait"]["state"], "matched", "{name}: {line}");
        assert_eq!(std::fs::read(&out_file).unwrap(), bytes, "{name}");
        println!("{name}: frames {}", line["frames"]);
        let portrait_frame = line["frames"]["portrait"].as_u64().unwrap();
        assert_eq!(
            line["frames"]["portrait_ms"],
            portrait_frame * ms_per_frame,
            "{name}: video time of the portrait"
        );
    }
}

#[test]
fn raw_prints_each_text_of_an_animation_once_without_a_store() {
    let bytes = portrait(9);
    let animation = holder_loop(&bytes, fixture::SERIAL, "欧阳婷婷");
    let dir = tempfile::tempdir().unwrap();
    let video = write(dir.path(), "loop.y4m", &y4m(&qrs(&animation)));
    let out = verifier(dir.path(), &["scan", "--raw", "--json", &video, &video]);
    assert_eq!(out.status.code(), Some(0));
    let texts: Vec<String> = json_lines(&out)
        .iter()
        .map(|l| l["text"].as_str().unwrap().to_owned())
        .collect();
    let mut expected: Vec<String> = animation.frames.iter().map(|f| f.text.clone()).collect();
    expected.sort();
    expected.dedup();
    let mut sorted = texts.clone();
    sorted.sort();
    assert_eq!(sorted, expected, "every distinct text once");
    assert_eq!(texts[0], animation.frames[0].text);
}

#[test]
fn frames_of_two_holders_mixed_give_only_the_right_portrait() {
    let (dir, mine, my_loop) = setup(3);
    let theirs = portrait(4);
    let their_loop = holder_loop(&theirs, 200, "张伟");
    // Their frames (presentation included) interleaved with mine, mine first.
    let mut mixed = Vec::new();
    for i in 0..my_loop.frames.len().max(their_loop.frames.len()) {
        mixed.extend(my_loop.frames.get(i).map(|f| &f.qr));
        mixed.extend(their_loop.frames.get(i).map(|f| &f.qr));
    }
    let input = write(dir.path(), "mixed.y4m", &y4m(&mixed));
    let (out, out_file) = scan_portrait(dir.path(), "portrait.jpg", &[input]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let line = &json_lines(&out)[0];
    assert_eq!(line["fields"]["name"], "欧阳婷婷");
    assert_eq!(line["portrait"]["state"], "matched", "{line}");
    assert_eq!(std::fs::read(&out_file).unwrap(), mine);
    let refused = &line["frames"]["rejected_by_code"];
    assert!(
        refused["portrait_frame_other_loop"].as_u64().unwrap() >= 1,
        "{line}"
    );
    // Their presentation, each time it shows (every 4th frame of their loop).
    assert!(
        refused["other_presentation"].as_u64().unwrap() >= 1,
        "{line}"
    );
}

#[test]
fn a_tampered_symbol_is_a_mismatch_and_no_portrait_is_written() {
    let (dir, _, animation) = setup(5);
    // The first portrait frame (a source symbol) with one byte of its symbol
    // changed, re-encoded: a well-formed frame with the right tag.
    let mut frames: Vec<Qr> = animation.frames.iter().map(|f| f.qr.clone()).collect();
    let first = animation
        .frames
        .iter()
        .position(|f| matches!(f.kind, FrameKind::Portrait { .. }))
        .unwrap();
    let mut frame =
        credential::portrait_frame::PortraitFrame::from_text(&animation.frames[first].text)
            .unwrap();
    frame.symbol[0] ^= 0x55;
    frames[first] = Qr::encode(&frame.to_text()).unwrap();
    let refs: Vec<&Qr> = frames.iter().collect();
    let pngs = write_pngs(&dir.path().join("frames"), &refs);
    let (out, out_file) = scan_portrait(dir.path(), "portrait.jpg", &pngs);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the verdict does not depend on the portrait"
    );
    let line = &json_lines(&out)[0];
    assert_eq!(line["verdict"], "valid");
    assert_eq!(line["portrait"]["state"], "mismatch", "{line}");
    assert_eq!(line["portrait"]["reason"], "portrait_mismatch");
    assert!(line["portrait"]["sha256_prefix"].is_null());
    assert!(
        !out_file.exists(),
        "a portrait that does not match is never written"
    );

    let text = scan_text(dir.path(), "en", &pngs);
    assert!(
        text.contains("Portrait does not match the credential: not shown"),
        "{text}"
    );
}

#[test]
fn too_few_frames_are_incomplete_and_no_frame_is_missing() {
    let (dir, _, animation) = setup(6);
    let few: Vec<&Qr> = animation.frames.iter().take(4).map(|f| &f.qr).collect();
    let pngs = write_pngs(&dir.path().join("few"), &few);
    let line = &json_lines(&scan(dir.path(), &[], &pngs))[0];
    assert_eq!(line["portrait"]["state"], "incomplete", "{line}");
    assert_eq!(line["portrait"]["frames_held"], 3);
    assert_eq!(line["portrait"]["source_symbols"], animation.source_symbols);
    assert!(line["portrait"]["message"]
        .as_str()
        .unwrap()
        .starts_with(&format!(
            "Portrait incomplete (3 of {} frames)",
            animation.source_symbols
        )));

    // Portrait frames without their presentation: no verdict, and it says why.
    let portrait_only = write_pngs(
        &dir.path().join("portrait-only"),
        &[&animation.frames[1].qr, &animation.frames[2].qr],
    );
    let out = scan(dir.path(), &[], &portrait_only);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_lines(&out)[0]["reason"], "no_presentation");

    let only = write_pngs(&dir.path().join("only"), &[&animation.frames[0].qr]);
    let (out, out_file) = scan_portrait(dir.path(), "portrait.jpg", &only);
    assert_eq!(out.status.code(), Some(0));
    let line = &json_lines(&out)[0];
    assert_eq!(line["portrait"]["state"], "missing", "{line}");
    assert!(!out_file.exists());
}

#[test]
fn hostile_videos_get_a_typed_refusal_and_the_frame_bound_stops_reading() {
    let (dir, _, animation) = setup(7);
    let video = y4m(&qrs(&animation));
    let header_end = video.iter().position(|b| *b == b'\n').unwrap() + 1;
    let frame_len = (video.len() - header_end) / animation.frames.len();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty-video", b"YUV4MPEG2 \n".to_vec(), "y4m_bad_header"),
        ("no-frames", video[..header_end].to_vec(), "no_frames"),
        (
            "cut-in-a-frame",
            video[..header_end + frame_len / 2].to_vec(),
            "y4m_truncated_frame",
        ),
        (
            "huge",
            b"YUV4MPEG2 W100000 H100000 F8:1\nFRAME\n".to_vec(),
            "frames_too_many_pixels",
        ),
        (
            "zero-width",
            b"YUV4MPEG2 W0 H10 F8:1\n".to_vec(),
            "y4m_bad_header",
        ),
        ("no-rate", b"YUV4MPEG2 W10 H10\n".to_vec(), "y4m_bad_header"),
        (
            "ten-bit",
            b"YUV4MPEG2 W10 H10 F8:1 C420p10\n".to_vec(),
            "y4m_unsupported_colour_space",
        ),
        (
            "endless-header",
            [b"YUV4MPEG2 W10 H10 F8:1 X".as_slice(), &[b'x'; 100_000]].concat(),
            "y4m_bad_header",
        ),
        (
            "not-a-frame-line",
            [&video[..header_end], b"FRAMX\n".as_slice()].concat(),
            "y4m_truncated_frame",
        ),
        (
            "gif-header-only",
            b"GIF89a\x10\x00".to_vec(),
            "animation_undecodable",
        ),
    ];
    for (name, bytes, expected) in cases {
        let input = write(dir.path(), name, &bytes);
        let out = scan(dir.path(), &[], &[input]);
        let lines = json_lines(&out);
        assert_eq!(lines[0]["reason"], expected, "{name}: {lines:?}");
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert!(lines[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    // A video cut after its presentation frame: the verdict, and the cut reported.
    let cut = write(
        dir.path(),
        "cut.y4m",
        &video[..header_end + frame_len * 3 + 10],
    );
    let out = scan(dir.path(), &[], &[cut]);
    let lines = json_lines(&out);
    assert_eq!(lines[0]["reason"], "y4m_truncated_frame", "{lines:?}");
    assert_eq!(lines[1]["verdict"], "valid");
    assert_eq!(lines[1]["portrait"]["state"], "incomplete");

    // The frame bound: reading stops there with its code.
    let input = write(dir.path(), "loop.y4m", &video);
    let out = scan(dir.path(), &["--max-frames", "2"], &[input]);
    let lines = json_lines(&out);
    assert_eq!(lines[0]["reason"], "too_many_frames", "{lines:?}");
    assert_eq!(lines[1]["frames"]["read"], 2);
    assert_eq!(out.status.code(), Some(1));
}

/// The library path a bench uses: frames decoded from bytes, pushed one by one.
#[test]
fn the_collector_takes_frames_in_any_order_and_reports_progress() {
    use verifier::collect::{CollectLimits, FrameCollector, PortraitState};

    let bytes = portrait(8);
    let animation = holder_loop(&bytes, fixture::SERIAL, "欧阳婷婷");
    let (frames, error) = verifier::frames::decode_all(
        &y4m(&qrs(&animation)),
        &verifier::frames::FrameLimits::default(),
    );
    assert!(error.is_none(), "{error:?}");
    assert_eq!(frames.len(), animation.frames.len());
    let bundle = fixture::trust_bundle();
    let mut lists = credential::StatusLists::default();
    lists.insert(fixture::status_list());
    let new_collector = || {
        FrameCollector::new(
            &bundle,
            &lists,
            T0,
            credential::Policy::default(),
            CollectLimits::default(),
        )
    };
    let mut collector = new_collector();
    // Portrait frames backwards, before any presentation: they wait for it.
    let portrait_frames: Vec<usize> = (0..frames.len())
        .rev()
        .filter(|i| animation.frames[*i].kind != FrameKind::Presentation)
        .collect();
    for i in &portrait_frames {
        collector.push_frame(&frames[*i]);
        assert!(!collector.is_done());
    }
    assert!(matches!(
        collector.portrait_state(),
        PortraitState::AwaitingPresentation { buffered } if buffered > 0
    ));
    assert!(collector.portrait().is_none());
    collector.push_frame(&frames[0]);
    assert!(collector.is_done());
    assert_eq!(collector.portrait(), Some(bytes.as_slice()));
    let progress = collector.progress();
    assert_eq!(progress.verdict_frame, Some(portrait_frames.len()));
    // The buffered frames completed the portrait, but only the presentation's
    // digest let them count: it is ready at the presentation's frame.
    assert_eq!(progress.portrait_frame, Some(portrait_frames.len()));
    assert!(collector.verdict().unwrap().outcome.is_ok());

    // Texts from another reader work the same; an employment code has no portrait.
    let mut collector = new_collector();
    collector.push_text(&animation.frames[1].text);
    collector.push_text(&fixture::qr_text(Profile::Employment));
    assert!(collector.is_done());
    assert_eq!(collector.portrait_state(), PortraitState::NotInProfile);
    assert_eq!(
        collector
            .rejections_by_code()
            .get("portrait_frame_other_loop"),
        Some(&1)
    );
}
