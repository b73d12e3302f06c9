//! A running `issuer serve` started by a test: the one way the suites start the
//! service and learn its port. Standard library only, so that other crates' tests
//! include this file too (`#[path]`, as wallet-core/tests/https.rs does).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

/// An `issuer serve` process; killed (SIGKILL) when dropped.
pub struct ServeProcess {
    child: Child,
    /// Where it listens (loopback, the port it chose).
    pub address: SocketAddr,
    log: Option<PathBuf>,
    /// Held so that the service never writes to a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl ServeProcess {
    /// Starts `issuer … serve --bind 127.0.0.1:0 EXTRA…` from `command` (the binary
    /// with its global options: registry, database, passphrase) and waits for its
    /// `listening on ADDR` line. Its log (stderr) goes to `log`, or nowhere.
    pub fn start(mut command: Command, extra: &[&str], log: Option<&Path>) -> ServeProcess {
        command
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped());
        match log {
            Some(log) => command.stderr(std::fs::File::create(log).unwrap()),
            None => command.stderr(Stdio::null()),
        };
        let mut child = command.spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let Some(address) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            let said = log.map(std::fs::read_to_string).and_then(Result::ok);
            panic!(
                "issuer serve said {line:?}; log: {}",
                said.unwrap_or_default()
            );
        };
        ServeProcess {
            address: address.parse().unwrap(),
            child,
            log: log.map(Path::to_owned),
            _stdout: stdout,
        }
    }

    /// `http://ADDR`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// What the service logged so far (empty without a log file).
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .and_then(|log| std::fs::read_to_string(log).ok())
            .unwrap_or_default()
    }

    /// Kills the process with SIGKILL (`kill -9`: no shutdown code runs) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
