//! Two replicas on one PostgreSQL (or MySQL/MariaDB) database behind one issuer URL:
//! whatever one starts, the other can finish, and they sign with the same key.

use crate::common::*;
use reqwest::StatusCode;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_logins_tokens_and_keys() {
    let database = Arc::new(ScratchDatabase::create().await);
    let replica = |listener| TestServer::builder().shared_postgres(database.clone()).listener(listener);
    let key_version = || database.scalar("SELECT version FROM keys");
    two_replicas(replica, key_version).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_logins_tokens_and_keys_on_mysql() {
    let database = Arc::new(MysqlScratchDatabase::create().await);
    let replica = |listener| TestServer::builder().shared_mysql(database.clone()).listener(listener);
    let key_version = || database.scalar("SELECT version FROM `keys`");
    two_replicas(replica, key_version).await;
}

/// The scenario, with `replica` making a server builder on the shared database and
/// `key_version` reading the stored key set's version.
async fn two_replicas<F: Future<Output = i64>>(
    replica: impl Fn(tokio::net::TcpListener) -> Builder,
    key_version: impl Fn() -> F,
) {
    let listener_a = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listener_b = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/dex", listener_a.local_addr().unwrap());
    // Both start at once on an empty database: exactly one signing key must come out.
    let (a, b) = tokio::join!(
        replica(listener_a).issuer(&issuer).start(),
        replica(listener_b).issuer(&issuer).start(),
    );
    assert_ne!(a.base_url, b.base_url);

    let (jwks_a, jwks_b) = (a.jwks().await, b.jwks().await);
    assert_eq!(jwks_a["keys"].as_array().unwrap().len(), 2, "signing and upcoming key: {jwks_a}");
    assert_eq!(jwks_a, jwks_b);
    // One successful swap in storage: the loser adopted the winner's key.
    assert_eq!(key_version().await, 1);

    // The login starts on A; the password form is posted to B (sessions are shared; the
    // cookie jar sends the session cookie to both ports of 127.0.0.1).
    let browser = browser();
    let page = navigate(&browser, &a.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid email offline_access"))
        .await
        .page();
    let mut form = page.form();
    form.action.set_port(Some(b.addr.port())).unwrap();
    // B accepts the login and sends the browser to the approval page at the issuer (A).
    let to_issuer =
        submit(&browser, &form, &[("login", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)]).await.client();
    assert!(to_issuer.as_str().starts_with(&format!("{issuer}/approval")), "{to_issuer}");
    let approval = navigate(&browser, &to_issuer).await.page();
    let done = approve(&browser, &approval).await.client();
    let code = query_param(&done, "code").unwrap();

    // The code from A redeems on B, the refresh token works on B, the tokens on A.
    let tokens = b.redeem(&code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert_eq!(jwt_claims(tokens.str("id_token"))["iss"], issuer);
    let refreshed = b.refresh(tokens.str("refresh_token")).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    assert_eq!(a.userinfo(refreshed.str("access_token")).await.status, StatusCode::OK);
    a.redeem(&code).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // The replay on A revoked what B issued from the code, everywhere: B keeps revoked
    // access tokens in memory and reads the other replicas' revocations every second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let seen = loop {
        let answer = b.userinfo(tokens.str("access_token")).await;
        if answer.status != StatusCode::OK || std::time::Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    seen.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    b.refresh(refreshed.str("refresh_token")).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    // Rotation on A is adopted by B.
    a.advance(6 * 3600 + 1);
    b.advance(6 * 3600 + 1);
    a.running().app.signer.rotate_if_due().await.unwrap();
    b.running().app.signer.rotate_if_due().await.unwrap();
    let (jwks_a, jwks_b) = (a.jwks().await, b.jwks().await);
    assert_eq!(jwks_a["keys"].as_array().unwrap().len(), 3, "{jwks_a}");
    assert_eq!(jwks_a, jwks_b);
    assert_eq!(key_version().await, 2);
    a.stop().await;
    b.stop().await;
}
