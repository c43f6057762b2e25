//! Client secrets at rest. A client created through the admin API keeps only a hash of its
//! secret (Dex keeps them in plain text): the secret is shown once, when it is created.
//!
//! The hash is HMAC-SHA256 keyed with a random 32-byte key of its own per client. A generated
//! secret carries 256 random bits, so no guessing can invert it and a slow password hash
//! (argon2) would only make every token request slower: client authentication sits on the hot
//! path and must stay fast and constant-time. The per-client key keeps two clients with the
//! same secret from having the same hash.

use super::{constant_time_eq, hmac_sha256, random_bytes};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::fmt;

const SCHEME: &str = "hmac-sha256";
const KEY_LEN: usize = 32;

/// A stored client secret hash, written as `hmac-sha256$<key>$<mac>` (base64url).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SecretHash {
    key: Vec<u8>,
    mac: Vec<u8>,
}

impl SecretHash {
    /// The hash of `secret` under a fresh random key.
    pub fn new(secret: &str) -> Self {
        let key = random_bytes(KEY_LEN);
        let mac = hmac_sha256(&key, secret.as_bytes());
        Self { key, mac }
    }

    /// Whether `presented` is the secret, compared in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        constant_time_eq(&hmac_sha256(&self.key, presented.as_bytes()), &self.mac)
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash([redacted])")
    }
}

impl From<SecretHash> for String {
    fn from(hash: SecretHash) -> Self {
        format!("{SCHEME}${}${}", URL_SAFE_NO_PAD.encode(&hash.key), URL_SAFE_NO_PAD.encode(&hash.mac))
    }
}

impl TryFrom<String> for SecretHash {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let bad = || format!("not a {SCHEME} client secret hash");
        let mut parts = text.split('$');
        let (Some(SCHEME), Some(key), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let key = URL_SAFE_NO_PAD.decode(key).map_err(|_| bad())?;
        let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| bad())?;
        if key.len() != KEY_LEN || mac.len() != 32 {
            return Err(bad());
        }
        Ok(Self { key, mac })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_secret_matches_and_the_hash_round_trips() {
        let hash = SecretHash::new("s3cret");
        assert!(hash.matches("s3cret"));
        assert!(!hash.matches("s3cret "));
        assert!(!hash.matches(""));
        let stored = serde_json::to_value(&hash).unwrap();
        assert!(stored.as_str().unwrap().starts_with("hmac-sha256$"));
        assert!(!stored.as_str().unwrap().contains("s3cret"));
        let read: SecretHash = serde_json::from_value(stored).unwrap();
        assert!(read.matches("s3cret"));
        assert_eq!(format!("{read:?}"), "SecretHash([redacted])");
    }

    #[test]
    fn two_clients_with_one_secret_have_different_hashes() {
        assert_ne!(String::from(SecretHash::new("same")), String::from(SecretHash::new("same")));
    }

    #[test]
    fn malformed_hashes_are_refused() {
        for text in ["", "hmac-sha256$", "sha1$a$b", "hmac-sha256$AAAA$AAAA", "hmac-sha256$a$b$c"] {
            assert!(SecretHash::try_from(text.to_string()).is_err(), "{text}");
        }
    }
}
