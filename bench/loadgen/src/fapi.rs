//! The FAPI scenarios' client side: a client assertion (private_key_jwt, RFC 7523) and a DPoP
//! proof (RFC 9449) per request, both ES256 with the key in `--fapi-key`, each with a fresh
//! `jti` (the server remembers every one).

use crate::Args;
use crate::scenario::{Outcome, fail, status_failure};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

struct Key {
    encoding: EncodingKey,
    public: Jwk,
}

fn key(args: &Args) -> &'static Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| {
        let pem = std::fs::read(&args.fapi_key).unwrap_or_else(|e| panic!("reading {}: {e}", args.fapi_key));
        let encoding = EncodingKey::from_ec_pem(&pem).expect("an EC P-256 key in PKCS#8 PEM");
        let public = Jwk::from_encoding_key(&encoding, Algorithm::ES256).expect("its public JWK");
        Key { encoding, public }
    })
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn jti() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

fn assertion(args: &Args, issuer: &str) -> String {
    let id = &args.fapi_client_id;
    let claims = json!({ "iss": id, "sub": id, "aud": issuer, "iat": now(), "exp": now() + 60, "jti": jti() });
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("bench-fapi".into());
    jsonwebtoken::encode(&header, &claims, &key(args).encoding).expect("signing the assertion")
}

fn proof(args: &Args, method: &str, url: &str, access_token: Option<&str>) -> String {
    let mut claims = json!({ "htm": method, "htu": url, "iat": now(), "jti": jti() });
    if let Some(token) = access_token {
        claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
    }
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some("dpop+jwt".into());
    header.jwk = Some(key(args).public.clone());
    jsonwebtoken::encode(&header, &claims, &key(args).encoding).expect("signing the proof")
}

/// POST /par for a code-flow request with PKCE: as `example-app` with its secret, or as the
/// FAPI client with an assertion.
pub async fn push(http: &reqwest::Client, args: &Args, target: &str, challenge: &str, jwt: bool) -> Outcome {
    let mut form = vec![
        ("response_type", "code".to_string()),
        ("redirect_uri", args.redirect_uri.clone()),
        ("scope", "openid".to_string()),
        ("state", "bench".to_string()),
        ("code_challenge", challenge.to_string()),
        ("code_challenge_method", "S256".to_string()),
    ];
    let mut request = http.post(format!("{target}/par"));
    if jwt {
        form.push(("client_id", args.fapi_client_id.clone()));
        form.push(("client_assertion_type", ASSERTION_TYPE.to_string()));
        form.push(("client_assertion", assertion(args, target)));
    } else {
        request = request.basic_auth(&args.client_id, Some(&args.client_secret));
    }
    match request.form(&form).send().await {
        Ok(r) if r.status().as_u16() == 201 => Outcome::Ok,
        Ok(r) => status_failure(r.status()),
        Err(e) => fail(format!("io: {e}")),
    }
}

/// client_credentials with private_key_jwt and a DPoP proof; the token must be DPoP-bound.
pub async fn dpop_token(http: &reqwest::Client, args: &Args, target: &str) -> Result<String, String> {
    let url = format!("{target}/token");
    let form = [
        ("grant_type", "client_credentials".to_string()),
        ("scope", "openid".to_string()),
        ("client_assertion_type", ASSERTION_TYPE.to_string()),
        ("client_assertion", assertion(args, target)),
    ];
    let response = http
        .post(&url)
        .header("DPoP", proof(args, "POST", &url, None))
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("io: {e}"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    match (status.as_u16(), body["token_type"].as_str(), body["access_token"].as_str()) {
        (200, Some("DPoP"), Some(token)) => Ok(token.to_string()),
        _ => Err(format!("http {}: {body}", status.as_u16())),
    }
}

/// GET /userinfo with the token as a bearer token, or with the DPoP scheme and a proof.
pub async fn userinfo(http: &reqwest::Client, args: &Args, target: &str, token: &str, dpop: bool) -> Outcome {
    let url = format!("{target}/userinfo");
    let request = if dpop {
        http.get(&url).header("Authorization", format!("DPoP {token}")).header("DPoP", proof(args, "GET", &url, Some(token)))
    } else {
        http.get(&url).bearer_auth(token)
    };
    match request.send().await {
        Ok(r) if r.status().is_success() => Outcome::Ok,
        Ok(r) => status_failure(r.status()),
        Err(e) => fail(format!("io: {e}")),
    }
}
