//! The rules a signed response must meet (SAML core §2–3, profiles §4.1.4 "Web Browser SSO"),
//! one function each. They read only signed content (see `signature`); times come from the
//! injected clock, with [`CLOCK_SKEW`] of tolerance both ways.

use super::rejection::Rejection;
use crate::types::UnixTime;
use samael::schema::{Assertion, Conditions, Response, Subject};

/// How far the identity provider's clock may be from ours (Dex allows the same 30 s).
pub const CLOCK_SKEW: i64 = 30;

const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// What the response must match.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    /// The `ID` of our pending `AuthnRequest`.
    pub in_response_to: &'a str,
    /// Our Assertion Consumer Service URL (`redirectURI`).
    pub acs: &'a str,
    /// Our entity id (`entityIssuer`, or `redirectURI` when unset).
    pub audience: &'a str,
    /// `ssoIssuer`, when configured.
    pub issuer: Option<&'a str>,
    pub now: UnixTime,
}

/// Status (core §3.2.2.2): only `Success` logs anyone in.
pub fn status(response: &Response) -> Result<(), Rejection> {
    let code = response.status.as_ref().and_then(|s| s.status_code.value.clone()).unwrap_or_default();
    if code != SUCCESS {
        let short = code.rsplit(':').next().unwrap_or_default().to_string();
        return Err(Rejection::Status(if short.is_empty() { "no status".into() } else { short }));
    }
    Ok(())
}

/// SAML 2.0 only.
pub fn version(version: &str) -> Result<(), Rejection> {
    if version != "2.0" {
        return Err(Rejection::Version(version.into()));
    }
    Ok(())
}

/// Destination (bindings §3.5.5.2): a signed response must name our ACS.
pub fn destination(response: &Response, expected: &Expected<'_>) -> Result<(), Rejection> {
    match response.destination.as_deref() {
        Some(d) if d == expected.acs => Ok(()),
        other => Err(Rejection::Destination(other.unwrap_or_default().into())),
    }
}

/// The response answers our pending request (profiles §4.1.4.2), not another one.
pub fn response_in_response_to(response: &Response, expected: &Expected<'_>) -> Result<(), Rejection> {
    match response.in_response_to.as_deref() {
        Some(id) if id == expected.in_response_to => Ok(()),
        other => Err(Rejection::InResponseTo(other.unwrap_or_default().into())),
    }
}

/// Issuer: when `ssoIssuer` is set, the Response's (if it has one) and the assertion's.
pub fn issuer(
    response: Option<&Response>,
    assertion: &Assertion,
    expected: &Expected<'_>,
) -> Result<(), Rejection> {
    let Some(want) = expected.issuer else {
        return Ok(());
    };
    let response_issuer = response.and_then(|r| r.issuer.as_ref()).and_then(|i| i.value.as_deref());
    for got in
        response_issuer.into_iter().chain(std::iter::once(assertion.issuer.value.as_deref().unwrap_or("")))
    {
        if got != want {
            return Err(Rejection::Issuer(got.into()));
        }
    }
    Ok(())
}

/// Audience (core §2.5.1.4, profiles §4.1.4.2): the assertion must be restricted to us; every
/// `AudienceRestriction` must name us.
pub fn audience(assertion: &Assertion, expected: &Expected<'_>) -> Result<(), Rejection> {
    let restrictions = assertion.conditions.as_ref().and_then(|c| c.audience_restrictions.as_ref());
    match restrictions {
        Some(all)
            if !all.is_empty() && all.iter().all(|r| r.audience.iter().any(|a| a == expected.audience)) =>
        {
            Ok(())
        }
        _ => Err(Rejection::Audience),
    }
}

/// `NotBefore <= now < NotOnOrAfter`, each with [`CLOCK_SKEW`].
fn window(not_before: Option<i64>, not_on_or_after: Option<i64>, now: UnixTime) -> Result<(), Rejection> {
    if not_before.is_some_and(|t| now + CLOCK_SKEW < t) {
        return Err(Rejection::NotYetValid);
    }
    if not_on_or_after.is_some_and(|t| now >= t + CLOCK_SKEW) {
        return Err(Rejection::Expired);
    }
    Ok(())
}

/// Conditions validity period (core §2.5.1.2).
pub fn conditions_time(conditions: Option<&Conditions>, now: UnixTime) -> Result<(), Rejection> {
    let Some(c) = conditions else {
        return Ok(());
    };
    window(c.not_before.map(|t| t.timestamp()), c.not_on_or_after.map(|t| t.timestamp()), now)
}

/// Bearer subject confirmation (profiles §4.1.4.2): one `SubjectConfirmation` with method
/// bearer whose data answers our request, names our ACS as `Recipient` and has not expired
/// (`NotOnOrAfter` is required). Returns when it expires.
pub fn subject_confirmation(
    subject: Option<&Subject>,
    expected: &Expected<'_>,
) -> Result<UnixTime, Rejection> {
    let confirmations = subject.and_then(|s| s.subject_confirmations.as_ref()).cloned().unwrap_or_default();
    let mut reasons = Vec::new();
    for c in confirmations {
        let check = || -> Result<UnixTime, Rejection> {
            if c.method.as_deref() != Some(BEARER) {
                return Err(Rejection::SubjectConfirmation("method is not bearer".into()));
            }
            let data = c
                .subject_confirmation_data
                .as_ref()
                .ok_or_else(|| Rejection::SubjectConfirmation("no SubjectConfirmationData".into()))?;
            if data.in_response_to.as_deref() != Some(expected.in_response_to) {
                return Err(Rejection::InResponseTo(data.in_response_to.clone().unwrap_or_default()));
            }
            if data.recipient.as_deref() != Some(expected.acs) {
                return Err(Rejection::SubjectConfirmation(format!("Recipient {:?}", data.recipient)));
            }
            let not_on_or_after = data
                .not_on_or_after
                .map(|t| t.timestamp())
                .ok_or_else(|| Rejection::SubjectConfirmation("no NotOnOrAfter".into()))?;
            window(data.not_before.map(|t| t.timestamp()), Some(not_on_or_after), expected.now)?;
            Ok(not_on_or_after)
        };
        match check() {
            Ok(expiry) => return Ok(expiry),
            Err(e) => reasons.push(e),
        }
    }
    // One failing confirmation is reported as itself, so tests (and logs) see the exact rule.
    match reasons.len() {
        0 => Err(Rejection::SubjectConfirmation("none".into())),
        1 => Err(reasons.remove(0)),
        _ => Err(Rejection::SubjectConfirmation(
            reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
        )),
    }
}

/// Until when the assertion's id must be remembered: past this it is refused as expired anyway.
pub fn replay_expiry(assertion: &Assertion, confirmation_expiry: UnixTime) -> UnixTime {
    let conditions = assertion.conditions.as_ref().and_then(|c| c.not_on_or_after).map(|t| t.timestamp());
    conditions.unwrap_or(confirmation_expiry).max(confirmation_expiry) + CLOCK_SKEW
}

/// Every rule on the signed content, in order. The Response's own fields are checked only
/// when the Response is signed (otherwise they are not trusted, nor read).
pub fn all(
    response: Option<&Response>,
    assertion: &Assertion,
    expected: &Expected<'_>,
) -> Result<UnixTime, Rejection> {
    if let Some(response) = response {
        version(&response.version)?;
        status(response)?;
        destination(response, expected)?;
        response_in_response_to(response, expected)?;
    }
    version(&assertion.version)?;
    issuer(response, assertion, expected)?;
    audience(assertion, expected)?;
    conditions_time(assertion.conditions.as_ref(), expected.now)?;
    let confirmed_until = subject_confirmation(assertion.subject.as_ref(), expected)?;
    Ok(replay_expiry(assertion, confirmed_until))
}
