//! Just enough W3C WebDriver to drive Debian's chromium through chromedriver:
//! sessions, navigation, script, elements, key actions, screenshots, logs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use super::client;

/// chromium and chromedriver, if installed. Override with STATION_CHROMIUM / STATION_CHROMEDRIVER.
pub fn find_browser() -> Option<(PathBuf, PathBuf)> {
    let find = |var: &str, names: &[&str]| -> Option<PathBuf> {
        if let Ok(path) = std::env::var(var) {
            return Some(PathBuf::from(path)).filter(|p| p.is_file());
        }
        let paths = std::env::var_os("PATH")?;
        std::env::split_paths(&paths)
            .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
            .find(|p| p.is_file())
    };
    Some((
        find("STATION_CHROMIUM", &["chromium", "chromium-browser"])?,
        find("STATION_CHROMEDRIVER", &["chromedriver"])?,
    ))
}

/// Skips (prints why) when no browser is installed, except under CI=true, where a
/// missing browser is a broken CI image and fails the test.
pub fn browser_or_skip(test: &str) -> Option<(PathBuf, PathBuf)> {
    match find_browser() {
        Some(found) => Some(found),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "{test}: chromium/chromedriver not found under CI=true; .ci/run installs them (apt-get install chromium chromium-driver)"
        ),
        None => {
            // Straight to stderr: the test harness captures `println!`, and a skip
            // must be seen.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: chromium and chromedriver are not installed (apt-get install chromium chromium-driver); CI runs it"
            );
            None
        }
    }
}

pub struct Driver {
    port: u16,
    session: String,
    child: Child,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Driver {
    /// Starts chromedriver and a headless chromium with the machine's root-safe
    /// flags, the fake camera playing `video`, and the performance log on.
    pub fn start(chromium: &Path, chromedriver: &Path, video: Option<&Path>) -> Driver {
        let port = free_port();
        let mut command = Command::new(chromedriver);
        if let Some(log) = std::env::var_os("STATION_CHROMEDRIVER_LOG") {
            command
                .arg("--verbose")
                .arg(format!("--log-path={}", PathBuf::from(log).display()));
        }
        let child = command
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && client::request(port, "GET", "/status", &[], b"").json()["value"]["ready"]
                    == true;
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=1280,1100".into(),
            format!("--user-data-dir={}", profile.path().display()),
            "--use-fake-ui-for-media-stream".into(),
        ];
        if let Some(video) = video {
            args.push("--use-fake-device-for-media-stream".into());
            args.push(format!(
                "--use-file-for-fake-video-capture={}",
                video.display()
            ));
        }
        let mut driver = Driver {
            port,
            session: String::new(),
            child,
            _profile: profile,
        };
        let session = driver.call(
            "POST",
            "/session",
            json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                // Chromedriver otherwise holds some commands (the log, clicks) until
                // the page stops loading, which a page streaming frames never does.
                "pageLoadStrategy": "none",
                "goog:chromeOptions": {"binary": chromium, "args": args,
                    "perfLoggingPrefs": {"enableNetwork": true, "enablePage": false}},
                "goog:loggingPrefs": {"performance": "ALL", "browser": "ALL"},
            }}}),
        );
        driver.session = session["sessionId"].as_str().unwrap().to_owned();
        driver
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if method == "GET" {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        let reply = client::request(
            self.port,
            method,
            path,
            &[("Content-Type", "application/json; charset=utf-8")],
            &body,
        );
        let value = reply.json();
        assert!(
            reply.status == 200,
            "WebDriver {method} {path}: {} {value}",
            reply.status
        );
        value["value"].clone()
    }

    fn session_call(&self, method: &str, path: &str, body: Value) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    pub fn goto(&self, url: &str) {
        self.session_call("POST", "/url", json!({"url": url}));
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its value.
    pub fn execute(&self, script: &str, args: Value) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
    }

    /// Runs an async script: the last argument is the callback.
    pub fn execute_async(&self, script: &str, args: Value) -> Value {
        self.session_call(
            "POST",
            "/execute/async",
            json!({"script": script, "args": args}),
        )
    }

    pub fn element(&self, css: &str) -> String {
        let found = self.session_call(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap()
            .to_owned()
    }

    /// Clicks through the DOM: chromedriver's element click waits for the page to
    /// settle, which a page streaming camera frames never does.
    pub fn click(&self, css: &str) {
        self.execute("document.querySelector(arguments[0]).click()", json!([css]));
    }

    /// Types into an element (for file inputs: newline-separated paths).
    pub fn send_keys(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.session_call(
            "POST",
            &format!("/element/{id}/value"),
            json!({"text": text}),
        );
    }

    /// Types `text` as key presses to whatever has focus, `pause_ms` between keys,
    /// then Enter if `enter` (U+E007 is WebDriver's Enter key).
    pub fn type_keys(&self, text: &str, pause_ms: u64, enter: bool) {
        let mut actions = Vec::new();
        for c in text.chars() {
            let key = c.to_string();
            actions.push(json!({"type": "keyDown", "value": key}));
            actions.push(json!({"type": "keyUp", "value": key}));
            actions.push(json!({"type": "pause", "duration": pause_ms}));
        }
        if enter {
            actions.push(json!({"type": "keyDown", "value": "\u{E007}"}));
            actions.push(json!({"type": "keyUp", "value": "\u{E007}"}));
        }
        self.session_call(
            "POST",
            "/actions",
            json!({"actions": [{"type": "key", "id": "scanner", "actions": actions}]}),
        );
        self.session_call("DELETE", "/actions", json!({}));
    }

    pub fn screenshot(&self) -> Vec<u8> {
        let data = self.session_call("GET", "/screenshot", json!(null));
        base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap())
            .unwrap()
    }

    /// Entries of a chromedriver log (`performance`, `browser`), drained.
    pub fn log(&self, kind: &str) -> Vec<Value> {
        let path = format!("/session/{}/se/log", self.session);
        let reply = client::request(
            self.port,
            "POST",
            &path,
            &[("Content-Type", "application/json")],
            json!({"type": kind}).to_string().as_bytes(),
        );
        let reply = if reply.status == 200 {
            reply
        } else {
            client::request(
                self.port,
                "POST",
                &format!("/session/{}/log", self.session),
                &[("Content-Type", "application/json")],
                json!({"type": kind}).to_string().as_bytes(),
            )
        };
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        reply.json()["value"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// URLs of the requests the browser sent since the last call (the performance
    /// log, drained; read it often, chromedriver is slow with a long one).
    pub fn requests_sent(&self) -> Vec<String> {
        self.log("performance")
            .iter()
            .filter_map(|entry| serde_json::from_str::<Value>(entry["message"].as_str()?).ok())
            .filter(|m| m["message"]["method"] == "Network.requestWillBeSent")
            .filter_map(|m| {
                Some(
                    m["message"]["params"]["request"]["url"]
                        .as_str()?
                        .to_owned(),
                )
            })
            .collect()
    }

    /// Polls `script` until it returns something other than null/false, or panics
    /// with `what` after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, script: &str, args: Value) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.execute(script, args.clone());
            if !value.is_null() && value != Value::Bool(false) {
                return value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Driver {
    /// Ends the session (which closes chromium) even when the test failed: killing
    /// chromedriver alone leaves the browser running.
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let path = format!("/session/{}", self.session);
            let _ = client::try_request(self.port, "DELETE", &path, Duration::from_secs(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
