//! Small cryptographic helpers: random tokens, hashing, constant-time comparison and
//! password hashing. Everything goes through aws-lc-rs, argon2 and bcrypt; nothing here
//! implements a primitive itself.

use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

/// `n` random bytes from the operating system's CSPRNG.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // aws-lc's RNG only fails if the OS entropy source is gone; there is no safe fallback.
    if aws_lc_rs::rand::fill(&mut buf).is_err() {
        std::process::abort();
    }
    buf
}

/// A random, URL-safe token carrying `bytes` bytes of entropy (base64url, no padding).
pub fn random_token(bytes: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(bytes))
}

/// A random identifier for records: 128 bits, URL-safe.
pub fn random_id() -> String {
    random_token(16)
}

pub fn sha256(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, data).as_ref().to_vec()
}

pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&key, message).as_ref().to_vec()
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

pub fn base64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// OIDC Core §3.1.3.6 `at_hash` / `c_hash`: base64url of the left half of SHA-256 of the
/// value (for RS256 and ES256 alike, both use SHA-256).
pub fn left_half_hash(value: &str) -> String {
    let hash = sha256(value.as_bytes());
    base64url(&hash[..hash.len() / 2])
}

/// Why a password hash could not be made or checked.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("unsupported password hash format")]
    UnsupportedHash,
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("password hashing task failed")]
    Task,
}

/// OWASP's argon2id recommendation (Password Storage Cheat Sheet): m=19 MiB, t=2, p=1.
fn argon2() -> Result<argon2::Argon2<'static>, PasswordError> {
    let params =
        argon2::Params::new(19 * 1024, 2, 1, None).map_err(|e| PasswordError::Hashing(e.to_string()))?;
    Ok(argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params))
}

/// Hashes a password as an argon2id PHC string. CPU-heavy: call from a blocking thread.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    use argon2::password_hash::PasswordHasher;
    argon2()?
        .hash_password_with_salt(password.as_bytes(), &random_bytes(16))
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hashing(e.to_string()))
}

/// Checks a password against a bcrypt (`$2a$`, `$2b$`, `$2y$`, as Dex writes them) or
/// argon2 PHC hash. CPU-heavy: call from a blocking thread.
pub fn verify_password(password: &str, hash: &str) -> Result<bool, PasswordError> {
    if hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$") {
        return bcrypt::verify(password, hash).map_err(|_| PasswordError::UnsupportedHash);
    }
    if hash.starts_with("$argon2") {
        use argon2::password_hash::PasswordVerifier;
        use argon2::password_hash::phc::PasswordHash;
        let parsed = PasswordHash::new(hash).map_err(|_| PasswordError::UnsupportedHash)?;
        // Verification uses the parameters recorded in the hash itself.
        return Ok(argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok());
    }
    Err(PasswordError::UnsupportedHash)
}

/// Runs password hashing off the async executor, at most `limit` at once, so a flood of
/// logins queues here instead of starving token requests of worker threads.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Verified against when the user does not exist, so that an unknown user takes as long
    /// as a wrong password (no user enumeration by timing).
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    pub fn new(limit: usize) -> Result<Self, PasswordError> {
        Ok(Self {
            permits: Arc::new(Semaphore::new(limit.max(1))),
            dummy_hash: hash_password("tessera-dummy")?.into(),
        })
    }

    /// Verifies `password` against `hash`; with `hash = None` (unknown user) it does the
    /// same work against a dummy hash and returns `false`.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, PasswordError> {
        let _permit = self.permits.acquire().await.map_err(|_| PasswordError::Task)?;
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.to_string());
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(|_| PasswordError::Task)??;
        Ok(ok && known)
    }

    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        let _permit = self.permits.acquire().await.map_err(|_| PasswordError::Task)?;
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|_| PasswordError::Task)?
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn argon2id_round_trip() {
        let hash = hash_password("hunter2").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("hunter2", &hash).unwrap());
        assert!(!verify_password("hunter3", &hash).unwrap());
    }

    #[test]
    fn verifies_dex_bcrypt_hashes() {
        // Dex's documented example hash of "password".
        let hash = "$2a$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W";
        assert!(verify_password("password", hash).unwrap());
        assert!(!verify_password("Password", hash).unwrap());
        let y = hash.replacen("$2a$", "$2y$", 1);
        assert!(verify_password("password", &y).unwrap());
    }

    #[test]
    fn rejects_unknown_hash_formats() {
        assert!(verify_password("x", "plaintext").is_err());
    }

    #[test]
    fn left_half_hash_matches_oidc_example() {
        // OIDC Core A.3 example access token and at_hash.
        assert_eq!(left_half_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"), "77QmUPtjPfzWtF2AnpK9RQ");
    }

    #[tokio::test]
    async fn unknown_user_is_rejected() {
        let hasher = PasswordHasher::new(2).unwrap();
        assert!(!hasher.verify("tessera-dummy".into(), None).await.unwrap());
    }
}
