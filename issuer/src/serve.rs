//! `issuer serve`: the refresh service of spec/refresh.md over HTTP + CBOR.
//!
//! `POST /v1/refresh` takes a signed refresh request (`application/cbor`, at most
//! [`MAX_BODY_BYTES`]) and answers with a refresh response; `GET /v1/health`
//! answers `ok` when the database is reachable. Plain HTTP only: TLS is terminated
//! by a reverse proxy in front (which also does per-client connection limits).
//!
//! Transport only: request decoding and the signature and time check run on the
//! async workers (one per core) in parallel; the verified request then goes to the
//! process's one registry writer ([`GroupCommit`]), which decides it with whatever
//! else is queued in one transaction with one durable commit
//! ([`Registry::refresh_batch`](crate::usecase::Registry::refresh_batch): nonce,
//! rate limit, revoked or suspended, the re-signed package). One writer per
//! process because every refresh writes and writers take the registry's write lock
//! one at a time anyway; what scales is sharing each commit. Stateless apart from
//! the database, so several instances on one registry (behind a load balancer)
//! agree on nonces, limits and revocations.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use credential::refresh::{self, RefreshResponse, Refusal};
use http_body_util::BodyExt;

use crate::error::IssuerError;
use crate::store::Store;
use crate::usecase::refresh::{
    GroupCommit, RefreshFailure, RefreshPolicy, VerifiedRequest, WalletRefresh,
};
use crate::usecase::{Keyring, Registry};

/// Largest request body accepted (a real request is about 150 bytes).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// An oversized body is read and discarded up to this size, so that the client
/// gets the 413 answer instead of a connection reset; beyond it the connection is
/// simply closed.
const MAX_DRAIN_BYTES: usize = 2 * 1024 * 1024;
/// Time allowed to receive a request body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a client has to send a request's headers (slowloris defence).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on open connections; beyond it new connections are closed at once,
/// so a flood of idle sockets cannot starve the wallets.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// A connection is closed after this long, busy or idle: keep-alive is for a burst
/// of refreshes, not a socket held open for ever.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
const CBOR: &str = "application/cbor";

/// How the service behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeOptions {
    /// Address to listen on; port 0 picks a free port (printed on stdout).
    pub bind: String,
    /// A fixed clock (the global `--at`), for tests; `None` reads the system clock.
    pub fixed_now: Option<u64>,
    /// Lifetime of refreshed credentials.
    pub lifetime_s: u64,
    /// Allowed difference between the wallet's and the service's clocks.
    pub max_skew_s: u64,
    /// Refreshes per holder per hour before `rate_limited`.
    pub refreshes_per_hour: u64,
    /// Time a client has to send a request's headers before the connection is closed.
    pub header_timeout: Duration,
    /// Open connections at most; more are closed on arrival.
    pub max_connections: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            bind: "127.0.0.1:8443".into(),
            fixed_now: None,
            lifetime_s: crate::model::DEFAULT_LIFETIME_S,
            max_skew_s: refresh::DEFAULT_MAX_SKEW_S,
            refreshes_per_hour: 20,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// The outcome of one request, with what the log line may say (no secrets: no
/// nonce, signature or credential bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handled {
    /// The answer.
    pub response: RefreshResponse,
    /// The holder, once known.
    pub holder: Option<i64>,
    /// The serial handed out, as `authority/serial`.
    pub serial: Option<String>,
    /// An internal error behind `unavailable`, for the operator's log.
    pub detail: Option<String>,
}

impl Handled {
    fn refused(refusal: Refusal, message: String, holder: Option<i64>) -> Handled {
        Handled {
            response: RefreshResponse::Refused { refusal, message },
            holder,
            serial: None,
            detail: None,
        }
    }
}

impl From<Result<WalletRefresh, RefreshFailure>> for Handled {
    fn from(decided: Result<WalletRefresh, RefreshFailure>) -> Handled {
        match decided {
            Ok(decided) => Handled {
                response: decided.response,
                holder: decided.holder,
                serial: decided.serial,
                detail: None,
            },
            Err(failure) => Handled {
                response: RefreshResponse::refused(Refusal::Unavailable),
                holder: None,
                serial: None,
                detail: Some(failure.to_string()),
            },
        }
    }
}

/// The refresh service: the registry writer (which owns the registry and the
/// unlocked keys) and the rules.
pub struct Service<S: Store> {
    writer: GroupCommit<S>,
    options: ServeOptions,
}

impl<S: Store + Send + 'static> Service<S> {
    /// A service over an open registry; the keyring holds the passphrase.
    pub fn new(
        registry: Registry<S>,
        keyring: Keyring,
        options: ServeOptions,
    ) -> Result<Service<S>, IssuerError> {
        let policy = RefreshPolicy {
            lifetime_s: options.lifetime_s,
            max_skew_s: options.max_skew_s,
            refreshes_per_hour: options.refreshes_per_hour,
        };
        Ok(Service {
            writer: GroupCommit::start(registry, keyring, policy)?,
            options,
        })
    }

    /// The service's clock.
    pub fn now(&self) -> u64 {
        self.options.fixed_now.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        })
    }

    /// Unlocks every authority's active key now (fails on a wrong passphrase).
    pub fn unlock_keys(&self) -> Result<usize, IssuerError> {
        let now = self.now();
        self.writer
            .run(move |registry, keyring| registry.unlock_signing_keys(keyring, now))
            .blocking_recv()
            .unwrap_or_else(|_| {
                Err(IssuerError::invalid(
                    "serve",
                    RefreshFailure::WriterStopped.to_string(),
                ))
            })
    }

    /// Checks a request body at time `now` (spec/refresh.md §5, steps before the
    /// registry): decoding, signature, timestamp. CPU only, no lock.
    pub fn verify(&self, body: &[u8], now: u64) -> Result<VerifiedRequest, Handled> {
        match refresh::verify_request(body, now, self.options.max_skew_s) {
            Ok(request) => Ok(VerifiedRequest { request, now }),
            Err(error) => Err(Handled::refused(error.refusal(), error.to_string(), None)),
        }
    }

    /// Answers one request body at time `now`, blocking until its batch committed
    /// (not from inside the async runtime).
    pub fn handle(&self, body: &[u8], now: u64) -> Handled {
        match self.verify(body, now) {
            Ok(verified) => self
                .writer
                .submit(verified)
                .blocking_recv()
                .unwrap_or(Err(RefreshFailure::WriterStopped))
                .into(),
            Err(refused) => refused,
        }
    }
}

/// Runs the service until the process is stopped. Prints `listening on ADDR` on
/// stdout once the socket is bound (with port 0, the port chosen).
pub fn run<S: Store + Send + 'static>(
    registry: Registry<S>,
    keyring: Keyring,
    options: ServeOptions,
) -> Result<(), IssuerError> {
    let bind = options.bind.clone();
    let (header_timeout, max_connections) = (options.header_timeout, options.max_connections);
    let service = Arc::new(Service::new(registry, keyring, options)?);
    let keys = service.unlock_keys()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            IssuerError::invalid("serve", format!("cannot start the async runtime: {e}"))
        })?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&bind)
            .await
            .map_err(|e| IssuerError::invalid("bind", format!("cannot listen on {bind}: {e}")))?;
        let address = listener
            .local_addr()
            .map_err(|e| IssuerError::invalid("bind", e.to_string()))?;
        {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            // The tests and scripts read this line to learn the port.
            let _ = writeln!(stdout, "listening on {address}");
            let _ = stdout.flush();
        }
        eprintln!(
            "issuer serve: {keys} signing keys unlocked; POST http://{address}/v1/refresh (plain HTTP: put a TLS reverse proxy in front)"
        );
        accept_loop(listener, router(service), header_timeout, max_connections).await;
        Ok(())
    })
}

/// Serves connections: each one gets `header_timeout` for every request's headers
/// and [`CONNECTION_LIFETIME`] in all; past `max_connections` open ones, a new
/// connection is closed at once.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: Router,
    header_timeout: Duration,
    max_connections: usize,
) {
    use tower::ServiceExt;
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections.max(1)));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: say so, breathe, go on.
                log(format_args!("accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            log(format_args!(
                "{peer} refused: {max_connections} connections open"
            ));
            drop(stream);
            continue;
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(
                move |request: axum::http::Request<hyper::body::Incoming>| {
                    let mut request = request.map(Body::new);
                    request.extensions_mut().insert(ConnectInfo(peer));
                    app.clone().oneshot(request)
                },
            );
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_LIFETIME, connection).await;
            drop(slot);
        });
    }
}

/// The HTTP routes over a service.
pub fn router<S: Store + Send + 'static>(service: Arc<Service<S>>) -> Router {
    Router::new()
        .route(
            "/v1/refresh",
            post(refresh_endpoint::<S>).fallback(method_not_allowed),
        )
        .route("/v1/health", get(health::<S>))
        .fallback(not_found)
        .with_state(service)
}

fn cbor_response(status: u16, response: &RefreshResponse) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(CBOR))],
        response.encode(),
    )
        .into_response()
}

/// The time for log lines: the real clock even under a fixed `--at`, as local time
/// with its offset.
fn wall_clock() -> String {
    crate::clock::log_time(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

/// Writes one line of the service's log (stderr): the wall-clock time, then `what`.
/// Formatted whole, then written with one call: `eprintln!` writes each piece of
/// its format with a system call of its own (six per request line), and the pieces
/// of two processes sharing a log file could interleave. A log that cannot be
/// written must not fail what it describes.
fn log(what: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let line = format!("{} {what}\n", wall_clock());
    let _ = std::io::stderr().write_all(line.as_bytes());
}

fn log_line(
    peer: SocketAddr,
    method: &Method,
    uri: &Uri,
    status: u16,
    handled: &Handled,
    started: Instant,
) {
    use std::fmt::Write as _;
    let mut line = format!(
        "{peer} {method} {} {status} {}",
        uri.path(),
        handled.response.code()
    );
    if let Some(holder) = handled.holder {
        let _ = write!(line, " holder={holder}");
    }
    if let Some(serial) = &handled.serial {
        let _ = write!(line, " serial={serial}");
    }
    if let Some(detail) = &handled.detail {
        let _ = write!(line, " error={detail:?}");
    }
    if let RefreshResponse::Refused { refusal, message } = &handled.response {
        if matches!(refusal, Refusal::Malformed) {
            let _ = write!(line, " reason={message:?}");
        }
    }
    log(format_args!(
        "{line} {:.1}ms",
        started.elapsed().as_secs_f64() * 1000.0
    ));
}

enum BodyError {
    TooLarge(usize),
    Unreadable(String),
}

/// Reads at most `MAX_BODY_BYTES`; an oversized body is drained (up to
/// `MAX_DRAIN_BYTES`) so the answer reaches the client.
async fn read_body(body: Body) -> Result<Bytes, BodyError> {
    let mut body = body;
    let mut kept: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    let read = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| BodyError::Unreadable(e.to_string()))?;
            if let Ok(data) = frame.into_data() {
                seen = seen.saturating_add(data.len());
                if seen <= MAX_BODY_BYTES {
                    kept.extend_from_slice(&data);
                } else if seen > MAX_DRAIN_BYTES {
                    return Err(BodyError::TooLarge(seen));
                }
            }
        }
        if seen > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge(seen));
        }
        Ok(())
    };
    match tokio::time::timeout(BODY_TIMEOUT, read).await {
        Ok(Ok(())) => Ok(Bytes::from(kept)),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(BodyError::Unreadable(format!(
            "body not received within {} s",
            BODY_TIMEOUT.as_secs()
        ))),
    }
}

fn is_cbor(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(CBOR))
}

async fn refresh_endpoint<S: Store + Send + 'static>(
    State(service): State<Arc<Service<S>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let malformed = |status: u16, message: String| {
        (status, Handled::refused(Refusal::Malformed, message, None))
    };
    // The body is read (or drained) first even when the content type is wrong, so
    // the client always receives the answer rather than a reset connection.
    let (status, handled) = match read_body(body).await {
        Err(BodyError::TooLarge(seen)) => malformed(
            413,
            format!(
                "request body of {seen}{} bytes exceeds the limit of {MAX_BODY_BYTES}",
                if seen > MAX_DRAIN_BYTES { "+" } else { "" }
            ),
        ),
        Err(BodyError::Unreadable(reason)) => {
            malformed(400, format!("cannot read the request body: {reason}"))
        }
        Ok(_) if !is_cbor(&headers) => {
            malformed(415, format!("the request must have Content-Type: {CBOR}"))
        }
        Ok(bytes) => {
            let now = service.now();
            // On the async worker itself: one strict decode of at most MAX_BODY_BYTES
            // and one signature check, about a tenth of a millisecond. Handing it to
            // the blocking pool and back cost two thread wake-ups per request, and as
            // many pool threads as requests in flight on as many cores as workers.
            let verified = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                service.verify(&bytes, now)
            }));
            match verified {
                Ok(Ok(verified)) => {
                    let handled: Handled = service
                        .writer
                        .submit(verified)
                        .await
                        .unwrap_or(Err(RefreshFailure::WriterStopped))
                        .into();
                    (handled.response.http_status(), handled)
                }
                Ok(Err(refused)) => (refused.response.http_status(), refused),
                // A panic (a bug) is answered, like any other failure of the service.
                Err(_) => (
                    503,
                    Handled {
                        response: RefreshResponse::refused(Refusal::Unavailable),
                        holder: None,
                        serial: None,
                        detail: Some("request handler failed: the verification panicked".into()),
                    },
                ),
            }
        }
    };
    log_line(peer, &method, &uri, status, &handled, started);
    cbor_response(status, &handled.response)
}

async fn health<S: Store + Send + 'static>(
    State(service): State<Arc<Service<S>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
) -> Response {
    let started = Instant::now();
    // Any query proves the database answers; this one touches an index only. It
    // runs on the writer's connection, between two batches.
    let ok = service
        .writer
        .run(|registry, _| registry.ping().is_ok())
        .await
        .unwrap_or(false);
    let status = if ok { 200 } else { 503 };
    log(format_args!(
        "{peer} {method} {} {status} {:.1}ms",
        uri.path(),
        started.elapsed().as_secs_f64() * 1000.0
    ));
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, if ok { "ok\n" } else { "database unavailable\n" }).into_response()
}

async fn method_not_allowed(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
) -> Response {
    let handled = Handled::refused(
        Refusal::Malformed,
        format!("{method} is not allowed here: use POST with Content-Type: {CBOR}"),
        None,
    );
    log_line(peer, &method, &uri, 405, &handled, Instant::now());
    cbor_response(405, &handled.response)
}

async fn not_found(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
) -> Response {
    let handled = Handled::refused(
        Refusal::Malformed,
        format!("no such endpoint {}: use POST /v1/refresh", uri.path()),
        None,
    );
    log_line(peer, &method, &uri, 404, &handled, Instant::now());
    cbor_response(404, &handled.response)
}
