//! Extractors that turn malformed requests into OAuth2 errors instead of axum's plain-text
//! rejections, and that parse credentials once.

use crate::oauth2::OAuthError;
use crate::oauth2::client_auth::ClientCredentials;
use crate::types::{ClientId, Secret};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use base64::Engine;
use serde::de::DeserializeOwned;

/// `application/x-www-form-urlencoded` body; anything else is `invalid_request`.
pub struct OAuthForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OAuthForm<T> {
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(OAuthError::invalid_request("Expected an application/x-www-form-urlencoded body."));
        }
        let body = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
            OAuthError::invalid_request(format!("The request body could not be read: {}", e.body_text()))
        })?;
        let body = join_repeated(&body, crate::oauth2::resource::PARAMETER);
        serde_urlencoded::from_bytes(&body)
            .map(Self)
            .map_err(|e| OAuthError::invalid_request(format!("Malformed request body: {e}")))
    }
}

/// A form-encoded text with every value of the repeatable parameter `name` joined into one,
/// separated by spaces (RFC 8707 lets `resource` repeat; a URI has no space, so the join is
/// undone by splitting). Without a repeat the text is returned as it is.
pub fn join_repeated<'a>(form: &'a [u8], name: &str) -> std::borrow::Cow<'a, [u8]> {
    let pairs = || url::form_urlencoded::parse(form);
    if pairs().filter(|(k, _)| k == name).count() < 2 {
        return std::borrow::Cow::Borrowed(form);
    }
    let joined: Vec<String> = pairs().filter(|(k, _)| k == name).map(|(_, v)| v.into_owned()).collect();
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs().filter(|(k, _)| k != name) {
        out.append_pair(&k, &v);
    }
    out.append_pair(name, &joined.join(" "));
    std::borrow::Cow::Owned(out.finish().into_bytes())
}

/// Query parameters; malformed ones are `invalid_request`.
pub struct OAuthQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for OAuthQuery<T> {
    type Rejection = OAuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Self(v))
            .map_err(|e| OAuthError::invalid_request(format!("Malformed query: {}", e.body_text())))
    }
}

/// The client credentials a form body may carry: `client_id`/`client_secret` (RFC 6749
/// §2.3.1) or `client_assertion`/`client_assertion_type` (RFC 7523 §2.2).
#[derive(Default, Clone, Copy)]
pub struct BodyCredentials<'a> {
    pub client_id: Option<&'a str>,
    pub client_secret: Option<&'a Secret>,
    pub assertion_type: Option<&'a str>,
    pub assertion: Option<&'a Secret>,
}

/// Form bodies that carry client credentials.
pub trait ClientFields {
    fn credentials(&self) -> BodyCredentials<'_>;
}

macro_rules! client_fields {
    ($($form:ty),*) => {$(
        impl ClientFields for $form {
            fn credentials(&self) -> BodyCredentials<'_> {
                BodyCredentials {
                    client_id: self.client_id.as_deref(),
                    client_secret: self.client_secret.as_ref(),
                    assertion_type: self.client_assertion_type.as_deref(),
                    assertion: self.client_assertion.as_ref(),
                }
            }
        }
    )*};
}
client_fields!(
    crate::oauth2::grants::TokenForm,
    crate::oauth2::introspection::PresentedToken,
    crate::oauth2::device::DeviceAuthorizationRequest
);

/// A client's form request to an API endpoint: the form and the client credentials it
/// presented (header or body), each parsed once.
pub struct ClientForm<T>(pub ClientCredentials, pub T);

impl<T: DeserializeOwned + ClientFields, S: Send + Sync> FromRequest<S> for ClientForm<T> {
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let OAuthForm(form) = OAuthForm::<T>::from_request(req, state).await?;
        let creds = client_credentials(&headers, form.credentials())?;
        Ok(Self(creds, form))
    }
}

/// RFC 6749 §2.3.1: `Authorization: Basic` with the id and secret form-URL-encoded, or
/// `client_id`/`client_secret` in the body; or a client assertion (RFC 7523 §2.2) in the
/// body. Credentials that disagree are an error. The same credentials both in the header and
/// in the body are accepted: the OIDC auth provider of the Kubernetes clients (kubectl's
/// built-in one, the Python client) sends its refresh requests that way, and Dex serves them.
pub fn client_credentials(
    headers: &HeaderMap,
    body: BodyCredentials<'_>,
) -> Result<ClientCredentials, OAuthError> {
    let (body_id, body_secret) = (body.client_id, body.client_secret);
    if body.assertion.is_some() || body.assertion_type.is_some() {
        return assertion_credentials(headers, body);
    }
    let Some(auth) = headers.get(header::AUTHORIZATION) else {
        return Ok(ClientCredentials {
            client_id: ClientId::from(body_id.unwrap_or_default()),
            client_secret: body_secret.cloned(),
            ..Default::default()
        });
    };
    let bad = || OAuthError::invalid_client("Malformed Authorization header.", true);
    let value = auth.to_str().map_err(|_| bad())?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic ")).ok_or_else(bad)?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let id = form_decode(id).ok_or_else(bad)?;
    let secret = form_decode(secret).ok_or_else(bad)?;
    let same_id = body_id.is_none_or(|b| b == id);
    let same_secret =
        body_secret.is_none_or(|b| crate::crypto::constant_time_eq(b.expose().as_bytes(), secret.as_bytes()));
    if !(same_id && same_secret) {
        return Err(OAuthError::invalid_request(
            "Client credentials were sent in more than one way, and they differ.",
        ));
    }
    Ok(ClientCredentials {
        client_id: ClientId::from(id),
        client_secret: Some(Secret::new(secret)),
        basic: true,
        assertion: None,
    })
}

/// A `client_assertion` with its type, and nothing else that authenticates. Without a
/// `client_id`, the assertion's `sub` names the client (RFC 7523 §3); either way its
/// signature and `iss`/`sub` are checked against that client's registration.
fn assertion_credentials(
    headers: &HeaderMap,
    body: BodyCredentials<'_>,
) -> Result<ClientCredentials, OAuthError> {
    use crate::oauth2::client_assertion::{ASSERTION_TYPE, claimed_client};
    let (Some(kind), Some(assertion)) = (body.assertion_type, body.assertion) else {
        return Err(OAuthError::invalid_request("client_assertion and client_assertion_type go together."));
    };
    if kind != ASSERTION_TYPE {
        return Err(OAuthError::invalid_request(format!("client_assertion_type must be {ASSERTION_TYPE}.")));
    }
    if headers.contains_key(header::AUTHORIZATION) || body.client_secret.is_some() {
        return Err(OAuthError::invalid_request("Client credentials were sent in more than one way."));
    }
    let id = match body.client_id {
        Some(id) => id.to_string(),
        None => claimed_client(assertion.expose()).unwrap_or_default(),
    };
    Ok(ClientCredentials {
        client_id: ClientId::from(id),
        assertion: Some(assertion.clone()),
        ..Default::default()
    })
}

fn form_decode(s: &str) -> Option<String> {
    let plus_as_space = s.replace('+', " ");
    url::form_urlencoded::parse(
        format!("x={}", plus_as_space.replace('&', "%26").replace('=', "%3D")).as_bytes(),
    )
    .next()
    .map(|(_, v)| v.into_owned())
}

/// Every `DPoP` header's value (RFC 9449 §4.1); the check refuses more than one. A value that
/// is not text is kept as an empty (invalid) proof rather than dropped.
pub fn dpop_proofs(headers: &HeaderMap) -> Vec<String> {
    headers.get_all("dpop").iter().map(|v| v.to_str().unwrap_or_default().to_string()).collect()
}

/// `Authorization: DPoP <token>` (RFC 9449 §7.1); the scheme is case-insensitive.
pub fn dpop_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("dpop") && !token.is_empty()).then_some(token)
}

/// `Authorization: Bearer <token>` (RFC 6750 §2.1).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?.trim();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut headers = HeaderMap::new();
        let raw = base64::engine::general_purpose::STANDARD.encode("my%20app:s%3Acret+x");
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Basic {raw}")).unwrap());
        let creds = client_credentials(&headers, BodyCredentials::default()).unwrap();
        assert_eq!(creds.client_id, "my app");
        assert_eq!(creds.client_secret.unwrap().expose(), "s:cret x");
        assert!(creds.basic);
    }

    #[test]
    fn a_repeated_resource_is_joined_and_the_rest_kept() {
        let joined =
            join_repeated(b"grant_type=x&resource=https%3A%2F%2Fa&resource=https%3A%2F%2Fb", "resource");
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(&joined).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        assert_eq!(
            pairs,
            [("grant_type".into(), "x".into()), ("resource".into(), "https://a https://b".into())]
        );
        let once = b"resource=https%3A%2F%2Fa&a=1";
        assert!(matches!(join_repeated(once, "resource"), std::borrow::Cow::Borrowed(_)));
    }

    fn basic(id_and_secret: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let raw = base64::engine::general_purpose::STANDARD.encode(id_and_secret);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Basic {raw}")).unwrap());
        headers
    }

    /// The Kubernetes clients' OIDC auth provider: the same credentials in the header and the
    /// body (a public client's secret empty in both, or absent from the body).
    #[test]
    fn the_same_credentials_both_ways_are_one_client() {
        let secret = Secret::new("b");
        let empty = Secret::new("");
        for (header, body) in [
            (
                "a:b",
                BodyCredentials { client_id: Some("a"), client_secret: Some(&secret), ..Default::default() },
            ),
            ("a:b", BodyCredentials { client_secret: Some(&secret), ..Default::default() }),
            ("a:b", BodyCredentials { client_id: Some("a"), ..Default::default() }),
            (
                "kubectl:",
                BodyCredentials {
                    client_id: Some("kubectl"),
                    client_secret: Some(&empty),
                    ..Default::default()
                },
            ),
        ] {
            let creds = client_credentials(&basic(header), body).unwrap();
            let (id, expected) = header.split_once(':').unwrap();
            assert_eq!(creds.client_id, id);
            assert_eq!(creds.client_secret.unwrap().expose(), expected);
            assert!(creds.basic);
        }
    }

    #[test]
    fn credentials_that_differ_are_refused() {
        let (b, c, empty) = (Secret::new("b"), Secret::new("c"), Secret::new(""));
        for (header, body) in [
            ("a:b", BodyCredentials { client_id: Some("a"), client_secret: Some(&c), ..Default::default() }),
            ("a:b", BodyCredentials { client_id: Some("z"), client_secret: Some(&b), ..Default::default() }),
            ("a:b", BodyCredentials { client_secret: Some(&empty), ..Default::default() }),
            ("a:", BodyCredentials { client_id: Some("a"), client_secret: Some(&b), ..Default::default() }),
        ] {
            let refused = client_credentials(&basic(header), body).expect_err("refused");
            assert_eq!(refused.code.as_str(), "invalid_request");
        }
        // An assertion never comes with another method.
        let assertion = Secret::new("x.y.z");
        let body = BodyCredentials {
            assertion: Some(&assertion),
            assertion_type: Some(crate::oauth2::client_assertion::ASSERTION_TYPE),
            ..Default::default()
        };
        assert!(client_credentials(&basic("a:b"), body).is_err());
    }
}
