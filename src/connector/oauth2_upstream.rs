//! The login and refresh of the OAuth 2.0 connectors that read the user from the provider's
//! API with an access token (`github`, `gitlab`, `microsoft`, `oauth`), written once.
//!
//! Such a connector implements [`OAuth2Upstream`] with only what is its own: its
//! [`OAuthApp`], the scopes (and extra parameters) of the authorization request, and how an
//! access token becomes [`Claims`]. The blanket impl here makes it a [`RedirectLogin`]:
//!
//! 1. `login_url`: the authorization URL (RFC 6749 §4.1.1); nothing is kept per login.
//! 2. `handle_callback`: the provider's `error`, or a missing `code`, refuses the login
//!    (§4.1.2.1); the code is redeemed (§4.1.3), the identity read with the access token, and
//!    the tokens kept sealed as `connector_data` when the client asked for `offline_access`.
//!
//! A connector that also implements [`OAuth2Refresh`] is a [`Refresh`]: the sealed tokens are
//! opened, [`OAuth2Refresh::refresh_tokens`] makes them usable (by default the stored access
//! token while it is valid, else a new one from the refresh token, §6), the identity is read
//! again, and the tokens are sealed again.

use super::sealed::DataKey;
use super::upstream::{self, OAuthApp, TokenData};
use super::{ConnectorError, Identity, RedirectLogin, Refresh, Scopes};
use crate::storage::Claims;
use async_trait::async_trait;
use std::collections::HashMap;

/// An OAuth 2.0 provider whose API says who holds an access token.
#[async_trait]
pub trait OAuth2Upstream: Send + Sync {
    /// The connector type (`github`): it names the connector's errors and binds its sealed
    /// tokens, so one connector type cannot open another's.
    const KIND: &'static str;

    /// The client registered at the provider.
    fn app(&self) -> &OAuthApp;

    /// Seals the upstream tokens kept for refresh.
    fn data_key(&self) -> &DataKey;

    /// The `scope` of the authorization request for a login that asked for `scopes`.
    fn login_scopes(&self, scopes: Scopes) -> Vec<String>;

    /// Extra parameters of the authorization request (Microsoft's `prompt`). Default: none.
    fn login_params(&self) -> Vec<(&'static str, &str)> {
        Vec::new()
    }

    /// The user behind `access_token`. `Refused` when they may not log in here (e.g. not in
    /// a required group); `Upstream` when the provider failed.
    async fn identity(&self, scopes: Scopes, access_token: &str) -> Result<Claims, ConnectorError>;
}

/// An [`OAuth2Upstream`] that re-reads the user at refresh time from the tokens it sealed at
/// login.
#[async_trait]
pub trait OAuth2Refresh: OAuth2Upstream {
    /// Whether a refreshed identity keeps the user id of the login (Dex's `github` and
    /// `microsoft`) rather than the one the provider answers now (Dex's `gitlab`).
    const KEEPS_LOGIN_USER_ID: bool = true;

    /// The tokens a refresh reads the identity with; they are sealed again afterwards.
    /// Default: the stored access token while it is valid, else a new one from the stored
    /// refresh token ([`OAuthApp::usable_token`]).
    async fn refresh_tokens(&self, stored: TokenData) -> Result<TokenData, ConnectorError> {
        self.app().usable_token(Self::KIND, stored).await
    }
}

#[async_trait]
impl<T: OAuth2Upstream> RedirectLogin for T {
    async fn login_url(
        &self,
        scopes: Scopes,
        callback_url: &str,
        state: &str,
    ) -> Result<(String, Option<Vec<u8>>), ConnectorError> {
        let wanted = self.login_scopes(scopes);
        let url = self.app().authorize_url(T::KIND, callback_url, &wanted, state, &self.login_params())?;
        Ok((url, None))
    }

    #[tracing::instrument(skip_all, fields(connector = T::KIND))]
    async fn handle_callback(
        &self,
        scopes: Scopes,
        _login_data: Option<&[u8]>,
        params: &HashMap<String, String>,
    ) -> Result<Identity, ConnectorError> {
        let code = upstream::callback_code(params)?;
        let token = self.app().exchange(T::KIND, code).await?;
        let claims = self.identity(scopes, &token.access_token).await?;
        let connector_data = TokenData::keep(&token, scopes, T::KIND, self.data_key())?;
        Ok(Identity { claims, connector_data })
    }
}

#[async_trait]
impl<T: OAuth2Refresh> Refresh for T {
    #[tracing::instrument(skip_all, fields(connector = T::KIND))]
    async fn refresh(&self, scopes: Scopes, identity: Identity) -> Result<Identity, ConnectorError> {
        let stored = TokenData::open(T::KIND, self.data_key(), identity.connector_data.as_deref())?;
        let tokens = self.refresh_tokens(stored).await?;
        let mut claims = self.identity(scopes, &tokens.access_token).await?;
        if T::KEEPS_LOGIN_USER_ID {
            claims.user_id = identity.claims.user_id;
        }
        Ok(Identity { claims, connector_data: Some(tokens.seal(T::KIND, self.data_key())?) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::upstream::ClientAuth;
    use crate::types::Secret;

    /// An upstream whose users are named after their access token; `KEEP` is
    /// `KEEPS_LOGIN_USER_ID`.
    struct Fake<const KEEP: bool> {
        app: OAuthApp,
        key: DataKey,
    }

    fn fake<const KEEP: bool>(token_url: &str) -> Fake<KEEP> {
        Fake {
            app: OAuthApp {
                client_id: "id".into(),
                auth: ClientAuth::Basic(Secret::new("secret")),
                redirect_uri: "http://tessera/callback".into(),
                authorization_url: "http://upstream/authorize".into(),
                token_url: token_url.into(),
                http: crate::connector::http::client(&crate::connector::http::Upstream::default()).unwrap(),
            },
            key: DataKey::new(&DataKey::generate()).unwrap(),
        }
    }

    #[async_trait]
    impl<const KEEP: bool> OAuth2Upstream for Fake<KEEP> {
        const KIND: &'static str = "fake";
        fn app(&self) -> &OAuthApp {
            &self.app
        }
        fn data_key(&self) -> &DataKey {
            &self.key
        }
        fn login_scopes(&self, scopes: Scopes) -> Vec<String> {
            if scopes.groups { vec!["user".into(), "groups".into()] } else { vec!["user".into()] }
        }
        fn login_params(&self) -> Vec<(&'static str, &str)> {
            vec![("prompt", "login")]
        }
        async fn identity(&self, _scopes: Scopes, access_token: &str) -> Result<Claims, ConnectorError> {
            if access_token == "refused" {
                return Err(ConnectorError::Refused("not here".into()));
            }
            Ok(Claims { user_id: format!("user-of-{access_token}"), ..Claims::default() })
        }
    }

    impl<const KEEP: bool> OAuth2Refresh for Fake<KEEP> {
        const KEEPS_LOGIN_USER_ID: bool = KEEP;
    }

    /// A token endpoint that answers every request with `access_token`.
    async fn token_endpoint(access_token: &'static str) -> String {
        let router = axum::Router::new().route(
            "/token",
            axum::routing::post(move || async move {
                axum::Json(serde_json::json!({"access_token": access_token, "refresh_token": "r2"}))
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        format!("http://{addr}/token")
    }

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[tokio::test]
    async fn login_url_has_the_connectors_scopes_and_parameters_and_keeps_nothing() {
        let upstream = fake::<true>("http://upstream/token");
        let scopes = Scopes { groups: true, offline_access: false };
        let (url, data) = upstream.login_url(scopes, "http://tessera/callback", "st").await.unwrap();
        assert_eq!(
            url,
            "http://upstream/authorize?client_id=id&redirect_uri=http%3A%2F%2Ftessera%2Fcallback\
             &response_type=code&scope=user+groups&state=st&prompt=login"
        );
        assert!(data.is_none());
        let elsewhere = upstream.login_url(scopes, "http://other/callback", "st").await.unwrap_err();
        assert!(matches!(elsewhere, ConnectorError::Upstream(m) if m.starts_with("fake: redirectURI")));
    }

    #[tokio::test]
    async fn callback_refusals_come_before_the_token_endpoint() {
        let upstream = fake::<true>("http://127.0.0.1:1/token");
        let denied = params(&[("error", "access_denied")]);
        let refused = upstream.handle_callback(Scopes::default(), None, &denied).await.unwrap_err();
        assert!(matches!(refused, ConnectorError::Refused(m) if m.contains("access_denied")));
        let refused = upstream.handle_callback(Scopes::default(), None, &params(&[])).await.unwrap_err();
        assert!(matches!(refused, ConnectorError::Refused(m) if m.contains("no authorization code")));
    }

    #[tokio::test]
    async fn callback_seals_the_tokens_only_for_offline_access() {
        let upstream = fake::<true>(&token_endpoint("a1").await);
        let code = params(&[("code", "c")]);
        let online = upstream.handle_callback(Scopes::default(), None, &code).await.unwrap();
        assert_eq!(online.claims.user_id, "user-of-a1");
        assert!(online.connector_data.is_none());
        let offline = Scopes { offline_access: true, groups: false };
        let identity = upstream.handle_callback(offline, None, &code).await.unwrap();
        let stored = TokenData::open("fake", &upstream.key, identity.connector_data.as_deref()).unwrap();
        assert_eq!((stored.access_token.as_str(), stored.refresh_token.as_str()), ("a1", "r2"));
        // Bound to the connector type.
        assert!(TokenData::open("other", &upstream.key, identity.connector_data.as_deref()).is_err());
    }

    /// A login's identity whose sealed tokens hold `access_token`, valid or expired.
    fn logged_in<const KEEP: bool>(upstream: &Fake<KEEP>, access_token: &str, expired: bool) -> Identity {
        let data = TokenData {
            access_token: access_token.into(),
            refresh_token: "r1".into(),
            expires_at: expired.then_some(0),
        };
        Identity {
            claims: Claims { user_id: "at-login".into(), ..Claims::default() },
            connector_data: Some(data.seal("fake", &upstream.key).unwrap()),
        }
    }

    #[tokio::test]
    async fn refresh_rereads_the_user_with_a_usable_token_and_seals_it_again() {
        // A valid stored token is used as it is: the token endpoint is never called.
        let upstream = fake::<true>("http://127.0.0.1:1/token");
        let refreshed = upstream.refresh(Scopes::default(), logged_in(&upstream, "a1", false)).await.unwrap();
        assert_eq!(refreshed.claims.user_id, "at-login", "the login's user id is kept");
        let stored = TokenData::open("fake", &upstream.key, refreshed.connector_data.as_deref()).unwrap();
        assert_eq!(stored.access_token, "a1");

        // An expired one is refreshed, and the provider's answer now names the user.
        let upstream = fake::<false>(&token_endpoint("a2").await);
        let refreshed = upstream.refresh(Scopes::default(), logged_in(&upstream, "a1", true)).await.unwrap();
        assert_eq!(refreshed.claims.user_id, "user-of-a2");
        let stored = TokenData::open("fake", &upstream.key, refreshed.connector_data.as_deref()).unwrap();
        assert_eq!((stored.access_token.as_str(), stored.refresh_token.as_str()), ("a2", "r2"));

        let refused = upstream.refresh(Scopes::default(), logged_in(&upstream, "refused", false)).await;
        assert!(matches!(refused, Err(ConnectorError::Refused(_))));
        let nothing = Identity { connector_data: None, ..Identity::default() };
        assert!(matches!(
            upstream.refresh(Scopes::default(), nothing).await,
            Err(ConnectorError::Upstream(_))
        ));
    }
}
