//! The login pages in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) driven over WebDriver logs in through the chooser, the password form
//! (a wrong password first), and the consent page, and the code it brings back redeems.
//! A screenshot of every page is kept in `test-artifacts/screenshots/`.

use fantoccini::{ClientBuilder, Locator};
use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills chromedriver when the test ends, however it ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-artifacts/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn start_driver() -> (Driver, u16) {
    let binary = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect(
            "chromedriver is not installed: apt-get install chromium chromium-driver (bash .ci/run does)",
        );
    let port = free_port();
    let child = Command::new(binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("http://127.0.0.1:{port}/status")).send().await.is_ok() {
            return (driver, port);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not come up");
}

async fn browser(driver_port: u16, profile: &std::path::Path) -> fantoccini::Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                "--disable-sync", "--disable-quic", "--window-size=1100,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a Chromium session")
}

async fn shot(browser: &fantoccini::Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "screenshot of {name} is a PNG");
    std::fs::write(artifacts().join(format!("{name}.png")), png).unwrap();
}

/// Waits until the browser has navigated to a URL starting with `prefix`.
async fn wait_for_url(b: &fantoccini::Client, prefix: &str) -> url::Url {
    for _ in 0..100 {
        let url = b.current_url().await.unwrap();
        if url.as_str().starts_with(prefix) {
            return url;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the browser never reached {prefix}");
}

/// A stand-in for the application's callback page.
async fn start_relying_party() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().route("/callback", axum::routing::get(|| async { "signed in" }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn login_through_the_real_pages_in_chromium() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let rp_port = start_relying_party().await;
    let redirect_uri = format!("http://127.0.0.1:{rp_port}/callback");
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://127.0.0.1:{}/dex", listener.local_addr().unwrap().port());
    let yaml = format!(
        r#"
issuer: {issuer}
storage: {{type: sqlite3, config: {{file: {db}}}}}
web: {{http: 127.0.0.1:0}}
staticClients:
- id: web-app
  name: Web App
  secret: web-app-secret
  redirectURIs: ['{redirect_uri}']
- id: cli
  name: Command Line
  public: true
enablePasswordDB: true
staticPasswords:
- email: admin@example.com
  hash: "$2a$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W"
  username: admin
  userID: 08a8684b-db88-4b73-90a9-3cd1661f5466
connectors:
- type: mockCallback
  id: mock
  name: Example IdP
"#,
        db = dir.path().join("t.db").display()
    );
    let config = tessera::config::load_str(&yaml).unwrap().config;
    let server = tessera::server::spawn(&config, listener).await.unwrap();

    let (_driver, driver_port) = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let b = browser(driver_port, profile.path()).await;

    // An unknown client: an error page, no redirect.
    b.goto(&format!(
        "{issuer}/auth?client_id=nobody&redirect_uri=https://evil.example/&response_type=code&scope=openid"
    ))
    .await
    .unwrap();
    assert!(b.current_url().await.unwrap().as_str().starts_with(&issuer));
    assert!(b.find(Locator::Css("h1")).await.unwrap().text().await.unwrap().contains("Unknown application"));
    shot(&b, "error").await;

    // The chooser lists both connectors.
    let auth = format!(
        "{issuer}/auth?client_id=web-app&redirect_uri={}&response_type=code&scope=openid%20email%20profile&state=st4te&nonce=n0nce",
        url::form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect::<String>()
    );
    b.goto(&auth).await.unwrap();
    let choices = b.find_all(Locator::Css("a.choice")).await.unwrap();
    let mut names = Vec::new();
    for c in &choices {
        names.push(c.text().await.unwrap());
    }
    assert_eq!(choices.len(), 2, "{names:?}");
    assert!(names.iter().any(|n| n.contains("Email")) && names.iter().any(|n| n.contains("Example IdP")));
    shot(&b, "login_chooser").await;

    // The password form: keyboard first field, a wrong password shows the form again.
    for c in choices {
        if c.text().await.unwrap().contains("Email") {
            c.click().await.unwrap();
            break;
        }
    }
    let login = b.find(Locator::Id("login")).await.unwrap();
    shot(&b, "password").await;
    login.send_keys("admin@example.com").await.unwrap();
    b.find(Locator::Id("password")).await.unwrap().send_keys("wrong password").await.unwrap();
    b.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    let error = b.wait().for_element(Locator::Id("login-error")).await.unwrap();
    assert!(
        error.text().await.unwrap().contains("Invalid username and password"),
        "error shown after a wrong password"
    );
    shot(&b, "password_error").await;

    // The right password; then the consent page names the client and the scopes.
    let login = b.find(Locator::Id("login")).await.unwrap();
    login.clear().await.unwrap();
    login.send_keys("admin@example.com").await.unwrap();
    b.find(Locator::Id("password")).await.unwrap().send_keys("password").await.unwrap();
    b.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    b.wait().for_element(Locator::Css("button[value=approve]")).await.unwrap();
    let source = b.source().await.unwrap();
    assert!(source.contains("Web App"), "the consent page names the client");
    assert!(source.contains("email"), "the consent page lists the scopes");
    shot(&b, "approval").await;

    b.find(Locator::Css("button[value=approve]")).await.unwrap().click().await.unwrap();
    let landed = wait_for_url(&b, &redirect_uri).await;
    assert!(landed.as_str().starts_with(&redirect_uri), "back at the application: {landed}");
    let params: std::collections::HashMap<String, String> = landed.query_pairs().into_owned().collect();
    assert_eq!(params.get("state").map(String::as_str), Some("st4te"));
    shot(&b, "callback").await;

    // The code the browser brought back redeems at the token endpoint.
    let tokens: serde_json::Value = reqwest::Client::new()
        .post(format!("{issuer}/token"))
        .basic_auth("web-app", Some("web-app-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &params["code"]),
            ("redirect_uri", &redirect_uri),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(tokens["id_token"].as_str().is_some_and(|t| t.split('.').count() == 3), "{tokens}");

    // The out-of-band page shows a code to copy (public client, mock connector).
    b.goto(&format!(
        "{issuer}/auth?client_id=cli&redirect_uri=urn:ietf:wg:oauth:2.0:oob&response_type=code&scope=openid&connector_id=mock"
    ))
    .await
    .unwrap();
    b.wait().for_element(Locator::Css("button[value=approve]")).await.unwrap().click().await.unwrap();
    let code = b
        .wait()
        .for_element(Locator::Css("textarea"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(!code.is_empty(), "the OOB page shows the code");
    shot(&b, "oob").await;

    b.close().await.unwrap();
    server.shutdown().await;
}
