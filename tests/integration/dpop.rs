//! DPoP (RFC 9449) over HTTP: bound access and refresh tokens, `/userinfo` with the `DPoP`
//! scheme, introspection's `cnf`, `dpop_jkt`, nonces, and clients that must use it. The
//! negative cases follow the FAPI 2.0 test plan: a proof for another `htu` or `htm`, a replayed
//! proof, a stolen bound token used without its key.

use crate::common::*;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::clock::Clock;
use tessera::signer::keys::{SigningAlgorithm, encoding_key, generate};

const VERIFIER: &str = "a-dpop-test-verifier-long-enough-for-pkce-0123456789";

/// A client's DPoP key.
pub(crate) struct DpopKey {
    encoding: EncodingKey,
    jwk: Jwk,
}

impl DpopKey {
    pub(crate) fn new() -> Self {
        let (key, public) = generate(SigningAlgorithm::Es256).unwrap();
        let encoding = encoding_key(SigningAlgorithm::Es256, &key.private_pkcs8).unwrap();
        Self { encoding, jwk: serde_json::from_value(public).unwrap() }
    }

    pub(crate) fn thumbprint(&self) -> String {
        self.jwk.thumbprint(ThumbprintHash::SHA256).unwrap()
    }

    /// A proof for `method` at `url`, made now by the server's clock.
    pub(crate) fn proof(&self, server: &TestServer, method: &str, url: &str, extra: Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.jwk.clone());
        let mut claims = json!({ "htm": method, "htu": url, "iat": server.clock.now(), "jti": jti() });
        claims.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
        jsonwebtoken::encode(&header, &claims, &self.encoding).unwrap()
    }

    /// A proof for `/userinfo` with the token's hash.
    fn userinfo_proof(&self, server: &TestServer, method: &str, token: &str) -> String {
        self.proof(server, method, &format!("{}/userinfo", server.issuer), json!({ "ath": ath(token) }))
    }
}

fn jti() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("proof-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

fn ath(token: &str) -> String {
    use base64::Engine;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// POST /token as the public `native-cli`, with these DPoP headers.
async fn token(server: &TestServer, form: &[(&str, &str)], proofs: &[&str]) -> ApiResponse {
    let mut request = api().post(server.url("/token")).form(form);
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    ApiResponse::read(request.send().await.unwrap()).await
}

async fn userinfo(server: &TestServer, authorization: &str, proof: Option<&str>) -> ApiResponse {
    let mut request = api().get(server.url("/userinfo")).header("Authorization", authorization);
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    ApiResponse::read(request.send().await.unwrap()).await
}

/// A code for `native-cli` (PKCE), with extra `/auth` parameters.
async fn code(server: &TestServer, extra: &[(&str, &str)]) -> String {
    let challenge = s256(VERIFIER);
    let mut params = vec![
        ("client_id", NATIVE_ID),
        ("redirect_uri", NATIVE_REDIRECT_URI),
        ("response_type", "code"),
        ("scope", "openid email offline_access"),
        ("state", "st"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    params.extend_from_slice(extra);
    let done = login_with_password(&browser(), &server.auth_url(&params), ADMIN_EMAIL, ADMIN_PASSWORD).await;
    query_param(&done, "code").unwrap()
}

fn code_form(code: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "authorization_code".into()),
        ("client_id", NATIVE_ID.into()),
        ("code", code.into()),
        ("redirect_uri", NATIVE_REDIRECT_URI.into()),
        ("code_verifier", VERIFIER.into()),
    ]
}

fn pairs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn assert_dpop_challenge(response: &ApiResponse, error: &str) {
    assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{}", response.text);
    let challenge = response.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with(&format!("DPoP error=\"{error}\"")), "{challenge}");
    assert!(challenge.contains("algs=\"ES256"), "{challenge}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bound_token_works_only_with_its_key() {
    let server = TestServer::start().await;
    let d = server.discovery().await;
    assert!(d["dpop_signing_alg_values_supported"].as_array().unwrap().contains(&json!("ES256")), "{d}");
    let key = DpopKey::new();
    let token_url = format!("{}/token", server.issuer);

    let code = code(&server, &[]).await;
    let proof = key.proof(&server, "POST", &token_url, json!({}));
    let tokens = token(&server, &pairs(&code_form(&code)), &[&proof]).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert_eq!(tokens.str("token_type"), "DPoP");
    let access = tokens.str("access_token").to_string();
    assert_eq!(jwt_claims(&access)["cnf"]["jkt"], key.thumbprint());

    // /userinfo with the DPoP scheme and a proof for this request.
    let ok = userinfo(&server, &format!("DPoP {access}"), Some(&key.userinfo_proof(&server, "GET", &access)))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.json["email"], ADMIN_EMAIL);

    // The stolen token: as a bearer token, or with a proof of another key.
    let stolen = userinfo(&server, &format!("Bearer {access}"), None).await;
    assert_dpop_challenge(&stolen, "invalid_token");
    let thief = DpopKey::new();
    let other =
        userinfo(&server, &format!("DPoP {access}"), Some(&thief.userinfo_proof(&server, "GET", &access)))
            .await;
    assert_dpop_challenge(&other, "invalid_dpop_proof");
    // A replayed proof, a proof for another method or URL, a proof without ath, none at all.
    let used = key.userinfo_proof(&server, "GET", &access);
    assert_eq!(userinfo(&server, &format!("DPoP {access}"), Some(&used)).await.status, StatusCode::OK);
    let broken = [
        used,
        key.userinfo_proof(&server, "POST", &access),
        key.proof(&server, "GET", &token_url, json!({ "ath": ath(&access) })),
        key.proof(&server, "GET", &format!("{}/userinfo", server.issuer), json!({})),
    ];
    for proof in broken {
        let refused = userinfo(&server, &format!("DPoP {access}"), Some(&proof)).await;
        assert_dpop_challenge(&refused, "invalid_dpop_proof");
    }
    assert_dpop_challenge(&userinfo(&server, &format!("DPoP {access}"), None).await, "invalid_dpop_proof");

    // Introspection tells the resource server the key.
    let introspected = server.introspect_as_app(&access).await;
    assert_eq!(introspected.json["active"], true, "{}", introspected.text);
    assert_eq!(introspected.json["cnf"]["jkt"], key.thumbprint());
    assert_eq!(introspected.json["token_type"], "DPoP");

    // The public client's refresh token is bound too: no proof, or another key, is refused.
    let refresh = tokens.str("refresh_token").to_string();
    let form =
        [("grant_type", "refresh_token"), ("client_id", NATIVE_ID), ("refresh_token", refresh.as_str())];
    token(&server, &form, &[]).await.assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let other = thief.proof(&server, "POST", &token_url, json!({}));
    token(&server, &form, &[&other]).await.assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let renewed = token(&server, &form, &[&key.proof(&server, "POST", &token_url, json!({}))]).await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.text);
    assert_eq!(jwt_claims(renewed.str("access_token"))["cnf"]["jkt"], key.thumbprint());

    // Proofs at the token endpoint: two headers, another URL, a stale iat, a symmetric alg.
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", NATIVE_ID),
        ("refresh_token", renewed.str("refresh_token")),
    ];
    let fresh = || key.proof(&server, "POST", &token_url, json!({}));
    let stale = key.proof(&server, "POST", &token_url, json!({ "iat": server.clock.now() - 600 }));
    let elsewhere = key.proof(&server, "POST", &format!("{}/par", server.issuer), json!({}));
    let hmac = {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(key.jwk.clone());
        let claims = json!({ "htm": "POST", "htu": token_url, "iat": server.clock.now(), "jti": jti() });
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(b"secret")).unwrap()
    };
    for proofs in [vec![fresh(), fresh()], vec![stale], vec![elsewhere], vec![hmac]] {
        let refs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        token(&server, &form, &refs).await.assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    }
}

/// RFC 9449 §10: `dpop_jkt` at `/auth` (or a proof at PAR) binds the code to the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dpop_jkt_binds_the_authorization_code() {
    let server = TestServer::start().await;
    let key = DpopKey::new();
    let token_url = format!("{}/token", server.issuer);
    let bound = code(&server, &[("dpop_jkt", &key.thumbprint())]).await;
    let thief = DpopKey::new();
    let stolen =
        token(&server, &pairs(&code_form(&bound)), &[&thief.proof(&server, "POST", &token_url, json!({}))])
            .await;
    stolen.assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");

    let bound = code(&server, &[("dpop_jkt", &key.thumbprint())]).await;
    let tokens =
        token(&server, &pairs(&code_form(&bound)), &[&key.proof(&server, "POST", &token_url, json!({}))])
            .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);

    // At PAR, the proof's key becomes dpop_jkt; a different dpop_jkt is refused.
    let par_url = format!("{}/par", server.issuer);
    let challenge = s256(VERIFIER);
    let request = [
        ("client_id", NATIVE_ID),
        ("response_type", "code"),
        ("redirect_uri", NATIVE_REDIRECT_URI),
        ("scope", "openid"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let push = |proof: String, extra: Option<(&'static str, String)>| {
        let mut form: Vec<(&str, String)> = request.iter().map(|(k, v)| (*k, v.to_string())).collect();
        form.extend(extra);
        api().post(server.url("/par")).header("DPoP", proof).form(&form).send()
    };
    let mismatch =
        push(key.proof(&server, "POST", &par_url, json!({})), Some(("dpop_jkt", thief.thumbprint())));
    ApiResponse::read(mismatch.await.unwrap())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let pushed =
        ApiResponse::read(push(key.proof(&server, "POST", &par_url, json!({})), None).await.unwrap()).await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.text);
    let url = server.auth_url(&[("client_id", NATIVE_ID), ("request_uri", pushed.str("request_uri"))]);
    let done = login_with_password(&browser(), &url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let code = query_param(&done, "code").unwrap();
    let stolen =
        token(&server, &pairs(&code_form(&code)), &[&thief.proof(&server, "POST", &token_url, json!({}))])
            .await;
    stolen.assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonces_are_required_when_configured() {
    let server = TestServer::builder()
        .yaml("oauth2:\n  grantTypes: [authorization_code, refresh_token, client_credentials]\n  dpop:\n    nonces: true\n")
        .start()
        .await;
    let key = DpopKey::new();
    let token_url = format!("{}/token", server.issuer);
    let cc = |proof: String| {
        api()
            .post(server.url("/token"))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .header("DPoP", proof)
            .form(&[("grant_type", "client_credentials"), ("scope", "openid")])
            .send()
    };
    let asked = ApiResponse::read(cc(key.proof(&server, "POST", &token_url, json!({}))).await.unwrap()).await;
    asked.assert_error(StatusCode::BAD_REQUEST, "use_dpop_nonce");
    let nonce = asked.header("dpop-nonce").expect("a DPoP-Nonce header").to_string();
    let wrong = key.proof(&server, "POST", &token_url, json!({ "nonce": "1.forged" }));
    ApiResponse::read(cc(wrong).await.unwrap()).await.assert_error(StatusCode::BAD_REQUEST, "use_dpop_nonce");
    let tokens = ApiResponse::read(
        cc(key.proof(&server, "POST", &token_url, json!({ "nonce": nonce }))).await.unwrap(),
    )
    .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert_eq!(tokens.str("token_type"), "DPoP");

    // At /userinfo the nonce is asked for with a 401 challenge; a nonce expires.
    let access = tokens.str("access_token").to_string();
    let asked =
        userinfo(&server, &format!("DPoP {access}"), Some(&key.userinfo_proof(&server, "GET", &access)))
            .await;
    assert_dpop_challenge(&asked, "use_dpop_nonce");
    let nonce = asked.header("dpop-nonce").unwrap().to_string();
    let with_nonce = |server: &TestServer| {
        key.proof(
            server,
            "GET",
            &format!("{}/userinfo", server.issuer),
            json!({ "ath": ath(&access), "nonce": nonce }),
        )
    };
    let ok = userinfo(&server, &format!("DPoP {access}"), Some(&with_nonce(&server))).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    server.advance(2 * tessera::oauth2::dpop::NONCE_PERIOD);
    let late = userinfo(&server, &format!("DPoP {access}"), Some(&with_nonce(&server))).await;
    assert_dpop_challenge(&late, "use_dpop_nonce");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_with_bound_tokens_must_send_a_proof() {
    let server = TestServer::builder()
        .yaml("oauth2:\n  grantTypes: [authorization_code, refresh_token, client_credentials]\n")
        .config(|c| {
            let client = c.static_clients.iter_mut().find(|c| c.id == CLIENT_ID).unwrap();
            client.options.dpop_bound_access_tokens = true;
        })
        .start()
        .await;
    let form = [("grant_type", "client_credentials"), ("scope", "openid")];
    let plain = api().post(server.url("/token")).basic_auth(CLIENT_ID, Some(CLIENT_SECRET)).form(&form);
    ApiResponse::read(plain.send().await.unwrap())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let key = DpopKey::new();
    let proof = key.proof(&server, "POST", &format!("{}/token", server.issuer), json!({}));
    let bound = api()
        .post(server.url("/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header("DPoP", proof)
        .form(&form);
    let tokens = ApiResponse::read(bound.send().await.unwrap()).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert_eq!(tokens.str("token_type"), "DPoP");
    // Other clients are unaffected: bearer tokens as in Dex.
    let other = api().post(server.url("/token")).basic_auth(OTHER_ID, Some(OTHER_SECRET)).form(&form);
    let tokens = ApiResponse::read(other.send().await.unwrap()).await;
    assert_eq!(tokens.str("token_type"), "bearer", "{}", tokens.text);
}
