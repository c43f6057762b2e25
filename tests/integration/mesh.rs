//! What the consumers of Tessera's tokens in a mesh require, checked against the examples in
//! `deploy/`: Envoy/Istio (`RequestAuthentication` + `AuthorizationPolicy`) and kube-apiserver
//! (`AuthenticationConfiguration`, the `--oidc-*` flags). The server runs with the examples'
//! issuer; the tokens are checked the way those verifiers check them: the key found by `kid`
//! in the JWKS, its algorithm, the signature, `iss` exact, `aud`, expiry with Envoy's 60 s
//! clock skew, and the claims the policies read. A key rotation happens in between: a
//! verifier that cached the JWKS before it still verifies what is signed after it.

use crate::common::*;
use jsonwebtoken::jwk::JwkSet;
use reqwest::StatusCode;
use serde_json::Value;
use std::path::Path;
use tessera::clock::Clock;

/// Envoy's `jwt_authn` default `clock_skew_seconds`.
const ENVOY_CLOCK_SKEW: u64 = 60;
/// istiod fetches the JWKS for the sidecars and refreshes it this often (its default
/// `PILOT_JWT_PUB_KEY_REFRESH_INTERVAL`); Envoy's own `remote_jwks` cache is shorter (10 min).
const ISTIOD_JWKS_REFRESH: i64 = 20 * 60;

fn example(path: &str) -> Vec<Value> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(path)).unwrap();
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| serde::Deserialize::deserialize(doc).unwrap())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

/// The JWKS as a verifier fetches it, with the checks every consumer relies on.
async fn fetch_jwks(server: &TestServer) -> JwkSet {
    let response = api().get(server.url("/keys")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let cache = response.headers()["cache-control"].to_str().unwrap().to_string();
    assert!(cache.contains("max-age=") && !cache.contains("no-store"), "the JWKS is cacheable: {cache}");
    let raw: Value = response.json().await.unwrap();
    for key in raw["keys"].as_array().unwrap() {
        for field in ["kid", "alg", "use", "kty"] {
            assert!(key[field].is_string(), "every key names {field}: {key}");
        }
        assert_eq!(key["use"], "sig");
    }
    serde_json::from_value(raw).unwrap()
}

/// A password-grant token for `client` (the mesh examples' clients are ordinary apps).
async fn token(server: &TestServer, client: &str, secret: Option<&str>, scope: &str) -> String {
    let mut form = vec![
        ("grant_type", "password"),
        ("username", ADMIN_EMAIL),
        ("password", ADMIN_PASSWORD),
        ("scope", scope),
        ("client_id", client),
    ];
    if let Some(secret) = secret {
        form.push(("client_secret", secret));
    }
    let response = server.token(None, &form).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.str("id_token").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_satisfy_envoy_istio_and_kube_apiserver_as_configured_in_deploy() {
    let request_authentication = &example("istio/request-authentication.yaml")[0];
    let rule = &request_authentication["spec"]["jwtRules"][0];
    let issuer = rule["issuer"].as_str().unwrap().to_string();
    let audiences = strings(&rule["audiences"]);
    let policy = &example("istio/authorization-policy.yaml")[0];
    let required_group = policy["spec"]["rules"][0]["when"][0]["values"][0].as_str().unwrap().to_string();
    assert_eq!(policy["spec"]["rules"][0]["when"][0]["key"], "request.auth.claims[groups]");
    assert_eq!(example("istio/peer-authentication.yaml")[0]["spec"]["mtls"]["mode"], "STRICT");

    let server = TestServer::builder()
        .issuer(&issuer)
        .yaml("oauth2:\n  passwordConnector: local\n")
        .yaml_with(move |yaml| {
            let app: serde_norway::Value =
                serde_norway::from_str("id: orders-web\nname: Orders\nsecret: orders-secret\nredirectURIs: [https://orders.example.com/callback]\n")
                    .unwrap();
            yaml["staticClients"].as_sequence_mut().unwrap().push(app);
            yaml["staticPasswords"] =
                serde_norway::from_str(&admin_password(&["orders-admins", "developers"])).unwrap();
        })
        .start()
        .await;

    // Discovery names the issuer and the JWKS the examples configure.
    let discovery = server.discovery().await;
    assert_eq!(discovery["issuer"], issuer.as_str());
    assert_eq!(discovery["jwks_uri"], rule["jwksUri"]);
    assert!(strings(&discovery["id_token_signing_alg_values_supported"]).contains(&"RS256".to_string()));
    let cached = fetch_jwks(&server).await;

    // Envoy: RequestAuthentication, then the AuthorizationPolicy's request principal and claim.
    let orders = token(&server, "orders-web", Some("orders-secret"), "openid email groups").await;
    let claims = verify_jwt(&orders, &cached, &issuer, &audiences, ENVOY_CLOCK_SKEW).unwrap();
    let principal = format!("{}/{}", claims["iss"].as_str().unwrap(), claims["sub"].as_str().unwrap());
    for pattern in strings(&policy["spec"]["rules"][0]["from"][0]["source"]["requestPrincipals"]) {
        let prefix = pattern.strip_suffix('*').expect("a prefix pattern");
        assert!(principal.starts_with(prefix), "{principal} does not match {pattern}");
    }
    assert!(strings(&claims["groups"]).contains(&required_group), "{claims}");
    for output in rule["outputClaimToHeaders"].as_array().unwrap() {
        // Istio copies only scalar claims into headers.
        let value = &claims[output["claim"].as_str().unwrap()];
        assert!(value.is_string() || value.is_number() || value.is_boolean(), "{output}: {value}");
    }
    // A token for another audience, or from another issuer, is refused.
    let other = token(&server, CLIENT_ID, Some(CLIENT_SECRET), "openid").await;
    assert!(
        verify_jwt(&other, &cached, &issuer, &audiences, ENVOY_CLOCK_SKEW).unwrap_err().contains("Audience")
    );
    assert!(
        verify_jwt(&orders, &cached, "https://tessera.example.com", &audiences, 0).is_err(),
        "iss is exact"
    );

    // kube-apiserver: structured authentication, and the equivalent flags.
    let authentication = &example("kube-apiserver/authentication-config.yaml")[0];
    let jwt = &authentication["jwt"][0];
    assert_eq!(jwt["issuer"]["url"], issuer.as_str());
    let kubectl_audiences = strings(&jwt["issuer"]["audiences"]);
    let kube = token(&server, KUBECTL_ID, None, "openid email groups").await;
    assert_eq!(
        jsonwebtoken::decode_header(&kube).unwrap().alg,
        jsonwebtoken::Algorithm::RS256,
        "its default"
    );
    let kube_claims = verify_jwt(&kube, &cached, &issuer, &kubectl_audiences, 0).unwrap();
    assert_eq!(jwt["claimValidationRules"][0]["expression"], "claims.email_verified == true");
    assert_eq!(kube_claims["email_verified"], true);
    let mappings = &jwt["claimMappings"];
    assert_eq!(kube_claims[mappings["username"]["claim"].as_str().unwrap()], ADMIN_EMAIL);
    assert!(kube_claims[mappings["groups"]["claim"].as_str().unwrap()].is_array());
    assert_eq!(kube_claims[mappings["uid"]["claim"].as_str().unwrap()], kube_claims["sub"]);
    let flags = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kube-apiserver/flags.txt"),
    )
    .unwrap();
    assert!(flags.lines().any(|l| l == format!("--oidc-issuer-url={issuer}")));
    assert!(flags.lines().any(|l| l == format!("--oidc-client-id={KUBECTL_ID}")));
    // Clock skew: issued now, valid for a day (the default), not before its issue time.
    let now = server.clock.now();
    let iat = kube_claims["iat"].as_i64().unwrap();
    assert!((now - 5..=now).contains(&iat), "iat {iat} vs now {now}");
    assert_eq!(kube_claims["exp"].as_i64().unwrap() - iat, 24 * 3600);
    assert!(kube_claims.get("nbf").is_none_or(|nbf| nbf.as_i64().unwrap() <= iat));

    // The signing key rotates (every 6 h by default). A sidecar that fetched the JWKS before
    // the rotation and keeps it for istiod's refresh interval still verifies new tokens:
    // the new key was published a rotation period earlier.
    // Here the cache is 6 h old when the first new token arrives; any younger one also has
    // the new key, and istiod's refresh keeps a cache at most 20 min old.
    const ROTATION: i64 = 6 * 3600;
    const { assert!(ISTIOD_JWKS_REFRESH < ROTATION) };
    server.advance(ROTATION + 1);
    server.running().app.signer.rotate_if_due().await.unwrap();
    let after = token(&server, "orders-web", Some("orders-secret"), "openid email groups").await;
    assert_ne!(
        jsonwebtoken::decode_header(&after).unwrap().kid,
        jsonwebtoken::decode_header(&orders).unwrap().kid
    );
    let checked = verify_jwt(&after, &cached, &issuer, &audiences, ENVOY_CLOCK_SKEW);
    assert!(
        checked.is_ok(),
        "a JWKS cached before the rotation verifies tokens signed after it: {checked:?}"
    );
    // And the retired key stays published while tokens it signed are valid.
    let fresh = fetch_jwks(&server).await;
    let old_kid = jsonwebtoken::decode_header(&orders).unwrap().kid.unwrap();
    assert!(fresh.find(&old_kid).is_some(), "the retired key is still published");
    server.advance(24 * 3600);
    server.running().app.signer.rotate_if_due().await.unwrap();
    assert!(fetch_jwks(&server).await.find(&old_kid).is_none(), "dropped once its tokens expired");
}
