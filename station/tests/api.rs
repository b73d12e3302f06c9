//! The station binary over HTTP, without a browser: verdicts for scanned text and
//! camera frames, the desk rule, imports with the store's rules, fail-closed start,
//! one station per store, and the guards against other sites and large requests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::client::{request, Reply};
use support::fixture::{Running, World, CLASSES, LICENCE_NUMBER, NAME};
use support::{keyboards, video};

fn scan(station: &Running, text: &str) -> serde_json::Value {
    let reply = request(station.port, "POST", "/api/scan", &[], text.as_bytes());
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()
}

fn reason(verdict: &serde_json::Value) -> &str {
    verdict["reason"].as_str().unwrap_or("valid")
}

fn frame(station: &Running, pixels: &[u8]) -> Reply {
    let path = format!("/api/frame?w={}&h={}", video::WIDTH, video::HEIGHT);
    request(station.port, "POST", &path, &[], pixels)
}

#[test]
fn verdicts_desk_rule_layouts_and_camera_frames() {
    let world = World::new();
    let station = Running::start(&world.full_store("store"), "rental");
    let codes = world.codes();

    let valid = scan(&station, &codes.valid_rental);
    assert_eq!(valid["verdict"], "valid", "{valid}");
    assert_eq!(valid["profile"], "rental");
    let field = |v: &serde_json::Value, name: &str| {
        v["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["value"]["en"].as_str().unwrap().to_owned())
    };
    assert_eq!(field(&valid, "name").as_deref(), Some(NAME));
    assert_eq!(
        field(&valid, "licence_number").as_deref(),
        Some(LICENCE_NUMBER)
    );
    assert_eq!(field(&valid, "classes").as_deref(), Some(CLASSES));
    assert_eq!(field(&valid, "address"), None, "not in the rental profile");
    let warning = &valid["warnings"][0];
    assert_eq!(warning["code"], "status_list_stale", "{valid}");
    assert!(
        warning["en"].as_str().unwrap().contains("2 d 23 h old"),
        "{warning}"
    );
    assert!(
        warning["zh"].as_str().unwrap().contains("2 天 23 小时"),
        "{warning}"
    );
    assert!(valid["presented_at"].as_u64().unwrap() <= valid["now"].as_u64().unwrap());

    for (text, expected) in [
        (&codes.revoked, "revoked_by_status_list"),
        (&codes.stale, "stale_presentation"),
        (&codes.foreign, "unknown_issuer"),
    ] {
        let verdict = scan(&station, text);
        assert_eq!(reason(&verdict), expected, "{verdict}");
        assert_eq!(verdict["verdict"], "rejected");
        assert!(verdict["message"]["zh"]
            .as_str()
            .unwrap()
            .chars()
            .any(|c| c >= '\u{4e00}'));
    }

    // The full profile verifies, but a rental desk may not see it: nothing leaves the station.
    let reply = request(
        station.port,
        "POST",
        "/api/scan",
        &[],
        codes.valid_full.as_bytes(),
    );
    let full = reply.json();
    assert_eq!(reason(&full), "profile_not_allowed_at_desk", "{full}");
    assert_eq!(full["fields"], serde_json::json!([]));
    let body = String::from_utf8_lossy(&reply.body);
    assert!(
        !body.contains(NAME) && !body.contains(LICENCE_NUMBER),
        "{body}"
    );

    // A US-set scanner on German and French computers: repaired, with the setting to change.
    for (typed, layout) in [
        (keyboards::on_german(&codes.valid_rental), "german"),
        (keyboards::on_french(&codes.valid_rental), "french_azerty"),
    ] {
        assert_ne!(typed, codes.valid_rental);
        let verdict = scan(&station, &typed);
        assert_eq!(verdict["verdict"], "valid", "{layout}: {verdict}");
        assert_eq!(verdict["scanner_note"]["layout"], layout);
        assert!(verdict["scanner_note"]["en"]
            .as_str()
            .unwrap()
            .contains("keyboard language"));
    }
    let garbage = scan(&station, "hello, this is not a licence");
    assert_eq!(reason(&garbage), "scanner_layout_unknown");

    // Camera frames: nothing, then the code (announced), then the same code (not again).
    let empty = frame(&station, &video::empty_frame());
    assert_eq!(empty.status, 200);
    assert_eq!(empty.json()["found"], false);
    let with_code = video::phone_frames(&codes.valid_rental, 2, 7);
    std::thread::sleep(Duration::from_millis(60));
    let first = frame(&station, &with_code[0]).json();
    assert_eq!(
        (first["found"].clone(), first["repeat"].clone()),
        (true.into(), false.into()),
        "{first}"
    );
    assert_eq!(first["verdict"], "valid");
    std::thread::sleep(Duration::from_millis(60));
    let again = frame(&station, &with_code[1]).json();
    assert_eq!(again["repeat"], true, "{again}");
    assert_eq!(again["history_id"], first["history_id"]);

    let history = request(station.port, "GET", "/api/history", &[], b"").json();
    let camera: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "camera")
        .collect();
    assert_eq!(camera.len(), 1, "{history}");
    assert_eq!(camera[0]["sightings"], 2);
    let history_text = history.to_string();
    assert!(!history_text.contains(NAME) && !history_text.contains(LICENCE_NUMBER));
    assert!(camera[0]["serial_tag"].as_str().unwrap().len() == 16);
}

#[test]
fn imports_follow_the_store_rules_and_the_start_is_fail_closed() {
    let world = World::new();
    let store = world.store("store");
    let station = Running::start(&store, "officer");
    let codes = world.codes();

    let status = request(station.port, "GET", "/api/status", &[], b"").json();
    assert_eq!(status["bundle"], serde_json::Value::Null);
    assert_eq!(status["problem"]["code"], "no_trust_bundle");
    assert_eq!(
        reason(&scan(&station, &codes.valid_rental)),
        "no_trust_bundle"
    );

    // A folder (USB stick): the bundle goes in first, then the list that needs it.
    let reply = request(
        station.port,
        "POST",
        "/api/import-folder",
        &[],
        world.published.to_str().unwrap().as_bytes(),
    );
    let imported = reply.json();
    assert_eq!(imported["ok"], true, "{imported}");
    let kinds: Vec<&str> = imported["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["trust_bundle", "status_list"]);
    let status = request(station.port, "GET", "/api/status", &[], b"").json();
    assert_eq!(status["bundle"]["version"], world.bundle_version);
    let list = &status["lists"][0];
    assert_eq!(list["issuer"], "川J");
    assert_eq!(list["stale"], true);
    assert!(list["age_s"].as_u64().unwrap() > 2 * 86_400, "{list}");
    assert_eq!(
        scan(&station, &codes.valid_full)["verdict"],
        "valid",
        "the officer desk sees all"
    );

    // The older bundle by upload: refused as a rollback, in both languages.
    let old = std::fs::read(&world.old_bundle).unwrap();
    let reply = request(
        station.port,
        "POST",
        "/api/import?name=trust-bundle.cbor",
        &[],
        &old,
    );
    assert_eq!(reply.status, 422);
    let refused = &reply.json()["results"][0];
    assert_eq!(refused["code"], "trust_bundle_rollback", "{refused}");
    assert!(refused["message"]["zh"].as_str().unwrap().contains("回退"));
    let mut tampered = std::fs::read(&world.bundle).unwrap();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let reply = request(
        station.port,
        "POST",
        "/api/import?name=x.cbor",
        &[],
        &tampered,
    );
    assert_eq!(
        reply.status,
        422,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let status = request(station.port, "GET", "/api/status", &[], b"").json();
    assert_eq!(
        status["bundle"]["version"], world.bundle_version,
        "nothing replaced"
    );

    // Many uploads at once (two clerks' tabs, a double click): each is decided and
    // written whole; the newest bundle stays.
    let bundle = std::fs::read(&world.bundle).unwrap();
    let list = std::fs::read(&world.status_list).unwrap();
    let statuses: Vec<(bool, u16)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|i| {
                let (bundle, list, old) = (&bundle, &list, &old);
                scope.spawn(move || {
                    let (name, bytes) = match i % 3 {
                        0 => ("trust-bundle.cbor", bundle),
                        1 => ("status-list.cbor", list),
                        _ => ("trust-bundle.cbor", old),
                    };
                    let path = format!("/api/import?name={name}");
                    (
                        i % 3 == 2,
                        request(station.port, "POST", &path, &[], bytes).status,
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (is_old, status) in statuses {
        assert_eq!(status, if is_old { 422 } else { 200 });
    }
    let status = request(station.port, "GET", "/api/status", &[], b"").json();
    assert_eq!(status["bundle"]["version"], world.bundle_version);
    assert_eq!(status["lists"].as_array().unwrap().len(), 1);
    assert_eq!(
        scan(&station, &codes.revoked)["reason"],
        "revoked_by_status_list"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&store)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // One station per store.
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_station"))
        .arg("--store")
        .arg(&store)
        .args(["--desk", "rental", "--listen", "127.0.0.1:0", "--no-open"])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("already running"), "{stderr}");
}

#[test]
fn other_sites_large_requests_and_remote_addresses_are_refused() {
    let world = World::new();
    let station = Running::start(&world.full_store("store"), "rental");
    let port = station.port;

    let page = request(port, "GET", "/", &[], b"");
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"));
    let html = String::from_utf8_lossy(&page.body);
    assert!(
        !html.contains("https://") && !html.contains("//cdn"),
        "assets are embedded"
    );
    assert_eq!(request(port, "GET", "/app.js", &[], b"").status, 200);

    // DNS rebinding: a foreign host name pointing at 127.0.0.1.
    let rebound = request(port, "GET", "/api/status", &[("Host", "evil.example")], b"");
    assert_eq!(rebound.status, 421);
    // Another site's page posting to the station.
    let cross = request(
        port,
        "POST",
        "/api/scan",
        &[("Origin", "http://evil.example")],
        b"DL1:ABC",
    );
    assert_eq!(cross.status, 403);
    let own = request(
        port,
        "POST",
        "/api/scan",
        &[("Origin", &format!("http://127.0.0.1:{port}"))],
        b"DL1:ABC",
    );
    assert_eq!(own.status, 200);

    let huge = vec![b'A'; 20 * 1024];
    assert_eq!(request(port, "POST", "/api/scan", &[], &huge).status, 413);
    let too_many_pixels = request(port, "POST", "/api/frame?w=4000&h=3000", &[], b"x");
    assert_eq!(too_many_pixels.status, 413);
    assert_eq!(too_many_pixels.json()["code"], "frame_too_large");
    let wrong = request(port, "POST", "/api/frame?w=100&h=100", &[], &[0u8; 99]);
    assert_eq!(wrong.json()["code"], "frame_wrong_size");

    let remote = std::process::Command::new(env!("CARGO_BIN_EXE_station"))
        .args(["--desk", "rental", "--listen", "0.0.0.0:0", "--no-open"])
        .arg("--store")
        .arg(world.full_store("store2"))
        .output()
        .unwrap();
    assert_eq!(remote.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&remote.stderr).contains("not a loopback address"));
}
