//! `verifier`: the command-line shell over the verifier library: parse the
//! arguments, call one function of `verifier::commands`, map its error to an exit
//! status.
//!
//! Exit codes: 0 valid (or command succeeded), 1 rejected / refused, 2 usage or I/O
//! error, 3 the store is damaged (no verdict).

// A fuzzing build accepts every signature (credential::signature::SIGNATURE_CHECKS_SKIPPED):
// such a build must never become a verifier someone runs.
#[cfg(fuzzing)]
compile_error!(
    "the verifier binary cannot be built with --cfg fuzzing (signature checks are skipped)"
);

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use credential::Policy;
use verifier::commands::{self, CommandError, DeskScreen, Exit, Options};
use verifier::render::{Colour, Lang};

#[derive(Parser)]
#[command(
    name = "verifier",
    version,
    about = "Offline verifier for electronic driving licence QR codes",
    after_help = "Exit status: 0 valid or done, 1 rejected or refused, 2 usage or I/O error, 3 store damaged (no verdict)."
)]
struct Cli {
    /// Store directory (root key, trust bundle, status lists, manifest).
    #[arg(
        long,
        env = "VERIFIER_STORE",
        global = true,
        default_value = "verifier-store"
    )]
    store: PathBuf,
    /// Machine-readable output (one JSON object per result, errors included).
    #[arg(long, global = true)]
    json: bool,
    /// Check as of this time (Unix seconds or 2026-06-01T10:00:00+08:00) instead of now.
    #[arg(long, global = true)]
    at: Option<String>,
    /// Language of labels and messages, also of JSON `message` fields: zh or en (default from the locale).
    #[arg(long, global = true)]
    lang: Option<String>,
    /// Freshness window in seconds: an older code is stale.
    #[arg(long, global = true, default_value_t = Policy::default().freshness_window_s)]
    window: u64,
    /// Allowed clock skew in seconds between phone, issuer and this device.
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
        /// Replace a different root key, or rebuild a damaged manifest (forgets the installed bundle and lists).
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
        /// The QR text (`-` or nothing: read it from stdin).
        payload: Option<String>,
    },
    /// Read QR texts line by line from a keyboard-wedge scanner; a verdict per line.
    Desk,
    /// Read licence QR codes from photos or screenshots (PNG, JPEG), a verdict per code; or
    /// an animated code (several frames, GIF, APNG, Y4M): its verdict and verified portrait.
    Scan {
        /// Print only the decoded text of each code, one per line, without verifying.
        #[arg(long)]
        raw: bool,
        /// Write the holder's portrait to this file (mode 0600) if, and only if, it
        /// matched the signed credential; the inputs are then read as one animated code.
        #[arg(long, value_name = "FILE")]
        portrait_out: Option<PathBuf>,
        /// Stop after this many frames (default 2000).
        #[arg(long, value_name = "N")]
        max_frames: Option<usize>,
        /// The inputs: images (PNG, JPEG), or the frames of one animated code as
        /// several images in order, an animated GIF or APNG, or a Y4M video.
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to stdout.
    Manpage,
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
    /// Verify and install a status list (refuses an older one).
    Import {
        /// The status list file.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let lang = cli
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_else(|| Lang::detect(None));
    let exit = match run(cli, lang) {
        Ok(exit) => exit,
        Err((error, json)) => commands::report_error(
            &error,
            json,
            lang,
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        ),
    };
    ExitCode::from(exit as u8)
}

fn run(cli: Cli, lang: Lang) -> Result<Exit, (CommandError, bool)> {
    let json = cli.json;
    let fail = |e| (e, json);
    if let Some(text) = cli.lang.as_deref().filter(|t| Lang::parse(t).is_none()) {
        return Err(fail(CommandError::bad_lang(text)));
    }
    let at = match &cli.at {
        Some(text) => Some(
            verifier::time::parse_instant(text)
                .ok_or_else(|| fail(CommandError::bad_time(text)))?,
        ),
        None => None,
    };
    let stdout_is_terminal = std::io::stdout().is_terminal();
    let opts = Options {
        store: cli.store,
        json,
        lang,
        at,
        policy: Policy {
            freshness_window_s: cli.window,
            clock_skew_s: cli.skew,
            ..Policy::default()
        },
        colour: Colour::detect(stdout_is_terminal && !json),
    };
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    match cli.command {
        Command::Init { root, force } => commands::init(&opts, &root, force, &mut out),
        Command::Trust {
            command: TrustCommand::Import { file },
        } => commands::trust_import(&opts, &file, &mut out),
        Command::Trust {
            command: TrustCommand::Show,
        } => commands::trust_show(&opts, &mut out),
        Command::Status {
            command: StatusCommand::Import { file },
        } => commands::status_import(&opts, &file, &mut out),
        Command::Check { payload } => {
            commands::check(&opts, payload.as_deref(), &mut std::io::stdin(), &mut out)
        }
        Command::Desk => {
            let screen = if stdout_is_terminal {
                DeskScreen::Terminal
            } else {
                DeskScreen::Plain
            };
            let _quiet = verifier::desk::QuietTerminal::enter();
            commands::desk(
                &opts,
                screen,
                &mut std::io::stdin().lock(),
                &mut out,
                &mut err,
            )
        }
        Command::Scan {
            raw,
            portrait_out,
            max_frames,
            images,
        } => {
            let request = commands::ScanRequest {
                raw,
                portrait_out,
                max_frames,
            };
            commands::scan(&opts, &request, &images, &mut out, &mut err)
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "verifier", &mut out);
            Ok(Exit::Ok)
        }
        Command::Manpage => {
            match clap_mangen::Man::new(Cli::command()).render(&mut out) {
                // `verifier manpage | head` closing the pipe early is not a failure.
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CommandError::Usage {
                    code: "input_error",
                    args: vec![("source", "stdout".into()), ("detail", e.to_string())],
                }),
                _ => Ok(Exit::Ok),
            }
        }
    }
    .map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn undocumented(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        let path = format!("{path} {}", command.get_name());
        if command.get_about().is_none() {
            missing.push(path.clone());
        }
        for arg in command.get_arguments() {
            let generated = matches!(arg.get_id().as_str(), "help" | "version");
            if !generated && arg.get_help().is_none() {
                missing.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            undocumented(sub, &path, missing);
        }
    }

    #[test]
    fn every_command_and_option_has_a_description() {
        let mut missing = Vec::new();
        undocumented(&Cli::command(), "", &mut missing);
        assert!(missing.is_empty(), "no description: {missing:?}");
        Cli::command().debug_assert();
    }
}
