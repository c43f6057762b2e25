//! API endpoints: discovery, JWKS, token, userinfo, introspection, revocation, pushed
//! authorization requests. Thin:
//! extract, call the domain, map.

use super::client_address::ClientAddr;
use super::extract::{
    BodyCredentials, ClientForm, OAuthForm, bearer_token, client_credentials, dpop_proofs, dpop_token,
};
use crate::app::AppState;
use crate::oauth2::grants::{self, TokenForm};
use crate::oauth2::introspection::{self, PresentedToken};
use crate::oauth2::{ErrorCode, OAuthError, par, revocation, userinfo};
use crate::types::Secret;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

pub(super) fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

pub async fn discovery_get(State(app): State<AppState>) -> Response {
    // Fixed for the life of the process: serialised once (App::discovery), shared per request.
    let mut response = app.discovery.clone().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}

pub async fn keys_get(State(app): State<AppState>) -> Response {
    let jwks = crate::signer::Signer::jwks(app.signer.as_ref(), app.clock.now());
    let mut response = jwks.json.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(value) = HeaderValue::from_str(&format!("max-age={}, must-revalidate", jwks.max_age)) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    response
}

/// A JSON answer that no cache may keep (RFC 6749 §5.1), or the OAuth2 error.
pub(super) fn json_no_store<T: serde::Serialize>(result: Result<T, OAuthError>) -> Response {
    match result {
        Ok(body) => no_store(Json(body).into_response()),
        Err(e) => e.into_response(),
    }
}

pub async fn token_post(
    State(app): State<AppState>,
    ClientAddr(source): ClientAddr,
    headers: HeaderMap,
    form: Result<ClientForm<TokenForm>, OAuthError>,
) -> Response {
    json_no_store(
        async {
            let ClientForm(creds, request) = form?;
            grants::token(&app.grant_context(source), &creds, request, &dpop_proofs(&headers)).await
        }
        .await,
    )
}

/// RFC 7662 §2.
pub async fn introspect_post(
    State(app): State<AppState>,
    ClientAddr(source): ClientAddr,
    form: Result<ClientForm<PresentedToken>, OAuthError>,
) -> Response {
    json_no_store(
        async {
            let ClientForm(creds, request) = form?;
            introspection::introspect(&app.grant_context(source), &creds, &request).await
        }
        .await,
    )
}

/// RFC 7009 §2: success is an empty 200.
pub async fn revoke_post(
    State(app): State<AppState>,
    ClientAddr(source): ClientAddr,
    form: Result<ClientForm<PresentedToken>, OAuthError>,
) -> Response {
    let result = async {
        let ClientForm(creds, request) = form?;
        revocation::revoke(&app.grant_context(source), &creds, &request).await
    }
    .await;
    match result {
        Ok(()) => no_store(axum::http::StatusCode::OK.into_response()),
        Err(e) => e.into_response(),
    }
}

/// RFC 9126 §2: the client pushes its authorization request and gets a `request_uri`
/// (`201 Created`), authenticated as at `/token`.
pub async fn par_post(
    State(app): State<AppState>,
    ClientAddr(source): ClientAddr,
    headers: HeaderMap,
    form: Result<OAuthForm<Vec<(String, String)>>, OAuthError>,
) -> Response {
    let result = async {
        let OAuthForm(pairs) = form?;
        let params = par::parameters(pairs)?;
        let secret = params.get("client_secret").map(|s| Secret::new(s.clone()));
        let assertion = params.get("client_assertion").map(|s| Secret::new(s.clone()));
        let body = BodyCredentials {
            client_id: params.get("client_id").map(String::as_str),
            client_secret: secret.as_ref(),
            assertion_type: params.get("client_assertion_type").map(String::as_str),
            assertion: assertion.as_ref(),
        };
        let creds = client_credentials(&headers, body)?;
        par::push(&app.grant_context(source), &creds, params, &dpop_proofs(&headers)).await
    }
    .await;
    let mut response = json_no_store(result);
    if response.status().is_success() {
        *response.status_mut() = axum::http::StatusCode::CREATED;
    }
    response
}

/// OIDC Core §5.3.1: GET or POST, token in the `Authorization` header or (POST) the
/// `access_token` form field (RFC 6750 §2.2).
pub async fn userinfo_handler(
    State(app): State<AppState>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let proofs = dpop_proofs(&headers);
    if let Some(token) = dpop_token(&headers) {
        let presented = userinfo::Presented::Dpop { token, proofs: &proofs, method: method.as_str() };
        return userinfo_response(&app, presented).await;
    }
    let from_body;
    let token = match bearer_token(&headers) {
        Some(t) => Some(t),
        None => {
            from_body = url::form_urlencoded::parse(&body)
                .find(|(k, _)| k == "access_token")
                .map(|(_, v)| v.into_owned());
            from_body.as_deref()
        }
    };
    let Some(token) = token else {
        return OAuthError::new(ErrorCode::InvalidToken, "An access token is required.").into_response();
    };
    userinfo_response(&app, userinfo::Presented::Bearer(token)).await
}

async fn userinfo_response(app: &AppState, presented: userinfo::Presented<'_>) -> Response {
    match userinfo::userinfo(&app.grant_context(None), presented).await {
        Ok(claims) => no_store(Json(claims).into_response()),
        Err(e) => e.into_response(),
    }
}
