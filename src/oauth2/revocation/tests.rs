use super::*;
use crate::oauth2::access_tokens::AccessTokens;
use crate::oauth2::testing::{ISSUER, World, settings};
use crate::types::Secret;

fn creds(id: &str) -> ClientCredentials {
    ClientCredentials {
        client_id: id.into(),
        client_secret: Some(Secret::new(format!("{id}-secret"))),
        basic: false,
        ..Default::default()
    }
}

fn presented(token: &str) -> PresentedToken {
    PresentedToken {
        token: Some(Secret::new(token)),
        token_type_hint: Some("refresh_token".into()),
        ..Default::default()
    }
}

async fn refresh_token(world: &World) -> String {
    world.refresh_token("app", &["openid", "offline_access"]).await
}

async fn access_is_valid(world: &World, token: &str) -> bool {
    // A fresh checker reads the revocation from storage, as another replica would.
    let elsewhere = AccessTokens::load(world.storage.as_ref(), world.now, Default::default()).await.unwrap();
    let here = world.access_tokens.verify(world.signer.as_ref(), ISSUER, token, world.now).await.is_ok();
    let there = elsewhere.verify(world.signer.as_ref(), ISSUER, token, world.now).await.is_ok();
    assert_eq!(here, there, "this replica and another agree");
    here
}

async fn family_exists(world: &World, token: &str) -> bool {
    let (id, _) = token.split_once('.').unwrap();
    world.storage.get_refresh_token(id).await.unwrap().is_some()
}

#[tokio::test]
async fn an_access_token_is_revoked_until_it_expires() {
    let world = World::new(settings()).await;
    let token = world.access_token("app", &["openid"]);
    assert!(access_is_valid(&world, &token).await);
    // The hint is wrong on purpose: it is only a hint.
    revoke(&world.ctx(), &creds("app"), &presented(&token)).await.unwrap();
    assert!(!access_is_valid(&world, &token).await);
    // Revoking again is still a success.
    revoke(&world.ctx(), &creds("app"), &presented(&token)).await.unwrap();
}

#[tokio::test]
async fn a_refresh_token_ends_its_family() {
    let world = World::new(settings()).await;
    let token = refresh_token(&world).await;
    revoke(&world.ctx(), &creds("app"), &presented(&token)).await.unwrap();
    assert!(!family_exists(&world, &token).await);
}

#[tokio::test]
async fn another_clients_token_is_refused_and_kept() {
    let world = World::new(settings()).await;
    let access = world.access_token("app", &["openid"]);
    let refresh = refresh_token(&world).await;
    let public = ClientCredentials { client_id: "cli".into(), ..Default::default() };
    for caller in [creds("api"), public] {
        for token in [&access, &refresh] {
            let e = revoke(&world.ctx(), &caller, &presented(token)).await.unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidGrant);
        }
    }
    assert!(access_is_valid(&world, &access).await);
    assert!(family_exists(&world, &refresh).await);
}

/// The answer about another client's token is the same whether it is valid or not, so a
/// public client's id (which anyone may send) is no validity oracle.
#[tokio::test]
async fn the_answer_about_another_clients_token_does_not_tell_if_it_is_valid() {
    let mut world = World::new(settings()).await;
    let refresh = refresh_token(&world).await;
    let (id, _) = refresh.split_once('.').unwrap();
    let wrong_secret = format!("{id}.{}", crate::crypto::base64url(&[1u8; 32]));
    let expired = world.access_token("app", &["openid"]);
    world.now += 600;
    let forged = {
        // app's claims, signed by another issuer's key.
        let other = World::new(settings()).await;
        other.access_token("app", &["openid"])
    };
    let public = ClientCredentials { client_id: "cli".into(), ..Default::default() };
    for token in [&wrong_secret, &expired, &forged] {
        let e = revoke(&world.ctx(), &public, &presented(token)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidGrant, "{token}");
        // Its own client is told nothing changed.
        revoke(&world.ctx(), &creds("app"), &presented(token)).await.unwrap();
    }
    assert!(family_exists(&world, &refresh).await);
}

#[tokio::test]
async fn an_id_token_cannot_be_revoked() {
    let world = World::new(settings()).await;
    let minted = world.tokens("app", &["openid"]);
    let e = revoke(&world.ctx(), &creds("app"), &presented(&minted.id_token)).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsupportedTokenType);
    assert!(access_is_valid(&world, &minted.access_token).await, "its access token is untouched");
}

#[tokio::test]
async fn unknown_and_malformed_tokens_are_a_success_that_changes_nothing() {
    let world = World::new(settings()).await;
    let refresh = refresh_token(&world).await;
    let (id, _) = refresh.split_once('.').unwrap();
    let wrong_secret = format!("{id}.{}", crate::crypto::base64url(&[1u8; 32]));
    let foreign = World::new(settings()).await.access_token("app", &["openid"]);
    for token in ["", "garbage", "a.b.c", "x.y", "%.%.%", wrong_secret.as_str(), foreign.as_str()] {
        revoke(&world.ctx(), &creds("app"), &presented(token)).await.unwrap();
    }
    assert!(family_exists(&world, &refresh).await, "a wrong secret does not revoke");
}

#[tokio::test]
async fn the_client_must_authenticate() {
    let world = World::new(settings()).await;
    let token = world.access_token("app", &["openid"]);
    let anonymous = ClientCredentials::default();
    let wrong = ClientCredentials {
        client_id: "app".into(),
        client_secret: Some(Secret::new("nope")),
        basic: true,
        ..Default::default()
    };
    for c in [anonymous, wrong] {
        let e = revoke(&world.ctx(), &c, &presented(&token)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidClient);
    }
    assert!(access_is_valid(&world, &token).await);
    // A public client revokes its own tokens by its id alone.
    let cli = world.access_token("cli", &["openid"]);
    let public = ClientCredentials { client_id: "cli".into(), ..Default::default() };
    revoke(&world.ctx(), &public, &presented(&cli)).await.unwrap();
    assert!(!access_is_valid(&world, &cli).await);
}
