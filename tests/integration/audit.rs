//! Audit events (`logger.auditFile`): one JSON line per security-relevant action, with the
//! fields an auditor needs and nothing secret in them.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::path::Path;
use url::Url;

/// The events written so far (the file is written by a thread of its own: wait until
/// `count` are there, a bounded while).
async fn events(path: &Path, count: usize) -> Vec<Value> {
    let mut lines = Vec::new();
    for _ in 0..100 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        lines = text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).collect();
        if lines.len() >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    lines
}

fn find<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_actions_are_audited_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let server = TestServer::builder()
        .yaml(&format!("logger:\n  auditFile: {}\ngrpc:\n  addr: 127.0.0.1:0\n", path.display()))
        .start()
        .await;

    // A wrong password, then the right one, with offline_access.
    let browser = browser();
    let url = server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid email offline_access");
    let form = navigate(&browser, &url).await.page();
    let wrong = submit_password(&browser, &form, ADMIN_EMAIL, "not-the-password").await.page();
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let done = login_with_password(&browser, &url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let code = query_param(&done, "code").unwrap();
    let tokens = server.redeem(&code).await.json;
    let (access, refresh, id_token) = (
        tokens["access_token"].as_str().unwrap().to_string(),
        tokens["refresh_token"].as_str().unwrap().to_string(),
        tokens["id_token"].as_str().unwrap().to_string(),
    );
    // The access token revoked (RFC 7009).
    let revoked = api()
        .post(server.url("/token/revoke"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    // A rotation, then the old token replayed after the reuse window: the family is revoked.
    let rotated = server.refresh(&refresh).await;
    assert_eq!(rotated.status, StatusCode::OK);
    server.advance(60);
    server.refresh(&refresh).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // The session ended.
    let mut logout = Url::parse(&server.url("/logout")).unwrap();
    logout.query_pairs_mut().append_pair("id_token_hint", &id_token);
    navigate(&browser, &logout).await;
    // An admin change over gRPC.
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://{}", server.running().grpc_addr.unwrap()))
            .unwrap()
            .connect()
            .await
            .unwrap();
    let created = tessera::grpc::api::dex_client::DexClient::new(channel)
        .create_client(tessera::grpc::api::CreateClientReq {
            client: Some(tessera::grpc::api::Client { id: "audited".into(), ..Default::default() }),
        })
        .await
        .unwrap()
        .into_inner();
    let client_secret = created.client.unwrap().secret;

    let events = events(&path, 9).await;
    let names: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    let failed = find(&events, "login_failed");
    assert_eq!(failed.len(), 1, "{names:?}");
    assert_eq!(failed[0]["reason"], "invalid_credentials");
    assert_eq!(failed[0]["login"], ADMIN_EMAIL);
    assert_eq!(failed[0]["client"], CLIENT_ID);
    assert_eq!(failed[0]["source_ip"], "127.0.0.1");
    let succeeded = find(&events, "login_succeeded");
    assert_eq!(succeeded[0]["user"], ADMIN_USER_ID);
    assert_eq!(succeeded[0]["connector"], "local");
    let issued = find(&events, "token_issued");
    assert_eq!(issued.len(), 2, "the code and the refresh: {names:?}");
    assert_eq!(issued[0]["grant"], "authorization_code");
    assert_eq!(issued[0]["user"], ADMIN_USER_ID);
    assert_eq!(issued[0]["jti"], jwt_claims(&access)["jti"]);
    assert_eq!(issued[1]["grant"], "refresh_token");
    assert_eq!(find(&events, "refresh_rotated").len(), 1, "{names:?}");
    let reuse = find(&events, "refresh_reuse_detected");
    assert_eq!(reuse.len(), 1, "{names:?}");
    assert_eq!(reuse[0]["family"], refresh.split('.').next().unwrap());
    let revoked = find(&events, "token_revoked");
    assert_eq!(
        (revoked[0]["kind"].as_str(), revoked[0]["client"].as_str()),
        (Some("access_token"), Some(CLIENT_ID))
    );
    assert_eq!(find(&events, "logout")[0]["user"], ADMIN_USER_ID);
    let admin = find(&events, "admin_change");
    assert_eq!(admin[0]["method"], "CreateClient");
    assert_eq!(admin[0]["target"], "audited");
    assert_eq!(admin[0]["outcome"], "done");
    assert_eq!(admin[0]["who"], "plaintext");
    assert!(events.iter().all(|e| e["time"].as_i64().unwrap() > 1_600_000_000));

    // No secret anywhere in the file.
    let text = std::fs::read_to_string(&path).unwrap();
    let refresh_secret = refresh.split('.').nth(1).unwrap();
    for secret in [
        ADMIN_PASSWORD,
        "not-the-password",
        CLIENT_SECRET,
        &access,
        refresh_secret,
        &id_token,
        &code,
        &client_secret,
    ] {
        assert!(!text.contains(secret), "the audit file holds a secret ({} chars)", secret.len());
    }
    server.stop().await;
}
