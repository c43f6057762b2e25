//! Dex's test connectors, with the same identity Dex's return: `mockCallback` logs the user
//! in without asking anything (a redirect straight back to `/callback`), `mockPassword`
//! accepts one configured username and password. For development and tests only.
//! Like Dex's, `mockCallback` also vouches for any subject token in a token exchange.

use super::{ConnectorError, Identity, PasswordLogin, RedirectLogin, Refresh, Scopes, TokenIdentity};
use crate::crypto::constant_time_eq;
use crate::storage::Claims;
use async_trait::async_trait;
use serde::Deserialize;
use std::collections::HashMap;
use url::Url;

fn kilgore_trout() -> Identity {
    Identity {
        claims: Claims {
            user_id: "0-385-28089-0".into(),
            username: "Kilgore Trout".into(),
            preferred_username: String::new(),
            email: "kilgore@kilgore.trout".into(),
            email_verified: true,
            groups: vec!["authors".into()],
        },
        connector_data: Some(b"foobar".to_vec()),
    }
}

pub struct MockCallback;

#[async_trait]
impl RedirectLogin for MockCallback {
    async fn login_url(
        &self,
        _scopes: Scopes,
        callback_url: &str,
        state: &str,
    ) -> Result<(String, Option<Vec<u8>>), ConnectorError> {
        let mut url = Url::parse(callback_url).map_err(|e| ConnectorError::Upstream(e.to_string()))?;
        url.query_pairs_mut().append_pair("state", state);
        Ok((url.into(), None))
    }

    async fn handle_callback(
        &self,
        _scopes: Scopes,
        _login_data: Option<&[u8]>,
        _params: &HashMap<String, String>,
    ) -> Result<Identity, ConnectorError> {
        Ok(kilgore_trout())
    }
}

#[async_trait]
impl Refresh for MockCallback {
    async fn refresh(&self, _scopes: Scopes, identity: Identity) -> Result<Identity, ConnectorError> {
        Ok(identity)
    }
}

#[async_trait]
impl TokenIdentity for MockCallback {
    /// Any token of any type is Kilgore Trout's (Dex's mock does the same).
    async fn token_identity(
        &self,
        _subject_token_type: crate::protocol::TokenType,
        _subject_token: &str,
    ) -> Result<Identity, ConnectorError> {
        Ok(kilgore_trout())
    }
}

/// `mockPassword`'s `config`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockPasswordConfig {
    pub username: String,
    pub password: String,
}
crate::debug_only!(MockPasswordConfig: username);

pub struct MockPassword {
    config: MockPasswordConfig,
}

impl MockPassword {
    pub fn open(config: MockPasswordConfig) -> Result<Self, ConnectorError> {
        if config.username.is_empty() || config.password.is_empty() {
            return Err(ConnectorError::Upstream("mockPassword needs a username and a password".into()));
        }
        Ok(Self { config })
    }
}

#[async_trait]
impl PasswordLogin for MockPassword {
    fn prompt(&self) -> &str {
        ""
    }

    async fn login(
        &self,
        _scopes: Scopes,
        username: &str,
        password: &str,
    ) -> Result<Option<Identity>, ConnectorError> {
        let ok = constant_time_eq(username.as_bytes(), self.config.username.as_bytes())
            & constant_time_eq(password.as_bytes(), self.config.password.as_bytes());
        Ok(ok.then(kilgore_trout))
    }
}

#[async_trait]
impl Refresh for MockPassword {
    async fn refresh(&self, _scopes: Scopes, identity: Identity) -> Result<Identity, ConnectorError> {
        Ok(identity)
    }
}
