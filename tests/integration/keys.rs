//! Signing keys: the published JWKS, rotation with the next key published a rotation ahead
//! and the old key kept for verification, and ES256.

use crate::common::rp::{self, RpHttp};
use crate::common::*;
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_publishes_public_signing_keys_only() {
    let server = TestServer::start().await;
    let response = api().get(server.url("/keys")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cache = response.headers()["cache-control"].to_str().unwrap().to_string();
    let max_age: i64 = cache
        .split(',')
        .find_map(|d| d.trim().strip_prefix("max-age="))
        .unwrap_or_else(|| panic!("{cache}"))
        .parse()
        .unwrap();
    assert!((120..=6 * 3600).contains(&max_age), "{cache}");
    let jwks: serde_json::Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "the signing key and the one published for the next rotation");
    for key in keys {
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["alg"], "RS256");
        assert_eq!(key["use"], "sig");
        assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
        assert!(key["n"].is_string() && key["e"].is_string());
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "private part {private} published");
        }
    }
    assert_ne!(keys[0]["kid"], keys[1]["kid"]);
    // Tokens name the first published key, the signing key.
    let tokens = server.login_tokens("openid").await;
    assert_eq!(jwt_header(tokens["id_token"].as_str().unwrap())["kid"], keys[0]["kid"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_keeps_the_old_key_for_verification() {
    let server = TestServer::builder()
        .yaml("signer:\n  type: local\n  config:\n    keysRotationPeriod: 1h\n")
        .start()
        .await;
    let http = RpHttp::new();
    let client = rp::client(&server, &http, CLIENT_ID, Some(CLIENT_SECRET), REDIRECT_URI).await;
    let before = rp::code_flow(&client, &http, &["email"]).await;
    let old_kid = jwt_header(before.tokens.id_token().unwrap().to_string().as_str())["kid"].clone();

    // Not due yet: nothing changes.
    server.advance(1800);
    server.running().app.signer.rotate_if_due().await.unwrap();
    let published = server.jwks().await;
    assert_eq!(published["keys"].as_array().unwrap().len(), 2);
    let upcoming_kid = published["keys"][1]["kid"].clone();

    server.advance(1801);
    server.running().app.signer.rotate_if_due().await.unwrap();
    let jwks = server.jwks().await;
    let kids: Vec<&serde_json::Value> = jwks["keys"].as_array().unwrap().iter().map(|k| &k["kid"]).collect();
    assert_eq!(kids.len(), 3, "new signing key, new upcoming key, old key: {jwks}");
    assert!(kids.contains(&&old_kid));

    // A fresh RP (new discovery, new JWKS) still verifies the token signed before.
    let fresh = rp::client(&server, &http, CLIENT_ID, Some(CLIENT_SECRET), REDIRECT_URI).await;
    rp::verify_id_token(&fresh, &before.tokens, &before.nonce);
    assert_eq!(server.userinfo(before.tokens.access_token().secret()).await.status, StatusCode::OK);
    // New tokens use the new key.
    let after = rp::code_flow(&fresh, &http, &["email"]).await;
    let new_kid = jwt_header(after.tokens.id_token().unwrap().to_string().as_str())["kid"].clone();
    assert_ne!(new_kid, old_kid);
    assert_eq!(new_kid, upcoming_kid, "the key published an hour before signs now");
    assert!(kids.contains(&&new_kid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deprecated_expiry_signing_keys_also_rotates() {
    let server = TestServer::builder().yaml("expiry:\n  signingKeys: 2h\n").start().await;
    let first = server.jwks().await;
    server.advance(2 * 3600 + 1);
    server.running().app.signer.rotate_if_due().await.unwrap();
    let second = server.jwks().await;
    assert_eq!(second["keys"].as_array().unwrap().len(), 3);
    assert!(second["keys"].as_array().unwrap().contains(&first["keys"][0]));
    assert_eq!(second["keys"][0], first["keys"][1], "the upcoming key now signs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es256_tokens_verify_with_the_rp() {
    let server =
        TestServer::builder().yaml("signer:\n  type: local\n  config:\n    algorithm: ES256\n").start().await;
    let http = RpHttp::new();
    let metadata = rp::discover(&server, &http).await;
    let algs: Vec<String> = metadata
        .id_token_signing_alg_values_supported()
        .iter()
        .map(|a| serde_json::to_value(a).unwrap().as_str().unwrap().to_string())
        .collect();
    assert_eq!(algs, ["ES256"]);
    let jwks = server.jwks().await;
    assert_eq!(jwks["keys"][0]["kty"], "EC");
    assert_eq!(jwks["keys"][0]["crv"], "P-256");
    assert!(jwks["keys"][0].get("d").is_none());

    let client = rp::client(&server, &http, CLIENT_ID, Some(CLIENT_SECRET), REDIRECT_URI).await;
    let login = rp::code_flow(&client, &http, &["email"]).await;
    assert_eq!(jwt_header(login.tokens.id_token().unwrap().to_string().as_str())["alg"], "ES256");
    assert_eq!(server.userinfo(login.tokens.access_token().secret()).await.status, StatusCode::OK);
}
