//! `station`: the verifier station for one desk. Serves the page on 127.0.0.1 and
//! opens the browser.
//!
//! Exit codes: 0 after a clean stop, 2 when it cannot start (store, lock, address).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use credential::Policy;
use station::desk::Desk;
use station::station::FrameLimits;
use station::{Config, Server, Station};

#[derive(Parser)]
#[command(
    name = "station",
    version,
    about = "Verifier station: camera and scanner verification in the browser, offline"
)]
struct Cli {
    /// Store directory of the verifier (set up with `verifier init` / `trust import`).
    #[arg(long, env = "VERIFIER_STORE", default_value = "verifier-store")]
    store: PathBuf,
    /// What this desk may see: rental, insurance, employment (that profile only) or officer (all).
    #[arg(long, value_parser = parse_desk)]
    desk: Desk,
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8045")]
    listen: SocketAddr,
    /// Allow a non-loopback --listen address (the page then has no protection of its own).
    #[arg(long)]
    allow_remote: bool,
    /// Do not open the browser.
    #[arg(long)]
    no_open: bool,
    /// Freshness window in seconds.
    #[arg(long, default_value_t = Policy::default().freshness_window_s)]
    window: u64,
    /// Allowed clock skew in seconds.
    #[arg(long, default_value_t = Policy::default().clock_skew_s)]
    skew: u64,
}

fn parse_desk(text: &str) -> Result<Desk, String> {
    Desk::parse(text).ok_or_else(|| {
        format!("unknown desk {text}; use rental, insurance, employment or officer (the full profile is for officers)")
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    verifier::scan::silence_contained_panics();
    let config = Config {
        store: cli.store.clone(),
        desk: cli.desk,
        policy: Policy {
            freshness_window_s: cli.window,
            clock_skew_s: cli.skew,
            ..Policy::default()
        },
        frames: FrameLimits::default(),
    };
    let station = match Station::open(config) {
        Ok(station) => station,
        Err(e) => {
            eprintln!("station: {e}\nstation: {}", e.message().zh);
            return ExitCode::from(2);
        }
    };
    let server = match Server::bind(station, cli.listen, cli.allow_remote) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("station: {e}");
            return ExitCode::from(2);
        }
    };
    let url = server.url();
    println!(
        "station: {url} (desk {}, store {}); Ctrl-C to stop",
        cli.desk.name(),
        cli.store.display()
    );
    if !cli.no_open {
        open_browser(&url);
    }
    server.run();
    ExitCode::SUCCESS
}

/// Best effort: the URL is printed either way.
fn open_browser(url: &str) {
    let mut command = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    let spawned = command
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if spawned.is_err() {
        eprintln!("station: could not open a browser; open {url} yourself");
    }
}
