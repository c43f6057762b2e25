//! Sample records with every field set, so a round trip that drops a field shows.

use super::harness::NOW;
use crate::storage::*;
use crate::types::{ClientId, Secret, UnixTime};

pub(super) fn claims(user: &str) -> Claims {
    Claims {
        user_id: user.into(),
        username: format!("{user} name"),
        preferred_username: user.into(),
        email: format!("{user}@example.com"),
        email_verified: true,
        groups: vec!["admins".into(), "devs".into()],
    }
}

pub(super) fn pkce() -> Option<Pkce> {
    Some(Pkce {
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        method: crate::protocol::PkceMethod::S256,
    })
}

pub(super) fn client(id: &str) -> Client {
    Client {
        id: id.into(),
        secret: Secret::new(format!("{id}-secret")),
        redirect_uris: vec![format!("https://{id}.example.com/callback")],
        name: format!("Client {id}"),
        trusted_peers: vec!["peer".into()],
        allowed_connectors: vec!["ldap".into()],
        ..Client::default()
    }
}

pub(super) fn pushed_request(id: &str, expiry: UnixTime) -> PushedRequest {
    let params =
        [("response_type", "code"), ("redirect_uri", "https://app.example.com/cb"), ("state", "é ✓")];
    PushedRequest {
        id: id.into(),
        client_id: "app".into(),
        params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        expiry,
    }
}

pub(super) fn auth_request(id: &str, expiry: UnixTime) -> AuthRequest {
    AuthRequest {
        id: id.into(),
        client_id: "app".into(),
        response_types: vec![crate::protocol::ResponseWord::Code],
        scopes: vec!["openid".into(), "email".into()],
        redirect_uri: "https://app.example.com/cb".into(),
        nonce: "n-0S6_WzA2Mj".into(),
        state: "af0ifjsldkj".into(),
        max_age: Some(300),
        expiry,
        claims: claims("alice"),
        connector_id: "ldap".into(),
        connector_data: Some(vec![0, 1, 2, 255]),
        pkce: pkce(),
        hmac_key: vec![9; 32],
        session_id: "sid-1".into(),
        ..AuthRequest::default()
    }
}

pub(super) fn auth_code(id: &str, expiry: UnixTime) -> AuthCode {
    AuthCode {
        id: id.into(),
        client_id: "app".into(),
        redirect_uri: "https://app.example.com/cb".into(),
        nonce: "nonce".into(),
        scopes: vec!["openid".into(), "offline_access".into()],
        connector_id: "ldap".into(),
        connector_data: Some(vec![7, 7, 7]),
        claims: claims("alice"),
        expiry,
        auth_time: NOW - 10,
        pkce: pkce(),
        redeemed_at: None,
        issued: None,
        session_id: "sid-1".into(),
        dpop_jkt: Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".into()),
        resources: vec!["https://api.example.com".into()],
    }
}

pub(super) fn refresh_token(id: &str, user: &str, expires_at: Option<UnixTime>) -> RefreshToken {
    RefreshToken {
        id: id.into(),
        token_hash: format!("hash-{id}").into_bytes(),
        obsolete_hash: None,
        rotation_salt: vec![1, 2, 3],
        rotated_at_ms: NOW * 1000 + 123,
        created_at: NOW,
        last_used: NOW,
        expires_at,
        client_id: "app".into(),
        connector_id: "ldap".into(),
        connector_data: Some(vec![0xde, 0xad]),
        claims: claims(user),
        scopes: vec!["openid".into(), "offline_access".into()],
        nonce: "nonce".into(),
        session_id: "session-1".into(),
        auth_time: NOW - 5,
        dpop_jkt: Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".into()),
        valid_if_not_used_for: Some(3600),
        resources: vec!["https://api.example.com".into()],
    }
}

pub(super) fn rotation(expected: &[u8], new: &[u8], now: UnixTime) -> RefreshRotation {
    RefreshRotation {
        expected_hash: expected.to_vec(),
        new_hash: new.to_vec(),
        rotation_salt: new.iter().rev().copied().collect(),
        now,
        // A time inside its second: storage keeps the milliseconds.
        now_ms: now * 1000 + 637,
        claims: Claims { groups: vec!["new-group".into()], ..claims("alice") },
        connector_data: Some(new.to_vec()),
    }
}

pub(super) fn password(email: &str) -> Password {
    Password {
        email: email.into(),
        hash: Secret::new("$2a$10$abcdefghijklmnopqrstuv"),
        username: "alice".into(),
        user_id: "user-1".into(),
        name: "Alice".into(),
        email_verified: Some(true),
        groups: vec!["g".into()],
        ..Password::default()
    }
}

pub(super) fn connector(id: &str) -> Connector {
    Connector {
        id: id.into(),
        kind: "ldap".into(),
        name: "LDAP".into(),
        resource_version: "1".into(),
        config: serde_json::json!({ "host": "ldap.example.com:636", "insecureNoSSL": false }),
        grant_types: vec!["authorization_code".into()],
    }
}

pub(super) fn keys(kid: &str) -> Keys {
    Keys {
        signing_key: Some(SigningKey {
            kid: kid.into(),
            alg: "RS256".into(),
            private_pkcs8: vec![48, 130, 1, 2],
        }),
        signing_key_pub: Some(serde_json::json!({ "kid": kid, "kty": "RSA" })),
        verification_keys: vec![VerificationKey {
            jwk: serde_json::json!({ "kid": "old" }),
            expiry: NOW + 3600,
        }],
        upcoming_key: Some(SigningKey {
            kid: format!("{kid}-next"),
            alg: "RS256".into(),
            private_pkcs8: vec![48, 130, 1, 3],
        }),
        upcoming_key_pub: Some(serde_json::json!({ "kid": format!("{kid}-next"), "kty": "RSA" })),
        next_rotation: NOW + 21600,
        version: 0,
    }
}

pub(super) fn device_request(user_code: &str, expiry: UnixTime) -> DeviceRequest {
    DeviceRequest {
        user_code: user_code.into(),
        device_code: format!("device-{user_code}"),
        client_id: "tv".into(),
        client_secret: Secret::new("tv-secret"),
        scopes: vec!["openid".into()],
        expiry,
    }
}

pub(super) fn device_token(device_code: &str, expiry: UnixTime) -> DeviceToken {
    DeviceToken {
        device_code: device_code.into(),
        client_id: "tv".into(),
        status: crate::protocol::DeviceStatus::Pending,
        token: String::new(),
        expiry,
        last_request: NOW,
        poll_interval_seconds: 5,
        pkce: pkce(),
    }
}

pub(super) fn web_session(id: &str, expiry: UnixTime) -> WebSession {
    WebSession { id: id.into(), data: vec![0, 159, 146, 150, 255], expiry }
}

pub(super) fn assert_already_exists<T: std::fmt::Debug>(result: Result<T>) {
    assert!(matches!(result, Err(StorageError::AlreadyExists)), "expected AlreadyExists, got {result:?}");
}

pub(super) fn auth_session(id: &str, expiry: UnixTime) -> AuthSession {
    AuthSession {
        id: id.into(),
        connector_id: "ldap".into(),
        claims: claims("alice"),
        connector_data: Some(vec![7, 8]),
        auth_time: NOW - 10,
        created_at: NOW - 10,
        last_activity: NOW,
        absolute_expiry: expiry + 100,
        idle_expiry: expiry,
        consents: [(ClientId::from("app"), vec!["openid".to_string(), "email".to_string()])]
            .into_iter()
            .collect(),
        clients: vec!["app".into()],
    }
}
