//! A small HTTP/1.1 server over `std::net`, for one page on one machine.
//!
//! Why not a framework: the station serves a handful of routes to one local
//! browser, and every byte it reads must be bounded (head, body, time, number of
//! connections). That is a hundred lines here, against an async runtime and its
//! dependency tree in a verifier that is meant to be audited. One request per
//! connection (`Connection: close`); loopback connections cost microseconds.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Bounds on what one client may cost.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest request line plus headers, bytes.
    pub max_head: usize,
    /// Time allowed for reading a request or writing a response.
    pub timeout: Duration,
    /// Connections handled at once; more are answered 503 at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_head: 16 * 1024,
            timeout: Duration::from_secs(10),
            max_connections: 32,
        }
    }
}

/// A parsed request.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string (after `?`), undecoded.
    pub query: String,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body (bounded by the route's limit).
    pub body: Vec<u8>,
}

impl Request {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The query parameter `name`, percent-decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key == name).then(|| percent_decode(value))
        })
    }
}

/// A response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Content type.
    pub content_type: &'static str,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response {
            status,
            content_type: "application/json; charset=utf-8",
            headers: vec![("Cache-Control", "no-store".into())],
            body: value.to_string().into_bytes(),
        }
    }

    /// A plain-text error.
    pub fn text(status: u16, text: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
            body: text.as_bytes().to_vec(),
        }
    }
}

/// What the application provides: a body limit per route, and the handler.
pub trait App: Send + Sync + 'static {
    /// Largest body accepted for `method path`; 0 refuses any body.
    fn body_limit(&self, method: &str, path: &str) -> usize;
    /// Answers a request.
    fn handle(&self, request: Request) -> Response;
}

/// Accepts connections until the listener fails, one thread per connection.
pub fn serve(listener: TcpListener, app: Arc<dyn App>, limits: Limits) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        if active.fetch_add(1, Ordering::SeqCst) >= limits.max_connections {
            active.fetch_sub(1, Ordering::SeqCst);
            let _ = write_response(&mut stream, &Response::text(503, "too many connections"));
            continue;
        }
        let (app, counter) = (Arc::clone(&app), Arc::clone(&active));
        let spawned = std::thread::Builder::new()
            .name("station-http".into())
            .spawn(move || {
                connection(stream, app.as_ref(), limits);
                counter.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            // The closure (and its counter decrement) was dropped unrun.
            active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

fn connection(mut stream: TcpStream, app: &dyn App, limits: Limits) {
    let _ = stream.set_read_timeout(Some(limits.timeout));
    let _ = stream.set_write_timeout(Some(limits.timeout));
    let response = match read_request(&mut stream, app, limits) {
        Ok(request) => app.handle(request),
        Err(response) => response,
    };
    let _ = write_response(&mut stream, &response);
}

fn read_request(
    stream: &mut TcpStream,
    app: &dyn App,
    limits: Limits,
) -> Result<Request, Response> {
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = find(&buffer, b"\r\n\r\n") {
            break at;
        }
        if buffer.len() > limits.max_head {
            return Err(Response::text(431, "request head too large"));
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return Err(Response::text(400, "incomplete request")),
            Ok(n) => buffer.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
    };
    if head_end > limits.max_head {
        return Err(Response::text(431, "request head too large"));
    }
    let head = std::str::from_utf8(buffer.get(..head_end).unwrap_or_default())
        .map_err(|_| Response::text(400, "request head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let mut parts = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(Response::text(400, "bad request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(Response::text(505, "HTTP/1.x only"));
    }
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(Response::text(400, "bad header line"));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut request = Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: Vec::new(),
    };
    if request.header("transfer-encoding").is_some() {
        return Err(Response::text(411, "send a Content-Length"));
    }
    let length = match request.header("content-length") {
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| Response::text(400, "bad Content-Length"))?,
        None => 0,
    };
    let limit = app.body_limit(&request.method, &request.path);
    if length > limit {
        return Err(Response::text(
            413,
            &format!("body of {length} bytes is larger than the {limit} allowed here"),
        ));
    }
    let mut body = buffer.get(head_end + 4..).unwrap_or_default().to_vec();
    if body.len() > length {
        return Err(Response::text(400, "more data than Content-Length"));
    }
    let already = body.len();
    body.resize(length, 0);
    stream
        .read_exact(body.get_mut(already..).unwrap_or_default())
        .map_err(|_| Response::text(400, "body shorter than Content-Length"))?;
    request.body = body;
    Ok(request)
}

fn write_response(stream: &mut TcpStream, response: &Response) -> std::io::Result<()> {
    let reason = match response.status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Payload Too Large",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n",
        response.status,
        response.content_type,
        response.body.len()
    );
    for (name, value) in &response.headers {
        head += &format!("{name}: {value}\r\n");
    }
    head += "\r\n";
    stream.write_all(head.as_bytes())?;
    stream.write_all(&response.body)?;
    stream.flush()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decodes `%XX` and `+` (form encoding); invalid escapes are kept as they are.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(value)) => {
                out.push(value);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (other, _) => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    struct Echo;
    impl App for Echo {
        fn body_limit(&self, _: &str, path: &str) -> usize {
            if path == "/small" {
                4
            } else {
                1024
            }
        }
        fn handle(&self, request: Request) -> Response {
            Response::text(
                200,
                &format!("{} {} {}", request.method, request.path, request.body.len()),
            )
        }
    }

    fn exchange(port: u16, raw: &[u8]) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.write_all(raw).unwrap();
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn requests_are_bounded_and_answered() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let limits = Limits {
            max_head: 256,
            timeout: Duration::from_secs(2),
            max_connections: 4,
        };
        std::thread::spawn(move || serve(listener, Arc::new(Echo), limits));
        let ok = exchange(
            port,
            b"POST /x?a=1 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
        );
        assert!(
            ok.starts_with("HTTP/1.1 200") && ok.ends_with("POST /x 3"),
            "{ok}"
        );
        let big = exchange(
            port,
            b"POST /small HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde",
        );
        assert!(big.starts_with("HTTP/1.1 413"), "{big}");
        let head = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(400));
        assert!(exchange(port, head.as_bytes()).starts_with("HTTP/1.1 431"));
        let chunked = exchange(
            port,
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        assert!(chunked.starts_with("HTTP/1.1 411"));
        assert!(exchange(port, b"GARBAGE\r\n\r\n").starts_with("HTTP/1.1 400"));
        let short = exchange(port, b"POST /x HTTP/1.1\r\nContent-Length: 9\r\n\r\nab");
        assert!(short.starts_with("HTTP/1.1 400"), "{short}");
    }

    #[test]
    fn query_parameters_are_decoded() {
        let request = Request {
            method: "GET".into(),
            path: "/".into(),
            query: "name=trust-bundle%20v2.cbor&w=640".into(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        assert_eq!(request.param("name").unwrap(), "trust-bundle v2.cbor");
        assert_eq!(request.param("w").unwrap(), "640");
        assert_eq!(request.param("h"), None);
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
