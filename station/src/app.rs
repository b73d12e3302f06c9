//! The station's routes: the embedded page and its JSON API.
//!
//! Two checks guard the API beyond the loopback bind. The `Host` header must name
//! this station (127.0.0.1, localhost or [::1] with its port), so a web site cannot
//! reach it through DNS rebinding; and a request that changes anything must come
//! from the station's own page (`Origin`), so a site open in another tab cannot
//! import a file or flood the scanner. The page itself loads nothing from
//! anywhere else, and its Content-Security-Policy forbids it to.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::http::{self, Request, Response};
use crate::station::{FrameRefusal, Station};

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");

/// Everything loads from the station; media from the camera only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// Largest scanned text accepted (a licence code is at most 4,096 characters).
const MAX_SCAN_BODY: usize = 16 * 1024;

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Binding to anything but loopback without `--allow-remote`.
    #[error("{0} is not a loopback address; the station serves this machine only (pass --allow-remote to serve a network, and protect it)")]
    NotLoopback(SocketAddr),
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

impl ServeError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ServeError::NotLoopback(_) => "not_loopback",
            ServeError::Bind { .. } => "bind_failed",
        }
    }
}

/// A bound station server, not yet serving.
pub struct Server {
    listener: TcpListener,
    app: Arc<StationApp>,
}

impl Server {
    /// Binds `address`; refuses a non-loopback one unless `allow_remote`.
    pub fn bind(
        station: Station,
        address: SocketAddr,
        allow_remote: bool,
    ) -> Result<Server, ServeError> {
        if !address.ip().is_loopback() && !allow_remote {
            return Err(ServeError::NotLoopback(address));
        }
        let listener =
            TcpListener::bind(address).map_err(|source| ServeError::Bind { address, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| ServeError::Bind { address, source })?;
        Ok(Server {
            listener,
            app: Arc::new(StationApp {
                station,
                port: bound.port(),
                allow_remote,
            }),
        })
    }

    /// The page's address.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.app.port)
    }

    /// Serves until the process ends.
    pub fn run(self) {
        http::serve(self.listener, self.app, http::Limits::default());
    }
}

struct StationApp {
    station: Station,
    port: u16,
    allow_remote: bool,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl StationApp {
    fn host_is_ours(&self, request: &Request) -> bool {
        if self.allow_remote {
            return true;
        }
        let port = self.port;
        request.header("host").is_some_and(|host| {
            [
                format!("127.0.0.1:{port}"),
                format!("localhost:{port}"),
                format!("[::1]:{port}"),
            ]
            .iter()
            .any(|ours| ours == host)
        })
    }

    fn origin_is_ours(&self, request: &Request) -> bool {
        match (request.header("origin"), request.header("host")) {
            (Some(origin), Some(host)) => origin == format!("http://{host}"),
            // Browsers send Origin on every POST from a page; tools (curl) do not,
            // and cannot be a cross-site page.
            (None, _) => request
                .header("sec-fetch-site")
                .is_none_or(|s| s == "same-origin"),
            (Some(_), None) => false,
        }
    }
}

impl http::App for StationApp {
    fn body_limit(&self, method: &str, path: &str) -> usize {
        match (method, path) {
            ("POST", "/api/frame") => 1920 * 1080,
            ("POST", "/api/scan") => MAX_SCAN_BODY,
            ("POST", "/api/import") => credential::limits::MAX_STATUS_LIST_BYTES,
            ("POST", "/api/import-folder") => 4096,
            _ => 0,
        }
    }

    fn handle(&self, request: Request) -> Response {
        if !self.host_is_ours(&request) {
            return Response::text(421, "this station answers only to 127.0.0.1 / localhost");
        }
        if request.method == "POST" && !self.origin_is_ours(&request) {
            return Response::text(403, "requests must come from the station's own page");
        }
        let page = |content_type, body: &str| Response {
            status: 200,
            content_type,
            headers: vec![
                ("Content-Security-Policy", CSP.into()),
                ("Cache-Control", "no-store".into()),
                ("Permissions-Policy", "camera=(self), microphone=()".into()),
            ],
            body: body.as_bytes().to_vec(),
        };
        let station = &self.station;
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/") => page("text/html; charset=utf-8", INDEX_HTML),
            ("GET", "/app.js") => page("text/javascript; charset=utf-8", APP_JS),
            ("GET", "/app.css") => page("text/css; charset=utf-8", APP_CSS),
            ("GET", "/favicon.ico") => Response::text(204, ""),
            ("GET", "/api/status") => Response::json(200, &station.status(now())),
            ("GET", "/api/history") => Response::json(200, &station.history()),
            ("POST", "/api/scan") => match std::str::from_utf8(&request.body) {
                Ok(text) => Response::json(200, &station.check_scanned(text, now())),
                // Not UTF-8: the scanner's verdict for an impossible character.
                Err(_) => Response::json(200, &station.check_scanned("\u{fffd}", now())),
            },
            ("POST", "/api/frame") => {
                let dimension = |name| request.param(name).and_then(|v| v.parse::<u32>().ok());
                let (Some(width), Some(height)) = (dimension("w"), dimension("h")) else {
                    return Response::json(
                        400,
                        &json!({"code": "frame_wrong_size", "message": "w and h are required"}),
                    );
                };
                match station.frame(width, height, request.body, now()) {
                    Ok(value) => Response::json(200, &value),
                    Err(refusal) => {
                        let status = match refusal {
                            FrameRefusal::TooFast { .. } | FrameRefusal::Busy => 429,
                            FrameRefusal::TooLarge { .. } => 413,
                            _ => 400,
                        };
                        let retry = match refusal {
                            FrameRefusal::TooFast { retry_ms } => retry_ms,
                            _ => 50,
                        };
                        Response::json(
                            status,
                            &json!({"code": refusal.code(), "message": refusal.to_string(), "retry_ms": retry}),
                        )
                    }
                }
            }
            ("POST", "/api/import") => {
                let name = request.param("name").unwrap_or_default();
                match station.import(&name, &request.body) {
                    Ok(mut value) => {
                        value["ok"] = json!(true);
                        value["file"] = json!(name);
                        Response::json(200, &json!({"ok": true, "results": [value]}))
                    }
                    Err(e) => Response::json(
                        422,
                        &json!({"ok": false, "results": [{"file": name, "ok": false, "code": e.code(), "message": e.message().json()}]}),
                    ),
                }
            }
            ("POST", "/api/import-folder") => {
                let path = PathBuf::from(String::from_utf8_lossy(&request.body).trim());
                match station.import_folder(&path) {
                    Ok(results) => Response::json(
                        200,
                        &json!({"ok": results.iter().all(|r| r["ok"] == true), "results": results}),
                    ),
                    Err(e) => Response::json(
                        422,
                        &json!({"ok": false, "results": [{"file": path.display().to_string(), "ok": false, "code": e.code(), "message": e.message().json()}]}),
                    ),
                }
            }
            (_, "/" | "/app.js" | "/app.css" | "/api/status" | "/api/history") => {
                Response::text(405, "method not allowed")
            }
            _ => Response::text(404, "not found"),
        }
    }
}
