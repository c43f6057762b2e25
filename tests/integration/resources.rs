//! Access tokens for APIs: resource indicators (RFC 8707) and RFC 9068's `at+jwt` format,
//! per client (`allowedResources`, `accessTokenFormat`), with Dex's shape for the others.

use crate::common::*;
use reqwest::StatusCode;

const API: &str = "https://api.example.com";
const MCP: &str = "https://mcp.example.com/mcp";

async fn server() -> TestServer {
    TestServer::builder()
        .yaml("oauth2:\n  grantTypes: [authorization_code, refresh_token, client_credentials]\n")
        .yaml_with(|yaml| {
            let clients = yaml["staticClients"].as_sequence_mut().unwrap();
            let entry = clients.iter_mut().find(|c| c["id"].as_str() == Some(CLIENT_ID)).unwrap();
            let extra: serde_norway::Mapping = serde_norway::from_str(&format!(
                "allowedResources: ['{API}', '{MCP}']\naccessTokenFormat: rfc9068\n"
            ))
            .unwrap();
            entry.as_mapping_mut().unwrap().extend(extra);
        })
        .start()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_becomes_the_audience_of_an_rfc9068_token() {
    let server = server().await;
    let mut url = server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid email offline_access");
    url.query_pairs_mut().append_pair("resource", API);
    let done = login_with_password(&browser(), &url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let code = query_param(&done, "code").unwrap();
    // At /token the resource may only repeat the one of the authorization request.
    let form = |resource: &'static str| {
        vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("resource", resource),
        ]
    };
    let tokens = server.token(Some((CLIENT_ID, CLIENT_SECRET)), &form(API)).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    let access = tokens.str("access_token").to_string();
    assert_eq!(jwt_header(&access)["typ"], "at+jwt");
    let claims = jwt_claims(&access);
    assert_eq!(claims["aud"], API);
    assert_eq!(claims["client_id"], CLIENT_ID);
    for name in ["iss", "exp", "iat", "sub", "jti", "scope"] {
        assert!(claims.get(name).is_some(), "RFC 9068 §2.2 needs {name}: {claims}");
    }
    // The ID token is still for the client; introspection and /userinfo know the token.
    assert_eq!(jwt_claims(tokens.str("id_token"))["aud"], CLIENT_ID);
    let introspected = server.introspect_as_app(&access).await;
    assert_eq!(introspected.json["active"], true, "{}", introspected.text);
    assert_eq!(introspected.json["client_id"], CLIENT_ID);
    assert_eq!(introspected.json["aud"], API);
    assert_eq!(server.userinfo(&access).await.status, StatusCode::OK);

    // A refresh keeps the resource; another one is refused.
    let refresh = tokens.str("refresh_token");
    let renewed = server.refresh(refresh).await;
    assert_eq!(jwt_claims(renewed.str("access_token"))["aud"], API, "{}", renewed.text);
    server
        .token(
            Some((CLIENT_ID, CLIENT_SECRET)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", renewed.str("refresh_token")),
                ("resource", "https://other.example.com"),
            ],
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_target");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_the_client_may_not_have_is_refused() {
    let server = server().await;
    // At /auth: back to the client with invalid_target.
    let mut url = server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid");
    url.query_pairs_mut().append_pair("resource", "https://other.example.com");
    let response = api().get(url).send().await.unwrap();
    let location = response.headers().get("location").unwrap().to_str().unwrap().to_string();
    let location = url::Url::parse(&location).unwrap();
    assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_target"), "{location}");

    // client_credentials: the allowed resource is the audience; others are refused.
    let server = &server;
    let cc = |id: &'static str, secret: &'static str, resource: &'static str| async move {
        let form = [("grant_type", "client_credentials"), ("scope", "openid"), ("resource", resource)];
        server.token(Some((id, secret)), &form).await
    };
    let tokens = cc(CLIENT_ID, CLIENT_SECRET, API).await;
    assert_eq!(jwt_claims(tokens.str("access_token"))["aud"], API, "{}", tokens.text);
    cc(CLIENT_ID, CLIENT_SECRET, "https://other.example.com")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_target");
    cc(OTHER_ID, OTHER_SECRET, API).await.assert_error(StatusCode::BAD_REQUEST, "invalid_target");
    // A client that asks for nothing gets Dex's access token.
    let dex = server
        .token(Some((OTHER_ID, OTHER_SECRET)), &[("grant_type", "client_credentials"), ("scope", "openid")])
        .await;
    let access = dex.str("access_token");
    assert_eq!(jwt_header(access)["typ"], "JWT");
    assert_eq!(jwt_claims(access)["aud"], OTHER_ID);
    assert!(jwt_claims(access).get("client_id").is_none());
}

/// RFC 8707 §2: `resource` repeats; the token request and each refresh may narrow the set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_resources_and_narrowing() {
    let server = server().await;
    let mut url = server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid offline_access");
    url.query_pairs_mut().append_pair("resource", API).append_pair("resource", MCP);
    let done = login_with_password(&browser(), &url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let code = query_param(&done, "code").unwrap();
    let tokens = server
        .token(
            Some((CLIENT_ID, CLIENT_SECRET)),
            &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)],
        )
        .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert_eq!(jwt_claims(tokens.str("access_token"))["aud"], serde_json::json!([API, MCP]));
    // A refresh narrows to one (a repeated `resource` in a form works too), but never widens.
    let refresh = |token: String, resources: &'static [&'static str]| {
        let server = &server;
        async move {
            let mut form = vec![("grant_type", "refresh_token".to_string()), ("refresh_token", token)];
            form.extend(resources.iter().map(|r| ("resource", r.to_string())));
            let sent = api()
                .post(server.url("/token"))
                .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
                .form(&form)
                .send();
            ApiResponse::read(sent.await.unwrap()).await
        }
    };
    let both = refresh(tokens.str("refresh_token").to_string(), &[API, MCP]).await;
    assert_eq!(jwt_claims(both.str("access_token"))["aud"], serde_json::json!([API, MCP]), "{}", both.text);
    let narrowed = refresh(both.str("refresh_token").to_string(), &[MCP]).await;
    assert_eq!(jwt_claims(narrowed.str("access_token"))["aud"], MCP, "{}", narrowed.text);
    let again = refresh(narrowed.str("refresh_token").to_string(), &["https://other.example.com"]).await;
    again.assert_error(StatusCode::BAD_REQUEST, "invalid_target");

    // At PAR the parameter repeats as well.
    let challenge = s256("a-verifier-for-the-pushed-request-with-two-resources");
    let form = [
        ("response_type", "code"),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("resource", API),
        ("resource", MCP),
    ];
    let pushed = api().post(server.url("/par")).basic_auth(CLIENT_ID, Some(CLIENT_SECRET)).form(&form).send();
    let pushed = ApiResponse::read(pushed.await.unwrap()).await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.text);
}
