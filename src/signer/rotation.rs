//! When keys rotate and what the key set looks like afterwards. Pure functions of the stored
//! keys and `now`, so the rules are easy to test.

use super::SignerSettings;
use super::keys::SigningAlgorithm;
use crate::storage::{Keys, SigningKey, VerificationKey};
use crate::types::UnixTime;
use serde_json::Value;

/// What the key set needs now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Keep,
    /// Publish an upcoming key (none is published yet, or it is of another algorithm); the
    /// signing key stays.
    Publish,
    /// Replace the signing key: there is none, its time has come, or the configured algorithm
    /// changed (a switch from RS256 to ES256 takes effect at once; old tokens stay verifiable).
    Rotate,
}

pub fn step(keys: &Keys, algorithm: SigningAlgorithm, now: UnixTime) -> Step {
    match &keys.signing_key {
        None => Step::Rotate,
        Some(key) if now >= keys.next_rotation || key.alg != algorithm.name() => Step::Rotate,
        Some(_) if published_upcoming(keys, algorithm).is_none() => Step::Publish,
        Some(_) => Step::Keep,
    }
}

/// The upcoming key and its public JWK, when one is published with the configured algorithm:
/// the key a rotation promotes. Without one a rotation signs with a key nobody has fetched yet.
pub fn published_upcoming(keys: &Keys, algorithm: SigningAlgorithm) -> Option<(SigningKey, Value)> {
    match (&keys.upcoming_key, &keys.upcoming_key_pub) {
        (Some(key), Some(public)) if key.alg == algorithm.name() => Some((key.clone(), public.clone())),
        _ => None,
    }
}

/// The key set with `upcoming` published next to the unchanged signing key.
pub fn with_upcoming(old: &Keys, upcoming: (SigningKey, Value)) -> Keys {
    Keys { upcoming_key: Some(upcoming.0), upcoming_key_pub: Some(upcoming.1), ..old.clone() }
}

/// The key set after `signing` (the published upcoming key, or a fresh one when there is none)
/// replaces the signing key and `upcoming` is published for the rotation after: the old public
/// key is kept for verification until every token it signed has expired; keys past that are
/// dropped.
pub fn rotated(
    old: &Keys,
    signing: (SigningKey, Value),
    upcoming: (SigningKey, Value),
    now: UnixTime,
    settings: &SignerSettings,
) -> Keys {
    let mut verification_keys: Vec<VerificationKey> =
        old.verification_keys.iter().filter(|k| k.expiry > now).cloned().collect();
    if let Some(previous) = &old.signing_key_pub {
        verification_keys
            .push(VerificationKey { jwk: previous.clone(), expiry: now + settings.token_lifetime });
    }
    Keys {
        signing_key: Some(signing.0),
        signing_key_pub: Some(signing.1),
        verification_keys,
        upcoming_key: Some(upcoming.0),
        upcoming_key_pub: Some(upcoming.1),
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

    fn rotate(old: &Keys, now: UnixTime) -> Keys {
        let signing = published_upcoming(old, SigningAlgorithm::Es256)
            .unwrap_or_else(|| generate(SigningAlgorithm::Es256).unwrap());
        rotated(old, signing, generate(SigningAlgorithm::Es256).unwrap(), now, &settings())
    }

    #[test]
    fn due_when_missing_expired_or_algorithm_changed() {
        let empty = Keys::default();
        assert_eq!(step(&empty, SigningAlgorithm::Rs256, 0), Step::Rotate);
        let keys = rotate(&empty, 100);
        assert_eq!(step(&keys, SigningAlgorithm::Es256, 100 + 3599), Step::Keep);
        assert_eq!(step(&keys, SigningAlgorithm::Es256, 100 + 3600), Step::Rotate);
        assert_eq!(step(&keys, SigningAlgorithm::Rs256, 101), Step::Rotate);
    }

    #[test]
    fn a_key_is_published_a_rotation_period_before_it_signs() {
        let first = rotate(&Keys::default(), 0);
        let upcoming = first.upcoming_key_pub.clone().expect("published at the first rotation");
        assert_ne!(Some(&upcoming), first.signing_key_pub.as_ref());
        let second = rotate(&first, 3600);
        assert_eq!(second.signing_key_pub.as_ref(), Some(&upcoming), "the published key signs next");
        assert_ne!(second.upcoming_key_pub.as_ref(), Some(&upcoming), "and a new one is published");
    }

    #[test]
    fn a_key_set_stored_without_an_upcoming_key_gets_one_before_it_rotates() {
        let mut legacy = rotate(&Keys::default(), 0);
        legacy.upcoming_key = None;
        legacy.upcoming_key_pub = None;
        assert_eq!(step(&legacy, SigningAlgorithm::Es256, 10), Step::Publish);
        let published = with_upcoming(&legacy, generate(SigningAlgorithm::Es256).unwrap());
        assert_eq!(published.signing_key, legacy.signing_key);
        assert_eq!(step(&published, SigningAlgorithm::Es256, 10), Step::Keep);
        // An upcoming key of the old algorithm is not promoted after a switch.
        assert!(published_upcoming(&published, SigningAlgorithm::Rs256).is_none());
        assert_eq!(step(&published, SigningAlgorithm::Rs256, 10), Step::Rotate);
    }

    #[test]
    fn retired_key_is_kept_until_its_tokens_expire() {
        let first = rotate(&Keys::default(), 0);
        let second = rotate(&first, 3600);
        assert_eq!(second.verification_keys.len(), 1);
        assert_eq!(second.verification_keys[0].jwk, first.signing_key_pub.clone().unwrap());
        assert_eq!(second.verification_keys[0].expiry, 3600 + 600);
        let third = rotate(&second, 7200);
        // The first key expired at 4200 and is gone; the second is kept.
        assert_eq!(third.verification_keys.len(), 1);
        assert_eq!(third.verification_keys[0].jwk, second.signing_key_pub.clone().unwrap());
    }
}
