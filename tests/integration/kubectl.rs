//! What the kubectl OIDC plugin (kubelogin) does, with the `openidconnect` crate: discovery,
//! authorization code + S256 PKCE as a public client on `http://localhost:<any port>`, the
//! token exchange without a secret, ID tokens kube-apiserver accepts, and refreshes that keep
//! working — on two machines at once.

use crate::common::rp::{self, RpHttp};
use crate::common::*;
use openidconnect::{Nonce, OAuth2TokenResponse, RefreshToken, TokenResponse};

/// What kube-apiserver checks with `--oidc-issuer-url`, `--oidc-client-id=kubectl`,
/// `--oidc-username-claim=email` and `--oidc-groups-claim=groups`.
fn assert_apiserver_accepts(server: &TestServer, id_token: &str) {
    let header = jwt_header(id_token);
    assert_eq!(header["alg"], "RS256", "kube-apiserver's default signing algorithm");
    assert!(header["kid"].is_string());
    let claims = jwt_claims(id_token);
    assert_eq!(claims["iss"], server.issuer.as_str(), "iss is exactly the issuer URL");
    assert_eq!(claims["aud"], KUBECTL_ID);
    assert_eq!(claims["email"], ADMIN_EMAIL, "the username claim");
    assert_eq!(claims["email_verified"], true, "kube-apiserver refuses unverified emails as usernames");
    assert_eq!(claims["groups"], serde_json::json!(["admins", "developers"]));
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
}

fn loopback_redirect() -> String {
    // kubelogin binds a free port on localhost and uses it as the redirect URI.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("http://localhost:{port}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubelogin_code_flow_with_pkce_and_refresh() {
    let server = TestServer::start().await;
    let http = RpHttp::new();
    let redirect = loopback_redirect();
    let kubectl = rp::client(&server, &http, KUBECTL_ID, None, &redirect).await;

    let login = rp::code_flow(&kubectl, &http, &["email", "groups", "profile", "offline_access"]).await;
    let id_token = login.tokens.id_token().unwrap().to_string();
    assert_apiserver_accepts(&server, &id_token);
    let refresh = login.tokens.refresh_token().expect("offline_access gives a refresh token").clone();

    // kubectl refreshes when the ID token expires, days or weeks later.
    server.advance(24 * 3600 + 60);
    let refreshed = kubectl
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("refresh failed: {e:?}"));
    let claims = rp::verify_id_token(&kubectl, &refreshed, &Nonce::new(login.nonce.secret().clone()));
    assert_eq!(claims.subject(), login.claims.subject());
    assert_apiserver_accepts(&server, &refreshed.id_token().unwrap().to_string());
    let rotated = refreshed.refresh_token().expect("a rotated refresh token").clone();
    assert_ne!(rotated.secret(), refresh.secret());

    // The next week, the rotated token works again.
    server.advance(7 * 24 * 3600);
    let again = kubectl.exchange_refresh_token(&rotated).unwrap().request_async(&http).await;
    assert!(again.is_ok(), "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_machines_hold_independent_refresh_tokens() {
    let server = TestServer::start().await;
    let http = RpHttp::new();
    let laptop = rp::client(&server, &http, KUBECTL_ID, None, &loopback_redirect()).await;
    let desktop = rp::client(&server, &http, KUBECTL_ID, None, &loopback_redirect()).await;
    let on_laptop = rp::code_flow(&laptop, &http, &["email", "groups", "offline_access"]).await;
    let on_desktop = rp::code_flow(&desktop, &http, &["email", "groups", "offline_access"]).await;
    let (a, b) = (on_laptop.tokens.refresh_token().unwrap(), on_desktop.tokens.refresh_token().unwrap());
    assert_ne!(a.secret(), b.secret());
    // Both keep working, interleaved (Dex would have replaced the first with the second).
    let refresh = |client: &rp::Rp, token: RefreshToken| {
        let http = &http;
        let client = client.clone();
        async move {
            let response = client.exchange_refresh_token(&token).unwrap().request_async(http).await;
            response.unwrap_or_else(|e| panic!("refresh failed: {e:?}")).refresh_token().unwrap().clone()
        }
    };
    let a2 = refresh(&laptop, a.clone()).await;
    let b2 = refresh(&desktop, b.clone()).await;
    refresh(&laptop, a2).await;
    refresh(&desktop, b2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_loopback_uri_matches_any_port() {
    let server = TestServer::start().await;
    let http = RpHttp::new();
    // native-cli registered http://localhost:8000/callback; kubelogin-style apps pick a port.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client =
        rp::client(&server, &http, NATIVE_ID, None, &format!("http://localhost:{port}/callback")).await;
    let login = rp::code_flow(&client, &http, &["email"]).await;
    assert!(login.tokens.access_token().secret().split('.').count() == 3);
}
