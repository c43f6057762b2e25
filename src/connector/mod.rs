//! Connectors: how Tessera learns who the user is from the identity provider that knows them.
//!
//! One small trait per login style, as in Dex: [`PasswordLogin`] (Tessera shows a form),
//! [`RedirectLogin`] (the user is sent to the provider and comes back to `/callback`) and
//! [`SamlLogin`] (the provider POSTs a SAML response back to `/callback`), plus
//! an optional [`Refresh`] to re-check the user when a refresh token is used, and an optional
//! [`TokenIdentity`] to vouch for a token the upstream issued (RFC 8693 token exchange). An opened
//! connector is an [`Opened`] whose `login` says which style it is, so the login handler's
//! `match` is exhaustive. [`Registry`] holds every opened connector in config order.

pub mod atlassian_crowd;
pub mod authproxy;
pub mod bitbucket_cloud;
pub mod gitea;
pub mod github;
pub mod gitlab;
pub mod google;
pub mod http;
pub mod keystone;
pub mod ldap;
pub mod linkedin;
pub mod local;
pub mod microsoft;
pub mod mock;
pub mod oauth;
pub mod oauth2_upstream;
pub mod oidc;
pub mod openshift;
#[cfg(feature = "saml-xmlsec")]
pub mod saml;
#[cfg(not(feature = "saml-xmlsec"))]
#[path = "saml_disabled.rs"]
pub mod saml;
pub mod sealed;
pub mod upstream;

use crate::storage::Claims;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;

/// What connectors may need from the server when they open.
#[derive(Clone)]
pub struct OpenContext {
    /// Tessera's `/callback` URL (`{issuer}/callback`), where redirect connectors come back.
    pub callback_url: String,
    /// Seals secrets a connector keeps in storage (see [`sealed`]).
    pub data_key: Arc<sealed::DataKey>,
}

/// What a connector says about a user; becomes the token claims.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub claims: Claims,
    /// Opaque data the connector wants back on refresh (e.g. an upstream refresh token).
    pub connector_data: Option<Vec<u8>>,
}

/// What the client asked for that connectors care about (Dex's `connector.Scopes`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Scopes {
    pub offline_access: bool,
    pub groups: bool,
}

impl Scopes {
    pub fn from_requested(scopes: &[String]) -> Self {
        use crate::oauth2::scopes::{GROUPS, OFFLINE_ACCESS, has};
        Self { offline_access: has(scopes, OFFLINE_ACCESS), groups: has(scopes, GROUPS) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The user cannot log in (e.g. removed upstream); shown to the user in plain words.
    #[error("{0}")]
    Refused(String),
    /// The upstream failed or answered garbage; logged, the user sees a generic message.
    #[error("connector failure: {0}")]
    Upstream(String),
}

#[async_trait]
pub trait PasswordLogin: Send + Sync {
    /// The label of the username field ("Email Address", "Username").
    fn prompt(&self) -> &str;
    /// `Ok(None)` for a wrong username or password.
    async fn login(
        &self,
        scopes: Scopes,
        username: &str,
        password: &str,
    ) -> Result<Option<Identity>, ConnectorError>;
}

#[async_trait]
pub trait RedirectLogin: Send + Sync {
    /// Where to send the browser. `state` must come back to `callback_url` unchanged.
    /// The bytes, if any, are kept server-side with the login (in the auth request) and given
    /// back to [`RedirectLogin::handle_callback`]: per-login secrets such as a nonce or a PKCE
    /// `code_verifier` that must never travel through the browser.
    async fn login_url(
        &self,
        scopes: Scopes,
        callback_url: &str,
        state: &str,
    ) -> Result<(String, Option<Vec<u8>>), ConnectorError>;
    /// Turns the provider's callback (its query parameters) into an identity; `login_data`
    /// is what `login_url` returned for this login.
    async fn handle_callback(
        &self,
        scopes: Scopes,
        login_data: Option<&[u8]>,
        params: &HashMap<String, String>,
    ) -> Result<Identity, ConnectorError>;

    /// Request headers a trusted proxy sets for this connector (`authproxy`). They are read
    /// only at `/callback/{connector id}`, and stripped from every other request so a
    /// client cannot forge them. Names are lowercase. Default: none.
    fn trusted_headers(&self) -> Vec<String> {
        Vec::new()
    }

    /// The callback at `/callback/{connector id}`: `headers` holds the values of
    /// [`trusted_headers`](Self::trusted_headers) the request carried (lowercase names).
    /// Default: the query parameters alone, as [`handle_callback`](Self::handle_callback).
    async fn handle_header_callback(
        &self,
        scopes: Scopes,
        login_data: Option<&[u8]>,
        params: &HashMap<String, String>,
        _headers: &HashMap<String, String>,
    ) -> Result<Identity, ConnectorError> {
        self.handle_callback(scopes, login_data, params).await
    }
}

/// Logging out at the upstream too (OpenID Connect RP-Initiated Logout 1.0 towards it).
pub trait UpstreamLogout: Send + Sync {
    /// Where to send the browser to end its session upstream, coming back to
    /// `post_logout_redirect_uri`; `None` when the upstream has no logout endpoint.
    /// `connector_data` is the data of the login being ended.
    fn logout_url(&self, connector_data: Option<&[u8]>, post_logout_redirect_uri: &str) -> Option<String>;
}

/// How the browser carries a SAML `AuthnRequest` to the identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SamlBinding {
    /// HTTP-Redirect binding: send the browser to this URL.
    Redirect(String),
    /// HTTP-POST binding: the browser posts `SAMLRequest` and `RelayState` to `action`.
    Post { action: String, saml_request: String, relay_state: String },
}

/// A fresh `AuthnRequest`: its `ID` (the `InResponseTo` the answer must carry) and how to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlRequest {
    pub id: String,
    pub binding: SamlBinding,
}

/// SAML 2.0 Web Browser SSO, SP-initiated (Dex's `SAMLConnector`).
#[async_trait]
pub trait SamlLogin: Send + Sync {
    /// A new `AuthnRequest` with a fresh, unpredictable `ID`; `relay_state` (the auth request
    /// id) must come back unchanged with the response. The caller remembers `id` server-side.
    fn authn_request(
        &self,
        relay_state: &str,
        now: crate::types::UnixTime,
    ) -> Result<SamlRequest, ConnectorError>;
    /// Verifies a posted `SAMLResponse` (base64) that must answer the request `in_response_to`,
    /// and maps it to an identity. Each assertion is accepted once across replicas: its id is
    /// claimed in `replay`. `Refused` for every response that is not accepted.
    async fn handle_post(
        &self,
        scopes: Scopes,
        saml_response: &str,
        in_response_to: &str,
        now: crate::types::UnixTime,
        replay: &dyn crate::storage::ReplayStore,
    ) -> Result<Identity, ConnectorError>;
    /// The SP metadata (an `EntityDescriptor`) for the identity provider's administrators.
    fn metadata(&self) -> String;
}

#[async_trait]
pub trait Refresh: Send + Sync {
    /// Re-checks the user at refresh time; `Refused` ends the refresh token.
    async fn refresh(&self, scopes: Scopes, identity: Identity) -> Result<Identity, ConnectorError>;
}

/// Token exchange (RFC 8693): the connector verifies a token its upstream issued.
#[async_trait]
pub trait TokenIdentity: Send + Sync {
    /// The identity behind `subject_token`, a token of `subject_token_type`
    /// (`urn:ietf:params:oauth:token-type:id_token` or `…:access_token`). `Refused` when the
    /// token is not valid for this connector; `Upstream` when it could not be checked.
    async fn token_identity(
        &self,
        subject_token_type: crate::protocol::TokenType,
        subject_token: &str,
    ) -> Result<Identity, ConnectorError>;
}

pub enum Login {
    Password(Arc<dyn PasswordLogin>),
    Redirect(Arc<dyn RedirectLogin>),
    Saml(Arc<dyn SamlLogin>),
}

pub struct Opened {
    pub id: crate::types::ConnectorId,
    pub name: String,
    /// The config `type` (`local`, `mockCallback`, …).
    pub kind: String,
    pub login: Login,
    pub refresh: Option<Arc<dyn Refresh>>,
    pub token_identity: Option<Arc<dyn TokenIdentity>>,
    pub logout: Option<Arc<dyn UpstreamLogout>>,
    /// Grants this connector may be used for; empty = all (Dex's `connectors[].grantTypes`).
    pub grant_types: Vec<crate::protocol::GrantType>,
}

impl Opened {
    pub fn allows_grant(&self, grant_type: crate::protocol::GrantType) -> bool {
        self.grant_types.is_empty() || self.grant_types.contains(&grant_type)
    }
}

/// Every opened connector, in config order.
#[derive(Default)]
pub struct Registry {
    ordered: Vec<Arc<Opened>>,
    by_id: HashMap<crate::types::ConnectorId, Arc<Opened>>,
}

impl Registry {
    pub fn new(connectors: Vec<Opened>) -> Self {
        let ordered: Vec<Arc<Opened>> = connectors.into_iter().map(Arc::new).collect();
        let by_id = ordered.iter().map(|c| (c.id.clone(), c.clone())).collect();
        Self { ordered, by_id }
    }

    pub fn get(&self, id: &crate::types::ConnectorId) -> Option<&Arc<Opened>> {
        self.by_id.get(id)
    }

    pub fn all(&self) -> &[Arc<Opened>] {
        &self.ordered
    }
}
