//! `wallet`: a small command line over wallet-core, to try the holder's side.
//!
//! Exit codes: 0 success, 1 refused (revoked, expired, refresh refused, issuer
//! unreachable; `status` when the wallet would not present), 2 usage, input, I/O
//! error or corrupt wallet file. `--json` on every command.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{CommandFactory, Parser, Subcommand};
use credential::Profile;
use serde_json::{json, Value};
use wallet_core::animated::{AnimatedLoop, AnimationOptions};
use wallet_core::https::{HttpsClient, HttpsOptions};
use wallet_core::screen::{local_time, parse_utc_offset};
use wallet_core::{
    RefreshOutcome, Screen, TerminalCells, Wallet, WalletConfig, WalletError, WalletStatus,
};

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
    /// UTC offset of the times shown, e.g. +08:00 (China Standard Time, the default) or Z.
    #[arg(long, global = true, env = "WALLET_UTC_OFFSET", default_value = "+08:00", value_parser = utc_offset)]
    utc_offset: i32,
    #[command(subcommand)]
    command: Command,
}

fn utc_offset(text: &str) -> Result<i32, String> {
    parse_utc_offset(text)
        .ok_or_else(|| format!("{text:?} is not an offset like +08:00, -05:30 or Z"))
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
        /// The service's base URL: https://host[:port][/prefix] (plain http:// only on loopback).
        #[arg(long, env = "WALLET_ISSUER")]
        issuer: String,
        /// Trust only the certificates in this PEM file (a private CA or test certificate)
        /// instead of the Mozilla root store.
        #[arg(long, env = "WALLET_CA_FILE")]
        ca_file: Option<PathBuf>,
        /// Seconds before giving up on the issuer (the credential is kept).
        #[arg(long, default_value_t = 20)]
        timeout: u64,
    },
    /// Show the licence screen: name, the code (black when the licence is normal, red
    /// when not), generation time, current time and seconds to the next code.
    Show {
        /// full, rental, insurance or employment.
        #[arg(long, default_value = "full")]
        profile: String,
        /// Write the screen as a PNG image here.
        #[arg(long, conflicts_with_all = ["svg", "text"])]
        png: Option<PathBuf>,
        /// Write the screen as an SVG image here.
        #[arg(long, conflicts_with_all = ["png", "text"])]
        svg: Option<PathBuf>,
        /// With --png or --svg: the bare code in the status colour, without the screen around it.
        #[arg(long)]
        code_only: bool,
        /// Print the QR text (DL1:...) only, e.g. for `verifier check`.
        #[arg(long, conflicts_with_all = ["png", "svg"])]
        text: bool,
        /// Pixels per module for --code-only PNGs and the animated GIF and frames.
        #[arg(long, default_value_t = 6)]
        scale: u32,
        /// Keep the screen live in the terminal: the clock every second, a new code
        /// every --qr-refresh seconds, until interrupted.
        #[arg(long)]
        watch: bool,
        /// Seconds between two codes.
        #[arg(long, default_value_t = WalletConfig::default().qr_refresh_s)]
        qr_refresh: u64,
        /// Terminal drawing: octant (2×4 modules per character; the full profile fits
        /// 80×24; needs a terminal that draws Unicode 16 octants) or half (1×2, any font).
        #[arg(long, default_value = "octant", value_parser = cells)]
        cells: TerminalCells,
        /// The animated code: the presentation plus portrait frames (spec §17). In the
        /// terminal it plays until interrupted (or --loops); --gif and --frames-dir write files.
        #[arg(long)]
        animated: bool,
        /// With --animated: write an animated GIF here.
        #[arg(long, requires = "animated")]
        gif: Option<PathBuf>,
        /// With --animated: write the frames as frame-NNN.png and frame-NNN.svg in this directory.
        #[arg(long, requires = "animated")]
        frames_dir: Option<PathBuf>,
        /// With --animated: frames per second.
        #[arg(long, default_value_t = AnimationOptions::default().fps, value_parser = clap::value_parser!(u32).range(1..=30))]
        fps: u32,
        /// With --animated in the terminal: stop after this many loops (default: until interrupted).
        #[arg(long, requires = "animated")]
        loops: Option<u32>,
    },
    /// Holder, credential, expiry, last refresh and status.
    Status,
    /// The holder's portrait, for the screen and the animated code.
    Portrait {
        #[command(subcommand)]
        action: PortraitAction,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `wallet man > wallet.1 && man ./wallet.1`.
    Man,
}

#[derive(Subcommand)]
enum PortraitAction {
    /// Store the portrait file the licensing office issued; refused unless it is the
    /// one the credential's portrait digest signs.
    Set {
        /// The portrait file (the issuer's bytes, unchanged).
        file: PathBuf,
    },
}

fn cells(text: &str) -> Result<TerminalCells, String> {
    TerminalCells::parse(text).ok_or_else(|| format!("{text:?}: use octant or half"))
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

fn read_file(path: &Path) -> Result<Vec<u8>, WalletError> {
    // A package, a portrait or a CA file is a few kilobytes; refuse to read something else by mistake.
    wallet_core::storage::read_bounded(path, 1024 * 1024)?.ok_or_else(|| WalletError::Io {
        path: path.to_owned(),
        source: std::io::ErrorKind::NotFound.into(),
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), WalletError> {
    wallet_core::storage::write_atomic(path, bytes, 0o644)
}

fn status_json(status: &WalletStatus, offset: i32) -> Value {
    let h = &status.holder;
    json!({
        "holder": {"name": h.name, "licence_number": h.licence_number, "classes": h.classes, "valid_from": h.valid_from,
            "valid_to": h.valid_to, "licence_status": h.licence_status, "points": h.points, "authority": h.authority},
        "serial": status.serial, "authority": status.authority, "status": status.status.name(), "issued_at": status.issued_at,
        "expires_at": status.time_left.expires_at, "seconds_left": status.time_left.seconds_left, "expired": status.time_left.expired,
        "refresh_recommended": status.time_left.refresh_recommended, "last_refresh_at": status.last_refresh_at,
        "replaced": status.replaced, "can_present": status.cannot_present.is_none(), "cannot_present": status.cannot_present,
        "expires_at_local": local_time(status.time_left.expires_at, offset),
    })
}

fn status_text(status: &WalletStatus, offset: i32) -> String {
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
        local_time(left.expires_at, offset),
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
            .map_or("never".to_owned(), |t| local_time(t, offset))
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

/// What the status letters of a suspended package say, e.g. `超分 points exceeded`
/// (B) or `暂扣 temporarily seized` (D): never one label for every suspension.
fn suspension_label(wallet: &Wallet) -> String {
    let letters = wallet
        .package()
        .and_then(|p| p.licence().status)
        .map(|s| s.prohibiting())
        .filter(|s| !s.is_empty());
    match letters {
        Some(set) => set
            .letters()
            .map(|l| format!("{} {}", l.chinese, l.english))
            .collect::<Vec<_>>()
            .join(", "),
        None => "suspended by the issuer".into(),
    }
}

fn screen_json(screen: &Screen) -> Value {
    let g = &screen.at_a_glance;
    json!({"profile": screen.profile().name(), "text": screen.presented.text, "qr_version": screen.qr().version(),
        "qr_width": screen.qr().width(), "colour": g.colour.name(),
        "reasons": g.reasons.iter().map(|r| json!({"code": r.code(), "zh": r.chinese(), "en": r.english(), "may_drive": r.may_drive()})).collect::<Vec<_>>(),
        "status": g.label(), "holder": screen.holder_name, "presented_at": screen.presented.presented_at,
        "presented_at_local": local_time(screen.presented.presented_at, screen.utc_offset_s),
        "now": screen.now, "now_local": local_time(screen.now, screen.utc_offset_s),
        "refresh_at": screen.presented.refresh_at, "seconds_to_refresh": screen.seconds_to_refresh()})
}

/// Clears the terminal and draws `screen`, with a hint on the last line.
fn draw(screen: &str, hint: &str) {
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "\x1b[2J\x1b[H{screen}{hint}");
    let _ = out.flush();
}

fn play_in_terminal(
    animation: &AnimatedLoop,
    cells: TerminalCells,
    loops: Option<u32>,
    ink: [u8; 3],
) {
    let frames: Vec<String> = animation
        .frames
        .iter()
        .map(|f| f.qr.to_terminal_in(ink, cells))
        .collect();
    let mut played = 0;
    while loops.is_none_or(|n| played < n) {
        for (i, frame) in frames.iter().enumerate() {
            draw(
                frame,
                &format!(
                    "frame {}/{} at {} fps (Ctrl-C to stop)\n",
                    i + 1,
                    frames.len(),
                    animation.fps
                ),
            );
            std::thread::sleep(Duration::from_millis(animation.frame_ms()));
        }
        played += 1;
    }
}

fn run(cli: Cli) -> Result<(Value, String, u8), WalletError> {
    let now = cli.at.unwrap_or_else(system_now);
    let offset = cli.utc_offset;
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
                status_text(&status, offset)
            );
            (
                json!({"ok": true, "wallet": status_json(&status, offset)}),
                text,
                0,
            )
        }
        Command::Refresh {
            issuer,
            ca_file,
            timeout,
        } => {
            let ca_pem = ca_file.as_deref().map(read_file).transpose()?;
            let client = HttpsClient::new(
                issuer,
                HttpsOptions {
                    ca_pem,
                    timeout: Duration::from_secs((*timeout).max(1)),
                },
            )?;
            let mut wallet = Wallet::open(&cli.dir)?;
            let outcome = wallet.refresh(&client, now, wallet_core::random_nonce()?)?;
            let (code, outcome_json, line) = match &outcome {
                RefreshOutcome::Refreshed { serial, expires_at } => {
                    (0, json!({"outcome": "refreshed", "serial": serial}), format!("refreshed: valid until {}", local_time(*expires_at, offset)))
                }
                RefreshOutcome::Replaced { old, new, expires_at } => (
                    0,
                    json!({"outcome": "replaced", "old": old, "new": new}),
                    format!("new credential {new}{} stored, valid until {}", old.as_ref().map(|o| format!(" (replaces {o}, now superseded)")).unwrap_or_default(), local_time(*expires_at, offset)),
                ),
                RefreshOutcome::Suspended { .. } => {
                    let label = suspension_label(&wallet);
                    (1, json!({"outcome": "suspended", "status": label}), format!("the licence may not be used to drive ({label}): verifiers will refuse it until the issuer lifts this"))
                }
                RefreshOutcome::Revoked { message } => (1, json!({"outcome": "revoked", "message": message}), format!("the licence is revoked: {message}\nthe wallet will no longer show this credential")),
            };
            let mut value = json!({"ok": code == 0, "refresh": outcome_json});
            if let Some(status) = wallet.status(now) {
                value["wallet"] = status_json(&status, offset);
            }
            (value, line, code)
        }
        Command::Show {
            profile,
            png,
            svg,
            code_only,
            text,
            scale,
            watch,
            qr_refresh,
            cells,
            animated,
            gif,
            frames_dir,
            fps,
            loops,
        } => {
            let profile = Profile::parse(profile).ok_or_else(|| {
                WalletError::Qr(format!(
                    "unknown profile {profile:?}: use full, rental, insurance or employment"
                ))
            })?;
            let wallet = Wallet::open(&cli.dir)?.with_config(WalletConfig {
                qr_refresh_s: (*qr_refresh).max(1),
                utc_offset_s: offset,
            });
            let to_file = png.is_some() || svg.is_some() || gif.is_some() || frames_dir.is_some();
            if *watch && !*animated && cli.at.is_none() && !to_file && !text {
                let mut screen = wallet.screen(profile, system_now())?;
                loop {
                    let t = system_now();
                    if t >= screen.presented.refresh_at {
                        screen = wallet.screen(profile, t)?;
                    }
                    screen.now = t;
                    draw(&screen.to_terminal(*cells), "Ctrl-C to stop\n");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
            let screen = wallet.screen(profile, now)?;
            let ink = screen.at_a_glance.colour.rgb();
            let mut value = json!({"ok": true, "screen": screen_json(&screen)});
            // Kept for scripts written against the bare-code output.
            for key in [
                "text",
                "presented_at",
                "refresh_at",
                "qr_version",
                "qr_width",
            ] {
                value[key] = value["screen"][key].clone();
            }
            value["profile"] = json!(profile.name());
            let portrait = wallet.portrait()?;
            let out = if *animated {
                let portrait = portrait.ok_or(WalletError::NoPortrait)?;
                let animation = wallet_core::animated::build(
                    &screen.presented,
                    &portrait,
                    AnimationOptions {
                        fps: *fps,
                        ..AnimationOptions::default()
                    },
                )?;
                let mut written = Vec::new();
                if let Some(path) = gif {
                    write_file(
                        path,
                        &wallet_core::screen_image::loop_gif(
                            &animation,
                            screen.at_a_glance.colour,
                            *scale,
                        )?,
                    )?;
                    written.push(path.display().to_string());
                }
                if let Some(dir) = frames_dir {
                    atomic_file_dir(dir)?;
                    for (name, bytes) in wallet_core::screen_image::loop_frame_files(
                        &animation,
                        screen.at_a_glance.colour,
                        *scale,
                    )? {
                        write_file(&dir.join(name), &bytes)?;
                    }
                    written.push(dir.display().to_string());
                }
                value["animation"] = json!({"frames": animation.frames.len(), "fps": animation.fps, "symbol_size": animation.symbol_size,
                    "source_symbols": animation.source_symbols, "portrait_bytes": portrait.len(),
                    "max_qr_version": animation.frames.iter().map(|f| f.qr.version()).max(), "written": written});
                if written.is_empty() && !cli.json {
                    play_in_terminal(&animation, *cells, *loops, ink);
                    String::new()
                } else {
                    format!("{} frames ({} portrait symbols of {} bytes, K = {}) at {} fps written to {}", animation.frames.len(),
                        animation.frames.len() - animation.frames.iter().filter(|f| f.kind == wallet_core::animated::FrameKind::Presentation).count(),
                        animation.symbol_size, animation.source_symbols, animation.fps, written.join(", "))
                }
            } else if let Some(path) = png {
                let bytes = if *code_only {
                    screen.qr().to_png_in(ink, *scale)?
                } else {
                    wallet_core::screen_image::screen_png(&screen, portrait.as_deref())?
                };
                write_file(path, &bytes)?;
                format!(
                    "{} screen (code {}, QR version {}) written to {}",
                    profile,
                    screen.at_a_glance.colour.name(),
                    screen.qr().version(),
                    path.display()
                )
            } else if let Some(path) = svg {
                let svg = if *code_only {
                    screen.qr().to_svg().replace(
                        "fill=\"#000\"",
                        &format!("fill=\"#{:02x}{:02x}{:02x}\"", ink[0], ink[1], ink[2]),
                    )
                } else {
                    wallet_core::screen_image::screen_svg(&screen, portrait.as_deref())
                };
                write_file(path, svg.as_bytes())?;
                format!(
                    "{} screen (code {}, QR version {}) written to {}",
                    profile,
                    screen.at_a_glance.colour.name(),
                    screen.qr().version(),
                    path.display()
                )
            } else if *text {
                screen.presented.text.clone()
            } else {
                screen.to_terminal(*cells)
            };
            (value, out, 0)
        }
        Command::Status => {
            let wallet = Wallet::open(&cli.dir)?;
            let public = hex::encode(wallet.public_key());
            match wallet.status(now) {
                None => (json!({"ok": true, "device_key": public, "enrolled": false}), format!("device key {public}\nno credential yet: enrol with the package from the licensing office"), 0),
                Some(status) => {
                    let portrait = wallet.portrait()?.map(|p| p.len());
                    let mut value = json!({"ok": true, "device_key": public, "enrolled": true, "wallet": status_json(&status, offset), "portrait_bytes": portrait});
                    value["ok"] = json!(status.cannot_present.is_none());
                    let code = u8::from(status.cannot_present.is_some());
                    let portrait_line = match portrait {
                        Some(n) => format!("portrait: {n} bytes, matches the credential"),
                        None => "portrait: none stored (wallet portrait set FILE)".into(),
                    };
                    (value, format!("device key {public}\n{}\n{portrait_line}", status_text(&status, offset)), code)
                }
            }
        }
        Command::Portrait {
            action: PortraitAction::Set { file },
        } => {
            let bytes = read_file(file)?;
            let wallet = Wallet::open(&cli.dir)?;
            wallet.set_portrait(&bytes)?;
            (
                json!({"ok": true, "portrait_bytes": bytes.len()}),
                format!(
                    "portrait stored ({} bytes, matches the credential's portrait digest)",
                    bytes.len()
                ),
                0,
            )
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "wallet", &mut script);
            (
                json!({"ok": true, "shell": shell.to_string(), "script": String::from_utf8_lossy(&script)}),
                String::from_utf8_lossy(&script).trim_end().to_owned(),
                0,
            )
        }
        Command::Man => {
            // One page: the command and its global options, then a section per
            // subcommand with its synopsis and every option.
            let mut page = Vec::new();
            let io = |source| WalletError::Io {
                path: "stdout".into(),
                source,
            };
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(io)?;
            for sub in Cli::command().get_subcommands() {
                let man = clap_mangen::Man::new(sub.clone());
                let _ = writeln!(page, ".SH \"WALLET {}\"", sub.get_name().to_uppercase());
                let _ = writeln!(
                    page,
                    "{}",
                    sub.get_about().map(|a| a.to_string()).unwrap_or_default()
                );
                man.render_synopsis_section(&mut page).map_err(io)?;
                man.render_options_section(&mut page).map_err(io)?;
                for nested in sub.get_subcommands() {
                    let _ = writeln!(
                        page,
                        ".SH \"WALLET {} {}\"",
                        sub.get_name().to_uppercase(),
                        nested.get_name().to_uppercase()
                    );
                    let _ = writeln!(
                        page,
                        "{}",
                        nested
                            .get_about()
                            .map(|a| a.to_string())
                            .unwrap_or_default()
                    );
                    let man = clap_mangen::Man::new(nested.clone());
                    man.render_synopsis_section(&mut page).map_err(io)?;
                    man.render_options_section(&mut page).map_err(io)?;
                }
            }
            let page = String::from_utf8_lossy(&page).into_owned();
            (
                json!({"ok": true, "man": page}),
                page.trim_end().to_owned(),
                0,
            )
        }
    })
}

fn atomic_file_dir(dir: &Path) -> Result<(), WalletError> {
    std::fs::create_dir_all(dir).map_err(|source| WalletError::Io {
        path: dir.to_owned(),
        source,
    })
}
