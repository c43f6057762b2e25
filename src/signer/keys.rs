//! Key material: generation through aws-lc-rs (not the `rsa` crate, RUSTSEC-2023-0071),
//! and conversion to jsonwebtoken's keys and to public JWKs.

use super::SignerError;
use crate::storage::SigningKey;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::Value;

/// The algorithms Tessera signs with: RS256 by default (what kube-apiserver expects), ES256 by config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlgorithm {
    Rs256,
    Es256,
}

impl SigningAlgorithm {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    pub fn jwt_algorithm(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
        }
    }
}

/// A new key pair with its public JWK. CPU-heavy for RSA: run on a blocking thread.
pub fn generate(algorithm: SigningAlgorithm) -> Result<(SigningKey, Value), SignerError> {
    let fail = |e: aws_lc_rs::error::Unspecified| SignerError::KeyGeneration(e.to_string());
    let pkcs8 = match algorithm {
        SigningAlgorithm::Rs256 => {
            let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(fail)?;
            pair.as_der().map_err(fail)?.as_ref().to_vec()
        }
        SigningAlgorithm::Es256 => {
            let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(fail)?;
            pair.to_pkcs8v1().map_err(fail)?.as_ref().to_vec()
        }
    };
    let key = SigningKey {
        kid: hex(&crate::crypto::random_bytes(20)),
        alg: algorithm.name().to_string(),
        private_pkcs8: pkcs8,
    };
    let jwk = public_jwk(algorithm, &key)?;
    Ok((key, jwk))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// jsonwebtoken wants PKCS#1 for RSA; its PEM reader unwraps our PKCS#8, so go through PEM.
pub fn encoding_key(algorithm: SigningAlgorithm, pkcs8: &[u8]) -> Result<EncodingKey, SignerError> {
    match algorithm {
        SigningAlgorithm::Rs256 => EncodingKey::from_rsa_pem(pkcs8_pem(pkcs8).as_bytes())
            .map_err(|e| SignerError::Sign(e.to_string())),
        SigningAlgorithm::Es256 => Ok(EncodingKey::from_ec_der(pkcs8)),
    }
}

fn pkcs8_pem(der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}

/// The public half as a JWK with `kid`, `alg` and `use: sig`.
fn public_jwk(algorithm: SigningAlgorithm, key: &SigningKey) -> Result<Value, SignerError> {
    let encoding = encoding_key(algorithm, &key.private_pkcs8)?;
    let mut jwk = Jwk::from_encoding_key(&encoding, algorithm.jwt_algorithm())
        .map_err(|e| SignerError::KeyGeneration(e.to_string()))?;
    jwk.common.key_id = Some(key.kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    serde_json::to_value(&jwk).map_err(|e| SignerError::KeyGeneration(e.to_string()))
}

/// A verification key from a stored public JWK.
pub fn decoding_key(jwk: &Value) -> Result<(String, DecodingKey, Algorithm), SignerError> {
    let corrupt = |e: String| SignerError::Invalid(format!("stored JWK: {e}"));
    let parsed: Jwk = serde_json::from_value(jwk.clone()).map_err(|e| corrupt(e.to_string()))?;
    let kid = parsed.common.key_id.clone().ok_or_else(|| corrupt("no kid".into()))?;
    let alg = match jwk.get("alg").and_then(Value::as_str).and_then(SigningAlgorithm::parse) {
        Some(a) => a.jwt_algorithm(),
        None => return Err(corrupt("unsupported alg".into())),
    };
    let key = DecodingKey::from_jwk(&parsed).map_err(|e| corrupt(e.to_string()))?;
    Ok((kid, key, alg))
}
