//! The station in a real browser: Debian's headless chromium, driven through
//! chromedriver, with the fake camera playing a video of a phone held in front of
//! it (valid, revoked, stale and foreign codes in turn), then a keyboard-wedge
//! scanner typing at 5 ms per key on US, German and French computers.
//!
//! One browser for the whole scenario keeps CI time small. Screenshots of each
//! state go to `$STATION_SCREENSHOTS` (the README's come from there) or the target
//! directory. Skipped with a message when chromium is not installed, except under
//! CI=true, where that fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::fixture::{Running, World, CLASSES, LICENCE_NUMBER, NAME};
use support::webdriver::{browser_or_skip, Driver};
use support::{keyboards, video};

/// Frames per second of the fake camera, and frames per code.
const FPS: u32 = 5;
const FRAMES_PER_CODE: usize = 8;
const BLANK_FRAMES: usize = 2;

fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("STATION_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("station-screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The verdict on screen: reason, title, background colour, width against the page's.
const VERDICT_JS: &str = r##"
const box = document.getElementById("verdict");
if (box.className === "idle") return null;
const fields = {};
for (const row of document.querySelectorAll("#fields tr")) fields[row.dataset.field] = row.querySelector("td").textContent;
return {
  reason: box.dataset.reason, id: box.dataset.historyId, className: box.className,
  title: document.getElementById("verdict-title").textContent,
  text: document.getElementById("verdict-reason").textContent,
  freshness: document.getElementById("verdict-freshness").textContent,
  background: getComputedStyle(box).backgroundColor,
  fullWidth: box.getBoundingClientRect().width >= document.documentElement.clientWidth - 1,
  fields: fields,
  warnings: [...document.querySelectorAll("#warnings li")].map((li) => li.dataset.code + ": " + li.textContent),
  note: document.getElementById("scanner-note").hidden ? null : document.getElementById("scanner-note").dataset.code,
};
"##;

const HISTORY_JS: &str = r##"
return [...document.querySelectorAll("#history li")].map((li) => ({
  id: Number(li.dataset.id), reason: li.dataset.reason, source: li.dataset.source, sightings: Number(li.dataset.sightings),
}));
"##;

fn verdict(driver: &Driver) -> Value {
    driver.execute(VERDICT_JS, json!([]))
}

/// Types `text` like a scanner (5 ms per key) and waits for the verdict of that scan.
fn scan_by_keyboard(driver: &Driver, text: &str, enter: bool) -> Value {
    let before = verdict(driver)["id"].clone();
    driver.type_keys(text, 5, enter);
    driver.wait_for(
        "the scanner's verdict",
        Duration::from_secs(15),
        VERDICT_JS,
        json!([]),
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = verdict(driver);
        if now["id"] != before {
            return now;
        }
        assert!(Instant::now() < deadline, "no new verdict after typing");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn camera_and_scanner_in_chromium() {
    let Some((chromium, chromedriver)) = browser_or_skip("camera_and_scanner_in_chromium") else {
        return;
    };
    let started = Instant::now();
    let world = World::new();
    let codes = world.codes();
    let station = Running::start(&world.store("store"), "rental");

    // The fake camera: each code held up in turn, with the desk between them.
    let mut frames = Vec::new();
    for (seed, text) in [
        &codes.valid_rental,
        &codes.revoked,
        &codes.stale,
        &codes.foreign,
    ]
    .into_iter()
    .enumerate()
    {
        frames.extend(video::phone_frames(text, FRAMES_PER_CODE, seed as u64 + 1));
        frames.extend((0..BLANK_FRAMES).map(|_| video::empty_frame()));
    }
    let clip = world.dir.path().join("phone.y4m");
    video::write_y4m(&clip, FPS, &frames);
    let loop_s = frames.len() as f64 / f64::from(FPS);

    let driver = Driver::start(&chromium, &chromedriver, Some(&clip));
    driver.goto(&station.url);
    let shots = screenshot_dir();
    let save = |name: &str| {
        std::fs::write(shots.join(format!("{name}.png")), driver.screenshot()).unwrap()
    };

    // Trust material by upload: the fail-closed start says what to import.
    driver.wait_for(
        "the no-bundle warning",
        Duration::from_secs(10),
        "return !document.getElementById('trust-problem').hidden",
        json!([]),
    );
    let files = format!(
        "{}\n{}",
        world.status_list.display(),
        world.bundle.display()
    );
    driver.send_keys("#import-files", &files);
    let version = driver.wait_for(
        "the imported bundle in the status bar",
        Duration::from_secs(10),
        "const b = document.getElementById('bundle'); return b.dataset.version || null",
        json!([]),
    );
    assert_eq!(version, json!(world.bundle_version.to_string()));
    let imports = driver.wait_for(
        "both import results",
        Duration::from_secs(10),
        "const li = [...document.querySelectorAll('#import-result li')]; return li.length === 2 && li.map((l) => l.className + ' ' + l.textContent)",
        json!([]),
    );
    assert!(
        imports
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l.as_str().unwrap().starts_with("ok ")),
        "{imports}"
    );
    let warning_shown = driver.execute(
        "return getComputedStyle(document.getElementById('trust-problem')).display !== 'none'",
        json!([]),
    );
    assert_eq!(
        warning_shown, false,
        "the no-bundle warning is gone after the import"
    );
    let list = driver.wait_for(
        "the status list chip",
        Duration::from_secs(10),
        "const c = document.querySelector('#lists .list'); return c && {issuer: c.dataset.issuer, age: Number(c.dataset.ageS), stale: c.classList.contains('warn'), text: c.textContent}",
        json!([]),
    );
    assert_eq!(list["issuer"], "川J", "{list}");
    assert!(
        list["age"].as_u64().unwrap() > 2 * 86_400 && list["stale"] == true,
        "{list}"
    );
    // The camera runs from page load; verdicts made before the import count no more.
    let camera_since = Instant::now();
    let imported_at_id = driver
        .execute(HISTORY_JS, json!([]))
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .max()
        .unwrap_or(0);

    // The camera: every code gets its verdict; a screenshot of each state.
    let expected = [
        "valid",
        "revoked_by_status_list",
        "stale_presentation",
        "unknown_issuer",
    ];
    let mut seen: BTreeMap<String, Value> = BTreeMap::new();
    let mut urls = driver.requests_sent();
    let deadline = Instant::now() + Duration::from_secs(90);
    while seen.len() < expected.len() {
        assert!(
            Instant::now() < deadline,
            "camera verdicts seen: {:?}; history {}",
            seen.keys(),
            driver.execute(HISTORY_JS, json!([]))
        );
        let current = verdict(&driver);
        let wanted = |v: &Value| {
            let after_import = v["id"]
                .as_str()
                .and_then(|id| id.parse::<u64>().ok())
                .is_some_and(|id| id > imported_at_id);
            v["reason"]
                .as_str()
                .filter(|_| after_import)
                .filter(|r| expected.contains(r) && !seen.contains_key(*r))
                .map(str::to_owned)
        };
        if wanted(&current).is_some() {
            // Pause the camera so the verdict holds still for the screenshot.
            driver.click("#camera-toggle");
            let held = verdict(&driver);
            if let Some(reason) = wanted(&held) {
                save(&format!("camera-{reason}"));
                seen.insert(reason, held);
            }
            driver.click("#camera-toggle");
        }
        urls.extend(driver.requests_sent());
        std::thread::sleep(Duration::from_millis(100));
    }
    let camera_s = camera_since.elapsed().as_secs_f64();

    let valid = &seen["valid"];
    assert_eq!(valid["className"], "valid");
    assert_eq!(valid["title"], "VALID");
    assert_eq!(valid["background"], "rgb(10, 138, 46)", "green");
    assert_eq!(valid["fullWidth"], true);
    assert_eq!(valid["fields"]["name"], NAME);
    assert_eq!(valid["fields"]["licence_number"], LICENCE_NUMBER);
    assert_eq!(valid["fields"]["classes"], CLASSES);
    assert_eq!(valid["fields"].get("address"), None, "rental profile only");
    assert!(
        valid["freshness"].as_str().unwrap().contains("s ago"),
        "{valid}"
    );
    assert!(
        valid["warnings"].to_string().contains("status_list_stale"),
        "{valid}"
    );
    for (reason, words) in [
        ("revoked_by_status_list", "revoked"),
        ("stale_presentation", "ago"),
        ("unknown_issuer", "not in the trust bundle"),
    ] {
        let shown = &seen[reason];
        assert_eq!(shown["title"], "REJECTED", "{shown}");
        assert_eq!(shown["background"], "rgb(196, 20, 27)", "red: {shown}");
        assert!(shown["text"].as_str().unwrap().contains(words), "{shown}");
        assert_eq!(shown["fields"], json!({}), "{shown}");
    }

    // Continuous scanning: a code in view is announced once, however many frames see it.
    let history = driver.execute(HISTORY_JS, json!([]));
    let camera: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "camera")
        .collect();
    let valid_entries = camera.iter().filter(|e| e["reason"] == "valid").count();
    let viewings = (camera_s / loop_s).ceil() as usize + 1;
    assert!(
        valid_entries <= viewings,
        "the valid code was announced {valid_entries} times in {viewings} viewings: {history}"
    );
    assert!(
        camera.iter().any(|e| e["sightings"].as_u64().unwrap() >= 2),
        "no code was seen in more than one frame: {history}"
    );

    // The scanner, with the camera paused so only the keyboard speaks.
    driver.click("#camera-toggle");
    std::thread::sleep(Duration::from_millis(400));
    urls.extend(driver.requests_sent());
    let typed = scan_by_keyboard(&driver, &codes.valid_rental, true);
    assert_eq!(typed["reason"], "valid", "{typed}");
    assert_eq!(typed["fields"]["name"], NAME);
    assert_eq!(typed["note"], Value::Null);
    save("scanner-valid");

    // A German computer, and the scan ended by the pause instead of Enter.
    let german = scan_by_keyboard(&driver, &keyboards::on_german(&codes.valid_rental), false);
    assert_eq!(german["reason"], "valid", "{german}");
    assert_eq!(german["note"], "scanner_layout_repaired");
    save("scanner-german-repaired");
    let french = scan_by_keyboard(&driver, &keyboards::on_french(&codes.valid_rental), true);
    assert_eq!(french["reason"], "valid", "{french}");
    assert_eq!(french["note"], "scanner_layout_repaired");

    // The full profile at a rental desk: refused, nothing shown; then in Chinese.
    let full = scan_by_keyboard(&driver, &codes.valid_full, true);
    assert_eq!(full["reason"], "profile_not_allowed_at_desk", "{full}");
    assert_eq!(full["fields"], json!({}));
    save("desk-refuses-full-profile");
    driver.click("#lang");
    let zh = verdict(&driver);
    assert_eq!(zh["title"], "无效");
    assert!(zh["text"].as_str().unwrap().contains("本窗口"), "{zh}");
    save("desk-refuses-full-profile-zh");
    driver.click("#lang");

    // Nothing the page did went anywhere but this station.
    let origin = station.url.trim_end_matches('/');
    urls.extend(driver.requests_sent());
    // chrome:// (the blank tab before the first navigation), data: and blob: never
    // reach a network; everything else must be this station.
    let network = |u: &&String| {
        !["chrome:", "data:", "blob:", "about:"]
            .iter()
            .any(|s| u.starts_with(s))
    };
    assert!(
        urls.iter().filter(network).count() > 10,
        "the network log is empty: {urls:?}"
    );
    let foreign: Vec<&String> = urls
        .iter()
        .filter(network)
        .filter(|u| !u.starts_with(&format!("{origin}/")))
        .collect();
    assert!(foreign.is_empty(), "requests left 127.0.0.1: {foreign:?}");
    let resources = driver.execute(
        "return performance.getEntriesByType('resource').map((e) => e.name).filter((n) => !n.startsWith(location.origin))",
        json!([]),
    );
    assert_eq!(resources, json!([]));
    println!(
        "browser test: {:.1} s in all, camera verdicts after {:.1} s, {} requests all to {origin}",
        started.elapsed().as_secs_f64(),
        camera_s,
        urls.len()
    );
}
