//! Extractors for the browser pages: a malformed query or form, or a form whose CSRF token is
//! not the session's, becomes the friendly error page (an [`AuthorizeError`]) before the
//! handler runs, so no handler repeats those checks.

use super::session::csrf_valid;
use crate::oauth2::authorize::{AuthorizeError, PageKind};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use tower_sessions::Session;

/// Query parameters of a page; none is `T::default()`.
pub struct PageQuery<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequestParts<S> for PageQuery<T> {
    type Rejection = AuthorizeError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query()).map(Self)
    }
}

/// Parses a query string (or a form body read as one); absent is `T::default()`.
pub fn parse_query<T: DeserializeOwned + Default>(raw: Option<&str>) -> Result<T, AuthorizeError> {
    let Some(query) = raw else {
        return Ok(T::default());
    };
    let uri: Option<axum::http::Uri> = format!("/?{query}").parse().ok();
    uri.and_then(|uri| axum::extract::Query::<T>::try_from_uri(&uri).ok()).map(|q| q.0).ok_or_else(|| {
        AuthorizeError::page(PageKind::InvalidRequest, "The request's parameters could not be read.")
    })
}

/// A form one of our pages posts: what to call it when it cannot be read.
pub trait PageFormBody: DeserializeOwned {
    /// Completes "The … could not be read.", e.g. "login form".
    const NAME: &'static str;
}

/// A form carrying the session's CSRF token.
pub trait CsrfProtected: PageFormBody {
    /// What the user is told when the token does not match (an old tab, a cross-site post).
    const EXPIRED: &'static str;
    fn csrf_token(&self) -> &str;
}

/// A page's form body.
pub struct PageForm<T>(pub T);

impl<T: PageFormBody + Send, S: Send + Sync> FromRequest<S> for PageForm<T> {
    type Rejection = AuthorizeError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(form)) => Ok(Self(form)),
            Err(_) => Err(AuthorizeError::page(
                PageKind::InvalidRequest,
                format!("The {} could not be read.", T::NAME),
            )),
        }
    }
}

/// A page's form body whose CSRF token matched this browser's session.
pub struct CsrfForm<T>(pub T);

impl<T: CsrfProtected + Send, S: Send + Sync> FromRequest<S> for CsrfForm<T> {
    type Rejection = AuthorizeError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, state)
            .await
            .map_err(|_| super::login::session_failed())?;
        let PageForm(form) = PageForm::<T>::from_request(Request::from_parts(parts, body), state).await?;
        if !csrf_valid(&session, form.csrf_token()).await {
            return Err(AuthorizeError::page(PageKind::SessionExpired, T::EXPIRED));
        }
        Ok(Self(form))
    }
}
