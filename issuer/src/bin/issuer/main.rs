//! `issuer`: the licensing office's command line, a thin shell over the library:
//! parse ([`cli`]), call ([`dispatch`]), report ([`report`]).
//!
//! Exit codes: 0 success, 1 refused by a business rule (or wrong passphrase),
//! 2 usage, input, I/O or database error. `--json` on every command; a report with
//! `"ok": false` (some CSV lines or holders refused) also exits 1.

mod cli;
mod dispatch;
mod report;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "issuer",
                &mut std::io::stdout(),
            );
            return ExitCode::SUCCESS;
        }
        Command::Manpage => {
            return match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("issuer: cannot write the manual page: {e}");
                    ExitCode::from(2)
                }
            };
        }
        _ => {}
    }
    let zh = cli.lang == "zh";
    match dispatch::run(&cli) {
        Ok(outcome) => {
            if cli.json {
                println!("{}", outcome.json());
            } else {
                println!("{}", outcome.text(zh));
            }
            if outcome.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => {
            if cli.json {
                println!("{}", report::error_json(&error, zh));
            }
            let message = if zh {
                error.chinese()
            } else {
                error.to_string()
            };
            eprintln!("issuer: {message}");
            ExitCode::from(error.exit_code())
        }
    }
}
