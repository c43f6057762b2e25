//! Which `redirect_uri` a client may use.
//!
//! Registered URIs match exactly (RFC 9700 §4.1.3), with one exception: for public clients a
//! loopback URI (`http://localhost`, `http://127.0.0.1`, `http://[::1]`) matches a registered
//! one whatever its port (RFC 8252 §7.3), because native apps such as kubectl's OIDC plugin
//! listen on a port chosen at run time. A public client with no registered URIs may use any
//! loopback URI, the out-of-band URI (the code is shown on a page) and the device-flow
//! callback, as Dex allows. Any other client registers the device callback as Dex configs
//! do, by path: `/device/callback` or the issuer's path followed by it (`/dex/device/callback`).

use crate::storage::Client;
use url::Url;

pub const OOB_URI: &str = "urn:ietf:wg:oauth:2.0:oob";

pub fn is_allowed(client: &Client, redirect_uri: &str, device_callback_uri: &str) -> bool {
    if client.redirect_uris.iter().any(|registered| registered == redirect_uri) {
        return true;
    }
    if redirect_uri == device_callback_uri
        && client
            .redirect_uris
            .iter()
            .any(|registered| registers_device_callback(registered, device_callback_uri))
    {
        return true;
    }
    if !client.public {
        return false;
    }
    if client.redirect_uris.is_empty()
        && (redirect_uri == OOB_URI || redirect_uri == device_callback_uri || is_loopback(redirect_uri))
    {
        return true;
    }
    client.redirect_uris.iter().any(|registered| loopback_matches_ignoring_port(registered, redirect_uri))
}

/// A registered relative URI naming the device callback, as Dex configs write it.
fn registers_device_callback(registered: &str, device_callback_uri: &str) -> bool {
    let issuer_form = Url::parse(device_callback_uri).is_ok_and(|url| url.path() == registered);
    registered == super::paths::DEVICE_CALLBACK || issuer_form
}

/// `http` to a loopback host, no fragment, no user info.
fn is_loopback(uri: &str) -> bool {
    parse_loopback(uri).is_some()
}

fn parse_loopback(uri: &str) -> Option<Url> {
    let url = Url::parse(uri).ok()?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    (url.scheme() == "http"
        && loopback
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none())
    .then_some(url)
}

fn loopback_matches_ignoring_port(registered: &str, requested: &str) -> bool {
    let (Some(mut registered), Some(mut requested)) = (parse_loopback(registered), parse_loopback(requested))
    else {
        return false;
    };
    // Setting the port on an http URL with a host cannot fail.
    let _ = registered.set_port(None);
    let _ = requested.set_port(None);
    registered == requested
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(public: bool, uris: &[&str]) -> Client {
        Client {
            id: "c".into(),
            public,
            redirect_uris: uris.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    const DEVICE: &str = "http://issuer/dex/device/callback";

    #[test]
    fn exact_match_for_confidential_clients() {
        let c = client(false, &["https://app.example/cb"]);
        assert!(is_allowed(&c, "https://app.example/cb", DEVICE));
        assert!(!is_allowed(&c, "https://app.example/cb/", DEVICE));
        assert!(!is_allowed(&c, "https://app.example/cb?x=1", DEVICE));
        assert!(!is_allowed(&c, "http://localhost:8000/cb", DEVICE));
        assert!(!is_allowed(&c, OOB_URI, DEVICE));
        assert!(!is_allowed(&c, DEVICE, DEVICE), "not registered");
    }

    #[test]
    fn device_callback_registered_by_path() {
        for registered in ["/dex/device/callback", "/device/callback", DEVICE] {
            let c = client(false, &["https://app.example/cb", registered]);
            assert!(is_allowed(&c, DEVICE, DEVICE), "{registered}");
            assert!(!is_allowed(&c, "http://evil.example/dex/device/callback", DEVICE), "{registered}");
        }
        let c = client(false, &["/other/device/callback"]);
        assert!(!is_allowed(&c, DEVICE, DEVICE));
    }

    #[test]
    fn public_loopback_any_port() {
        let c = client(true, &["http://localhost:8000"]);
        assert!(is_allowed(&c, "http://localhost:18000", DEVICE));
        assert!(is_allowed(&c, "http://localhost", DEVICE));
        assert!(!is_allowed(&c, "http://localhost:18000/other", DEVICE));
        assert!(!is_allowed(&c, "http://127.0.0.1:18000", DEVICE));
        assert!(!is_allowed(&c, "https://localhost:18000", DEVICE));
        assert!(!is_allowed(&c, "http://localhost.evil.example:18000", DEVICE));
    }

    #[test]
    fn public_without_registered_uris() {
        let c = client(true, &[]);
        assert!(is_allowed(&c, "http://127.0.0.1:41234/callback", DEVICE));
        assert!(is_allowed(&c, "http://[::1]:8000", DEVICE));
        assert!(is_allowed(&c, OOB_URI, DEVICE));
        assert!(is_allowed(&c, DEVICE, DEVICE));
        assert!(!is_allowed(&c, "https://evil.example/", DEVICE));
        assert!(!is_allowed(&c, "http://127.0.0.1:1/#frag", DEVICE));
    }
}
