//! How a refresh request reaches the issuer: the [`RefreshClient`] trait and a
//! minimal blocking HTTP/1.1 client for it.
//!
//! A phone app implements [`RefreshClient`] over its own networking stack (with
//! TLS and whatever pinning its platform offers). [`HttpClient`] is for the CLI,
//! tests and benchmarks: one `POST` over `std::net::TcpStream`, plain `http://`
//! only (TLS is terminated by the issuer's reverse proxy; a client that needs it
//! brings its own). It is ~150 lines instead of an HTTP crate because it sends one
//! fixed request shape and reads one bounded response; the whole dependency tree
//! of the wallet stays small for phone builds.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use credential::refresh::MAX_RESPONSE_BYTES;

use crate::error::WalletError;

/// Sends a signed refresh request to the issuer and returns the response body.
pub trait RefreshClient {
    /// Sends `request` (the signed request bytes) and returns the body of the
    /// answer, whatever its HTTP status: the body says what happened. A failure to
    /// reach the issuer is [`WalletError::Offline`].
    fn send(&self, request: &[u8]) -> Result<Vec<u8>, WalletError>;
}

/// The path of the refresh endpoint under the issuer's base URL.
pub const REFRESH_PATH: &str = "/v1/refresh";
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// A blocking HTTP/1.1 client for `http://host[:port][/prefix]`.
#[derive(Clone, Debug)]
pub struct HttpClient {
    host: String,
    port: u16,
    path: String,
    timeout: Duration,
}

impl HttpClient {
    /// A client for the issuer at `base_url` (e.g. `http://127.0.0.1:8443`).
    pub fn new(base_url: &str) -> Result<HttpClient, WalletError> {
        let bad = |why: &str| WalletError::Offline(format!("issuer URL {base_url:?}: {why}"));
        let rest = match base_url.split_once("://") {
            Some(("http", rest)) => rest,
            Some(("https", _)) => return Err(bad("https is not supported by the built-in client: use the app's HTTP stack, or the http:// address behind the TLS proxy")),
            _ => return Err(bad("expected http://host:port")),
        };
        let (authority, prefix) = match rest.find('/') {
            Some(at) => (&rest[..at], rest[at..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad("bad port"))?,
            None => 80,
        };
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '@') {
            return Err(bad("bad host"));
        }
        Ok(HttpClient {
            host: host.to_owned(),
            port,
            path: format!("{prefix}{REFRESH_PATH}"),
            timeout: Duration::from_secs(15),
        })
    }

    /// Sets the connect, read and write timeout (default 15 s).
    pub fn with_timeout(mut self, timeout: Duration) -> HttpClient {
        self.timeout = timeout;
        self
    }

    fn connect(&self) -> Result<TcpStream, WalletError> {
        let offline =
            |e: std::io::Error| WalletError::Offline(format!("{}:{}: {e}", self.host, self.port));
        let addresses = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(offline)?;
        let mut last = None;
        for address in addresses {
            match TcpStream::connect_timeout(&address, self.timeout) {
                Ok(stream) => {
                    stream
                        .set_read_timeout(Some(self.timeout))
                        .map_err(offline)?;
                    stream
                        .set_write_timeout(Some(self.timeout))
                        .map_err(offline)?;
                    return Ok(stream);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(offline(
            last.unwrap_or_else(|| std::io::Error::other("no address")),
        ))
    }

    /// Posts `body` with `content_type` and returns the status, the response's
    /// content type and body. Public for tests that send deliberately bad bodies.
    pub fn post(&self, content_type: &str, body: &[u8]) -> Result<HttpResponse, WalletError> {
        let mut stream = self.connect()?;
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {host}:{}\r\nContent-Type: {content_type}\r\nAccept: application/cbor\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: wallet-core/{}\r\n\r\n",
            self.path,
            self.port,
            body.len(),
            env!("CARGO_PKG_VERSION"),
        );
        let offline =
            |e: std::io::Error| WalletError::Offline(format!("{}:{}: {e}", self.host, self.port));
        // A server that refuses a body early may close before reading all of it:
        // its answer is still worth reading, so a write error is kept for later.
        let written = stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body));
        let mut raw = Vec::new();
        let read = (&mut stream)
            .take((MAX_HEADER_BYTES + MAX_RESPONSE_BYTES + 1) as u64)
            .read_to_end(&mut raw);
        match (read, written) {
            (Ok(_), _) if !raw.is_empty() => parse_response(&raw),
            (_, Err(e)) | (Err(e), _) => Err(offline(e)),
            (Ok(_), Ok(())) => Err(WalletError::Offline(
                "the issuer closed the connection without answering".into(),
            )),
        }
    }
}

/// A parsed HTTP response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// The Content-Type header, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

fn parse_response(raw: &[u8]) -> Result<HttpResponse, WalletError> {
    let bad = |why: &str| WalletError::BadResponse(format!("HTTP: {why}"));
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .filter(|at| *at <= MAX_HEADER_BYTES)
        .ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("headers are not text"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err(bad("not an HTTP/1 response"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| bad("bad status line"))?;
    let mut content_type = None;
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad("bad header line"));
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => content_type = Some(value.to_owned()),
            "content-length" => {
                content_length = Some(
                    value
                        .parse::<usize>()
                        .map_err(|_| bad("bad Content-Length"))?,
                )
            }
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    let rest = &raw[end + 4..];
    let body = if chunked {
        dechunk(rest).ok_or_else(|| bad("bad chunked body"))?
    } else if let Some(length) = content_length {
        rest.get(..length)
            .ok_or_else(|| bad("body shorter than Content-Length"))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    if body.len() > MAX_RESPONSE_BYTES {
        return Err(bad("body too large"));
    }
    Ok(HttpResponse {
        status,
        content_type,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        if body.len().saturating_add(size) > MAX_RESPONSE_BYTES {
            return None;
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

impl RefreshClient for HttpClient {
    fn send(&self, request: &[u8]) -> Result<Vec<u8>, WalletError> {
        let response = self.post("application/cbor", request)?;
        refresh_body(
            response.status,
            response.content_type.as_deref(),
            response.body,
        )
    }
}

/// The body of a refresh answer, whatever its HTTP status, if it is CBOR: the
/// body says what happened. Anything else is a proxy's error page or not the
/// service at all. Shared by every [`RefreshClient`] of this crate.
pub fn refresh_body(
    status: u16,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Result<Vec<u8>, WalletError> {
    let is_cbor = content_type.is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/cbor"))
    });
    if is_cbor {
        return Ok(body);
    }
    Err(if status >= 500 {
        WalletError::Offline(format!("HTTP {status} from the issuer's address"))
    } else {
        WalletError::BadResponse(format!("HTTP {status} without a CBOR body"))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls_are_parsed() {
        let c = HttpClient::new("http://127.0.0.1:8443").unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.path.as_str()),
            ("127.0.0.1", 8443, "/v1/refresh")
        );
        let c = HttpClient::new("http://[::1]:9/issuer/").unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.path.as_str()),
            ("::1", 9, "/issuer/v1/refresh")
        );
        let c = HttpClient::new("http://example").unwrap();
        assert_eq!(c.port, 80);
        assert!(HttpClient::new("https://example").is_err());
        assert!(HttpClient::new("example:80").is_err());
        assert!(HttpClient::new("http://:80").is_err());
        assert!(HttpClient::new("http://h:99999").is_err());
    }

    #[test]
    fn responses_are_parsed_with_length_or_chunks() {
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/cbor\r\ncontent-length: 3\r\n\r\nabcdef",
        )
        .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"abc"[..]));
        let r = parse_response(b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (404, &b"abcde"[..]));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nabc").is_err());
        assert!(parse_response(b"garbage").is_err());
        assert!(parse_response(b"SMTP 220\r\n\r\n").is_err());
    }
}
