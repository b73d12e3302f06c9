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

/// The shared test server (or one of its own, [`durable_server`]).
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
    postgres_bin().map(|bin| {
        let cluster = start_cluster(&bin, None, "-c fsync=on -c synchronous_commit=on");
        Server {
            admin_url: cluster.admin_url,
            _running: Some(cluster.running),
        }
    })
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
            Some(bin) => {
                let cluster = start_cluster(&bin, None, "-c fsync=off");
                Some(Server {
                    admin_url: cluster.admin_url,
                    _running: Some(cluster.running),
                })
            }
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

/// A throwaway cluster of its own on 127.0.0.1 with TLS on, for the TLS tests (the
/// shared one listens on a unix socket only); stopped when dropped or when the
/// test process exits. Its log records each connection (`log_connections`), with
/// its TLS protocol.
pub struct TlsServer {
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// A plaintext URL of its `postgres` database over its unix socket.
    pub admin_url: String,
    dir: PathBuf,
    _running: Mutex<Child>,
}

impl TlsServer {
    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

/// Starts a [`TlsServer`] presenting `certificate_pem` (with `key_pem`); `None`
/// (after saying so) without PostgreSQL binaries outside CI.
pub fn tls_server(certificate_pem: &str, key_pem: &str) -> Option<TlsServer> {
    let Some(bin) = postgres_bin() else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true but no PostgreSQL binaries for the TLS test cluster"
        );
        eprintln!("note: PostgreSQL TLS tests skipped: no /usr/lib/postgresql/*/bin");
        return None;
    };
    let cluster = start_cluster(&bin, Some((certificate_pem, key_pem)), "-c fsync=off");
    Some(TlsServer {
        port: cluster.port.unwrap(),
        admin_url: cluster.admin_url,
        dir: cluster.dir,
        _running: cluster.running,
    })
}

struct Cluster {
    admin_url: String,
    dir: PathBuf,
    port: Option<u16>,
    running: Mutex<Child>,
}

/// A free TCP port on 127.0.0.1 (free when asked: the server binds it next).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Makes `path` the cluster owner's (PostgreSQL refuses a key file it does not own).
fn give_to_owner(path: &Path) {
    if is_root() {
        let id = |flag: &str| -> u32 {
            let out = Command::new("id")
                .args([flag, "postgres"])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
        };
        std::os::unix::fs::chown(path, Some(id("-u")), Some(id("-g"))).unwrap();
    }
}

/// `initdb` and a server on a unix socket in a new temporary directory; with
/// `tls` (certificate and key, PEM) also on a free port of 127.0.0.1 with TLS on.
fn start_cluster(bin: &Path, tls: Option<(&str, &str)>, settings: &str) -> Cluster {
    let dir = tempfile::Builder::new()
        .prefix("issuer-pg-")
        .tempdir()
        .unwrap()
        .keep();
    give_to_owner(&dir);
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
    let mut listen = "-c listen_addresses=".to_owned();
    let mut port = None;
    if let Some((certificate, key)) = tls {
        use std::os::unix::fs::PermissionsExt;
        for (name, pem) in [("server.crt", certificate), ("server.key", key)] {
            let path = dir.join(name);
            std::fs::write(&path, pem).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            give_to_owner(&path);
        }
        let chosen = free_port();
        port = Some(chosen);
        listen = format!(
            "-c listen_addresses=127.0.0.1 -c port={chosen} -c ssl=on -c ssl_cert_file='{dir}/server.crt' -c ssl_key_file='{dir}/server.key' -c log_connections=on",
            dir = dir.display()
        );
    }
    // The server runs until our end of the wrapper's stdin closes (this process
    // exited, however), then stops and removes the cluster.
    let script = format!(
        "'{postgres}' -D '{data}' -k '{dir}' {listen} {settings} -c max_connections=300 >'{dir}/server.log' 2>&1 & pid=$!; cat >/dev/null; kill -INT $pid; wait $pid; rm -rf '{dir}'",
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
    // The socket's name carries the port.
    let admin_url = match port {
        Some(port) => format!("postgres://postgres@{encoded_dir}:{port}/postgres"),
        None => format!("postgres://postgres@{encoded_dir}/postgres"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while postgres::Client::connect(&admin_url, postgres::NoTls).is_err() {
        assert!(
            Instant::now() < deadline,
            "the test PostgreSQL did not start: {}",
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Cluster {
        admin_url,
        dir,
        port,
        running: Mutex::new(running),
    }
}
