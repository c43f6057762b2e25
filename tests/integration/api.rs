//! The API-client features: introspection (RFC 7662), revocation (RFC 7009), and the
//! `client_credentials`, `password` and token-exchange (RFC 8693) grants, with discovery.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::config::GrantType;
use tessera::oauth2::subject;

const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";
const ID: &str = "urn:ietf:params:oauth:token-type:id_token";
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// Dex's mock user, returned by `mockCallback` for any subject token.
const MOCK_USER_ID: &str = "0-385-28089-0";

const MOCK_CONNECTORS: &str = r#"
connectors:
  - type: mockCallback
    id: mock
    name: Mock
  - type: mockCallback
    id: no-exchange
    name: Login only
    grantTypes: [authorization_code, refresh_token]
"#;

async fn post(
    server: &TestServer,
    path: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> ApiResponse {
    let mut request = api().post(server.url(path)).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    ApiResponse::read(request.send().await.unwrap()).await
}

/// Introspects as `other-app`, a resource server that is not the token's client: what a
/// resource server checking an access token does.
async fn introspect(server: &TestServer, token: &str) -> Value {
    introspect_as(server, (OTHER_ID, OTHER_SECRET), token).await
}

/// Introspects as the token's own client, the only one a refresh token is described to.
async fn introspect_own(server: &TestServer, token: &str) -> Value {
    introspect_as(server, (CLIENT_ID, CLIENT_SECRET), token).await
}

async fn introspect_as(server: &TestServer, caller: (&str, &str), token: &str) -> Value {
    let r = post(server, "/token/introspect", Some(caller), &[("token", token)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    r.json
}

async fn revoke(server: &TestServer, basic: (&str, &str), token: &str, hint: &str) -> ApiResponse {
    post(server, "/token/revoke", Some(basic), &[("token", token), ("token_type_hint", hint)]).await
}

fn inactive() -> Value {
    json!({"active": false})
}

// ---- discovery -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_lists_the_endpoints_and_exactly_the_enabled_grants() {
    let server = TestServer::start().await;
    let d: Value = api()
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["introspection_endpoint"], format!("{}/token/introspect", server.issuer));
    assert_eq!(d["revocation_endpoint"], format!("{}/token/revoke", server.issuer));
    assert_eq!(d["authorization_response_iss_parameter_supported"], true, "RFC 9207");
    // Dex's defaults: no password grant without passwordConnector, no client_credentials.
    assert_eq!(
        d["grant_types_supported"],
        json!([
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code",
            EXCHANGE
        ])
    );

    let server = TestServer::builder()
        .yaml("oauth2:\n  passwordConnector: local\n  grantTypes: [authorization_code, client_credentials, password]\n")
        .start()
        .await;
    let d: Value = api()
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["grant_types_supported"], json!(["authorization_code", "client_credentials", "password"]));
}

// ---- introspection and revocation --------------------------------------------------------

/// The main path, on each storage: introspect, revoke, and the revocation's effects.
async fn introspect_then_revoke(store: Store) {
    let server = TestServer::builder().store(store).start().await;
    let tokens = server.login_tokens("openid email profile groups offline_access").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let id_claims = jwt_claims(tokens["id_token"].as_str().unwrap());

    let a = introspect(&server, access).await;
    assert_eq!(a["active"], true, "{a}");
    assert_eq!(a["client_id"], CLIENT_ID);
    assert_eq!(a["aud"], CLIENT_ID);
    assert_eq!(a["iss"], server.issuer);
    assert_eq!(a["sub"], id_claims["sub"]);
    assert_eq!(a["scope"], "openid email profile groups offline_access");
    assert_eq!(a["token_type"], "Bearer");
    assert_eq!(a["token_use"], "access_token");
    assert_eq!(a["nbf"], a["iat"]);
    assert!(a["exp"].as_i64().unwrap() > a["iat"].as_i64().unwrap());
    assert!(a["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert_eq!(a["email"], ADMIN_EMAIL);
    assert_eq!(a["email_verified"], true);
    assert_eq!(a["name"], ADMIN_USERNAME);
    assert_eq!(a["groups"], json!(["admins", "developers"]));
    assert_eq!(a["ext"]["email"], ADMIN_EMAIL, "Dex's `ext` object");

    let r = introspect_own(&server, refresh).await;
    assert_eq!(r["active"], true, "{r}");
    assert_eq!(introspect(&server, refresh).await, inactive(), "a refresh token is its client's alone");
    assert_eq!(r["token_type"], "refresh_token");
    assert_eq!(r["client_id"], CLIENT_ID);
    assert_eq!(r["sub"], id_claims["sub"]);
    assert_eq!(r["scope"], "openid email profile groups offline_access");
    assert!(r["iat"].as_i64().is_some());
    assert!(r.get("exp").is_none(), "no absolute lifetime configured");

    // Revoking the access token: 200, no-store; userinfo and introspection refuse it.
    let done = revoke(&server, (CLIENT_ID, CLIENT_SECRET), access, "refresh_token").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.header("cache-control"), Some("no-store"));
    assert_eq!(server.userinfo(access).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(introspect(&server, access).await, inactive());
    // The refresh token is a different grant: still active.
    assert_eq!(introspect_own(&server, refresh).await["active"], true);

    // Revoking the refresh token ends the family.
    let done = revoke(&server, (CLIENT_ID, CLIENT_SECRET), refresh, "access_token").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(introspect_own(&server, refresh).await, inactive());
    server.refresh(refresh).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspect_and_revoke_on_sqlite() {
    introspect_then_revoke(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspect_and_revoke_on_postgres() {
    introspect_then_revoke(Store::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspect_and_revoke_on_mysql() {
    introspect_then_revoke(Store::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_rotated_and_garbage_tokens_are_inactive() {
    let server = TestServer::builder()
        .yaml("expiry:\n  idTokens: 10m\n  refreshTokens:\n    absoluteLifetime: 1h\n")
        .start()
        .await;
    let tokens = server.login_tokens("openid offline_access").await;
    let access = tokens["access_token"].as_str().unwrap();
    let first = tokens["refresh_token"].as_str().unwrap();
    let r = introspect_own(&server, first).await;
    assert_eq!(r["exp"].as_i64().unwrap() - r["iat"].as_i64().unwrap(), 3600);

    // Rotation: the old secret is no longer active, the new one is.
    let second = server.refresh(first).await;
    let second = second.str("refresh_token").to_string();
    assert_eq!(introspect_own(&server, first).await, inactive());
    assert_eq!(introspect_own(&server, &second).await["active"], true);

    for garbage in ["", "x", "a.b", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "..", "é.€", &"A".repeat(20_000)]
    {
        assert_eq!(introspect(&server, garbage).await, inactive(), "{garbage:?}");
    }
    // The access token expires after 10 minutes, the refresh token after an hour.
    server.advance(601);
    assert_eq!(introspect(&server, access).await, inactive());
    assert_eq!(introspect_own(&server, &second).await["active"], true);
    server.advance(3000);
    assert_eq!(introspect_own(&server, &second).await, inactive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_requires_client_authentication_unless_allowed() {
    let server = TestServer::start().await;
    let tokens = server.login_tokens("openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    post(&server, "/token/introspect", None, &[("token", access)])
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    post(&server, "/token/introspect", Some((OTHER_ID, "wrong")), &[("token", access)])
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    post(
        &server,
        "/token/introspect",
        Some((OTHER_ID, OTHER_SECRET)),
        &[("token_type_hint", "access_token")],
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    let json_body =
        api().post(server.url("/token/introspect")).json(&json!({"token": access})).send().await.unwrap();
    ApiResponse::read(json_body).await.assert_error(StatusCode::BAD_REQUEST, "invalid_request");

    let open = TestServer::builder()
        .yaml("oauth2:\n  introspection:\n    allowUnauthenticated: true\n")
        .start()
        .await;
    let tokens = open.login_tokens("openid").await;
    let r =
        post(&open, "/token/introspect", None, &[("token", tokens["access_token"].as_str().unwrap())]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["active"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_refuses_other_clients_tokens_and_accepts_unknown_ones() {
    let server = TestServer::start().await;
    let tokens = server.login_tokens("openid offline_access").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    for token in [access, refresh] {
        revoke(&server, (OTHER_ID, OTHER_SECRET), token, "")
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
        assert_eq!(introspect_own(&server, token).await["active"], true, "not revoked");
    }
    assert_eq!(server.userinfo(access).await.status, StatusCode::OK);

    for unknown in ["nope", "a.b.c", "abc.def", ""] {
        let r = revoke(&server, (CLIENT_ID, CLIENT_SECRET), unknown, "refresh_token").await;
        assert_eq!(r.status, StatusCode::OK, "{unknown:?}: {}", r.text);
    }
    post(&server, "/token/revoke", None, &[("token", access)])
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    revoke(&server, (CLIENT_ID, "wrong"), access, "")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(introspect(&server, access).await["active"], true);
}

// ---- client_credentials ---------------------------------------------------------------

fn with_client_credentials() -> Builder {
    TestServer::builder()
        .yaml("oauth2:\n  grantTypes: [authorization_code, refresh_token, client_credentials]\n")
        .config(|c| {
            let client = c.static_clients.iter_mut().find(|c| c.id == CLIENT_ID).unwrap();
            client.client_credentials_groups = vec!["robots".into()];
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_is_opt_in() {
    let server = TestServer::start().await;
    server
        .token(Some((CLIENT_ID, CLIENT_SECRET)), &[("grant_type", "client_credentials")])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_issues_tokens_for_the_client_itself() {
    let server = with_client_credentials().start().await;
    let basic = Some((CLIENT_ID, CLIENT_SECRET));
    let r = server
        .token(basic, &[("grant_type", "client_credentials"), ("scope", "openid profile groups")])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json.get("refresh_token").is_none());
    assert_eq!(r.json["scope"], "openid profile groups");
    let id = jwt_claims(r.str("id_token"));
    // As Dex: the subject encodes the client id with an empty connector id.
    assert_eq!(id["sub"], subject::encode(CLIENT_ID, &"".into()));
    assert_eq!(id["aud"], CLIENT_ID);
    assert_eq!(id["name"], "Example App");
    assert_eq!(id["preferred_username"], "Example App");
    assert_eq!(id["groups"], json!(["robots"]));
    let a = introspect(&server, r.str("access_token")).await;
    assert_eq!(
        (a["active"].clone(), a["sub"].clone()),
        (json!(true), json!(subject::encode(CLIENT_ID, &"".into())))
    );
    assert_eq!(a["client_id"], CLIENT_ID);

    // Without openid: an access token only.
    let r = server.token(basic, &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json.get("id_token").is_none());
    assert!(jwt_claims(r.str("access_token")).get("groups").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_refuses_public_clients_and_other_scopes() {
    let server = with_client_credentials().start().await;
    server
        .token(None, &[("grant_type", "client_credentials"), ("client_id", NATIVE_ID)])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    let basic = Some((CLIENT_ID, CLIENT_SECRET));
    for scope in [
        "openid offline_access",
        "federated:id",
        "openid admin",
        &format!("audience:server:client_id:{OTHER_ID}"),
    ] {
        server
            .token(basic, &[("grant_type", "client_credentials"), ("scope", scope)])
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_scope");
    }
    // A peer that trusts the client may be in the audience.
    let peer = format!("openid audience:server:client_id:{PEER_ID}");
    let r = server.token(basic, &[("grant_type", "client_credentials"), ("scope", &peer)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(jwt_claims(r.str("id_token"))["aud"], json!([PEER_ID, CLIENT_ID]));
    server
        .token(Some((CLIENT_ID, "wrong")), &[("grant_type", "client_credentials")])
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
}

// ---- password --------------------------------------------------------------------------

fn password_form<'a>(username: &'a str, password: &'a str, scope: &'a str) -> [(&'a str, &'a str); 4] {
    [("grant_type", "password"), ("username", username), ("password", password), ("scope", scope)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_grant_logs_in_through_the_password_connector() {
    let server = TestServer::builder().yaml("oauth2:\n  passwordConnector: local\n").start().await;
    let basic = Some((CLIENT_ID, CLIENT_SECRET));
    let r = server
        .token(basic, &password_form(ADMIN_EMAIL, ADMIN_PASSWORD, "openid email groups offline_access"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = jwt_claims(r.str("id_token"));
    assert_eq!(id["sub"], subject::encode(ADMIN_USER_ID, &"local".into()));
    assert_eq!(id["email"], ADMIN_EMAIL);
    assert_eq!(id["groups"], json!(["admins", "developers"]));
    assert_eq!(server.userinfo(r.str("access_token")).await.status, StatusCode::OK);
    let refreshed = server.refresh(r.str("refresh_token")).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    assert_eq!(jwt_claims(refreshed.str("id_token"))["sub"], id["sub"]);

    // Without offline_access, no refresh token.
    let r = server.token(basic, &password_form(ADMIN_EMAIL, ADMIN_PASSWORD, "openid")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json.get("refresh_token").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_grant_failures() {
    let server = TestServer::builder().yaml("oauth2:\n  passwordConnector: local\n").start().await;
    let basic = Some((CLIENT_ID, CLIENT_SECRET));
    let wrong = server.token(basic, &password_form(ADMIN_EMAIL, "wrong", "openid")).await;
    wrong.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let unknown = server.token(basic, &password_form("nobody@example.com", "wrong", "openid")).await;
    unknown.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(wrong.json, unknown.json, "no user enumeration");
    server
        .token(basic, &password_form(ADMIN_EMAIL, ADMIN_PASSWORD, "email"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_scope");
    server
        .token(basic, &[("grant_type", "password"), ("username", ADMIN_EMAIL), ("scope", "openid")])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    server
        .token(Some((CLIENT_ID, "wrong")), &password_form(ADMIN_EMAIL, ADMIN_PASSWORD, "openid"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");

    // Without passwordConnector the grant does not exist.
    let plain = TestServer::start().await;
    plain
        .token(basic, &password_form(ADMIN_EMAIL, ADMIN_PASSWORD, "openid"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
}

// ---- token exchange --------------------------------------------------------------------

async fn exchange(server: &TestServer, basic: (&str, &str), extra: &[(&str, &str)]) -> ApiResponse {
    let mut form =
        vec![("grant_type", EXCHANGE), ("subject_token", "upstream-token"), ("subject_token_type", ACCESS)];
    for (k, v) in extra {
        form.retain(|(name, _)| name != k);
        form.push((k, v));
    }
    server.token(Some(basic), &form).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_exchange_through_the_mock_connector() {
    let server = TestServer::builder().yaml(MOCK_CONNECTORS).start().await;
    let app = (CLIENT_ID, CLIENT_SECRET);

    // An upstream access token for one of ours (the default requested type).
    let r = exchange(&server, app, &[("connector_id", "mock"), ("scope", "openid email groups")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["issued_token_type"], ACCESS);
    assert_eq!(r.json["token_type"], "bearer");
    assert!(r.json.get("refresh_token").is_none());
    assert!(r.json["expires_in"].as_i64().unwrap() > 0);
    let info = server.userinfo(r.str("access_token")).await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.text);
    assert_eq!(info.json["sub"], subject::encode(MOCK_USER_ID, &"mock".into()));
    assert_eq!(info.json["email"], "kilgore@kilgore.trout");
    assert_eq!(introspect(&server, r.str("access_token")).await["client_id"], CLIENT_ID);

    // An upstream ID token for an ID token of ours (RFC 8693: not an access token, N_A).
    let r = exchange(
        &server,
        app,
        &[
            ("connector_id", "mock"),
            ("subject_token_type", ID),
            ("requested_token_type", ID),
            ("scope", "openid profile"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["issued_token_type"], ID);
    assert_eq!(r.json["token_type"], "N_A");
    let id = jwt_claims(r.str("access_token"));
    assert_eq!(id["iss"], server.issuer);
    assert_eq!(id["aud"], CLIENT_ID);
    assert_eq!(id["name"], "Kilgore Trout");

    // `audience`: a client that trusts the caller, or invalid_target.
    let r = exchange(
        &server,
        app,
        &[("connector_id", "mock"), ("requested_token_type", ID), ("audience", PEER_ID)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(jwt_claims(r.str("access_token"))["aud"], json!([PEER_ID, CLIENT_ID]));
    exchange(&server, app, &[("connector_id", "mock"), ("audience", OTHER_ID)])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_target");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_exchange_failures() {
    let server = TestServer::builder()
        .yaml(MOCK_CONNECTORS)
        .config(|c| {
            let other = c.static_clients.iter_mut().find(|c| c.id == OTHER_ID).unwrap();
            other.allowed_connectors = vec!["no-exchange".into()];
        })
        .start()
        .await;
    let app = (CLIENT_ID, CLIENT_SECRET);
    let bad_request = [
        vec![],                                                          // no connector_id
        vec![("connector_id", "missing")],                               // unknown connector
        vec![("connector_id", "no-exchange")],                           // connector refuses the grant
        vec![("connector_id", "local")],                                 // cannot verify tokens
        vec![("connector_id", "mock"), ("subject_token_type", "urn:x")], // unsupported type
        vec![("connector_id", "mock"), ("subject_token", "")],           // no subject token
        vec![
            ("connector_id", "mock"),
            ("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"),
        ],
    ];
    for extra in bad_request {
        exchange(&server, app, &extra).await.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    // other-app may only use the connector that does not allow the grant.
    exchange(&server, (OTHER_ID, OTHER_SECRET), &[("connector_id", "mock")])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    exchange(&server, (CLIENT_ID, "wrong"), &[("connector_id", "mock")])
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");

    // Disabled by `oauth2.grantTypes`.
    let off = TestServer::builder()
        .yaml(MOCK_CONNECTORS)
        .config(|c| c.oauth2.grant_types.retain(|g| *g != GrantType::TokenExchange))
        .start()
        .await;
    exchange(&off, app, &[("connector_id", "mock")])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
}

// ---- who may see and revoke what (public clients, ID tokens) -----------------------------

/// The kubectl client's tokens: a public client on a loopback redirect.
async fn kubectl_tokens(server: &TestServer) -> Value {
    let redirect = "http://localhost:38000/callback";
    let code = server.login_code(KUBECTL_ID, redirect, "openid email offline_access").await;
    let r = server
        .token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", redirect),
                ("client_id", KUBECTL_ID),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json
}

/// A public client's id in the body: what anyone who knows kubectl's id can send.
async fn as_public(server: &TestServer, path: &str, token: &str) -> ApiResponse {
    post(server, path, None, &[("token", token), ("client_id", KUBECTL_ID)]).await
}

/// kubectl's client id is public, so sending it proves nothing: it shows only kubectl's own
/// tokens, and the answer about anyone else's never says whether they are valid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_client_id_is_no_key_to_other_clients_tokens() {
    let server = TestServer::start().await;
    let apps = server.login_tokens("openid email offline_access").await;
    let own = kubectl_tokens(&server).await;
    for field in ["access_token", "refresh_token", "id_token"] {
        let r = as_public(&server, "/token/introspect", apps[field].as_str().unwrap()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json, inactive(), "example-app's {field} is not kubectl's to see");
    }
    for field in ["access_token", "refresh_token"] {
        let r = as_public(&server, "/token/introspect", own[field].as_str().unwrap()).await;
        assert_eq!(r.json["active"], true, "kubectl's own {field}: {}", r.text);
        assert_eq!(r.json["client_id"], KUBECTL_ID);
    }

    // Revocation: another client's token is refused alike whether it is valid or not.
    let refresh = apps["refresh_token"].as_str().unwrap();
    let (id, _) = refresh.split_once('.').unwrap();
    let tampered = format!("{id}.{}", "A".repeat(43));
    for token in [refresh, tampered.as_str(), apps["access_token"].as_str().unwrap()] {
        as_public(&server, "/token/revoke", token)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    assert_eq!(introspect_own(&server, refresh).await["active"], true, "left alone");
    // Its own tokens it may revoke.
    let r = as_public(&server, "/token/revoke", own["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = as_public(&server, "/token/introspect", own["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r.json, inactive());
}

/// An ID token (front channel: `id_token_hint`, browser storage) is no bearer credential:
/// `/userinfo` refuses it, introspection calls it inactive, revocation does not take it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_is_not_an_access_token() {
    let server = TestServer::start().await;
    let tokens = server.login_tokens("openid email profile groups").await;
    let (access, id_token) = (tokens["access_token"].as_str().unwrap(), tokens["id_token"].as_str().unwrap());
    let info = server.userinfo(id_token).await;
    info.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    assert_eq!(info.header("www-authenticate"), Some("Bearer error=\"invalid_token\""));
    assert_eq!(server.userinfo(access).await.status, StatusCode::OK);
    assert_eq!(introspect(&server, id_token).await, inactive());
    assert_eq!(introspect_own(&server, id_token).await, inactive());
    assert_eq!(introspect(&server, access).await["active"], true);
    revoke(&server, (CLIENT_ID, CLIENT_SECRET), id_token, "")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unsupported_token_type");
    // Both kinds keep the JWT shape Dex gives them: `typ: JWT`, our key, our issuer.
    for token in [access, id_token] {
        assert_eq!(jwt_header(token)["typ"], "JWT");
        assert_eq!(jwt_claims(token)["iss"], server.issuer);
    }
    assert!(jwt_claims(access).get("scope").is_some() && jwt_claims(id_token).get("scope").is_none());
}

/// Dex's token-exchange guide registers a public client with a secret: it loads, and the
/// client must then present its secret, as on Dex.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_client_with_a_secret_presents_it() {
    let server = TestServer::builder()
        .yaml(MOCK_CONNECTORS)
        .yaml_with(|yaml| {
            let client: serde_norway::Value = serde_norway::from_str(
                "id: exchanger\nname: Exchanger\npublic: true\nsecret: exchanger-secret\n",
            )
            .unwrap();
            yaml["staticClients"].as_sequence_mut().unwrap().push(client);
        })
        .start()
        .await;
    let form = [
        ("grant_type", EXCHANGE),
        ("subject_token", "upstream-token"),
        ("subject_token_type", ACCESS),
        ("connector_id", "mock"),
        ("scope", "openid"),
        ("client_id", "exchanger"),
    ];
    server.token(None, &form).await.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    server
        .token(Some(("exchanger", "wrong")), &form)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    let r = server.token(Some(("exchanger", "exchanger-secret")), &form).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
