//! The scenarios: what a worker prepares before the clock starts and what one operation is.

use crate::Args;
use crate::browser::{self, Browser, Landing};
use crate::fapi;
use crate::grpc;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use url::Url;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// GET the discovery document.
    Discovery,
    /// GET the JWKS.
    Jwks,
    /// POST /token with grant_type=client_credentials (one signed access token).
    ClientCredentials,
    /// POST the introspection endpoint with an access token made in setup.
    Introspect,
    /// Redeem authorization codes (PKCE S256) from a pool made in setup; needs --count.
    CodeExchange,
    /// Refresh with rotation: each worker follows its own token chain.
    Refresh,
    /// --fan-out refreshes of the same token at once, round after round.
    RefreshContention,
    /// A whole browser login: authorize → password form → approval → code → token → userinfo.
    Login,
    /// Poll /token with a pending device code (authorization_pending / slow_down expected).
    DevicePoll,
    /// GET /auth and its redirect to the connector, then walk away (an abandoned login).
    AuthAbandon,
    /// client_credentials, then introspect that token: it must be active (key rotation).
    IssueIntrospect,
    /// gRPC CreateClient with a fresh id (the secret generated, hashed and returned once).
    GrpcCreateClient,
    /// gRPC ListClients, after --grpc-clients clients were created in setup.
    GrpcListClients,
    /// gRPC VerifyPassword of the password database user (one password hash check).
    GrpcVerifyPassword,
    /// POST /par with client_secret_basic (the plain path of a pushed request).
    Par,
    /// POST /par authenticated with private_key_jwt (one ES256 assertion checked, its jti stored).
    ParJwt,
    /// client_credentials with private_key_jwt and a DPoP proof: a DPoP-bound token.
    CcJwtDpop,
    /// GET /userinfo with a bearer access token made in setup.
    Userinfo,
    /// GET /userinfo with a DPoP-bound token and a fresh proof (ES256, ath, jti stored).
    UserinfoDpop,
}

impl Scenario {
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self).map(|v| v.get_name().to_string()).unwrap_or_default()
    }
}

pub enum Outcome {
    Ok,
    Failed(String),
    /// Nothing left to do (the worker's code pool is empty): the worker stops, uncounted.
    Done,
}

/// One worker's state.
pub struct Setup {
    scenario: Scenario,
    worker: usize,
    sequence: u64,
    /// Introspect: the token; refresh scenarios: the current refresh token.
    token: String,
    /// Refresh-contention: the tokens of earlier rounds, for the reuse check at the end.
    history: Vec<String>,
    /// Code-exchange: (code, code_verifier) pairs still to redeem.
    codes: Vec<(String, String)>,
    device_code: String,
    /// The gRPC scenarios: this worker's connection to the API.
    grpc: Option<grpc::Client>,
    checks: BTreeMap<String, i64>,
}

pub(crate) fn fail(why: impl Into<String>) -> Outcome {
    Outcome::Failed(why.into())
}

pub(crate) fn status_failure(status: reqwest::StatusCode) -> Outcome {
    fail(format!("http {}", status.as_u16()))
}

impl Setup {
    /// Makes what the worker's operations consume.
    pub async fn prepare(http: &reqwest::Client, args: &Args, worker: usize) -> Result<Self, String> {
        let mut setup = Setup {
            scenario: args.scenario,
            worker,
            sequence: 0,
            token: String::new(),
            history: Vec::new(),
            codes: Vec::new(),
            device_code: String::new(),
            grpc: None,
            checks: BTreeMap::new(),
        };
        let target = &args.targets[worker % args.targets.len()];
        match args.scenario {
            Scenario::Introspect => {
                let extra = crate::pairs(&args.introspect_token_params);
                setup.token = client_credentials_token(http, args, target, &extra).await?;
            }
            Scenario::CodeExchange => {
                let count = args.count.ok_or("code-exchange needs --count (the pool size)")?;
                let share = count.div_ceil(args.concurrency as u64);
                for _ in 0..share {
                    let verifier = setup.next_verifier();
                    let code = mock_code(http, args, target, &verifier, "openid email").await?;
                    setup.codes.push((code, verifier));
                }
            }
            Scenario::Refresh | Scenario::RefreshContention => {
                let verifier = setup.next_verifier();
                let code = mock_code(http, args, target, &verifier, "openid email offline_access").await?;
                let tokens = redeem(http, args, target, &code, &verifier).await?;
                setup.token = field(&tokens, "refresh_token")?;
            }
            Scenario::DevicePoll => {
                let response = http
                    .post(format!("{target}/device/code"))
                    .basic_auth(&args.client_id, Some(&args.client_secret))
                    .form(&[("client_id", args.client_id.as_str()), ("scope", "openid")])
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                setup.device_code = field(&json_ok(response).await?, "device_code")?;
            }
            Scenario::GrpcListClients => {
                let mut client = grpc::connect(args).await?;
                let share = args.grpc_clients.div_ceil(args.concurrency as u64);
                grpc::seed_clients(&mut client, &format!("bench-list-{worker}"), share).await?;
                setup.grpc = Some(client);
            }
            Scenario::GrpcCreateClient | Scenario::GrpcVerifyPassword => {
                setup.grpc = Some(grpc::connect(args).await?);
            }
            Scenario::Userinfo => {
                let extra = vec![("scope".to_string(), "openid".to_string())];
                setup.token = client_credentials_token(http, args, target, &extra).await?;
            }
            Scenario::UserinfoDpop => {
                setup.token = fapi::dpop_token(http, args, target).await?;
            }
            _ => {}
        }
        Ok(setup)
    }

    pub async fn step(&mut self, http: &reqwest::Client, args: &Args, target: &str) -> Outcome {
        match self.scenario {
            Scenario::Discovery => get_ok(http, &format!("{target}/.well-known/openid-configuration")).await,
            Scenario::Jwks => get_ok(http, &format!("{target}{}", args.jwks_path)).await,
            Scenario::ClientCredentials => {
                match client_credentials_token(http, args, target, &crate::pairs(&args.cc_params)).await {
                    Ok(_) => Outcome::Ok,
                    Err(e) => fail(e),
                }
            }
            Scenario::Introspect => introspect_active(http, args, target, &self.token).await,
            Scenario::CodeExchange => match self.codes.pop() {
                Some((code, verifier)) => match redeem(http, args, target, &code, &verifier).await {
                    Ok(_) => Outcome::Ok,
                    Err(e) => fail(e),
                },
                None => Outcome::Done,
            },
            Scenario::Refresh => match refresh(http, args, target, &self.token).await {
                Ok(next) => {
                    self.token = next;
                    Outcome::Ok
                }
                Err(e) => fail(e),
            },
            Scenario::RefreshContention => self.contention_round(http, args, target).await,
            Scenario::Login => {
                let verifier = self.next_verifier();
                match login(http, args, target, &verifier).await {
                    Ok(()) => Outcome::Ok,
                    Err(e) => fail(e),
                }
            }
            Scenario::DevicePoll => self.device_poll(http, args, target).await,
            Scenario::AuthAbandon => {
                let verifier = self.next_verifier();
                let mut browser = Browser::new(http);
                // The connector's login page is where a health check would stop.
                let landing = match authorize_url(args, target, &args.login_connector, "openid", &verifier) {
                    Ok(url) => browser.get(url, &args.redirect_uri).await,
                    Err(e) => Err(e),
                };
                match landing {
                    Ok(Landing::Page(..)) => Outcome::Ok,
                    Ok(Landing::Client(url)) => fail(format!("unexpected redirect to {url}")),
                    Err(e) => fail(e),
                }
            }
            Scenario::IssueIntrospect => {
                match client_credentials_token(http, args, target, &crate::pairs(&args.cc_params)).await {
                    Ok(token) => {
                        let outcome = introspect_active(http, args, target, &token).await;
                        if matches!(outcome, Outcome::Failed(_)) {
                            *self.checks.entry("inactive_or_failed".into()).or_default() += 1;
                        }
                        outcome
                    }
                    Err(e) => fail(e),
                }
            }
            Scenario::GrpcCreateClient => {
                // Unique across runs on one database: worker, sequence and the clock.
                let id = format!("bench-{}", self.next_verifier());
                match self.grpc.as_mut() {
                    Some(client) => grpc::create_client(client, id).await,
                    None => fail("no grpc connection"),
                }
            }
            Scenario::GrpcListClients => match self.grpc.as_mut() {
                Some(client) => grpc::list_clients(client, args.grpc_clients).await,
                None => fail("no grpc connection"),
            },
            Scenario::GrpcVerifyPassword => match self.grpc.as_mut() {
                Some(client) => grpc::verify_password(client, args).await,
                None => fail("no grpc connection"),
            },
            Scenario::Par => {
                let challenge = self.next_verifier();
                fapi::push(http, args, target, &challenge, false).await
            }
            Scenario::ParJwt => {
                let challenge = self.next_verifier();
                fapi::push(http, args, target, &challenge, true).await
            }
            Scenario::CcJwtDpop => match fapi::dpop_token(http, args, target).await {
                Ok(_) => Outcome::Ok,
                Err(e) => fail(e),
            },
            Scenario::Userinfo => fapi::userinfo(http, args, target, &self.token, false).await,
            Scenario::UserinfoDpop => fapi::userinfo(http, args, target, &self.token, true).await,
        }
    }

    /// What the scenario verified besides statuses, summed over workers by the caller.
    pub fn checks(&self) -> BTreeMap<String, i64> {
        self.checks.clone()
    }

    fn next_verifier(&mut self) -> String {
        self.sequence += 1;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let seed = format!("{}:{}:{nanos}", self.worker, self.sequence);
        URL_SAFE_NO_PAD.encode(Sha256::digest(seed.as_bytes()))
    }

    async fn contention_round(&mut self, http: &reqwest::Client, args: &Args, target: &str) -> Outcome {
        let current = self.token.clone();
        // With several replicas the refreshes of one round are split across them.
        let targets: Vec<&str> = if args.targets.len() > 1 {
            (0..args.fan_out.max(1)).map(|i| args.targets[i % args.targets.len()].as_str()).collect()
        } else {
            vec![target; args.fan_out.max(1)]
        };
        let attempts = targets.into_iter().map(|t| refresh(http, args, t, &current));
        let results = futures_join_all(attempts).await;
        let mut next: Vec<String> = Vec::new();
        let mut first_error = None;
        for result in results {
            match result {
                Ok(token) => next.push(token),
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        *self.checks.entry("rounds".into()).or_default() += 1;
        next.sort();
        next.dedup();
        if next.len() == 1 {
            *self.checks.entry("rounds_one_successor".into()).or_default() += 1;
        }
        if let Some(token) = next.first() {
            self.history.push(current);
            self.token = token.clone();
        }
        match first_error {
            None => {
                *self.checks.entry("rounds_all_ok".into()).or_default() += 1;
                Outcome::Ok
            }
            Some(e) => fail(e),
        }
    }

    async fn device_poll(&mut self, http: &reqwest::Client, args: &Args, target: &str) -> Outcome {
        let form = [("grant_type", DEVICE_GRANT), ("device_code", self.device_code.as_str())];
        let sent = http
            .post(format!("{target}/token"))
            .basic_auth(&args.client_id, Some(&args.client_secret))
            .form(&form)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return fail(format!("io: {e}")),
        };
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        match (status.as_u16(), body["error"].as_str()) {
            (400, Some(code @ ("authorization_pending" | "slow_down"))) => {
                *self.checks.entry(code.to_string()).or_default() += 1;
                Outcome::Ok
            }
            _ => status_failure(status),
        }
    }

    /// Runs once after the clock stops: the refresh-contention reuse check.
    pub async fn finish(&mut self, http: &reqwest::Client, args: &Args, target: &str) {
        if self.scenario != Scenario::RefreshContention || self.history.len() < 2 {
            return;
        }
        // The token of two rounds ago is outside any reuse window: a replay, refused, and
        // the whole family revoked, so the current token stops working too.
        let old = self.history[self.history.len() - 2].clone();
        if refresh(http, args, target, &old).await.is_err() {
            *self.checks.entry("old_token_refused".into()).or_default() += 1;
        }
        if refresh(http, args, target, &self.token).await.is_err() {
            *self.checks.entry("family_revoked_after_reuse".into()).or_default() += 1;
        }
        *self.checks.entry("reuse_checked".into()).or_default() += 1;
    }
}

/// Joins futures without pulling in the `futures` crate: spawn-free, polled in order.
async fn futures_join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut slots: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    let mut pinned: Vec<Option<_>> = pinned.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, fut) in slots.iter_mut().zip(pinned.iter_mut()) {
            if let Some(f) = fut {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *slot = Some(v);
                        *fut = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    slots.into_iter().flatten().collect()
}

async fn get_ok(http: &reqwest::Client, url: &str) -> Outcome {
    match http.get(url).send().await {
        Ok(r) if r.status().is_success() => match r.bytes().await {
            Ok(_) => Outcome::Ok,
            Err(e) => fail(format!("io: {e}")),
        },
        Ok(r) => status_failure(r.status()),
        Err(e) => fail(format!("io: {e}")),
    }
}

/// The body of a 2xx JSON answer, or why not.
async fn json_ok(response: reqwest::Response) -> Result<Value, String> {
    let status = response.status();
    if !status.is_success() {
        return Err(format!("http {}", status.as_u16()));
    }
    response.json::<Value>().await.map_err(|e| format!("io: {e}"))
}

fn field(body: &Value, name: &str) -> Result<String, String> {
    body[name].as_str().map(str::to_string).ok_or_else(|| format!("no {name} in the answer"))
}

async fn token_request(
    http: &reqwest::Client,
    args: &Args,
    target: &str,
    form: &[(String, String)],
) -> Result<Value, String> {
    let response = http
        .post(format!("{target}/token"))
        .basic_auth(&args.client_id, Some(&args.client_secret))
        .form(form)
        .send()
        .await
        .map_err(|e| format!("io: {e}"))?;
    json_ok(response).await
}

async fn client_credentials_token(
    http: &reqwest::Client,
    args: &Args,
    target: &str,
    extra: &[(String, String)],
) -> Result<String, String> {
    let mut form = vec![("grant_type".to_string(), "client_credentials".to_string())];
    if let Some(scope) = &args.cc_scope {
        form.push(("scope".into(), scope.clone()));
    }
    form.extend_from_slice(extra);
    field(&token_request(http, args, target, &form).await?, "access_token")
}

async fn introspect_active(http: &reqwest::Client, args: &Args, target: &str, token: &str) -> Outcome {
    let sent = http
        .post(format!("{target}{}", args.introspect_path))
        .basic_auth(&args.client_id, Some(&args.client_secret))
        .form(&[("token", token)])
        .send()
        .await;
    match sent {
        Ok(r) => match json_ok(r).await {
            Ok(body) if body["active"] == Value::Bool(true) => Outcome::Ok,
            Ok(_) => fail("inactive"),
            Err(e) => fail(e),
        },
        Err(e) => fail(format!("io: {e}")),
    }
}

async fn redeem(
    http: &reqwest::Client,
    args: &Args,
    target: &str,
    code: &str,
    verifier: &str,
) -> Result<Value, String> {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", args.redirect_uri.as_str()),
        ("code_verifier", verifier),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    token_request(http, args, target, &form).await
}

async fn refresh(http: &reqwest::Client, args: &Args, target: &str, token: &str) -> Result<String, String> {
    let form = [("grant_type", "refresh_token"), ("refresh_token", token)]
        .map(|(k, v)| (k.to_string(), v.to_string()));
    field(&token_request(http, args, target, &form).await?, "refresh_token")
}

fn authorize_url(
    args: &Args,
    target: &str,
    connector: &str,
    scope: &str,
    verifier: &str,
) -> Result<Url, String> {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let mut url = Url::parse(&format!("{target}/auth")).map_err(|e| e.to_string())?;
    url.query_pairs_mut()
        .append_pair("client_id", &args.client_id)
        .append_pair("redirect_uri", &args.redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", scope)
        .append_pair("state", "bench-state")
        .append_pair("nonce", "bench-nonce")
        .append_pair("connector_id", connector)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    Ok(url)
}

/// Walks pages until the client's redirect: submits the password form with `credentials`
/// and approves the consent page. Returns the code.
async fn walk_to_code(
    browser: &mut Browser<'_>,
    args: &Args,
    start: Url,
    credentials: Option<(&str, &str)>,
) -> Result<String, String> {
    let mut landing = browser.get(start, &args.redirect_uri).await?;
    for _ in 0..4 {
        match landing {
            Landing::Client(url) => {
                if browser::query_param(&url, "state").as_deref() != Some("bench-state") {
                    return Err("state lost".into());
                }
                return browser::query_param(&url, "code")
                    .ok_or_else(|| format!("no code: {:?}", browser::query_param(&url, "error")));
            }
            Landing::Page(url, body) => {
                if let Some(form) = browser::form(&url, &body, "approval") {
                    landing = browser.submit(&form, &[("approval", "approve")], &args.redirect_uri).await?;
                } else if let (Some(form), Some((login, password))) =
                    (browser::form(&url, &body, "/login"), credentials)
                {
                    landing = browser
                        .submit(&form, &[("login", login), ("password", password)], &args.redirect_uri)
                        .await?;
                } else {
                    return Err(format!("unexpected page at {}", url.path()));
                }
            }
        }
    }
    Err("login did not finish".into())
}

/// A code from the connector that needs no password (setup for code and refresh pools).
async fn mock_code(
    http: &reqwest::Client,
    args: &Args,
    target: &str,
    verifier: &str,
    scope: &str,
) -> Result<String, String> {
    let mut browser = Browser::new(http);
    let url = authorize_url(args, target, &args.code_connector, scope, verifier)?;
    walk_to_code(&mut browser, args, url, None).await
}

/// The full browser login with the password form, then token and userinfo.
async fn login(http: &reqwest::Client, args: &Args, target: &str, verifier: &str) -> Result<(), String> {
    let mut browser = Browser::new(http);
    let url =
        authorize_url(args, target, &args.login_connector, "openid email profile offline_access", verifier)?;
    let code = walk_to_code(&mut browser, args, url, Some((&args.user, &args.password))).await?;
    let tokens = redeem(http, args, target, &code, verifier).await?;
    let access = field(&tokens, "access_token")?;
    let response = http
        .get(format!("{target}/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .map_err(|e| format!("io: {e}"))?;
    json_ok(response).await.map(|_| ())
}
