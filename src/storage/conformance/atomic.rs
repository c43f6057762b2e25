//! Checks of the atomic operations: each is run once in sequence, then raced.

use super::fixtures::*;
use super::harness::{NOW, Store, race};
use crate::protocol::DeviceStatus;
use crate::storage::*;

/// `create_*` must rely on the database's uniqueness, not on a read before the write.
pub(super) async fn concurrent_creates_have_one_winner(s: Store) {
    let results = race(16, |_| {
        let s = s.clone();
        async move { s.create_client(&client("same")).await }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for result in results.into_iter().filter(|r| r.is_err()) {
        assert_already_exists(result);
    }
}

pub(super) async fn take_auth_request_once(s: Store) {
    s.create_auth_request(&auth_request("req", NOW + 60)).await.unwrap();
    assert_eq!(s.take_auth_request("req").await.unwrap(), Some(auth_request("req", NOW + 60)));
    assert_eq!(s.take_auth_request("req").await.unwrap(), None);
    assert_eq!(s.get_auth_request("req").await.unwrap(), None);
}

pub(super) async fn take_pushed_request_once(s: Store) {
    let pushed = pushed_request("par", NOW + 60);
    s.create_pushed_request(&pushed).await.unwrap();
    assert_already_exists(s.create_pushed_request(&pushed).await);
    assert_eq!(s.get_pushed_request("par").await.unwrap(), Some(pushed.clone()), "reading keeps it");
    assert_eq!(s.take_pushed_request("par").await.unwrap(), Some(pushed));
    assert_eq!(s.take_pushed_request("par").await.unwrap(), None);
    assert_eq!(s.get_pushed_request("par").await.unwrap(), None);
}

pub(super) async fn take_pushed_request_concurrently(s: Store) {
    s.create_pushed_request(&pushed_request("par", NOW + 60)).await.unwrap();
    let taken = race(16, |_| {
        let s = s.clone();
        async move { s.take_pushed_request("par").await.unwrap() }
    })
    .await;
    assert_eq!(taken.iter().flatten().count(), 1, "exactly one caller takes the pushed request");
}

pub(super) async fn take_auth_request_concurrently(s: Store) {
    s.create_auth_request(&auth_request("req", NOW + 60)).await.unwrap();
    let taken = race(16, |_| {
        let s = s.clone();
        async move { s.take_auth_request("req").await.unwrap() }
    })
    .await;
    assert_eq!(taken.iter().flatten().count(), 1, "exactly one caller takes the request");
}

pub(super) async fn redeem_auth_code_once(s: Store) {
    assert_eq!(s.redeem_auth_code("missing", NOW).await.unwrap(), Redemption::NotFound);

    // Expired codes are still returned: the caller checks `expiry`.
    let code = auth_code("code", NOW - 1);
    s.create_auth_code(&code).await.unwrap();
    let redeemed = AuthCode { redeemed_at: Some(NOW), ..code };
    assert_eq!(s.redeem_auth_code("code", NOW).await.unwrap(), Redemption::Fresh(redeemed.clone()));

    let issued =
        IssuedTokens { access_token_id: "jti".into(), access_token_expiry: NOW + 60, refresh_token_id: None };
    s.set_auth_code_issued("code", &issued).await.unwrap();
    let replayed = AuthCode { issued: Some(issued), ..redeemed };
    assert_eq!(
        s.redeem_auth_code("code", NOW + 5).await.unwrap(),
        Redemption::Replayed(replayed),
        "a replay keeps the first redemption time and shows what was issued"
    );
}

pub(super) async fn redeem_auth_code_concurrently(s: Store) {
    s.create_auth_code(&auth_code("code", NOW + 60)).await.unwrap();
    let outcomes = race(16, |i| {
        let s = s.clone();
        async move { s.redeem_auth_code("code", NOW + i as i64).await.unwrap() }
    })
    .await;
    let fresh: Vec<_> = outcomes.iter().filter(|o| matches!(o, Redemption::Fresh(_))).collect();
    let replayed = outcomes.iter().filter(|o| matches!(o, Redemption::Replayed(_))).count();
    assert_eq!(fresh.len(), 1, "exactly one redemption is fresh");
    assert_eq!(replayed, 15);
    let Redemption::Fresh(winner) = fresh[0] else { unreachable!() };
    let stored = s.get_auth_code("code").await.unwrap().unwrap();
    assert_eq!(stored.redeemed_at, winner.redeemed_at, "the winner's time is kept");
}

pub(super) async fn rotate_refresh_token_once(s: Store) {
    let token = refresh_token("rt", "alice", None);
    s.create_refresh_token(&token).await.unwrap();
    assert!(!s.rotate_refresh_token("rt", &rotation(b"wrong", b"new", NOW + 1)).await.unwrap());
    assert!(!s.rotate_refresh_token("missing", &rotation(b"hash-rt", b"new", NOW + 1)).await.unwrap());
    assert_eq!(
        s.get_refresh_token("rt").await.unwrap(),
        Some(token.clone()),
        "a failed swap changes nothing"
    );

    let applied = rotation(b"hash-rt", b"new", NOW + 1);
    assert!(s.rotate_refresh_token("rt", &applied).await.unwrap());
    let expected = RefreshToken {
        token_hash: b"new".to_vec(),
        obsolete_hash: Some(b"hash-rt".to_vec()),
        rotation_salt: applied.rotation_salt.clone(),
        rotated_at_ms: (NOW + 1) * 1000 + 637,
        last_used: NOW + 1,
        claims: applied.claims.clone(),
        connector_data: applied.connector_data.clone(),
        ..token
    };
    assert_eq!(s.get_refresh_token("rt").await.unwrap(), Some(expected));
    assert!(!s.rotate_refresh_token("rt", &applied).await.unwrap(), "the old hash no longer matches");
}

pub(super) async fn rotate_refresh_token_concurrently(s: Store) {
    s.create_refresh_token(&refresh_token("rt", "alice", None)).await.unwrap();
    let won = race(32, |i| {
        let s = s.clone();
        async move {
            let new_hash = format!("new-{i}").into_bytes();
            let won = s.rotate_refresh_token("rt", &rotation(b"hash-rt", &new_hash, NOW + 1)).await.unwrap();
            (won, new_hash)
        }
    })
    .await;
    let winners: Vec<_> = won.iter().filter(|(won, _)| *won).collect();
    assert_eq!(winners.len(), 1, "exactly one rotation wins");
    let stored = s.get_refresh_token("rt").await.unwrap().unwrap();
    assert_eq!(stored.token_hash, winners[0].1, "the stored hash is the winner's");
    assert_eq!(stored.obsolete_hash, Some(b"hash-rt".to_vec()));
}

pub(super) async fn keys_compare_and_swap(s: Store) {
    let empty = s.get_keys().await.unwrap();
    assert_eq!(empty.version, 0);
    assert_eq!(empty.signing_key, None);

    assert!(!s.swap_keys(3, &keys("k1")).await.unwrap(), "nothing stored at version 3");
    assert!(s.swap_keys(0, &keys("k1")).await.unwrap());
    assert_eq!(s.get_keys().await.unwrap(), Keys { version: 1, ..keys("k1") });
    assert!(!s.swap_keys(0, &keys("k2")).await.unwrap(), "someone already stored keys");

    assert!(s.swap_keys(1, &Keys { version: 99, ..keys("k2") }).await.unwrap());
    assert_eq!(s.get_keys().await.unwrap(), Keys { version: 2, ..keys("k2") }, "storage owns the version");
    assert!(!s.swap_keys(1, &keys("k3")).await.unwrap());
}

pub(super) async fn swap_keys_concurrently(s: Store) {
    for from_version in [0, 1] {
        let results = race(16, |i| {
            let s = s.clone();
            async move {
                let kid = format!("v{from_version}-k{i}");
                (s.swap_keys(from_version, &keys(&kid)).await.unwrap(), kid)
            }
        })
        .await;
        let winners: Vec<_> = results.iter().filter(|(won, _)| *won).collect();
        assert_eq!(winners.len(), 1, "exactly one swap from version {from_version} wins");
        let stored = s.get_keys().await.unwrap();
        assert_eq!(stored.version, from_version + 1);
        assert_eq!(stored.signing_key.unwrap().kid, winners[0].1);
    }
}

pub(super) async fn device_token_cas_concurrently(s: Store) {
    s.create_device_token(&device_token("dev", NOW + 300)).await.unwrap();
    let results = race(16, |i| {
        let s = s.clone();
        async move {
            let update = DeviceToken {
                status: DeviceStatus::Complete,
                token: format!("token-{i}"),
                ..device_token("dev", NOW + 300)
            };
            (s.update_device_token(&update, DeviceStatus::Pending).await.unwrap(), update.token)
        }
    })
    .await;
    let winners: Vec<_> = results.iter().filter(|(won, _)| *won).collect();
    assert_eq!(winners.len(), 1);
    assert_eq!(s.get_device_token("dev").await.unwrap().unwrap().token, winners[0].1);

    let taken = race(8, |_| {
        let s = s.clone();
        async move { s.take_device_token("dev").await.unwrap() }
    })
    .await;
    assert_eq!(taken.iter().flatten().count(), 1, "a device code is single-use");
}

/// The first candidate stored wins, for every caller, sequentially and under a race.
pub(super) async fn data_key_created_once(s: Store) {
    let first = s.get_or_create_data_key(&[1; 32]).await.unwrap();
    assert_eq!(first, vec![1; 32]);
    assert_eq!(s.get_or_create_data_key(&[2; 32]).await.unwrap(), first, "the stored key is kept");
}

pub(super) async fn data_key_created_concurrently(s: Store) {
    let keys = race(16, |i| {
        let s = s.clone();
        async move { s.get_or_create_data_key(&[i as u8; 32]).await.unwrap() }
    })
    .await;
    assert!(keys.iter().all(|k| k == &keys[0]), "every replica gets the same key: {keys:?}");
}

pub(super) async fn claim_saml_assertion_once(s: Store) {
    assert!(s.claim_saml_assertion("idp\n_a1", NOW + 60).await.unwrap(), "the first claim wins");
    assert!(!s.claim_saml_assertion("idp\n_a1", NOW + 600).await.unwrap(), "a replay is refused");
    assert!(s.claim_saml_assertion("idp\n_a2", NOW + 60).await.unwrap(), "ids are independent");
    // Collected only once it expired: until then a replay is still refused.
    s.garbage_collect(NOW).await.unwrap();
    assert!(!s.claim_saml_assertion("idp\n_a1", NOW + 60).await.unwrap());
    s.garbage_collect(NOW + 61).await.unwrap();
    assert!(s.claim_saml_assertion("idp\n_a1", NOW + 120).await.unwrap());
}

pub(super) async fn claim_saml_assertion_concurrently(s: Store) {
    let claims = race(16, |_| {
        let s = s.clone();
        async move { s.claim_saml_assertion("idp\n_same", NOW + 60).await.unwrap() }
    })
    .await;
    assert_eq!(claims.iter().filter(|c| **c).count(), 1, "exactly one replica accepts the assertion");
}

pub(super) async fn claim_jwt_id_once(s: Store) {
    let key = "5f1e0c".repeat(10) + "abcd";
    assert!(s.claim_jwt_id(&key, NOW + 60).await.unwrap(), "the first claim wins");
    assert!(!s.claim_jwt_id(&key, NOW + 600).await.unwrap(), "a replay is refused");
    assert!(s.claim_jwt_id("other", NOW + 60).await.unwrap(), "ids are independent");
    assert!(s.claim_saml_assertion(&key, NOW + 60).await.unwrap(), "apart from SAML assertion ids");
    s.garbage_collect(NOW).await.unwrap();
    assert!(!s.claim_jwt_id(&key, NOW + 60).await.unwrap(), "kept until it expires");
    s.garbage_collect(NOW + 61).await.unwrap();
    assert!(s.claim_jwt_id(&key, NOW + 120).await.unwrap());
}

pub(super) async fn claim_jwt_id_concurrently(s: Store) {
    let claims = race(16, |_| {
        let s = s.clone();
        async move { s.claim_jwt_id("same", NOW + 60).await.unwrap() }
    })
    .await;
    assert_eq!(claims.iter().filter(|c| **c).count(), 1, "exactly one replica accepts the JWT");
}

pub(super) async fn count_failures_concurrently(s: Store) {
    race(16, |_| {
        let s = s.clone();
        async move { s.count_failure("acct", NOW, NOW + 60).await.unwrap() }
    })
    .await;
    let counted = s.get_failures("acct", NOW).await.unwrap().map(|f| f.count);
    assert_eq!(counted, Some(16), "every replica's failure is counted once");
}

pub(super) async fn claim_logout_delivery_concurrently(s: Store) {
    let delivery = LogoutDelivery {
        id: "d".into(),
        client_id: "app".into(),
        uri: "https://app.example/bc".into(),
        sub: "sub".into(),
        sid: "sid".into(),
        attempts: 0,
        next_attempt: NOW,
        claimed_until: 0,
        expiry: NOW + 600,
    };
    s.create_logout_delivery(&delivery).await.unwrap();
    let claims = race(16, |_| {
        let s = s.clone();
        async move { s.claim_logout_delivery("d", NOW, NOW + 30).await.unwrap() }
    })
    .await;
    assert_eq!(claims.iter().filter(|c| **c).count(), 1, "exactly one replica sends it");
}
