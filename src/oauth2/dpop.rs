//! DPoP (RFC 9449): access tokens bound to a key the client holds, so that a stolen token is
//! useless without it.
//!
//! A DPoP proof is a JWT the client signs for each request (`typ: dpop+jwt`, its public key
//! in the `jwk` header), naming the method (`htm`) and URL (`htu`) it is for, when it was made
//! (`iat`), a unique `jti`, the access token's hash (`ath`) at a resource, and our `nonce`
//! when we ask for one. Checked here (§4.3): the signature with that key, never a symmetric or
//! private key; `htm`/`htu` against the endpoint that received it; `iat` within
//! [`MAX_AGE`] (plus [`LEEWAY`] of skew); `jti` once, on every replica (the replay cache in
//! storage); `ath`; the nonce.
//!
//! At the token endpoint a valid proof binds what is issued to the key's thumbprint (`jkt`,
//! RFC 7638): the access token carries `cnf.jkt` and is answered as `token_type: DPoP`; a
//! public client's refresh token is bound too (§5). `/userinfo` then wants the same key
//! (`Authorization: DPoP`), and introspection reports `cnf`.
//!
//! Nonces (§8), when `oauth2.dpop.nonces` is on: a nonce is an HMAC of the current minute
//! under a key derived from the data key all replicas share, so any replica accepts any
//! replica's nonce for one to two minutes, with nothing stored.

use super::error::{ErrorCode, OAuthError};
use super::grants::GrantContext;
use crate::types::UnixTime;
use base64::Engine;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use serde::Deserialize;

/// The `typ` of a proof.
pub const PROOF_TYPE: &str = "dpop+jwt";
/// The longest a proof is accepted after its `iat`.
pub const MAX_AGE: i64 = 120;
/// Tolerated clock skew (a proof from slightly in the future).
pub const LEEWAY: i64 = 30;
/// How long one nonce is current; the previous one is accepted too.
pub const NONCE_PERIOD: i64 = 60;
/// The algorithms a proof may use (discovery's `dpop_signing_alg_values_supported`).
pub const ALGORITHMS: [&str; 9] =
    ["ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"];

/// The DPoP settings and the nonce key, built once.
pub struct Dpop {
    /// `oauth2.dpop.nonces`: every proof must carry a nonce we issued.
    pub require_nonce: bool,
    nonce_key: Vec<u8>,
}

impl Dpop {
    /// `data_key`: the key all replicas share (its HMAC, not the key itself, makes nonces).
    pub fn new(require_nonce: bool, data_key: &[u8]) -> Self {
        Self { require_nonce, nonce_key: crate::crypto::hmac_sha256(data_key, b"tessera dpop nonce") }
    }

    /// The nonce current at `now`.
    pub fn nonce(&self, now: UnixTime) -> String {
        self.nonce_for(now.div_euclid(NONCE_PERIOD))
    }

    fn nonce_for(&self, period: i64) -> String {
        let mac = crate::crypto::hmac_sha256(&self.nonce_key, &period.to_be_bytes());
        let mac = mac.get(..16).unwrap_or(&mac);
        format!("{period}.{}", crate::crypto::base64url(mac))
    }

    fn nonce_is_fresh(&self, nonce: &str, now: UnixTime) -> bool {
        let current = now.div_euclid(NONCE_PERIOD);
        [current, current - 1].into_iter().any(|period| {
            crate::crypto::constant_time_eq(self.nonce_for(period).as_bytes(), nonce.as_bytes())
        })
    }
}

/// What a request's proof must match.
pub struct Expected<'a> {
    /// The HTTP method that carried it.
    pub method: &'a str,
    /// Our URL of the endpoint (no query or fragment).
    pub url: String,
    /// At a resource: the access token it goes with (`ath`).
    pub access_token: Option<&'a str>,
    /// At a resource, errors are challenges (`401`, `WWW-Authenticate: DPoP`).
    pub at_resource: bool,
}

#[derive(Deserialize)]
struct ProofClaims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<i64>,
    ath: Option<String>,
    nonce: Option<String>,
}

/// The key thumbprint (`jkt`) of the request's proof, `None` without one. `proofs` are the
/// values of every `DPoP` header: more than one is an error (§4.3 check 1).
pub async fn check(
    ctx: &GrantContext<'_>,
    proofs: &[String],
    expected: &Expected<'_>,
) -> Result<Option<String>, OAuthError> {
    let proof = match proofs {
        [] => return Ok(None),
        [one] => one.as_str(),
        _ => return Err(invalid(expected, "Send exactly one DPoP header.")),
    };
    let jkt = verify(ctx, proof, expected).await?;
    Ok(Some(jkt))
}

async fn verify(ctx: &GrantContext<'_>, proof: &str, expected: &Expected<'_>) -> Result<String, OAuthError> {
    let refuse = |why: &str| invalid(expected, &format!("Invalid DPoP proof: {why}."));
    let header = jsonwebtoken::decode_header(proof).map_err(|_| refuse("not a signed JWT"))?;
    if header.typ.as_deref() != Some(PROOF_TYPE) {
        return Err(refuse("its typ must be dpop+jwt"));
    }
    if !ALGORITHMS.contains(&format!("{:?}", header.alg).as_str()) {
        return Err(refuse("its alg must be an asymmetric algorithm"));
    }
    if carries_private_key(proof) {
        return Err(refuse("its jwk must be a public key"));
    }
    let jwk: Jwk = header.jwk.ok_or_else(|| refuse("it has no jwk"))?;
    if !super::client_assertion::key_fits(&jwk, header.alg) {
        return Err(refuse("its alg does not fit its jwk"));
    }
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| refuse("its jwk is not a usable key"))?;
    let claims: ProofClaims =
        super::client_assertion::signed_claims(proof, &key, header.alg).map_err(refuse)?;
    if claims.htm.as_deref() != Some(expected.method) {
        return Err(refuse("htm is not this request's method"));
    }
    if !same_url(claims.htu.as_deref().unwrap_or_default(), &expected.url) {
        return Err(refuse("htu is not this endpoint's URL"));
    }
    let now = ctx.now;
    let iat = claims.iat.ok_or_else(|| refuse("iat is required"))?;
    if iat > now + LEEWAY || iat < now - MAX_AGE {
        return Err(refuse("iat is too far from now"));
    }
    let jti =
        claims.jti.filter(|j| !j.is_empty() && j.len() <= 256).ok_or_else(|| refuse("a jti is required"))?;
    if let Some(token) = expected.access_token {
        let hash = crate::crypto::base64url(&crate::crypto::sha256(token.as_bytes()));
        if !claims.ath.is_some_and(|ath| crate::crypto::constant_time_eq(ath.as_bytes(), hash.as_bytes())) {
            return Err(refuse("ath is not the access token's hash"));
        }
    }
    if ctx.dpop.require_nonce && !claims.nonce.is_some_and(|n| ctx.dpop.nonce_is_fresh(&n, now)) {
        let mut e = OAuthError::new(ErrorCode::UseDpopNonce, "Use the DPoP nonce this response carries.");
        e.dpop = challenge(expected, Some(ctx.dpop.nonce(now)));
        return Err(e);
    }
    let jkt = jwk.thumbprint(ThumbprintHash::SHA256).map_err(|_| refuse("its jwk has no thumbprint"))?;
    let key = crate::crypto::sha256(format!("dpop\0{jkt}\0{jti}").as_bytes());
    let key: String = key.iter().map(|b| format!("{b:02x}")).collect();
    if !ctx.storage.claim_jwt_id(&key, iat + MAX_AGE + LEEWAY).await? {
        return Err(refuse("its jti was used before"));
    }
    Ok(jkt)
}

/// What an error adds to its response: `DPoP-Nonce`, and at a resource the challenge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DpopChallenge {
    /// `WWW-Authenticate: DPoP ...` with `401`, instead of the token endpoint's `400`.
    pub at_resource: bool,
    pub nonce: Option<String>,
}

fn challenge(expected: &Expected<'_>, nonce: Option<String>) -> Option<Box<DpopChallenge>> {
    Some(Box::new(DpopChallenge { at_resource: expected.at_resource, nonce }))
}

fn invalid(expected: &Expected<'_>, description: &str) -> OAuthError {
    let mut e = OAuthError::new(ErrorCode::InvalidDpopProof, description);
    e.dpop = challenge(expected, None);
    e
}

/// `invalid_token` at a resource, for a token and scheme that do not go together.
pub fn token_error(description: &str) -> OAuthError {
    let mut e = OAuthError::new(ErrorCode::InvalidToken, description);
    e.dpop = Some(Box::new(DpopChallenge { at_resource: true, nonce: None }));
    e
}

/// A proof's header with private key parts in its `jwk` (§4.3 check 7): the JWK type we
/// parse into would drop them silently, so the raw header is read.
fn carries_private_key(proof: &str) -> bool {
    let Some(header) = proof.split('.').next() else { return false };
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header) else { return false };
    let Ok(header) = serde_json::from_slice::<serde_json::Value>(&bytes) else { return false };
    let Some(jwk) = header.get("jwk") else { return false };
    ["d", "p", "q", "dp", "dq", "qi", "k"].iter().any(|part| jwk.get(part).is_some())
}

/// `htu` against our URL, both without query and fragment (§4.3 check 9), compared after
/// URL parsing (which lowercases the scheme and host and drops a default port).
fn same_url(htu: &str, ours: &str) -> bool {
    let strip = |s: &str| {
        url::Url::parse(s).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u
        })
    };
    matches!((strip(htu), strip(ours)), (Some(a), Some(b)) if a == b)
}

/// The key a token is bound to: its `cnf.jkt`.
pub fn bound_key(claims: &serde_json::Map<String, serde_json::Value>) -> Option<&str> {
    claims.get("cnf")?.get("jkt")?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_good_for_its_period_and_the_next() {
        let dpop = Dpop::new(true, b"data key");
        let t = 1_700_000_040;
        let nonce = dpop.nonce(t);
        assert!(dpop.nonce_is_fresh(&nonce, t));
        assert!(dpop.nonce_is_fresh(&nonce, t + NONCE_PERIOD));
        assert!(!dpop.nonce_is_fresh(&nonce, t + 2 * NONCE_PERIOD));
        assert!(!dpop.nonce_is_fresh(&nonce, t - NONCE_PERIOD), "not before it was made");
        assert!(!Dpop::new(true, b"another key").nonce_is_fresh(&nonce, t), "replicas share the data key");
        assert!(!dpop.nonce_is_fresh("", t));
    }

    #[test]
    fn htu_is_compared_as_a_url_without_query_or_fragment() {
        let ours = "https://idp.example/dex/token";
        for same in [
            "https://idp.example/dex/token",
            "HTTPS://IDP.example:443/dex/token",
            "https://idp.example/dex/token?x=1#f",
        ] {
            assert!(same_url(same, ours), "{same}");
        }
        for other in [
            "https://idp.example/dex/token/",
            "http://idp.example/dex/token",
            "https://idp.example:8443/dex/token",
            "token",
            "",
        ] {
            assert!(!same_url(other, ours), "{other}");
        }
    }

    #[test]
    fn a_private_key_in_the_header_is_noticed() {
        let b64 =
            |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let with_d = format!("{}.e30.sig", b64(serde_json::json!({"jwk": {"kty": "EC", "d": "secret"}})));
        assert!(carries_private_key(&with_d));
        let public =
            format!("{}.e30.sig", b64(serde_json::json!({"jwk": {"kty": "EC", "x": "a", "y": "b"}})));
        assert!(!carries_private_key(&public));
    }
}
