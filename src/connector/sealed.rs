//! Secrets a connector keeps in storage (upstream refresh and ID tokens) are sealed with
//! AES-256-GCM under the data-encryption key all replicas share
//! (`KeyStore::get_or_create_data_key`), so a database dump does not hand out upstream
//! credentials.
//!
//! A sealed blob is `version (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`. The caller's
//! `context` (e.g. the connector id and purpose) is bound as associated data, so a blob sealed
//! for one connector or purpose does not open for another.

use super::ConnectorError;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use std::fmt;

/// The format version of a sealed blob.
const VERSION: u8 = 1;
/// Length of the data-encryption key.
pub const KEY_LEN: usize = 32;

/// The data-encryption key.
pub struct DataKey(LessSafeKey);

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

impl DataKey {
    /// A key from its 32 stored bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, ConnectorError> {
        let key = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| ConnectorError::Upstream("the data-encryption key is not 32 bytes".into()))?;
        Ok(Self(LessSafeKey::new(key)))
    }

    /// A fresh random key, to offer to storage as the candidate.
    pub fn generate() -> Vec<u8> {
        crate::crypto::random_bytes(KEY_LEN)
    }

    /// Encrypts `plaintext`, bound to `context`.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, ConnectorError> {
        let nonce_bytes = crate::crypto::random_bytes(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&nonce_bytes)
            .map_err(|_| ConnectorError::Upstream("sealing: bad nonce".into()))?;
        let mut data = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(nonce, Aad::from(context.as_bytes()), &mut data)
            .map_err(|_| ConnectorError::Upstream("sealing failed".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + data.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&data);
        Ok(out)
    }

    /// Decrypts a blob sealed for `context`; fails when it was altered, sealed under another
    /// key, or for another context.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, ConnectorError> {
        let corrupt = || ConnectorError::Upstream("sealed connector data does not open".into());
        let (&version, rest) = sealed.split_first().ok_or_else(corrupt)?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return Err(corrupt());
        }
        let (nonce_bytes, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce_bytes).map_err(|_| corrupt())?;
        let mut data = ciphertext.to_vec();
        let plain =
            self.0.open_in_place(nonce, Aad::from(context.as_bytes()), &mut data).map_err(|_| corrupt())?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_only_in_its_context_and_key() {
        let key = DataKey::new(&DataKey::generate()).unwrap();
        let sealed = key.seal("oidc/a", b"refresh-token").unwrap();
        assert!(!sealed.windows(13).any(|w| w == b"refresh-token"));
        assert_eq!(key.open("oidc/a", &sealed).unwrap(), b"refresh-token");
        assert!(key.open("oidc/b", &sealed).is_err(), "another context");
        let other = DataKey::new(&DataKey::generate()).unwrap();
        assert!(other.open("oidc/a", &sealed).is_err(), "another key");
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(key.open("oidc/a", &tampered).is_err(), "tampered");
        assert!(key.open("oidc/a", &[]).is_err());
        assert!(DataKey::new(&[0; 16]).is_err());
    }
}
