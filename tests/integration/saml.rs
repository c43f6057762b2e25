//! The SAML connector against a real identity provider: pysaml2 (tests/fixtures/saml-idp),
//! signing with xmlsec1. The browser walks the whole login: Tessera `/auth` → the
//! HTTP-POST (or HTTP-Redirect) binding to the IdP, which logs the fixed user in at once →
//! its auto-post form to Tessera's ACS (`/callback`) → approval → code → tokens.
//!
//! The IdP runs from the Python at `TESSERA_PYSAML2_PYTHON` (default: the venv `.ci/run`
//! creates in `~/.cache/tessera-pysaml2`). Without it these tests fail, unless
//! `TESSERA_SKIP_PYSAML2=1`.

use crate::common::{self, CLIENT_ID, REDIRECT_URI, TestServer, html, query_param};
use base64::Engine;
use reqwest::StatusCode;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use url::Url;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const UID_OID: &str = "urn:oid:0.9.2342.19200300.100.1.1";
const MAIL_OID: &str = "urn:oid:0.9.2342.19200300.100.1.3";
const IS_MEMBER_OF_OID: &str = "urn:oid:1.3.6.1.4.1.5923.1.5.1.1";

fn python() -> Option<String> {
    if std::env::var("TESSERA_SKIP_PYSAML2").as_deref() == Ok("1") {
        return None;
    }
    let python = std::env::var("TESSERA_PYSAML2_PYTHON").unwrap_or_else(|_| {
        format!("{}/.cache/tessera-pysaml2/bin/python", std::env::var("HOME").unwrap_or_default())
    });
    assert!(
        std::path::Path::new(&python).exists(),
        "pysaml2's Python not found at {python}: run .ci/run (or set TESSERA_PYSAML2_PYTHON), \
         or TESSERA_SKIP_PYSAML2=1 to skip"
    );
    Some(python)
}

/// A running pysaml2 IdP; killed when dropped.
struct Idp {
    port: u16,
    _process: tokio::process::Child,
    _metadata: tempfile::NamedTempFile,
}

impl Idp {
    fn entity_id(&self) -> String {
        format!("http://127.0.0.1:{}/idp", self.port)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Tessera with a SAML connector `saml` pointing at an IdP on `idp_port`.
async fn tessera(idp_port: u16, binding: &str) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/dex", listener.local_addr().unwrap());
    let sso = if binding == "redirect" { "redirect" } else { "post" };
    let yaml = format!(
        r#"
connectors:
  - type: saml
    id: saml
    name: Example IdP
    config:
      ssoURL: http://127.0.0.1:{idp_port}/sso/{sso}
      ssoBinding: {binding}
      ca: {FIXTURES}/saml/idp.crt
      ssoIssuer: http://127.0.0.1:{idp_port}/idp
      entityIssuer: {issuer}/saml/saml/metadata
      redirectURI: {issuer}/callback
      usernameAttr: "{UID_OID}"
      emailAttr: "{MAIL_OID}"
      groupsAttr: "{IS_MEMBER_OF_OID}"
      nameIDPolicyFormat: persistent
"#
    );
    TestServer::builder().listener(listener).yaml(&yaml).start().await
}

async fn start_idp(python: &str, port: u16, server: &TestServer) -> Idp {
    let metadata = common::api().get(server.url("/saml/saml/metadata")).send().await.unwrap();
    assert_eq!(metadata.status(), StatusCode::OK);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), metadata.text().await.unwrap()).unwrap();
    let mut process = tokio::process::Command::new(python)
        .arg(format!("{FIXTURES}/saml-idp/idp.py"))
        .arg(port.to_string())
        .arg(file.path())
        .arg(format!("{FIXTURES}/saml/idp.key"))
        .arg(format!("{FIXTURES}/saml/idp.crt"))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line()).await;
    assert!(matches!(ready, Ok(Ok(Some(ref l))) if l == "ready"), "the pysaml2 IdP did not start: {ready:?}");
    Idp { port, _process: process, _metadata: file }
}

/// Walks `/auth` to the IdP and back; returns the IdP's form to Tessera's ACS.
async fn to_idp_and_back(server: &TestServer, binding: &str) -> html::Form {
    let browser = common::browser();
    let mut auth =
        server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid email profile groups offline_access");
    auth.query_pairs_mut().append_pair("connector_id", "saml");
    let idp_response = match binding {
        "post" => {
            // Tessera's HTTP-POST binding page, then its form to the IdP.
            let page = common::navigate(&browser, &auth).await.page();
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            let form = page.form();
            assert!(form.hidden("SAMLRequest").is_some() && form.hidden("RelayState").is_some());
            browser.post(form.action.clone()).form(&form.hidden).send().await.unwrap()
        }
        _ => {
            let hop = common::navigate(&browser, &auth).await;
            let common::Hop::Client(idp_url) = hop else { panic!("expected a redirect to the IdP: {hop:?}") };
            assert!(query_param(&idp_url, "SAMLRequest").is_some());
            browser.get(idp_url).send().await.unwrap()
        }
    };
    let url = idp_response.url().clone();
    let body = idp_response.text().await.unwrap();
    let form = html::forms(&url, &body).into_iter().next().unwrap_or_else(|| panic!("IdP answered:\n{body}"));
    assert!(form.action.as_str().ends_with("/dex/callback"), "{}", form.action);
    form
}

/// Posts the IdP's form the way a browser does after a cross-site POST: without Tessera's
/// (SameSite=Lax) session cookie, so from a fresh cookie jar.
async fn post_to_acs(form: &html::Form) -> (reqwest::Client, common::Hop) {
    let fresh = common::browser();
    let hop = common::submit(&fresh, form, &[]).await;
    (fresh, hop)
}

fn id_token_claims(tokens: &serde_json::Value) -> serde_json::Value {
    let id_token = tokens["id_token"].as_str().unwrap();
    let payload = id_token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
        .unwrap()
}

async fn full_login(binding: &str) {
    let Some(python) = python() else { return };
    let port = free_port();
    let server = tessera(port, binding).await;
    let idp = start_idp(&python, port, &server).await;

    let form = to_idp_and_back(&server, binding).await;
    let saml_response = form.hidden("SAMLResponse").unwrap().to_string();
    let (browser, hop) = post_to_acs(&form).await;
    let approval = hop.page();
    let done = common::approve(&browser, &approval).await.client();
    assert_eq!(query_param(&done, "state").as_deref(), Some("st4te"));
    let code = query_param(&done, "code").unwrap();
    let tokens = server.redeem(&code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{:?}", tokens.json);
    let claims = id_token_claims(&tokens.json);
    assert_eq!(claims["email"], "jane@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "jane");
    assert_eq!(claims["groups"], serde_json::json!(["admins", "devs"]));
    assert!(claims["sub"].as_str().is_some_and(|s| !s.is_empty()));

    // Refresh keeps the identity (SAML has no refresh of its own).
    let refreshed = server.refresh(tokens.str("refresh_token")).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{:?}", refreshed.json);
    assert_eq!(id_token_claims(&refreshed.json)["email"], "jane@example.com");

    // The same SAMLResponse again (a captured POST replayed) is refused.
    let replay = html::Form { action: form.action.clone(), hidden: form.hidden.clone() };
    let (_, hop) = post_to_acs(&replay).await;
    hop.page().assert_error_page();
    assert!(saml_response.len() > 100);
    assert!(idp.entity_id().starts_with("http://127.0.0.1:"));
}

#[tokio::test]
async fn pysaml2_login_with_post_binding() {
    full_login("post").await;
}

#[tokio::test]
async fn pysaml2_login_with_redirect_binding() {
    full_login("redirect").await;
}

#[tokio::test]
async fn a_response_for_another_login_is_refused() {
    let Some(python) = python() else { return };
    let port = free_port();
    let server = tessera(port, "post").await;
    let _idp = start_idp(&python, port, &server).await;
    // Two logins; the IdP's answer to the first is posted with the second's RelayState.
    let first = to_idp_and_back(&server, "post").await;
    let second = to_idp_and_back(&server, "post").await;
    let mut swapped = first.clone();
    swapped.hidden.retain(|(k, _)| k != "RelayState");
    swapped.hidden.push(("RelayState".into(), second.hidden("RelayState").unwrap().into()));
    let (_, hop) = post_to_acs(&swapped).await;
    hop.page().assert_error_page();
    // The untouched second answer still works.
    let (_, hop) = post_to_acs(&second).await;
    assert!(hop.page().url.path().ends_with("/approval"));
}

#[tokio::test]
async fn acs_refuses_unknown_relay_state_and_garbage() {
    let server = tessera(free_port(), "post").await;
    for form in [
        vec![("SAMLResponse", "PHg+"), ("RelayState", "no-such-request")],
        vec![("SAMLResponse", "%%%"), ("RelayState", "")],
    ] {
        let response = common::api().post(server.url("/callback")).form(&form).send().await.unwrap();
        assert!(response.status().is_client_error(), "{}", response.status());
    }
}

#[tokio::test]
async fn sp_metadata_names_the_acs() {
    let server = tessera(free_port(), "post").await;
    let response = common::api().get(server.url("/saml/saml/metadata")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.unwrap();
    let acs = Url::parse(&server.url("/callback")).unwrap();
    assert!(body.contains(&format!("Location=\"{acs}\"")), "{body}");
    assert!(body.contains(&format!("entityID=\"{}/saml/saml/metadata\"", server.issuer)), "{body}");
    let missing = common::api().get(server.url("/saml/nope/metadata")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
