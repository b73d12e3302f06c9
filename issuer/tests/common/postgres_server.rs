//! A PostgreSQL server for tests, shared by the store's unit tests
//! (`src/store/postgres.rs`) and the end-to-end suites (`tests/common`).
//!
//! With `ISSUER_TEST_POSTGRES` set (a connection URL, as `.ci/run` exports it) that
//! server is used; otherwise a throwaway cluster is started once per test process:
//! `initdb` into a temporary directory (as the `postgres` user when running as root,
//! since PostgreSQL refuses to run as root), listening only on a unix socket in
//! that directory — no TCP port, so parallel test processes never collide. The
//! server is stopped and its directory removed when the test process exits: its
//! wrapper shell waits for the end of its standard input, which only the test
//! process holds.
//!
//! Each test gets a database of its own ([`fresh_database`]). Without PostgreSQL
//! (`/usr/lib/postgresql/*/bin`) the tests say so and pass, except under `CI=true`,
//! where a missing server fails them: CI installs it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The variable naming an existing server.
pub const SERVER_VARIABLE: &str = "ISSUER_TEST_POSTGRES";

pub struct Server {
    /// A URL of the server's `postgres` database, for creating test databases.
    pub admin_url: String,
    /// The wrapper that stops the server when this process ends.
    _running: Option<Mutex<Child>>,
}

static SERVER: OnceLock<Option<Server>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// Whether a PostgreSQL server is there for the tests (see the module doc).
pub fn available() -> bool {
    server().is_some()
}

/// The URL of a new, empty database on the test server; `None` (after saying so on
/// stderr) when there is no PostgreSQL and this is not CI.
pub fn fresh_database() -> Option<String> {
    let server = server().as_ref()?;
    let name = format!(
        "issuer_test_{}_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, Ordering::SeqCst),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let mut admin = postgres::Client::connect(&server.admin_url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("test server {}: {e}", server.admin_url));
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    Some(with_database(&server.admin_url, &name))
}

/// `url` naming database `name` instead of its own.
pub fn with_database(url: &str, name: &str) -> String {
    let authority = url.find("://").map_or(0, |i| i + 3);
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let host_end = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    format!("{}/{name}{query}", &base[..host_end])
}

/// A throwaway cluster of its own that syncs its commits as a deployment does
/// (`fsync` on; the tests' shared one runs with `fsync=off`), for a benchmark; it
/// stops when the returned value is dropped. `None` without PostgreSQL.
pub fn durable_server() -> Option<Server> {
    postgres_bin().map(|bin| start_cluster(&bin, "-c fsync=on -c synchronous_commit=on"))
}

fn server() -> &'static Option<Server> {
    SERVER.get_or_init(|| {
        if let Ok(url) = std::env::var(SERVER_VARIABLE) {
            return Some(Server {
                admin_url: url,
                _running: None,
            });
        }
        match postgres_bin() {
            Some(bin) => Some(start_cluster(&bin, "-c fsync=off")),
            None if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
                "CI=true but no PostgreSQL: install it (apt-get install -y postgresql) or set {SERVER_VARIABLE}"
            ),
            None => {
                eprintln!(
                    "note: PostgreSQL tests skipped: no /usr/lib/postgresql/*/bin and no {SERVER_VARIABLE}"
                );
                None
            }
        }
    })
}

/// The newest Debian PostgreSQL binaries.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// `program args…` as the cluster's owner: `postgres` when we are root.
fn as_owner(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// Starts a cluster with the server options `settings` (`-c name=value …`).
fn start_cluster(bin: &Path, settings: &str) -> Server {
    let dir = tempfile::Builder::new()
        .prefix("issuer-pg-")
        .tempdir()
        .unwrap()
        .keep();
    if is_root() {
        let id = |flag: &str| -> u32 {
            let out = Command::new("id")
                .args([flag, "postgres"])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
        };
        std::os::unix::fs::chown(&dir, Some(id("-u")), Some(id("-g"))).unwrap();
    }
    let data = dir.join("data");
    let initdb = as_owner(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ])
        .output()
        .unwrap();
    assert!(
        initdb.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&initdb.stderr)
    );
    // The server runs until our end of the wrapper's stdin closes (this process
    // exited, however), then stops and removes the cluster.
    let script = format!(
        "'{postgres}' -D '{data}' -k '{dir}' -c listen_addresses= {settings} -c max_connections=300 >'{dir}/server.log' 2>&1 & pid=$!; cat >/dev/null; kill -INT $pid; wait $pid; rm -rf '{dir}'",
        postgres = bin.join("postgres").display(),
        data = data.display(),
        dir = dir.display(),
    );
    let running = as_owner(Path::new("/bin/sh"))
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let encoded_dir = dir.display().to_string().replace('/', "%2F");
    let admin_url = format!("postgres://postgres@{encoded_dir}/postgres");
    let deadline = Instant::now() + Duration::from_secs(60);
    while postgres::Client::connect(&admin_url, postgres::NoTls).is_err() {
        assert!(
            Instant::now() < deadline,
            "the test PostgreSQL did not start: {}",
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        admin_url,
        _running: Some(Mutex::new(running)),
    }
}
