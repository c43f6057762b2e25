#![allow(clippy::unwrap_used)]

use super::*;
use crate::oauth2::grants::refresh_token::{Origin, create_family};
use crate::oauth2::testing::{World, client, settings, user};

fn creds(id: &str, secret: Option<&str>) -> ClientCredentials {
    ClientCredentials { client_id: id.into(), client_secret: secret.map(Secret::new), basic: false }
}

fn presented(token: &str) -> PresentedToken {
    PresentedToken { token: Some(Secret::new(token)), ..Default::default() }
}

fn api() -> ClientCredentials {
    creds("api", Some("api-secret"))
}

async fn refresh_token(world: &World, scopes: &[&str]) -> String {
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    let claims = user();
    let origin = Origin {
        connector_id: "mock",
        claims: &claims,
        connector_data: &None,
        scopes: &scopes,
        nonce: "",
        auth_time: 0,
        session_id: "",
    };
    create_family(&world.ctx(), &client("app", false), origin).await.unwrap().1
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
    assert_eq!(out["sub"], subject::encode("u-1", "mock"));
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
    let out = introspect(&world.ctx(), &api(), &presented(&token)).await.unwrap();
    assert_eq!(out["active"], true);
    assert_eq!(out["token_type"], "refresh_token");
    assert_eq!(out["client_id"], "app");
    assert_eq!(out["scope"], "openid email offline_access");
    assert_eq!(out["sub"], subject::encode("u-1", "mock"));
    assert_eq!(out["iat"], json!(world.now));
    assert_eq!(out["exp"], json!(world.now + 3600));
    assert_eq!(out["email"], "jane@example.com");
    assert!(out.get("groups").is_none(), "groups was not granted");

    // A tampered secret, and the token past its absolute lifetime, are inactive.
    let (id, _) = token.split_once('.').unwrap();
    let forged = format!("{id}.{}", crate::crypto::base64url(&[7u8; 32]));
    assert_eq!(introspect(&world.ctx(), &api(), &presented(&forged)).await.unwrap()["active"], false);
    world.now += 3600;
    assert_eq!(introspect(&world.ctx(), &api(), &presented(&token)).await.unwrap()["active"], false);
}

#[tokio::test]
async fn an_idle_refresh_token_is_inactive_and_no_absolute_lifetime_means_no_exp() {
    let mut world = World::new(settings()).await;
    world.settings.refresh.valid_if_not_used_for = Some(100);
    let token = refresh_token(&world, &["openid", "offline_access"]).await;
    let out = introspect(&world.ctx(), &api(), &presented(&token)).await.unwrap();
    assert!(out.get("exp").is_none());
    world.now += 100;
    assert_eq!(introspect(&world.ctx(), &api(), &presented(&token)).await.unwrap()["active"], false);
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
