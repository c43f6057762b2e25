//! Stands in for the SAML connector in a build without the `saml-xmlsec` feature: such a build
//! cannot verify XML signatures, so a `type: saml` connector refuses to open (and the
//! connector is skipped with that error at start).

use crate::connector::{ConnectorError, Identity, Refresh, SamlLogin, SamlRequest, Scopes};
use crate::storage::ReplayStore;
use crate::types::ConnectorId;
use crate::types::UnixTime;
use async_trait::async_trait;

pub const SIGNATURES_SUPPORTED: bool = false;

/// Never constructed.
pub enum Saml {}

impl Saml {
    pub fn open(_connector_id: &ConnectorId, _config: SamlConfig) -> Result<Self, ConnectorError> {
        Err(ConnectorError::Upstream(
            "this build of Tessera cannot verify SAML signatures (built without the saml-xmlsec \
             feature); refusing to open a SAML connector"
                .into(),
        ))
    }
}

#[async_trait]
impl SamlLogin for Saml {
    fn authn_request(&self, _relay_state: &str, _now: UnixTime) -> Result<SamlRequest, ConnectorError> {
        match *self {}
    }

    async fn handle_post(
        &self,
        _scopes: Scopes,
        _saml_response: &str,
        _in_response_to: &str,
        _now: UnixTime,
        _replay: &dyn ReplayStore,
    ) -> Result<Identity, ConnectorError> {
        match *self {}
    }

    fn metadata(&self) -> String {
        match *self {}
    }
}

#[async_trait]
impl Refresh for Saml {
    async fn refresh(&self, _scopes: Scopes, _identity: Identity) -> Result<Identity, ConnectorError> {
        match *self {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn refuses_to_open() {
        assert!(super::Saml::open("saml", serde_json::json!({})).is_err());
    }
}
