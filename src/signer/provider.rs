//! jsonwebtoken's crypto provider with the private keys kept parsed.
//!
//! jsonwebtoken's aws-lc backend parses (and checks) the private key on every signature: for
//! RSA-2048 the parse costs about half as much as the signature itself, on the path of every
//! token Tessera issues. This provider keeps the parsed key pairs of the few keys in use
//! (the signing key changes only at rotation) and otherwise defers to jsonwebtoken's own
//! aws-lc provider, which still does all the JWT encoding and every verification.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, aws_lc::DEFAULT_PROVIDER};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use std::sync::{Arc, OnceLock, RwLock};

/// Keys in use at once: the current one, plus a few around rotations.
const CACHED_KEYS: usize = 8;

enum Parsed {
    Rs256(RsaKeyPair),
    Es256(EcdsaKeyPair),
}

/// Parsed key pairs by the exact key bytes jsonwebtoken holds, newest last.
static PARSED: RwLock<Vec<(Vec<u8>, Arc<Parsed>)>> = RwLock::new(Vec::new());

fn parsed(algorithm: Algorithm, key: &EncodingKey) -> Result<Arc<Parsed>, Error> {
    let bytes = key.as_bytes();
    if let Ok(cache) = PARSED.read()
        && let Some((_, found)) = cache.iter().find(|(k, _)| k.as_slice() == bytes)
    {
        return Ok(found.clone());
    }
    let fresh = Arc::new(match algorithm {
        Algorithm::RS256 => {
            Parsed::Rs256(RsaKeyPair::from_der(bytes).map_err(|e| ErrorKind::InvalidRsaKey(e.to_string()))?)
        }
        _ => Parsed::Es256(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, bytes)
                .map_err(|_| ErrorKind::InvalidEcdsaKey)?,
        ),
    });
    if let Ok(mut cache) = PARSED.write() {
        if cache.len() >= CACHED_KEYS {
            cache.remove(0);
        }
        cache.push((bytes.to_vec(), fresh.clone()));
    }
    Ok(fresh)
}

struct CachedSigner {
    algorithm: Algorithm,
    pair: Arc<Parsed>,
}

impl jsonwebtoken::signature::Signer<Vec<u8>> for CachedSigner {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, jsonwebtoken::signature::Error> {
        let rng = SystemRandom::new();
        match self.pair.as_ref() {
            Parsed::Rs256(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .map_err(jsonwebtoken::signature::Error::from_source)?;
                Ok(signature)
            }
            Parsed::Es256(pair) => pair
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(jsonwebtoken::signature::Error::from_source),
        }
    }
}

impl JwtSigner for CachedSigner {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

fn signer_factory(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    match algorithm {
        Algorithm::RS256 | Algorithm::ES256 => {
            Ok(Box::new(CachedSigner { algorithm: *algorithm, pair: parsed(*algorithm, key)? }))
        }
        _ => (DEFAULT_PROVIDER.signer_factory)(algorithm, key),
    }
}

fn verifier_factory(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    (DEFAULT_PROVIDER.verifier_factory)(algorithm, key)
}

/// Makes this provider jsonwebtoken's process default. It must run before anything else uses
/// jsonwebtoken (the first use fixes the default); later calls, or a lost race, change
/// nothing but speed.
pub fn install() {
    static PROVIDER: OnceLock<CryptoProvider> = OnceLock::new();
    let provider = PROVIDER.get_or_init(|| CryptoProvider {
        signer_factory,
        verifier_factory,
        key_utils: DEFAULT_PROVIDER.key_utils.clone(),
    });
    let _ = provider.install_default();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signer::keys::{SigningAlgorithm, decoding_key, encoding_key, generate};

    /// Signatures from the cached key pairs verify with jsonwebtoken's own verifier, for
    /// both algorithms, and a key is parsed once however often it signs.
    #[test]
    fn cached_signatures_verify() {
        for algorithm in [SigningAlgorithm::Rs256, SigningAlgorithm::Es256] {
            let (key, jwk) = generate(algorithm).unwrap();
            let encoding = encoding_key(algorithm, &key.private_pkcs8).unwrap();
            let (_, decoding, alg) = decoding_key(&jwk).unwrap();
            for message in [&b"header.payload"[..], b"another.message"] {
                let signer = signer_factory(&alg, &encoding).unwrap();
                let signature = jsonwebtoken::signature::Signer::try_sign(signer.as_ref(), message).unwrap();
                let verifier = (DEFAULT_PROVIDER.verifier_factory)(&alg, &decoding).unwrap();
                assert!(verifier.verify(message, &signature).is_ok(), "{algorithm:?}");
                assert!(verifier.verify(b"tampered", &signature).is_err());
            }
            let cached =
                PARSED.read().unwrap().iter().filter(|(k, _)| k.as_slice() == encoding.as_bytes()).count();
            assert_eq!(cached, 1, "{algorithm:?}: parsed once");
        }
    }
}
