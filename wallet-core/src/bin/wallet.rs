//! `wallet`: a small command line over wallet-core, to try the holder's side.
//!
//! Exit codes: 0 success, 1 refused (revoked, expired, refresh refused, issuer
//! unreachable; `status` when the wallet would not present), 2 usage, input, I/O
//! error or corrupt wallet file. `--json` on every command.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use credential::Profile;
use serde_json::{json, Value};
use wallet_core::{HttpClient, RefreshOutcome, Wallet, WalletConfig, WalletError, WalletStatus};

#[derive(Parser)]
#[command(
    name = "wallet",
    version,
    about = "Driving licence wallet: holds the credential, shows the live QR code, refreshes from the issuer"
)]
struct Cli {
    /// Wallet directory (device key and credential).
    #[arg(long, env = "WALLET_DIR", global = true, default_value = "wallet")]
    dir: PathBuf,
    /// Machine-readable output.
    #[arg(long, global = true)]
    json: bool,
    /// Act as of this time (Unix seconds), for tests and demos.
    #[arg(long, global = true)]
    at: Option<u64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the wallet directory and its device key; prints the public key for the office.
    Init,
    /// Print the device public key (64 hex digits), e.g. for `issuer issue --device-key`.
    PublicKey,
    /// Store the credential package the office wrote (`issuer issue --device-key HEX --out FILE`).
    Enrol {
        /// The package file.
        #[arg(long)]
        package: PathBuf,
    },
    /// Fetch the current credential from the issuer's refresh service.
    Refresh {
        /// The service's base URL (plain http; TLS is the app's or the proxy's job).
        #[arg(long, env = "WALLET_ISSUER")]
        issuer: String,
    },
    /// Show the live QR code of a profile.
    Show {
        /// full, rental, insurance or employment.
        #[arg(long, default_value = "full")]
        profile: String,
        /// Write a PNG image here.
        #[arg(long, conflicts_with_all = ["svg", "text"])]
        png: Option<PathBuf>,
        /// Write an SVG image here.
        #[arg(long, conflicts_with_all = ["png", "text"])]
        svg: Option<PathBuf>,
        /// Print the QR text (DL1:...) only, e.g. for `verifier check`.
        #[arg(long, conflicts_with_all = ["png", "svg"])]
        text: bool,
        /// Pixels per module in the PNG.
        #[arg(long, default_value_t = 6)]
        scale: u32,
        /// Redraw a new code in the terminal every --qr-refresh seconds until interrupted.
        #[arg(long)]
        watch: bool,
        /// Seconds between two codes.
        #[arg(long, default_value_t = WalletConfig::default().qr_refresh_s)]
        qr_refresh: u64,
    },
    /// Holder, credential, expiry, last refresh and status.
    Status,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok((value, text, code)) => {
            if json {
                println!("{value}");
            } else if !text.is_empty() {
                println!("{text}");
            }
            ExitCode::from(code)
        }
        Err(error) => {
            if json {
                println!(
                    "{}",
                    json!({"ok": false, "error": error.code(), "message": error.to_string()})
                );
            }
            eprintln!("wallet: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

fn system_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Unix time as Beijing time, e.g. `2026-06-08 10:00:00 +08:00`.
fn local_time(t: u64) -> String {
    const OFFSET: i64 = 8 * 3600;
    let date = credential::date::Date::at(t, OFFSET);
    let seconds = (i128::from(t) + i128::from(OFFSET)).rem_euclid(86_400);
    format!(
        "{date} {:02}:{:02}:{:02} +08:00",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

fn read_file(path: &Path) -> Result<Vec<u8>, WalletError> {
    // A package is a few kilobytes; refuse to read something else by mistake.
    wallet_core::storage::read_bounded(path, 1024 * 1024)?.ok_or_else(|| WalletError::Io {
        path: path.to_owned(),
        source: std::io::ErrorKind::NotFound.into(),
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), WalletError> {
    wallet_core::storage::write_atomic(path, bytes, 0o644)
}

fn status_json(status: &WalletStatus) -> Value {
    let h = &status.holder;
    json!({
        "holder": {"name": h.name, "licence_number": h.licence_number, "classes": h.classes, "valid_from": h.valid_from,
            "valid_to": h.valid_to, "licence_status": h.licence_status, "points": h.points, "authority": h.authority},
        "serial": status.serial, "authority": status.authority, "status": status.status.name(), "issued_at": status.issued_at,
        "expires_at": status.time_left.expires_at, "seconds_left": status.time_left.seconds_left, "expired": status.time_left.expired,
        "refresh_recommended": status.time_left.refresh_recommended, "last_refresh_at": status.last_refresh_at,
        "replaced": status.replaced, "can_present": status.cannot_present.is_none(), "cannot_present": status.cannot_present,
    })
}

fn status_text(status: &WalletStatus) -> String {
    let h = &status.holder;
    let left = &status.time_left;
    let mut text = format!(
        "{}  licence {}  classes {}  valid {} to {}\nlicence status {}, {} penalty points, authority {}\ncredential {}/{}: {}, expires {}",
        h.name,
        h.licence_number,
        h.classes,
        h.valid_from,
        h.valid_to.as_deref().unwrap_or("长期 (long-term)"),
        h.licence_status,
        h.points,
        h.authority,
        status.authority,
        status.serial,
        status.status.name(),
        local_time(left.expires_at),
    );
    if left.expired {
        text += " (expired)";
    } else {
        text += &format!(
            " ({} left)",
            credential::verify::human_duration(left.seconds_left)
        );
    }
    text += &format!(
        "\nlast refresh: {}",
        status
            .last_refresh_at
            .map_or("never".to_owned(), local_time)
    );
    if let Some(old) = &status.replaced {
        text += &format!("\nreplaces credential {old} (superseded)");
    }
    if let Some(why) = &status.cannot_present {
        text += &format!("\ncannot show the code: {why}");
    } else if left.refresh_recommended {
        text += "\nrefresh needed: go online and run `wallet refresh`";
    }
    text
}

fn run(cli: Cli) -> Result<(Value, String, u8), WalletError> {
    let now = cli.at.unwrap_or_else(system_now);
    Ok(match &cli.command {
        Command::Init => {
            let wallet = Wallet::init(&cli.dir)?;
            let public = hex::encode(wallet.public_key());
            (
                json!({"ok": true, "dir": cli.dir, "device_key": public}),
                format!("wallet created in {}\ndevice public key (give it to the licensing office): {public}", cli.dir.display()),
                0,
            )
        }
        Command::PublicKey => {
            let public = hex::encode(Wallet::open(&cli.dir)?.public_key());
            (json!({"ok": true, "device_key": public}), public, 0)
        }
        Command::Enrol { package } => {
            let bytes = read_file(package)?;
            let mut wallet = Wallet::open(&cli.dir)?;
            wallet.enrol(&bytes, now)?;
            let status = wallet.status(now).ok_or(WalletError::NotEnrolled)?;
            let text = format!(
                "credential {}/{} stored\n{}",
                status.authority,
                status.serial,
                status_text(&status)
            );
            (json!({"ok": true, "wallet": status_json(&status)}), text, 0)
        }
        Command::Refresh { issuer } => {
            let client = HttpClient::new(issuer)?;
            let mut wallet = Wallet::open(&cli.dir)?;
            let outcome = wallet.refresh(&client, now, wallet_core::random_nonce()?)?;
            let (code, outcome_json, line) = match &outcome {
                RefreshOutcome::Refreshed { serial, expires_at } => {
                    (0, json!({"outcome": "refreshed", "serial": serial}), format!("refreshed: valid until {}", local_time(*expires_at)))
                }
                RefreshOutcome::Replaced { old, new, expires_at } => (
                    0,
                    json!({"outcome": "replaced", "old": old, "new": new}),
                    format!("new credential {new}{} stored, valid until {}", old.as_ref().map(|o| format!(" (replaces {o}, now superseded)")).unwrap_or_default(), local_time(*expires_at)),
                ),
                RefreshOutcome::Suspended { .. } => (1, json!({"outcome": "suspended"}), "the licence is suspended (暂扣): verifiers will refuse it until it is reinstated".to_owned()),
                RefreshOutcome::Revoked { message } => (1, json!({"outcome": "revoked", "message": message}), format!("the licence is revoked: {message}\nthe wallet will no longer show this credential")),
            };
            let mut value = json!({"ok": code == 0, "refresh": outcome_json});
            if let Some(status) = wallet.status(now) {
                value["wallet"] = status_json(&status);
            }
            (value, line, code)
        }
        Command::Show {
            profile,
            png,
            svg,
            text,
            scale,
            watch,
            qr_refresh,
        } => {
            let profile = Profile::parse(profile).ok_or_else(|| {
                WalletError::Qr(format!(
                    "unknown profile {profile:?}: use full, rental, insurance or employment"
                ))
            })?;
            let wallet = Wallet::open(&cli.dir)?.with_config(WalletConfig {
                qr_refresh_s: *qr_refresh,
            });
            if *watch && cli.at.is_none() && png.is_none() && svg.is_none() && !text {
                loop {
                    let presented = wallet.present(profile, system_now())?;
                    println!("\x1b[2J\x1b[H{}{} profile, QR version {}, new code in {} s (Ctrl-C to stop)", presented.qr.to_terminal(), profile, presented.qr.version(), wallet.config().qr_refresh_s);
                    std::thread::sleep(Duration::from_secs(wallet.config().qr_refresh_s.max(1)));
                }
            }
            let presented = wallet.present(profile, now)?;
            let value = json!({"ok": true, "profile": profile.name(), "text": presented.text, "presented_at": presented.presented_at,
                "refresh_at": presented.refresh_at, "qr_version": presented.qr.version(), "qr_width": presented.qr.width()});
            let out = if let Some(path) = png {
                write_file(path, &presented.qr.to_png(*scale)?)?;
                format!(
                    "{} QR (version {}) written to {}",
                    profile,
                    presented.qr.version(),
                    path.display()
                )
            } else if let Some(path) = svg {
                write_file(path, presented.qr.to_svg().as_bytes())?;
                format!(
                    "{} QR (version {}) written to {}",
                    profile,
                    presented.qr.version(),
                    path.display()
                )
            } else if *text {
                presented.text.clone()
            } else {
                format!("{}{} profile, QR version {}, valid for verifiers about 3 minutes; show a new one after {} s", presented.qr.to_terminal(), profile, presented.qr.version(), wallet.config().qr_refresh_s)
            };
            (value, out, 0)
        }
        Command::Status => {
            let wallet = Wallet::open(&cli.dir)?;
            let public = hex::encode(wallet.public_key());
            match wallet.status(now) {
                None => (json!({"ok": true, "device_key": public, "enrolled": false}), format!("device key {public}\nno credential yet: enrol with the package from the licensing office"), 0),
                Some(status) => {
                    let mut value = json!({"ok": true, "device_key": public, "enrolled": true, "wallet": status_json(&status)});
                    value["ok"] = json!(status.cannot_present.is_none());
                    let code = u8::from(status.cannot_present.is_some());
                    (value, format!("device key {public}\n{}", status_text(&status)), code)
                }
            }
        }
    })
}
