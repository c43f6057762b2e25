//! The connectors Dex has that came last: `bitbucket-cloud`, `gitea`, `openshift` and
//! `linkedin` through the whole browser login, `keystone` and `atlassian-crowd` through the
//! password form; each with a refresh, the upstream's error answers, pagination where the API
//! pages, and an upstream that is down. The fake provider of `connectors.rs` serves these APIs
//! too (the routes below), with the shapes the providers document.
//!
//! The subject must be Dex's: `subject::encode(<Dex's user id>, <connector id>)`.

use crate::common::*;
use crate::connectors::{
    Shared, TestCa, auth_url, authorize, bearer_ok, failing, fake_provider, fake_provider_tls, id_claims,
    login_tokens, param, password_login, tessera, token, upstream_login,
};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use tessera::oauth2::subject;

const BITBUCKET_UUID: &str = "{c5ac8b9f-3d2e-4b1a-9f0e-7d6c5b4a3f21}";
const OPENSHIFT_UID: &str = "6c2f1c3a-9b8e-4d7f-a1b2-c3d4e5f60718";
const KEYSTONE_USER_ID: &str = "9fe2ff9ee4384b1894a90878d3e92bab";
const CROWD_KEY: &str = "32769:6a0e0c58-4b5d-4c8e-9e0a-1f2b3c4d5e6f";
/// More than one page of Crowd's nested groups (the connector asks for 100 at a time).
const CROWD_FILLER_GROUPS: usize = 120;

/// The routes of the six APIs, added to the fake provider's router.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        // Bitbucket Cloud (developer.atlassian.com, REST API 2.0).
        .route("/site/oauth2/authorize", get(authorize))
        .route("/site/oauth2/access_token", post(token))
        .route("/2.0/user", get(bb_user))
        .route("/2.0/user/emails", get(bb_emails))
        .route("/2.0/user/workspaces", get(bb_workspaces))
        .route("/2.0/user/workspaces/{slug}/permission", get(bb_permission))
        // Gitea (its OAuth2 provider is at GitHub's paths; API v1).
        .route("/api/v1/user", get(gitea_user))
        .route("/api/v1/user/teams", get(gitea_teams))
        // OpenShift (OAuth server metadata, user.openshift.io/v1).
        .route("/.well-known/oauth-authorization-server", get(ocp_metadata))
        .route("/apis/user.openshift.io/v1/users/~", get(ocp_user))
        // LinkedIn (Sign In with LinkedIn, v2 API).
        .route("/li/authorization", get(authorize))
        .route("/li/accessToken", post(li_token))
        .route("/v2/me", get(li_me))
        .route("/v2/emailAddress", get(li_email))
        // Keystone v3 (docs.openstack.org identity API).
        .route("/v3/auth/tokens", post(ks_tokens))
        .route("/v3/users/{id}", get(ks_user))
        .route("/v3/users/{id}/groups", get(ks_groups))
        // Crowd (usermanagement REST API 1).
        .route("/rest/usermanagement/1/session", post(crowd_session))
        .route("/rest/usermanagement/1/user", get(crowd_user))
        .route("/rest/usermanagement/1/user/group/nested", get(crowd_groups))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"type": "error", "error": {"message": "Access token expired"}})),
    )
        .into_response()
}

// ---- Bitbucket Cloud ----

async fn bb_user(State(fake): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = failing(&fake) {
        return r;
    }
    if !bearer_ok(&headers) {
        return unauthorized();
    }
    axum::Json(
        json!({"type": "user", "username": "bbuser", "display_name": "Bit Bucket", "uuid": BITBUCKET_UUID,
        "account_id": "557058:1234"}),
    )
    .into_response()
}

/// Two pages linked by `next`; the confirmed primary address is on the second.
async fn bb_emails(State(fake): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let base = fake.lock().unwrap().base.clone();
    let email = |address: &str, primary: bool, confirmed: bool| json!({"type": "email", "email": address, "is_primary": primary, "is_confirmed": confirmed});
    if q.get("page").map(String::as_str) == Some("2") {
        axum::Json(json!({"pagelen": 1, "page": 2, "values": [email("bb@example.com", true, true)]}))
            .into_response()
    } else {
        axum::Json(json!({"pagelen": 1, "page": 1, "values": [email("old@example.com", false, true)],
            "next": format!("{base}/2.0/user/emails?page=2")}))
        .into_response()
    }
}

/// One workspace per page.
async fn bb_workspaces(State(fake): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut fake = fake.lock().unwrap();
    fake.api_calls += 1;
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let values: Vec<Value> = fake
        .bitbucket_workspaces
        .get(page - 1)
        .map(|slug| json!({"type": "workspace_access", "workspace": {"type": "workspace", "slug": slug, "name": slug}}))
        .into_iter()
        .collect();
    let mut body = json!({"pagelen": 1, "page": page, "values": values});
    if page < fake.bitbucket_workspaces.len() {
        let base = fake.bitbucket_next_elsewhere.clone().unwrap_or_else(|| format!("{}/2.0", fake.base));
        body["next"] = json!(format!("{base}/user/workspaces?page={}", page + 1));
    }
    axum::Json(body).into_response()
}

/// `owner` of acme, `member` of the others; a workspace named `hidden` answers 404.
async fn bb_permission(Path(slug): Path<String>) -> Response {
    match slug.as_str() {
        "hidden" => (StatusCode::NOT_FOUND, axum::Json(json!({"type": "error"}))).into_response(),
        "acme" => axum::Json(json!({"permission": "owner"})).into_response(),
        _ => axum::Json(json!({"permission": "member"})).into_response(),
    }
}

// ---- Gitea ----

async fn gitea_user(State(fake): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = failing(&fake) {
        return r;
    }
    if !bearer_ok(&headers) {
        return unauthorized();
    }
    axum::Json(json!({"id": 12345678, "login": "gitty", "full_name": "", "email": "gitty@example.com", "is_admin": false}))
        .into_response()
}

/// The teams, `limit` per page (Gitea's paging).
async fn gitea_teams(State(fake): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let fake = fake.lock().unwrap();
    let page: usize = q["page"].parse().unwrap();
    let limit: usize = q["limit"].parse().unwrap();
    let teams: Vec<Value> = fake
        .gitea_teams
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .enumerate()
        .map(|(i, (org, team))| json!({"id": i, "name": team, "organization": {"id": 7, "username": org}}))
        .collect();
    axum::Json(teams).into_response()
}

// ---- OpenShift ----

async fn ocp_metadata(State(fake): State<Shared>) -> Response {
    if let Some(r) = failing(&fake) {
        return r;
    }
    let base = fake.lock().unwrap().base.clone();
    axum::Json(json!({"issuer": base, "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"), "scopes_supported": ["user:info", "user:check-access"],
        "response_types_supported": ["code", "token"]}))
    .into_response()
}

async fn ocp_user(State(fake): State<Shared>, headers: HeaderMap) -> Response {
    if !bearer_ok(&headers) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"kind": "Status", "code": 401})))
            .into_response();
    }
    let groups = fake.lock().unwrap().openshift_groups.clone();
    axum::Json(json!({"kind": "User", "apiVersion": "user.openshift.io/v1",
        "metadata": {"name": "developer", "uid": OPENSHIFT_UID, "resourceVersion": "1"},
        "identities": ["htpasswd:developer"], "groups": groups}))
    .into_response()
}

// ---- LinkedIn ----

/// LinkedIn takes the client's credentials in the form, not as HTTP Basic.
async fn li_token(Form(form): Form<HashMap<String, String>>) -> Response {
    let client_ok = form.get("client_id").map(String::as_str) == Some("li-client")
        && form.get("client_secret").map(String::as_str) == Some("li-secret");
    if !client_ok {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "invalid_client"}))).into_response();
    }
    if form.get("code").map(String::as_str) != Some("code-1") {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_grant"}))).into_response();
    }
    axum::Json(json!({"access_token": "tok-li", "expires_in": 5183999})).into_response()
}

async fn li_me(headers: HeaderMap) -> Response {
    if !bearer_ok(&headers) {
        return unauthorized();
    }
    axum::Json(json!({"id": "yrZCpj2Z12", "localizedFirstName": "Lin", "localizedLastName": "Kedin"}))
        .into_response()
}

async fn li_email(Query(q): Query<HashMap<String, String>>) -> Response {
    assert_eq!(q["q"], "members");
    assert_eq!(q["projection"], "(elements*(handle~))");
    axum::Json(json!({"elements": [{"handle": "urn:li:emailAddress:3775708763", "handle~": {"emailAddress": "lin@example.com"}}]}))
        .into_response()
}

// ---- Keystone ----

/// `demo`/`secret` in the `default` domain, and the admin `admin`/`adminpw`.
async fn ks_tokens(State(fake): State<Shared>, axum::Json(body): axum::Json<Value>) -> Response {
    if let Some(r) = failing(&fake) {
        return r;
    }
    let user = &body["auth"]["identity"]["password"]["user"];
    assert_eq!(body["auth"]["identity"]["methods"], json!(["password"]));
    assert_eq!(user["domain"], json!({"id": "default"}));
    let (token, id) = match (user["name"].as_str(), user["password"].as_str()) {
        (Some("demo"), Some("secret")) => ("ks-user-token", KEYSTONE_USER_ID),
        (Some("admin"), Some("adminpw")) => ("ks-admin-token", "admin-id"),
        _ => {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"error": {"code": 401,
                "message": "The request you have made requires authentication.", "title": "Unauthorized"}})),
            )
                .into_response();
        }
    };
    (
        StatusCode::CREATED,
        [("x-subject-token", token)],
        axum::Json(json!({"token": {"methods": ["password"], "user": {"id": id, "name": user["name"],
            "domain": {"id": "default", "name": "Default"}}, "expires_at": "2030-01-01T00:00:00.000000Z"}})),
    )
        .into_response()
}

/// Whether the call carries a token Keystone issued; every token is recorded.
fn ks_authorized(fake: &Shared, headers: &HeaderMap) -> bool {
    let token = headers.get("x-auth-token").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let known = matches!(token.as_str(), "ks-user-token" | "ks-admin-token");
    fake.lock().unwrap().keystone_tokens_seen.push(token);
    known
}

async fn ks_user(State(fake): State<Shared>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if !ks_authorized(&fake, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if id != KEYSTONE_USER_ID || fake.lock().unwrap().keystone_deleted {
        return (StatusCode::NOT_FOUND, axum::Json(json!({"error": {"code": 404, "title": "Not Found"}})))
            .into_response();
    }
    axum::Json(json!({"user": {"id": id, "name": "demo", "email": "demo@example.com", "enabled": true, "domain_id": "default"}}))
        .into_response()
}

async fn ks_groups(State(fake): State<Shared>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if !ks_authorized(&fake, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if id != KEYSTONE_USER_ID {
        return StatusCode::NOT_FOUND.into_response();
    }
    let groups: Vec<Value> = fake
        .lock()
        .unwrap()
        .keystone_groups
        .iter()
        .enumerate()
        .map(|(i, name)| json!({"id": format!("g{i}"), "name": name, "domain_id": "default"}))
        .collect();
    axum::Json(json!({"groups": groups, "links": {"self": "…", "next": null, "previous": null}}))
        .into_response()
}

// ---- Atlassian Crowd ----

fn crowd_app_ok(headers: &HeaderMap) -> bool {
    use base64::Engine;
    let expected =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("tessera-app:app-pw"));
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

fn crowd_refused() -> Response {
    (StatusCode::UNAUTHORIZED, "Application failed to authenticate").into_response()
}

async fn crowd_session(
    State(fake): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Some(r) = failing(&fake) {
        return r;
    }
    if !crowd_app_ok(&headers) {
        return crowd_refused();
    }
    let error = |reason: &str, message: &str| {
        (StatusCode::BAD_REQUEST, axum::Json(json!({"reason": reason, "message": message}))).into_response()
    };
    let validate = q.get("validate-password").map(String::as_str) != Some("false");
    if body["username"] != "jdoe" || (validate && body["password"] != "crowd-pw") {
        return error(
            "INVALID_USER_AUTHENTICATION",
            "Failed to authenticate principal, password was invalid",
        );
    }
    if fake.lock().unwrap().crowd_inactive {
        return error("INACTIVE_ACCOUNT", "Account with name <jdoe> is inactive");
    }
    (StatusCode::CREATED, axum::Json(json!({"token": "crowd-sso", "user": {"name": "jdoe"}}))).into_response()
}

async fn crowd_user(headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if !crowd_app_ok(&headers) {
        return crowd_refused();
    }
    if q["username"] != "jdoe" {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"reason": "USER_NOT_FOUND", "message": "User <x> does not exist"})),
        )
            .into_response();
    }
    axum::Json(
        json!({"key": CROWD_KEY, "name": "jdoe", "active": true, "first-name": "John", "last-name": "Doe",
        "display-name": "John Doe", "email": "jdoe@example.com"}),
    )
    .into_response()
}

/// Filler groups first, then the user's own: the required one is on the second page.
async fn crowd_groups(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !crowd_app_ok(&headers) {
        return crowd_refused();
    }
    let start: usize = q["start-index"].parse().unwrap();
    let max: usize = q["max-results"].parse().unwrap();
    let mut all: Vec<String> = (0..CROWD_FILLER_GROUPS).map(|i| format!("filler-{i:03}")).collect();
    all.extend(fake.lock().unwrap().crowd_groups.clone());
    let page: Vec<Value> = all.iter().skip(start).take(max).map(|name| json!({"name": name})).collect();
    axum::Json(json!({"expand": "group", "groups": page})).into_response()
}

// ---- the tests ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitbucket_cloud_login_with_paged_emails_workspaces_permissions_and_refresh() {
    let (fake, base) =
        fake_provider(|f| f.bitbucket_workspaces = vec!["acme".into(), "beta".into(), "hidden".into()]).await;
    let server = tessera("bitbucket", "bitbucket-cloud", |callback| {
        json!({"clientID": "bb-client", "clientSecret": "bb-secret", "redirectURI": callback,
            "teams": ["acme", "hidden", "acme:owner"], "getWorkspacePermissions": true, "includeTeamGroups": true,
            "authURL": base, "apiURL": format!("{base}/2.0")})
    })
    .await;
    let (authorize, tokens) =
        login_tokens(&server, &api(), "bitbucket", "openid email profile groups offline_access").await;
    assert_eq!(authorize.path(), "/site/oauth2/authorize");
    assert_eq!(param(&authorize, "scope"), "account email");
    let claims = id_claims(&tokens);
    assert_eq!(
        claims["sub"],
        subject::encode(BITBUCKET_UUID, &"bitbucket".into()),
        "Dex's user id: the uuid, braces kept"
    );
    assert_eq!(claims["email"], "bb@example.com", "the confirmed primary address, from the second page");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "bbuser");
    // Workspaces from three pages, then permissions (hidden's is not readable: no group),
    // filtered by `teams`.
    assert_eq!(claims["groups"], json!(["acme", "hidden", "acme:owner"]));

    fake.lock().unwrap().bitbucket_workspaces = vec!["acme".into(), "beta".into()];
    let refreshed = server.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    let again = jwt_claims(refreshed.str("id_token"));
    assert_eq!(again["sub"], claims["sub"]);
    assert_eq!(again["groups"], json!(["acme", "acme:owner"]), "the workspaces read again");
    fake.lock().unwrap().bitbucket_workspaces = vec!["beta".into()];
    server
        .refresh(refreshed.str("refresh_token"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // Not in a required workspace: a plain refusal.
    let (_, hop) = upstream_login(&server, &browser(), &api(), "bitbucket", "openid").await;
    let page = hop.page();
    page.assert_error_page();
    assert!(page.body.contains("workspaces"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitea_login_with_paged_teams_required_orgs_and_refresh() {
    // 25 teams of another org first (two pages of 20), then acme's.
    let (fake, base) = fake_provider(|f| {
        f.gitea_teams = (0..25).map(|i| ("other".to_string(), format!("t{i}"))).collect();
        f.gitea_teams.push(("acme".into(), "ops".into()));
        f.gitea_teams.push(("acme".into(), "dev".into()));
    })
    .await;
    let server = tessera("gitea", "gitea", |callback| {
        json!({"baseURL": base, "clientID": "gt", "clientSecret": "gs", "redirectURI": callback,
            "orgs": [{"name": "acme", "teams": ["ops"]}]})
    })
    .await;
    let (authorize, tokens) =
        login_tokens(&server, &api(), "gitea", "openid email profile groups offline_access").await;
    assert_eq!(authorize.path(), "/login/oauth/authorize");
    assert_eq!(query_param(&authorize, "scope"), None, "Gitea is asked for no scope, as by Dex");
    let claims = id_claims(&tokens);
    assert_eq!(claims["sub"], subject::encode("12345678", &"gitea".into()));
    assert_eq!(claims["name"], "gitty@example.com", "no full name: the email, as Dex");
    assert_eq!(claims["preferred_username"], "gitty");
    assert_eq!(
        claims["groups"],
        json!(["acme", "acme:ops"]),
        "the org and its listed team, from the second page"
    );

    let refreshed = server.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    assert_eq!(jwt_claims(refreshed.str("id_token"))["sub"], claims["sub"]);
    fake.lock().unwrap().gitea_teams.retain(|(org, _)| org != "acme");
    server
        .refresh(refreshed.str("refresh_token"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    // A broken API: a friendly 502, and the other logins keep working.
    fake.lock().unwrap().fail = Some("500");
    let (_, hop) = upstream_login(&server, &browser(), &api(), "gitea", "openid").await;
    let page = hop.page();
    assert_eq!(page.status, StatusCode::BAD_GATEWAY, "{}", page.body);
    assert!(!page.body.contains("exploded"));
    password_login(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitea_use_login_as_id_and_load_all_groups() {
    let (_fake, base) =
        fake_provider(|f| f.gitea_teams = vec![("acme".into(), "ops".into()), ("beta".into(), "x".into())])
            .await;
    let server = tessera("gitea", "gitea", |callback| {
        json!({"baseURL": base, "clientID": "gt", "clientSecret": "gs", "redirectURI": callback,
            "useLoginAsID": true, "loadAllGroups": true})
    })
    .await;
    let (_, tokens) = login_tokens(&server, &api(), "gitea", "openid groups").await;
    let claims = id_claims(&tokens);
    assert_eq!(claims["sub"], subject::encode("gitty", &"gitea".into()));
    assert_eq!(claims["groups"], json!(["acme", "acme:ops", "beta", "beta:x"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openshift_login_over_tls_with_discovery_groups_and_refresh() {
    let ca = TestCa::create();
    let (fake, addr) =
        fake_provider_tls(&ca, |f| f.openshift_groups = vec!["ocp-admins".into(), "dev".into()]).await;
    let root_ca = ca.path("ca.pem");
    let server = tessera("openshift", "openshift", |callback| {
        json!({"issuer": format!("https://{addr}"), "clientID": "system:serviceaccount:dex:dex", "clientSecret": "sa-token",
            "redirectURI": callback, "groups": ["ocp-admins"], "rootCA": root_ca})
    })
    .await;
    let (authorize, tokens) =
        login_tokens(&server, &ca.client(), "openshift", "openid email groups offline_access").await;
    assert_eq!(authorize.path(), "/oauth/authorize", "from the discovered metadata");
    assert_eq!(param(&authorize, "scope"), "user:info");
    let claims = id_claims(&tokens);
    assert_eq!(claims["sub"], subject::encode(OPENSHIFT_UID, &"openshift".into()));
    assert_eq!(claims["email"], "developer", "OpenShift has no email: the user name, as Dex");
    assert_eq!(claims["email_verified"], false);
    assert_eq!(claims["groups"], json!(["ocp-admins", "dev"]));

    let refreshed = server.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    fake.lock().unwrap().openshift_groups = vec!["dev".into()];
    server
        .refresh(refreshed.str("refresh_token"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let (_, hop) = upstream_login(&server, &browser(), &ca.client(), "openshift", "openid").await;
    let page = hop.page();
    page.assert_error_page();
    assert!(page.body.contains("OpenShift groups"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openshift_down_at_the_first_login_is_a_502_and_recovers() {
    let ca = TestCa::create();
    let (fake, addr) = fake_provider_tls(&ca, |f| {
        f.openshift_groups = vec!["dev".into()];
        f.fail = Some("500");
    })
    .await;
    let root_ca = ca.path("ca.pem");
    let server = tessera("openshift", "openshift", |callback| {
        json!({"issuer": format!("https://{addr}"), "clientID": "c", "clientSecret": "s", "redirectURI": callback, "rootCA": root_ca})
    })
    .await;
    let page = navigate(&browser(), &auth_url(&server, "openshift", "openid")).await.page();
    assert_eq!(page.status, StatusCode::BAD_GATEWAY, "{}", page.body);
    assert!(!page.body.contains("exploded"));
    password_login(&server).await;
    // The cluster is back: discovery is tried again.
    fake.lock().unwrap().fail = None;
    let (_, tokens) = login_tokens(&server, &ca.client(), "openshift", "openid").await;
    assert_eq!(id_claims(&tokens)["sub"], subject::encode(OPENSHIFT_UID, &"openshift".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linkedin_login_with_the_email_api_and_refresh() {
    let (fake, base) = fake_provider(|_| {}).await;
    let server = tessera("linkedin", "linkedin", |callback| {
        json!({"clientID": "li-client", "clientSecret": "li-secret", "redirectURI": callback,
            "authURL": format!("{base}/li"), "apiURL": format!("{base}/v2")})
    })
    .await;
    let (authorize, tokens) =
        login_tokens(&server, &api(), "linkedin", "openid email profile offline_access").await;
    assert_eq!(authorize.path(), "/li/authorization");
    assert_eq!(param(&authorize, "scope"), "r_liteprofile r_emailaddress");
    let claims = id_claims(&tokens);
    assert_eq!(claims["sub"], subject::encode("yrZCpj2Z12", &"linkedin".into()));
    assert_eq!(claims["name"], "Lin Kedin");
    assert_eq!(claims["email"], "lin@example.com");
    assert_eq!(claims["email_verified"], true);
    let refreshed = server.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    // The code was exchanged with the credentials in the form.
    assert_eq!(fake.lock().unwrap().token_requests.len(), 0, "not at the Basic token endpoint");
}

/// The password form of a password connector: `Some(page)` when the login did not get to the
/// approval page (a refusal, an error, or the form again).
async fn password_connector_login(
    server: &TestServer,
    id: &str,
    scope: &str,
    login: &str,
    password: &str,
) -> Result<Value, Page> {
    let browser = browser();
    let form = navigate(&browser, &auth_url(server, id, scope)).await.page();
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let page = match submit_password(&browser, &form, login, password).await {
        Hop::Page(page) if page.url.path().ends_with("/approval") => page,
        Hop::Page(page) => return Err(page),
        Hop::Client(url) => panic!("no approval page: {url}"),
    };
    let done = approve(&browser, &page).await.client();
    let response = server.redeem(&query_param(&done, "code").unwrap()).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    Ok(response.json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystone_password_login_groups_and_refresh_with_the_admin_account() {
    let (fake, base) = fake_provider(|f| f.keystone_groups = vec!["admins".into(), "operators".into()]).await;
    let server = tessera("keystone", "keystone", |_| {
        json!({"keystoneHost": base, "domain": "default", "keystoneUsername": "admin", "keystonePassword": "adminpw"})
    })
    .await;
    let wrong = password_connector_login(&server, "keystone", "openid", "demo", "nope").await.unwrap_err();
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "the form again, not a server error: {}", wrong.body);

    let tokens = password_connector_login(
        &server,
        "keystone",
        "openid email profile groups offline_access",
        "demo",
        "secret",
    )
    .await
    .unwrap_or_else(|p| panic!("{}", p.body));
    let claims = id_claims(&tokens);
    assert_eq!(claims["sub"], subject::encode(KEYSTONE_USER_ID, &"keystone".into()));
    assert_eq!(claims["email"], "demo@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "demo");
    assert_eq!(claims["groups"], json!(["admins", "operators"]));

    // Refresh reads the groups again as the admin; a deleted user ends the refresh token.
    assert!(
        fake.lock().unwrap().keystone_tokens_seen.iter().all(|t| t == "ks-user-token"),
        "the login reads as the user"
    );
    fake.lock().unwrap().keystone_groups.push("auditors".into());
    fake.lock().unwrap().keystone_tokens_seen.clear();
    let refreshed = server.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    assert_eq!(jwt_claims(refreshed.str("id_token"))["groups"], json!(["admins", "operators", "auditors"]));
    let seen = fake.lock().unwrap().keystone_tokens_seen.clone();
    assert!(
        !seen.is_empty() && seen.iter().all(|t| t == "ks-admin-token"),
        "a refresh reads as the admin: {seen:?}"
    );
    fake.lock().unwrap().keystone_deleted = true;
    server
        .refresh(refreshed.str("refresh_token"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    // Keystone down: a friendly page; the password database still works.
    fake.lock().unwrap().fail = Some("500");
    let down = password_connector_login(&server, "keystone", "openid", "demo", "secret").await.unwrap_err();
    assert_eq!(down.status, StatusCode::BAD_GATEWAY, "{}", down.body);
    assert!(!down.body.contains("exploded"));
    password_login(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atlassian_crowd_login_with_nested_paged_groups_required_groups_and_refresh() {
    let (fake, base) =
        fake_provider(|f| f.crowd_groups = vec!["jira-users".into(), "crowd-admins".into()]).await;
    let server = tessera("crowd", "atlassian-crowd", |_| {
        json!({"baseURL": base, "clientID": "tessera-app", "clientSecret": "app-pw", "groups": ["crowd-admins", "absent"],
            "usernamePrompt": "Crowd login", "preferredUsernameField": "email"})
    })
    .await;
    let form = navigate(&browser(), &auth_url(&server, "crowd", "openid")).await.page();
    assert!(form.body.contains("Crowd login"), "the configured prompt: {}", form.body);
    let wrong = password_connector_login(&server, "crowd", "openid", "jdoe", "nope").await.unwrap_err();
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);

    let tokens = password_connector_login(
        &server,
        "crowd",
        "openid email profile groups offline_access",
        "jdoe",
        "crowd-pw",
    )
    .await
    .unwrap_or_else(|p| panic!("{}", p.body));
    let claims = id_claims(&tokens);
    assert_eq!(claims["sub"], subject::encode(CROWD_KEY, &"crowd".into()), "Dex's user id: the Crowd key");
    assert_eq!(claims["name"], "jdoe");
    assert_eq!(claims["preferred_username"], "jdoe@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["groups"], json!(["crowd-admins"]), "found on the second page, filtered by `groups`");

    let refreshed = server.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    // Deactivated in Crowd: the refresh ends, and a new login gets a plain refusal.
    fake.lock().unwrap().crowd_inactive = true;
    server
        .refresh(refreshed.str("refresh_token"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let inactive =
        password_connector_login(&server, "crowd", "openid", "jdoe", "crowd-pw").await.unwrap_err();
    assert!(inactive.body.contains("deactivated"), "{}", inactive.body);
    assert!(inactive.status.is_client_error(), "{}", inactive.status);
    fake.lock().unwrap().crowd_inactive = false;

    // Out of the required groups: refused even when the client does not ask for groups.
    fake.lock().unwrap().crowd_groups = vec!["jira-users".into()];
    let outside = password_connector_login(&server, "crowd", "openid", "jdoe", "crowd-pw").await.unwrap_err();
    assert!(outside.body.contains("Crowd groups"), "{}", outside.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atlassian_crowd_with_wrong_application_credentials_is_an_upstream_error() {
    let (_fake, base) = fake_provider(|_| {}).await;
    let server = tessera(
        "crowd",
        "atlassian-crowd",
        |_| json!({"baseURL": base, "clientID": "tessera-app", "clientSecret": "wrong"}),
    )
    .await;
    let page = password_connector_login(&server, "crowd", "openid", "jdoe", "crowd-pw").await.unwrap_err();
    assert_eq!(page.status, StatusCode::BAD_GATEWAY, "{}", page.body);
    password_login(&server).await;
}

/// Without `teams`: every workspace and every readable permission; a workspace whose
/// permission answers 404 has no permission group (as Dex).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitbucket_cloud_without_teams_keeps_every_workspace_and_permission() {
    let (_fake, base) =
        fake_provider(|f| f.bitbucket_workspaces = vec!["acme".into(), "beta".into(), "hidden".into()]).await;
    let server = tessera("bitbucket", "bitbucket-cloud", |callback| {
        json!({"clientID": "c", "clientSecret": "s", "redirectURI": callback, "getWorkspacePermissions": true,
            "authURL": base, "apiURL": format!("{base}/2.0")})
    })
    .await;
    let (_, tokens) = login_tokens(&server, &api(), "bitbucket", "openid groups").await;
    assert_eq!(id_claims(&tokens)["groups"], json!(["acme", "beta", "hidden", "acme:owner", "beta:member"]));
}

/// A `next` link to another host is not followed: the access token never leaves the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitbucket_cloud_never_sends_the_token_to_another_host() {
    let (elsewhere, evil) = fake_provider(|_| {}).await;
    let (_fake, base) = fake_provider(|f| {
        f.bitbucket_workspaces = vec!["acme".into(), "beta".into()];
        f.bitbucket_next_elsewhere = Some(format!("{evil}/2.0"));
    })
    .await;
    let server = tessera("bitbucket", "bitbucket-cloud", |callback| {
        json!({"clientID": "c", "clientSecret": "s", "redirectURI": callback, "authURL": base, "apiURL": format!("{base}/2.0")})
    })
    .await;
    let (_, hop) = upstream_login(&server, &browser(), &api(), "bitbucket", "openid groups").await;
    assert_eq!(hop.page().status, StatusCode::BAD_GATEWAY);
    assert_eq!(elsewhere.lock().unwrap().api_calls, 0, "nothing reached the other host");
}

/// OpenShift's access tokens expire (a day by default) and come without a refresh token:
/// then the refresh token ends (`invalid_grant`) and the user logs in again, rather than a
/// server error a client would retry forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openshift_refresh_after_the_upstream_token_expired_asks_for_a_new_login() {
    let ca = TestCa::create();
    let (_fake, addr) = fake_provider_tls(&ca, |f| {
        f.openshift_groups = vec!["dev".into()];
        f.access_only = Some(1);
    })
    .await;
    let root_ca = ca.path("ca.pem");
    let server = tessera("openshift", "openshift", |callback| {
        json!({"issuer": format!("https://{addr}"), "clientID": "c", "clientSecret": "s", "redirectURI": callback, "rootCA": root_ca})
    })
    .await;
    let (_, tokens) = login_tokens(&server, &ca.client(), "openshift", "openid offline_access").await;
    server
        .refresh(tokens["refresh_token"].as_str().unwrap())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}
