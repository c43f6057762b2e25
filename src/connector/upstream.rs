//! The OAuth 2.0 client side the redirect connectors share (`github`, `gitlab`,
//! `microsoft`, `google`, `oauth`): the authorization URL (RFC 6749 §4.1.1), the code
//! exchange and the refresh at the token endpoint (§4.1.3, §6), and JSON calls to the
//! provider's API with the access token (RFC 6750 §2.1). The redirect login and refresh
//! built on it, for the connectors that read the user from the provider's API, are written
//! once in [`oauth2_upstream`](super::oauth2_upstream).
//!
//! Written against reqwest directly rather than the `oauth2` crate: providers bend the
//! token endpoint (GitHub answers errors with `200 OK`, and form-encoded bodies unless asked
//! for JSON), connectors need the raw response (`id_token`, a JWT access token's claims), and
//! every failure must name its cause precisely for the log. Each error is a
//! [`ConnectorError`]: `Refused` when the provider said no to this user, `Upstream` when it
//! failed or answered garbage.

use super::ConnectorError;
use super::sealed::DataKey;
use crate::types::Secret;
use reqwest::header::{ACCEPT, HeaderMap};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};
use url::Url;

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// `client_secret_basic` (RFC 6749 §2.3.1), what Go's oauth2 tries first.
    Basic(Secret),
    /// `client_secret_post`: id and secret in the form (providers that refuse Basic).
    Post(Secret),
    /// A JWT client assertion read from this file at each request (RFC 7523 §2.2;
    /// Microsoft's `clientAssertion`, a file a workload-identity agent keeps fresh).
    AssertionFile(String),
}

/// An OAuth 2.0 client registered at one provider.
#[derive(Debug, Clone)]
pub struct OAuthApp {
    pub client_id: String,
    pub auth: ClientAuth,
    /// The `redirectURI` of the config: Tessera's `{issuer}/callback`.
    pub redirect_uri: String,
    pub authorization_url: String,
    pub token_url: String,
    pub http: reqwest::Client,
}

/// A token endpoint response (RFC 6749 §5.1), with the extra fields connectors read.
#[derive(Clone, Default, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Seconds; some providers send it as a string.
    #[serde(default, deserialize_with = "lenient_seconds")]
    pub expires_in: Option<i64>,
    /// OpenID Connect providers (Google) add the ID token.
    #[serde(default)]
    pub id_token: Option<String>,
}
crate::debug_only!(TokenResponse: expires_in);

fn lenient_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    })
}

/// What the redirect connectors keep for refresh (`connector_data`), in Dex's field names.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenData {
    #[serde(default)]
    pub access_token: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub refresh_token: String,
    /// Unix seconds when the access token expires; absent when it does not (GitHub apps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}
crate::debug_only!(TokenData: expires_at);

/// Wall-clock seconds: upstream token expiry is judged on the same clock the upstream uses.
fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl TokenData {
    pub fn from_token(token: &TokenResponse) -> Self {
        Self {
            access_token: token.access_token.clone(),
            refresh_token: token.refresh_token.clone().unwrap_or_default(),
            expires_at: token.expires_in.map(|s| unix_now() + s),
        }
    }

    /// The tokens as stored: JSON in Dex's field names, sealed (AES-256-GCM) with the
    /// data key shared by the replicas, so a database dump does not reveal upstream tokens.
    pub fn seal(&self, kind: &str, key: &DataKey) -> Result<Vec<u8>, ConnectorError> {
        let json = serde_json::to_vec(self).map_err(|e| upstream(kind, e))?;
        key.seal(&Self::context(kind), &json)
    }

    /// What a login keeps for refresh: the sealed tokens when the client asked for
    /// `offline_access`, nothing otherwise.
    pub fn keep(
        token: &TokenResponse,
        scopes: super::Scopes,
        kind: &str,
        key: &DataKey,
    ) -> Result<Option<Vec<u8>>, ConnectorError> {
        scopes.offline_access.then(|| Self::from_token(token).seal(kind, key)).transpose()
    }

    /// Reads what [`seal`](Self::seal) wrote; `Upstream` when missing, corrupt or sealed
    /// with another key.
    pub fn open(kind: &str, key: &DataKey, data: Option<&[u8]>) -> Result<Self, ConnectorError> {
        let data = data
            .filter(|d| !d.is_empty())
            .ok_or_else(|| upstream(kind, "no upstream token stored for this refresh token"))?;
        let json = key.open(&Self::context(kind), data)?;
        serde_json::from_slice(&json)
            .map_err(|e| upstream(kind, format!("stored connector data is corrupt: {e}")))
    }

    /// Binds sealed data to its connector type (a GitHub token cannot be opened as GitLab's).
    fn context(kind: &str) -> String {
        format!("upstream-tokens/{kind}")
    }

    /// Whether the access token may still be used (10 seconds of slack, as Go's oauth2).
    pub fn access_token_valid(&self) -> bool {
        !self.access_token.is_empty() && self.expires_at.is_none_or(|at| at - 10 > unix_now())
    }
}

/// The `redirectURI` every OAuth connector needs, checked at open.
pub fn require_redirect_uri(kind: &str, redirect_uri: &str) -> Result<String, ConnectorError> {
    if redirect_uri.trim().is_empty() {
        return Err(upstream(kind, "redirectURI is required: set it to the issuer URL + /callback"));
    }
    Ok(redirect_uri.to_string())
}

/// An `Upstream` error naming the connector type.
pub fn upstream(kind: &str, cause: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Upstream(format!("{kind}: {cause}"))
}

/// The provider's `error` callback parameter (RFC 6749 §4.1.2.1), e.g. the user denied
/// consent: a refusal the user can read.
pub fn callback_error(params: &HashMap<String, String>) -> Result<(), ConnectorError> {
    let Some(error) = params.get("error").filter(|e| !e.is_empty()) else {
        return Ok(());
    };
    let description = params.get("error_description").map(String::as_str).unwrap_or_default();
    Err(ConnectorError::Refused(if description.is_empty() {
        format!("The login provider did not log you in ({error}).")
    } else {
        format!("The login provider did not log you in ({error}: {description}).")
    }))
}

/// The `code` callback parameter; its absence is a refusal.
pub fn callback_code(params: &HashMap<String, String>) -> Result<&str, ConnectorError> {
    callback_error(params)?;
    params
        .get("code")
        .map(String::as_str)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ConnectorError::Refused("The login provider sent no authorization code.".into()))
}

/// A short, single-line excerpt of a response body for the log.
fn excerpt(body: &str) -> String {
    let flat: String = body.chars().take(200).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if body.chars().count() > 200 { format!("{flat}…") } else { flat }
}

/// A transport failure, saying which kind (timeouts matter to operators).
fn transport(kind: &str, what: &str, e: &reqwest::Error) -> ConnectorError {
    let reason = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    upstream(kind, format!("{what}: {reason}: {e}"))
}

impl OAuthApp {
    /// The redirect URI sent upstream. Like Dex, the configured `redirectURI` must be this
    /// server's callback, or the provider would send the user elsewhere.
    fn redirect_uri_for(&self, kind: &str, callback_url: &str) -> Result<String, ConnectorError> {
        if self.redirect_uri != callback_url {
            return Err(upstream(
                kind,
                format!(
                    "redirectURI {:?} is not this server's callback URL {callback_url:?}; set it to the latter",
                    self.redirect_uri
                ),
            ));
        }
        Ok(self.redirect_uri.clone())
    }

    /// The authorization URL (RFC 6749 §4.1.1) with `extra` parameters appended.
    pub fn authorize_url(
        &self,
        kind: &str,
        callback_url: &str,
        scopes: &[String],
        state: &str,
        extra: &[(&str, &str)],
    ) -> Result<String, ConnectorError> {
        let redirect_uri = self.redirect_uri_for(kind, callback_url)?;
        let mut url = Url::parse(&self.authorization_url)
            .map_err(|e| upstream(kind, format!("authorization URL {:?}: {e}", self.authorization_url)))?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair("response_type", "code");
            if !scopes.is_empty() {
                query.append_pair("scope", &scopes.join(" "));
            }
            query.append_pair("state", state);
            for (name, value) in extra {
                query.append_pair(name, value);
            }
        }
        Ok(url.into())
    }

    /// Redeems an authorization code (RFC 6749 §4.1.3).
    pub async fn exchange(&self, kind: &str, code: &str) -> Result<TokenResponse, ConnectorError> {
        // The redirect URI repeats the one sent at authorization (§4.1.3).
        let form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.to_string()),
            ("redirect_uri", self.redirect_uri.clone()),
        ];
        self.token_request(kind, form).await
    }

    /// Uses a refresh token (RFC 6749 §6). A provider that rejects it (`invalid_grant`)
    /// refuses the user: the refresh token upstream was revoked.
    pub async fn refresh(&self, kind: &str, refresh_token: &str) -> Result<TokenResponse, ConnectorError> {
        let form =
            vec![("grant_type", "refresh_token".to_string()), ("refresh_token", refresh_token.to_string())];
        self.token_request(kind, form).await
    }

    /// A usable access token for a refresh: the stored one while it is valid, else a new
    /// one from the stored refresh token (kept when the provider does not rotate it).
    pub async fn usable_token(&self, kind: &str, data: TokenData) -> Result<TokenData, ConnectorError> {
        if data.access_token_valid() {
            return Ok(data);
        }
        if data.refresh_token.is_empty() {
            if data.access_token.is_empty() {
                return Err(upstream(kind, "no upstream access or refresh token stored"));
            }
            // For good: the provider gave no way to renew it (OpenShift, LinkedIn). The user
            // logs in again; a server error here would make clients retry forever.
            tracing::info!(connector = kind, "the upstream access token expired and cannot be renewed");
            return Err(super::ConnectorError::Refused(
                "Your login at the identity provider has expired; please log in again.".into(),
            ));
        }
        let token = self.refresh(kind, &data.refresh_token).await?;
        let mut fresh = TokenData::from_token(&token);
        if fresh.refresh_token.is_empty() {
            fresh.refresh_token = data.refresh_token;
        }
        Ok(fresh)
    }

    async fn token_request(
        &self,
        kind: &str,
        mut form: Vec<(&str, String)>,
    ) -> Result<TokenResponse, ConnectorError> {
        let mut request = self.http.post(&self.token_url).header(ACCEPT, "application/json");
        match &self.auth {
            ClientAuth::Basic(secret) => {
                let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                request = request.basic_auth(encode(&self.client_id), Some(encode(secret.expose())));
            }
            ClientAuth::Post(secret) => {
                form.push(("client_id", self.client_id.clone()));
                form.push(("client_secret", secret.expose().to_string()));
            }
            ClientAuth::AssertionFile(path) => {
                let assertion = tokio::fs::read_to_string(path)
                    .await
                    .map_err(|e| upstream(kind, format!("reading clientAssertion file {path}: {e}")))?;
                form.push(("client_id", self.client_id.clone()));
                form.push(("client_assertion", assertion.trim().to_string()));
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string(),
                ));
            }
        }
        let what = format!("token endpoint {}", self.token_url);
        let response = request.form(&form).send().await.map_err(|e| transport(kind, &what, &e))?;
        let status = response.status();
        let form_encoded =
            response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(
                |t| t.starts_with("application/x-www-form-urlencoded") || t.starts_with("text/plain"),
            );
        let body = response.text().await.map_err(|e| transport(kind, &what, &e))?;
        let value: serde_json::Value = if form_encoded {
            let pairs: serde_json::Map<String, serde_json::Value> =
                url::form_urlencoded::parse(body.as_bytes())
                    .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
                    .collect();
            serde_json::Value::Object(pairs)
        } else {
            serde_json::from_str(&body).map_err(|_| {
                upstream(kind, format!("{what}: status {status}, not JSON: {}", excerpt(&body)))
            })?
        };
        // RFC 6749 §5.2 errors; GitHub sends them with 200 OK.
        if let Some(error) = value.get("error").and_then(|e| e.as_str()) {
            let description = value.get("error_description").and_then(|d| d.as_str()).unwrap_or_default();
            tracing::warn!(connector = kind, %status, error, description, "token endpoint refused");
            return Err(match error {
                "invalid_grant" | "bad_verification_code" | "bad_refresh_token" | "access_denied" => {
                    ConnectorError::Refused(
                        "The login provider did not accept this login (it may have expired). Please try again."
                            .into(),
                    )
                }
                _ => upstream(kind, format!("{what}: status {status}: {error}: {description}")),
            });
        }
        if !status.is_success() {
            return Err(upstream(kind, format!("{what}: status {status}: {}", excerpt(&body))));
        }
        let token: TokenResponse = serde_json::from_value(value)
            .map_err(|e| upstream(kind, format!("{what}: unexpected response ({e}): {}", excerpt(&body))))?;
        if token.access_token.is_empty() {
            return Err(upstream(kind, format!("{what}: no access_token in the response")));
        }
        Ok(token)
    }
}

/// An answer from a provider's API, read whole.
pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

/// Calls a provider's API with a bearer token (RFC 6750 §2.1). Any status is returned;
/// only a transport failure is an error.
pub async fn call(
    kind: &str,
    http: &reqwest::Client,
    method: Method,
    url: &str,
    access_token: &str,
    headers: &[(&str, &str)],
    json: Option<&serde_json::Value>,
) -> Result<ApiResponse, ConnectorError> {
    let mut request =
        http.request(method.clone(), url).bearer_auth(access_token).header(ACCEPT, "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(json) = json {
        request = request.json(json);
    }
    let what = format!("{method} {url}");
    let response = request.send().await.map_err(|e| transport(kind, &what, &e))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.map_err(|e| transport(kind, &what, &e))?;
    Ok(ApiResponse { status, headers, body })
}

impl ApiResponse {
    /// The body as `T` when the status is 200; otherwise an `Upstream` error with the status
    /// and an excerpt of the body.
    pub fn json<T: DeserializeOwned>(&self, kind: &str, what: &str) -> Result<T, ConnectorError> {
        if self.status != StatusCode::OK {
            return Err(upstream(kind, format!("{what}: status {}: {}", self.status, excerpt(&self.body))));
        }
        serde_json::from_str(&self.body).map_err(|e| {
            upstream(kind, format!("{what}: unexpected response ({e}): {}", excerpt(&self.body)))
        })
    }
}

/// GET a JSON document with a bearer token; also returns the response headers (pagination).
pub async fn get_json<T: DeserializeOwned>(
    kind: &str,
    http: &reqwest::Client,
    url: &str,
    access_token: &str,
    headers: &[(&str, &str)],
) -> Result<(T, HeaderMap), ConnectorError> {
    let response = call(kind, http, Method::GET, url, access_token, headers, None).await?;
    let value = response.json(kind, &format!("GET {url}"))?;
    Ok((value, response.headers))
}

/// One URL path segment or query value, percent-encoded (a space as `%20`, never `+`).
pub fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20")
}

/// A base URL from the config (its trailing `/` dropped), or `default` when none is given.
pub fn base_url(kind: &str, key: &str, configured: &str, default: &str) -> Result<String, ConnectorError> {
    let url = if configured.is_empty() { default } else { configured.trim_end_matches('/') };
    Url::parse(url).map_err(|e| upstream(kind, format!("{key} {url:?} is not a URL: {e}")))?;
    Ok(url.to_string())
}

/// Keeps the groups of `given` that are in `required`, in `given`'s order (Dex's
/// `groups.Filter`).
pub fn filter_groups(given: &[String], required: &[String]) -> Vec<String> {
    given.iter().filter(|g| required.contains(g)).cloned().collect()
}

#[cfg(test)]
mod tests;
