//! Micro-benchmarks of the CPU-bound work behind a request: JWT signatures per algorithm and
//! password verification. `bench/run` reads two of these figures as ceilings: one RS256
//! signature (client_credentials) and one argon2id verification (password login).
//!
//! `cargo bench --bench crypto` (add `-- --quick` for a short run).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark setup")]

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use std::hint::black_box;
use std::sync::Arc;
use tessera::clock::SystemClock;
use tessera::signer::{LocalSigner, Signer, SignerSettings, SigningAlgorithm};
use tessera::storage::Storage;
use tessera::storage::sql::SqlStorage;

fn signer(runtime: &tokio::runtime::Runtime, algorithm: SigningAlgorithm) -> Arc<LocalSigner> {
    runtime.block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(SqlStorage::open_memory().await.unwrap());
        let settings = SignerSettings { algorithm, rotation_period: 3600, token_lifetime: 3600 };
        LocalSigner::start(storage, Arc::new(SystemClock), settings).await.unwrap()
    })
}

/// Claims shaped like a client_credentials access token.
fn claims() -> serde_json::Value {
    json!({
        "iss": "http://127.0.0.1:5556/dex", "sub": "CgtleGFtcGxlLWFwcBIA", "aud": "example-app",
        "exp": 1_900_000_000, "iat": 1_800_000_000, "jti": "hQ3kX9pZ0m1wS7bVf2aL4g",
        "at_hash": "", "name": "Example App",
    })
}

fn jwt(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for (name, algorithm) in [("RS256", SigningAlgorithm::Rs256), ("ES256", SigningAlgorithm::Es256)] {
        let signer = signer(&runtime, algorithm);
        let token = signer.sign(&claims()).unwrap();
        c.bench_function(&format!("jwt/sign/{name}"), |b| {
            b.iter(|| signer.sign(black_box(&claims())).unwrap())
        });
        c.bench_function(&format!("jwt/verify/{name}"), |b| {
            b.iter(|| signer.verify(black_box(&token)).unwrap())
        });
    }
    c.bench_function("jwt/keygen/ES256", |b| {
        b.iter(|| tessera::signer::keys::generate(SigningAlgorithm::Es256).unwrap())
    });
    raw_rsa(c);
}

/// The RSA-2048 signature alone, through aws-lc-rs with the key parsed once, and the key
/// parsing alone: what `jwt/sign/RS256` costs beyond the signature itself.
fn raw_rsa(c: &mut Criterion) {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = pair.as_der().unwrap().as_ref().to_vec();
    let parsed = RsaKeyPair::from_pkcs8(&der).unwrap();
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let message = [7u8; 400];
    let mut signature = vec![0; parsed.public_modulus_len()];
    c.bench_function("rsa2048/sign/key-parsed-once", |b| {
        b.iter(|| parsed.sign(&RSA_PKCS1_SHA256, &rng, black_box(&message), &mut signature).unwrap())
    });
    c.bench_function("rsa2048/parse-private-key", |b| {
        b.iter(|| RsaKeyPair::from_pkcs8(black_box(&der)).unwrap())
    });
}

fn passwords(c: &mut Criterion) {
    let mut group = c.benchmark_group("password");
    group.sample_size(10);
    // The shipped parameters: what `tessera hash-password` writes.
    let argon2id = tessera::crypto::hash_password("password").unwrap();
    group.bench_function("verify/argon2id", |b| {
        b.iter(|| assert!(tessera::crypto::verify_password(black_box("password"), &argon2id).unwrap()))
    });
    // What the server's hashing threads do: the 19 MiB of working memory is reused, so no
    // page faults. The login ceiling in bench/report.py is taken from this one.
    let mut memory = tessera::crypto::PasswordMemory::default();
    group.bench_function("verify/argon2id-reused-memory", |b| {
        b.iter(|| {
            assert!(
                tessera::crypto::verify_password_in(black_box("password"), &argon2id, &mut memory).unwrap()
            )
        })
    });
    // A Dex import: bcrypt at Dex's default cost 10.
    let bcrypt = bcrypt::hash("password", 10).unwrap();
    group.bench_function("verify/bcrypt-10", |b| {
        b.iter(|| assert!(tessera::crypto::verify_password(black_box("password"), &bcrypt).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, jwt, passwords);
criterion_main!(benches);
