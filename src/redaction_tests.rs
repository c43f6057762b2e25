//! Every type that holds a token, code, key, password or CSRF token prints without it.
//!
//! Each value below is filled with [`SECRET`] wherever a secret can go (through serde where
//! its fields are private); its `Debug` output must not contain it. A type that gains a
//! secret should gain a line here.

use serde_json::json;

const SECRET: &str = "S3CR3T-do-not-print";

fn assert_redacted(what: &str, debug: String) {
    assert!(!debug.contains(SECRET), "{what} prints a secret: {debug}");
    assert!(!debug.contains(&crate::crypto::base64url(SECRET.as_bytes())), "{what}: {debug}");
}

/// `T` from JSON, then its `Debug` checked.
fn check<T: serde::de::DeserializeOwned + std::fmt::Debug>(what: &str, value: serde_json::Value) {
    let parsed: T = serde_json::from_value(value).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_redacted(what, format!("{parsed:?}"));
}

#[test]
fn token_responses_and_requests() {
    check::<crate::oauth2::tokens::TokenResponse>(
        "token response",
        json!({"access_token": SECRET, "token_type": "bearer", "expires_in": 60,
               "refresh_token": SECRET, "id_token": SECRET}),
    );
    check::<crate::connector::upstream::TokenResponse>(
        "upstream token response",
        json!({"access_token": SECRET, "refresh_token": SECRET, "id_token": SECRET}),
    );
    check::<crate::connector::upstream::TokenData>(
        "upstream token data",
        json!({"accessToken": SECRET, "refreshToken": SECRET}),
    );
    check::<crate::oauth2::grants::TokenForm>(
        "token request",
        json!({"grant_type": "authorization_code", "code": SECRET, "code_verifier": SECRET,
               "refresh_token": SECRET, "client_secret": SECRET, "device_code": SECRET,
               "password": SECRET, "subject_token": SECRET}),
    );
    check::<crate::oauth2::introspection::PresentedToken>(
        "introspection request",
        json!({"token": SECRET, "client_secret": SECRET}),
    );
    check::<crate::oauth2::device::DeviceCallback>("device callback", json!({"code": SECRET}));
    check::<crate::logout::LogoutParams>("logout request", json!({"id_token_hint": SECRET}));
    let device = crate::oauth2::device::DeviceAuthorizationResponse {
        device_code: SECRET.into(),
        user_code: SECRET.into(),
        verification_uri: "https://idp/device".into(),
        verification_uri_complete: format!("https://idp/device?user_code={SECRET}"),
        expires_in: 300,
        interval: 5,
    };
    assert_redacted("device authorization response", format!("{device:?}"));
    let creds = crate::oauth2::client_auth::ClientCredentials {
        client_id: "app".into(),
        client_secret: Some(crate::types::Secret::new(SECRET)),
        basic: true,
        assertion: Some(crate::types::Secret::new(SECRET)),
    };
    assert_redacted("client credentials", format!("{creds:?}"));
}

#[test]
fn storage_records() {
    use crate::storage::*;
    let secret = SECRET.as_bytes().to_vec();
    let request = AuthRequest {
        id: SECRET.into(),
        hmac_key: secret.clone(),
        connector_data: Some(secret.clone()),
        ..Default::default()
    };
    assert_redacted("auth request", format!("{request:?}"));
    let code = AuthCode { id: SECRET.into(), connector_data: Some(secret.clone()), ..Default::default() };
    assert_redacted("auth code", format!("{code:?}"));
    let refresh = RefreshToken {
        token_hash: secret.clone(),
        obsolete_hash: Some(secret.clone()),
        rotation_salt: secret.clone(),
        connector_data: Some(secret.clone()),
        ..Default::default()
    };
    assert_redacted("refresh token", format!("{refresh:?}"));
    let key = SigningKey { kid: "k".into(), alg: "RS256".into(), private_pkcs8: secret.clone() };
    let keys = Keys { signing_key: Some(key), ..Default::default() };
    assert_redacted("keys", format!("{keys:?}"));
    let device = DeviceRequest {
        user_code: SECRET.into(),
        device_code: SECRET.into(),
        client_secret: crate::types::Secret::new(SECRET),
        ..Default::default()
    };
    assert_redacted("device request", format!("{device:?}"));
    let token = DeviceToken { device_code: SECRET.into(), token: SECRET.into(), ..Default::default() };
    assert_redacted("device token", format!("{token:?}"));
    let web = WebSession { id: SECRET.into(), data: secret.clone(), expiry: 0 };
    assert_redacted("web session", format!("{web:?}"));
    let session = AuthSession { connector_data: Some(secret), ..Default::default() };
    assert_redacted("sso session", format!("{session:?}"));
}

#[test]
fn forms_and_pages() {
    check::<crate::web::login::PasswordForm>(
        "password form",
        json!({"login": "jane", "password": SECRET, "csrf_token": SECRET}),
    );
    check::<crate::web::login::ApprovalForm>(
        "approval form",
        json!({"req": SECRET, "hmac": SECRET, "approval": "approve", "csrf_token": SECRET}),
    );
    check::<crate::web::device::VerifyForm>(
        "device form",
        json!({"user_code": SECRET, "csrf_token": SECRET}),
    );
    check::<crate::web::device::DeviceQuery>("device query", json!({"user_code": SECRET}));
    use crate::web::templates::*;
    let branding = Branding {
        issuer_name: "Tessera".into(),
        logo_url: String::new(),
        theme: "light".into(),
        static_url: "/static".into(),
        extra: Default::default(),
    };
    let pages = [
        format!(
            "{:?}",
            PasswordPage {
                branding: branding.clone(),
                post_url: String::new(),
                csrf_token: SECRET.into(),
                username_prompt: String::new(),
                username: String::new(),
                error: None,
                back_url: None,
            }
        ),
        format!(
            "{:?}",
            ApprovalPage {
                branding: branding.clone(),
                client_name: String::new(),
                client_logo_url: String::new(),
                scopes: Vec::new(),
                post_url: String::new(),
                csrf_token: SECRET.into(),
                req: SECRET.into(),
                hmac: SECRET.into(),
            }
        ),
        format!("{:?}", OobPage { branding: branding.clone(), code: SECRET.into() }),
        format!(
            "{:?}",
            DevicePage {
                branding: branding.clone(),
                post_url: String::new(),
                csrf_token: SECRET.into(),
                user_code: SECRET.into(),
                error: None,
            }
        ),
        format!(
            "{:?}",
            LogoutPage {
                branding,
                post_url: String::new(),
                csrf_token: SECRET.into(),
                hidden: vec![("id_token_hint".into(), SECRET.into())],
            }
        ),
    ];
    for page in pages {
        assert_redacted("page", page);
    }
}

#[test]
fn configuration() {
    let yaml = format!(
        "issuer: https://auth.example.com\nstorage:\n  type: postgres\n  config:\n    host: db\n    password: {SECRET}\n\
         web:\n  http: 0.0.0.0:5556\nenablePasswordDB: true\nstaticClients:\n- id: app\n  name: App\n  secret: {SECRET}\n  \
         redirectURIs: [https://app.example.com/cb]\nstaticPasswords:\n- email: a@example.com\n  hash: \"$2a$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W\"\n  userID: a\n\
         connectors:\n- type: oidc\n  id: up\n  name: Up\n  config:\n    issuer: https://up.example.com\n    clientID: t\n    clientSecret: {SECRET}\n"
    );
    let loaded = crate::config::load_str(&yaml).unwrap();
    assert_redacted("config", format!("{:?}", loaded.config));
    let oidc: crate::connector::oidc::config::Config =
        crate::config::from_value(loaded.config.connectors[0].config.clone()).unwrap();
    assert_redacted("oidc config", format!("{oidc:?}"));
    check::<crate::connector::google::Config>(
        "google config",
        json!({"clientID": "g", "clientSecret": SECRET}),
    );
    check::<crate::connector::mock::MockPasswordConfig>(
        "mockPassword config",
        json!({"username": "u", "password": SECRET}),
    );
}
