//! The authorization code flow end to end with the `openidconnect` crate as relying party, on
//! every storage backend.

use crate::common::rp::{self, DexClaims, RpHttp};
use crate::common::*;
use openidconnect::core::CoreGenderClaim;
use openidconnect::{AuthType, OAuth2TokenResponse, SubjectIdentifier, UserInfoClaims};
use reqwest::StatusCode;

const ALL_SCOPES: &[&str] = &["email", "profile", "groups", "federated:id"];

/// Discovery, PKCE S256, nonce, client_secret_basic, ID token verified against the JWKS,
/// Dex's claims, then /userinfo with the access token.
async fn full_flow(server: &TestServer) {
    let http = RpHttp::new();
    let metadata = rp::discover(server, &http).await;
    assert_eq!(metadata.issuer().as_str(), server.issuer);
    assert_eq!(metadata.token_endpoint().unwrap().as_str(), format!("{}/token", server.issuer));
    let client = rp::client(server, &http, CLIENT_ID, Some(CLIENT_SECRET), REDIRECT_URI).await;

    let login = rp::code_flow(&client, &http, ALL_SCOPES).await;
    let claims = &login.claims;
    let subject = tessera::oauth2::subject::encode(ADMIN_USER_ID, &"local".into());
    assert_eq!(claims.subject().as_str(), subject);
    assert_eq!(claims.issuer().as_str(), server.issuer);
    assert_eq!(claims.audiences().iter().map(|a| a.as_str()).collect::<Vec<_>>(), [CLIENT_ID]);
    assert_eq!(claims.nonce().map(|n| n.secret()), Some(login.nonce.secret()));
    assert_eq!(claims.email().map(|e| e.as_str()), Some(ADMIN_EMAIL));
    assert_eq!(claims.email_verified(), Some(true));
    assert_eq!(claims.name().and_then(|n| n.get(None)).map(|n| n.as_str()), Some(ADMIN_USERNAME));
    assert!(claims.auth_time().is_some());
    let extra = claims.additional_claims();
    assert_eq!(extra.groups.as_deref(), Some(&["admins".to_string(), "developers".to_string()][..]));
    let federated = extra.federated_claims.as_ref().unwrap();
    assert_eq!((federated.connector_id.as_str(), federated.user_id.as_str()), ("local", ADMIN_USER_ID));
    assert!(login.tokens.refresh_token().is_none(), "no offline_access, no refresh token");

    let userinfo: UserInfoClaims<DexClaims, CoreGenderClaim> = client
        .user_info(login.tokens.access_token().clone(), Some(SubjectIdentifier::new(subject.clone())))
        .unwrap()
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("userinfo failed: {e:?}"));
    assert_eq!(userinfo.subject().as_str(), subject);
    assert_eq!(userinfo.email().map(|e| e.as_str()), Some(ADMIN_EMAIL));
    assert_eq!(userinfo.additional_claims().groups.as_ref().map(Vec::len), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_flow_with_rp_library_on_sqlite() {
    let server = TestServer::start().await;
    full_flow(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_flow_with_rp_library_on_postgres() {
    let server = TestServer::builder().store(Store::Postgres).start().await;
    full_flow(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_flow_with_rp_library_on_mysql() {
    let server = TestServer::builder().store(Store::Mysql).start().await;
    full_flow(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_flow_with_rp_library_on_memory() {
    let server = TestServer::builder().store(Store::Memory).start().await;
    full_flow(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_post_works() {
    let server = TestServer::start().await;
    let http = RpHttp::new();
    let client = rp::client(&server, &http, CLIENT_ID, Some(CLIENT_SECRET), REDIRECT_URI)
        .await
        .set_auth_type(AuthType::RequestBody);
    let login = rp::code_flow(&client, &http, &["email"]).await;
    assert_eq!(login.claims.email().map(|e| e.as_str()), Some(ADMIN_EMAIL));
    assert!(login.claims.additional_claims().groups.is_none(), "groups only with the groups scope");
    assert!(login.claims.name().is_none(), "name only with the profile scope");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_response_is_not_cacheable_and_well_formed() {
    let server = TestServer::start().await;
    let code = server.login_code(CLIENT_ID, REDIRECT_URI, "openid email offline_access").await;
    let response = server.redeem(&code).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert!(response.header("content-type").unwrap().starts_with("application/json"));
    assert_eq!(response.json["token_type"].as_str().map(str::to_lowercase).as_deref(), Some("bearer"));
    assert!(response.json["expires_in"].as_i64().unwrap() > 0);
    assert!(response.json["refresh_token"].is_string());
    let id = jwt_claims(response.str("id_token"));
    assert_eq!(id["nonce"], "n0nce");
    assert_eq!(id["aud"], CLIENT_ID);
    let info = server.userinfo(response.str("access_token")).await;
    assert_eq!(info.status, StatusCode::OK);
    assert_eq!(info.json["email"], ADMIN_EMAIL);
    assert_eq!(info.json["sub"], tessera::oauth2::subject::encode(ADMIN_USER_ID, &"local".into()));
}
