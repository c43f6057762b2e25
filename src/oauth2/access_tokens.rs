//! Checking our own access tokens, for `/userinfo`, introspection and revocation: our
//! signature, an access token (not an ID or logout token we also signed: see
//! [`TokenKind`]), our issuer, not expired, not revoked.
//!
//! Resource servers introspect the same bearer token on every call they serve, so both
//! halves of the check are answered from memory:
//! - a token whose signature was verified once is remembered (by its SHA-256) until it
//!   expires, in a bounded map; issuer, expiry and revocation are still checked every time;
//! - the revoked access tokens are held in memory. A revocation made here is in the set at
//!   once; one made by another replica is picked up by [`AccessTokens::sync`], which the
//!   server runs every [`SYNC_INTERVAL`] (RFC 7009 §2.2 allows such a propagation delay and
//!   asks to keep it short). The set only holds revoked tokens that have not expired.

use super::error::{ErrorCode, OAuthError};
use super::tokens::TokenKind;
use crate::signer::Signer;
use crate::storage::{Result as StorageResult, Storage};
use crate::types::UnixTime;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

/// How often a replica reads the revocations the others made.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);
/// Each sync re-reads this far back, so a revocation stamped by a replica whose clock is a
/// little behind, or committed a little late, is not missed. Re-reading is harmless.
const SYNC_OVERLAP: i64 = 120;
/// Remembered verifications at most (each about 1 KiB); when full, expired ones go first,
/// then all (verifying again costs one signature check).
const MAX_VERIFIED: usize = 4096;

pub type Claims = Arc<Map<String, Value>>;

#[derive(Default)]
pub struct AccessTokens {
    /// Revoked `jti` → the token's expiry.
    revoked: RwLock<HashMap<String, UnixTime>>,
    /// The `now` of the last successful sync (0: never).
    synced_at: AtomicI64,
    /// SHA-256 of a token → its verified claims.
    verified: Mutex<HashMap<[u8; 32], Claims>>,
}

fn invalid_token(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidToken, description)
}

impl AccessTokens {
    /// Loads every revoked access token that has not expired yet.
    pub async fn load(storage: &dyn Storage, now: UnixTime) -> StorageResult<Self> {
        let tokens = Self::default();
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

    fn is_revoked(&self, jti: &str) -> bool {
        self.revoked.read().unwrap_or_else(PoisonError::into_inner).contains_key(jti)
    }

    /// Verifies a bearer access token: our signature, our issuer, not expired, not revoked.
    pub async fn verify(
        &self,
        signer: &dyn Signer,
        issuer: &str,
        token: &str,
        now: UnixTime,
    ) -> Result<Claims, OAuthError> {
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
        if let Some(jti) = claims.get("jti").and_then(Value::as_str)
            && self.is_revoked(jti)
        {
            return Err(invalid_token("The access token was revoked."));
        }
        if fresh {
            self.remember(key, &claims, now);
        }
        Ok(claims)
    }

    fn remember(&self, key: [u8; 32], claims: &Claims, now: UnixTime) {
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if verified.contains_key(&key) {
            return;
        }
        if verified.len() >= MAX_VERIFIED {
            verified.retain(|_, c| c.get("exp").and_then(Value::as_i64).is_some_and(|exp| exp > now));
            if verified.len() >= MAX_VERIFIED {
                verified.clear();
            }
        }
        verified.insert(key, claims.clone());
    }
}

#[cfg(test)]
mod tests;
