//! Phone-screen videos of the animated code through the verifier's frame collector
//! (issue 12): how much video it takes to reach the verdict, and the verdict with
//! the portrait, when a quarter of the loop's frames are unreadable.
//!
//! `cargo bench -p e2e --bench portrait_video` (outside CI: a few minutes). For each of
//! `VIDEOS` (default 40) seeded videos (`qr_corpus::video`, 480×640 at 30 fps, the loop
//! at 8 fps, 25 % of the loop frames shown blurred or glared out), a fixture
//! presentation whose credential signs an issuer-made portrait
//! (`issuer::portrait_code`) is built into the wallet's loop
//! (`wallet_core::animated::build`, profiles rental, full and insurance in turn), and
//! the camera frames are fed in order to `verifier::collect::FrameCollector` until it
//! is done. In the same run and with the same seed (same hand, light and losses),
//! the phone showing the presentation alone — today's single code — gives the
//! baseline. Reported per video and in summary: video time (frame index / camera
//! fps) to the verdict and to the verdict with the portrait, CPU time per frame, the
//! share of frames decoded; the share of videos with the portrait within 1.5 s.
//!
//! Knobs (environment): `VIDEOS`, `SECONDS` (video length, default 4), `UNREADABLE`
//! (0.25), `PRESENTATION_EVERY`, `REPAIR_PERCENT` and `PORTRAIT_MIN_VERSION` (the
//! loop's layout, defaults of `AnimationOptions`; a floor of 1 sizes the portrait
//! frames to the presentation's own version, as before), `THREADS` (2).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use credential::{Policy, Profile, StatusLists};
use qr_corpus::video::{LoopScreens, PhoneVideo, VideoOptions};
use vectorgen::fixture;
use verifier::collect::{CollectLimits, FrameCollector, PortraitState};
use verifier::scan::Luma;
use wallet_core::animated::{AnimationOptions, FrameKind};
use wallet_core::qr::Qr;
use wallet_core::wallet::Presented;

const GOAL_S: f64 = 1.5;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time of the calling thread, nanoseconds (Linux schedstat; wall time elsewhere).
fn thread_cpu_ns(start: Instant) -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| start.elapsed().as_nanos() as u64)
}

/// One filmed run through the collector.
#[derive(Default, Clone)]
struct Run {
    frames_fed: usize,
    decoded: usize,
    readable_frames: usize,
    readable_decoded: usize,
    unreadable_decoded: usize,
    verdict_frame: Option<usize>,
    portrait_frame: Option<usize>,
    portrait_matched: bool,
    valid: bool,
    scan_cpu_ns: u64,
    decoded_cpu_ns: u64,
}

fn film(
    screens: &LoopScreens,
    options: VideoOptions,
    seed: u64,
    want_portrait: bool,
    lists: &StatusLists,
) -> Run {
    let bundle = fixture::trust_bundle();
    let video = PhoneVideo::new(screens, options, seed).unwrap();
    let mut collector = FrameCollector::new(
        &bundle,
        lists,
        fixture::T0,
        Policy::default(),
        CollectLimits::default(),
    );
    let mut run = Run::default();
    let clock = Instant::now();
    for i in 0..video.len() {
        let frame = video.frame(i);
        let luma = Luma {
            width: options.width as u32,
            height: options.height as u32,
            pixels: frame.luma(),
        };
        let before = thread_cpu_ns(clock);
        let outcome = collector.push_frame(&luma);
        let cpu = thread_cpu_ns(clock) - before;
        run.scan_cpu_ns += cpu;
        run.frames_fed += 1;
        let decoded = outcome.codes > 0;
        if decoded {
            run.decoded_cpu_ns += cpu;
        }
        run.decoded += usize::from(decoded);
        if frame.truth.unreadable {
            run.unreadable_decoded += usize::from(decoded);
        } else {
            run.readable_frames += 1;
            run.readable_decoded += usize::from(decoded);
        }
        let progress = collector.progress();
        run.verdict_frame = progress.verdict_frame;
        run.portrait_frame = progress.portrait_frame;
        let done = if want_portrait {
            collector.is_done()
        } else {
            progress.verdict_frame.is_some()
        };
        if done {
            break;
        }
    }
    run.valid = collector.verdict().is_some_and(|v| v.outcome.is_ok());
    run.portrait_matched = matches!(collector.portrait_state(), PortraitState::Matched { .. });
    run
}

struct Sample {
    video: u64,
    profile: Profile,
    loop_frames: usize,
    k: usize,
    animated: Run,
    single: Run,
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    if values.is_empty() {
        return f64::NAN;
    }
    values[((values.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let videos: u64 = env("VIDEOS", 40);
    let seconds: f32 = env("SECONDS", 4.0);
    let threads: u64 = env("THREADS", 2);
    let layout = AnimationOptions {
        presentation_every: env(
            "PRESENTATION_EVERY",
            AnimationOptions::default().presentation_every,
        ),
        repair_percent: env("REPAIR_PERCENT", AnimationOptions::default().repair_percent),
        portrait_min_version: env(
            "PORTRAIT_MIN_VERSION",
            AnimationOptions::default().portrait_min_version,
        ),
        ..AnimationOptions::default()
    };
    let mut options = VideoOptions {
        unreadable_share: env("UNREADABLE", 0.25),
        ..VideoOptions::default()
    };
    options.frames = (seconds * options.camera_fps as f32).round() as usize;
    let fps = f64::from(options.camera_fps);

    let photo = issuer::portrait::synthetic_portrait(
        358,
        441,
        [255, 255, 255],
        issuer::portrait::ImageFormat::Jpeg,
    );
    let portrait =
        issuer::portrait_code::make_portrait(&photo, &issuer::portrait_code::STANDARD).unwrap();
    let mut licence = fixture::licence();
    licence.portrait_digest = credential::licence::portrait_digest(&portrait);
    let mut lists = StatusLists::default();
    lists.insert(fixture::status_list());
    println!(
        "portrait_video: {videos} videos, {}×{} at {} fps, {seconds} s each, loop at {} fps (presentation every {}, repair {} %, portrait frames up to QR version max(presentation, {})), {} % of loop frames unreadable; portrait {} bytes",
        options.width, options.height, options.camera_fps, layout.fps, layout.presentation_every,
        layout.repair_percent, layout.portrait_min_version, options.unreadable_share * 100.0, portrait.len()
    );
    let generation = Instant::now();
    let samples: Vec<Sample> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (licence, portrait, lists) = (&licence, &portrait, &lists);
                scope.spawn(move || {
                    (t..videos)
                        .step_by(threads as usize)
                        .map(|v| {
                            let profile = [Profile::Rental, Profile::Full, Profile::Insurance]
                                [(v % 3) as usize];
                            let credential = fixture::credential(
                                licence,
                                profile,
                                &fixture::params(),
                                &fixture::authority_key(),
                            );
                            let presented_at = fixture::T0 - 5 - v % 20;
                            let presentation = fixture::present(
                                credential,
                                profile,
                                presented_at,
                                &fixture::device_key(),
                            );
                            let text = credential::qr_text::to_qr_text(&presentation.encode());
                            let presented = Presented {
                                profile,
                                presented_at,
                                refresh_at: presented_at + 30,
                                qr: Qr::encode(&text).unwrap(),
                                text: text.clone(),
                            };
                            let animation =
                                wallet_core::animated::build(&presented, portrait, layout).unwrap();
                            let texts: Vec<String> =
                                animation.frames.iter().map(|f| f.text.clone()).collect();
                            assert_eq!(
                                animation.frames.first().map(|f| f.kind),
                                Some(FrameKind::Presentation)
                            );
                            let screens = LoopScreens::from_texts(&texts).unwrap();
                            let animated = film(&screens, options, v, true, lists);
                            let single = LoopScreens::from_texts(&[text]).unwrap();
                            let single = film(&single, options, v, false, lists);
                            let sample = Sample {
                                video: v,
                                profile,
                                loop_frames: texts.len(),
                                k: animation.source_symbols,
                                animated,
                                single,
                            };
                            report(&sample, fps);
                            sample
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    summarise(&samples, fps, generation.elapsed().as_secs_f64());
}

fn seconds(frame: Option<usize>, fps: f64) -> String {
    frame.map_or("—".into(), |f| format!("{:.2}", f as f64 / fps))
}

fn report(s: &Sample, fps: f64) {
    let a = &s.animated;
    println!(
        "video {:03} {:9} loop {:2} frames K={} | verdict {:>5} s, with portrait {:>5} s{} | single code: verdict {:>5} s | decoded {:>3}/{:<3} (readable {}/{}, unreadable {}) | scan {:.1} ms/frame (single {:.1})",
        s.video, s.profile.name(), s.loop_frames, s.k,
        seconds(a.verdict_frame, fps), seconds(a.portrait_frame, fps),
        if a.portrait_matched && a.valid { "" } else { " (NOT COMPLETE)" },
        seconds(s.single.verdict_frame, fps),
        a.decoded, a.frames_fed, a.readable_decoded, a.readable_frames, a.unreadable_decoded,
        a.scan_cpu_ns as f64 / 1e6 / a.frames_fed.max(1) as f64,
        s.single.scan_cpu_ns as f64 / 1e6 / s.single.frames_fed.max(1) as f64,
    );
}

fn summarise(samples: &[Sample], fps: f64, wall_s: f64) {
    let n = samples.len().max(1) as f64;
    let time = |f: Option<usize>| f.map_or(f64::INFINITY, |f| f as f64 / fps);
    let within = samples
        .iter()
        .filter(|s| s.animated.portrait_matched && time(s.animated.portrait_frame) <= GOAL_S)
        .count();
    let complete = samples
        .iter()
        .filter(|s| s.animated.portrait_matched)
        .count();
    let mut portrait: Vec<f64> = samples
        .iter()
        .map(|s| time(s.animated.portrait_frame))
        .collect();
    let mut verdict: Vec<f64> = samples
        .iter()
        .map(|s| time(s.animated.verdict_frame))
        .collect();
    let mut single: Vec<f64> = samples
        .iter()
        .map(|s| time(s.single.verdict_frame))
        .collect();
    let sum = |f: &dyn Fn(&Run) -> f64, pick: &dyn Fn(&Sample) -> &Run| {
        samples.iter().map(|s| f(pick(s))).sum::<f64>()
    };
    let cpu = |r: &Run| r.scan_cpu_ns as f64;
    let fed = |r: &Run| r.frames_fed as f64;
    let animated_cpu = sum(&cpu, &|s| &s.animated) / sum(&fed, &|s| &s.animated) / 1e6;
    let single_cpu = sum(&cpu, &|s| &s.single) / sum(&fed, &|s| &s.single) / 1e6;
    let decoded = sum(&|r| r.decoded as f64, &|s| &s.animated) / sum(&fed, &|s| &s.animated);
    let readable = sum(&|r| r.readable_decoded as f64, &|s| &s.animated)
        / sum(&|r| r.readable_frames as f64, &|s| &s.animated);
    let leaked: usize = samples.iter().map(|s| s.animated.unreadable_decoded).sum();
    // Frames needed (index + 1): the single code is usually read in frame 0, so a
    // ratio of video times would divide by zero.
    let needed = |pick: &dyn Fn(&Sample) -> Option<usize>| {
        samples
            .iter()
            .map(|s| pick(s).map_or(f64::NAN, |f| f as f64 + 1.0))
            .sum::<f64>()
            / n
    };
    let animated_needed = needed(&|s| s.animated.verdict_frame);
    let single_needed = needed(&|s| s.single.verdict_frame);
    let (v50, v95) = (
        percentile(&mut verdict, 0.5),
        percentile(&mut verdict, 0.95),
    );
    let (s50, s95) = (percentile(&mut single, 0.5), percentile(&mut single, 0.95));
    let (p50, p95) = (
        percentile(&mut portrait, 0.5),
        percentile(&mut portrait, 0.95),
    );
    println!(
        "\nsummary over {} videos ({wall_s:.0} s wall, generation included):",
        samples.len()
    );
    println!(
        "  verdict with portrait within {GOAL_S} s of video: {within}/{} = {:.0} % (goal ≥ 95 %); complete within the video: {complete}",
        samples.len(), 100.0 * within as f64 / n
    );
    println!("  video time to the verdict with portrait: median {p50:.2} s, p95 {p95:.2} s");
    println!(
        "  video time to the verdict: animated median {v50:.2} s, p95 {v95:.2} s; single code (baseline) median {s50:.2} s, p95 {s95:.2} s"
    );
    println!(
        "  camera frames until the verdict, mean: animated {animated_needed:.2}, single code {single_needed:.2} (ratio {:.2})",
        animated_needed / single_needed
    );
    let decoded_cpu = sum(&|r| r.decoded_cpu_ns as f64, &|s| &s.animated)
        / sum(&|r| r.decoded as f64, &|s| &s.animated)
        / 1e6;
    let undecoded_cpu = (sum(&cpu, &|s| &s.animated)
        - sum(&|r| r.decoded_cpu_ns as f64, &|s| &s.animated))
        / (sum(&fed, &|s| &s.animated) - sum(&|r| r.decoded as f64, &|s| &s.animated))
        / 1e6;
    println!(
        "  scan CPU per frame, animated: {decoded_cpu:.1} ms for a frame with a code, {undecoded_cpu:.1} ms for one without (all passes tried)"
    );
    println!(
        "  scan CPU per frame: animated {animated_cpu:.1} ms, single code {single_cpu:.1} ms (ratio {:.2})",
        animated_cpu / single_cpu
    );
    println!(
        "  frames decoded: {:.0} % of frames fed ({:.0} % of the frames not made unreadable); frames made unreadable that decoded anyway: {leaked}",
        100.0 * decoded, 100.0 * readable
    );
}
