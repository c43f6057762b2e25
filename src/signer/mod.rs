//! Signing keys and JWT signatures.
//!
//! [`Signer`] is what the protocol code sees: sign a claim set, verify one of our own tokens,
//! publish the JWKS. [`LocalSigner`] keeps its keys in storage (so replicas share them) and in
//! memory (so no request reads storage for keys). [`rotation`] decides when and how keys
//! rotate; the rotation task in `app` calls [`LocalSigner::rotate_if_due`] periodically, and a
//! replica that loses the compare-and-swap simply adopts the winner's keys.

pub mod keys;
pub mod provider;
pub mod rotation;

use crate::clock::Clock;
use crate::storage::{Keys, Storage, StorageError};
use crate::types::UnixTime;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub use keys::SigningAlgorithm;

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("no signing key is loaded")]
    NoKey,
    /// The token names a key we do not hold (yet: another replica may have just rotated).
    #[error("unknown signing key")]
    UnknownKey,
    #[error("signing failed: {0}")]
    Sign(String),
    #[error("token is not a valid JWT signed by us: {0}")]
    Invalid(String),
    #[error("key generation failed: {0}")]
    KeyGeneration(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The JWKS as served: the JSON document and how long caches may keep it.
#[derive(Debug, Clone)]
pub struct Jwks {
    /// Shared, so that serving it is a reference-count increment, not a copy.
    pub json: bytes::Bytes,
    /// Seconds until the next rotation (at least two minutes, as Dex does).
    pub max_age: i64,
}

#[async_trait::async_trait]
pub trait Signer: Send + Sync {
    /// Signs `claims` with the current key; the header carries `alg`, `kid` and `typ: JWT`.
    fn sign(&self, claims: &Value) -> Result<String, SignerError> {
        self.sign_typed(claims, "JWT")
    }
    /// Signs with an explicit `typ` header (e.g. `logout+jwt`).
    fn sign_typed(&self, claims: &Value, typ: &str) -> Result<String, SignerError>;
    /// Verifies the signature of a token we signed with any key still in the JWKS, and
    /// returns its claims. Claim checks (`exp`, `iss`, `aud`) are the caller's.
    fn verify(&self, token: &str) -> Result<serde_json::Map<String, Value>, SignerError>;
    fn jwks(&self, now: UnixTime) -> Jwks;
    /// The algorithm of the current key, as written in JWT headers (`RS256`, `ES256`).
    fn algorithm(&self) -> &'static str;
    /// Re-reads the keys from storage, at most every few seconds however often it is called;
    /// for a token signed by a key another replica just rotated in.
    async fn reload(&self) -> Result<(), SignerError>;
}

/// Like [`Signer::verify`], but an unknown `kid` triggers one (rate-limited) reload first.
pub async fn verify_fresh(
    signer: &dyn Signer,
    token: &str,
) -> Result<serde_json::Map<String, Value>, SignerError> {
    match signer.verify(token) {
        Err(SignerError::UnknownKey) => {
            signer.reload().await?;
            signer.verify(token)
        }
        other => other,
    }
}

/// A JWT's `typ` header, read without checking anything: which kind of token it claims to be.
pub fn header_type(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(token).ok()?.typ
}

/// A JWT's `typ` header and claims, read **without checking the signature**: only for
/// decisions that must not depend on whether the token is valid. `None`: not a JWT.
pub fn read_unverified(token: &str) -> Option<(Option<String>, serde_json::Map<String, Value>)> {
    let data = jsonwebtoken::dangerous::insecure_decode(token).ok()?;
    Some((data.header.typ, data.claims))
}

/// The least time between two reloads triggered by unknown keys.
const RELOAD_INTERVAL: i64 = 5;

/// Settings for [`LocalSigner`].
#[derive(Debug, Clone, Copy)]
pub struct SignerSettings {
    pub algorithm: SigningAlgorithm,
    /// How often the signing key is replaced.
    pub rotation_period: i64,
    /// The longest lifetime of anything signed; a retired key stays published this long.
    pub token_lifetime: i64,
}

/// The keys in memory, rebuilt whenever storage holds a newer version.
struct KeyCache {
    version: i64,
    kid: String,
    algorithm: SigningAlgorithm,
    encoding: EncodingKey,
    decoding: HashMap<String, (DecodingKey, Algorithm)>,
    jwks_json: bytes::Bytes,
    next_rotation: UnixTime,
}

pub struct LocalSigner {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
    settings: SignerSettings,
    cache: RwLock<Option<Arc<KeyCache>>>,
    last_reload: std::sync::atomic::AtomicI64,
}

impl LocalSigner {
    /// Loads the stored keys, rotating first when none exist or they are due.
    pub async fn start(
        storage: Arc<dyn Storage>,
        clock: Arc<dyn Clock>,
        settings: SignerSettings,
    ) -> Result<Arc<Self>, SignerError> {
        provider::install();
        let signer = Arc::new(Self {
            storage,
            clock,
            settings,
            cache: RwLock::new(None),
            last_reload: std::sync::atomic::AtomicI64::new(0),
        });
        signer.rotate_if_due().await?;
        Ok(signer)
    }

    /// Rotates when the stored keys are missing, due, or of another algorithm than
    /// configured, and publishes an upcoming key when none is; then makes sure the in-memory
    /// keys match storage. Safe to run on every replica at once: exactly one compare-and-swap
    /// wins and the others adopt its keys. Returns the next rotation time.
    pub async fn rotate_if_due(&self) -> Result<UnixTime, SignerError> {
        let now = self.clock.now();
        let stored = self.storage.get_keys().await?;
        let algorithm = self.settings.algorithm;
        let next = match rotation::step(&stored, algorithm, now) {
            rotation::Step::Keep => None,
            rotation::Step::Publish => Some(rotation::with_upcoming(&stored, generate(algorithm).await?)),
            rotation::Step::Rotate => {
                let signing = match rotation::published_upcoming(&stored, algorithm) {
                    Some(published) => published,
                    None => generate(algorithm).await?,
                };
                let upcoming = generate(algorithm).await?;
                Some(rotation::rotated(&stored, signing, upcoming, now, &self.settings))
            }
        };
        let keys = match next {
            None => stored,
            Some(next) => {
                if self.storage.swap_keys(stored.version, &next).await? {
                    let kid = |key: &Option<crate::storage::SigningKey>| key.as_ref().map(|k| k.kid.clone());
                    tracing::info!(
                        kid = %kid(&next.signing_key).unwrap_or_default(),
                        upcoming = %kid(&next.upcoming_key).unwrap_or_default(),
                        "signing keys changed"
                    );
                } else {
                    tracing::debug!("another replica changed the signing keys first");
                }
                self.storage.get_keys().await?
            }
        };
        self.load(&keys)?;
        Ok(keys.next_rotation)
    }

    /// Rebuilds the cache from `keys` unless it already holds that version.
    fn load(&self, keys: &Keys) -> Result<(), SignerError> {
        if self.current().is_some_and(|c| c.version == keys.version) {
            return Ok(());
        }
        let cache = Arc::new(build_cache(keys)?);
        if let Ok(mut slot) = self.cache.write() {
            *slot = Some(cache);
        }
        Ok(())
    }

    fn current(&self) -> Option<Arc<KeyCache>> {
        self.cache.read().ok().and_then(|c| c.clone())
    }
}

/// A new key pair, generated off the async threads (RSA generation takes a while).
async fn generate(algorithm: SigningAlgorithm) -> Result<(crate::storage::SigningKey, Value), SignerError> {
    tokio::task::spawn_blocking(move || keys::generate(algorithm))
        .await
        .map_err(|e| SignerError::KeyGeneration(e.to_string()))?
}

fn build_cache(keys: &Keys) -> Result<KeyCache, SignerError> {
    let signing = keys.signing_key.as_ref().ok_or(SignerError::NoKey)?;
    let algorithm = SigningAlgorithm::parse(&signing.alg).ok_or(SignerError::NoKey)?;
    let encoding = keys::encoding_key(algorithm, &signing.private_pkcs8)?;
    let mut public_keys: Vec<Value> = Vec::new();
    public_keys.extend(keys.signing_key_pub.iter().cloned());
    public_keys.extend(keys.upcoming_key_pub.iter().cloned());
    public_keys.extend(keys.verification_keys.iter().map(|k| k.jwk.clone()));
    let mut decoding = HashMap::new();
    for jwk in &public_keys {
        let (kid, key, alg) = keys::decoding_key(jwk)?;
        decoding.insert(kid, (key, alg));
    }
    let jwks_json: bytes::Bytes = serde_json::to_vec(&serde_json::json!({ "keys": public_keys }))
        .map_err(|e| SignerError::Sign(e.to_string()))?
        .into();
    Ok(KeyCache {
        version: keys.version,
        kid: signing.kid.clone(),
        algorithm,
        encoding,
        decoding,
        jwks_json,
        next_rotation: keys.next_rotation,
    })
}

#[async_trait::async_trait]
impl Signer for LocalSigner {
    fn sign_typed(&self, claims: &Value, typ: &str) -> Result<String, SignerError> {
        let cache = self.current().ok_or(SignerError::NoKey)?;
        let mut header = Header::new(cache.algorithm.jwt_algorithm());
        header.kid = Some(cache.kid.clone());
        header.typ = Some(typ.to_string());
        jsonwebtoken::encode(&header, claims, &cache.encoding).map_err(|e| SignerError::Sign(e.to_string()))
    }

    fn verify(&self, token: &str) -> Result<serde_json::Map<String, Value>, SignerError> {
        let cache = self.current().ok_or(SignerError::NoKey)?;
        let header = jsonwebtoken::decode_header(token).map_err(|e| SignerError::Invalid(e.to_string()))?;
        let kid = header.kid.ok_or_else(|| SignerError::Invalid("no kid".into()))?;
        let (key, alg) = cache.decoding.get(&kid).ok_or(SignerError::UnknownKey)?;
        // The algorithm comes from our key, never from the token header (no alg confusion).
        let mut validation = Validation::new(*alg);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| SignerError::Invalid(e.to_string()))
    }

    fn jwks(&self, now: UnixTime) -> Jwks {
        match self.current() {
            Some(cache) => {
                Jwks { json: cache.jwks_json.clone(), max_age: (cache.next_rotation - now).max(120) }
            }
            None => Jwks { json: bytes::Bytes::from_static(br#"{"keys":[]}"#), max_age: 0 },
        }
    }

    fn algorithm(&self) -> &'static str {
        self.current().map(|c| c.algorithm.name()).unwrap_or(self.settings.algorithm.name())
    }

    async fn reload(&self) -> Result<(), SignerError> {
        use std::sync::atomic::Ordering;
        let now = self.clock.now();
        let last = self.last_reload.load(Ordering::Relaxed);
        if now - last < RELOAD_INTERVAL
            || self.last_reload.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_err()
        {
            return Ok(());
        }
        let keys = self.storage.get_keys().await?;
        self.load(&keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::storage::sql::SqlStorage;
    use serde_json::json;

    async fn signer(
        storage: Arc<dyn Storage>,
        clock: Arc<FixedClock>,
        algorithm: SigningAlgorithm,
    ) -> Arc<LocalSigner> {
        let settings = SignerSettings { algorithm, rotation_period: 3600, token_lifetime: 600 };
        LocalSigner::start(storage, clock, settings).await.unwrap()
    }

    #[tokio::test]
    async fn signs_verifies_and_keeps_old_keys_after_rotation() {
        let storage: Arc<dyn Storage> = Arc::new(SqlStorage::open_memory().await.unwrap());
        let clock = Arc::new(FixedClock::new(1_000));
        let signer = signer(storage.clone(), clock.clone(), SigningAlgorithm::Rs256).await;
        let token = signer.sign(&json!({"sub": "u"})).unwrap();
        assert_eq!(signer.verify(&token).unwrap()["sub"], "u");
        assert_eq!(jsonwebtoken::decode_header(&token).unwrap().alg, Algorithm::RS256);

        let kids = |signer: &LocalSigner, now| -> Vec<String> {
            let jwks: Value = serde_json::from_slice(&signer.jwks(now).json).unwrap();
            jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect()
        };
        let before = kids(&signer, clock.now());
        assert_eq!(before.len(), 2, "the signing key and the upcoming one");

        clock.advance(3600);
        signer.rotate_if_due().await.unwrap();
        let jwks: Value = serde_json::from_slice(&signer.jwks(clock.now()).json).unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 3, "new signing, new upcoming, retired");
        assert!(jwks["keys"].as_array().unwrap().iter().all(|k| k.get("d").is_none() && k["use"] == "sig"));
        // A token signed before the rotation still verifies; new tokens use the new key.
        assert!(signer.verify(&token).is_ok());
        let newer = signer.sign(&json!({"sub": "u"})).unwrap();
        let newer_kid = jsonwebtoken::decode_header(&newer).unwrap().kid.unwrap();
        assert_ne!(Some(newer_kid.clone()), jsonwebtoken::decode_header(&token).unwrap().kid);
        // ... with the key that was published a rotation period before it signed.
        assert_eq!(before[1], newer_kid);
        assert_eq!(kids(&signer, clock.now())[0], newer_kid);
    }

    #[tokio::test]
    async fn a_second_replica_adopts_the_first_ones_keys() {
        let storage: Arc<dyn Storage> = Arc::new(SqlStorage::open_memory().await.unwrap());
        let clock = Arc::new(FixedClock::new(1_000));
        let a = signer(storage.clone(), clock.clone(), SigningAlgorithm::Es256).await;
        let b = signer(storage.clone(), clock.clone(), SigningAlgorithm::Es256).await;
        assert_eq!(a.jwks(1_000).json, b.jwks(1_000).json);
        // A rotates; B verifies A's new tokens at once (the key was published ahead) ...
        clock.advance(3600);
        a.rotate_if_due().await.unwrap();
        let token = a.sign(&json!({"sub": "u"})).unwrap();
        assert!(b.verify(&token).is_ok());
        // ... and learns a key it has never seen when it meets a token signed with it.
        clock.advance(3600);
        a.rotate_if_due().await.unwrap();
        clock.advance(3600);
        a.rotate_if_due().await.unwrap();
        let token = a.sign(&json!({"sub": "u"})).unwrap();
        assert!(matches!(b.verify(&token), Err(SignerError::UnknownKey)));
        assert!(verify_fresh(b.as_ref(), &token).await.is_ok());
    }

    #[tokio::test]
    async fn tokens_from_elsewhere_are_rejected() {
        let storage: Arc<dyn Storage> = Arc::new(SqlStorage::open_memory().await.unwrap());
        let clock = Arc::new(FixedClock::new(1_000));
        let ours = signer(storage, clock.clone(), SigningAlgorithm::Rs256).await;
        let other_storage: Arc<dyn Storage> = Arc::new(SqlStorage::open_memory().await.unwrap());
        let theirs = signer(other_storage, clock, SigningAlgorithm::Rs256).await;
        let forged = theirs.sign(&json!({"sub": "u"})).unwrap();
        assert!(ours.verify(&forged).is_err());
        assert!(ours.verify("not.a.jwt").is_err());
        // alg=none with one of our kids is refused: the algorithm comes from our key.
        let kid = jsonwebtoken::decode_header(ours.sign(&json!({})).unwrap()).unwrap().kid.unwrap();
        let header = crate::crypto::base64url(format!(r#"{{"alg":"none","kid":"{kid}"}}"#).as_bytes());
        let body = crate::crypto::base64url(br#"{"sub":"admin"}"#);
        assert!(ours.verify(&format!("{header}.{body}.")).is_err());
    }
}
