//! Dex configurations that must carry over unchanged: keys spelt in any case, static
//! passwords with `name` or without `userID`, and Dex's `samlExperimental` alias.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::Value;
use tessera::oauth2::subject;

/// Appends a YAML entry to a list of the base configuration.
fn push(list: &'static str, entry: &'static str) -> impl FnOnce(&mut serde_norway::Value) + 'static {
    move |yaml| {
        let entry: serde_norway::Value = serde_norway::from_str(entry).unwrap();
        match yaml.get_mut(list).and_then(|l| l.as_sequence_mut()) {
            Some(items) => items.push(entry),
            None => {
                yaml[list] = serde_norway::Value::Sequence(vec![entry]);
            }
        }
    }
}

async fn health(server: &TestServer) -> Value {
    api().get(server.url("/healthz")).send().await.unwrap().json().await.unwrap()
}

/// Dex decodes its config with Go's JSON decoder, which matches keys ignoring case: a client
/// written `ID`/`Secret`/`redirectUris` and a connector config written `Username`/`PASSWORD`
/// run on Dex, and on Tessera.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_in_any_case_work_as_on_dex() {
    let server = TestServer::builder()
        .yaml_with(push(
            "staticClients",
            "ID: odd-app\nSecret: odd-secret\nNAME: Odd App\nredirectUris: [\"http://127.0.0.1:5559/callback\"]\n",
        ))
        .yaml("connectors:\n  - Type: mockPassword\n    ID: mp\n    Name: Mock password\n    Config:\n      Username: kilgore\n      PASSWORD: trout\n")
        .yaml("oauth2:\n  passwordConnector: mp\n  grantTypes: [authorization_code, password]\n")
        .start()
        .await;
    assert_eq!(health(&server).await["failedConnectors"], serde_json::json!([]));
    let mut url = server.code_auth_url("odd-app", "http://127.0.0.1:5559/callback", "openid email");
    url.query_pairs_mut().append_pair("connector_id", "local");
    let done = login_with_password(&browser(), &url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let code = query_param(&done, "code").unwrap();
    let r = server
        .token(
            Some(("odd-app", "odd-secret")),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:5559/callback"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(jwt_claims(r.str("id_token"))["aud"], "odd-app");
    // The connector's own keys fold too: its user logs in through the password grant.
    let r = server
        .token(
            Some(("odd-app", "odd-secret")),
            &[
                ("grant_type", "password"),
                ("username", "kilgore"),
                ("password", "trout"),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// `staticPasswords[].name` is the `name` claim (Dex: `name`, else `username`), and an entry
/// without `userID` loads and logs in, with the subject every such entry shares (Dex's too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_passwords_name_and_missing_user_id_as_on_dex() {
    let hash = bcrypt::hash("pw", 4).unwrap();
    let server = TestServer::builder()
        .yaml(&format!(
            "staticPasswords:\n  - email: named@example.com\n    hash: \"{hash}\"\n    username: named\n    name: Named Person\n    userID: named-id\n  - email: anon@example.com\n    hash: \"{hash}\"\n    username: anon\n"
        ))
        .start()
        .await;
    for (email, name, user_id) in
        [("named@example.com", "Named Person", "named-id"), ("anon@example.com", "anon", "")]
    {
        let url = server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid email profile");
        let done = login_with_password(&browser(), &url, email, "pw").await;
        let tokens = server.redeem(&query_param(&done, "code").unwrap()).await;
        assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
        let claims = jwt_claims(tokens.str("id_token"));
        assert_eq!(claims["name"], name, "{email}");
        assert_eq!(claims["sub"], subject::encode(user_id, &"local".into()), "{email}");
        let info = server.userinfo(tokens.str("access_token")).await;
        assert_eq!(info.json["name"], name);
    }
}

/// `type: samlExperimental` is Dex's older name for `saml`: the connector opens and serves
/// its SP metadata.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saml_experimental_is_saml() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/dex", listener.local_addr().unwrap());
    let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/saml/idp.crt");
    let server = TestServer::builder()
        .listener(listener)
        .yaml(&format!(
            "connectors:\n  - type: samlExperimental\n    id: legacy\n    name: Legacy SAML\n    config:\n      \
             ssoURL: http://127.0.0.1:1/sso\n      ca: {ca}\n      redirectURI: {issuer}/callback\n      \
             usernameAttr: name\n      emailAttr: email\n"
        ))
        .start()
        .await;
    assert_eq!(health(&server).await["failedConnectors"], serde_json::json!([]));
    let metadata = api().get(server.url("/saml/legacy/metadata")).send().await.unwrap();
    assert_eq!(metadata.status(), StatusCode::OK);
    assert!(metadata.text().await.unwrap().contains("AssertionConsumerService"));
}
