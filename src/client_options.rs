//! A client's options beyond Dex's client record: how it authenticates and with which keys,
//! and what the protocol requires of it. One struct, so that the config, the stored record
//! and the admin API carry them whole, and a new option is added in one place. Every option
//! defaults to Dex's behaviour: a client that sets none works exactly as in Dex.

use crate::protocol::ClientAuthMethod;
use jsonwebtoken::jwk::JwkSet;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClientOptions {
    /// `tokenEndpointAuthMethod`. `None` is Dex's rule: a client with a secret sends it
    /// (Basic or in the body), a public client without one sends only its `client_id`. Set,
    /// only that method is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<ClientAuthMethod>,
    /// `jwks`: the public keys that check the client's `private_key_jwt` assertions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<JwkSet>,
    /// `jwksURI`: where the client publishes those keys instead (fetched and cached).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jwks_uri: String,
    /// `requirePushedAuthorizationRequests` (RFC 9126 §5): `/auth` takes only pushed requests.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_pushed_authorization_requests: bool,
    /// `dpopBoundAccessTokens` (RFC 9449 §5.2): token requests must carry a DPoP proof, so
    /// every access token is bound to the client's key.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop_bound_access_tokens: bool,
}

impl ClientOptions {
    /// Whether `method` may authenticate this client, given whether it has a secret and is
    /// public. Unset, Dex's rule holds: the secret, in either place; `none` for a public
    /// client without a secret.
    pub fn allows(&self, method: ClientAuthMethod, has_secret: bool, public: bool) -> bool {
        match self.token_endpoint_auth_method {
            Some(registered) => registered == method,
            None => match method {
                ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost => has_secret,
                ClientAuthMethod::None => public && !has_secret,
                ClientAuthMethod::ClientSecretJwt | ClientAuthMethod::PrivateKeyJwt => false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ClientAuthMethod::*;

    #[test]
    fn unset_is_dex_and_set_is_exactly_one_method() {
        let dex = ClientOptions::default();
        assert!(dex.allows(ClientSecretBasic, true, false) && dex.allows(ClientSecretPost, true, false));
        assert!(!dex.allows(None, true, true), "a public client with a secret must present it");
        assert!(dex.allows(None, false, true) && !dex.allows(None, false, false));
        assert!(!dex.allows(PrivateKeyJwt, true, false) && !dex.allows(ClientSecretJwt, true, false));
        let jwt = ClientOptions { token_endpoint_auth_method: Some(PrivateKeyJwt), ..Default::default() };
        for other in [ClientSecretBasic, ClientSecretPost, ClientSecretJwt, None] {
            assert!(!jwt.allows(other, true, false), "{other:?}");
        }
        assert!(jwt.allows(PrivateKeyJwt, false, false));
    }
}
