//! The `ldap` connector against a real OpenLDAP `slapd` (one per test), through Tessera's
//! login page: claims and groups (direct, nested, posixGroup), wrong credentials, filter
//! injection, plain/StartTLS/LDAPS with the test CA, anonymous search, refresh, and the
//! directory going down.

use crate::common::slapd::{ADMIN_DN, ADMIN_PW, GROUPS, PEOPLE, Slapd, TestCa};
use crate::common::*;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

const JANE_GROUPS: [&str; 6] = ["developers", "engineering", "staff", "loop-a", "loop-b", "ops"];
const SCOPES: &str = "openid email profile groups offline_access";

/// Plain LDAP, a service account, two user matchers (nested `member`, and `memberUid`).
fn plain(slapd: &Slapd) -> Value {
    json!({
        "host": slapd.ldap_host,
        "insecureNoSSL": true,
        "bindDN": ADMIN_DN,
        "bindPW": ADMIN_PW,
        "usernamePrompt": "Directory username",
        "userSearch": {
            "baseDN": PEOPLE,
            "filter": "(objectClass=inetOrgPerson)",
            "username": ["uid", "mail"],
            "idAttr": "uid",
            "emailAttr": "mail",
            "nameAttr": "cn",
            "preferredUsernameAttr": "displayName",
        },
        "groupSearch": {
            "baseDN": GROUPS,
            "filter": "(|(objectClass=groupOfNames)(objectClass=posixGroup))",
            "userMatchers": [
                {"userAttr": "DN", "groupAttr": "member", "recursionGroupAttr": "member"},
                {"userAttr": "uid", "groupAttr": "memberUid"},
            ],
            "nameAttr": "cn",
        },
    })
}

/// Plain config moved to StartTLS on the same port, trusting the CA file.
fn start_tls(slapd: &Slapd) -> Value {
    let mut config = plain(slapd);
    config["insecureNoSSL"] = json!(false);
    config["startTLS"] = json!(true);
    config["rootCA"] = json!(slapd.ca_file().display().to_string());
    config
}

/// LDAPS on the TLS port, trusting `ca` (base64 PEM in `rootCAData`, as Dex takes it).
fn ldaps(slapd: &Slapd, ca_pem: &str) -> Value {
    let mut config = plain(slapd);
    config["host"] = json!(slapd.ldaps_host);
    config["insecureNoSSL"] = json!(false);
    config["rootCAData"] = json!(base64::engine::general_purpose::STANDARD.encode(ca_pem));
    config
}

async fn server_with(config: Value) -> TestServer {
    let connectors =
        json!({"connectors": [{"type": "ldap", "id": "ldap", "name": "OpenLDAP", "config": config}]});
    TestServer::builder().yaml(&serde_norway::to_string(&connectors).unwrap()).start().await
}

/// Through the login page: the client's redirect (with `code`) or the page shown instead.
async fn login(server: &TestServer, username: &str, password: &str) -> Result<Url, Page> {
    let browser = browser();
    let url = server.auth_url(&[
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", SCOPES),
        ("state", "st4te"),
        ("nonce", "n0nce"),
        ("connector_id", "ldap"),
    ]);
    let form = navigate(&browser, &url).await.page();
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("Directory username"), "the configured prompt is shown");
    match submit_password(&browser, &form, username, password).await {
        Hop::Client(url) => Ok(url),
        Hop::Page(page) if page.url.path().ends_with("/approval") => {
            Ok(approve(&browser, &page).await.client())
        }
        Hop::Page(page) => Err(page),
    }
}

/// Logs in and redeems the code: the token response.
async fn tokens(server: &TestServer, username: &str, password: &str) -> Value {
    let done = login(server, username, password).await.unwrap_or_else(|p| panic!("{}: {}", p.status, p.body));
    let code = query_param(&done, "code").unwrap();
    let response = server.redeem(&code).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.json
}

fn groups(id_token: &Value) -> Vec<String> {
    let claims = jwt_claims(id_token.as_str().unwrap());
    serde_json::from_value(claims["groups"].clone()).unwrap_or_default()
}

#[track_caller]
fn assert_invalid_credentials(result: Result<Url, Page>) {
    let page = result.expect_err("must not log in");
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
    assert!(page.body.contains("Invalid username and password"), "{}", page.body);
}

#[track_caller]
fn assert_login_error(result: Result<Url, Page>) {
    let page = result.expect_err("must not log in");
    // The directory could not be reached or trusted: not Tessera's fault, and no details.
    assert_eq!(page.status, StatusCode::BAD_GATEWAY, "{}", page.body);
    assert!(page.body.contains("Login provider unavailable"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_reads_claims_and_nested_groups() {
    let slapd = Slapd::start().await;
    let server = server_with(plain(&slapd)).await;

    let jane = tokens(&server, "jane", "foo").await;
    let claims = jwt_claims(jane["id_token"].as_str().unwrap());
    // Dex's subject for user id "jane" at connector "ldap".
    assert_eq!(claims["sub"], "CgRqYW5lEgRsZGFw");
    assert_eq!(claims["email"], "jane@example.org");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "Jane Doe");
    assert_eq!(claims["preferred_username"], "jdoe");
    // Direct, three levels up (the loop-a/loop-b cycle ends), then the posixGroup.
    assert_eq!(groups(&jane["id_token"]), JANE_GROUPS);

    // john logs in with his email (the second username attribute).
    let john = tokens(&server, "john@example.org", "bar").await;
    assert_eq!(jwt_claims(john["id_token"].as_str().unwrap())["email"], "john@example.org");
    assert_eq!(groups(&john["id_token"]), ["admins"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_unknown_user_and_empty_password_look_the_same() {
    let slapd = Slapd::start().await;
    let server = server_with(plain(&slapd)).await;
    for (username, password) in [("jane", "wrong"), ("nobody", "foo"), ("jane", ""), ("", ""), ("", "foo")] {
        assert_invalid_credentials(login(&server, username, password).await);
    }
    assert!(login(&server, "jane", "foo").await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_injection_does_not_log_in() {
    let slapd = Slapd::start().await;
    // Thirty wrong logins from one address: brute-force protection would step in (its own
    // tests are in throttle.rs); this test is about the filters.
    let connectors =
        json!({"connectors": [{"type": "ldap", "id": "ldap", "name": "OpenLDAP", "config": plain(&slapd)}]});
    let server = TestServer::builder()
        .yaml(&serde_norway::to_string(&connectors).unwrap())
        .yaml("throttle:\n  enabled: false\n")
        .start()
        .await;
    for username in
        ["*", "*)(uid=*", "admin)(|(uid=*", "jane)(uid=*", "j*", "jane\0", "\\", "(", ")", "o(brien)"]
    {
        for password in ["foo", "baz", "*"] {
            assert_invalid_credentials(login(&server, username, password).await);
        }
    }
    // Escaping keeps the metacharacters literal: the user whose uid has them logs in.
    let obrien = tokens(&server, "o(brien)*", "baz").await;
    assert_eq!(jwt_claims(obrien["id_token"].as_str().unwrap())["email"], "obrien@example.org");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_tls_and_ldaps_with_the_test_ca() {
    let slapd = Slapd::start().await;
    for config in [start_tls(&slapd), ldaps(&slapd, &slapd.ca.pem)] {
        let server = server_with(config).await;
        assert_eq!(groups(&tokens(&server, "jane", "foo").await["id_token"]), JANE_GROUPS);
    }
    // insecureSkipVerify: no CA at all.
    let mut config = ldaps(&slapd, &slapd.ca.pem);
    config.as_object_mut().unwrap().remove("rootCAData");
    config["insecureSkipVerify"] = json!(true);
    let server = server_with(config).await;
    assert!(login(&server, "jane", "foo").await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_ca_is_refused() {
    let slapd = Slapd::start().await;
    let other = TestCa::new("Another CA");
    let server = server_with(ldaps(&slapd, &other.pem)).await;
    assert_login_error(login(&server, "jane", "foo").await);
    let mut config = start_tls(&slapd);
    config.as_object_mut().unwrap().remove("rootCA");
    config["rootCAData"] = json!(base64::engine::general_purpose::STANDARD.encode(&other.pem));
    let server = server_with(config).await;
    assert_login_error(login(&server, "jane", "foo").await);
    // The system roots do not know the test CA either.
    let mut config = ldaps(&slapd, &slapd.ca.pem);
    config.as_object_mut().unwrap().remove("rootCAData");
    let server = server_with(config).await;
    assert_login_error(login(&server, "jane", "foo").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_search_with_dex_legacy_group_keys() {
    let slapd = Slapd::start().await;
    let mut config = plain(&slapd);
    let object = config.as_object_mut().unwrap();
    object.remove("bindDN");
    object.remove("bindPW");
    // Dex's deprecated single matcher, without recursion.
    config["groupSearch"] = json!({
        "baseDN": GROUPS,
        "filter": "(objectClass=groupOfNames)",
        "userAttr": "DN",
        "groupAttr": "member",
        "nameAttr": "cn",
    });
    config["userSearch"]["username"] = json!("uid");
    config["userSearch"]["idAttr"] = json!("DN");
    let server = server_with(config).await;
    let jane = tokens(&server, "jane", "foo").await;
    assert_eq!(groups(&jane["id_token"]), ["developers"]);
    let claims = jwt_claims(jane["id_token"].as_str().unwrap());
    let expected_sub = tessera::oauth2::subject::encode(&format!("uid=jane,{PEOPLE}"), &"ldap".into());
    assert_eq!(claims["sub"], expected_sub.as_str());
    assert_invalid_credentials(login(&server, "jane", "bar").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rereads_groups_and_ends_when_the_user_is_deleted() {
    let slapd = Slapd::start().await;
    let server = server_with(plain(&slapd)).await;
    let jane = tokens(&server, "jane", "foo").await;
    let refresh_token = jane["refresh_token"].as_str().unwrap().to_string();

    slapd.add_member(&format!("cn=admins,{GROUPS}"), &format!("uid=jane,{PEOPLE}")).await;
    let refreshed = server.refresh(&refresh_token).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    // The directory returns groups in no promised order.
    let mut expected = JANE_GROUPS.to_vec();
    expected.push("admins");
    expected.sort();
    let mut got = groups(&refreshed.json["id_token"]);
    got.sort();
    assert_eq!(got, expected);

    slapd.delete(&format!("uid=jane,{PEOPLE}")).await;
    let next = refreshed.str("refresh_token").to_string();
    server.refresh(&next).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_invalid_credentials(login(&server, "jane", "foo").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_down_is_a_login_error_and_the_server_keeps_serving() {
    let mut slapd = Slapd::start().await;
    let server = server_with(plain(&slapd)).await;
    let jane = tokens(&server, "jane", "foo").await;
    slapd.kill();

    assert_login_error(login(&server, "jane", "foo").await);
    // A refresh cannot be checked: a server error, and the token is kept for later.
    let refresh = server.refresh(jane["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refresh.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", refresh.text);
    // Everything else still works, the password database included.
    let discovery = api().get(server.url("/.well-known/openid-configuration")).send().await.unwrap();
    assert_eq!(discovery.status(), StatusCode::OK);
    let mut url = server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid");
    url.query_pairs_mut().append_pair("connector_id", "local");
    let done = login_with_password(&browser(), &url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(query_param(&done, "code").is_some(), "{done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_config_skips_the_connector_only() {
    let slapd = Slapd::start().await;
    let mut config = plain(&slapd);
    config["userSearch"]["scope"] = json!("base");
    let server = server_with(config).await;
    let url = server.auth_url(&[
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", "openid"),
        ("connector_id", "ldap"),
    ]);
    let page = navigate(&browser(), &url).await;
    assert!(!matches!(page, Hop::Page(ref p) if p.url.path().ends_with("/auth/ldap/login")), "{page:?}");
    assert!(!server.login_code(CLIENT_ID, REDIRECT_URI, "openid").await.is_empty());
}

/// The value of `tessera_ldap_connections_total` for one connector.
fn connections_opened(connector: &str) -> u64 {
    let handle = tessera::web::telemetry::prometheus().expect("the metrics recorder");
    let needle = format!("tessera_ldap_connections_total{{connector=\"{connector}\"}} ");
    handle
        .render()
        .lines()
        .find_map(|l| l.strip_prefix(&needle))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_pooled_and_replaced_when_dead() {
    tessera::web::telemetry::prometheus();
    let mut slapd = Slapd::start().await;
    let connectors = json!({"connectors": [{"type": "ldap", "id": "ldap-pool", "name": "OpenLDAP", "config": plain(&slapd)}]});
    let yaml = serde_norway::to_string(&connectors).unwrap();
    let server = TestServer::builder().yaml(&yaml).start().await;
    let pooled_login = |username: &'static str| {
        let server = &server;
        async move {
            let url = server.auth_url(&[
                ("client_id", CLIENT_ID),
                ("redirect_uri", REDIRECT_URI),
                ("response_type", "code"),
                ("scope", SCOPES),
                ("state", "st4te"),
                ("connector_id", "ldap-pool"),
            ]);
            let browser = browser();
            let form = navigate(&browser, &url).await.page();
            submit_password(&browser, &form, username, "foo").await
        }
    };
    // Three logins one after another share one connection (a wrong password included).
    for password_ok in [true, false, true] {
        let hop = pooled_login(if password_ok { "jane" } else { "nobody" }).await;
        match hop {
            Hop::Page(page) if page.url.path().ends_with("/approval") => {}
            Hop::Page(page) => assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body),
            Hop::Client(url) => panic!("unexpected redirect {url}"),
        }
    }
    assert_eq!(connections_opened("ldap-pool"), 1, "one connection served three logins");

    // The directory restarts: the pooled connection is dead and is replaced, once.
    slapd.restart().await;
    match pooled_login("jane").await {
        Hop::Page(page) => assert!(page.url.path().ends_with("/approval"), "{}: {}", page.status, page.body),
        Hop::Client(url) => panic!("unexpected redirect {url}"),
    }
    assert_eq!(connections_opened("ldap-pool"), 2);
}
