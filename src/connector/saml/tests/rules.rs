//! Positive cases and one test per validation rule.

use super::super::{Rejection, Saml, validate};
use super::kit::{self, ACS, NOW, REQUEST_ID, Sign, Spec, b64, signed};
use crate::connector::{SamlLogin, Scopes};
use crate::storage::ReplayStore;
use std::collections::HashSet;
use std::sync::Mutex;

pub(crate) fn saml() -> Saml {
    Saml { connector_id: "saml".into(), settings: kit::settings() }
}

pub(super) fn accept(xml: &str) -> Result<String, Rejection> {
    saml().accept(&b64(xml), REQUEST_ID, NOW).map(|a| super::super::identity::name_id(&a.assertion).unwrap())
}

/// An in-memory replay cache (the SQL one has its own conformance tests).
#[derive(Default)]
pub(super) struct Seen(Mutex<HashSet<String>>);

#[async_trait::async_trait]
impl ReplayStore for Seen {
    async fn claim_saml_assertion(&self, id: &str, _expiry: i64) -> crate::storage::Result<bool> {
        Ok(self.0.lock().unwrap().insert(id.to_string()))
    }
    async fn claim_jwt_id(&self, _key: &str, _expiry: i64) -> crate::storage::Result<bool> {
        unreachable!("SAML claims only assertion ids")
    }
}

#[test]
fn signed_response_is_accepted() {
    assert_eq!(accept(&signed(&Spec::default(), Sign::Response)).unwrap(), "jane@example.com");
}

#[test]
fn signed_assertion_is_accepted() {
    assert_eq!(accept(&signed(&Spec::default(), Sign::Assertion)).unwrap(), "jane@example.com");
}

#[test]
fn signed_response_and_assertion_are_accepted() {
    assert_eq!(accept(&signed(&Spec::default(), Sign::Both)).unwrap(), "jane@example.com");
}

#[test]
fn several_configured_certificates_any_may_sign() {
    let mut saml = saml();
    saml.settings.certs = Some(vec![kit::pem_der("other.crt"), kit::pem_der("idp.crt")]);
    let xml = signed(&Spec::default(), Sign::Assertion);
    assert!(saml.accept(&b64(&xml), REQUEST_ID, NOW).is_ok());
}

#[tokio::test]
async fn identity_maps_dex_attributes_and_groups() {
    let xml = signed(&Spec::default(), Sign::Response);
    let scopes = Scopes { groups: true, offline_access: false };
    let identity = saml().handle_post(scopes, &b64(&xml), REQUEST_ID, NOW, &Seen::default()).await.unwrap();
    assert_eq!(identity.claims.user_id, "jane@example.com");
    assert_eq!(identity.claims.username, "Jane Doe");
    assert_eq!(identity.claims.email, "jane@example.com");
    assert!(identity.claims.email_verified);
    assert_eq!(identity.claims.groups, ["admins", "devs"]);
}

#[tokio::test]
async fn allowed_groups_refuse_outsiders_and_filter() {
    let mut saml = saml();
    saml.settings.attributes.allowed_groups = vec!["devs".into()];
    saml.settings.attributes.filter_groups = true;
    let scopes = Scopes { groups: true, offline_access: false };
    let xml = signed(&Spec::default(), Sign::Response);
    let identity = saml.handle(scopes, &b64(&xml), REQUEST_ID, NOW, &Seen::default()).await.unwrap();
    assert_eq!(identity.claims.groups, ["devs"]);
    saml.settings.attributes.allowed_groups = vec!["ops".into()];
    let xml = signed(&Spec { assertion_id: "_other".into(), ..Spec::default() }, Sign::Response);
    let refused = saml.handle(scopes, &b64(&xml), REQUEST_ID, NOW, &Seen::default()).await;
    assert_eq!(refused.unwrap_err(), Rejection::NotInAllowedGroups);
}

#[tokio::test]
async fn replayed_assertion_is_refused() {
    let seen = Seen::default();
    let xml = b64(&signed(&Spec::default(), Sign::Response));
    let scopes = Scopes::default();
    saml().handle(scopes, &xml, REQUEST_ID, NOW, &seen).await.unwrap();
    assert_eq!(
        saml().handle(scopes, &xml, REQUEST_ID, NOW + 5, &seen).await.unwrap_err(),
        Rejection::Replayed
    );
}

/// A replay cache that cannot be reached.
struct Unreachable;

#[async_trait::async_trait]
impl ReplayStore for Unreachable {
    async fn claim_saml_assertion(&self, _id: &str, _expiry: i64) -> crate::storage::Result<bool> {
        Err(crate::storage::StorageError::Backend("connection refused".into()))
    }
    async fn claim_jwt_id(&self, _key: &str, _expiry: i64) -> crate::storage::Result<bool> {
        Err(crate::storage::StorageError::Backend("connection refused".into()))
    }
}

#[tokio::test]
async fn an_unreachable_replay_cache_is_a_failure_not_a_refusal() {
    let xml = b64(&signed(&Spec::default(), Sign::Response));
    let scopes = Scopes::default();
    assert_eq!(
        saml().handle(scopes, &xml, REQUEST_ID, NOW, &Unreachable).await.unwrap_err(),
        Rejection::ReplayCacheUnavailable("storage backend: connection refused".into())
    );
    let error = saml().handle_post(scopes, &xml, REQUEST_ID, NOW, &Unreachable).await.unwrap_err();
    assert!(
        matches!(&error, crate::connector::ConnectorError::Upstream(cause)
            if cause == "replay cache unavailable: storage backend: connection refused"),
        "{error:?}"
    );
}

#[test]
fn in_response_to_of_another_request_is_refused() {
    let xml = signed(&Spec::default(), Sign::Both);
    let got = saml().accept(&b64(&xml), "_another-request", NOW).unwrap_err();
    assert_eq!(got, Rejection::InResponseTo(REQUEST_ID.into()));
    // Only the assertion signed: the subject confirmation's InResponseTo is what binds it.
    let spec = Spec { confirmation_in_response_to: "_stolen".into(), ..Spec::default() };
    assert_eq!(
        accept(&signed(&spec, Sign::Assertion)).unwrap_err(),
        Rejection::InResponseTo("_stolen".into())
    );
}

#[test]
fn wrong_destination_is_refused() {
    let spec = Spec { destination: "https://other-sp.example.com/acs".into(), ..Spec::default() };
    assert!(matches!(accept(&signed(&spec, Sign::Response)), Err(Rejection::Destination(_))));
}

#[test]
fn wrong_recipient_is_refused() {
    let spec = Spec { recipient: "https://other-sp.example.com/acs".into(), ..Spec::default() };
    assert!(matches!(accept(&signed(&spec, Sign::Assertion)), Err(Rejection::SubjectConfirmation(_))));
}

#[test]
fn wrong_audience_is_refused() {
    let spec = Spec { audience: "https://other-sp.example.com".into(), ..Spec::default() };
    assert_eq!(accept(&signed(&spec, Sign::Response)).unwrap_err(), Rejection::Audience);
}

#[test]
fn wrong_issuer_is_refused() {
    let spec = Spec { issuer: "https://evil-idp.example.com".into(), ..Spec::default() };
    assert!(matches!(accept(&signed(&spec, Sign::Response)), Err(Rejection::Issuer(_))));
}

#[test]
fn failed_status_is_refused() {
    let spec = Spec { status: "urn:oasis:names:tc:SAML:2.0:status:Requester".into(), ..Spec::default() };
    assert_eq!(accept(&signed(&spec, Sign::Response)).unwrap_err(), Rejection::Status("Requester".into()));
}

#[test]
fn expired_assertion_is_refused() {
    let spec = Spec { not_on_or_after: NOW - 60, ..Spec::default() };
    assert_eq!(accept(&signed(&spec, Sign::Response)).unwrap_err(), Rejection::Expired);
    let spec = Spec { confirmation_not_on_or_after: NOW - 60, ..Spec::default() };
    assert_eq!(accept(&signed(&spec, Sign::Response)).unwrap_err(), Rejection::Expired);
}

#[test]
fn future_assertion_is_refused() {
    let spec = Spec { not_before: NOW + 120, ..Spec::default() };
    assert_eq!(accept(&signed(&spec, Sign::Response)).unwrap_err(), Rejection::NotYetValid);
}

#[test]
fn clock_skew_is_bounded() {
    let xml = signed(&Spec { not_on_or_after: NOW, ..Spec::default() }, Sign::Response);
    assert!(saml().accept(&b64(&xml), REQUEST_ID, NOW + validate::CLOCK_SKEW - 1).is_ok());
    let late = saml().accept(&b64(&xml), REQUEST_ID, NOW + validate::CLOCK_SKEW).unwrap_err();
    assert_eq!(late, Rejection::Expired);
}

#[test]
fn acs_constant_is_the_callback() {
    assert!(ACS.ends_with("/callback"));
}

#[test]
fn opening_needs_signature_verification_in_the_build() {
    let config = serde_json::json!({
        "ssoURL": "https://idp.example.com/sso",
        "ca": format!("{}/idp.crt", kit::FIXTURES),
        "redirectURI": ACS,
        "usernameAttr": "name",
        "emailAttr": "email",
    });
    let opened = Saml::open(&"saml".into(), serde_json::from_value(config).unwrap());
    assert_eq!(opened.is_ok(), super::super::SIGNATURES_SUPPORTED);
}
