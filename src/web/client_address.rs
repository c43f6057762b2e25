//! Whose address a request comes from, for brute-force protection and the audit log.
//!
//! The connection's peer, unless that peer is a trusted proxy (`web.clientRemoteIP.
//! trustedProxies`, or Tessera's `web.trustedProxies`): then the proxy's header
//! (`X-Forwarded-For` by default, RFC 7239 `Forwarded`, or another named in
//! `clientRemoteIP.header`) is read from the right, each hop a trusted proxy added, and the
//! first address that is not a trusted proxy is the client. Everything left of it was written
//! by the client itself and proves nothing, so a client cannot pose as another address by
//! sending the header; and without trusted proxies the header is never read.

use crate::config::{ClientAddressConfig, ForwardedHeader};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The address a request comes from; `None` when the server cannot tell (no peer address,
/// as in tests that call the router directly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<ClientAddr>().copied().unwrap_or(ClientAddr(None)))
    }
}

/// Establishes the client's address once per request: for the handlers (as a [`ClientAddr`]
/// extension) and for the audit events the request records.
pub async fn establish(
    State(config): State<Arc<ClientAddressConfig>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let client = client_address(&config, peer, request.headers());
    request.extensions_mut().insert(ClientAddr(client));
    crate::audit::with_source(client, next.run(request)).await
}

/// The client's address given the peer and the headers (see the module documentation).
pub fn client_address(
    config: &ClientAddressConfig,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    if !config.trusts(peer) {
        return Some(peer);
    }
    let hops = forwarded_hops(&config.header, headers);
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop {
            Some(addr) if config.trusts(*addr) => client = *addr,
            Some(addr) => return Some(*addr),
            // An entry that is no address (`unknown`, an obfuscated name, garbage): nothing
            // further left can be trusted, so the last proxy is as far as we know.
            None => return Some(client),
        }
    }
    Some(client)
}

/// The addresses in the proxy header, left (the original client) to right (the nearest
/// proxy); `None` for an entry that is not an address.
fn forwarded_hops(header: &ForwardedHeader, headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = headers.get_all(header.name()).iter().filter_map(|v| v.to_str().ok());
    let mut hops = Vec::new();
    for value in values {
        for element in value.split(',') {
            let text = match header {
                ForwardedHeader::Forwarded => forwarded_for(element),
                _ => Some(element),
            };
            hops.push(text.and_then(parse_node));
        }
    }
    hops
}

/// The `for=` parameter of one RFC 7239 element (`for=192.0.2.1;proto=https`).
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then(|| value.trim())
    })
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]:4711`, possibly quoted.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(addr) = text.parse::<IpAddr>() {
        return Some(addr.to_canonical());
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).and_then(|t| t.parse::<IpAddr>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(header: ForwardedHeader, trusted: &[&str]) -> ClientAddressConfig {
        ClientAddressConfig { header, trusted_proxies: trusted.iter().map(|t| t.parse().unwrap()).collect() }
    }

    fn headers(name: &str, values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(), v.parse().unwrap());
        }
        map
    }

    fn addr(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let c = config(ForwardedHeader::XForwardedFor, &[]);
        let h = headers("x-forwarded-for", &["198.51.100.7"]);
        assert_eq!(client_address(&c, addr("192.0.2.1"), &h), addr("192.0.2.1"));
        assert_eq!(client_address(&c, None, &h), None);
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_spoofed_entries_left_of_it_are_ignored() {
        let c = config(ForwardedHeader::XForwardedFor, &["10.0.0.0/8"]);
        let peer = addr("10.0.0.2");
        // The client wrote "1.2.3.4" itself; the ingress appended the real address.
        let h = headers("x-forwarded-for", &["1.2.3.4, 198.51.100.7, 10.0.0.9"]);
        assert_eq!(client_address(&c, peer, &h), addr("198.51.100.7"));
        // Several header lines read as one list.
        let h = headers("x-forwarded-for", &["1.2.3.4", "198.51.100.7:4711"]);
        assert_eq!(client_address(&c, peer, &h), addr("198.51.100.7"));
        // No header: the proxy itself.
        assert_eq!(client_address(&c, peer, &HeaderMap::new()), peer);
        // Only proxies: the leftmost.
        let h = headers("x-forwarded-for", &["10.1.1.1, 10.2.2.2"]);
        assert_eq!(client_address(&c, peer, &h), addr("10.1.1.1"));
        // Garbage stops the walk at the last proxy.
        let h = headers("x-forwarded-for", &["198.51.100.7, junk, 10.2.2.2"]);
        assert_eq!(client_address(&c, peer, &h), addr("10.2.2.2"));
        // An untrusted peer's header is not read.
        assert_eq!(client_address(&c, addr("192.0.2.1"), &h), addr("192.0.2.1"));
    }

    #[test]
    fn rfc_7239_forwarded_is_read_by_its_for_parameter() {
        let c = config(ForwardedHeader::Forwarded, &["127.0.0.1/32"]);
        let h =
            headers("forwarded", &["for=1.2.3.4, for=\"[2001:db8:cafe::17]:4711\";proto=https;by=127.0.0.1"]);
        assert_eq!(client_address(&c, addr("127.0.0.1"), &h), addr("2001:db8:cafe::17"));
        let h = headers("forwarded", &["For=198.51.100.7;proto=http"]);
        assert_eq!(client_address(&c, addr("127.0.0.1"), &h), addr("198.51.100.7"));
        let h = headers("forwarded", &["for=unknown"]);
        assert_eq!(client_address(&c, addr("127.0.0.1"), &h), addr("127.0.0.1"));
    }

    #[test]
    fn another_header_reads_like_x_forwarded_for() {
        let c = config(ForwardedHeader::Other("x-real-ip".into()), &["127.0.0.1/32"]);
        let h = headers("x-real-ip", &["198.51.100.7"]);
        assert_eq!(client_address(&c, addr("127.0.0.1"), &h), addr("198.51.100.7"));
        let ipv4_mapped = addr("::ffff:127.0.0.1");
        assert_eq!(
            client_address(&c, ipv4_mapped, &h),
            addr("198.51.100.7"),
            "a mapped peer is the IPv4 one"
        );
    }
}
