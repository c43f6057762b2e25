//! The upstream OpenID Connect connector (`type: oidc`), with Dex's config keys and identity.
//!
//! 1. **Open**: the config is checked (see [`config`]); discovery of the provider starts in
//!    the background. A provider that cannot be reached does not stop Tessera: discovery is
//!    tried again at the next login.
//! 2. **Login** (Core §3.1.2): the browser goes to the provider's authorization endpoint with
//!    `state` = Tessera's auth request id, a fresh `nonce`, and a PKCE challenge (RFC 7636)
//!    when the provider supports it (`pkceChallenge`). The nonce and the `code_verifier` stay
//!    server-side, sealed, in the auth request until the callback.
//! 3. **Callback** (Core §3.1.3): the code is exchanged at the token endpoint, the ID token is
//!    verified ([`provider`]), userinfo merged in with `getUserInfo`, and the claims mapped as
//!    Dex maps them ([`claims`]), so users keep their Dex `sub`.
//! 4. **Refresh**: with `offline_access`, the upstream refresh token is kept sealed (AES-GCM,
//!    [`crate::connector::sealed`]) in the connector data; each Tessera refresh refreshes
//!    upstream, and an upstream refusal (user removed, token revoked) is `Refused`.
//! 5. **Token exchange** (RFC 8693, as Dex): an upstream ID token is verified (any audience, as
//!    Dex), an access token is checked at the userinfo endpoint (needs `getUserInfo`).
//! 6. **Logout**: the upstream ID token is kept sealed with the session, to send the user to
//!    the provider's `end_session_endpoint` with `id_token_hint` (RP-Initiated Logout 1.0).

mod claims;
pub mod config;
mod provider;

use super::http::{OidcHttp, Upstream, client_with_timeout, read_root_cas};
use super::sealed::DataKey;
use super::{
    ConnectorError, Identity, OpenContext, RedirectLogin, Refresh, Scopes, TokenIdentity, UpstreamLogout,
};
use crate::protocol::TokenType;
use crate::types::ConnectorId;
use async_trait::async_trait;
use claims::Mapping;
use config::Config;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreTokenResponse};
use openidconnect::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use provider::{Audience, Provider};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::OnceCell;

type OidcClient =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet, EndpointNotSet>;

/// What `login_url` keeps for the callback.
#[derive(Serialize, Deserialize)]
struct LoginState {
    nonce: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code_verifier: Option<String>,
}

/// What the connector keeps with a login (session, codes, refresh tokens), sealed.
#[derive(Default, Serialize, Deserialize)]
struct Session {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

pub struct Oidc {
    id: ConnectorId,
    config: Config,
    callback_url: String,
    scopes: Vec<String>,
    mapping: Mapping,
    http: OidcHttp,
    key: Arc<DataKey>,
    provider: Arc<OnceCell<Arc<Provider>>>,
    /// Extra parameters of the authorization request (the `google` connector's `hd`).
    auth_params: Vec<(String, String)>,
}

impl Oidc {
    /// Checks the config and starts discovering the provider in the background (a provider
    /// that is down now is tried again at the next login).
    pub fn open(id: &ConnectorId, config: Config, context: &OpenContext) -> Result<Self, ConnectorError> {
        config.check(&context.callback_url)?;
        if !config.provider_discovery_overrides.is_empty() {
            tracing::warn!(
                connector = %id,
                "providerDiscoveryOverrides are set: check they point at the provider"
            );
        }
        let upstream = Upstream { root_cas: read_root_cas(&config.root_cas)? };
        let http = OidcHttp(client_with_timeout(&upstream, config.timeout()?)?);
        let connector = Self {
            id: id.clone(),
            scopes: config.upstream_scopes(),
            mapping: Mapping::new(&config),
            callback_url: context.callback_url.clone(),
            config,
            http,
            key: context.data_key.clone(),
            provider: Arc::new(OnceCell::new()),
            auth_params: Vec::new(),
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (cell, config, http, id) = (
                connector.provider.clone(),
                connector.config.clone(),
                connector.http.clone(),
                id.to_string(),
            );
            runtime.spawn(async move {
                if let Err(e) = cell.get_or_try_init(|| discover(&config, &http)).await {
                    tracing::warn!(connector = %id, error = %e, "provider discovery failed; retried at the next login");
                }
            });
        }
        Ok(connector)
    }

    /// Adds a parameter to every authorization request (for connectors built on this one).
    pub(crate) fn with_auth_param(mut self, name: &str, value: &str) -> Self {
        self.auth_params.push((name.to_string(), value.to_string()));
        self
    }

    async fn provider(&self) -> Result<&Arc<Provider>, ConnectorError> {
        self.provider.get_or_try_init(|| discover(&self.config, &self.http)).await
    }

    fn client(&self, provider: &Provider) -> Result<OidcClient, ConnectorError> {
        let bad = |e: &dyn std::fmt::Display| ConnectorError::Upstream(format!("endpoint: {e}"));
        let mut client = CoreClient::new(
            ClientId::new(self.config.client_id.clone()),
            provider.issuer.clone(),
            Default::default(),
        )
        .set_auth_uri(AuthUrl::from_url(provider.auth_url.clone()))
        .set_token_uri(TokenUrl::from_url(provider.token_url.clone()))
        .set_redirect_uri(RedirectUrl::new(self.callback_url.clone()).map_err(|e| bad(&e))?);
        if !self.config.client_secret.is_empty() {
            client =
                client.set_client_secret(ClientSecret::new(self.config.client_secret.expose().to_string()));
        }
        if self.config.credentials_in_body() {
            client = client.set_auth_type(AuthType::RequestBody);
        }
        Ok(client)
    }

    fn context(&self, purpose: &str) -> String {
        format!("oidc/{}/{purpose}", self.id)
    }

    fn seal<T: Serialize>(&self, purpose: &str, value: &T) -> Result<Vec<u8>, ConnectorError> {
        let json = serde_json::to_vec(value).map_err(|e| ConnectorError::Upstream(e.to_string()))?;
        self.key.seal(&self.context(purpose), &json)
    }

    fn unseal<T: for<'de> Deserialize<'de>>(
        &self,
        purpose: &str,
        sealed: &[u8],
    ) -> Result<T, ConnectorError> {
        let json = self.key.open(&self.context(purpose), sealed)?;
        serde_json::from_slice(&json).map_err(|e| ConnectorError::Upstream(format!("connector data: {e}")))
    }

    /// GET userinfo with `access_token` (Core §5.3); its claims.
    async fn userinfo(
        &self,
        provider: &Provider,
        access_token: &str,
    ) -> Result<Map<String, Value>, ConnectorError> {
        let url = provider.userinfo_url.clone().ok_or_else(|| {
            ConnectorError::Upstream("getUserInfo is set but the provider has no userinfo endpoint".into())
        })?;
        let response = self
            .http
            .0
            .get(url)
            .bearer_auth(access_token)
            .send()
            .await
            .map_err(|e| ConnectorError::Upstream(format!("userinfo: {e}")))?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Err(ConnectorError::Refused(
                "The identity provider did not accept the access token.".into(),
            ));
        }
        if !response.status().is_success() {
            return Err(ConnectorError::Upstream(format!("userinfo: status {}", response.status())));
        }
        response.json().await.map_err(|e| ConnectorError::Upstream(format!("userinfo (JSON expected): {e}")))
    }

    /// The claims of a token response: the verified ID token, merged with userinfo when
    /// configured (whose `sub` must be the ID token's, Core §5.3.4). `None` for a refresh
    /// answered without ID token and without userinfo.
    async fn response_claims(
        &self,
        provider: &Provider,
        tokens: &CoreTokenResponse,
        nonce: Option<&Nonce>,
    ) -> Result<Option<Map<String, Value>>, ConnectorError> {
        let client_id = ClientId::new(self.config.client_id.clone());
        let mut claims = match tokens.id_token() {
            Some(token) => Some(
                provider.verify(&self.http, &client_id, &token.to_string(), nonce, Audience::Ours).await?,
            ),
            None if nonce.is_some() => {
                return Err(ConnectorError::Refused("The identity provider sent no ID token.".into()));
            }
            None => None,
        };
        if self.config.get_user_info {
            let info = self.userinfo(provider, tokens.access_token().secret()).await?;
            let merged = claims.get_or_insert_with(Map::new);
            if let Some(sub) = merged.get("sub")
                && info.get("sub") != Some(sub)
            {
                return Err(ConnectorError::Refused(
                    "The identity provider's userinfo is for another user.".into(),
                ));
            }
            merged.extend(info);
        }
        Ok(claims)
    }

    fn session_data(
        &self,
        scopes: Scopes,
        tokens: &CoreTokenResponse,
        previous: Session,
    ) -> Result<Vec<u8>, ConnectorError> {
        let session = Session {
            refresh_token: if scopes.offline_access {
                tokens.refresh_token().map(|t| t.secret().clone()).or(previous.refresh_token)
            } else {
                None
            },
            id_token: tokens.id_token().map(|t| t.to_string()).or(previous.id_token),
        };
        self.seal("session", &session)
    }
}

async fn discover(config: &Config, http: &OidcHttp) -> Result<Arc<Provider>, ConnectorError> {
    Provider::discover(config, http).await.map(Arc::new)
}

/// The token endpoint's answer as a connector error: a refusal by the provider (RFC 6749
/// §5.2: `invalid_grant`, …) or a failure to talk to it.
fn token_error<RE: std::error::Error + 'static>(
    error: RequestTokenError<
        RE,
        openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    >,
) -> ConnectorError {
    match error {
        RequestTokenError::ServerResponse(e) => {
            tracing::info!(error = %e, "the provider refused the token request");
            ConnectorError::Refused("The identity provider refused the login.".into())
        }
        RequestTokenError::Request(e) => ConnectorError::Upstream(format!("token request: {e}")),
        RequestTokenError::Parse(e, _) => ConnectorError::Upstream(format!("token response: {e}")),
        RequestTokenError::Other(e) => ConnectorError::Upstream(format!("token request: {e}")),
    }
}

#[async_trait]
impl RedirectLogin for Oidc {
    #[tracing::instrument(skip_all, fields(connector = %self.id))]
    async fn login_url(
        &self,
        scopes: Scopes,
        _callback_url: &str,
        state: &str,
    ) -> Result<(String, Option<Vec<u8>>), ConnectorError> {
        let provider = self.provider().await?;
        let client = self.client(provider)?;
        let nonce = Nonce::new_random();
        let state = state.to_string();
        let sent_nonce = nonce.clone();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            move || sent_nonce,
        );
        for scope in self.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        for (name, value) in &self.auth_params {
            request = request.add_extra_param(name.clone(), value.clone());
        }
        if !self.config.acr_values.is_empty() {
            request = request.add_extra_param("acr_values", self.config.acr_values.join(" "));
        }
        if scopes.offline_access {
            request = request.add_extra_param("access_type", "offline");
            let prompt = self.config.prompt();
            if !prompt.is_empty() {
                request = request.add_extra_param("prompt", prompt);
            }
        }
        let mut code_verifier = None;
        if let Some(method) = &provider.pkce {
            if method == "plain" {
                // The crate builds plain challenges only behind a feature; plain is the verifier.
                let verifier = crate::crypto::random_token(32);
                request = request
                    .add_extra_param("code_challenge", verifier.clone())
                    .add_extra_param("code_challenge_method", "plain");
                code_verifier = Some(verifier);
            } else {
                let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
                request = request.set_pkce_challenge(challenge);
                code_verifier = Some(verifier.into_secret());
            }
        }
        let (url, _, _) = request.url();
        let data = self.seal("login", &LoginState { nonce: nonce.secret().clone(), code_verifier })?;
        Ok((url.to_string(), Some(data)))
    }

    #[tracing::instrument(skip_all, fields(connector = %self.id))]
    async fn handle_callback(
        &self,
        scopes: Scopes,
        login_data: Option<&[u8]>,
        params: &HashMap<String, String>,
    ) -> Result<Identity, ConnectorError> {
        let (claims, connector_data) = self.callback_claims(scopes, login_data, params).await?;
        let claims = self.mapping.map(&claims)?;
        Ok(Identity { claims, connector_data: Some(connector_data) })
    }
}

impl Oidc {
    /// The callback up to the claims: the code exchanged, the ID token verified (nonce,
    /// PKCE), userinfo merged; with the sealed session to keep as connector data.
    pub(crate) async fn callback_claims(
        &self,
        scopes: Scopes,
        login_data: Option<&[u8]>,
        params: &HashMap<String, String>,
    ) -> Result<(Map<String, Value>, Vec<u8>), ConnectorError> {
        if let Some(error) = params.get("error") {
            let description = params.get("error_description").map(String::as_str).unwrap_or_default();
            tracing::info!(error, description, "the provider answered the login with an error");
            return Err(ConnectorError::Refused(format!(
                "The identity provider refused the login ({error})."
            )));
        }
        let state: LoginState = self.unseal(
            "login",
            login_data
                .ok_or_else(|| ConnectorError::Upstream("no login state kept for this login".into()))?,
        )?;
        let code = params.get("code").filter(|c| !c.is_empty()).ok_or_else(|| {
            ConnectorError::Refused("The identity provider sent no authorization code.".into())
        })?;
        let provider = self.provider().await?;
        // RFC 9207: when the provider names itself in the response, it must be the one we
        // sent the user to (a mix-up defence).
        if let Some(iss) = params.get("iss")
            && iss.as_str() != provider.issuer.as_str()
        {
            return Err(ConnectorError::Refused(
                "The login answer came from another identity provider.".into(),
            ));
        }
        let client = self.client(provider)?;
        let mut exchange = client.exchange_code(AuthorizationCode::new(code.clone()));
        if let Some(verifier) = state.code_verifier {
            exchange = exchange.set_pkce_verifier(PkceCodeVerifier::new(verifier));
        }
        let tokens = exchange.request_async(&self.http).await.map_err(token_error)?;
        let nonce = Nonce::new(state.nonce);
        let claims = self
            .response_claims(provider, &tokens, Some(&nonce))
            .await?
            .ok_or_else(|| ConnectorError::Refused("The identity provider sent no ID token.".into()))?;
        let connector_data = self.session_data(scopes, &tokens, Session::default())?;
        Ok((claims, connector_data))
    }

    /// The upstream refresh up to the claims: the refresh token kept in `connector_data`
    /// used; the fresh claims (`None` when the provider answered without ID token and
    /// without userinfo) and the session to keep.
    pub(crate) async fn refresh_claims(
        &self,
        scopes: Scopes,
        connector_data: Option<&[u8]>,
    ) -> Result<(Option<Map<String, Value>>, Vec<u8>), ConnectorError> {
        let session: Session = match connector_data {
            Some(data) => self.unseal("session", data)?,
            None => Session::default(),
        };
        let refresh_token = session.refresh_token.clone().ok_or_else(|| {
            ConnectorError::Refused("The identity provider gave no refresh token for this login.".into())
        })?;
        let provider = self.provider().await?;
        let client = self.client(provider)?;
        let token = RefreshToken::new(refresh_token);
        let tokens =
            client.exchange_refresh_token(&token).request_async(&self.http).await.map_err(token_error)?;
        let claims = self.response_claims(provider, &tokens, None).await?;
        let connector_data = self.session_data(scopes, &tokens, session)?;
        Ok((claims, connector_data))
    }
}

#[async_trait]
impl Refresh for Oidc {
    #[tracing::instrument(skip_all, fields(connector = %self.id))]
    async fn refresh(&self, scopes: Scopes, identity: Identity) -> Result<Identity, ConnectorError> {
        let (claims, connector_data) =
            self.refresh_claims(scopes, identity.connector_data.as_deref()).await?;
        let claims = match claims {
            Some(claims) => {
                let fresh = self.mapping.map(&claims)?;
                // Core §12.2: a refreshed ID token is about the same user.
                if fresh.user_id != identity.claims.user_id {
                    return Err(ConnectorError::Refused(
                        "The identity provider refreshed another user.".into(),
                    ));
                }
                fresh
            }
            // No ID token and no userinfo: the provider still vouches for the login.
            None => identity.claims,
        };
        Ok(Identity { claims, connector_data: Some(connector_data) })
    }
}

#[async_trait]
impl TokenIdentity for Oidc {
    #[tracing::instrument(skip_all, fields(connector = %self.id))]
    async fn token_identity(
        &self,
        subject_token_type: TokenType,
        subject_token: &str,
    ) -> Result<Identity, ConnectorError> {
        let provider = self.provider().await?;
        let claims = match subject_token_type {
            TokenType::IdToken => {
                let client_id = ClientId::new(self.config.client_id.clone());
                provider.verify(&self.http, &client_id, subject_token, None, Audience::Any).await?
            }
            TokenType::AccessToken if self.config.get_user_info => {
                self.userinfo(provider, subject_token).await?
            }
            TokenType::AccessToken => {
                return Err(ConnectorError::Refused(
                    "getUserInfo is required for access token exchange".into(),
                ));
            }
        };
        Ok(Identity { claims: self.mapping.map(&claims)?, connector_data: None })
    }
}

impl UpstreamLogout for Oidc {
    fn logout_url(&self, connector_data: Option<&[u8]>, post_logout_redirect_uri: &str) -> Option<String> {
        let provider = self.provider.get()?;
        let mut url = provider.end_session_url.clone()?;
        let session: Option<Session> = connector_data.and_then(|d| self.unseal("session", d).ok());
        {
            let mut query = url.query_pairs_mut();
            if let Some(hint) = session.and_then(|s| s.id_token) {
                query.append_pair("id_token_hint", &hint);
            }
            query.append_pair("post_logout_redirect_uri", post_logout_redirect_uri);
            query.append_pair("client_id", &self.config.client_id);
        }
        Some(url.into())
    }
}
