//! The CLI's [`RefreshClient`] for a real deployment: HTTPS through `ureq` over
//! rustls (ring provider, Mozilla's roots from `webpki-roots`; no OpenSSL).
//!
//! Why a maintained client and not the hand-written [`HttpClient`](crate::HttpClient):
//! every deployment terminates TLS in front of `issuer serve` (README), and TLS is
//! not something to hand-write. Phone apps keep implementing [`RefreshClient`]
//! over their platform's stack; this is behind the `https` feature so that a
//! phone build pulls in neither ureq nor rustls.
//!
//! Plain `http://` is accepted only for loopback addresses (tests, a proxy on the
//! same machine): a refresh request over the network in clear text would leak
//! the device key and the credential serial to everyone on the path.

use std::net::IpAddr;
use std::time::Duration;

use credential::refresh::MAX_RESPONSE_BYTES;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use crate::client::{refresh_body, RefreshClient, REFRESH_PATH};
use crate::error::WalletError;

/// How the client reaches the issuer.
#[derive(Clone, Debug)]
pub struct HttpsOptions {
    /// Trust only these PEM certificates (a private CA or a test certificate)
    /// instead of the Mozilla roots.
    pub ca_pem: Option<Vec<u8>>,
    /// Whole-request timeout.
    pub timeout: Duration,
}

impl Default for HttpsOptions {
    fn default() -> Self {
        HttpsOptions {
            ca_pem: None,
            timeout: Duration::from_secs(20),
        }
    }
}

/// A blocking HTTPS client for `POST {base}/v1/refresh`.
pub struct HttpsClient {
    agent: ureq::Agent,
    url: String,
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl HttpsClient {
    /// A client for the issuer at `base_url` (`https://host[:port][/prefix]`, or
    /// `http://` on a loopback address).
    pub fn new(base_url: &str, options: HttpsOptions) -> Result<HttpsClient, WalletError> {
        let bad = |why: String| WalletError::Offline(format!("issuer URL {base_url:?}: {why}"));
        let uri: ureq::http::Uri = base_url.parse().map_err(|e| bad(format!("{e}")))?;
        let host = uri.host().ok_or_else(|| bad("no host".into()))?;
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if is_loopback(host) => {}
            Some("http") => {
                return Err(bad(
                    "plain http is refused except on loopback: use the https:// address of the deployment".into(),
                ))
            }
            _ => return Err(bad("expected https://host[:port]".into())),
        }
        if uri.query().is_some() {
            return Err(bad("a query string is not expected".into()));
        }
        let roots = match &options.ca_pem {
            None => RootCerts::WebPki,
            Some(pem) => {
                let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(pem)
                    .filter_map(|item| match item {
                        Ok(PemItem::Certificate(cert)) => Some(Ok(cert)),
                        Ok(_) => None,
                        Err(e) => Some(Err(e)),
                    })
                    .collect::<Result<_, _>>()
                    .map_err(|e| WalletError::Tls(format!("CA file: {e}")))?;
                if certs.is_empty() {
                    return Err(WalletError::Tls("CA file holds no PEM certificate".into()));
                }
                RootCerts::new_with_certs(&certs)
            }
        };
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(options.timeout))
            .max_redirects(0)
            .user_agent(format!("wallet-core/{}", env!("CARGO_PKG_VERSION")))
            .tls_config(TlsConfig::builder().root_certs(roots).build())
            .build();
        let path = uri.path().trim_end_matches('/');
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or(host);
        Ok(HttpsClient {
            agent: config.new_agent(),
            url: format!(
                "{}://{authority}{path}{REFRESH_PATH}",
                uri.scheme_str().unwrap_or("https")
            ),
        })
    }

    /// The refresh endpoint's URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

fn classify(error: ureq::Error) -> WalletError {
    match error {
        ureq::Error::Rustls(e) => WalletError::Tls(e.to_string()),
        ureq::Error::Tls(e) => WalletError::Tls(e.to_owned()),
        ureq::Error::BodyExceedsLimit(max) => {
            WalletError::BadResponse(format!("answer larger than {max} bytes"))
        }
        // An I/O error wrapping a TLS alert is still a certificate problem.
        ureq::Error::Io(e) if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => {
            WalletError::Tls(e.to_string())
        }
        other => WalletError::Offline(other.to_string()),
    }
}

impl RefreshClient for HttpsClient {
    fn send(&self, request: &[u8]) -> Result<Vec<u8>, WalletError> {
        let mut response = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/cbor")
            .header("Accept", "application/cbor")
            .send(request)
            .map_err(classify)?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES as u64)
            .read_to_vec()
            .map_err(classify)?;
        refresh_body(status, content_type.as_deref(), body)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls_are_checked_and_plain_http_only_on_loopback() {
        let c =
            HttpsClient::new("https://issuer.example:8443/dl/", HttpsOptions::default()).unwrap();
        assert_eq!(c.url(), "https://issuer.example:8443/dl/v1/refresh");
        let c = HttpsClient::new("http://127.0.0.1:9", HttpsOptions::default()).unwrap();
        assert_eq!(c.url(), "http://127.0.0.1:9/v1/refresh");
        assert!(HttpsClient::new("http://[::1]:9", HttpsOptions::default()).is_ok());
        assert!(HttpsClient::new("http://localhost:9", HttpsOptions::default()).is_ok());
        for bad in [
            "http://issuer.example",
            "http://10.0.0.1:80",
            "ftp://x",
            "issuer.example",
            "https://x/?a=1",
        ] {
            assert!(
                HttpsClient::new(bad, HttpsOptions::default()).is_err(),
                "{bad}"
            );
        }
        let no_cert = HttpsOptions {
            ca_pem: Some(b"not pem".to_vec()),
            ..HttpsOptions::default()
        };
        assert_eq!(
            HttpsClient::new("https://x", no_cert).err().unwrap().code(),
            "tls"
        );
    }
}
