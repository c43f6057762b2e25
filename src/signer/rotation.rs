//! When keys rotate and what the key set looks like afterwards. Pure functions of the stored
//! keys and `now`, so the rules are easy to test.

use super::SignerSettings;
use super::keys::SigningAlgorithm;
use crate::storage::{Keys, SigningKey, VerificationKey};
use crate::types::UnixTime;
use serde_json::Value;

/// A rotation is due when there is no key, its time has come, or the configured algorithm
/// changed (a switch from RS256 to ES256 takes effect at once; old tokens stay verifiable).
pub fn is_due(keys: &Keys, algorithm: SigningAlgorithm, now: UnixTime) -> bool {
    match &keys.signing_key {
        None => true,
        Some(key) => now >= keys.next_rotation || key.alg != algorithm.name(),
    }
}

/// The key set after replacing the signing key with `fresh`: the old public key is kept for
/// verification until every token it signed has expired; keys past that are dropped.
pub fn next_keys(old: &Keys, fresh: (SigningKey, Value), now: UnixTime, settings: &SignerSettings) -> Keys {
    let mut verification_keys: Vec<VerificationKey> =
        old.verification_keys.iter().filter(|k| k.expiry > now).cloned().collect();
    if let Some(previous) = &old.signing_key_pub {
        verification_keys
            .push(VerificationKey { jwk: previous.clone(), expiry: now + settings.token_lifetime });
    }
    let (key, public) = fresh;
    Keys {
        signing_key: Some(key),
        signing_key_pub: Some(public),
        verification_keys,
        next_rotation: now + settings.rotation_period,
        version: old.version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signer::keys::generate;

    fn settings() -> SignerSettings {
        SignerSettings { algorithm: SigningAlgorithm::Es256, rotation_period: 3600, token_lifetime: 600 }
    }

    #[test]
    fn due_when_missing_expired_or_algorithm_changed() {
        let empty = Keys::default();
        assert!(is_due(&empty, SigningAlgorithm::Rs256, 0));
        let keys = next_keys(&empty, generate(SigningAlgorithm::Es256).unwrap(), 100, &settings());
        assert!(!is_due(&keys, SigningAlgorithm::Es256, 100 + 3599));
        assert!(is_due(&keys, SigningAlgorithm::Es256, 100 + 3600));
        assert!(is_due(&keys, SigningAlgorithm::Rs256, 101));
    }

    #[test]
    fn retired_key_is_kept_until_its_tokens_expire() {
        let first = next_keys(&Keys::default(), generate(SigningAlgorithm::Es256).unwrap(), 0, &settings());
        let second = next_keys(&first, generate(SigningAlgorithm::Es256).unwrap(), 3600, &settings());
        assert_eq!(second.verification_keys.len(), 1);
        assert_eq!(second.verification_keys[0].jwk, first.signing_key_pub.clone().unwrap());
        assert_eq!(second.verification_keys[0].expiry, 3600 + 600);
        let third = next_keys(&second, generate(SigningAlgorithm::Es256).unwrap(), 7200, &settings());
        // The first key expired at 4200 and is gone; the second is kept.
        assert_eq!(third.verification_keys.len(), 1);
        assert_eq!(third.verification_keys[0].jwk, second.signing_key_pub.clone().unwrap());
    }
}
