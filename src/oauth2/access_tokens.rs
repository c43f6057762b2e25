//! Checking our own access tokens, for `/userinfo`, introspection and revocation: our
//! signature, an access token (not an ID or logout token we also signed: see
//! [`TokenKind`]), our issuer, not expired, not revoked.
//!
//! Resource servers introspect the same bearer token on every call they serve, so both
//! halves of the check are answered from memory:
//! - a token whose signature was verified once is remembered (by its SHA-256) in a bounded
//!   least-recently-used cache, so the tokens in use stay while the others make room;
//!   issuer, expiry and revocation are still checked every time;
//! - the revoked access tokens are held in memory. A revocation made here is in the set at
//!   once; one made by another replica is picked up by [`AccessTokens::sync`], which the
//!   server runs every [`SYNC_INTERVAL`] (RFC 7009 §2.2 allows such a propagation delay and
//!   asks to keep it short). The set only holds revoked tokens that have not expired.
//! - an access token issued from a refresh-token family carries the family's tag (the
//!   private claim [`FAMILY_CLAIM`], a digest of the family id, never the id). Revoking the
//!   family (RFC 7009 revocation of the refresh token, reuse detection per RFC 9700 §4.14.2,
//!   the admin API) revokes the tag like a `jti`, until the last access token it could have
//!   issued has expired: every access token of the family stops working at once here, and on
//!   the other replicas within [`SYNC_INTERVAL`].
//! - the check fails closed: when the revoked set could not be read for longer than
//!   [`Freshness::max_age`], a token is not trusted as unrevoked; it gets an error (`503`
//!   `temporarily_unavailable`) or is treated as invalid (`active: false`), per
//!   [`Freshness::on_stale`].

use super::error::{ErrorCode, OAuthError};
use super::tokens::TokenKind;
use crate::signer::Signer;
use crate::storage::{Result as StorageResult, Storage};
use crate::types::UnixTime;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// How often a replica reads the revocations the others made.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);
/// Each sync re-reads this far back, so a revocation stamped by a replica whose clock is a
/// little behind, or committed a little late, is not missed. Re-reading is harmless.
const SYNC_OVERLAP: i64 = 120;
/// Remembered verifications at most (each about 1 KiB); when full, the least recently used
/// goes (verifying it again costs one signature check).
const MAX_VERIFIED: usize = 4096;

/// The private claim of an access token that names its refresh-token family.
pub const FAMILY_CLAIM: &str = "tessera_rfam";

pub type Claims = Arc<Map<String, Value>>;

/// How old the revoked set may grow before tokens stop being trusted (`oauth2.introspection.
/// revocationsMaxAge` / `whenRevocationsStale`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// Seconds since the last successful sync (measured on the monotonic clock, so a step
    /// of the wall clock does not count); 0 never fails.
    pub max_age: i64,
    pub on_stale: OnStale,
}

pub use crate::protocol::OnStale;

impl Default for Freshness {
    fn default() -> Self {
        Self { max_age: 0, on_stale: OnStale::Error }
    }
}

pub struct AccessTokens {
    /// Revoked `jti`s and family tags → when the last token they cover expires.
    revoked: RwLock<HashMap<String, UnixTime>>,
    /// The `now` of the last successful sync (0: never).
    synced_at: AtomicI64,
    /// When the last successful sync ended, on the monotonic clock.
    synced: RwLock<Instant>,
    freshness: Freshness,
    /// SHA-256 of a token → its verified claims.
    verified: Mutex<lru::LruCache<[u8; 32], Claims>>,
}

impl Default for AccessTokens {
    fn default() -> Self {
        Self::new(Freshness::default())
    }
}

/// The revocation key of a family tag (kept apart from `jti`s).
fn family_key(tag: &str) -> String {
    format!("family:{tag}")
}

/// The tag of a refresh-token family, as its access tokens carry it: a digest, so the
/// family id (half of the refresh token) is not in every access token.
pub fn family_tag(family_id: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, family_id.as_bytes());
    let half = digest.as_ref().get(..16).unwrap_or(digest.as_ref());
    crate::crypto::base64url(half)
}

fn invalid_token(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidToken, description)
}

impl AccessTokens {
    fn new(freshness: Freshness) -> Self {
        let capacity = std::num::NonZeroUsize::new(MAX_VERIFIED).unwrap_or(std::num::NonZeroUsize::MIN);
        Self {
            revoked: RwLock::default(),
            synced_at: AtomicI64::default(),
            synced: RwLock::new(Instant::now()),
            freshness,
            verified: Mutex::new(lru::LruCache::new(capacity)),
        }
    }

    /// Loads every revoked access token that has not expired yet.
    pub async fn load(storage: &dyn Storage, now: UnixTime, freshness: Freshness) -> StorageResult<Self> {
        let tokens = Self::new(freshness);
        tokens.sync(storage, now).await?;
        Ok(tokens)
    }

    /// Adds the revocations made (by any replica) since the last sync, and forgets the
    /// revoked tokens that have expired.
    pub async fn sync(&self, storage: &dyn Storage, now: UnixTime) -> StorageResult<()> {
        let last = self.synced_at.load(Ordering::Relaxed);
        let since = if last == 0 { 0 } else { last - SYNC_OVERLAP };
        let fresh = storage.revoked_access_tokens_since(since, now).await?;
        {
            let mut revoked = self.revoked.write().unwrap_or_else(PoisonError::into_inner);
            revoked.retain(|_, expiry| *expiry > now);
            revoked.extend(fresh);
        }
        self.synced_at.store(now, Ordering::Relaxed);
        *self.synced.write().unwrap_or_else(PoisonError::into_inner) = Instant::now();
        Ok(())
    }

    /// Revokes an access token (by `jti`) until its expiry: in storage, for every replica,
    /// and here at once.
    pub async fn revoke(
        &self,
        storage: &dyn Storage,
        jti: &str,
        expiry: UnixTime,
        now: UnixTime,
    ) -> StorageResult<()> {
        storage.revoke_access_token(jti, expiry, now).await?;
        self.revoked.write().unwrap_or_else(PoisonError::into_inner).insert(jti.to_string(), expiry);
        Ok(())
    }

    /// Revokes every access token of a refresh-token family until `until` (when the last one
    /// it could have issued expires): in storage, for every replica, and here at once.
    pub async fn revoke_family(
        &self,
        storage: &dyn Storage,
        family_id: &str,
        until: UnixTime,
        now: UnixTime,
    ) -> StorageResult<()> {
        self.revoke(storage, &family_key(&family_tag(family_id)), until, now).await
    }

    fn is_revoked(&self, claims: &Map<String, Value>) -> bool {
        let revoked = self.revoked.read().unwrap_or_else(PoisonError::into_inner);
        let jti = claims.get("jti").and_then(Value::as_str);
        let family = claims.get(FAMILY_CLAIM).and_then(Value::as_str);
        jti.is_some_and(|jti| revoked.contains_key(jti))
            || family.is_some_and(|tag| revoked.contains_key(&family_key(tag)))
    }

    /// Fails closed when the revoked set has not been read for longer than allowed.
    fn check_fresh(&self) -> Result<(), OAuthError> {
        let max_age = Duration::from_secs(u64::try_from(self.freshness.max_age).unwrap_or(0));
        let age = self.synced.read().unwrap_or_else(PoisonError::into_inner).elapsed();
        if max_age.is_zero() || age <= max_age {
            return Ok(());
        }
        Err(match self.freshness.on_stale {
            OnStale::Error => OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "Token revocations cannot be checked right now; try again shortly.",
            ),
            OnStale::Inactive => invalid_token("Token revocations cannot be checked right now."),
        })
    }

    /// Verifies a bearer access token: our signature, our issuer, not expired, not revoked.
    pub async fn verify(
        &self,
        signer: &dyn Signer,
        issuer: &str,
        token: &str,
        now: UnixTime,
    ) -> Result<Claims, OAuthError> {
        self.check_fresh()?;
        let key: [u8; 32] = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes())
            .as_ref()
            .try_into()
            .map_err(|_| invalid_token("The access token is invalid."))?;
        let remembered = self.verified.lock().unwrap_or_else(PoisonError::into_inner).get(&key).cloned();
        let fresh = remembered.is_none();
        let claims = match remembered {
            Some(claims) => claims,
            None => {
                let claims = crate::signer::verify_fresh(signer, token)
                    .await
                    .map_err(|_| invalid_token("The access token is invalid."))?;
                // Our signature is on ID and logout tokens too; only an access token is one.
                let typ = crate::signer::header_type(token);
                if TokenKind::of(typ.as_deref(), &claims) != TokenKind::Access {
                    return Err(invalid_token("The token is not an access token."));
                }
                Arc::new(claims)
            }
        };
        if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
            return Err(invalid_token("The access token was issued by someone else."));
        }
        match claims.get("exp").and_then(Value::as_i64) {
            Some(exp) if exp > now => {}
            _ => return Err(invalid_token("The access token expired.")),
        }
        if self.is_revoked(&claims) {
            return Err(invalid_token("The access token was revoked."));
        }
        if fresh {
            self.remember(key, &claims);
        }
        Ok(claims)
    }

    fn remember(&self, key: [u8; 32], claims: &Claims) {
        self.verified.lock().unwrap_or_else(PoisonError::into_inner).put(key, claims.clone());
    }
}

#[cfg(test)]
mod tests;
