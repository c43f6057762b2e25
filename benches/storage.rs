//! Micro-benchmarks of the storage operations on the hot paths, on SQLite in memory and on a
//! SQLite file (WAL, as `storage.type: sqlite3` runs): code redemption, refresh rotation,
//! the revocation check of introspection and userinfo, auth requests, clients, sessions, the
//! JWT replay cache of client assertions and DPoP proofs.
//!
//! `cargo bench --bench storage` (add `-- --quick` for a short run).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, reason = "benchmark setup")]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::sync::atomic::{AtomicU64, Ordering};
use tessera::storage::sql::SqlStorage;
use tessera::storage::{
    AuthCode, AuthFlowStore, AuthRequest, Claims, Client, ClientStore, RefreshRotation, RefreshStore,
    RefreshToken, ReplayStore, SessionStore, WebSession,
};
use tessera::types::Secret;

const NOW: i64 = 1_800_000_000;

fn claims() -> Claims {
    Claims {
        user_id: "08a8684b-db88-4b73-90a9-3cd1661f5466".into(),
        username: "admin".into(),
        email: "admin@example.com".into(),
        email_verified: true,
        groups: vec!["admins".into()],
        ..Claims::default()
    }
}

fn code(id: String) -> AuthCode {
    AuthCode {
        id,
        client_id: "example-app".into(),
        redirect_uri: "http://127.0.0.1:5555/callback".into(),
        scopes: vec!["openid".into(), "email".into()],
        connector_id: "local".into(),
        claims: claims(),
        expiry: NOW + 600,
        ..AuthCode::default()
    }
}

fn refresh_token(id: &str) -> RefreshToken {
    RefreshToken {
        id: id.into(),
        token_hash: vec![0; 32],
        client_id: "example-app".into(),
        connector_id: "local".into(),
        claims: claims(),
        scopes: vec!["openid".into(), "offline_access".into()],
        created_at: NOW,
        last_used: NOW,
        ..RefreshToken::default()
    }
}

fn operations(c: &mut Criterion, runtime: &tokio::runtime::Runtime, label: &str, storage: SqlStorage) {
    let next = AtomicU64::new(0);
    let fresh_id = || format!("id-{}", next.fetch_add(1, Ordering::Relaxed));
    runtime.block_on(async {
        let client = Client {
            id: "example-app".into(),
            secret: Secret::new("ZXhhbXBsZS1hcHAtc2VjcmV0"),
            redirect_uris: vec!["http://127.0.0.1:5555/callback".into()],
            name: "Example App".into(),
            ..Client::default()
        };
        storage.create_client(&client).await.unwrap();
        storage.create_refresh_token(&refresh_token("family")).await.unwrap();
        storage.revoke_access_token("revoked-jti", NOW + 3600, NOW).await.unwrap();
    });

    let mut group = c.benchmark_group("storage");
    group.bench_function(BenchmarkId::new("get_client", label), |b| {
        b.iter(|| runtime.block_on(async { storage.get_client(&"example-app".into()).await.unwrap() }))
    });
    group.bench_function(BenchmarkId::new("is_access_token_revoked", label), |b| {
        b.iter(|| runtime.block_on(async { storage.is_access_token_revoked("live-jti").await.unwrap() }))
    });
    group.bench_function(BenchmarkId::new("create_auth_request", label), |b| {
        b.iter(|| {
            let request = AuthRequest {
                id: fresh_id(),
                client_id: "example-app".into(),
                scopes: vec!["openid".into()],
                expiry: NOW + 600,
                ..AuthRequest::default()
            };
            runtime.block_on(async { storage.create_auth_request(&request).await.unwrap() })
        })
    });
    // What every client assertion and DPoP proof costs besides its signature: its jti, claimed.
    group.bench_function(BenchmarkId::new("claim_jwt_id", label), |b| {
        b.iter(|| runtime.block_on(async { storage.claim_jwt_id(&fresh_id(), NOW + 150).await.unwrap() }))
    });
    // A code exchange: the code was created at approval; the token endpoint redeems it.
    group.bench_function(BenchmarkId::new("create+redeem_auth_code", label), |b| {
        b.iter(|| {
            let code = code(fresh_id());
            runtime.block_on(async {
                storage.create_auth_code(&code).await.unwrap();
                storage.redeem_auth_code(&code.id, NOW).await.unwrap()
            })
        })
    });
    // A refresh: read the family, then the compare-and-swap rotation.
    let mut hash = vec![0u8; 32];
    group.bench_function(BenchmarkId::new("get+rotate_refresh_token", label), |b| {
        b.iter(|| {
            let mut new_hash = hash.clone();
            new_hash[0] = new_hash[0].wrapping_add(1);
            new_hash[1] = new_hash[1].wrapping_add(u8::from(new_hash[0] == 0));
            let rotation = RefreshRotation {
                expected_hash: hash.clone(),
                new_hash: new_hash.clone(),
                rotation_salt: vec![1; 16],
                now: NOW,
                now_ms: NOW * 1000,
                claims: claims(),
                connector_data: None,
            };
            runtime.block_on(async {
                storage.get_refresh_token("family").await.unwrap();
                assert!(storage.rotate_refresh_token("family", &rotation).await.unwrap());
            });
            hash = new_hash;
        })
    });
    group.bench_function(BenchmarkId::new("save+load_web_session", label), |b| {
        b.iter(|| {
            let session = WebSession { id: fresh_id(), data: vec![7; 200], expiry: NOW + 3600 };
            runtime.block_on(async {
                storage.save_web_session(&session).await.unwrap();
                storage.load_web_session(&session.id, NOW).await.unwrap()
            })
        })
    });
    group.finish();
}

fn storage(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let memory = runtime.block_on(SqlStorage::open_memory()).unwrap();
    operations(c, &runtime, "sqlite-memory", memory);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let file = runtime.block_on(SqlStorage::open_sqlite(path.to_str().unwrap())).unwrap();
    operations(c, &runtime, "sqlite-file", file);
}

criterion_group!(benches, storage);
criterion_main!(benches);
