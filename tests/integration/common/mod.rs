//! The test server and the clients that drive it.
//!
//! [`TestServer`] runs a real Tessera on `127.0.0.1:0` with its own storage (a SQLite file in
//! a temp dir, a fresh PostgreSQL or MySQL database, or memory) and an [`OffsetClock`] the test moves
//! forward instead of sleeping. Tests patch the base YAML ([`Builder::yaml`], deep-merged) or
//! the parsed [`Config`] ([`Builder::config`]).
//!
//! Clients: [`browser`] (cookies, no redirects, so every hop is checked), [`api`] (no
//! cookies), the `openidconnect` crate as relying party over [`RpHttp`], and the login
//! helpers that walk the pages like a user would.

pub mod html;
pub mod mysql;
pub mod pg;
pub mod rp;
pub mod slapd;

use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tessera::clock::OffsetClock;
use tessera::config::Config;
use tessera::server::Running;
use url::Url;

pub use html::Form;
pub use mysql::MysqlScratchDatabase;
pub use pg::ScratchDatabase;

/// The confidential client most tests use.
pub const CLIENT_ID: &str = "example-app";
pub const CLIENT_SECRET: &str = "example-secret";
pub const REDIRECT_URI: &str = "http://127.0.0.1:5555/callback";
/// A second confidential client.
pub const OTHER_ID: &str = "other-app";
pub const OTHER_SECRET: &str = "other-secret";
pub const OTHER_REDIRECT_URI: &str = "http://127.0.0.1:5556/callback";
/// A client that trusts `example-app` (`trustedPeers`).
pub const PEER_ID: &str = "peer-app";
/// A public client with a registered loopback URI (RFC 8252).
pub const NATIVE_ID: &str = "native-cli";
pub const NATIVE_REDIRECT_URI: &str = "http://localhost:8000/callback";
/// A public client without registered URIs (out-of-band and any loopback).
pub const KUBECTL_ID: &str = "kubectl";

/// The password-database user.
pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "password";
pub const ADMIN_USER_ID: &str = "08a8684b-db88-4b73-90a9-3cd1661f5466";
pub const ADMIN_USERNAME: &str = "admin";

pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// bcrypt of [`ADMIN_PASSWORD`] at the lowest cost, so logins stay fast in debug builds.
fn admin_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| bcrypt::hash(ADMIN_PASSWORD, 4).unwrap())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Sqlite,
    Postgres,
    Mysql,
    Memory,
}

/// A database several servers share (replicas).
#[derive(Debug, Clone)]
enum SharedDatabase {
    Postgres(Arc<ScratchDatabase>),
    Mysql(Arc<MysqlScratchDatabase>),
}

type YamlPatch = Box<dyn FnOnce(&mut serde_norway::Value)>;
type ConfigPatch = Box<dyn FnOnce(&mut Config)>;

pub struct Builder {
    store: Store,
    yaml: Vec<YamlPatch>,
    config: Vec<ConfigPatch>,
    issuer: Option<String>,
    shared_database: Option<SharedDatabase>,
    listener: Option<tokio::net::TcpListener>,
}

impl Builder {
    /// Serves on an already bound listener (to know the address before starting).
    pub fn listener(mut self, listener: tokio::net::TcpListener) -> Self {
        self.listener = Some(listener);
        self
    }

    pub fn store(mut self, store: Store) -> Self {
        self.store = store;
        self
    }

    /// Deep-merges a YAML snippet into the base configuration (mappings merge, anything else
    /// is replaced).
    pub fn yaml(mut self, snippet: &str) -> Self {
        let patch: serde_norway::Value = serde_norway::from_str(snippet).unwrap();
        self.yaml.push(Box::new(move |base| merge(base, patch)));
        self
    }

    /// Edits the YAML tree directly (e.g. one entry of `staticClients`).
    pub fn yaml_with(mut self, f: impl FnOnce(&mut serde_norway::Value) + 'static) -> Self {
        self.yaml.push(Box::new(f));
        self
    }

    /// Edits the parsed configuration.
    pub fn config(mut self, f: impl FnOnce(&mut Config) + 'static) -> Self {
        self.config.push(Box::new(f));
        self
    }

    /// Uses this issuer URL instead of the server's own address (replicas behind one URL).
    pub fn issuer(mut self, issuer: &str) -> Self {
        self.issuer = Some(issuer.to_string());
        self
    }

    /// Uses an existing PostgreSQL database (another replica's).
    pub fn shared_postgres(mut self, database: Arc<ScratchDatabase>) -> Self {
        self.store = Store::Postgres;
        self.shared_database = Some(SharedDatabase::Postgres(database));
        self
    }

    /// Uses an existing MySQL/MariaDB database (another replica's).
    pub fn shared_mysql(mut self, database: Arc<MysqlScratchDatabase>) -> Self {
        self.store = Store::Mysql;
        self.shared_database = Some(SharedDatabase::Mysql(database));
        self
    }

    pub async fn start(self) -> TestServer {
        install_crypto_provider();
        let listener = match self.listener {
            Some(listener) => listener,
            None => tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        };
        let addr = listener.local_addr().unwrap();
        let base_url = format!("http://{addr}");
        let issuer = self.issuer.unwrap_or_else(|| format!("{base_url}/dex"));
        let dir = tempfile::tempdir().unwrap();
        let database = match (self.store, self.shared_database) {
            (_, Some(shared)) => Some(shared),
            (Store::Postgres, None) => {
                Some(SharedDatabase::Postgres(Arc::new(ScratchDatabase::create().await)))
            }
            (Store::Mysql, None) => {
                Some(SharedDatabase::Mysql(Arc::new(MysqlScratchDatabase::create().await)))
            }
            _ => None,
        };
        let storage = match (self.store, &database) {
            (Store::Postgres, Some(SharedDatabase::Postgres(db))) => format!(
                "type: postgres\nconfig:\n  host: 127.0.0.1\n  port: 5432\n  database: {}\n  user: postgres\n  ssl:\n    mode: disable\n",
                db.name()
            ),
            // Dex's keys, as a Dex config.yaml has them (`mode` quoted: Dex reads a string).
            (Store::Mysql, Some(SharedDatabase::Mysql(db))) => format!(
                "type: mysql\nconfig:\n  host: 127.0.0.1\n  port: 3306\n  database: {}\n  user: root\n  password: ''\n  ssl:\n    mode: \"false\"\n  params:\n    innodb_lock_wait_timeout: 10\n",
                db.name()
            ),
            (Store::Memory, _) => "type: memory\n".to_string(),
            _ => format!("type: sqlite3\nconfig:\n  file: {}\n", dir.path().join("tessera.db").display()),
        };
        let mut yaml: serde_norway::Value = serde_norway::from_str(&base_yaml(&issuer, addr)).unwrap();
        merge(&mut yaml, serde_norway::from_str(&format!("storage:\n{}", indent(&storage))).unwrap());
        for patch in self.yaml {
            patch(&mut yaml);
        }
        let text = serde_norway::to_string(&yaml).unwrap();
        let loaded = tessera::config::load_str(&text)
            .unwrap_or_else(|e| panic!("test config invalid:\n{e}\n---\n{text}"));
        let mut config = loaded.config;
        for patch in self.config {
            patch(&mut config);
        }
        let clock = Arc::new(OffsetClock::default());
        let app = tessera::app::App::build_with_clock(&config, clock.clone()).await.unwrap();
        let running = tessera::server::spawn_app(app, &config, listener).await.unwrap();
        TestServer {
            issuer,
            base_url: format!("{base_url}/dex"),
            addr,
            clock,
            running: Some(running),
            _database: database,
            _dir: dir,
        }
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

fn merge(base: &mut serde_norway::Value, patch: serde_norway::Value) {
    match (base, patch) {
        (serde_norway::Value::Mapping(base), serde_norway::Value::Mapping(patch)) => {
            for (key, value) in patch {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, patch) => *base = patch,
    }
}

fn base_yaml(issuer: &str, addr: SocketAddr) -> String {
    format!(
        r#"
issuer: {issuer}
web:
  http: {addr}
staticClients:
  - id: {CLIENT_ID}
    secret: {CLIENT_SECRET}
    name: Example App
    redirectURIs: ["{REDIRECT_URI}"]
  - id: {OTHER_ID}
    secret: {OTHER_SECRET}
    name: Other App
    redirectURIs: ["{OTHER_REDIRECT_URI}"]
  - id: {PEER_ID}
    secret: peer-secret
    name: Peer App
    redirectURIs: ["http://127.0.0.1:5557/callback"]
    trustedPeers: [{CLIENT_ID}]
  - id: {NATIVE_ID}
    name: Native CLI
    public: true
    redirectURIs: ["{NATIVE_REDIRECT_URI}"]
  - id: {KUBECTL_ID}
    name: kubectl
    public: true
enablePasswordDB: true
staticPasswords:
{admin}"#,
        admin = admin_password(&["admins", "developers"])
    )
}

/// The admin's `staticPasswords` entry (YAML, a list item) with these groups.
pub fn admin_password(groups: &[&str]) -> String {
    format!(
        "  - email: {ADMIN_EMAIL}\n    hash: \"{hash}\"\n    username: {ADMIN_USERNAME}\n    userID: {ADMIN_USER_ID}\n    groups: [{groups}]\n",
        hash = admin_hash(),
        groups = groups.join(", ")
    )
}

/// A running server; dropping it drops its database.
pub struct TestServer {
    /// The issuer as configured (what tokens carry).
    pub issuer: String,
    /// Where this server answers: `http://127.0.0.1:{port}/dex` (equal to the issuer unless
    /// the issuer was overridden).
    pub base_url: String,
    pub addr: SocketAddr,
    pub clock: Arc<OffsetClock>,
    running: Option<Running>,
    _database: Option<SharedDatabase>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub fn builder() -> Builder {
        Builder {
            store: Store::Sqlite,
            yaml: Vec::new(),
            config: Vec::new(),
            issuer: None,
            shared_database: None,
            listener: None,
        }
    }

    pub async fn start() -> TestServer {
        Self::builder().start().await
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().unwrap()
    }

    /// `path` under the server's own address (e.g. `/token`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Moves the server's clock forward.
    pub fn advance(&self, seconds: i64) {
        self.clock.advance(seconds);
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }

    /// `/auth` with these query parameters.
    pub fn auth_url(&self, params: &[(&str, &str)]) -> Url {
        let mut url = Url::parse(&self.url("/auth")).unwrap();
        url.query_pairs_mut().extend_pairs(params);
        url
    }

    /// The code flow for `example-app` without PKCE: `/auth` parameters.
    pub fn code_auth_url(&self, client_id: &str, redirect_uri: &str, scope: &str) -> Url {
        self.auth_url(&[
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("scope", scope),
            ("state", "st4te"),
            ("nonce", "n0nce"),
        ])
    }

    /// Logs the admin in through the password form and returns the code (state checked).
    pub async fn login_code(&self, client_id: &str, redirect_uri: &str, scope: &str) -> String {
        let browser = browser();
        let url = self.code_auth_url(client_id, redirect_uri, scope);
        let done = login_with_password(&browser, &url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(query_param(&done, "state").as_deref(), Some("st4te"), "{done}");
        query_param(&done, "code").unwrap_or_else(|| panic!("no code in {done}"))
    }

    /// POST /token with a form, optionally authenticating with HTTP Basic.
    pub async fn token(&self, basic: Option<(&str, &str)>, form: &[(&str, &str)]) -> ApiResponse {
        let mut request = api().post(self.url("/token")).form(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        ApiResponse::read(request.send().await.unwrap()).await
    }

    /// Redeems a code for `example-app` (client_secret_basic).
    pub async fn redeem(&self, code: &str) -> ApiResponse {
        self.token(
            Some((CLIENT_ID, CLIENT_SECRET)),
            &[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT_URI)],
        )
        .await
    }

    /// Refreshes for `example-app` (client_secret_basic).
    pub async fn refresh(&self, refresh_token: &str) -> ApiResponse {
        self.token(
            Some((CLIENT_ID, CLIENT_SECRET)),
            &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)],
        )
        .await
    }

    /// Logs in for `example-app` with these scopes and redeems the code.
    pub async fn login_tokens(&self, scope: &str) -> Value {
        let code = self.login_code(CLIENT_ID, REDIRECT_URI, scope).await;
        let response = self.redeem(&code).await;
        assert_eq!(response.status, StatusCode::OK, "{:?}", response.json);
        response.json
    }

    pub async fn userinfo(&self, access_token: &str) -> ApiResponse {
        ApiResponse::read(api().get(self.url("/userinfo")).bearer_auth(access_token).send().await.unwrap())
            .await
    }

    /// Introspects `token` as `example-app` (client_secret_basic).
    pub async fn introspect_as_app(&self, token: &str) -> ApiResponse {
        let request = api().post(self.url("/token/introspect")).basic_auth(CLIENT_ID, Some(CLIENT_SECRET));
        ApiResponse::read(request.form(&[("token", token)]).send().await.unwrap()).await
    }

    pub async fn discovery(&self) -> Value {
        api().get(self.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap()
    }

    pub async fn jwks(&self) -> Value {
        api().get(self.url("/keys")).send().await.unwrap().json().await.unwrap()
    }
}

/// A response of an API endpoint, read whole.
#[derive(Debug)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl ApiResponse {
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self { status, headers, text, json }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn str(&self, field: &str) -> &str {
        self.json[field].as_str().unwrap_or_else(|| panic!("no {field:?} in {}: {}", self.status, self.text))
    }

    /// Asserts an RFC 6749 §5.2 error: status, code, a description and `no-store`.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.json["error"], code, "{}", self.text);
        assert!(self.json["error_description"].as_str().is_some_and(|d| !d.is_empty()), "{}", self.text);
        assert_eq!(self.header("cache-control"), Some("no-store"), "{}", self.text);
    }
}

/// A client like a browser: keeps cookies, follows no redirects.
pub fn browser() -> Client {
    install_crypto_provider();
    Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap()
}

/// A client for API calls: no cookies, no redirects.
pub fn api() -> Client {
    install_crypto_provider();
    Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A query parameter of a URL.
pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// A parameter of a URL's fragment (implicit flow).
pub fn fragment_param(url: &Url, name: &str) -> Option<String> {
    let fragment = url.fragment()?;
    url::form_urlencoded::parse(fragment.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Where a browser ends up after following redirects on the server.
#[derive(Debug)]
pub enum Hop {
    /// A page the server rendered (any status).
    Page(Page),
    /// A redirect that leaves the server: the client's `redirect_uri`.
    Client(Url),
}

impl Hop {
    #[track_caller]
    pub fn page(self) -> Page {
        match self {
            Hop::Page(page) => page,
            Hop::Client(url) => panic!("expected a page, was redirected to {url}"),
        }
    }

    #[track_caller]
    pub fn client(self) -> Url {
        match self {
            Hop::Client(url) => url,
            Hop::Page(page) => panic!(
                "expected a redirect to the client, got {} at {}:\n{}",
                page.status, page.url, page.body
            ),
        }
    }
}

#[derive(Debug)]
pub struct Page {
    pub url: Url,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn content_type(&self) -> &str {
        self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// The first form on the page.
    #[track_caller]
    pub fn form(&self) -> Form {
        html::forms(&self.url, &self.body)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no form at {}:\n{}", self.url, self.body))
    }

    #[track_caller]
    pub fn assert_error_page(&self) {
        assert!(
            self.status.is_client_error(),
            "expected a 4xx page, got {} at {}:\n{}",
            self.status,
            self.url,
            self.body
        );
        assert!(self.content_type().starts_with("text/html"), "{}", self.content_type());
    }
}

/// Whether a URL is served by this server (as opposed to the client's redirect URI).
fn on_server(url: &Url, server_origin: &Url) -> bool {
    url.origin() == server_origin.origin()
}

/// Sends a request and follows redirects while they stay on the same server.
pub async fn send_and_follow(browser: &Client, request: reqwest::RequestBuilder, origin: &Url) -> Hop {
    let response = request.send().await.unwrap();
    follow_response(browser, response, origin).await
}

async fn follow_response(browser: &Client, mut response: reqwest::Response, origin: &Url) -> Hop {
    for _ in 0..10 {
        let url = response.url().clone();
        if !response.status().is_redirection() {
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.text().await.unwrap();
            return Hop::Page(Page { url, status, headers, body });
        }
        let location = response.headers().get(LOCATION).and_then(|l| l.to_str().ok()).unwrap().to_string();
        let next = url.join(&location).unwrap();
        if !on_server(&next, origin) {
            return Hop::Client(next);
        }
        response = browser.get(next).send().await.unwrap();
    }
    panic!("redirect loop");
}

/// GET `url` and follow redirects on the server.
pub async fn navigate(browser: &Client, url: &Url) -> Hop {
    send_and_follow(browser, browser.get(url.clone()), url).await
}

/// Submits a form (hidden fields plus `fields`) and follows redirects on the server.
pub async fn submit(browser: &Client, form: &Form, fields: &[(&str, &str)]) -> Hop {
    let mut values = form.hidden.clone();
    for (k, v) in fields {
        values.retain(|(name, _)| name != k);
        values.push((k.to_string(), v.to_string()));
    }
    send_and_follow(browser, browser.post(form.action.clone()).form(&values), &form.action).await
}

/// Submits the password form on `page`.
pub async fn submit_password(browser: &Client, page: &Page, login: &str, password: &str) -> Hop {
    assert!(page.url.path().ends_with("/login"), "not the password page: {}\n{}", page.url, page.body);
    submit(browser, &page.form(), &[("login", login), ("password", password)]).await
}

/// Clicks Allow on the approval page.
pub async fn approve(browser: &Client, page: &Page) -> Hop {
    assert!(page.url.path().ends_with("/approval"), "not the approval page: {}\n{}", page.url, page.body);
    submit(browser, &page.form(), &[("approval", "approve")]).await
}

/// The whole browser login: `/auth` → `/auth/local` → password form → approval → the
/// client's redirect URI (returned, with `code`/`state` or tokens in the fragment).
pub async fn login_with_password(browser: &Client, auth_url: &Url, login: &str, password: &str) -> Url {
    let form = navigate(browser, auth_url).await.page();
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let hop = submit_password(browser, &form, login, password).await;
    match hop {
        Hop::Client(url) => url,
        Hop::Page(page) => approve(browser, &page).await.client(),
    }
}

/// The claims of a JWT, without verifying it (tests verify with the RP library first).
pub fn jwt_claims(token: &str) -> Value {
    jwt_part(token, 1)
}

pub fn jwt_header(token: &str) -> Value {
    jwt_part(token, 0)
}

fn jwt_part(token: &str, index: usize) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Verifies `token` as a JWT verifier with a cached `jwks` does: the key by `kid` (a token
/// whose key is not in the cache fails), the algorithm the key names, the signature, `iss`
/// exactly, `aud` one of `audiences`, `exp` with `leeway`. Returns the claims.
pub fn verify_jwt(
    token: &str,
    jwks: &jsonwebtoken::jwk::JwkSet,
    issuer: &str,
    audiences: &[String],
    leeway: u64,
) -> Result<Value, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk: &jsonwebtoken::jwk::Jwk =
        jwks.find(&kid).ok_or_else(|| format!("kid {kid} is not in the cached JWKS"))?;
    let alg = jwk.common.key_algorithm.ok_or("the JWK names no alg")?;
    let alg: jsonwebtoken::Algorithm = alg.to_string().parse().map_err(|_| "not a signing alg")?;
    if alg != header.alg {
        return Err(format!("header alg {:?} differs from the key's {alg:?}", header.alg));
    }
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(audiences);
    validation.leeway = leeway;
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation).map(|d| d.claims).map_err(|e| e.to_string())
}

/// The PKCE S256 challenge of a verifier.
pub fn s256(verifier: &str) -> String {
    use base64::Engine;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// The Node to run the Node fixtures with: the one `.ci/setup --tests` fetched where the
/// machine's is too old, else the machine's own.
pub fn node() -> String {
    let fetched = format!("{}/.cache/tessera-node/bin/node", std::env::var("HOME").unwrap_or_default());
    if std::path::Path::new(&fetched).exists() { fetched } else { "node".to_string() }
}

/// `npm ci` into a Node fixture under `tests/fixtures` once per test run, unless its
/// `node_modules` already holds `package` (`.ci/setup --tests` installs them).
pub fn npm_fixture(name: &str, package: &str) -> std::path::PathBuf {
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    if !dir.join("node_modules").join(package).exists() {
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm must be installed for the Node fixtures");
        assert!(status.success(), "npm ci failed in {}", dir.display());
    }
    dir
}
