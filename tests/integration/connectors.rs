//! The redirect connectors (`github`, `gitlab`, `microsoft`, `oauth`, `authproxy`) through
//! the whole browser login, against a local fake provider that answers with the shapes the
//! providers document (and Dex's tests record): `/auth` → the provider's authorize endpoint
//! (its parameters checked) → back to `/callback` with a code → approval → code → tokens.
//! The subject must be Dex's: `subject::encode(<Dex's user id>, <connector id>)`.
//!
//! GitHub Enterprise is reached over HTTPS (`hostName` + `rootCA`, as Dex requires) with a CA
//! made by `openssl` for the test; the others over plain HTTP on 127.0.0.1.

use crate::common::*;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tessera::oauth2::subject;
use url::Url;

/// What the fake provider knows and what it saw.
#[derive(Default)]
pub(crate) struct Fake {
    /// The public base URL of the server (for pagination links).
    pub base: String,
    /// The authorize requests it received.
    pub authorize: Vec<Url>,
    /// The token endpoint requests (form fields).
    pub token_requests: Vec<HashMap<String, String>>,
    /// GitHub: orgs the user is a member of.
    pub github_orgs: Vec<String>,
    /// GitLab userinfo groups.
    pub gitlab_groups: Vec<String>,
    /// Microsoft group ids the user is in (names are `name-<id>`).
    pub ms_groups: Vec<String>,
    /// Answer every API call with a 500 / with garbage.
    pub fail: Option<&'static str>,
    /// Bitbucket Cloud: the user's workspace slugs (one per page).
    pub bitbucket_workspaces: Vec<String>,
    /// Gitea: the user's teams, as (organization, team).
    pub gitea_teams: Vec<(String, String)>,
    /// OpenShift: the user object's groups.
    pub openshift_groups: Vec<String>,
    /// Keystone: the user's groups; whether the user was deleted.
    pub keystone_groups: Vec<String>,
    pub keystone_deleted: bool,
    /// Crowd: the user's nested groups; whether the account is deactivated.
    pub crowd_groups: Vec<String>,
    pub crowd_inactive: bool,
    /// Keystone: the X-Auth-Token of every API call.
    pub keystone_tokens_seen: Vec<String>,
    /// Token endpoint: answer without a refresh token, with this `expires_in`.
    pub access_only: Option<i64>,
    /// Bitbucket: a `next` link to another host (`evil` is its base URL).
    pub bitbucket_next_elsewhere: Option<String>,
    /// Bitbucket: how many workspace pages were asked for.
    pub api_calls: usize,
}

pub(crate) type Shared = Arc<Mutex<Fake>>;

pub(crate) fn bearer_ok(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("Bearer tok-"))
}

pub(crate) fn failing(fake: &Shared) -> Option<Response> {
    match fake.lock().unwrap().fail {
        Some("500") => Some((StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded").into_response()),
        Some(_) => {
            Some((StatusCode::OK, [("content-type", "application/json")], "{not json").into_response())
        }
        None => None,
    }
}

/// Any provider's authorize endpoint: logs the user in at once and sends them back with a code.
pub(crate) async fn authorize(
    State(fake): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    uri: axum::http::Uri,
) -> Response {
    let mut fake = fake.lock().unwrap();
    let seen = Url::parse(&format!("{}{}", fake.base, uri)).unwrap();
    fake.authorize.push(seen);
    let mut back = Url::parse(&q["redirect_uri"]).unwrap();
    back.query_pairs_mut().append_pair("code", "code-1").append_pair("state", &q["state"]);
    Redirect::to(back.as_str()).into_response()
}

/// Any provider's token endpoint (RFC 6749 §5.1); client authentication by HTTP Basic.
pub(crate) async fn token(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let basic = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let mut state = fake.lock().unwrap();
    state.token_requests.push(form.clone());
    if !basic.starts_with("Basic ") {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "invalid_client"}))).into_response();
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") if form.get("code").map(String::as_str) == Some("code-1") => {
            if let Some(expires_in) = state.access_only {
                return axum::Json(json!({"access_token": "tok-1", "token_type": "bearer", "expires_in": expires_in}))
                    .into_response();
            }
            axum::Json(json!({"access_token": "tok-1", "token_type": "bearer", "refresh_token": "ref-1", "expires_in": 3600}))
                .into_response()
        }
        Some("refresh_token") if form.get("refresh_token").map(String::as_str) == Some("ref-1") => {
            axum::Json(json!({"access_token": "tok-2", "token_type": "bearer", "expires_in": 3600})).into_response()
        }
        // GitHub's way: an error with 200 OK.
        _ => axum::Json(json!({"error": "bad_verification_code", "error_description": "The code is incorrect or expired."}))
            .into_response(),
    }
}

// ---- GitHub (docs.github.com REST: users, emails, orgs, teams) ----

async fn gh_user(State(fake): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = failing(&fake) {
        return r;
    }
    if !bearer_ok(&headers) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"message": "Bad credentials"}))).into_response();
    }
    axum::Json(
        json!({"login": "octocat", "id": 583231, "name": "The Octocat", "email": null, "type": "User"}),
    )
    .into_response()
}

async fn gh_emails() -> Response {
    axum::Json(json!([
        {"email": "octo@users.noreply.github.com", "verified": true, "primary": false, "visibility": null},
        {"email": "octocat@github.com", "verified": true, "primary": true, "visibility": "private"}
    ]))
    .into_response()
}

async fn gh_member(State(fake): State<Shared>, Path((org, user)): Path<(String, String)>) -> StatusCode {
    if user == "octocat" && fake.lock().unwrap().github_orgs.contains(&org) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

/// Two pages, linked as GitHub does.
async fn gh_teams(State(fake): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let base = fake.lock().unwrap().base.clone();
    let page = q.get("page").map(String::as_str).unwrap_or("1");
    let team = |name: &str, slug: &str, org: &str| json!({"name": name, "slug": slug, "organization": {"login": org}});
    let (body, link) = if page == "1" {
        (
            json!([team("Core Devs", "core-devs", "acme"), team("Ops", "ops", "other")]),
            format!(
                r#"<{base}/api/v3/user/teams?page=2>; rel="next", <{base}/api/v3/user/teams?page=2>; rel="last""#
            ),
        )
    } else {
        (
            json!([team("Docs", "docs", "acme")]),
            format!(
                r#"<{base}/api/v3/user/teams?page=1>; rel="prev", <{base}/api/v3/user/teams?page=2>; rel="last""#
            ),
        )
    };
    ([("link", link)], axum::Json(body)).into_response()
}

// ---- GitLab (docs.gitlab.com: /api/v4/user, OIDC userinfo) ----

async fn gl_user(State(fake): State<Shared>) -> Response {
    if let Some(r) = failing(&fake) {
        return r;
    }
    axum::Json(json!({"id": 42, "name": "Jane Lab", "username": "jane", "state": "active", "email": "jane@example.com", "is_admin": false}))
        .into_response()
}

async fn gl_userinfo(State(fake): State<Shared>) -> Response {
    let groups = fake.lock().unwrap().gitlab_groups.clone();
    axum::Json(json!({"sub": "42", "groups": groups, "https://gitlab.org/claims/groups/owner": ["team-a"]}))
        .into_response()
}

// ---- Microsoft Graph (learn.microsoft.com: user, getMemberGroups, getByIds) ----

async fn ms_me(State(fake): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = failing(&fake) {
        return r;
    }
    if !bearer_ok(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(
                json!({"error": {"code": "InvalidAuthenticationToken", "message": "Access token is empty."}}),
            ),
        )
            .into_response();
    }
    axum::Json(json!({"id": "8b3c-ms-id", "displayName": "Megan Bowen", "userPrincipalName": "MeganB@Contoso.com", "mailNickname": "meganb"}))
        .into_response()
}

/// One id per page, linked with `@odata.nextLink`.
async fn ms_member_groups(State(fake): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let state = fake.lock().unwrap();
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let mut body = json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)",
        "value": state.ms_groups.get(page).into_iter().collect::<Vec<_>>()});
    if page + 1 < state.ms_groups.len() {
        body["@odata.nextLink"] = json!(format!("{}/v1.0/me/getMemberGroups?page={}", state.base, page + 1));
    }
    axum::Json(body).into_response()
}

async fn ms_by_ids(axum::Json(body): axum::Json<Value>) -> Response {
    let names: Vec<Value> = body["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| json!({"@odata.type": "#microsoft.graph.group", "id": id, "displayName": format!("name-{}", id.as_str().unwrap())}))
        .collect();
    axum::Json(json!({"value": names})).into_response()
}

// ---- generic OAuth user info ----

async fn userinfo(State(fake): State<Shared>) -> Response {
    if let Some(r) = failing(&fake) {
        return r;
    }
    axum::Json(json!({"uid": 1001, "name": "Oscar Auth", "login": "oscar", "mail": "oscar@example.com",
        "email_verified": true, "groups": ["devs", {"name": "ops"}]}))
    .into_response()
}

fn provider_router(fake: Shared) -> Router {
    Router::new()
        .route("/login/oauth/authorize", get(authorize))
        .route("/login/oauth/access_token", post(token))
        .route("/api/v3/user", get(gh_user))
        .route("/api/v3/user/emails", get(gh_emails))
        .route("/api/v3/user/teams", get(gh_teams))
        .route("/api/v3/orgs/{org}/members/{user}", get(gh_member))
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/token", post(token))
        .route("/oauth/userinfo", get(gl_userinfo))
        .route("/api/v4/user", get(gl_user))
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize))
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/v1.0/me", get(ms_me))
        .route("/v1.0/me/getMemberGroups", post(ms_member_groups))
        .route("/v1.0/directoryObjects/getByIds", post(ms_by_ids))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .route("/userinfo", get(userinfo))
        .merge(crate::dex_connectors::routes())
        .with_state(fake)
}

/// The fake provider over plain HTTP.
pub(crate) async fn fake_provider(setup: impl FnOnce(&mut Fake)) -> (Shared, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let fake = Arc::new(Mutex::new(Fake { base: base.clone(), ..Fake::default() }));
    setup(&mut fake.lock().unwrap());
    let router = provider_router(fake.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (fake, base)
}

/// A CA and a certificate for 127.0.0.1 signed by it, made with `openssl`.
pub(crate) struct TestCa {
    dir: tempfile::TempDir,
}

impl TestCa {
    pub(crate) fn create() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let out =
                std::process::Command::new("openssl").args(args).current_dir(dir.path()).output().unwrap();
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        std::fs::write(
            dir.path().join("ext.cnf"),
            "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n",
        )
        .unwrap();
        run(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"]);
        run(&[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-subj",
            "/CN=Test CA",
            "-days",
            "2",
            "-out",
            "ca.pem",
        ]);
        run(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "leaf.key"]);
        run(&["pkcs8", "-topk8", "-nocrypt", "-in", "leaf.key", "-out", "leaf.p8"]);
        run(&["req", "-new", "-key", "leaf.p8", "-subj", "/CN=127.0.0.1", "-out", "leaf.csr"]);
        run(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "leaf.pem",
        ]);
        Self { dir }
    }

    pub(crate) fn path(&self, file: &str) -> String {
        self.dir.path().join(file).display().to_string()
    }

    /// A client (for the test's own hop to the provider) trusting this CA.
    pub(crate) fn client(&self) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(&std::fs::read(self.path("ca.pem")).unwrap()).unwrap();
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .add_root_certificate(ca)
            .build()
            .unwrap()
    }
}

/// The fake provider over HTTPS (GitHub Enterprise).
pub(crate) async fn fake_provider_tls(ca: &TestCa, setup: impl FnOnce(&mut Fake)) -> (Shared, SocketAddr) {
    install_crypto_provider();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let fake = Arc::new(Mutex::new(Fake { base: format!("https://{addr}"), ..Fake::default() }));
    setup(&mut fake.lock().unwrap());
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(ca.path("leaf.pem"), ca.path("leaf.p8"))
        .await
        .unwrap();
    let router = provider_router(fake.clone());
    listener.set_nonblocking(true).unwrap();
    let server = axum_server::from_tcp_rustls(listener, tls).unwrap();
    tokio::spawn(async move { server.serve(router.into_make_service()).await });
    (fake, addr)
}

/// A Tessera with one extra connector; its callback URL is known before it starts.
pub(crate) async fn tessera(id: &str, kind: &str, config: impl FnOnce(&str) -> Value) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback = format!("http://{}/dex/callback", listener.local_addr().unwrap());
    let connector = json!([{"type": kind, "id": id, "name": kind, "config": config(&callback)}]);
    let yaml = serde_norway::to_string(&json!({ "connectors": connector })).unwrap();
    TestServer::builder().listener(listener).yaml(&yaml).start().await
}

/// `/auth` for `example-app` straight to connector `id`.
pub(crate) fn auth_url(server: &TestServer, id: &str, scope: &str) -> Url {
    let mut url = server.code_auth_url(CLIENT_ID, REDIRECT_URI, scope);
    url.query_pairs_mut().append_pair("connector_id", id);
    url
}

/// `/auth` → the provider's authorize URL (returned) → the provider → Tessera's callback,
/// whose outcome (the approval page, or an error page) is returned.
pub(crate) async fn upstream_login(
    server: &TestServer,
    browser: &reqwest::Client,
    provider: &reqwest::Client,
    id: &str,
    scope: &str,
) -> (Url, Hop) {
    let authorize = navigate(browser, &auth_url(server, id, scope)).await.client();
    let response = provider.get(authorize.clone()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{authorize}");
    let back = Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    (authorize, navigate(browser, &back).await)
}

/// The full login, approved; returns the token response.
pub(crate) async fn login_tokens(
    server: &TestServer,
    provider: &reqwest::Client,
    id: &str,
    scope: &str,
) -> (Url, Value) {
    let browser = browser();
    let (authorize, hop) = upstream_login(server, &browser, provider, id, scope).await;
    let done = approve(&browser, &hop.page()).await.client();
    assert_eq!(query_param(&done, "state").as_deref(), Some("st4te"));
    let response = server.redeem(&query_param(&done, "code").unwrap()).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    (authorize, response.json)
}

/// The password database still logs users in.
pub(crate) async fn password_login(server: &TestServer) {
    let done =
        login_with_password(&browser(), &auth_url(server, "local", "openid"), ADMIN_EMAIL, ADMIN_PASSWORD)
            .await;
    assert!(query_param(&done, "code").is_some(), "{done}");
}

pub(crate) fn param(url: &Url, name: &str) -> String {
    query_param(url, name).unwrap_or_else(|| panic!("no {name} in {url}"))
}

pub(crate) fn id_claims(tokens: &Value) -> Value {
    jwt_claims(tokens["id_token"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_enterprise_login_with_orgs_teams_pagination_and_refresh() {
    let ca = TestCa::create();
    let (fake, addr) = fake_provider_tls(&ca, |f| f.github_orgs = vec!["acme".into()]).await;
    let root_ca = ca.path("ca.pem");
    let server = tessera("github", "github", |callback| {
        json!({"clientID": "gh-client", "clientSecret": "gh-secret", "redirectURI": callback,
            "hostName": addr.to_string(), "rootCA": root_ca,
            "orgs": [{"name": "acme", "teams": ["Core Devs", "Docs", "Absent"]}, {"name": "nope"}]})
    })
    .await;
    let (authorize, tokens) =
        login_tokens(&server, &ca.client(), "github", "openid email profile groups offline_access").await;

    assert_eq!(authorize.path(), "/login/oauth/authorize");
    assert_eq!(param(&authorize, "client_id"), "gh-client");
    assert_eq!(param(&authorize, "redirect_uri"), server.url("/callback"));
    assert_eq!(param(&authorize, "scope"), "user:email read:org");
    assert_eq!(param(&authorize, "response_type"), "code");
    let exchange = fake.lock().unwrap().token_requests[0].clone();
    assert_eq!(exchange["code"], "code-1");
    assert_eq!(exchange["redirect_uri"], server.url("/callback"));

    let claims = id_claims(&tokens);
    assert_eq!(claims["sub"], subject::encode("583231", &"github".into()));
    assert_eq!(claims["email"], "octocat@github.com", "the primary verified email");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "The Octocat");
    assert_eq!(claims["preferred_username"], "octocat");
    // Teams from both pages, filtered by the config; the other org's team is not there.
    assert_eq!(claims["groups"], json!(["acme:Core Devs", "acme:Docs"]));

    // Refresh re-reads the memberships: still in, then removed from the org.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let refreshed = server.refresh(refresh).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    fake.lock().unwrap().github_orgs.clear();
    server
        .refresh(refreshed.str("refresh_token"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_refuses_users_outside_the_orgs_and_survives_a_broken_upstream() {
    let ca = TestCa::create();
    let (fake, addr) = fake_provider_tls(&ca, |_| {}).await;
    let root_ca = ca.path("ca.pem");
    let server = tessera("github", "github", |callback| {
        json!({"clientID": "c", "clientSecret": "s", "redirectURI": callback, "hostName": addr.to_string(),
            "rootCA": root_ca, "orgs": [{"name": "acme"}], "useLoginAsID": true})
    })
    .await;
    let provider = ca.client();
    let (_, hop) = upstream_login(&server, &browser(), &provider, "github", "openid").await;
    let page = hop.page();
    page.assert_error_page();
    assert!(page.body.contains("not a member"), "{}", page.body);

    for mode in ["500", "garbage"] {
        fake.lock().unwrap().fail = Some(mode);
        let (_, hop) = upstream_login(&server, &browser(), &provider, "github", "openid").await;
        let page = hop.page();
        assert_eq!(page.status, StatusCode::BAD_GATEWAY, "{mode}: {}", page.body);
        assert!(!page.body.contains("exploded"), "no upstream detail for the user");
    }
    // The server keeps serving: the password login works.
    password_login(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_login_groups_and_required_groups() {
    let (fake, base) = fake_provider(|f| f.gitlab_groups = vec!["team-a".into(), "team-b".into()]).await;
    let server = tessera("gitlab", "gitlab", |callback| {
        json!({"baseURL": base, "clientID": "gl", "clientSecret": "s", "redirectURI": callback,
            "groups": ["team-a", "team-c"], "getGroupsPermission": true})
    })
    .await;
    let (authorize, tokens) =
        login_tokens(&server, &api(), "gitlab", "openid email profile groups offline_access").await;
    assert_eq!(authorize.path(), "/oauth/authorize");
    assert_eq!(param(&authorize, "scope"), "read_user openid");
    let claims = id_claims(&tokens);
    assert_eq!(claims["sub"], subject::encode("42", &"gitlab".into()));
    assert_eq!(claims["email"], "jane@example.com");
    assert_eq!(claims["preferred_username"], "jane");
    // Only the required groups are kept (`team-a:owner` is not one of them).
    assert_eq!(claims["groups"], json!(["team-a"]));

    // Refresh uses the upstream refresh token, and re-checks the groups.
    let refreshed = server.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    assert_eq!(fake.lock().unwrap().token_requests.last().unwrap()["grant_type"], "refresh_token");
    fake.lock().unwrap().gitlab_groups = vec!["team-b".into()];
    let (_, hop) = upstream_login(&server, &browser(), &api(), "gitlab", "openid").await;
    hop.page().assert_error_page();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microsoft_login_with_paged_groups_and_names() {
    let (fake, base) = fake_provider(|f| f.ms_groups = vec!["g1".into(), "g2".into(), "g3".into()]).await;
    let server = tessera("microsoft", "microsoft", |callback| {
        json!({"clientID": "ms", "clientSecret": "s", "redirectURI": callback, "tenant": "contoso-tenant",
            "apiURL": base, "graphURL": base, "groups": ["name-g2", "name-g3"], "useGroupsAsWhitelist": true,
            "emailToLowercase": true, "domainHint": "contoso.com", "preferredUsernameField": "mailNickname"})
    })
    .await;
    let (authorize, tokens) =
        login_tokens(&server, &api(), "microsoft", "openid email profile groups offline_access").await;
    assert_eq!(authorize.path(), "/contoso-tenant/oauth2/v2.0/authorize");
    assert_eq!(param(&authorize, "scope"), "user.read directory.read.all offline_access");
    assert_eq!(param(&authorize, "domain_hint"), "contoso.com");
    let claims = id_claims(&tokens);
    assert_eq!(claims["sub"], subject::encode("8b3c-ms-id", &"microsoft".into()));
    assert_eq!(claims["email"], "meganb@contoso.com");
    assert_eq!(claims["preferred_username"], "meganb");
    assert_eq!(claims["groups"], json!(["name-g2", "name-g3"]));

    fake.lock().unwrap().ms_groups = vec!["g1".into()];
    server
        .refresh(tokens["refresh_token"].as_str().unwrap())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generic_oauth_maps_claims_by_config() {
    let (fake, base) = fake_provider(|_| {}).await;
    let server = tessera("generic", "oauth", |callback| {
        json!({"clientID": "o", "clientSecret": "s", "redirectURI": callback,
            "authorizationURL": format!("{base}/authorize"), "tokenURL": format!("{base}/token"),
            "userInfoURL": format!("{base}/userinfo"), "scopes": ["profile", "read"], "userIDKey": "uid",
            "claimMapping": {"userNameKey": "name", "preferredUsernameKey": "login", "emailKey": "mail"}})
    })
    .await;
    let (authorize, tokens) = login_tokens(&server, &api(), "generic", "openid email profile groups").await;
    assert_eq!(param(&authorize, "scope"), "profile read");
    let claims = id_claims(&tokens);
    assert_eq!(claims["sub"], subject::encode("1001", &"generic".into()));
    assert_eq!(claims["email"], "oscar@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "Oscar Auth");
    assert_eq!(claims["groups"], json!(["devs", "ops"]));

    // A user who declines at the provider sees why.
    let browser = browser();
    let authorize = navigate(&browser, &auth_url(&server, "generic", "openid")).await.client();
    let state = param(&authorize, "state");
    assert_eq!(fake.lock().unwrap().token_requests.len(), 1);
    let mut denied = Url::parse(&server.url("/callback")).unwrap();
    denied.query_pairs_mut().append_pair("error", "access_denied").append_pair("state", &state);
    let page = navigate(&browser, &denied).await.page();
    page.assert_error_page();
    assert!(page.body.contains("access_denied"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_is_a_502_and_a_broken_connector_is_reported() {
    // A port nothing listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback = format!("http://{}/dex/callback", listener.local_addr().unwrap());
    let yaml = serde_norway::to_string(&json!({"connectors": [
        {"type": "oauth", "id": "down", "name": "Down", "config": {"clientID": "o", "clientSecret": "s",
            "redirectURI": callback, "authorizationURL": format!("http://{closed}/authorize"),
            "tokenURL": format!("http://{closed}/token"), "userInfoURL": format!("http://{closed}/userinfo")}},
        {"type": "github", "id": "broken", "name": "Broken", "config": {"clientID": "c", "clientSecret": "s",
            "redirectURI": callback, "teamNameField": "nickname"}}
    ]}))
    .unwrap();
    let server = TestServer::builder().listener(listener).yaml(&yaml).start().await;

    let browser = browser();
    let authorize = navigate(&browser, &auth_url(&server, "down", "openid")).await.client();
    let mut back = Url::parse(&server.url("/callback")).unwrap();
    back.query_pairs_mut().append_pair("code", "x").append_pair("state", &param(&authorize, "state"));
    let page = navigate(&browser, &back).await.page();
    assert_eq!(page.status, StatusCode::BAD_GATEWAY, "{}", page.body);

    let ready = api().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["failedConnectors"][0]["id"], "broken");
    assert!(body["failedConnectors"][0]["error"].as_str().unwrap().contains("teamNameField"), "{body}");
    password_login(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authproxy_reads_headers_only_at_its_callback() {
    let server = tessera("proxy", "authproxy", |_| {
        json!({"userHeader": "X-Forwarded-User", "groupHeader": "X-Forwarded-Groups", "staticGroups": ["proxied"]})
    })
    .await;
    let browser = browser();
    // `/auth` → `/callback/proxy?state=…`, which the proxy guards and decorates.
    let first = browser.get(auth_url(&server, "proxy", "openid email groups")).send().await.unwrap();
    let to_connector =
        Url::parse(&server.url("/")).unwrap().join(first.headers()["location"].to_str().unwrap()).unwrap();
    let second = browser.get(to_connector).send().await.unwrap();
    let callback =
        Url::parse(&server.url("/")).unwrap().join(second.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(callback.path(), "/dex/callback/proxy");

    // Without the headers (no proxy in front): refused, not a crash.
    let page = navigate(&browser, &callback).await.page();
    assert_eq!(page.status, StatusCode::BAD_GATEWAY);

    // Through the generic `/callback` the headers count for nothing.
    let mut generic = Url::parse(&server.url("/callback")).unwrap();
    generic.query_pairs_mut().append_pair("state", &param(&callback, "state"));
    let forged = browser.get(generic).header("X-Forwarded-User", "mallory").send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::BAD_GATEWAY);

    let hop = send_and_follow(
        &browser,
        browser
            .get(callback.clone())
            .header("X-Forwarded-User", "alice")
            .header("X-Forwarded-Groups", "a, b"),
        &callback,
    )
    .await;
    let done = approve(&browser, &hop.page()).await.client();
    let tokens = server.redeem(&query_param(&done, "code").unwrap()).await;
    let claims = id_claims(&tokens.json);
    assert_eq!(claims["sub"], subject::encode("alice", &"proxy".into()));
    assert_eq!(claims["email"], "alice");
    assert_eq!(claims["groups"], json!(["a", "b", "proxied"]));
}
