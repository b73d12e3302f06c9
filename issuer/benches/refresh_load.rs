//! The refresh load test: real `issuer serve` processes on loopback, wallets posting
//! pre-signed requests, and the crypto floor measured in the same run.
//! `cargo bench -p issuer --bench refresh_load` (by hand, not in CI: about two
//! minutes on a 2-core machine; every run is bounded in time and count).
//!
//! Setup with the real binary: an authority, [`HOLDERS`] holders enrolled from CSV
//! with device keys and retained portraits, `issue --all`; once in a SQLite registry
//! and once in a PostgreSQL database on a throwaway cluster of the bench's own that
//! syncs its commits (`fsync=on`, as a deployment; skipped without PostgreSQL).
//!
//! Scenarios: SQLite with 1 node; PostgreSQL with 1, 2 and 4 nodes over the one
//! database; each with 8, 64 and 256 concurrent wallets. A wallet is a thread with
//! one **keep-alive** HTTP/1.1 connection to its node (wallets are spread over the
//! nodes) sending its next request when the previous one is answered; it speaks for
//! a stream of phones (request `k` of wallet `w` is holder `w + k·W`'s), so the
//! holders share the load evenly. Every request is signed before the run (the
//! wallets do no cryptography while measured). Reported: refreshes/s (answers `ok`),
//! p50 and p99 of the time from sending a request to its answer, and the ratio to
//! the **crypto floor**: the rate at which this machine, on all its cores, does one
//! request verification and four signatures — what one refresh needs at least —
//! measured for one second right before and right after each scenario (the mean is
//! that scenario's floor: on a shared VM the CPU the host lets us have drifts within
//! minutes, so a floor from the start of the run misjudges the later scenarios). The
//! share of the CPU the host stole (`steal` in /proc/stat) during each scenario is
//! reported beside it.
//!
//! Then the kill: PostgreSQL, 2 nodes, 64 wallets; one node is killed with SIGKILL
//! mid-run; its wallets send the request they were waiting on, unchanged, to the
//! other node (`replayed` there means the dead node committed it but its answer was
//! lost: the wallet would make a new request). Checked against the registry: audit
//! rows added = `ok` answers + answers lost that way (nothing lost, nothing
//! duplicated).
//!
//! `ISSUER_BENCH_BINARY=path/to/issuer` runs another build of the service (the
//! before/after comparison of README uses a build of the previous commit);
//! `ISSUER_BENCH_SECONDS` sets each scenario's duration (default 3);
//! `ISSUER_BENCH_BACKENDS=sqlite` (or `postgres`) measures only that backend;
//! `ISSUER_BENCH_ONLY=2x64` only the scenario of 2 nodes and 64 wallets (to profile
//! one cell).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/office_commands.rs"]
mod office_commands;
#[path = "../tests/common/postgres_server.rs"]
mod postgres_server;
#[path = "../tests/common/serve_process.rs"]
mod serve_process;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use credential::ed25519_dalek::{Signer, SigningKey};
use credential::refresh::{RefreshRequest, RefreshResponse};
use credential::Profile;
use serve_process::ServeProcess;
use wallet_core::{SoftwareDeviceKey, Wallet};

/// Enough that PostgreSQL's statistics and plans are those of a real table (at
/// 1,024 a sequential scan looked cheap and hid a plan that walked the primary key;
/// migration V6), and that each holder is refreshed a few times per scenario,
/// not dozens.
const HOLDERS: usize = 4096;
const WALLETS: [usize; 3] = [8, 64, 256];
/// Requests signed per scenario, at most (the count bound; the time bound is
/// `ISSUER_BENCH_SECONDS`).
const REQUESTS_PER_RUN: usize = 24_000;
const PASSPHRASE: &str = "bench passphrase";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn device_seed(i: usize) -> [u8; 32] {
    credential::signature::sha256(format!("bench device {i}").as_bytes())
}

/// Where a scenario's registry is.
#[derive(Clone)]
enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }

    /// Refresh audit rows so far.
    fn refreshes_audited(&self, registry: &Path) -> i64 {
        const SQL: &str = "SELECT count(*) FROM audit WHERE action = 'credential.refresh'";
        match self {
            Backend::Sqlite => rusqlite::Connection::open(registry.join("registry.sqlite"))
                .unwrap()
                .query_row(SQL, [], |row| row.get(0))
                .unwrap(),
            Backend::Postgres(url) => postgres::Client::connect(url, postgres::NoTls)
                .unwrap()
                .query_one(SQL, &[])
                .unwrap()
                .get(0),
        }
    }
}

/// The registry of one backend: the folder (keys, and the SQLite file) and how to
/// run the issuer on it.
struct Office {
    /// Set up but not measured.
    skip: bool,
    registry: PathBuf,
    backend: Backend,
    binary: PathBuf,
}

impl Office {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command.arg("--registry").arg(&self.registry);
        if let Backend::Postgres(url) = &self.backend {
            command.arg("--database").arg(url);
        }
        command
            .args(args)
            .env_remove("ISSUER_DATABASE")
            .env("ISSUER_PASSPHRASE", PASSPHRASE)
            .env("ISSUER_INSECURE_FAST_KDF", "1");
        command
    }

    fn run(&self, args: &[&str]) {
        let out = self.command(args).output().unwrap();
        assert!(
            out.status.success(),
            "issuer {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Root, one authority, [`HOLDERS`] holders with device keys and portraits, each
    /// with a credential.
    fn set_up(dir: &Path, backend: Backend, binary: &Path) -> Office {
        let office = Office {
            skip: false,
            registry: dir.join(format!("registry-{}", backend.name())),
            backend,
            binary: binary.to_owned(),
        };
        let at = (now() - 3600).to_string();
        office.run(&["--at", &at, "root", "init"]);
        office.run(&[&["--at", &at][..], &office_commands::ADD_AUTHORITY].concat());
        office_commands::portrait_file(dir);
        let mut csv = String::from("licence_number,name,sex,nationality,birth_date,address,file_number,first_issue_date,classes,valid_from,valid_to,authority,device_key,portrait\n");
        for i in 0..HOLDERS {
            let device = SigningKey::from_bytes(&device_seed(i));
            csv += &format!(
                "P{i:08},持证人{i},男,CHN,1985-01-01,四川省遂宁市船山区明月路{i}号,5109{i:08},2005-07-22,C1E,2020-07-22,2030-07-22,川J,{},portrait.jpg\n",
                hex::encode(device.verifying_key().to_bytes())
            );
        }
        let csv_path = dir.join("holders.csv");
        std::fs::write(&csv_path, csv).unwrap();
        let csv_path = csv_path.to_str().unwrap();
        office.run(&[
            "--at",
            &at,
            "holder",
            "import",
            "--all-or-nothing",
            csv_path,
        ]);
        office.run(&["--at", &at, "issue", "--all"]);
        office
    }

    fn start_nodes(&self, nodes: usize, logs: &Path) -> Vec<ServeProcess> {
        (0..nodes)
            .map(|n| {
                let log = logs.join(format!("{}-node{n}.log", self.backend.name()));
                ServeProcess::start(
                    self.command(&[]),
                    &["--refreshes-per-hour", "1000000000"],
                    Some(&log),
                )
            })
            .collect()
    }
}

/// `per_wallet` requests for each of `wallets`; request `k` of wallet `w` is holder
/// `w + k·wallets`'s, with a nonce unique in the whole bench (`run` tells runs apart).
fn signed_requests(
    wallets: usize,
    per_wallet: usize,
    run: u64,
    keys: &[SigningKey],
) -> Vec<Vec<Vec<u8>>> {
    let requested_at = now();
    (0..wallets)
        .map(|w| {
            (0..per_wallet)
                .map(|k| {
                    let key = &keys[(w + k * wallets) % keys.len()];
                    let mut nonce = [0u8; 16];
                    nonce[..4].copy_from_slice(&(run as u32).to_be_bytes());
                    nonce[4..8].copy_from_slice(&(w as u32).to_be_bytes());
                    nonce[8..].copy_from_slice(&(k as u64).to_be_bytes());
                    RefreshRequest {
                        device_key: key.verifying_key().to_bytes(),
                        requested_at,
                        nonce,
                        current: None,
                    }
                    .sign_with(|m| Ok::<_, ()>(credential::signature::sign(key, m)))
                    .unwrap()
                })
                .collect()
        })
        .collect()
}

/// A keep-alive HTTP/1.1 connection to one node.
struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    fn open(address: SocketAddr) -> std::io::Result<Connection> {
        let stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Connection {
            reader: BufReader::new(stream),
        })
    }

    /// POSTs one request; the status and body of the answer.
    fn post(&mut self, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        let mut message = format!(
            "POST /v1/refresh HTTP/1.1\r\nHost: issuer\r\nContent-Type: application/cbor\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        message.extend_from_slice(body);
        self.reader.get_mut().write_all(&message)?;
        let broken = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(broken("connection closed"));
        }
        let status: u16 = line
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| broken("status line"))?;
        let mut length = 0usize;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(broken("connection closed in the headers"));
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().map_err(|_| broken("length"))?;
                }
            }
        }
        let mut answer = vec![0; length];
        self.reader.read_exact(&mut answer)?;
        Ok((status, answer))
    }
}

/// What one wallet saw.
#[derive(Default)]
struct Tally {
    ok: u64,
    /// Other answers by code.
    refused: BTreeMap<String, u64>,
    /// Requests resent to another node after theirs did not answer.
    resent: u64,
    /// Resent requests the other node found already committed (answer lost).
    lost_answers: u64,
    latencies_us: Vec<u32>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.ok += other.ok;
        for (code, n) in other.refused {
            *self.refused.entry(code).or_default() += n;
        }
        self.resent += other.resent;
        self.lost_answers += other.lost_answers;
        self.latencies_us.extend(other.latencies_us);
    }
}

/// Sends `requests` one after the other over a keep-alive connection to
/// `addresses[first]`, until `deadline`; a request its node does not answer goes,
/// unchanged, to the next node (and the wallet stays there).
fn wallet(
    requests: Vec<Vec<u8>>,
    addresses: &[SocketAddr],
    first: usize,
    deadline: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let mut node = first;
    let mut connection: Option<Connection> = None;
    for request in requests {
        if Instant::now() >= deadline {
            break;
        }
        let sent = Instant::now();
        let mut resent = false;
        let answer = loop {
            let result = match connection.as_mut() {
                Some(connection) => connection.post(&request),
                None => Connection::open(addresses[node]).and_then(|mut opened| {
                    let answer = opened.post(&request);
                    connection = Some(opened);
                    answer
                }),
            };
            match result {
                Ok(answer) => break Some(answer),
                Err(_) if Instant::now() < deadline => {
                    connection = None;
                    node = (node + 1) % addresses.len();
                    resent = true;
                }
                Err(_) => break None,
            }
        };
        let Some((status, body)) = answer else { break };
        tally.resent += u64::from(resent);
        let elapsed = sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
        if status == 200 {
            tally.ok += 1;
            tally.latencies_us.push(elapsed);
            continue;
        }
        let code = RefreshResponse::decode(&body).map_or("undecodable", |r| r.code());
        if resent && code == "replayed" {
            tally.lost_answers += 1;
        } else {
            *tally.refused.entry(code.to_owned()).or_default() += 1;
        }
    }
    tally
}

/// Runs `requests` (one list per wallet) against `addresses` for at most
/// `duration`; `during` runs on the calling thread meanwhile.
fn load(
    requests: Vec<Vec<Vec<u8>>>,
    addresses: &[SocketAddr],
    duration: Duration,
    during: impl FnOnce(),
) -> (Tally, Duration) {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tally = Tally::default();
    std::thread::scope(|s| {
        let threads: Vec<_> = requests
            .into_iter()
            .enumerate()
            .map(|(w, requests)| {
                std::thread::Builder::new()
                    .stack_size(256 * 1024)
                    .spawn_scoped(s, move || {
                        wallet(requests, addresses, w % addresses.len(), deadline)
                    })
                    .unwrap()
            })
            .collect();
        during();
        for thread in threads {
            tally.add(thread.join().unwrap());
        }
    });
    (tally, started.elapsed())
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    f64::from(sorted[index]) / 1000.0
}

/// One verification of a real refresh request plus four signatures, on every core
/// for one second: refreshes/s the cryptography alone allows.
fn crypto_floor() -> f64 {
    let key = SigningKey::from_bytes(&device_seed(0));
    let request = RefreshRequest {
        device_key: key.verifying_key().to_bytes(),
        requested_at: now(),
        nonce: [1; 16],
        current: None,
    }
    .sign_with(|m| Ok::<_, ()>(credential::signature::sign(&key, m)))
    .unwrap();
    // A credential's signed structure is a few hundred bytes.
    let message = [0x42u8; 400];
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = Instant::now();
    let done: u64 = std::thread::scope(|s| {
        let threads: Vec<_> = (0..cores)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while started.elapsed() < Duration::from_secs(1) {
                        let verified = credential::refresh::verify_request(
                            std::hint::black_box(&request),
                            now(),
                            300,
                        );
                        assert!(verified.is_ok());
                        for _ in 0..4 {
                            std::hint::black_box(key.sign(std::hint::black_box(&message)));
                        }
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    });
    done as f64 / started.elapsed().as_secs_f64()
}

/// The phone's side: one new QR code (holder proof, base45, QR encoding), per
/// profile: the time per code and the QR version.
fn present_times(dir: &Path, package: &[u8]) -> Vec<(Profile, Duration, i16)> {
    let wallet_dir = dir.join("wallet");
    std::fs::create_dir(&wallet_dir).unwrap();
    let mut wallet = Wallet::open_with_key(
        &wallet_dir,
        Box::new(SoftwareDeviceKey::from_seed(&device_seed(0))),
    )
    .unwrap();
    wallet.enrol(package, now()).unwrap();
    [Profile::Full, Profile::Rental]
        .into_iter()
        .map(|profile| {
            let (mut n, t) = (0u32, Instant::now());
            while t.elapsed() < Duration::from_millis(500) {
                std::hint::black_box(wallet.present(profile, now()).unwrap());
                n += 1;
            }
            let version = wallet.present(profile, now()).unwrap().qr.version();
            (profile, t.elapsed() / n, version)
        })
        .collect()
}

struct Row {
    backend: &'static str,
    nodes: usize,
    wallets: usize,
    tally: Tally,
    elapsed: Duration,
    /// The crypto floor right before and right after the scenario.
    floors: (f64, f64),
    /// Share of the CPU time the host stole during the scenario.
    steal: Option<f64>,
}

/// The machine's CPU time so far, in ticks: (stolen by the host, all), from the
/// first line of /proc/stat (`None` where there is none).
fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest times are in user).
    let steal = *ticks.get(7)?;
    Some((steal, ticks.iter().take(8).sum()))
}

/// The share of CPU time stolen between two [`cpu_ticks`] readings.
fn stolen(before: Option<(u64, u64)>, after: Option<(u64, u64)>) -> Option<f64> {
    let ((steal0, all0), (steal1, all1)) = (before?, after?);
    (all1 > all0).then(|| (steal1 - steal0) as f64 / (all1 - all0) as f64)
}

fn main() {
    let binary = std::env::var_os("ISSUER_BENCH_BINARY").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_issuer")),
        PathBuf::from,
    );
    let seconds: f64 = std::env::var("ISSUER_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let duration = Duration::from_secs_f64(seconds);
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path();
    let keys: Vec<SigningKey> = (0..HOLDERS)
        .map(|i| SigningKey::from_bytes(&device_seed(i)))
        .collect();

    let backends = std::env::var("ISSUER_BENCH_BACKENDS").unwrap_or_default();
    // `NODESxWALLETS` (e.g. `2x64`): only that scenario, for profiling one cell.
    let only = std::env::var("ISSUER_BENCH_ONLY").ok();
    let wanted = |nodes: usize, wallets: usize| {
        only.as_ref()
            .is_none_or(|only| *only == format!("{nodes}x{wallets}"))
    };
    let postgres = if backends == "sqlite" {
        None
    } else {
        postgres_server::durable_server()
    };
    let mut offices = vec![Office::set_up(dir.path(), Backend::Sqlite, &binary)];
    if backends == "postgres" {
        // Still set up: the present() timing uses its package. Not measured.
        offices[0].skip = true;
    }
    if let Some(server) = &postgres {
        let mut admin = postgres::Client::connect(&server.admin_url, postgres::NoTls).unwrap();
        admin.batch_execute("CREATE DATABASE bench").unwrap();
        let url = postgres_server::with_database(&server.admin_url, "bench");
        offices.push(Office::set_up(dir.path(), Backend::Postgres(url), &binary));
    } else {
        eprintln!("no PostgreSQL (/usr/lib/postgresql/*/bin): its scenarios are skipped");
    }

    let mut rows = Vec::new();
    let mut run = 0u64;
    for office in &offices {
        let node_counts: &[usize] = match office.backend {
            Backend::Sqlite if office.skip => &[],
            Backend::Sqlite => &[1],
            Backend::Postgres(_) => &[1, 2, 4],
        };
        for &nodes in node_counts {
            if !WALLETS.iter().any(|&wallets| wanted(nodes, wallets)) {
                continue;
            }
            let serving = office.start_nodes(nodes, logs);
            let addresses: Vec<SocketAddr> = serving.iter().map(|s| s.address).collect();
            for wallets in WALLETS {
                if !wanted(nodes, wallets) {
                    continue;
                }
                run += 1;
                // Warm-up: every node's connection, statements and caches.
                let warm = signed_requests(wallets.max(4 * nodes), 8, 1000 + run, &keys);
                load(warm, &addresses, Duration::from_millis(300), || {});
                let requests = signed_requests(wallets, REQUESTS_PER_RUN / wallets, run, &keys);
                let floor_before = crypto_floor();
                let ticks = cpu_ticks();
                let (tally, elapsed) = load(requests, &addresses, duration, || {});
                let steal = stolen(ticks, cpu_ticks());
                let floors = (floor_before, crypto_floor());
                eprintln!(
                    "{} {nodes} node(s), {wallets} wallets: {} ok",
                    office.backend.name(),
                    tally.ok
                );
                rows.push(Row {
                    backend: office.backend.name(),
                    nodes,
                    wallets,
                    tally,
                    elapsed,
                    floors,
                    steal,
                });
            }
        }
    }

    // The kill: 2 PostgreSQL nodes, 64 wallets, one node killed mid-run.
    let mut kill_report = None;
    if let Some(office) = offices.get(1) {
        let mut serving = office.start_nodes(2, logs);
        let addresses: Vec<SocketAddr> = serving.iter().map(|s| s.address).collect();
        let before = office.backend.refreshes_audited(&office.registry);
        let requests = signed_requests(64, REQUESTS_PER_RUN / 64, 9999, &keys);
        let mut victim = serving.remove(0);
        let (tally, elapsed) = load(requests, &addresses, duration, || {
            std::thread::sleep(duration / 2);
            victim.kill();
        });
        let added = office.backend.refreshes_audited(&office.registry) - before;
        kill_report = Some((tally, elapsed, added));
    }
    // A package for holder 0's phone, for the present() timing.
    let package = {
        let node = offices[0].start_nodes(1, logs).remove(0);
        let request = signed_requests(1, 1, 10_000, &keys).remove(0).remove(0);
        let (status, body) = Connection::open(node.address)
            .unwrap()
            .post(&request)
            .unwrap();
        assert_eq!(status, 200);
        RefreshResponse::decode(&body)
            .unwrap()
            .package()
            .unwrap()
            .to_vec()
    };
    let presents = present_times(dir.path(), &package);

    println!(
        "crypto floor: 1 request verification + 4 signatures on {} cores, for 1 s right before and right after each scenario",
        std::thread::available_parallelism().map_or(2, |n| n.get())
    );
    println!("service: {}", binary.display());
    println!("{HOLDERS} holders, keep-alive connections, {seconds} s per scenario\n");
    println!("| backend | nodes | wallets | refreshes/s | p50 | p99 | ratio to the floor | floor (before, after) | CPU stolen | other answers |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for row in &mut rows {
        row.tally.latencies_us.sort_unstable();
        let rate = row.tally.ok as f64 / row.elapsed.as_secs_f64();
        let other: Vec<String> = row
            .tally
            .refused
            .iter()
            .map(|(code, n)| format!("{n} {code}"))
            .collect();
        let (before, after) = row.floors;
        let floor = (before + after) / 2.0;
        println!(
            "| {} | {} | {} | {rate:.0} | {:.1} ms | {:.1} ms | {:.1} % | {floor:.0} ({before:.0}, {after:.0}) | {} | {} |",
            row.backend,
            row.nodes,
            row.wallets,
            percentile(&row.tally.latencies_us, 0.50),
            percentile(&row.tally.latencies_us, 0.99),
            100.0 * rate / floor,
            row.steal
                .map_or_else(|| "n/a".to_owned(), |s| format!("{:.0} %", 100.0 * s)),
            if other.is_empty() {
                "none".to_owned()
            } else {
                other.join(", ")
            }
        );
    }
    if let Some((tally, elapsed, added)) = kill_report {
        let accounted = tally.ok + tally.lost_answers;
        println!(
            "\nkill -9 of 1 of 2 PostgreSQL nodes mid-run (64 wallets, {elapsed:.1?}): {} ok answers, {} requests resent to the other node, {} of them already committed by the dead node (answer lost), other answers {:?}; audit rows added {added} = ok + lost answers {accounted}: {}",
            tally.ok,
            tally.resent,
            tally.lost_answers,
            tally.refused,
            if u64::try_from(added).is_ok_and(|a| a == accounted) {
                "nothing lost, nothing duplicated"
            } else {
                "MISMATCH"
            }
        );
    }
    for (profile, per_code, version) in presents {
        println!(
            "wallet `present({profile})` (holder proof + QR v{version}): {per_code:.2?} per code"
        );
    }
}
