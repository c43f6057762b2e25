use super::*;
use crate::oauth2::testing::{World, settings};

fn creds(id: &str, secret: Option<&str>) -> ClientCredentials {
    ClientCredentials {
        client_id: id.into(),
        client_secret: secret.map(Secret::new),
        basic: false,
        ..Default::default()
    }
}

fn presented(token: &str) -> PresentedToken {
    PresentedToken { token: Some(Secret::new(token)), ..Default::default() }
}

fn api() -> ClientCredentials {
    creds("api", Some("api-secret"))
}

fn app() -> ClientCredentials {
    creds("app", Some("app-secret"))
}

/// A public client, which sends only its id.
fn cli() -> ClientCredentials {
    creds("cli", None)
}

async fn refresh_token(world: &World, scopes: &[&str]) -> String {
    world.refresh_token("app", scopes).await
}

async fn active(world: &World, caller: &ClientCredentials, token: &str) -> bool {
    let out = introspect(&world.ctx(), caller, &presented(token)).await.unwrap();
    if out["active"] == false {
        assert_eq!(Value::Object(out), json!({"active": false}), "an inactive answer says nothing else");
        return false;
    }
    true
}

#[tokio::test]
async fn an_access_token_is_described_with_dex_field_names() {
    let world = World::new(settings()).await;
    let token = world.access_token("app", &["openid", "email", "profile", "groups"]);
    let out = introspect(&world.ctx(), &api(), &presented(&token)).await.unwrap();
    assert_eq!(out["active"], true);
    assert_eq!(out["client_id"], "app");
    assert_eq!(out["aud"], "app");
    assert_eq!(out["iss"], crate::oauth2::testing::ISSUER);
    assert_eq!(out["scope"], "openid email profile groups");
    assert_eq!(out["token_type"], "Bearer");
    assert_eq!(out["token_use"], "access_token");
    assert_eq!(out["sub"], subject::encode("u-1", &"mock".into()));
    assert_eq!(out["nbf"], out["iat"]);
    assert_eq!(out["exp"], json!(world.now + 600));
    assert!(out["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert_eq!(out["username"], "jane");
    assert_eq!(out["email"], "jane@example.com");
    assert_eq!(out["email_verified"], true);
    assert_eq!(out["groups"], json!(["admins"]));
    assert_eq!(out["ext"]["name"], "Jane Doe");
    assert_eq!(out["ext"]["email"], "jane@example.com");
}

#[tokio::test]
async fn expired_revoked_foreign_and_garbage_tokens_are_just_inactive() {
    let mut world = World::new(settings()).await;
    let token = world.access_token("app", &["openid"]);
    let revoked = world.access_token("app", &["openid"]);
    let claims = crate::signer::Signer::verify(world.signer.as_ref(), &revoked).unwrap();
    let storage = world.storage.clone();
    world
        .access_tokens
        .revoke(storage.as_ref(), claims["jti"].as_str().unwrap(), world.now + 600, world.now)
        .await
        .unwrap();
    let other = World::new(settings()).await.access_token("app", &["openid"]);
    let inactive = json!({"active": false});
    for t in [
        revoked.as_str(),
        other.as_str(),
        "",
        "x",
        "a.b",
        "a.b.c",
        "....",
        "é.ü.€",
        "abc.",
        ".abc",
        "%%%.%%%",
    ] {
        let out = introspect(&world.ctx(), &api(), &presented(t)).await.unwrap();
        assert_eq!(Value::Object(out), inactive, "{t:?}");
    }
    world.now += 600;
    assert_eq!(Value::Object(introspect(&world.ctx(), &api(), &presented(&token)).await.unwrap()), inactive);
}

#[tokio::test]
async fn a_refresh_token_is_active_while_its_current_secret_is_valid() {
    let mut world = World::new(settings()).await;
    world.settings.refresh.absolute_lifetime = Some(3600);
    let token = refresh_token(&world, &["openid", "email", "offline_access"]).await;
    let out = introspect(&world.ctx(), &app(), &presented(&token)).await.unwrap();
    assert_eq!(out["active"], true);
    assert_eq!(out["token_type"], "refresh_token");
    assert_eq!(out["client_id"], "app");
    assert_eq!(out["scope"], "openid email offline_access");
    assert_eq!(out["sub"], subject::encode("u-1", &"mock".into()));
    assert_eq!(out["iat"], json!(world.now));
    assert_eq!(out["exp"], json!(world.now + 3600));
    assert_eq!(out["email"], "jane@example.com");
    assert!(out.get("groups").is_none(), "groups was not granted");

    // A tampered secret, and the token past its absolute lifetime, are inactive.
    let (id, _) = token.split_once('.').unwrap();
    let forged = format!("{id}.{}", crate::crypto::base64url(&[7u8; 32]));
    assert!(!active(&world, &app(), &forged).await);
    world.now += 3600;
    assert!(!active(&world, &app(), &token).await);
}

#[tokio::test]
async fn an_idle_refresh_token_is_inactive_and_no_absolute_lifetime_means_no_exp() {
    let mut world = World::new(settings()).await;
    world.settings.refresh.valid_if_not_used_for = Some(100);
    let token = refresh_token(&world, &["openid", "offline_access"]).await;
    let out = introspect(&world.ctx(), &app(), &presented(&token)).await.unwrap();
    assert!(out.get("exp").is_none());
    world.now += 100;
    assert!(!active(&world, &app(), &token).await);
}

#[tokio::test]
async fn the_caller_must_authenticate_unless_allowed_not_to() {
    let mut world = World::new(settings()).await;
    let token = world.access_token("app", &["openid"]);
    for bad in [creds("", None), creds("api", Some("wrong")), creds("nobody", Some("x"))] {
        let e = introspect(&world.ctx(), &bad, &presented(&token)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidClient);
    }
    world.settings.introspection_allow_unauthenticated = true;
    assert_eq!(introspect(&world.ctx(), &creds("", None), &presented(&token)).await.unwrap()["active"], true);
    // Credentials that are presented are still checked.
    let e = introspect(&world.ctx(), &creds("api", Some("wrong")), &presented(&token)).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidClient);
}

#[tokio::test]
async fn a_missing_token_is_an_invalid_request() {
    let world = World::new(settings()).await;
    let e = introspect(&world.ctx(), &api(), &PresentedToken::default()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidRequest);
}

#[tokio::test]
async fn a_public_client_learns_only_about_its_own_tokens() {
    let world = World::new(settings()).await;
    let apps_access = world.access_token("app", &["openid", "email"]);
    let apps_refresh = refresh_token(&world, &["openid", "offline_access"]).await;
    // Anyone can send a public client's id: it is no key to other clients' tokens.
    assert!(!active(&world, &cli(), &apps_access).await);
    assert!(!active(&world, &cli(), &apps_refresh).await);
    let own_access = world.access_token("cli", &["openid", "email"]);
    let own_refresh = world.refresh_token("cli", &["openid", "offline_access"]).await;
    assert!(active(&world, &cli(), &own_access).await);
    assert!(active(&world, &cli(), &own_refresh).await);
}

#[tokio::test]
async fn refresh_tokens_are_described_to_their_own_client_only() {
    let world = World::new(settings()).await;
    let token = refresh_token(&world, &["openid", "email", "offline_access"]).await;
    assert!(active(&world, &app(), &token).await);
    // A resource server never holds a refresh token: in its hands, it is a leaked one.
    assert!(!active(&world, &api(), &token).await);
    // Access tokens are what resource servers check: those of other clients are described.
    assert!(active(&world, &api(), &world.access_token("app", &["openid"])).await);
}

#[tokio::test]
async fn an_id_token_is_not_an_active_token() {
    let world = World::new(settings()).await;
    let minted = world.tokens("app", &["openid", "email", "profile"]);
    for caller in [app(), api()] {
        assert!(active(&world, &caller, &minted.access_token).await);
        assert!(!active(&world, &caller, &minted.id_token).await, "the ID token is inactive");
    }
}

#[tokio::test]
async fn unauthenticated_introspection_is_dex_and_sees_every_token() {
    let mut world = World::new(settings()).await;
    world.settings.introspection_allow_unauthenticated = true;
    let refresh = refresh_token(&world, &["openid", "offline_access"]).await;
    let access = world.access_token("app", &["openid"]);
    for caller in [creds("", None), cli(), api()] {
        assert!(active(&world, &caller, &refresh).await, "{}", caller.client_id);
        assert!(active(&world, &caller, &access).await, "{}", caller.client_id);
    }
}
