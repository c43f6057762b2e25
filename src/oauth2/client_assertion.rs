//! Client authentication with a signed JWT (RFC 7523 §2.2 and §3, OIDC Core §9):
//! `client_secret_jwt` (HMAC with the client's secret) and `private_key_jwt` (the client's
//! private key; its public keys registered as `jwks` or published at `jwksURI`).
//!
//! The rules, each checked against our clock:
//! - the signing algorithm comes from the client's registration: HS256/384/512 for
//!   `client_secret_jwt`; for `private_key_jwt` the key's own family (RSA, PS, EC, EdDSA) and,
//!   when the JWK names one, its `alg`: never `none`, never HMAC with a public key;
//! - `iss` and `sub` are the client's id; `aud` names us: the issuer (FAPI 2.0 and RFC
//!   7523bis want this) or the URL of an endpoint that takes client authentication (OIDC Core
//!   §9 names the token endpoint);
//! - `exp` is required, not past, and at most [`MAX_LIFETIME`] ahead; `nbf` and `iat` not in
//!   the future ([`LEEWAY`] for clock skew);
//! - `jti` is required and works once, on every replica (`ReplayStore::claim_jwt_id`).

use super::client_keys::ClientKeys;
use super::error::OAuthError;
use super::grants::GrantContext;
use super::paths;
use crate::protocol::ClientAuthMethod;
use crate::storage::Client;
use crate::types::UnixTime;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::sync::Arc;

#[cfg(test)]
mod tests;

/// `client_assertion_type` for a JWT (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The furthest ahead an assertion's `exp` may be. Every used `jti` is remembered until its
/// `exp`, so this bounds the replay cache; an hour is what common client libraries use.
pub const MAX_LIFETIME: i64 = 3600;
/// Tolerated clock skew between the client and us.
pub const LEEWAY: i64 = 30;

/// The signing algorithms announced in discovery, for `private_key_jwt` and `client_secret_jwt`.
pub const ALGORITHMS: [&str; 12] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA", "HS256", "HS384",
    "HS512",
];

#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    #[serde(default)]
    aud: Audience,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    jti: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
    #[default]
    None,
}

impl Audience {
    fn values(&self) -> &[String] {
        match self {
            Self::One(one) => std::slice::from_ref(one),
            Self::Many(many) => many,
            Self::None => &[],
        }
    }
}

/// The client an assertion says it comes from (its `sub`, else `iss`), read without checking
/// anything: only to find the client whose keys then check it (RFC 7523 §3 lets the client
/// leave out `client_id`).
pub fn claimed_client(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    ["sub", "iss"].iter().find_map(|name| claims.get(*name)?.as_str().map(str::to_string))
}

/// Checks `assertion` for `client`, registered with `method` (one of the two JWT methods),
/// and uses up its `jti`. Every refusal is `invalid_client`, with the reason.
pub async fn verify(
    ctx: &GrantContext<'_>,
    client: &Client,
    method: ClientAuthMethod,
    assertion: &str,
) -> Result<(), OAuthError> {
    let refuse = |why: &str| OAuthError::invalid_client(format!("Invalid client assertion: {why}"), false);
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| refuse("not a signed JWT"))?;
    let key = match method {
        ClientAuthMethod::ClientSecretJwt => secret_key(client, header.alg).map_err(refuse)?,
        ClientAuthMethod::PrivateKeyJwt => {
            let keys = registered_keys(ctx.client_keys, client, header.kid.as_deref(), ctx.now).await?;
            public_key(&keys, header.kid.as_deref(), header.alg).map_err(refuse)?
        }
        _ => return Err(refuse("this client does not authenticate with a JWT")),
    };
    // Only the signature here: every claim is checked below, against our clock.
    let claims: Claims = signed_claims(assertion, &key, header.alg).map_err(refuse)?;
    check_claims(ctx, client, &claims).map_err(refuse)?;
    let jti = claims.jti.as_deref().unwrap_or_default();
    let expiry = claims.exp.unwrap_or_default() + LEEWAY;
    if !ctx.storage.claim_jwt_id(&replay_key(client, jti), expiry).await? {
        return Err(refuse("its jti was used before"));
    }
    Ok(())
}

/// A JWT's claims once its signature verifies with `key` under `alg`; no claim is checked (the
/// callers check them against our clock, which jsonwebtoken does not know).
pub(super) fn signed_claims<T: serde::de::DeserializeOwned>(
    jwt: &str,
    key: &DecodingKey,
    alg: Algorithm,
) -> Result<T, &'static str> {
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<T>(jwt, key, &validation).map(|data| data.claims).map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::InvalidSignature => "the signature does not verify",
        _ => "the JWT could not be read",
    })
}

fn check_claims(ctx: &GrantContext<'_>, client: &Client, c: &Claims) -> Result<(), &'static str> {
    let id = client.id.as_str();
    if c.iss.as_deref() != Some(id) || c.sub.as_deref() != Some(id) {
        return Err("iss and sub must both be the client_id");
    }
    let audiences = accepted_audiences(ctx);
    if !c.aud.values().iter().any(|aud| audiences.contains(aud)) {
        return Err("aud must be the issuer or the endpoint's URL");
    }
    let now = ctx.now;
    match c.exp {
        None => return Err("exp is required"),
        Some(exp) if exp + LEEWAY <= now => return Err("it has expired"),
        Some(exp) if exp > now + MAX_LIFETIME + LEEWAY => return Err("exp is too far ahead"),
        Some(_) => {}
    }
    if c.nbf.is_some_and(|nbf| nbf > now + LEEWAY) || c.iat.is_some_and(|iat| iat > now + LEEWAY) {
        return Err("it is not valid yet");
    }
    if c.jti.as_deref().is_none_or(str::is_empty) {
        return Err("jti is required");
    }
    Ok(())
}

/// The issuer and every endpoint where a client authenticates.
fn accepted_audiences(ctx: &GrantContext<'_>) -> Vec<String> {
    let s = ctx.settings;
    let mut accepted = vec![s.issuer.clone(), format!("{}/", s.issuer)];
    for path in [paths::TOKEN, paths::PAR, paths::INTROSPECTION, paths::REVOCATION, paths::DEVICE_CODE] {
        accepted.push(s.endpoint(path));
    }
    accepted
}

/// What the replay cache remembers: a digest, so the length of a `jti` does not matter.
fn replay_key(client: &Client, jti: &str) -> String {
    let digest = crate::crypto::sha256(format!("client_assertion\0{}\0{jti}", client.id.as_str()).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn secret_key(client: &Client, alg: Algorithm) -> Result<DecodingKey, &'static str> {
    if !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
        return Err("client_secret_jwt is signed with HS256, HS384 or HS512");
    }
    if client.secret.is_empty() {
        // A client created through the admin API keeps only a hash of its secret.
        return Err("this client's secret is kept only as a hash; it cannot check an HMAC");
    }
    Ok(DecodingKey::from_secret(client.secret.expose().as_bytes()))
}

async fn registered_keys(
    cache: &ClientKeys,
    client: &Client,
    kid: Option<&str>,
    now: UnixTime,
) -> Result<Arc<JwkSet>, OAuthError> {
    if let Some(inline) = &client.options.jwks {
        return Ok(Arc::new(inline.clone()));
    }
    if client.options.jwks_uri.is_empty() {
        return Err(OAuthError::invalid_client("Invalid client assertion: the client has no keys.", false));
    }
    cache.get(&client.options.jwks_uri, kid, now).await.map_err(|e| {
        tracing::warn!(client_id = %client.id, error = %e, "the client's keys could not be fetched");
        OAuthError::invalid_client("Invalid client assertion: the client's keys could not be fetched.", false)
    })
}

/// The key `kid` names (or the only signing key, without a `kid`), if it may verify `alg`.
fn public_key(keys: &JwkSet, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, &'static str> {
    let signing = |k: &&Jwk| !matches!(k.common.public_key_use, Some(PublicKeyUse::Encryption));
    let key = match kid {
        Some(kid) => keys.keys.iter().filter(signing).find(|k| k.common.key_id.as_deref() == Some(kid)),
        None => {
            let mut usable = keys.keys.iter().filter(signing);
            match (usable.next(), usable.next()) {
                (Some(only), None) => Some(only),
                _ => return Err("the JWT has no kid and the client has several keys"),
            }
        }
    }
    .ok_or("no registered key has the JWT's kid")?;
    if !key_fits(key, alg) {
        return Err("the JWT's alg does not fit the key");
    }
    DecodingKey::from_jwk(key).map_err(|_| "the registered key cannot verify")
}

/// Whether `key` may verify `alg`: the key's family (never HMAC with a public key) and, when
/// the JWK names an `alg`, that one.
pub(super) fn key_fits(key: &Jwk, alg: Algorithm) -> bool {
    let family_fits = match &key.algorithm {
        AlgorithmParameters::RSA(_) => matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        AlgorithmParameters::EllipticCurve(_) => matches!(alg, Algorithm::ES256 | Algorithm::ES384),
        AlgorithmParameters::OctetKeyPair(_) => alg == Algorithm::EdDSA,
        _ => false,
    };
    // Both enums spell the JWA names as their variants (`RS256`, `ES256`, `EdDSA`, ...).
    let alg_fits = key.common.key_algorithm.is_none_or(|named| format!("{named:?}") == format!("{alg:?}"));
    family_fits && alg_fits
}
