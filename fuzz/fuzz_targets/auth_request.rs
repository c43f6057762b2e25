//! The authorization request as `/auth` reads it (the query of a GET, or a POST body read the
//! same way) through validation and the flow's first step, the functions `auth_get` calls
//! without the router's layers around them (`http_auth` drives those, far more slowly).
//!
//! Properties: no panic; no server error for any input; an error goes back to the client
//! only at the redirect URI it registered (RFC 9700 §4.1, never an open redirect); a
//! successful first step only sends the browser on to one of our own connector pages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera::flow::{self, Start};
use tessera::oauth2::authorize::{AuthorizeError, AuthorizeParams};
use tessera::web::errors::page_status;
use tessera::web::page_extract::parse_query;
use tessera_fuzz::{CLIENT_ID, ISSUER, REDIRECT_URI, app, assert_client_error, block_on};

/// Where each of the harness's clients may be sent, written out independently of
/// `oauth2::redirect`: `example-app` registered one URI; `cli` is public with none registered,
/// so (as in Dex) any `http` loopback URI, the out-of-band URI and the device callback.
fn registered(client_id: &str, uri: &str) -> bool {
    match client_id {
        CLIENT_ID => uri == REDIRECT_URI,
        "cli" => {
            uri == "urn:ietf:wg:oauth:2.0:oob"
                || uri == app().settings.device_callback_uri()
                || url::Url::parse(uri).is_ok_and(|u| {
                    u.scheme() == "http"
                        && matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
                        && u.username().is_empty()
                        && u.password().is_none()
                })
        }
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let mut client_id = String::new();
    let outcome = parse_query::<AuthorizeParams>(Some(&raw)).and_then(|params| {
        client_id = params.client_id.clone().unwrap_or_default();
        block_on(flow::start(&app().flow_context(None), &params, None))
    });
    match outcome {
        Ok(Start::Redirect(url)) => assert!(url.starts_with(&format!("{ISSUER}/auth/")), "sent on to {url:?}"),
        Ok(Start::Chooser { connectors, .. }) => {
            assert!(connectors.iter().all(|(_, url)| url.starts_with(&format!("{ISSUER}/auth/"))))
        }
        Ok(Start::Done(_)) => panic!("answered without a session"),
        Err(AuthorizeError::Redirect(r)) => {
            assert!(registered(&client_id, &r.redirect_uri), "{client_id:?}'s error sent to {:?}", r.redirect_uri);
            assert_client_error(&r.error);
        }
        Err(AuthorizeError::Page { kind, message }) => {
            assert!(!page_status(kind).is_server_error(), "{kind:?}: {message}")
        }
        Err(e @ (AuthorizeError::Unavailable | AuthorizeError::Throttled(_))) => panic!("{e:?}"),
    }
});
