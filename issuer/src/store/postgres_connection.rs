//! Connecting to the PostgreSQL registry: which connections may go without TLS,
//! how the server is authenticated when they may not, and reconnecting after the
//! connection was lost.
//!
//! **TLS policy** (README "The registry on PostgreSQL"). The connection carries
//! every holder's personal data and the application role's password, so anything
//! that leaves the machine is encrypted *and* the server authenticated:
//! - a unix socket or a loopback host (`localhost`, `127.0.0.0/8`, `::1`) may go
//!   without TLS (`sslmode` unset, `disable`, `allow` or `prefer`): nothing crosses
//!   a network;
//! - any other host gets TLS with the server's certificate checked against the
//!   roots and the host name (libpq's `verify-full`), whatever `sslmode` says
//!   except `disable`, which is refused ([`TlsProblem::PlaintextToRemote`]): libpq's
//!   `prefer` falls back to plaintext when an attacker in the path strips TLS, and
//!   its `require` accepts any certificate, so neither is offered;
//! - the roots are the PEM file of `sslrootcert=PATH` (a private CA), otherwise the
//!   Mozilla roots (`webpki-roots`; also `sslrootcert=system`).
//!
//! TLS is rustls (ring provider, no OpenSSL) through `tokio-postgres-rustls`.
//!
//! **Reconnecting.** A connection lost while idle (server restart,
//! `pg_terminate_backend`, a network cut) is noticed before the next statement —
//! from what the server already sent ([`Connector::is_lost`]), and after a pause of
//! [`super::postgres::PROBE_AFTER_IDLE`] by one empty query — and replaced
//! ([`Connector::reconnect`], bounded attempts with exponential backoff). A transaction whose connection is
//! lost mid-way fails with [`StoreError::Disconnected`]: retryable, and never
//! silently re-run (its outcome may be unknown if the commit itself was in flight).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use postgres::config::{Host, SslMode};
use postgres::Client;

use crate::store::StoreError;

/// How long connecting may take before the command gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connection attempts after a lost connection, the first one at once: with the
/// backoff below about 6 s in all, enough for a server restart or a replica
/// promotion behind a stable address, short enough that a refresh fails rather
/// than hangs.
const RECONNECT_ATTEMPTS: u32 = 7;
/// The wait before the second attempt, doubled before each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// Why a connection to the database would not be private, or its server could not
/// be authenticated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsProblem {
    /// `sslmode=disable` towards a host that is not this machine.
    #[error("sslmode=disable is refused for a database on another machine: holders' data and the password would cross the network in clear; use sslmode=verify-full (with sslrootcert=CA.pem for a private CA), or a unix socket")]
    PlaintextToRemote,
    /// The server's certificate is not signed by a trusted root or does not name
    /// the host.
    #[error("the database server's certificate is not trusted ({0}): check sslrootcert= names the CA that signed it and that the host name is in the certificate")]
    UntrustedCertificate(String),
    /// The `sslrootcert` file cannot be used.
    #[error("sslrootcert {path}: {reason}")]
    RootCertificates {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The TLS handshake failed otherwise (the server has no TLS, a protocol error).
    #[error("TLS with the database server failed: {0}")]
    Handshake(String),
}

impl TlsProblem {
    /// Stable code for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            TlsProblem::PlaintextToRemote => "database_plaintext_refused",
            TlsProblem::UntrustedCertificate(_) => "database_certificate_untrusted",
            TlsProblem::RootCertificates { .. } => "database_root_certificates",
            TlsProblem::Handshake(_) => "database_tls",
        }
    }

    /// The message in Chinese.
    pub fn chinese(&self) -> String {
        match self {
            TlsProblem::PlaintextToRemote => "拒绝以 sslmode=disable 连接其他机器上的数据库：持证人资料和口令将以明文经过网络；请使用 sslmode=verify-full（私有 CA 再加 sslrootcert=CA.pem），或本机 unix 套接字".into(),
            TlsProblem::UntrustedCertificate(reason) => format!(
                "数据库服务器的证书不受信任（{reason}）：请确认 sslrootcert= 指向签发它的 CA，且证书包含该主机名"
            ),
            TlsProblem::RootCertificates { path, reason } => {
                format!("根证书文件 sslrootcert {} 无法使用：{reason}", path.display())
            }
            TlsProblem::Handshake(reason) => format!("与数据库服务器的 TLS 握手失败：{reason}"),
        }
    }
}

/// What [`StoreError::Tls`] carries: the database (redacted) and the problem.
pub type TlsRefusal = (String, TlsProblem);

/// How to (re)connect to one database: the parsed connection string, the TLS
/// decision, and what to hide from messages.
pub struct Connector {
    config: postgres::Config,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    shown: String,
    password: Option<String>,
}

impl Connector {
    /// Parses `url` (`postgres://…`) and decides on TLS (see the module doc);
    /// connects nowhere yet.
    pub fn new(url: &str) -> Result<Connector, StoreError> {
        let shown = super::postgres::redact(url);
        let (rest, tls_options) = split_tls_options(url);
        let mut config: postgres::Config = rest.parse().map_err(|e| {
            StoreError::Backend(format!("{shown}: not a valid connection string ({e})"))
        })?;
        let password = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .filter(|p| !p.is_empty());
        let local = stays_on_this_machine(&config);
        let tls_wanted = match tls_options.mode.as_deref() {
            None | Some("disable" | "allow" | "prefer") if local => false,
            Some("disable") => {
                return Err(StoreError::Tls(Box::new((
                    shown,
                    TlsProblem::PlaintextToRemote,
                ))))
            }
            None | Some("allow" | "prefer" | "require" | "verify-ca" | "verify-full") => true,
            Some(other) => {
                return Err(StoreError::Backend(format!(
                    "{shown}: sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                )))
            }
        };
        let tls = if tls_wanted {
            let roots = root_store(tls_options.root_cert.as_deref())
                .map_err(|problem| StoreError::Tls(Box::new((shown.clone(), problem))))?;
            // Never `Prefer`: a server (or an attacker) answering "no TLS" must fail
            // the connection, not downgrade it.
            config.ssl_mode(SslMode::Require);
            Some(tokio_postgres_rustls::MakeRustlsConnect::new(
                client_config(roots).map_err(|e| StoreError::Backend(format!("{shown}: {e}")))?,
            ))
        } else {
            config.ssl_mode(SslMode::Disable);
            None
        };
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("issuer");
        Ok(Connector {
            config,
            tls,
            shown,
            password,
        })
    }

    /// The connection string as messages show it (password replaced).
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Whether connections use TLS.
    pub fn uses_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// One connection attempt.
    pub fn connect(&self) -> Result<Client, StoreError> {
        let connected = match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(postgres::NoTls),
        };
        connected.map_err(|e| self.connect_error(&e))
    }

    /// A new connection after one was lost: up to [`RECONNECT_ATTEMPTS`] attempts
    /// with exponential backoff. A refusal that waiting cannot cure (an untrusted
    /// certificate, a wrong password) is returned at once.
    pub fn reconnect(&self) -> Result<Client, StoreError> {
        let mut wait = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            match self.connect() {
                Ok(client) => return Ok(client),
                Err(error @ StoreError::Disconnected(_)) if attempt < RECONNECT_ATTEMPTS => {
                    eprintln!(
                        "registry database {} unreachable (attempt {attempt} of {RECONNECT_ATTEMPTS}): {error}; retrying in {} ms",
                        self.shown,
                        wait.as_millis()
                    );
                    std::thread::sleep(wait);
                    wait *= 2;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Whether `client`'s connection is gone. Reads what the server sent since the
    /// last statement without a round trip: a terminated session's FATAL message
    /// and the end of the stream arrive while the client is idle, and the client
    /// only notices them when polled.
    pub fn is_lost(client: &mut Client) -> bool {
        use postgres::fallible_iterator::FallibleIterator;
        let poll_failed = client.notifications().iter().next().is_err();
        poll_failed || client.is_closed()
    }

    /// `message` without the password, if it quotes it.
    pub fn hide(&self, message: String) -> String {
        match &self.password {
            Some(p) => message.replace(p.as_str(), "***"),
            None => message,
        }
    }

    fn connect_error(&self, error: &postgres::Error) -> StoreError {
        let refused = |problem| StoreError::Tls(Box::new((self.shown.clone(), problem)));
        if let Some(tls) = rustls_error(error) {
            return refused(match tls {
                rustls::Error::InvalidCertificate(reason) => {
                    TlsProblem::UntrustedCertificate(format!("{reason:?}"))
                }
                other => TlsProblem::Handshake(other.to_string()),
            });
        }
        let text = error.to_string();
        // The driver's own refusal when the server offers no TLS ("server does not
        // support TLS"): waiting will not change it.
        if error.as_db_error().is_none() && text.contains("TLS") {
            return refused(TlsProblem::Handshake(self.hide(text)));
        }
        let described = self.hide(format!(
            "cannot connect to {}: {}",
            self.shown,
            super::postgres::describe(error)
        ));
        // No answer from a server (refused, timed out, reset) or one that is
        // starting or stopping is worth waiting for; a refused login or a missing
        // database is not.
        if error.as_db_error().is_none() || super::postgres::is_disconnection(error) {
            StoreError::Disconnected(described)
        } else {
            StoreError::Backend(described)
        }
    }
}

/// The rustls error behind a failed connection, if TLS failed.
fn rustls_error(error: &postgres::Error) -> Option<&rustls::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        // `io::Error::source` skips the wrapped error itself; `get_ref` is it.
        if let Some(tls) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(tls);
        }
        current = e.source();
    }
    None
}

/// The TLS parameters, which the driver does not parse (it knows `sslmode` only as
/// disable/prefer/require and has no `sslrootcert`).
#[derive(Default)]
struct TlsOptions {
    mode: Option<String>,
    root_cert: Option<String>,
}

/// `url` without its `sslmode` and `sslrootcert` query parameters, and their values.
fn split_tls_options(url: &str) -> (String, TlsOptions) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), TlsOptions::default());
    };
    let mut options = TlsOptions::default();
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("sslmode", value)) => options.mode = Some(percent_decode(value)),
            Some(("sslrootcert", value)) => options.root_cert = Some(percent_decode(value)),
            _ => kept.push(pair),
        }
    }
    if kept.is_empty() {
        (base.to_owned(), options)
    } else {
        (format!("{base}?{}", kept.join("&")), options)
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 3)
            .filter(|_| bytes[i] == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether every address the connection may use is on this machine.
fn stays_on_this_machine(config: &postgres::Config) -> bool {
    let host_is_local = |host: &Host| match host {
        Host::Unix(_) => true,
        Host::Tcp(name) => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
    };
    // A `hostaddr` is where the connection really goes (the host is then only
    // the name checked in the certificate).
    if !config.get_hostaddrs().is_empty() {
        return config.get_hostaddrs().iter().all(IpAddr::is_loopback);
    }
    config.get_hosts().iter().all(host_is_local)
}

/// The trust anchors: the PEM certificates of `path`, `system`/none: Mozilla's.
fn root_store(path: Option<&str>) -> Result<rustls::RootCertStore, TlsProblem> {
    let mut roots = rustls::RootCertStore::empty();
    match path {
        None | Some("system") => {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        Some(path) => {
            use rustls::pki_types::pem::PemObject;
            let path = Path::new(path);
            let problem = |reason: String| TlsProblem::RootCertificates {
                path: path.to_owned(),
                reason,
            };
            let certificates = rustls::pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| problem(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| problem(e.to_string()))?;
            if certificates.is_empty() {
                return Err(problem("no PEM certificate in the file".into()));
            }
            for certificate in certificates {
                roots
                    .add(certificate)
                    .map_err(|e| problem(format!("not a usable CA certificate: {e}")))?;
            }
        }
    }
    Ok(roots)
}

fn client_config(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig, rustls::Error> {
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn refusal(url: &str) -> Option<String> {
        match Connector::new(url) {
            Err(StoreError::Tls(refusal)) => Some(refusal.1.code().to_owned()),
            Err(other) => Some(other.to_string()),
            Ok(_) => None,
        }
    }

    #[test]
    fn plaintext_is_allowed_on_this_machine_only() {
        for local in [
            "postgres://issuer@%2Frun%2Fpostgresql/registry",
            "postgres://issuer@localhost/registry?sslmode=disable",
            "postgres://issuer@127.0.0.1:5432/registry?sslmode=disable",
            "postgres://issuer@[::1]:5432/registry",
            "postgres://issuer@db.example/registry?hostaddr=127.0.0.1&sslmode=disable",
        ] {
            assert_eq!(refusal(local), None, "{local}");
            assert!(!Connector::new(local).unwrap().uses_tls(), "{local}");
        }
        for remote in [
            "postgres://issuer:s3cret@db.example/registry?sslmode=disable",
            "postgres://issuer@10.0.0.5/registry?sslmode=disable",
            "postgres://issuer@localhost/registry?hostaddr=10.0.0.5&sslmode=disable",
        ] {
            assert_eq!(
                refusal(remote).as_deref(),
                Some("database_plaintext_refused"),
                "{remote}"
            );
        }
        let error = Connector::new("postgres://issuer:s3cret@db.example/registry?sslmode=disable")
            .err()
            .unwrap()
            .to_string();
        assert!(!error.contains("s3cret"), "{error}");
        assert!(error.contains("sslmode=disable is refused"), "{error}");
    }

    #[test]
    fn a_remote_host_gets_verified_tls_whatever_weaker_mode_is_asked() {
        for url in [
            "postgres://issuer@db.example/registry",
            "postgres://issuer@db.example/registry?sslmode=prefer",
            "postgres://issuer@db.example/registry?sslmode=require",
            "postgres://issuer@db.example/registry?sslmode=verify-full&connect_timeout=3",
        ] {
            assert!(Connector::new(url).unwrap().uses_tls(), "{url}");
        }
        // Asked for explicitly, TLS is used on this machine too.
        assert!(
            Connector::new("postgres://issuer@localhost/registry?sslmode=verify-full")
                .unwrap()
                .uses_tls()
        );
        assert_eq!(
            refusal("postgres://issuer@db.example/registry?sslrootcert=%2Fnonexistent%2Fca.pem")
                .as_deref(),
            Some("database_root_certificates")
        );
        assert!(
            refusal("postgres://issuer@db.example/registry?sslmode=maybe")
                .unwrap()
                .contains("sslmode=maybe")
        );
    }

    #[test]
    fn tls_options_are_taken_out_and_decoded() {
        let (rest, options) = split_tls_options(
            "postgres://u@h/db?connect_timeout=3&sslmode=verify-full&sslrootcert=%2Ftmp%2Fca%20x.pem",
        );
        assert_eq!(rest, "postgres://u@h/db?connect_timeout=3");
        assert_eq!(options.mode.as_deref(), Some("verify-full"));
        assert_eq!(options.root_cert.as_deref(), Some("/tmp/ca x.pem"));
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
