//! Minting tokens: the ID token and the access token (both JWTs signed by the [`Signer`],
//! with the claims Dex issues, so kube-apiserver and mesh gateways accept them) and the token
//! endpoint's response body.
//!
//! Claims by scope (OIDC Core §5.4, as Dex): `email` → `email`, `email_verified`;
//! `profile` → `name`, `preferred_username`; `groups` → `groups`; `federated:id` →
//! `federated_claims{connector_id, user_id}`.

use super::{scopes, subject};
use crate::crypto::{left_half_hash, random_id};
use crate::signer::{Signer, SignerError};
use crate::storage::Claims;
use crate::types::{ClientId, ConnectorId, UnixTime};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The kinds of JWT Tessera signs, told apart by Tessera itself so that one is never taken
/// for another (RFC 8725 §3.11): an ID token, which travels the front channel
/// (`id_token_hint`, browser storage), must not work as a bearer access token.
///
/// Access tokens stay shaped as Dex's (header `typ: JWT`, which resource-server libraries such
/// as Nimbus/Spring accept by default where they would refuse RFC 9068's `at+jwt`; neither
/// kube-apiserver nor Envoy reads `typ`). The kinds are kept apart by mutually exclusive
/// claim sets instead, RFC 8725's other tool: every access token carries `scope` (RFC 9068
/// §2.2.3) and no ID token does (OIDC Core §2 has no such claim). The logout token has its
/// own `typ: logout+jwt` (Back-Channel Logout §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Id,
    Logout,
}

/// The `typ` header of RFC 9068 access tokens.
pub const AT_JWT: &str = "at+jwt";

/// The `typ` header of back-channel logout tokens.
pub const LOGOUT_TOKEN_TYPE: &str = "logout+jwt";

impl TokenKind {
    /// The kind of a token we signed, from its `typ` header and its claims.
    pub fn of(typ: Option<&str>, claims: &Map<String, Value>) -> Self {
        if typ.is_some_and(|t| t.eq_ignore_ascii_case(LOGOUT_TOKEN_TYPE)) {
            Self::Logout
        } else if claims.contains_key("scope") {
            Self::Access
        } else {
            Self::Id
        }
    }

    /// The kind of a JWT and its claims, read without checking its signature: for decisions
    /// that must not depend on whether the token is valid (see `revocation`). `None`: not a JWT.
    pub fn of_unverified(token: &str) -> Option<(Self, Map<String, Value>)> {
        let (typ, claims) = crate::signer::read_unverified(token)?;
        Some((Self::of(typ.as_deref(), &claims), claims))
    }
}

/// Who the tokens are for and what they say.
pub struct TokenContext<'a> {
    pub issuer: &'a str,
    pub client_id: &'a ClientId,
    pub scopes: &'a [String],
    pub claims: &'a Claims,
    pub connector_id: &'a ConnectorId,
    pub nonce: &'a str,
    /// When the user authenticated; 0 = unknown (not emitted).
    pub auth_time: UnixTime,
    /// The single sign-on session (`sid`, OIDC Back-Channel Logout §2.1); empty = none.
    pub session_id: &'a str,
    /// The refresh-token family the access token comes from; empty = none. Its tag goes into
    /// the access token so that revoking the family revokes it (see `access_tokens`).
    pub family: &'a str,
    /// The DPoP key the access token is bound to (`cnf.jkt`, RFC 9449 §6); `None`: a bearer
    /// token.
    pub jkt: Option<&'a str>,
    /// The resources (RFC 8707) the access token is for: its `aud`; none: the client.
    pub resources: &'a [String],
    /// The client's `accessTokenFormat`.
    pub access_format: crate::client_options::AccessTokenFormat,
    pub now: UnixTime,
    pub lifetimes: super::Lifetimes,
}

/// Signed tokens and what the caller needs to remember about them.
pub struct Minted {
    pub access_token: String,
    /// `jti` of the access token, for revocation.
    pub access_token_id: String,
    pub id_token: String,
    pub expires_at: UnixTime,
    /// The user the tokens speak for (the connector's user id), for the audit log.
    pub user_id: String,
    /// The access token is DPoP-bound.
    pub bound: bool,
}

/// A signed access token alone.
pub struct AccessToken {
    pub token: String,
    /// Its `jti`, for revocation.
    pub id: String,
    pub expires_at: UnixTime,
    pub user_id: String,
    /// DPoP-bound (`cnf.jkt`).
    pub bound: bool,
}

/// Signs an access token: the identity claims of an ID token, `aud` the client alone, and
/// `scope` (RFC 9068 §2.2.3, space-separated) so introspection can report what was granted.
pub fn mint_access_token(signer: &dyn Signer, ctx: &TokenContext<'_>) -> Result<AccessToken, SignerError> {
    let id = random_id();
    let mut access = base_claims(ctx, &id);
    let aud = match ctx.resources {
        [] => json!(ctx.client_id),
        [one] => json!(one),
        several => json!(several),
    };
    access.insert("aud".into(), aud);
    access.insert("scope".into(), json!(ctx.scopes.join(" ")));
    let rfc9068 = ctx.access_format == crate::client_options::AccessTokenFormat::Rfc9068;
    // RFC 9068 §2.2: `client_id`; also whenever `aud` is a resource, so that the client the
    // token was issued to stays known (introspection, /userinfo, revocation).
    if rfc9068 || !ctx.resources.is_empty() {
        access.insert("client_id".into(), json!(ctx.client_id));
    }
    access.remove("azp");
    access.remove("nonce");
    if !ctx.family.is_empty() {
        access.insert(
            super::access_tokens::FAMILY_CLAIM.into(),
            json!(super::access_tokens::family_tag(ctx.family)),
        );
    }
    if let Some(jkt) = ctx.jkt {
        access.insert("cnf".into(), json!({ "jkt": jkt }));
    }
    let expires_at = ctx.now + ctx.lifetimes.access;
    access.insert("exp".into(), json!(expires_at));
    let token = if rfc9068 {
        signer.sign_typed(&Value::Object(access), AT_JWT)?
    } else {
        signer.sign(&Value::Object(access))?
    };
    Ok(AccessToken { token, id, expires_at, user_id: ctx.claims.user_id.clone(), bound: ctx.jkt.is_some() })
}

/// Signs an access token and an ID token. `code` (hybrid flow) adds `c_hash`.
pub fn mint(signer: &dyn Signer, ctx: &TokenContext<'_>, code: Option<&str>) -> Result<Minted, SignerError> {
    let access = mint_access_token(signer, ctx)?;
    let mut id = base_claims(ctx, &random_id());
    id.insert("at_hash".into(), json!(left_half_hash(&access.token)));
    if let Some(code) = code {
        id.insert("c_hash".into(), json!(left_half_hash(code)));
    }
    let id_token = signer.sign(&Value::Object(id))?;
    Ok(Minted {
        access_token: access.token,
        access_token_id: access.id,
        id_token,
        expires_at: access.expires_at,
        user_id: access.user_id,
        bound: access.bound,
    })
}

/// Signs an ID token alone (implicit `response_type=id_token`).
pub fn mint_id_token(
    signer: &dyn Signer,
    ctx: &TokenContext<'_>,
    code: Option<&str>,
) -> Result<String, SignerError> {
    let mut id = base_claims(ctx, &random_id());
    if let Some(code) = code {
        id.insert("c_hash".into(), json!(left_half_hash(code)));
    }
    signer.sign(&Value::Object(id))
}

fn base_claims(ctx: &TokenContext<'_>, jti: &str) -> Map<String, Value> {
    let mut c = Map::new();
    c.insert("iss".into(), json!(ctx.issuer));
    c.insert("sub".into(), json!(subject::encode(&ctx.claims.user_id, ctx.connector_id)));
    let (aud, azp) = scopes::audience(ctx.scopes, ctx.client_id);
    c.insert(
        "aud".into(),
        match aud.as_slice() {
            [one] => json!(one),
            _ => json!(aud),
        },
    );
    if let Some(azp) = azp {
        c.insert("azp".into(), json!(azp));
    }
    c.insert("exp".into(), json!(ctx.now + ctx.lifetimes.id));
    c.insert("iat".into(), json!(ctx.now));
    c.insert("jti".into(), json!(jti));
    if !ctx.nonce.is_empty() {
        c.insert("nonce".into(), json!(ctx.nonce));
    }
    if ctx.auth_time > 0 {
        c.insert("auth_time".into(), json!(ctx.auth_time));
    }
    if !ctx.session_id.is_empty() {
        c.insert("sid".into(), json!(ctx.session_id));
    }
    identity_claims(&mut c, ctx.scopes, ctx.claims, ctx.connector_id);
    c
}

/// The identity claims the scopes allow; also what `/userinfo` returns.
pub fn identity_claims(
    c: &mut Map<String, Value>,
    granted: &[String],
    claims: &Claims,
    connector_id: &ConnectorId,
) {
    if scopes::has(granted, scopes::EMAIL) && !claims.email.is_empty() {
        c.insert("email".into(), json!(claims.email));
        c.insert("email_verified".into(), json!(claims.email_verified));
    }
    if scopes::has(granted, scopes::GROUPS) {
        c.insert("groups".into(), json!(claims.groups));
    }
    if scopes::has(granted, scopes::PROFILE) {
        c.insert("name".into(), json!(claims.username));
        if !claims.preferred_username.is_empty() {
            c.insert("preferred_username".into(), json!(claims.preferred_username));
        }
    }
    if scopes::has(granted, scopes::FEDERATED_ID) {
        c.insert(
            "federated_claims".into(),
            json!({ "connector_id": connector_id, "user_id": claims.user_id }),
        );
    }
}

/// `DPoP` for a bound access token (RFC 9449 §5), else Dex's `bearer`.
fn token_type(bound: bool) -> &'static str {
    if bound { "DPoP" } else { "bearer" }
}

/// The token endpoint's success body (RFC 6749 §5.1, OIDC Core §3.1.3.3). It also
/// deserializes: the device flow stores it until the device polls (RFC 8628 §3.5).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// RFC 8693 §2.2.1: what the token exchange issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<String>,
    /// For the audit log, never sent: the access token's `jti` and the user.
    #[serde(skip)]
    pub access_token_id: String,
    #[serde(skip)]
    pub user_id: String,
}
crate::debug_only!(TokenResponse: token_type, expires_in, scope, issued_token_type);

impl TokenResponse {
    pub fn new(minted: Minted, now: UnixTime, refresh_token: Option<String>, scopes: &[String]) -> Self {
        Self {
            access_token: minted.access_token,
            token_type: token_type(minted.bound).into(),
            expires_in: minted.expires_at - now,
            refresh_token,
            id_token: Some(minted.id_token),
            scope: Some(scopes.join(" ")),
            issued_token_type: None,
            access_token_id: minted.access_token_id,
            user_id: minted.user_id,
        }
    }

    /// An access token without an ID token (no `openid` scope).
    pub fn access_only(access: AccessToken, now: UnixTime, scopes: &[String]) -> Self {
        Self {
            access_token: access.token,
            token_type: token_type(access.bound).into(),
            expires_in: access.expires_at - now,
            refresh_token: None,
            id_token: None,
            scope: Some(scopes.join(" ")),
            issued_token_type: None,
            access_token_id: access.id,
            user_id: access.user_id,
        }
    }
}
