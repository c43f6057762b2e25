//! Outgoing HTTP for connectors: one way to build a client for an upstream, with bounded
//! timeouts (a slow upstream must not hold a login forever), no redirects (the `openidconnect`
//! crate requires it, against SSRF), and extra trusted CAs (`rootCAs`, `rootCA`).
//! [`OidcHttp`] adapts such a client to `openidconnect`'s `AsyncHttpClient`.

use super::ConnectorError;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// Connecting to an upstream may take this long…
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// …and a whole request this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// How to reach an upstream.
#[derive(Debug, Clone, Default)]
pub struct Upstream {
    /// PEM certificates (file contents) trusted in addition to the system's roots.
    pub root_cas: Vec<Vec<u8>>,
}

/// A client for one upstream.
pub fn client(upstream: &Upstream) -> Result<reqwest::Client, ConnectorError> {
    client_with_timeout(upstream, REQUEST_TIMEOUT)
}

/// A client for one upstream whose requests may take at most `timeout` (connecting, at most
/// the shorter of it and the usual connect timeout).
pub fn client_with_timeout(
    upstream: &Upstream,
    timeout: Duration,
) -> Result<reqwest::Client, ConnectorError> {
    build(upstream, timeout, false)
}

fn build(upstream: &Upstream, timeout: Duration, insecure: bool) -> Result<reqwest::Client, ConnectorError> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .danger_accept_invalid_certs(insecure)
        .user_agent(concat!("tessera/", env!("CARGO_PKG_VERSION")));
    for pem in &upstream.root_cas {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| ConnectorError::Upstream(format!("rootCAs: not a PEM certificate: {e}")))?;
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(|e| ConnectorError::Upstream(format!("building the HTTP client: {e}")))
}

/// Reads the `rootCAs` files of a connector's config.
pub fn read_root_cas(paths: &[String]) -> Result<Vec<Vec<u8>>, ConnectorError> {
    paths
        .iter()
        .map(|p| {
            std::fs::read(p).map_err(|e| ConnectorError::Upstream(format!("reading rootCAs file {p}: {e}")))
        })
        .collect()
}

/// `openidconnect`'s HTTP client trait over a reqwest 0.13 client (the crate's own reqwest
/// support pins reqwest 0.12).
#[derive(Clone)]
pub struct OidcHttp(pub reqwest::Client);

impl<'c> openidconnect::AsyncHttpClient<'c> for OidcHttp {
    type Error = openidconnect::HttpClientError<reqwest::Error>;
    type Future = Pin<Box<dyn Future<Output = Result<openidconnect::HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let mut outgoing = self.0.request(parts.method, parts.uri.to_string()).body(body);
            for (name, value) in &parts.headers {
                outgoing = outgoing.header(name, value);
            }
            let response = outgoing.send().await.map_err(Box::new)?;
            let mut builder = http::Response::builder().status(response.status()).version(response.version());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = response.bytes().await.map_err(Box::new)?.to_vec();
            builder.body(body).map_err(openidconnect::HttpClientError::Http)
        })
    }
}

/// A client for an upstream with an optional extra CA file (`rootCA`) and Tessera's
/// `insecureCA` switch.
pub fn client_with_ca(root_ca_file: &str, insecure: bool) -> Result<reqwest::Client, ConnectorError> {
    let files: Vec<String> = [root_ca_file].iter().filter(|p| !p.is_empty()).map(|p| p.to_string()).collect();
    let upstream = Upstream { root_cas: read_root_cas(&files)? };
    if insecure { insecure_client(&upstream) } else { client(&upstream) }
}

/// A client that does not check TLS certificates (`insecureSkipVerify`): development only.
pub fn insecure_client(upstream: &Upstream) -> Result<reqwest::Client, ConnectorError> {
    build(upstream, REQUEST_TIMEOUT, true)
}
