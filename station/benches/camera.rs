//! Camera bench (by hand, not in CI): `cargo bench -p station --bench camera`.
//!
//! 1. Frames per second the station sustains on a phone-at-the-camera frame, as a
//!    ratio to the bare scanner cascade (`verifier::scan::read_codes`) on the same
//!    frame in the same run.
//! 2. With chromium installed: the real page and the fake camera for 15 s — time
//!    from capturing a frame that holds the code to the verdict painted
//!    (median, p95), and the frames per second the page and station sustain.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use credential::Policy;
use serde_json::json;
use station::desk::Desk;
use station::station::FrameLimits;
use station::{Config, Station};
use support::fixture::{Running, World};
use support::video;
use support::webdriver::{find_browser, Driver};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let world = World::new();
    let codes = world.codes();
    let frames = video::phone_frames(&codes.valid_rental, 8, 3);

    // 1. In-process throughput.
    let rounds = 40;
    let started = Instant::now();
    for i in 0..rounds {
        let luma = verifier::scan::Luma {
            width: video::WIDTH as u32,
            height: video::HEIGHT as u32,
            pixels: frames[i % frames.len()].clone(),
        };
        let found = verifier::scan::read_codes(&luma, Instant::now() + Duration::from_secs(1));
        assert_eq!(found.codes.len(), 1);
    }
    let raw_fps = rounds as f64 / started.elapsed().as_secs_f64();
    let station = Station::open(Config {
        store: world.full_store("bench-store"),
        desk: Desk::Only(credential::Profile::Rental),
        policy: Policy::default(),
        frames: FrameLimits {
            min_interval: Duration::ZERO,
            ..FrameLimits::default()
        },
    })
    .unwrap();
    let started = Instant::now();
    for i in 0..rounds {
        let answer = station
            .frame(
                video::WIDTH as u32,
                video::HEIGHT as u32,
                frames[i % frames.len()].clone(),
                support::fixture::now(),
            )
            .unwrap();
        assert_eq!(answer["verdict"], "valid");
    }
    let station_fps = rounds as f64 / started.elapsed().as_secs_f64();
    println!(
        "frame {}x{} with one code, {rounds} frames:",
        video::WIDTH,
        video::HEIGHT
    );
    println!("  scanner cascade alone      {raw_fps:6.1} frames/s  (baseline)");
    println!(
        "  station.frame (scan+verify) {station_fps:6.1} frames/s  ({:.2}x the baseline's time per frame)",
        raw_fps / station_fps
    );
    drop(station);

    // 2. The browser.
    let Some((chromium, chromedriver)) = find_browser() else {
        println!("browser part skipped: chromium/chromedriver not installed");
        return;
    };
    // Five refreshes of the code, each after a third of a second of empty desk: each
    // is a new code, so each is announced (and timed).
    let mut clip_frames: Vec<video::Frame> = Vec::new();
    for (seed, text) in world.valid_series(5).iter().enumerate() {
        clip_frames.extend((0..10).map(|_| video::empty_frame()));
        clip_frames.extend(video::phone_frames(text, 8, seed as u64 + 10));
    }
    let clip = world.dir.path().join("bench.y4m");
    video::write_y4m(&clip, 30, &clip_frames);
    let running = Running::start(&world.full_store("bench-browser-store"), "rental");
    let driver = Driver::start(&chromium, &chromedriver, Some(&clip));
    driver.goto(&running.url);
    std::thread::sleep(Duration::from_secs(15));
    let bench = driver.execute("return window.stationBench", json!([]));
    let status = support::client::request(running.port, "GET", "/api/status", &[], b"").json();
    let mut latencies: Vec<f64> = bench["latencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    latencies.sort_by(f64::total_cmp);
    let elapsed_s = (bench["firstVerdictAt"].as_f64().unwrap_or(0.0)
        - bench["started"].as_f64().unwrap())
        / 1000.0;
    let page_frames = bench["frames"].as_u64().unwrap();
    println!("browser, 15 s of fake camera at 30 fps (5 codes, each 10 empty frames then 8 with it, looped):");
    if latencies.is_empty() {
        println!("  no verdict was shown");
    } else {
        println!(
            "  capture -> verdict painted: median {:.0} ms, p95 {:.0} ms over {} announcements",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.95),
            latencies.len()
        );
    }
    println!(
        "  page -> station: {:.1} frames/s sustained ({page_frames} frames), station mean scan {:.1} ms/frame, first verdict {elapsed_s:.1} s after page load",
        page_frames as f64 / 15.0,
        status["frames"]["mean_scan_ms"].as_f64().unwrap()
    );
}
