//! Refresh tokens (RFC 6749 §6) with rotation, reuse detection (RFC 9700 §4.14.2) and the
//! `expiry.refreshTokens` policy. Time moves with the server's clock, never with sleeps.

use crate::common::rp::{self, RpHttp};
use crate::common::*;
use openidconnect::OAuth2TokenResponse;
use reqwest::StatusCode;

const REUSE_3S: &str = "expiry:\n  refreshTokens:\n    reuseInterval: 3s\n";

async fn offline_login(server: &TestServer) -> String {
    let tokens = server.login_tokens("openid email offline_access").await;
    tokens["refresh_token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_with_rp_library_rotates_and_keeps_identity() {
    let server = TestServer::start().await;
    let http = RpHttp::new();
    let client = rp::client(&server, &http, CLIENT_ID, Some(CLIENT_SECRET), REDIRECT_URI).await;
    let login = rp::code_flow(&client, &http, &["email", "groups", "offline_access"]).await;
    let first = login.tokens.refresh_token().unwrap().clone();

    let refreshed = client.exchange_refresh_token(&first).unwrap().request_async(&http).await.unwrap();
    let second = refreshed.refresh_token().unwrap();
    assert_ne!(second.secret(), first.secret(), "the refresh token rotates");
    assert_ne!(refreshed.access_token().secret(), login.tokens.access_token().secret());
    // The new ID token is verified like the first one; it keeps the subject and the nonce.
    let claims = rp::verify_id_token(&client, &refreshed, &login.nonce);
    assert_eq!(claims.subject(), login.claims.subject());
    assert_eq!(claims.email().map(|e| e.as_str()), Some(ADMIN_EMAIL));
    assert_eq!(claims.additional_claims().groups.as_ref().map(Vec::len), Some(2));
    let info = server.userinfo(refreshed.access_token().secret()).await;
    assert_eq!(info.status, StatusCode::OK);

    // The rotated token works again once.
    let third = client.exchange_refresh_token(second).unwrap().request_async(&http).await.unwrap();
    assert_ne!(third.refresh_token().unwrap().secret(), second.secret());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previous_token_within_reuse_interval_yields_the_same_new_token() {
    let server = TestServer::builder().yaml(REUSE_3S).start().await;
    let first = offline_login(&server).await;
    let a = server.refresh(&first).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_ne!(a.str("refresh_token"), first);
    // A retry (lost response): the previous token again, within the interval.
    server.advance(2);
    let b = server.refresh(&first).await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.text);
    assert_eq!(b.str("refresh_token"), a.str("refresh_token"));
    // And the current token still works.
    let c = server.refresh(a.str("refresh_token")).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
}

/// `reuseInterval: 1s` at full precision, as Dex measures it. The rotation falls early in its
/// second (the clock is moved to 50 ms past a whole second first), where a window counted in
/// whole seconds would still take a replay 1.6 s later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reuse_window_is_not_rounded_to_whole_seconds() {
    use tessera::clock::Clock;
    let server =
        TestServer::builder().yaml("expiry:\n  refreshTokens:\n    reuseInterval: 1s\n").start().await;
    let early_in_a_second = |server: &TestServer| {
        let into = server.clock.now_ms().rem_euclid(1000);
        server.clock.advance_ms(1000 - into + 50);
    };

    // 0.5 s after the rotation: a retry within the window gets the same new token.
    let first = offline_login(&server).await;
    early_in_a_second(&server);
    let rotated = server.refresh(&first).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    server.clock.advance_ms(500);
    let retry = server.refresh(&first).await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.text);
    assert_eq!(retry.str("refresh_token"), rotated.str("refresh_token"));

    // 1.6 s after the rotation (the next whole second): a reuse, and the family is revoked.
    let first = offline_login(&server).await;
    early_in_a_second(&server);
    let rotated = server.refresh(&first).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    server.clock.advance_ms(1600);
    server.refresh(&first).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    server.refresh(rotated.str("refresh_token")).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_after_the_interval_revokes_the_whole_family() {
    let server = TestServer::builder().yaml(REUSE_3S).start().await;
    let first = offline_login(&server).await;
    let a = server.refresh(&first).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let newest = a.str("refresh_token").to_string();

    server.advance(10);
    server.refresh(&first).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // Reuse detected: the newest token of the family stops working too.
    server.refresh(&newest).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_with_the_default_policy_revokes_the_family() {
    // Default reuseInterval is 0 (as Dex): no grace period at all, not even within the
    // same second.
    let server = TestServer::start().await;
    let first = offline_login(&server).await;
    let a = server.refresh(&first).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    server.refresh(&first).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    server.refresh(a.str("refresh_token")).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_of_one_token_all_get_the_same_new_token() {
    let server = TestServer::builder().yaml(REUSE_3S).start().await;
    let first = offline_login(&server).await;
    let url = server.url("/token");
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (url, token, barrier) = (url.clone(), first.clone(), barrier.clone());
            tokio::spawn(async move {
                let request = api()
                    .post(url)
                    .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
                    .form(&[("grant_type", "refresh_token"), ("refresh_token", token.as_str())]);
                barrier.wait().await;
                ApiResponse::read(request.send().await.unwrap()).await
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        let response = task.await.unwrap();
        assert_eq!(response.status, StatusCode::OK, "{}", response.text);
        tokens.push(response.str("refresh_token").to_string());
    }
    assert!(tokens.iter().all(|t| *t == tokens[0]), "{tokens:?}");
    assert_ne!(tokens[0], first);
    let next = server.refresh(&tokens[0]).await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_may_narrow_but_not_widen() {
    let server = TestServer::start().await;
    let first = offline_login(&server).await;
    let wider = server
        .token(
            Some((CLIENT_ID, CLIENT_SECRET)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &first),
                ("scope", "openid email groups offline_access"),
            ],
        )
        .await;
    wider.assert_error(StatusCode::BAD_REQUEST, "invalid_scope");

    let narrower = server
        .token(
            Some((CLIENT_ID, CLIENT_SECRET)),
            &[("grant_type", "refresh_token"), ("refresh_token", &first), ("scope", "openid")],
        )
        .await;
    assert_eq!(narrower.status, StatusCode::OK, "{}", narrower.text);
    assert_eq!(narrower.str("scope"), "openid");
    assert!(jwt_claims(narrower.str("id_token")).get("email").is_none(), "email was not asked for");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_token_of_another_client_is_invalid_grant() {
    let server = TestServer::start().await;
    let first = offline_login(&server).await;
    let stolen = server
        .token(Some((OTHER_ID, OTHER_SECRET)), &[("grant_type", "refresh_token"), ("refresh_token", &first)])
        .await;
    stolen.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // The owner can still use it.
    assert_eq!(server.refresh(&first).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_unknown_refresh_tokens_are_invalid_grant() {
    let server = TestServer::start().await;
    for token in ["garbage", "abc.def", "nosuchid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "."] {
        server.refresh(token).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    server
        .token(Some((CLIENT_ID, CLIENT_SECRET)), &[("grant_type", "refresh_token")])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absolute_lifetime_ends_the_token() {
    let server =
        TestServer::builder().yaml("expiry:\n  refreshTokens:\n    absoluteLifetime: 1h\n").start().await;
    let first = offline_login(&server).await;
    server.advance(1800);
    let a = server.refresh(&first).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    // Using it does not extend the absolute lifetime.
    server.advance(1801);
    server.refresh(a.str("refresh_token")).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_limit_is_extended_by_each_use() {
    let server =
        TestServer::builder().yaml("expiry:\n  refreshTokens:\n    validIfNotUsedFor: 1h\n").start().await;
    let first = offline_login(&server).await;
    server.advance(3000);
    let a = server.refresh(&first).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    // 50 minutes after the last use: still valid (more than an hour after the login).
    server.advance(3000);
    let b = server.refresh(a.str("refresh_token")).await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.text);
    server.advance(3601);
    server.refresh(b.str("refresh_token")).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_rotation_returns_the_same_token() {
    let server =
        TestServer::builder().yaml("expiry:\n  refreshTokens:\n    disableRotation: true\n").start().await;
    let first = offline_login(&server).await;
    for _ in 0..3 {
        let response = server.refresh(&first).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text);
        assert_eq!(response.str("refresh_token"), first);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_logins_get_independent_refresh_tokens() {
    let server = TestServer::start().await;
    let one = offline_login(&server).await;
    let two = offline_login(&server).await;
    assert_ne!(one, two);
    let one_next = server.refresh(&one).await;
    assert_eq!(one_next.status, StatusCode::OK, "{}", one_next.text);
    let two_next = server.refresh(&two).await;
    assert_eq!(two_next.status, StatusCode::OK, "{}", two_next.text);
    // Revoking one family (by reuse) leaves the other alone.
    server.advance(10);
    server.refresh(&one).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(server.refresh(two_next.str("refresh_token")).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_refresh_token_without_offline_access() {
    let server = TestServer::start().await;
    let tokens = server.login_tokens("openid email").await;
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
}

/// The access tokens a refresh-token family issued stop working when the family is revoked —
/// by RFC 7009 revocation or by reuse detection (RFC 9700 §4.14.2) — at once on the replica
/// that revoked it and on another within the propagation delay (about a second).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn access_tokens_of_a_revoked_family_stop_working_on_every_replica() {
    let database = std::sync::Arc::new(ScratchDatabase::create().await);
    let listener_a = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/dex", listener_a.local_addr().unwrap());
    let replica =
        |listener| TestServer::builder().shared_postgres(database.clone()).listener(listener).issuer(&issuer);
    let a = replica(listener_a).start().await;
    let b = replica(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).start().await;
    let dead_everywhere = |access: String| {
        let (a, b) = (&a, &b);
        async move {
            a.userinfo(&access).await.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
            for _ in 0..40 {
                if b.userinfo(&access).await.status == StatusCode::UNAUTHORIZED {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            panic!("the other replica still accepts the access token after 4 s");
        }
    };

    // RFC 7009: the refresh token is revoked; its access token goes with it.
    let tokens = a.login_tokens("openid email offline_access").await;
    let (access, refresh) =
        (tokens["access_token"].as_str().unwrap(), tokens["refresh_token"].as_str().unwrap());
    assert_eq!(b.userinfo(access).await.status, StatusCode::OK);
    let revoked = api()
        .post(a.url("/token/revoke"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("token", refresh), ("token_type_hint", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    dead_everywhere(access.to_string()).await;

    // Reuse detection: a rotated-out token comes back; every access token of the family,
    // the first and the rotated one, stops working.
    let tokens = a.login_tokens("openid email offline_access").await;
    let (first, refresh) =
        (tokens["access_token"].as_str().unwrap(), tokens["refresh_token"].as_str().unwrap());
    let rotated = a.refresh(refresh).await;
    assert_eq!(rotated.status, StatusCode::OK);
    let second = rotated.str("access_token").to_string();
    assert_eq!(b.userinfo(&second).await.status, StatusCode::OK);
    a.refresh(refresh).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    dead_everywhere(first.to_string()).await;
    dead_everywhere(second).await;

    // Tokens of other logins are untouched.
    let other = a.login_tokens("openid email offline_access").await;
    assert_eq!(b.userinfo(other["access_token"].as_str().unwrap()).await.status, StatusCode::OK);
    a.stop().await;
    b.stop().await;
}
