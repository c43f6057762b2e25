//! Small cryptographic helpers: random tokens, hashing, constant-time comparison and
//! password hashing. Everything goes through aws-lc-rs, argon2 and bcrypt; nothing here
//! implements a primitive itself.

use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

mod password;
mod secret_hash;
pub use password::{
    PasswordError, PasswordHasher, PasswordMemory, hash_password, verify_password, verify_password_in,
};
pub use secret_hash::SecretHash;

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
    base64url(hash.split_at(hash.len() / 2).0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn left_half_hash_matches_oidc_example() {
        // OIDC Core A.3 example access token and at_hash.
        assert_eq!(left_half_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"), "77QmUPtjPfzWtF2AnpK9RQ");
    }
}
