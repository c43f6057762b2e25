//! Per-client settings beyond Dex (Dex #3557): token lifetimes (`expiry`) and the grants a
//! client may use (`grantTypes`), set in `staticClients` as a Dex config would carry them.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::Value;

/// Adds `extra` (YAML mapping keys) to the `staticClients` entry of `id`.
fn with_client_keys(
    id: &'static str,
    extra: &'static str,
) -> impl FnOnce(&mut serde_norway::Value) + 'static {
    move |yaml| {
        let clients = yaml["staticClients"].as_sequence_mut().unwrap();
        let entry = clients.iter_mut().find(|c| c["id"].as_str() == Some(id)).unwrap();
        let extra: serde_norway::Mapping = serde_norway::from_str(extra).unwrap();
        entry.as_mapping_mut().unwrap().extend(extra);
    }
}

fn lifetime(token: &str) -> i64 {
    let claims = jwt_claims(token);
    claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_has_its_own_token_lifetimes() {
    let server = TestServer::builder()
        .yaml_with(with_client_keys(
            CLIENT_ID,
            "expiry:\n  idTokens: 2m\n  accessTokens: 30s\n  refreshTokens:\n    absoluteLifetime: 1h\n",
        ))
        .start()
        .await;
    let tokens: Value = server.login_tokens("openid email offline_access").await;
    assert_eq!(lifetime(tokens["id_token"].as_str().unwrap()), 120);
    assert_eq!(lifetime(tokens["access_token"].as_str().unwrap()), 30);
    assert_eq!(tokens["expires_in"], 30);
    // Another client keeps the server's lifetimes (Dex's 24h).
    let code = server.login_code(OTHER_ID, OTHER_REDIRECT_URI, "openid").await;
    let other = server
        .token(
            Some((OTHER_ID, OTHER_SECRET)),
            &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", OTHER_REDIRECT_URI)],
        )
        .await;
    assert_eq!(lifetime(other.str("id_token")), 24 * 3600, "{}", other.text);

    // The refresh token ends after the client's absolute lifetime, not the server's.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let renewed = server.refresh(refresh).await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.text);
    assert_eq!(lifetime(renewed.str("access_token")), 30);
    server.advance(3601);
    server.refresh(renewed.str("refresh_token")).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_uses_only_its_grant_types() {
    let server = TestServer::builder()
        .yaml("oauth2:\n  grantTypes: [authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code]\n")
        .yaml_with(with_client_keys(OTHER_ID, "grantTypes: [authorization_code]\n"))
        .start()
        .await;
    // The code flow works, but no refresh token comes with offline_access.
    let code = server.login_code(OTHER_ID, OTHER_REDIRECT_URI, "openid offline_access").await;
    let tokens = server
        .token(
            Some((OTHER_ID, OTHER_SECRET)),
            &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", OTHER_REDIRECT_URI)],
        )
        .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert!(tokens.json.get("refresh_token").is_none(), "{}", tokens.text);
    server
        .token(Some((OTHER_ID, OTHER_SECRET)), &[("grant_type", "client_credentials")])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    let device = api()
        .post(server.url("/device/code"))
        .basic_auth(OTHER_ID, Some(OTHER_SECRET))
        .form(&[("scope", "openid")])
        .send()
        .await
        .unwrap();
    ApiResponse::read(device).await.assert_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    // Other clients keep every grant the server allows.
    let cc = server.token(Some((CLIENT_ID, CLIENT_SECRET)), &[("grant_type", "client_credentials")]).await;
    assert_eq!(cc.status, StatusCode::OK, "{}", cc.text);
}
