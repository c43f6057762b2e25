//! SAML endpoints: the Assertion Consumer Service (`POST /callback`, HTTP-POST binding), the
//! HTTP-POST binding's form to the identity provider (`/auth/{connector}/saml`), and the SP
//! metadata (`/saml/{connector}/metadata`). The protocol lives in `flow` and
//! `connector::saml`; these only extract and render.

use super::client_address::ClientAddr;
use super::login::{PageResult, StateQuery, remember_login};
use super::page_extract::{PageForm, PageFormBody, PageQuery};
use super::templates::SamlPostPage;
use super::ui::Ui;
use crate::app::AppState;
use crate::connector::Login;
use crate::flow;
use crate::types::ConnectorId;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;
use tower_sessions::Session;

/// What the identity provider posts (bindings §3.5.4).
#[derive(Debug, Default, Deserialize)]
pub struct AcsForm {
    #[serde(rename = "SAMLResponse", default)]
    saml_response: String,
    #[serde(rename = "RelayState", default)]
    relay_state: String,
}

impl PageFormBody for AcsForm {
    const NAME: &'static str = "identity provider's answer";
}

/// `POST /callback`: a cross-site POST from the identity provider. No CSRF token and no
/// session cookie (SameSite=Lax): `RelayState` names the auth request that is the binding.
pub async fn callback_post(
    State(app): State<AppState>,
    ClientAddr(source): ClientAddr,
    session: Session,
    PageForm(form): PageForm<AcsForm>,
) -> PageResult {
    let login =
        flow::saml_callback(&app.flow_context(source), &form.relay_state, &form.saml_response).await?;
    remember_login(&session, &login.sid).await?;
    // 303: the browser follows with a GET (no re-POST of the response).
    Ok(Redirect::to(&login.next).into_response())
}

/// `GET /auth/{connector}/saml?state=…`: the page that posts the `AuthnRequest`.
pub async fn post_form_get(
    State(app): State<AppState>,
    ClientAddr(source): ClientAddr,
    State(ui): State<Arc<Ui>>,
    Path(connector): Path<ConnectorId>,
    PageQuery(query): PageQuery<StateQuery>,
) -> PageResult {
    let (action, saml_request, relay_state) =
        flow::saml_post_form(&app.flow_context(source), &connector, &query.state).await?;
    Ok(SamlPostPage { branding: ui.branding.clone(), action, saml_request, relay_state }.into_response())
}

/// `GET /saml/{connector}/metadata`: the SP metadata to import at the identity provider.
pub async fn metadata_get(State(app): State<AppState>, Path(connector): Path<ConnectorId>) -> Response {
    match app.registry().get(&connector).map(|c| &c.login) {
        Some(Login::Saml(saml)) => {
            ([(header::CONTENT_TYPE, "application/samlmetadata+xml")], saml.metadata()).into_response()
        }
        _ => (StatusCode::NOT_FOUND, "no SAML connector with this id").into_response(),
    }
}
