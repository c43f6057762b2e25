use super::*;
use crate::oauth2::testing::{ISSUER, World, settings};

fn jti(world: &World, token: &str) -> String {
    let claims = crate::signer::Signer::verify(world.signer.as_ref(), token).unwrap();
    claims["jti"].as_str().unwrap().to_string()
}

async fn valid(
    tokens: &AccessTokens,
    world: &World,
    token: &str,
    now: UnixTime,
) -> Result<Claims, OAuthError> {
    tokens.verify(world.signer.as_ref(), ISSUER, token, now).await
}

#[tokio::test]
async fn a_remembered_token_is_still_checked_for_expiry_and_revocation() {
    let world = World::new(settings()).await;
    let token = world.access_token("app", &["openid"]);
    let tokens = AccessTokens::default();
    let claims = valid(&tokens, &world, &token, world.now).await.unwrap();
    assert_eq!(tokens.verified.lock().unwrap().len(), 1, "the verification is remembered");
    let again = valid(&tokens, &world, &token, world.now).await.unwrap();
    assert!(Arc::ptr_eq(&claims, &again), "the second check reuses the first verification");

    let exp = claims["exp"].as_i64().unwrap();
    let err = valid(&tokens, &world, &token, exp).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidToken);

    tokens.revoke(world.storage.as_ref(), &jti(&world, &token), exp, world.now).await.unwrap();
    let err = valid(&tokens, &world, &token, world.now).await.unwrap_err();
    assert!(err.description.contains("revoked"), "{err:?}");
}

#[tokio::test]
async fn another_issuer_or_a_forged_token_is_refused_and_not_remembered() {
    let world = World::new(settings()).await;
    let token = world.access_token("app", &["openid"]);
    let tokens = AccessTokens::default();
    let err =
        tokens.verify(world.signer.as_ref(), "https://other.example", &token, world.now).await.unwrap_err();
    assert!(err.description.contains("someone else"), "{err:?}");

    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert!(valid(&tokens, &world, &forged, world.now).await.is_err());
    let foreign = World::new(settings()).await.access_token("app", &["openid"]);
    assert!(valid(&tokens, &world, &foreign, world.now).await.is_err());
    assert!(tokens.verified.lock().unwrap().is_empty(), "refused tokens are not remembered");
    assert!(valid(&tokens, &world, &token, world.now).await.is_ok());
    assert_eq!(tokens.verified.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn another_replica_sees_a_revocation_after_its_next_sync() {
    let world = World::new(settings()).await;
    let token = world.access_token("app", &["openid"]);
    let here = AccessTokens::load(world.storage.as_ref(), world.now).await.unwrap();
    let there = AccessTokens::load(world.storage.as_ref(), world.now).await.unwrap();
    assert!(valid(&there, &world, &token, world.now).await.is_ok());

    here.revoke(world.storage.as_ref(), &jti(&world, &token), world.now + 600, world.now + 1).await.unwrap();
    assert!(valid(&here, &world, &token, world.now + 1).await.is_err(), "at once where it was revoked");
    there.sync(world.storage.as_ref(), world.now + 2).await.unwrap();
    assert!(valid(&there, &world, &token, world.now + 2).await.is_err(), "after the other's sync");

    // A replica started later loads it too, and expired revocations are forgotten.
    let later = AccessTokens::load(world.storage.as_ref(), world.now + 3).await.unwrap();
    assert_eq!(later.revoked.read().unwrap().len(), 1);
    later.sync(world.storage.as_ref(), world.now + 601).await.unwrap();
    assert!(later.revoked.read().unwrap().is_empty());
}

#[tokio::test]
async fn a_revocation_stamped_by_a_slow_clock_is_not_missed() {
    let world = World::new(settings()).await;
    let token = world.access_token("app", &["openid"]);
    let here = AccessTokens::load(world.storage.as_ref(), world.now).await.unwrap();
    let there = AccessTokens::load(world.storage.as_ref(), world.now + 30).await.unwrap();
    // `here` runs 30 s behind `there`: its revocation is stamped before `there` last synced.
    here.revoke(world.storage.as_ref(), &jti(&world, &token), world.now + 600, world.now + 1).await.unwrap();
    there.sync(world.storage.as_ref(), world.now + 31).await.unwrap();
    assert!(valid(&there, &world, &token, world.now + 31).await.is_err());
}

#[test]
fn the_remembered_set_is_bounded() {
    let tokens = AccessTokens::default();
    let live =
        Arc::new(serde_json::from_value::<Map<String, Value>>(serde_json::json!({"exp": 100})).unwrap());
    for i in 0..(MAX_VERIFIED + 10) {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&(i as u64).to_le_bytes());
        tokens.remember(key, &live, 50);
        assert!(tokens.verified.lock().unwrap().len() <= MAX_VERIFIED);
    }
}

/// An ID token, which travels the front channel, and a logout token are signed with the same
/// keys; neither is taken as a bearer access token (RFC 8725 §3.11).
#[tokio::test]
async fn id_and_logout_tokens_are_not_access_tokens() {
    let world = World::new(settings()).await;
    let minted = world.tokens("app", &["openid", "email", "profile", "groups"]);
    let logout =
        crate::logout::logout_token(world.signer.as_ref(), ISSUER, &"app".into(), "sub", "sid", world.now)
            .unwrap();
    let tokens = AccessTokens::default();
    for (token, kind) in [(&minted.id_token, TokenKind::Id), (&logout, TokenKind::Logout)] {
        assert_eq!(TokenKind::of_unverified(token).unwrap().0, kind);
        let err = valid(&tokens, &world, token, world.now).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidToken);
        assert!(err.description.contains("not an access token"), "{err:?}");
    }
    assert!(tokens.verified.lock().unwrap().is_empty(), "nothing refused is remembered");
    assert_eq!(TokenKind::of_unverified(&minted.access_token).unwrap().0, TokenKind::Access);
    assert!(valid(&tokens, &world, &minted.access_token, world.now).await.is_ok());
}
