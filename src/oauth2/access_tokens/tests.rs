use super::*;
use crate::oauth2::testing::{ISSUER, World, settings};
use crate::oauth2::tokens::TokenContext;

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
    let here = AccessTokens::load(world.storage.as_ref(), world.now, Freshness::default()).await.unwrap();
    let there = AccessTokens::load(world.storage.as_ref(), world.now, Freshness::default()).await.unwrap();
    assert!(valid(&there, &world, &token, world.now).await.is_ok());

    here.revoke(world.storage.as_ref(), &jti(&world, &token), world.now + 600, world.now + 1).await.unwrap();
    assert!(valid(&here, &world, &token, world.now + 1).await.is_err(), "at once where it was revoked");
    there.sync(world.storage.as_ref(), world.now + 2).await.unwrap();
    assert!(valid(&there, &world, &token, world.now + 2).await.is_err(), "after the other's sync");

    // A replica started later loads it too, and expired revocations are forgotten.
    let later =
        AccessTokens::load(world.storage.as_ref(), world.now + 3, Freshness::default()).await.unwrap();
    assert_eq!(later.revoked.read().unwrap().len(), 1);
    later.sync(world.storage.as_ref(), world.now + 601).await.unwrap();
    assert!(later.revoked.read().unwrap().is_empty());
}

#[tokio::test]
async fn a_revocation_stamped_by_a_slow_clock_is_not_missed() {
    let world = World::new(settings()).await;
    let token = world.access_token("app", &["openid"]);
    let here = AccessTokens::load(world.storage.as_ref(), world.now, Freshness::default()).await.unwrap();
    let there =
        AccessTokens::load(world.storage.as_ref(), world.now + 30, Freshness::default()).await.unwrap();
    // `here` runs 30 s behind `there`: its revocation is stamped before `there` last synced.
    here.revoke(world.storage.as_ref(), &jti(&world, &token), world.now + 600, world.now + 1).await.unwrap();
    there.sync(world.storage.as_ref(), world.now + 31).await.unwrap();
    assert!(valid(&there, &world, &token, world.now + 31).await.is_err());
}

#[test]
fn the_remembered_set_is_bounded_and_drops_the_least_recently_used() {
    let tokens = AccessTokens::default();
    let live =
        Arc::new(serde_json::from_value::<Map<String, Value>>(serde_json::json!({"exp": 100})).unwrap());
    let key = |i: usize| {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&(i as u64).to_le_bytes());
        key
    };
    for i in 0..MAX_VERIFIED {
        tokens.remember(key(i), &live);
    }
    // The oldest is used again; the next one in line is now the least recently used.
    assert!(tokens.verified.lock().unwrap().get(&key(0)).is_some());
    tokens.remember(key(MAX_VERIFIED), &live);
    let verified = tokens.verified.lock().unwrap();
    assert_eq!(verified.len(), MAX_VERIFIED, "full, not cleared");
    assert!(verified.contains(&key(0)), "a token in use stays");
    assert!(!verified.contains(&key(1)), "the least recently used went");
    assert!(verified.contains(&key(MAX_VERIFIED)));
}

/// The access tokens of a refresh-token family carry its tag (not its id); revoking the
/// family revokes them, here at once and on another replica at its next sync.
#[tokio::test]
async fn revoking_a_family_revokes_its_access_tokens() {
    let world = World::new(settings()).await;
    let refresh = world.refresh_token("app", &["openid", "offline_access"]).await;
    let family = refresh.split_once('.').unwrap().0.to_string();
    let ctx = TokenContext {
        issuer: ISSUER,
        client_id: &"app".into(),
        scopes: &["openid".to_string()],
        claims: &crate::oauth2::testing::user(),
        connector_id: &"mock".into(),
        nonce: "",
        auth_time: 0,
        session_id: "",
        family: &family,
        jkt: None,
        resources: &[],
        access_format: Default::default(),
        now: world.now,
        lifetimes: crate::oauth2::Lifetimes { id: 600, access: 600 },
    };
    let token = crate::oauth2::tokens::mint_access_token(world.signer.as_ref(), &ctx).unwrap().token;
    let other = world.access_token("app", &["openid"]);
    let here = AccessTokens::load(world.storage.as_ref(), world.now, Freshness::default()).await.unwrap();
    let there = AccessTokens::load(world.storage.as_ref(), world.now, Freshness::default()).await.unwrap();
    let claims = valid(&here, &world, &token, world.now).await.unwrap();
    assert_eq!(claims[FAMILY_CLAIM], family_tag(&family));
    assert!(!token.contains(&family) && !serde_json::to_string(&*claims).unwrap().contains(&family));

    here.revoke_family(world.storage.as_ref(), &family, world.now + 600, world.now).await.unwrap();
    assert!(valid(&here, &world, &token, world.now).await.is_err(), "at once here");
    assert!(valid(&there, &world, &token, world.now).await.is_ok(), "not yet synced");
    there.sync(world.storage.as_ref(), world.now + 1).await.unwrap();
    let err = valid(&there, &world, &token, world.now + 1).await.unwrap_err();
    assert!(err.description.contains("revoked"), "{err:?}");
    assert!(valid(&there, &world, &other, world.now + 1).await.is_ok(), "other tokens are untouched");
}

/// When the revoked set cannot be read for longer than allowed, tokens are not trusted:
/// an error or `invalid_token`, per the setting; a successful read restores them.
#[tokio::test]
async fn a_stale_revoked_set_fails_closed() {
    let world = World::new(settings()).await;
    let token = world.access_token("app", &["openid"]);
    let last_read_ago = |tokens: &AccessTokens, seconds: u64| {
        *tokens.synced.write().unwrap() = std::time::Instant::now() - std::time::Duration::from_secs(seconds);
    };
    for (on_stale, code) in
        [(OnStale::Error, ErrorCode::TemporarilyUnavailable), (OnStale::Inactive, ErrorCode::InvalidToken)]
    {
        let freshness = Freshness { max_age: 5, on_stale };
        let tokens = AccessTokens::load(world.storage.as_ref(), world.now, freshness).await.unwrap();
        last_read_ago(&tokens, 4);
        assert!(valid(&tokens, &world, &token, world.now).await.is_ok(), "within the bound");
        last_read_ago(&tokens, 6);
        let err = valid(&tokens, &world, &token, world.now).await.unwrap_err();
        assert_eq!(err.code, code, "{on_stale:?}");
        tokens.sync(world.storage.as_ref(), world.now + 6).await.unwrap();
        assert!(valid(&tokens, &world, &token, world.now + 6).await.is_ok(), "after a successful read");
    }
    // A read that fails does not make the set fresh; a jump of the wall clock does not make
    // it stale.
    let freshness = Freshness { max_age: 5, ..Default::default() };
    let tokens = AccessTokens::load(world.storage.as_ref(), world.now, freshness).await.unwrap();
    assert!(valid(&tokens, &world, &token, world.now + 300).await.is_ok(), "the wall clock moved, not time");
    let closed = crate::storage::sql::SqlStorage::open_memory().await.unwrap();
    closed.close().await;
    last_read_ago(&tokens, 6);
    assert!(tokens.sync(&closed, world.now + 10).await.is_err());
    assert!(valid(&tokens, &world, &token, world.now + 10).await.is_err());
}
