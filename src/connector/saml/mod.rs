//! SAML 2.0 Web Browser SSO (`type: saml`), SP-initiated, with Dex's configuration keys.
//!
//! 1. `/auth/{connector}` asks [`Saml::authn_request`] for an `AuthnRequest` with a fresh `ID`,
//!    which the flow keeps with the auth request (server-side); `RelayState` is the auth
//!    request id. The request goes by HTTP-POST (Dex's way) or HTTP-Redirect (`ssoBinding`).
//! 2. The identity provider POSTs a `SAMLResponse` (HTTP-POST binding) to the ACS,
//!    `{issuer}/callback`. That cross-site POST carries no session cookie; the auth request
//!    named by `RelayState`, and the `ID` stored with it, are the binding.
//! 3. [`Saml::handle_post`] accepts the response only if every rule holds, in this order:
//!    base64 and size ([`shape::decode`]); no DTD ([`shape::refuse_doctype`]); the document's
//!    shape against signature wrapping ([`shape::scan`]); the signature, with the configured
//!    certificate only, after which only the signed bytes are read ([`signature`]); status,
//!    version, `Destination`, `InResponseTo`, `Issuer`, audience, validity times, bearer
//!    subject confirmation ([`validate`]); the assertion id not seen before, on any replica
//!    (the storage's replay cache); then attributes to claims ([`identity`]).
//!
//! The SP metadata to give the identity provider's administrators is served at
//! `{issuer}/saml/{connector}/metadata`.

pub mod config;
mod decrypt;
mod identity;
mod rejection;
mod request;
mod shape;
mod signature;
mod validate;

#[cfg(test)]
pub(crate) mod tests;

pub use config::SamlConfig;
pub use rejection::Rejection;

use crate::connector::{ConnectorError, Identity, Refresh, SamlLogin, SamlRequest, Scopes};
use crate::storage::ReplayStore;
use crate::types::ConnectorId;
use crate::types::UnixTime;
use async_trait::async_trait;
use config::Settings;
use samael::schema::{Assertion, Response};
use signature::Signed;
use validate::Expected;

/// Whether this build can verify XML signatures: always, where this module is compiled (the
/// `saml-xmlsec` feature); `saml_disabled.rs` stands in otherwise.
pub const SIGNATURES_SUPPORTED: bool = true;

pub struct Saml {
    connector_id: ConnectorId,
    settings: Settings,
}

/// An assertion that passed every rule except the replay check, which needs storage.
#[derive(Debug)]
pub struct Accepted {
    pub assertion: Assertion,
    /// Until when its id must be remembered.
    pub replay_expiry: UnixTime,
}

impl Saml {
    /// Checks the config and loads its files. (A build that cannot verify signatures has
    /// `saml_disabled.rs` instead, whose `open` always refuses.)
    pub fn open(connector_id: &ConnectorId, config: SamlConfig) -> Result<Self, ConnectorError> {
        let insecure = config.insecure_skip_signature_validation;
        let settings = config.resolve()?;
        if insecure {
            tracing::error!(
                connector = %connector_id,
                "INSECURE: insecureSkipSignatureValidation is set: SAML responses are NOT \
                 verified and anyone can log in as anyone through this connector. Never use \
                 this outside a local experiment."
            );
        }
        if settings.sso_issuer.is_none() {
            tracing::warn!(
                connector = %connector_id,
                "ssoIssuer is not set: the assertion Issuer is not checked"
            );
        }
        Ok(Self { connector_id: connector_id.clone(), settings })
    }

    /// Every rule but the replay check (see the module docs for the order).
    pub fn accept(
        &self,
        saml_response: &str,
        in_response_to: &str,
        now: UnixTime,
    ) -> Result<Accepted, Rejection> {
        let xml = shape::decode(saml_response)?;
        shape::refuse_doctype(&xml)?;
        let shape = shape::scan(&xml)?;
        let (response, assertion) = match &self.settings.certs {
            Some(certs) if shape.encrypted && !shape.response_signed => {
                // The envelope is unsigned: only the decrypted assertion, itself signed, counts.
                (None, decrypt::signed_assertion(&xml, self.decryption_key()?, certs)?)
            }
            Some(certs) => match signature::verify(&xml, &shape, certs)? {
                Signed::Response(response) => {
                    let assertion = self.assertion_of(&response)?;
                    (Some(response), assertion)
                }
                Signed::Assertion(assertion) => (None, *assertion),
            },
            None => match signature::parse_signed(&xml)? {
                Signed::Response(response) => {
                    let assertion = self.assertion_of(&response)?;
                    (Some(response), assertion)
                }
                Signed::Assertion(_) => return Err(Rejection::NotAResponse),
            },
        };
        let expected = Expected {
            in_response_to,
            acs: &self.settings.acs_url,
            audience: &self.settings.entity_id,
            issuer: self.settings.sso_issuer.as_deref(),
            now,
        };
        let replay_expiry = validate::all(response.as_deref(), &assertion, &expected)?;
        Ok(Accepted { assertion, replay_expiry })
    }

    /// The assertion inside a signed Response: plain, or decrypted (covered by the Response's
    /// signature either way).
    fn assertion_of(&self, response: &Response) -> Result<Assertion, Rejection> {
        match (&response.assertion, &response.encrypted_assertion) {
            (Some(assertion), None) => Ok(assertion.clone()),
            (None, Some(encrypted)) => decrypt::assertion(encrypted, self.decryption_key()?),
            _ => Err(Rejection::AssertionCount(0)),
        }
    }

    fn decryption_key(&self) -> Result<&[u8], Rejection> {
        self.settings.decryption_key.as_deref().ok_or_else(|| {
            Rejection::Encrypted("the assertion is encrypted but no decryptionKey is configured".into())
        })
    }

    /// The replay cache key: assertion ids are scoped to the connector that accepted them.
    fn replay_key(&self, assertion: &Assertion) -> String {
        format!("{}\n{}", self.connector_id, assertion.id)
    }

    async fn handle(
        &self,
        scopes: Scopes,
        saml_response: &str,
        in_response_to: &str,
        now: UnixTime,
        replay: &dyn ReplayStore,
    ) -> Result<Identity, Rejection> {
        let accepted = self.accept(saml_response, in_response_to, now)?;
        let identity = identity::identity(&accepted.assertion, &self.settings.attributes, scopes)?;
        // Claimed last, so a response refused for another reason does not burn its id.
        let fresh = replay
            .claim_saml_assertion(&self.replay_key(&accepted.assertion), accepted.replay_expiry)
            .await
            .map_err(|e| Rejection::ReplayCacheUnavailable(e.to_string()))?;
        if !fresh {
            return Err(Rejection::Replayed);
        }
        Ok(identity)
    }
}

#[async_trait]
impl SamlLogin for Saml {
    fn authn_request(&self, relay_state: &str, now: UnixTime) -> Result<SamlRequest, ConnectorError> {
        request::authn_request(&self.settings, relay_state, now)
    }

    #[tracing::instrument(skip_all, fields(connector = %self.connector_id))]
    async fn handle_post(
        &self,
        scopes: Scopes,
        saml_response: &str,
        in_response_to: &str,
        now: UnixTime,
        replay: &dyn ReplayStore,
    ) -> Result<Identity, ConnectorError> {
        match self.handle(scopes, saml_response, in_response_to, now, replay).await {
            Ok(identity) => Ok(identity),
            Err(Rejection::NotInAllowedGroups) => {
                Err(ConnectorError::Refused("You are not a member of a group allowed to log in here.".into()))
            }
            Err(unavailable @ Rejection::ReplayCacheUnavailable(_)) => {
                Err(ConnectorError::Upstream(unavailable.to_string()))
            }
            Err(rejection) => {
                tracing::warn!(reason = %rejection, "SAML response rejected");
                Err(ConnectorError::Refused(
                    "The identity provider's answer could not be accepted. Please try again.".into(),
                ))
            }
        }
    }

    fn metadata(&self) -> String {
        request::metadata(&self.settings)
    }
}

#[async_trait]
impl Refresh for Saml {
    /// SAML has no refresh of its own: the identity from the login stands (as in Dex).
    async fn refresh(&self, _scopes: Scopes, identity: Identity) -> Result<Identity, ConnectorError> {
        Ok(identity)
    }
}
