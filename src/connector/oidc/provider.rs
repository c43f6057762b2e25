//! The upstream provider as discovered (OpenID Connect Discovery 1.0 §4), and verification of
//! the ID tokens it issues (OpenID Connect Core 1.0 §3.1.3.7) with the `openidconnect` crate.
//!
//! Verification checks the signature against the provider's JWKS with only the asymmetric
//! algorithms the provider announces (RS256 when it announces none): `alg: none` and HMAC
//! algorithms are never accepted, so a token "signed" with the public key as an HMAC secret
//! fails. Then `iss` (the issuer, or `issuerAlias`), `aud` (our client id, unless told
//! otherwise), `exp`, and the nonce of the login. A token signed by a key we do not know (an
//! unknown `kid`) makes us fetch the JWKS again, at most every [`JWKS_REFRESH_INTERVAL`],
//! so the provider can rotate its keys.

use super::config::Config;
use crate::connector::ConnectorError;
use crate::connector::http::OidcHttp;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{
    ClaimsVerificationError, ClientId, IssuerUrl, JsonWebKeySetUrl, Nonce, SignatureVerificationError,
};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::RwLock;
use std::time::{Duration, Instant};
use url::Url;

/// The JWKS is fetched again for an unknown key at most this often.
const JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(10);

/// The discovery document fields the connector uses.
#[derive(Debug, Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
    jwks_uri: String,
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<Value>,
    #[serde(default)]
    code_challenge_methods_supported: Vec<String>,
    end_session_endpoint: Option<String>,
}

/// How to check an ID token's audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// `aud` must contain our client id (logins and refreshes).
    Ours,
    /// Any audience (token exchange, as Dex: the connector's grant types and the client's
    /// allowed connectors decide who may exchange).
    Any,
}

/// A discovered provider.
pub struct Provider {
    pub issuer: IssuerUrl,
    pub auth_url: Url,
    pub token_url: Url,
    pub userinfo_url: Option<Url>,
    pub end_session_url: Option<Url>,
    /// `S256` or `plain` when PKCE is used.
    pub pkce: Option<String>,
    jwks_url: JsonWebKeySetUrl,
    jwks: RwLock<(CoreJsonWebKeySet, Instant)>,
    algorithms: Vec<CoreJwsSigningAlgorithm>,
}

fn upstream(what: &str, e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Upstream(format!("{what}: {e}"))
}

fn url_or_override(
    what: &str,
    discovered: Option<&str>,
    overridden: &Option<String>,
) -> Result<Option<Url>, ConnectorError> {
    match overridden.as_deref().filter(|u| !u.is_empty()).or(discovered).filter(|u| !u.is_empty()) {
        None => Ok(None),
        Some(u) => Url::parse(u).map(Some).map_err(|e| upstream(&format!("{what} {u:?}"), e)),
    }
}

impl Provider {
    /// Fetches the discovery document and the JWKS.
    pub async fn discover(config: &Config, http: &OidcHttp) -> Result<Self, ConnectorError> {
        let base = config.issuer.trim_end_matches('/');
        let response = http
            .0
            .get(format!("{base}/.well-known/openid-configuration"))
            .send()
            .await
            .map_err(|e| upstream("discovery", e))?;
        if !response.status().is_success() {
            return Err(upstream("discovery", format!("status {}", response.status())));
        }
        let metadata: Metadata = response.json().await.map_err(|e| upstream("discovery document", e))?;
        let expected = if config.issuer_alias.is_empty() { &config.issuer } else { &config.issuer_alias };
        if &metadata.issuer != expected {
            return Err(upstream(
                "discovery",
                format!("the provider calls itself {:?}, expected {expected:?}", metadata.issuer),
            ));
        }
        let overrides = &config.provider_discovery_overrides;
        let need =
            |what: &str, url: Option<Url>| url.ok_or_else(|| upstream("discovery", format!("no {what}")));
        let auth_url = need(
            "authorization_endpoint",
            url_or_override(
                "authorization endpoint",
                Some(&metadata.authorization_endpoint),
                &overrides.auth_url,
            )?,
        )?;
        let token_url = need(
            "token_endpoint",
            url_or_override("token endpoint", metadata.token_endpoint.as_deref(), &overrides.token_url)?,
        )?;
        let userinfo_url = url_or_override(
            "userinfo endpoint",
            metadata.userinfo_endpoint.as_deref(),
            &overrides.user_info_url,
        )?;
        let end_session_url = url_or_override(
            "end_session_endpoint",
            metadata.end_session_endpoint.as_deref(),
            &overrides.end_session_url,
        )?;
        if let Some(url) = &end_session_url
            && !matches!(url.scheme(), "http" | "https")
        {
            return Err(upstream("end_session_endpoint", "must be an http or https URL"));
        }
        let jwks_uri = overrides.jwks_url.clone().filter(|u| !u.is_empty()).unwrap_or(metadata.jwks_uri);
        let jwks_url = JsonWebKeySetUrl::new(jwks_uri).map_err(|e| upstream("jwks_uri", e))?;
        let jwks = CoreJsonWebKeySet::fetch_async(&jwks_url, http).await.map_err(|e| upstream("JWKS", e))?;
        let issuer = IssuerUrl::new(expected.clone()).map_err(|e| upstream("issuer", e))?;
        let methods = &metadata.code_challenge_methods_supported;
        let pkce = match config.pkce_challenge.as_str() {
            "" if methods.iter().any(|m| m == "S256") => Some("S256".to_string()),
            "" if methods.iter().any(|m| m == "plain") => Some("plain".to_string()),
            "" => None,
            chosen => {
                if !methods.iter().any(|m| m == chosen) {
                    tracing::warn!(
                        method = chosen,
                        "the provider does not announce this pkceChallenge method"
                    );
                }
                Some(chosen.to_string())
            }
        };
        Ok(Self {
            issuer,
            auth_url,
            token_url,
            userinfo_url,
            end_session_url,
            pkce,
            jwks_url,
            jwks: RwLock::new((jwks, Instant::now())),
            algorithms: algorithms(&metadata.id_token_signing_alg_values_supported),
        })
    }

    fn verifier(&self, client_id: &ClientId, audience: Audience) -> CoreIdTokenVerifier<'static> {
        let jwks = match self.jwks.read() {
            Ok(guard) => guard.0.clone(),
            Err(poisoned) => poisoned.into_inner().0.clone(),
        };
        CoreIdTokenVerifier::new_public_client(client_id.clone(), self.issuer.clone(), jwks)
            .set_allowed_algs(self.algorithms.clone())
            .require_audience_match(audience == Audience::Ours)
    }

    /// Verifies an ID token and returns all its claims. `nonce`: the one this login sent
    /// (`None` for refreshes and token exchange, where none is expected).
    pub async fn verify(
        &self,
        http: &OidcHttp,
        client_id: &ClientId,
        raw: &str,
        nonce: Option<&Nonce>,
        audience: Audience,
    ) -> Result<Map<String, Value>, ConnectorError> {
        let refused = |e: &dyn std::fmt::Display| {
            tracing::warn!(error = %e, "upstream ID token rejected");
            ConnectorError::Refused("The identity provider's ID token could not be verified.".into())
        };
        let token: CoreIdToken = raw.parse().map_err(|e| refused(&e))?;
        let check = |verifier: &CoreIdTokenVerifier<'_>| match nonce {
            Some(nonce) => token.claims(verifier, nonce).map(|_| ()),
            None => token.claims(verifier, |_: Option<&Nonce>| Ok(())).map(|_| ()),
        };
        match check(&self.verifier(client_id, audience)) {
            Ok(()) => {}
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) if self.refresh_jwks(http).await? => {
                check(&self.verifier(client_id, audience)).map_err(|e| refused(&e))?;
            }
            Err(e) => return Err(refused(&e)),
        }
        payload(raw).ok_or_else(|| refused(&"unreadable payload"))
    }

    /// Fetches the JWKS again unless that was done very recently; `true` when it was.
    async fn refresh_jwks(&self, http: &OidcHttp) -> Result<bool, ConnectorError> {
        let recent = match self.jwks.read() {
            Ok(guard) => guard.1.elapsed() < JWKS_REFRESH_INTERVAL,
            Err(_) => false,
        };
        if recent {
            return Ok(false);
        }
        let jwks =
            CoreJsonWebKeySet::fetch_async(&self.jwks_url, http).await.map_err(|e| upstream("JWKS", e))?;
        match self.jwks.write() {
            Ok(mut guard) => *guard = (jwks, Instant::now()),
            Err(poisoned) => *poisoned.into_inner() = (jwks, Instant::now()),
        }
        Ok(true)
    }
}

/// The announced signing algorithms that are asymmetric; RS256 when there are none.
fn algorithms(announced: &[Value]) -> Vec<CoreJwsSigningAlgorithm> {
    use CoreJwsSigningAlgorithm as A;
    let asymmetric: Vec<A> = announced
        .iter()
        .filter_map(|v| serde_json::from_value::<A>(v.clone()).ok())
        .filter(|a| {
            matches!(
                a,
                A::RsaSsaPkcs1V15Sha256
                    | A::RsaSsaPkcs1V15Sha384
                    | A::RsaSsaPkcs1V15Sha512
                    | A::RsaSsaPssSha256
                    | A::RsaSsaPssSha384
                    | A::RsaSsaPssSha512
                    | A::EcdsaP256Sha256
                    | A::EcdsaP384Sha384
                    | A::EcdsaP521Sha512
                    | A::EdDsa
            )
        })
        .collect();
    if asymmetric.is_empty() { vec![A::RsaSsaPkcs1V15Sha256] } else { asymmetric }
}

/// The claims of a JWT whose signature was verified.
fn payload(raw: &str) -> Option<Map<String, Value>> {
    let part = raw.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_asymmetric_algorithms_are_allowed() {
        use CoreJwsSigningAlgorithm as A;
        assert_eq!(algorithms(&[json!("HS256"), json!("none"), json!("ES256")]), [A::EcdsaP256Sha256]);
        assert_eq!(algorithms(&[json!("HS256")]), [A::RsaSsaPkcs1V15Sha256]);
        assert_eq!(algorithms(&[]), [A::RsaSsaPkcs1V15Sha256]);
    }
}
