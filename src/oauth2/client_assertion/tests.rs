//! The assertion rules at the unit level; `tests/integration/client_jwt.rs` runs them over
//! HTTP against a running server, with keys published at a `jwksURI`.

use super::*;
use crate::client_options::ClientOptions;
use crate::oauth2::ErrorCode;
use crate::oauth2::client_auth::{ClientCredentials, identify};
use crate::oauth2::testing::{START, World, client, settings};
use crate::overlay::Clients;
use crate::signer::keys::{SigningAlgorithm, encoding_key, generate};
use crate::types::Secret;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

const HMAC_SECRET: &str = "a-client-secret-of-at-least-32-bytes!";

struct Keys {
    encoding: EncodingKey,
    kid: String,
    jwks: JwkSet,
}

fn keys() -> Keys {
    let (key, jwk) = generate(SigningAlgorithm::Es256).unwrap();
    let jwks = serde_json::from_value(json!({ "keys": [jwk] })).unwrap();
    Keys { encoding: encoding_key(SigningAlgorithm::Es256, &key.private_pkcs8).unwrap(), kid: key.kid, jwks }
}

fn clients(world: &World, keys: &Keys) -> Clients {
    let with = |id: &str, options: ClientOptions| crate::storage::Client { options, ..client(id, false) };
    let signed = with(
        "signed",
        ClientOptions {
            token_endpoint_auth_method: Some(ClientAuthMethod::PrivateKeyJwt),
            jwks: Some(keys.jwks.clone()),
            ..Default::default()
        },
    );
    let mut hmac = with(
        "hmac",
        ClientOptions {
            token_endpoint_auth_method: Some(ClientAuthMethod::ClientSecretJwt),
            ..Default::default()
        },
    );
    hmac.secret = Secret::new(HMAC_SECRET);
    Clients::new(vec![signed, hmac, client("app", false)], world.storage.clone())
}

fn claims(id: &str) -> Value {
    json!({
        "iss": id, "sub": id, "aud": crate::oauth2::testing::ISSUER,
        "exp": START + 60, "iat": START, "jti": crate::crypto::random_id(),
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    if value.is_null() {
        claims.as_object_mut().unwrap().remove(name);
    } else {
        claims[name] = value;
    }
    claims
}

fn es256(keys: &Keys, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(keys.kid.clone());
    jsonwebtoken::encode(&header, claims, &keys.encoding).unwrap()
}

fn hs256(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(HMAC_SECRET.as_bytes()),
    )
    .unwrap()
}

fn creds(id: &str, assertion: String) -> ClientCredentials {
    ClientCredentials { client_id: id.into(), assertion: Some(Secret::new(assertion)), ..Default::default() }
}

async fn check(world: &World, clients: &Clients, creds: ClientCredentials) -> Result<(), OAuthError> {
    let ctx = GrantContext { clients, ..world.ctx() };
    identify(&ctx, &creds).await.map(|caller| assert!(caller.is_authenticated()))
}

#[tokio::test]
async fn a_signed_assertion_authenticates_once() {
    let world = World::new(settings()).await;
    let keys = keys();
    let clients = clients(&world, &keys);
    let assertion = es256(&keys, &claims("signed"));
    check(&world, &clients, creds("signed", assertion.clone())).await.unwrap();
    let replay = check(&world, &clients, creds("signed", assertion)).await.unwrap_err();
    assert_eq!(replay.code, ErrorCode::InvalidClient);
    assert!(replay.description.contains("jti was used before"), "{replay:?}");
    // The token endpoint's URL is an audience too (OIDC Core §9), in a list.
    let to_token =
        with(claims("signed"), "aud", json!([format!("{}/token", crate::oauth2::testing::ISSUER)]));
    check(&world, &clients, creds("signed", es256(&keys, &to_token))).await.unwrap();
    check(&world, &clients, creds("hmac", hs256(&claims("hmac")))).await.unwrap();
}

/// Modelled on the FAPI 2.0 test plan's client-assertion cases, and RFC 7523 §3.
#[tokio::test]
async fn a_broken_assertion_is_refused_with_its_reason() {
    let world = World::new(settings()).await;
    let keys = keys();
    let clients = clients(&world, &keys);
    let c = || claims("signed");
    let cases: Vec<(&str, String)> = vec![
        ("aud must be", es256(&keys, &with(c(), "aud", json!("https://elsewhere.example")))),
        ("aud must be", es256(&keys, &with(c(), "aud", Value::Null))),
        ("exp is required", es256(&keys, &with(c(), "exp", Value::Null))),
        ("expired", es256(&keys, &with(c(), "exp", json!(START - LEEWAY - 1)))),
        ("too far ahead", es256(&keys, &with(c(), "exp", json!(START + MAX_LIFETIME + LEEWAY + 1)))),
        ("not valid yet", es256(&keys, &with(c(), "nbf", json!(START + 300)))),
        ("not valid yet", es256(&keys, &with(c(), "iat", json!(START + 300)))),
        ("jti is required", es256(&keys, &with(c(), "jti", Value::Null))),
        ("iss and sub", es256(&keys, &with(c(), "iss", json!("app")))),
        ("iss and sub", es256(&keys, &with(c(), "sub", json!("hmac")))),
        ("signature does not verify", es256(&Keys { kid: keys.kid.clone(), ..self::keys() }, &c())),
        ("no registered key has the JWT's kid", es256(&Keys { kid: "other".into(), ..self::keys() }, &c())),
        // An HMAC made with a public key's bytes, or with the secret, is no private_key_jwt.
        ("alg does not fit", {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(keys.kid.clone());
            jsonwebtoken::encode(&header, &c(), &EncodingKey::from_secret(b"anything")).unwrap()
        }),
        ("not a signed JWT", {
            let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&c()))
        }),
        ("not a signed JWT", "not-a-jwt".into()),
    ];
    for (why, assertion) in cases {
        let e = check(&world, &clients, creds("signed", assertion)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidClient, "{why}");
        assert!(e.description.contains(why), "expected {why:?}, got {:?}", e.description);
    }
    // client_secret_jwt: HMAC only, with the registered secret.
    let e = check(&world, &clients, creds("hmac", es256(&keys, &claims("hmac")))).await.unwrap_err();
    assert!(e.description.contains("HS256, HS384 or HS512"), "{e:?}");
    let wrong = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims("hmac"),
        &EncodingKey::from_secret(b"guess"),
    )
    .unwrap();
    assert!(check(&world, &clients, creds("hmac", wrong)).await.is_err());
}

/// A client registered for a JWT method takes nothing else, and a client that registered
/// none (Dex's) takes no JWT.
#[tokio::test]
async fn each_client_uses_its_registered_method() {
    let world = World::new(settings()).await;
    let keys = keys();
    let clients = clients(&world, &keys);
    let secret = ClientCredentials {
        client_id: "hmac".into(),
        client_secret: Some(Secret::new(HMAC_SECRET)),
        ..Default::default()
    };
    let e = check(&world, &clients, secret).await.unwrap_err();
    assert!(e.description.contains("authenticates with client_secret_jwt"), "{e:?}");
    let bare = ClientCredentials { client_id: "signed".into(), ..Default::default() };
    assert!(check(&world, &clients, bare).await.is_err());
    let e = check(&world, &clients, creds("app", es256(&keys, &claims("app")))).await.unwrap_err();
    assert!(e.description.contains("no registered keys"), "{e:?}");
}

#[test]
fn the_assertion_names_its_client() {
    let keys = keys();
    assert_eq!(claimed_client(&es256(&keys, &claims("signed"))).as_deref(), Some("signed"));
    assert_eq!(claimed_client("x.y.z"), None);
}
