//! SAML endpoints: the Assertion Consumer Service (`POST /callback`, HTTP-POST binding), the
//! HTTP-POST binding's form to the identity provider (`/auth/{connector}/saml`), and the SP
//! metadata (`/saml/{connector}/metadata`). The protocol lives in `flow` and
//! `connector::saml`; these only extract and render.

use super::login::{fail, page_error, remember_login};
use super::templates::SamlPostPage;
use crate::app::AppState;
use crate::connector::Login;
use crate::flow;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

/// What the identity provider posts (bindings §3.5.4).
#[derive(Debug, Default, Deserialize)]
pub struct AcsForm {
    #[serde(rename = "SAMLResponse", default)]
    saml_response: String,
    #[serde(rename = "RelayState", default)]
    relay_state: String,
}

/// `POST /callback`: a cross-site POST from the identity provider. No CSRF token and no
/// session cookie (SameSite=Lax): `RelayState` names the auth request that is the binding.
pub async fn callback_post(
    State(app): State<AppState>,
    session: Session,
    headers: HeaderMap,
    form: Result<axum::Form<AcsForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let result = async {
        let axum::Form(form) = form.map_err(|_| {
            page_error("Invalid request", "The identity provider's answer could not be read.")
        })?;
        let login = flow::saml_callback(&app, &form.relay_state, &form.saml_response).await?;
        remember_login(&session, &login.sid).await?;
        Ok(login.next)
    }
    .await;
    match result {
        // 303: the browser follows with a GET (no re-POST of the response).
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => fail(&app, &headers, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct StateQuery {
    #[serde(default)]
    state: String,
}

/// `GET /auth/{connector}/saml?state=…`: the page that posts the `AuthnRequest`.
pub async fn post_form_get(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(connector): Path<String>,
    Query(query): Query<StateQuery>,
) -> Response {
    match flow::saml_post_form(&app, &connector, &query.state).await {
        Ok((action, saml_request, relay_state)) => {
            SamlPostPage { branding: app.ui.branding.clone(), action, saml_request, relay_state }
                .into_response()
        }
        Err(e) => fail(&app, &headers, e),
    }
}

/// `GET /saml/{connector}/metadata`: the SP metadata to import at the identity provider.
pub async fn metadata_get(State(app): State<AppState>, Path(connector): Path<String>) -> Response {
    match app.connectors.get(&connector).map(|c| &c.login) {
        Some(Login::Saml(saml)) => {
            ([(header::CONTENT_TYPE, "application/samlmetadata+xml")], saml.metadata()).into_response()
        }
        _ => (StatusCode::NOT_FOUND, "no SAML connector with this id").into_response(),
    }
}
