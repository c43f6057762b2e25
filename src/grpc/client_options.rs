//! Tessera's client options on the wire (`api.ClientOptions`, numbered beyond Dex's fields):
//! the typed options to the message and back, with the words parsed as the config parses
//! them. How the options fit the client is `ClientOptions::check`'s, in `admin`.

use super::api;
use crate::client_options::{
    AccessTokenFormat, ClientExpiry, ClientOptions, Profile, check_jwks_uri, parse_jwks,
};
use crate::protocol::{ClientAuthMethod, GrantType};

/// The message, or `None` for Dex's defaults (so Dex's clients see nothing new).
pub fn to_message(o: &ClientOptions) -> Option<api::ClientOptions> {
    if *o == ClientOptions::default() {
        return None;
    }
    let seconds = |v: Option<i64>| v.unwrap_or_default();
    Some(api::ClientOptions {
        token_endpoint_auth_method: o
            .token_endpoint_auth_method
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
        jwks: o.jwks.as_ref().and_then(|k| serde_json::to_string(k).ok()).unwrap_or_default(),
        jwks_uri: o.jwks_uri.clone(),
        require_pushed_authorization_requests: o.require_pushed_authorization_requests,
        dpop_bound_access_tokens: o.dpop_bound_access_tokens,
        allowed_resources: o.allowed_resources.clone(),
        access_token_format: if o.access_token_format.is_dex() { String::new() } else { "rfc9068".into() },
        profile: if o.fapi2() { "fapi2".into() } else { String::new() },
        grant_types: o.grant_types.iter().map(|g| g.as_str().to_string()).collect(),
        expiry: (!o.expiry.is_empty()).then(|| api::ClientExpiry {
            id_tokens: seconds(o.expiry.id_tokens),
            access_tokens: seconds(o.expiry.access_tokens),
            refresh_valid_if_not_used_for: seconds(o.expiry.refresh_valid_if_not_used_for),
            refresh_absolute_lifetime: seconds(o.expiry.refresh_absolute_lifetime),
        }),
    })
}

/// The typed options, or what in the message cannot be read (named by its field).
pub fn from_message(m: api::ClientOptions) -> Result<ClientOptions, String> {
    let word = |field: &str, value: &str| format!("options.{field}: unknown value {value:?}");
    let token_endpoint_auth_method = match m.token_endpoint_auth_method.as_str() {
        "" => None,
        text => Some(ClientAuthMethod::parse(text).ok_or_else(|| word("token_endpoint_auth_method", text))?),
    };
    let jwks = match m.jwks.as_str() {
        "" => None,
        text => {
            let value: serde_json::Value =
                serde_json::from_str(text).map_err(|e| format!("options.jwks: not JSON: {e}"))?;
            Some(parse_jwks(&value).map_err(|why| format!("options.jwks: {why}"))?)
        }
    };
    if !m.jwks_uri.is_empty() {
        check_jwks_uri(&m.jwks_uri).map_err(|why| format!("options.jwks_uri: {why}"))?;
    }
    let profile = match m.profile.as_str() {
        "" => None,
        text => Some(Profile::parse(text).ok_or_else(|| word("profile", text))?),
    };
    let access_token_format = AccessTokenFormat::parse(&m.access_token_format)
        .ok_or_else(|| word("access_token_format", &m.access_token_format))?;
    let grant_types = m
        .grant_types
        .iter()
        .map(|g| GrantType::parse(g).ok_or_else(|| word("grant_types", g)))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(bad) = m.allowed_resources.iter().find(|r| !crate::oauth2::resource::is_valid(r)) {
        return Err(format!("options.allowed_resources: {bad:?} is not an absolute URI without a fragment"));
    }
    let positive = |v: i64| (v > 0).then_some(v);
    let expiry = m.expiry.map_or_else(ClientExpiry::default, |e| ClientExpiry {
        id_tokens: positive(e.id_tokens),
        access_tokens: positive(e.access_tokens),
        refresh_valid_if_not_used_for: positive(e.refresh_valid_if_not_used_for),
        refresh_absolute_lifetime: positive(e.refresh_absolute_lifetime),
    });
    Ok(ClientOptions {
        token_endpoint_auth_method,
        jwks,
        jwks_uri: m.jwks_uri,
        require_pushed_authorization_requests: m.require_pushed_authorization_requests,
        dpop_bound_access_tokens: m.dpop_bound_access_tokens,
        profile,
        expiry,
        grant_types,
        allowed_resources: m.allowed_resources,
        access_token_format,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_survive_the_wire() {
        let jwks = r#"{"keys":[{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","kid":"1"}]}"#;
        let message = api::ClientOptions {
            token_endpoint_auth_method: "private_key_jwt".into(),
            jwks: jwks.into(),
            profile: "fapi2".into(),
            access_token_format: "rfc9068".into(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            allowed_resources: vec!["https://api.example.com".into()],
            expiry: Some(api::ClientExpiry { access_tokens: 60, ..Default::default() }),
            ..Default::default()
        };
        let options = from_message(message.clone()).unwrap();
        assert!(options.fapi2());
        assert_eq!(options.expiry.access_tokens, Some(60));
        let back = to_message(&options).unwrap();
        assert_eq!(from_message(back).unwrap(), options);
        assert_eq!(to_message(&ClientOptions::default()), None, "Dex's clients see no options");
        for bad in [
            api::ClientOptions { token_endpoint_auth_method: "tls_client_auth".into(), ..Default::default() },
            api::ClientOptions { jwks: "{}".into(), ..Default::default() },
            api::ClientOptions { jwks_uri: "http://keys.example/jwks".into(), ..Default::default() },
            api::ClientOptions { grant_types: vec!["magic".into()], ..Default::default() },
            api::ClientOptions { allowed_resources: vec!["relative".into()], ..Default::default() },
        ] {
            assert!(from_message(bad.clone()).is_err(), "{bad:?}");
        }
    }
}
