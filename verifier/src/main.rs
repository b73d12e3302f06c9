//! `verifier`: the command-line shell over the verifier library.
//!
//! Exit codes: 0 valid (or command succeeded), 1 rejected / refused, 2 usage or I/O error.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use credential::Policy;
use verifier::desk::{read_line, Line};
use verifier::render::{self, Lang};
use verifier::scan;
use verifier::store::{parse_root_key, Store, StoreError};

#[derive(Parser)]
#[command(
    name = "verifier",
    version,
    about = "Offline verifier for electronic driving licence QR codes"
)]
struct Cli {
    /// Store directory (root key, trust bundle, status lists).
    #[arg(
        long,
        env = "VERIFIER_STORE",
        global = true,
        default_value = "verifier-store"
    )]
    store: PathBuf,
    /// Machine-readable output.
    #[arg(long, global = true)]
    json: bool,
    /// Check as of this time (Unix seconds or 2026-06-01T10:00:00+08:00) instead of now.
    #[arg(long, global = true)]
    at: Option<String>,
    /// Label language: zh or en (default from the locale).
    #[arg(long, global = true)]
    lang: Option<String>,
    /// Freshness window in seconds.
    #[arg(long, global = true, default_value_t = Policy::default().freshness_window_s)]
    window: u64,
    /// Allowed clock skew in seconds.
    #[arg(long, global = true, default_value_t = Policy::default().clock_skew_s)]
    skew: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Configure the national root public key (hex, base64, or a root.pub file).
    Init {
        /// The key, or a path to a file holding it.
        #[arg(long)]
        root: String,
        /// Replace a different root key already configured.
        #[arg(long)]
        force: bool,
    },
    /// Trust bundle commands.
    Trust {
        #[command(subcommand)]
        command: TrustCommand,
    },
    /// Status list commands.
    Status {
        #[command(subcommand)]
        command: StatusCommand,
    },
    /// Verify one QR text (argument, or `-` / nothing for stdin).
    Check {
        /// The QR text.
        payload: Option<String>,
    },
    /// Read QR texts line by line from a keyboard-wedge scanner; a verdict per line.
    Desk,
    /// Read licence QR codes from photos or screenshots (PNG, JPEG); a verdict per code.
    Scan {
        /// Print only the decoded text of each code, one per line, without verifying.
        #[arg(long)]
        raw: bool,
        /// The image files.
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TrustCommand {
    /// Verify and install a trust bundle (refuses rollback).
    Import {
        /// The bundle file.
        file: PathBuf,
    },
    /// Show the installed bundle.
    Show,
}

#[derive(Subcommand)]
enum StatusCommand {
    /// Verify and install a status list.
    Import {
        /// The status list file.
        file: PathBuf,
    },
}

/// Longest line desk mode keeps (longer ones are rejected as too long).
const DESK_MAX_LINE: usize = credential::limits::MAX_QR_TEXT_CHARS + 2;

enum Failure {
    Refused(String, &'static str),
    Usage(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        if e.is_refusal() {
            Failure::Refused(e.to_string(), e.code())
        } else {
            Failure::Usage(e.to_string())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(code) => code,
        Err(Failure::Refused(message, code)) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"ok": false, "reason": code, "message": message})
                );
            } else {
                eprintln!("verifier: {message}");
            }
            ExitCode::from(1)
        }
        Err(Failure::Usage(message)) => {
            eprintln!("verifier: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let store = Store::new(&cli.store);
    let now = match &cli.at {
        Some(text) => verifier::time::parse_instant(text).ok_or_else(|| {
            Failure::Usage(format!(
                "--at {text}: expected Unix seconds or 2026-06-01T10:00:00+08:00"
            ))
        })?,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    };
    let policy = Policy {
        freshness_window_s: cli.window,
        clock_skew_s: cli.skew,
        ..Policy::default()
    };
    let lang = Lang::detect(cli.lang.as_deref());
    let read = |path: &PathBuf| {
        std::fs::read(path).map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))
    };
    match cli.command {
        Command::Init { root, force } => {
            let text = match std::fs::read_to_string(&root) {
                Ok(file) => file,
                Err(_) => root,
            };
            let key = parse_root_key(&text)?;
            store.init(&key, force)?;
            report(
                cli.json,
                serde_json::json!({"ok": true, "root_kid": hex::encode(credential::signature::key_id(key.as_bytes()))}),
                &format!("root key configured in {}", store.dir().display()),
            );
        }
        Command::Trust {
            command: TrustCommand::Import { file },
        } => {
            let bundle = store.import_trust(&read(&file)?)?;
            let c = &bundle.content;
            report(
                cli.json,
                serde_json::json!({"ok": true, "version": c.version, "keys": c.keys.len()}),
                &format!(
                    "trust bundle version {} installed ({} authority keys)",
                    c.version,
                    c.keys.len()
                ),
            );
        }
        Command::Trust {
            command: TrustCommand::Show,
        } => {
            let bundle = store.bundle()?.ok_or(StoreError::NoTrustBundle)?;
            show_bundle(&bundle, cli.json, now);
        }
        Command::Status {
            command: StatusCommand::Import { file },
        } => {
            let list = store.import_status(&read(&file)?)?;
            report(
                cli.json,
                serde_json::json!({"ok": true, "issuer": list.issuer, "size": list.size, "issued_at": list.issued_at, "next_update": list.next_update}),
                &format!(
                    "status list of {} installed: {} serials, signed {}",
                    list.issuer,
                    list.size,
                    verifier::time::format_instant(list.issued_at)
                ),
            );
        }
        Command::Check { payload } => {
            let text = match payload.as_deref() {
                Some("-") | None => {
                    let mut text = String::new();
                    std::io::stdin()
                        .take(credential::limits::MAX_QR_TEXT_CHARS as u64 + 3)
                        .read_to_string(&mut text)
                        .map_err(|e| Failure::Usage(format!("stdin: {e}")))?;
                    text
                }
                Some(text) => text.to_owned(),
            };
            let loaded = store.load()?;
            let verdict = credential::verify(&text, &loaded.bundle, &loaded.lists, now, &policy);
            print_verdict(&verdict, cli.json, lang);
            return Ok(if verdict.outcome.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        Command::Desk => {
            let loaded = store.load()?;
            let stdin = std::io::stdin();
            let mut input = stdin.lock();
            if !cli.json {
                eprintln!("desk mode: scan a licence code (Ctrl-D to end)");
            }
            while let Some(line) = read_line(&mut input, DESK_MAX_LINE)
                .map_err(|e| Failure::Usage(format!("stdin: {e}")))?
            {
                let text = match line {
                    Line::Text(text) if text.trim().is_empty() => continue,
                    Line::Text(text) => text,
                    // Let the verifier produce the rejection, so every line gets the same kind of verdict.
                    Line::TooLong(_) => "X".repeat(credential::limits::MAX_QR_TEXT_CHARS + 1),
                    Line::NotUtf8 => String::from("\u{fffd}"),
                };
                let now = match &cli.at {
                    Some(_) => now,
                    None => SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs()),
                };
                let verdict =
                    credential::verify(&text, &loaded.bundle, &loaded.lists, now, &policy);
                print_verdict(&verdict, cli.json, lang);
            }
        }
        Command::Scan { raw, images } => {
            let loaded = if raw { None } else { Some(store.load()?) };
            scan::silence_contained_panics();
            let mut exit = 0u8;
            for path in &images {
                let file = path.display().to_string();
                let limits = scan::Limits::default();
                let (codes, timed_out) = match scan::scan_file(path, &limits) {
                    Ok(found) => {
                        if found.decoder_faults > 0 {
                            eprintln!("verifier: {file}: {} QR decoder pass(es) failed internally and were skipped", found.decoder_faults);
                        }
                        (found.codes, found.timed_out)
                    }
                    Err(e) => {
                        exit = exit.max(if e.is_refusal() { 1 } else { 2 });
                        scan_failure(&file, e.code(), &e.to_string(), raw, cli.json);
                        continue;
                    }
                };
                if codes.is_empty() {
                    exit = exit.max(1);
                    let hint = if timed_out {
                        format!("no QR code found within {} s; retake it closer, in focus, without glare", limits.max_scan_time.as_secs())
                    } else {
                        "no QR code found in the image; retake it closer, in focus, without glare"
                            .to_owned()
                    };
                    scan_failure(&file, scan::NO_CODE, &hint, raw, cli.json);
                }
                for (index, code) in codes.iter().enumerate() {
                    let position: Vec<[f32; 2]> = code
                        .position
                        .iter()
                        .map(|p| [(p.0 * 10.0).round() / 10.0, (p.1 * 10.0).round() / 10.0])
                        .collect();
                    let Some(loaded) = &loaded else {
                        let line = if cli.json {
                            serde_json::json!({"file": file, "index": index, "text": code.text, "decoder": code.pass.name(), "position": position}).to_string()
                        } else {
                            code.text.clone()
                        };
                        let _ = writeln!(std::io::stdout().lock(), "{line}");
                        continue;
                    };
                    let verdict =
                        credential::verify(&code.text, &loaded.bundle, &loaded.lists, now, &policy);
                    if verdict.outcome.is_err() {
                        exit = exit.max(1);
                    }
                    let text = if cli.json {
                        let mut value = render::json(&verdict);
                        value["file"] = serde_json::json!(file);
                        value["index"] = serde_json::json!(index);
                        value["decoder"] = serde_json::json!(code.pass.name());
                        format!("{value}\n")
                    } else {
                        format!(
                            "{file} · code {} of {}\n{}\n",
                            index + 1,
                            codes.len(),
                            render::human(&verdict, lang)
                        )
                    };
                    let _ = std::io::stdout().lock().write_all(text.as_bytes());
                }
            }
            return Ok(ExitCode::from(exit));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reports an image that gave no code: a rejection line (or JSON) in verify mode;
/// on stderr (or JSON) in raw mode, whose stdout holds only decoded texts.
fn scan_failure(file: &str, code: &str, message: &str, raw: bool, json: bool) {
    if json {
        let value = if raw {
            serde_json::json!({"file": file, "index": null, "text": null, "reason": code, "message": message})
        } else {
            serde_json::json!({"file": file, "index": null, "verdict": "rejected", "reason": code, "message": message})
        };
        let _ = writeln!(std::io::stdout().lock(), "{value}");
    } else if raw || code == "io_error" {
        eprintln!("verifier: {file}: {message}");
    } else {
        let _ = writeln!(
            std::io::stdout().lock(),
            "{file}\n✘ REJECTED  {message}\n  reason: {code}\n"
        );
    }
}

fn report(json: bool, value: serde_json::Value, text: &str) {
    if json {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

fn print_verdict(verdict: &credential::Verdict, json: bool, lang: Lang) {
    let mut out = std::io::stdout().lock();
    let text = if json {
        format!("{}\n", render::json(verdict))
    } else {
        render::human(verdict, lang) + "\n"
    };
    // A closed pipe (e.g. `| head`) is not an error worth a panic.
    let _ = out.write_all(text.as_bytes());
}

fn show_bundle(bundle: &credential::trust_bundle::TrustBundle, json: bool, now: u64) {
    let c = &bundle.content;
    if json {
        let keys: Vec<_> = c
            .keys
            .iter()
            .map(|k| serde_json::json!({"kid": hex::encode(k.kid), "authority_code": k.authority_code, "authority_name": k.authority_name, "valid_from": k.valid_from, "valid_to": k.valid_to, "retired": k.retired}))
            .collect();
        println!(
            "{}",
            serde_json::json!({"version": c.version, "issued_at": c.issued_at, "next_update": c.next_update, "stale": now > c.next_update, "keys": keys})
        );
        return;
    }
    println!(
        "trust bundle version {}, signed {}, next update {}{}",
        c.version,
        verifier::time::format_instant(c.issued_at),
        verifier::time::format_instant(c.next_update),
        if now > c.next_update {
            " (OVERDUE)"
        } else {
            ""
        }
    );
    for k in &c.keys {
        println!(
            "  {} {} {}  {} – {}{}",
            hex::encode(k.kid),
            k.authority_code,
            k.authority_name,
            verifier::time::format_instant(k.valid_from),
            verifier::time::format_instant(k.valid_to),
            if k.retired { "  RETIRED" } else { "" }
        );
    }
}
