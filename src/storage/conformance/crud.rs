//! Checks of create, read, update, delete and expiry for every record.

use super::fixtures::*;
use super::harness::{NOW, Store};
use crate::protocol::DeviceStatus;
use crate::storage::*;

pub(super) async fn ping(s: Store) {
    s.ping().await.unwrap();
}

pub(super) async fn clients_crud(s: Store) {
    assert_eq!(s.get_client(&"b".into()).await.unwrap(), None);
    s.create_client(&client("b")).await.unwrap();
    s.create_client(&client("a")).await.unwrap();
    assert_already_exists(s.create_client(&client("a")).await);

    let got = s.get_client(&"a".into()).await.unwrap().unwrap();
    assert_eq!(got, client("a"));
    assert_eq!(got.secret.expose(), "a-secret");
    let ids: Vec<_> = s.list_clients().await.unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, ["a", "b"]);

    let changed = Client { name: "Renamed".into(), public: true, ..client("a") };
    assert!(s.update_client(&changed).await.unwrap());
    assert_eq!(s.get_client(&"a".into()).await.unwrap(), Some(changed));
    assert!(!s.update_client(&client("missing")).await.unwrap());

    assert!(s.delete_client(&"a".into()).await.unwrap());
    assert!(!s.delete_client(&"a".into()).await.unwrap());
    assert_eq!(s.get_client(&"a".into()).await.unwrap(), None);
}

pub(super) async fn connectors_crud(s: Store) {
    s.create_connector(&connector("ldap")).await.unwrap();
    s.create_connector(&connector("github")).await.unwrap();
    assert_already_exists(s.create_connector(&connector("ldap")).await);
    assert_eq!(s.get_connector(&"ldap".into()).await.unwrap(), Some(connector("ldap")));

    let ids: Vec<_> = s.list_connectors().await.unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, ["github", "ldap"]);

    let changed =
        Connector { resource_version: "2".into(), config: serde_json::json!({}), ..connector("ldap") };
    assert!(s.update_connector(&changed).await.unwrap());
    assert_eq!(s.get_connector(&"ldap".into()).await.unwrap(), Some(changed));
    assert!(!s.update_connector(&connector("nope")).await.unwrap());

    assert!(s.delete_connector(&"ldap".into()).await.unwrap());
    assert!(!s.delete_connector(&"ldap".into()).await.unwrap());
    assert_eq!(s.get_connector(&"ldap".into()).await.unwrap(), None);
}

pub(super) async fn passwords_ignore_email_case(s: Store) {
    s.create_password(&password("Alice@Example.COM")).await.unwrap();
    assert_already_exists(s.create_password(&password("alice@example.com")).await);

    let stored = s.get_password("ALICE@example.com").await.unwrap().unwrap();
    assert_eq!(stored.email, "alice@example.com", "stored lower-cased");
    assert_eq!(stored, password("alice@example.com"));
    assert_eq!(s.list_passwords().await.unwrap(), vec![password("alice@example.com")]);

    let changed = Password { name: "Alice Liddell".into(), ..password("ALICE@EXAMPLE.COM") };
    assert!(s.update_password(&changed).await.unwrap());
    assert_eq!(s.get_password("alice@example.com").await.unwrap().unwrap().name, "Alice Liddell");
    assert!(!s.update_password(&password("bob@example.com")).await.unwrap());

    assert!(s.delete_password("aLiCe@example.com").await.unwrap());
    assert!(!s.delete_password("alice@example.com").await.unwrap());
    assert_eq!(s.get_password("alice@example.com").await.unwrap(), None);
}

pub(super) async fn auth_requests_crud(s: Store) {
    let request = auth_request("req", NOW + 60);
    s.create_auth_request(&request).await.unwrap();
    assert_already_exists(s.create_auth_request(&request).await);
    assert_eq!(s.get_auth_request("req").await.unwrap(), Some(request.clone()));

    let logged_in = AuthRequest { logged_in: true, auth_time: NOW, expiry: NOW + 120, ..request };
    assert!(s.update_auth_request(&logged_in).await.unwrap());
    assert_eq!(s.get_auth_request("req").await.unwrap(), Some(logged_in));
    assert!(!s.update_auth_request(&auth_request("missing", NOW)).await.unwrap());

    assert!(s.delete_auth_request("req").await.unwrap());
    assert!(!s.delete_auth_request("req").await.unwrap());
    assert_eq!(s.get_auth_request("req").await.unwrap(), None);
}

pub(super) async fn auth_codes_crud(s: Store) {
    let code = auth_code("code", NOW + 60);
    s.create_auth_code(&code).await.unwrap();
    assert_already_exists(s.create_auth_code(&code).await);
    assert_eq!(s.get_auth_code("code").await.unwrap(), Some(code.clone()));

    let issued = IssuedTokens {
        access_token_id: "jti-1".into(),
        access_token_expiry: NOW + 3600,
        refresh_token_id: Some("rt-1".into()),
    };
    s.set_auth_code_issued("code", &issued).await.unwrap();
    assert_eq!(s.get_auth_code("code").await.unwrap().unwrap().issued, Some(issued));

    assert!(s.delete_auth_code("code").await.unwrap());
    assert!(!s.delete_auth_code("code").await.unwrap());
    assert_eq!(s.get_auth_code("code").await.unwrap(), None);
}

pub(super) async fn refresh_tokens_crud(s: Store) {
    let token = refresh_token("rt-1", "alice", Some(NOW + 3600));
    s.create_refresh_token(&token).await.unwrap();
    assert_already_exists(s.create_refresh_token(&token).await);
    assert_eq!(s.get_refresh_token("rt-1").await.unwrap(), Some(token.clone()));

    let no_data =
        RefreshToken { connector_data: None, expires_at: None, ..refresh_token("rt-2", "alice", None) };
    s.create_refresh_token(&no_data).await.unwrap();
    s.create_refresh_token(&refresh_token("rt-3", "bob", None)).await.unwrap();
    let other_connector =
        RefreshToken { connector_id: "github".into(), ..refresh_token("rt-4", "alice", None) };
    s.create_refresh_token(&other_connector).await.unwrap();
    assert_eq!(
        s.list_refresh_tokens_for_user("alice", &"ldap".into()).await.unwrap(),
        vec![token.clone(), no_data]
    );
    assert_eq!(s.list_refresh_tokens_for_user("nobody", &"ldap".into()).await.unwrap(), vec![]);

    s.touch_refresh_token("rt-1", NOW + 30).await.unwrap();
    let touched = s.get_refresh_token("rt-1").await.unwrap().unwrap();
    assert_eq!(touched, RefreshToken { last_used: NOW + 30, ..token }, "touch changes only last_used");

    assert!(s.delete_refresh_token("rt-1").await.unwrap());
    assert!(!s.delete_refresh_token("rt-1").await.unwrap());
    assert_eq!(s.get_refresh_token("rt-1").await.unwrap(), None);
}

pub(super) async fn offline_sessions_upsert(s: Store) {
    assert_eq!(s.get_offline_session("alice", &"ldap".into()).await.unwrap(), None);
    let first = OfflineSession {
        user_id: "alice".into(),
        connector_id: "ldap".into(),
        connector_data: Some(vec![1]),
    };
    s.upsert_offline_session(&first).await.unwrap();
    assert_eq!(s.get_offline_session("alice", &"ldap".into()).await.unwrap(), Some(first.clone()));

    let second = OfflineSession { connector_data: None, ..first.clone() };
    s.upsert_offline_session(&second).await.unwrap();
    assert_eq!(s.get_offline_session("alice", &"ldap".into()).await.unwrap(), Some(second));
    let other = OfflineSession { connector_id: "github".into(), ..first };
    s.upsert_offline_session(&other).await.unwrap();

    assert!(s.delete_offline_session("alice", &"ldap".into()).await.unwrap());
    assert!(!s.delete_offline_session("alice", &"ldap".into()).await.unwrap());
    assert_eq!(s.get_offline_session("alice", &"ldap".into()).await.unwrap(), None);
    assert_eq!(s.get_offline_session("alice", &"github".into()).await.unwrap(), Some(other));
}

pub(super) async fn revoked_access_tokens(s: Store) {
    assert!(!s.is_access_token_revoked("jti").await.unwrap());
    s.revoke_access_token("jti", NOW + 60, NOW).await.unwrap();
    s.revoke_access_token("jti", NOW + 90, NOW + 5).await.unwrap();
    assert!(s.is_access_token_revoked("jti").await.unwrap());
    assert!(!s.is_access_token_revoked("other").await.unwrap());

    // What a replica asks to keep its in-memory set current: revoked since, not expired.
    s.revoke_access_token("early", NOW + 60, NOW - 100).await.unwrap();
    s.revoke_access_token("expired", NOW - 1, NOW + 10).await.unwrap();
    let mut all = s.revoked_access_tokens_since(0, NOW).await.unwrap();
    all.sort();
    assert_eq!(all, [("early".to_string(), NOW + 60), ("jti".to_string(), NOW + 90)]);
    let recent = s.revoked_access_tokens_since(NOW + 1, NOW).await.unwrap();
    assert_eq!(recent, [("jti".to_string(), NOW + 90)], "the latest revocation time is kept");
    assert!(s.revoked_access_tokens_since(NOW + 6, NOW).await.unwrap().is_empty());
}

pub(super) async fn device_flow_crud(s: Store) {
    let request = device_request("ABCD-EFGH", NOW + 300);
    s.create_device_request(&request).await.unwrap();
    assert_already_exists(s.create_device_request(&request).await);
    assert_eq!(s.get_device_request("ABCD-EFGH").await.unwrap(), Some(request));
    assert_eq!(s.get_device_request("nope").await.unwrap(), None);

    let token = device_token("dev", NOW + 300);
    s.create_device_token(&token).await.unwrap();
    assert_already_exists(s.create_device_token(&token).await);
    assert_eq!(s.get_device_token("dev").await.unwrap(), Some(token.clone()));

    let complete =
        DeviceToken { status: DeviceStatus::Complete, token: "{\"access_token\":\"x\"}".into(), ..token };
    assert!(!s.update_device_token(&complete, DeviceStatus::Denied).await.unwrap(), "status mismatch");
    assert!(s.update_device_token(&complete, DeviceStatus::Pending).await.unwrap());
    assert!(!s.update_device_token(&complete, DeviceStatus::Pending).await.unwrap(), "no longer pending");
    assert_eq!(s.get_device_token("dev").await.unwrap(), Some(complete.clone()));

    assert_eq!(s.take_device_token("dev").await.unwrap(), Some(complete));
    assert_eq!(s.take_device_token("dev").await.unwrap(), None);
    assert_eq!(s.get_device_token("dev").await.unwrap(), None);
}

pub(super) async fn web_sessions(s: Store) {
    let session = web_session("sid", NOW + 60);
    assert!(s.create_web_session(&session).await.unwrap());
    assert!(!s.create_web_session(&web_session("sid", NOW + 999)).await.unwrap(), "id taken");
    assert_eq!(s.load_web_session("sid", NOW).await.unwrap(), Some(session.clone()));
    assert_eq!(s.load_web_session("sid", NOW + 60).await.unwrap(), Some(session), "live until its expiry");
    assert_eq!(s.load_web_session("sid", NOW + 61).await.unwrap(), None, "expired");

    let saved = WebSession { data: b"new".to_vec(), expiry: NOW + 120, ..web_session("sid", 0) };
    s.save_web_session(&saved).await.unwrap();
    assert_eq!(s.load_web_session("sid", NOW + 61).await.unwrap(), Some(saved));
    s.save_web_session(&web_session("fresh", NOW + 60)).await.unwrap();
    assert!(s.load_web_session("fresh", NOW).await.unwrap().is_some());

    s.delete_web_session("sid").await.unwrap();
    s.delete_web_session("sid").await.unwrap();
    assert_eq!(s.load_web_session("sid", NOW).await.unwrap(), None);
}

pub(super) async fn garbage_collect_removes_only_expired(s: Store) {
    let (dead, live) = (NOW - 1, NOW + 60);
    for (id, expiry) in [("dead", dead), ("live", live)] {
        s.create_auth_request(&auth_request(id, expiry)).await.unwrap();
        s.create_auth_code(&auth_code(id, expiry)).await.unwrap();
        s.create_device_request(&device_request(id, expiry)).await.unwrap();
        s.create_device_token(&device_token(id, expiry)).await.unwrap();
        s.create_refresh_token(&refresh_token(id, "alice", Some(expiry))).await.unwrap();
        s.create_web_session(&web_session(id, expiry)).await.unwrap();
        s.revoke_access_token(id, expiry, NOW).await.unwrap();
        s.create_auth_session(&auth_session(id, expiry)).await.unwrap();
        assert!(s.claim_saml_assertion(id, expiry).await.unwrap());
        assert!(s.claim_jwt_id(id, expiry).await.unwrap());
        s.count_failure(id, NOW - 100, expiry).await.unwrap();
        s.create_logout_delivery(&logout_delivery(id, NOW + 600, expiry)).await.unwrap();
        s.create_pushed_request(&pushed_request(id, expiry)).await.unwrap();
    }
    s.create_refresh_token(&refresh_token("forever", "alice", None)).await.unwrap();
    // Things that never expire are untouched.
    s.create_client(&client("app")).await.unwrap();
    s.swap_keys(0, &keys("k")).await.unwrap();

    let removed = s.garbage_collect(NOW).await.unwrap();
    let one_each = GcResult {
        auth_requests: 1,
        auth_codes: 1,
        device_requests: 1,
        device_tokens: 1,
        refresh_tokens: 1,
        web_sessions: 1,
        revoked_tokens: 1,
        auth_sessions: 1,
        saml_assertions: 1,
        failure_counts: 1,
        logout_deliveries: 1,
        pushed_requests: 1,
        jwt_ids: 1,
    };
    assert_eq!(removed, one_each);
    assert_eq!(s.garbage_collect(NOW).await.unwrap(), GcResult::default(), "nothing left to collect");

    assert!(s.get_auth_request("dead").await.unwrap().is_none());
    assert!(s.get_auth_request("live").await.unwrap().is_some());
    assert!(s.get_auth_code("dead").await.unwrap().is_none());
    assert!(s.get_auth_code("live").await.unwrap().is_some());
    assert!(s.get_device_request("dead").await.unwrap().is_none());
    assert!(s.get_device_request("live").await.unwrap().is_some());
    assert!(s.get_device_token("dead").await.unwrap().is_none());
    assert!(s.get_device_token("live").await.unwrap().is_some());
    assert!(s.get_refresh_token("dead").await.unwrap().is_none());
    assert!(s.get_refresh_token("live").await.unwrap().is_some());
    assert!(s.get_refresh_token("forever").await.unwrap().is_some());
    assert!(s.load_web_session("live", NOW).await.unwrap().is_some());
    assert!(!s.is_access_token_revoked("dead").await.unwrap());
    assert!(s.is_access_token_revoked("live").await.unwrap());
    assert!(s.get_auth_session("dead").await.unwrap().is_none());
    assert!(s.get_auth_session("live").await.unwrap().is_some());
    assert!(s.get_pushed_request("dead").await.unwrap().is_none());
    assert!(s.get_pushed_request("live").await.unwrap().is_some());
    assert!(s.get_client(&"app".into()).await.unwrap().is_some());
    assert_eq!(s.get_keys().await.unwrap().version, 1);
}

pub(super) async fn auth_sessions_crud(s: Store) {
    let session = auth_session("sid-1", NOW + 60);
    s.create_auth_session(&session).await.unwrap();
    assert_already_exists(s.create_auth_session(&session).await);
    assert_eq!(s.get_auth_session("sid-1").await.unwrap(), Some(session.clone()));

    let touched =
        AuthSession { idle_expiry: NOW + 90, clients: vec!["app".into(), "other".into()], ..session };
    assert!(s.update_auth_session(&touched).await.unwrap());
    assert_eq!(s.get_auth_session("sid-1").await.unwrap(), Some(touched));
    assert!(!s.update_auth_session(&auth_session("missing", NOW)).await.unwrap());

    // Refresh tokens bound to the session go with it; standalone ones (empty id) never do.
    s.create_refresh_token(&refresh_token("bound", "alice", None)).await.unwrap();
    let standalone = RefreshToken { session_id: String::new(), ..refresh_token("standalone", "alice", None) };
    s.create_refresh_token(&standalone).await.unwrap();
    assert_eq!(s.delete_refresh_tokens_for_session("").await.unwrap(), 0);
    assert_eq!(s.delete_refresh_tokens_for_session("session-1").await.unwrap(), 1);
    assert!(s.get_refresh_token("bound").await.unwrap().is_none());
    assert!(s.get_refresh_token("standalone").await.unwrap().is_some());

    assert!(s.delete_auth_session("sid-1").await.unwrap());
    assert!(!s.delete_auth_session("sid-1").await.unwrap());
    assert_eq!(s.get_auth_session("sid-1").await.unwrap(), None);
}

pub(super) async fn failure_counts(s: Store) {
    let forget = NOW + 60;
    assert_eq!(s.get_failures("acct", NOW).await.unwrap(), None);
    for n in 1..=3 {
        let counted = s.count_failure("acct", NOW + n, forget).await.unwrap();
        assert_eq!(counted, Failures { count: n as u64, last: NOW + n });
    }
    assert_eq!(s.get_failures("acct", NOW + 5).await.unwrap(), Some(Failures { count: 3, last: NOW + 3 }));
    assert_eq!(s.get_failures("other", NOW).await.unwrap(), None, "keys are independent");
    assert_eq!(s.get_failures("acct", forget + 1).await.unwrap(), None, "forgotten after forget_at");
    // A failure after the count was forgotten (its row not yet collected) starts again.
    let again = s.count_failure("acct", forget + 1, forget + 61).await.unwrap();
    assert_eq!(again, Failures { count: 1, last: forget + 1 });
    s.delete_failures("acct").await.unwrap();
    s.delete_failures("acct").await.unwrap();
    assert_eq!(s.get_failures("acct", NOW).await.unwrap(), None);
}

fn logout_delivery(id: &str, next_attempt: UnixTime, expiry: UnixTime) -> LogoutDelivery {
    LogoutDelivery {
        id: id.into(),
        client_id: "app".into(),
        uri: "https://app.example/backchannel".into(),
        sub: "sub".into(),
        sid: "sid".into(),
        attempts: 0,
        next_attempt,
        claimed_until: 0,
        expiry,
    }
}

pub(super) async fn logout_deliveries(s: Store) {
    s.create_logout_delivery(&logout_delivery("later", NOW + 10, NOW + 600)).await.unwrap();
    s.create_logout_delivery(&logout_delivery("due", NOW - 5, NOW + 600)).await.unwrap();
    s.create_logout_delivery(&logout_delivery("dead", NOW - 5, NOW - 1)).await.unwrap();
    let due = s.list_due_logout_deliveries(NOW, 10).await.unwrap();
    assert_eq!(due, [logout_delivery("due", NOW - 5, NOW + 600)], "due and not expired");

    assert!(s.claim_logout_delivery("due", NOW, NOW + 30).await.unwrap());
    assert!(!s.claim_logout_delivery("due", NOW, NOW + 30).await.unwrap(), "claimed");
    assert!(!s.claim_logout_delivery("later", NOW, NOW + 30).await.unwrap(), "not due");
    assert!(s.list_due_logout_deliveries(NOW, 10).await.unwrap().is_empty(), "a claimed one is not due");
    // The claim runs out (a replica died mid-attempt): due again, its attempt counted.
    let again = s.list_due_logout_deliveries(NOW + 31, 10).await.unwrap();
    assert_eq!(
        again.iter().map(|d| (d.id.as_str(), d.attempts)).collect::<Vec<_>>(),
        [("due", 1), ("later", 0)]
    );

    s.reschedule_logout_delivery("due", NOW + 100).await.unwrap();
    let later: Vec<_> = s.list_due_logout_deliveries(NOW + 31, 10).await.unwrap();
    assert_eq!(later.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["later"]);
    assert!(s.claim_logout_delivery("due", NOW + 100, NOW + 130).await.unwrap(), "due after rescheduling");
    assert_eq!(s.list_due_logout_deliveries(NOW + 31, 1).await.unwrap().len(), 1, "the limit holds");
    s.delete_logout_delivery("due").await.unwrap();
    s.delete_logout_delivery("due").await.unwrap();
    let left = s.list_due_logout_deliveries(NOW + 1000, 10).await.unwrap();
    assert!(left.iter().all(|d| d.id != "due"));
}
