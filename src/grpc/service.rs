//! The `Dex` service: each method turns Dex's request message into a call of
//! [`crate::admin`] and the outcome into Dex's response message.
//!
//! Status codes: a request the caller got wrong is `INVALID_ARGUMENT`; a change to an entry
//! of the config file, or to connectors while `DEX_API_CONNECTORS_CRUD` is off, is
//! `FAILED_PRECONDITION`; a storage failure is `INTERNAL` with no detail (the detail is
//! logged). `already_exists` and `not_found` are flags in the responses, as in Dex.

use super::api::{self, dex_server::Dex};
use crate::admin::{self, AdminContext, AdminError, Change};
use crate::app::AppState;
use crate::oauth2::discovery;
use crate::storage::Client;
use crate::types::Secret;
use tonic::{Request, Response, Status};

/// The version of Dex's API this server implements (Dex's `apiVersion`, from `GetVersion`):
/// 3, the methods of Dex v2.44-v2.45. The session, identity and MFA methods Dex added in API
/// 4 answer `UNIMPLEMENTED`, so a client that checks the version before using them is right.
pub const API_VERSION: i32 = 3;

pub struct DexApi {
    app: AppState,
    connectors_crud: bool,
}

impl DexApi {
    pub fn new(app: AppState, connectors_crud: bool) -> Self {
        Self { app, connectors_crud }
    }

    fn ctx(&self) -> AdminContext<'_> {
        AdminContext {
            storage: self.app.storage.as_ref(),
            clients: &self.app.clients,
            passwords: &self.app.passwords,
            hasher: &self.app.hasher,
            static_connectors: self.app.static_connector_ids(),
            connectors_crud: self.connectors_crud,
            audit: &self.app.audit,
            access_tokens: &self.app.access_tokens,
            access_token_lifetime: self.app.settings.max_token_lifetime,
            now: self.app.clock.now(),
        }
    }

    /// After a connector change: this replica applies it at once (the others within the
    /// poll interval).
    async fn reload_connectors(&self) {
        if let Err(e) = self.app.reload_connectors().await {
            tracing::warn!(error = %e, "reopening the connectors after a change failed; retried by the poller");
        }
    }
}

/// Who made an admin call: the subject of the client certificate (mutual TLS), else what
/// is known of the connection.
fn who<T>(request: &Request<T>) -> String {
    let Some(certs) = request.peer_certs() else {
        return "plaintext".into();
    };
    certs
        .first()
        .and_then(|cert| x509_parser::parse_x509_certificate(cert.as_ref()).ok())
        .map(|(_, cert)| cert.subject().to_string())
        .unwrap_or_else(|| "tls without a client certificate".into())
}

/// The caller of an admin call, for its audit event.
struct Caller {
    who: String,
    source: Option<std::net::IpAddr>,
}

impl Caller {
    fn of<T>(request: &Request<T>) -> Self {
        Self { who: who(request), source: request.remote_addr().map(|a| a.ip()) }
    }
}

impl DexApi {
    /// Runs one change through the API and records its audit event, whatever the outcome.
    async fn audited<T>(
        &self,
        caller: &Caller,
        method: &str,
        target: &str,
        change: impl Future<Output = Result<Change<T>, AdminError>>,
    ) -> Result<Change<T>, Status> {
        let result = change.await;
        self.audit(caller, method, target, &result);
        result.map_err(status)
    }

    /// One audit event for a change through the API, whatever its outcome.
    fn audit<T>(&self, caller: &Caller, method: &str, target: &str, result: &Result<Change<T>, AdminError>) {
        let outcome = match result {
            Ok(Change::Done(_)) => "done",
            Ok(Change::AlreadyExists) => "already_exists",
            Ok(Change::NotFound) => "not_found",
            Err(AdminError::Storage(_)) => "failed",
            Err(_) => "refused",
        };
        let event = crate::audit::Event::AdminChange { method, target, outcome, who: &caller.who };
        self.app.audit.record_from(caller.source, self.app.clock.now(), &event);
    }
}

fn status(error: AdminError) -> Status {
    match error {
        AdminError::Invalid(message) => Status::invalid_argument(message),
        AdminError::ReadOnly(message) | AdminError::Disabled(message) => Status::failed_precondition(message),
        AdminError::Storage(crate::storage::StorageError::Unavailable(cause)) => {
            tracing::warn!(%cause, "admin API: storage unavailable");
            Status::unavailable("storage unavailable; retry shortly")
        }
        AdminError::Storage(e) => {
            tracing::error!(error = %e, "admin API: storage failed");
            Status::internal("storage failed; see the server log")
        }
    }
}

fn client_message(client: &Client, secret: &Secret) -> api::Client {
    api::Client {
        id: client.id.to_string(),
        secret: secret.expose().to_string(),
        redirect_uris: client.redirect_uris.clone(),
        trusted_peers: client.trusted_peers.iter().map(ToString::to_string).collect(),
        public: client.public,
        name: client.name.clone(),
        logo_url: client.logo_url.clone(),
        allowed_connectors: client.allowed_connectors.iter().map(ToString::to_string).collect(),
        sso_shared_with: Vec::new(),
        backchannel_logout_uri: client.backchannel_logout_uri.clone(),
        post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
        refresh_token_lifetime: client.refresh_token_lifetime.as_str().to_string(),
        options: super::client_options::to_message(&client.options),
    }
}

fn client_info(client: &Client) -> api::ClientInfo {
    let c = client_message(client, &Secret::default());
    api::ClientInfo {
        id: c.id,
        redirect_uris: c.redirect_uris,
        trusted_peers: c.trusted_peers,
        public: c.public,
        name: c.name,
        logo_url: c.logo_url,
        allowed_connectors: c.allowed_connectors,
        sso_shared_with: c.sso_shared_with,
        backchannel_logout_uri: c.backchannel_logout_uri,
        post_logout_redirect_uris: c.post_logout_redirect_uris,
        refresh_token_lifetime: c.refresh_token_lifetime,
        options: c.options,
    }
}

/// The options of a request, read; what cannot be read is `InvalidArgument`.
fn options(message: Option<api::ClientOptions>) -> Result<crate::client_options::ClientOptions, Status> {
    message
        .map(super::client_options::from_message)
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(Status::invalid_argument)
}

fn reject_sso_shared_with(list: &[String]) -> Result<(), Status> {
    if list.is_empty() {
        Ok(())
    } else {
        Err(Status::invalid_argument("sso_shared_with is not supported by Tessera"))
    }
}

#[tonic::async_trait]
impl Dex for DexApi {
    async fn get_client(
        &self,
        request: Request<api::GetClientReq>,
    ) -> Result<Response<api::GetClientResp>, Status> {
        let id = request.into_inner().id;
        match admin::clients::get(&self.ctx(), &id).await.map_err(status)? {
            // A secret is shown once, when the client is created; never afterwards.
            Some(client) => Ok(Response::new(api::GetClientResp {
                client: Some(client_message(&client, &Secret::default())),
            })),
            None => Err(Status::not_found(format!("client {id:?} not found"))),
        }
    }

    async fn create_client(
        &self,
        request: Request<api::CreateClientReq>,
    ) -> Result<Response<api::CreateClientResp>, Status> {
        let caller = Caller::of(&request);
        let Some(c) = request.into_inner().client else {
            return Err(Status::invalid_argument("no client supplied"));
        };
        let target = c.id.clone();
        reject_sso_shared_with(&c.sso_shared_with)?;
        let new = admin::clients::NewClient {
            id: c.id,
            secret: Secret::new(c.secret),
            redirect_uris: c.redirect_uris,
            trusted_peers: c.trusted_peers,
            public: c.public,
            name: c.name,
            logo_url: c.logo_url,
            allowed_connectors: c.allowed_connectors,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            backchannel_logout_uri: c.backchannel_logout_uri,
            refresh_token_lifetime: c.refresh_token_lifetime,
            options: options(c.options)?,
        };
        let result = admin::clients::create(&self.ctx(), new).await;
        let target = match &result {
            Ok(Change::Done(created)) => created.client.id.to_string(),
            _ => target,
        };
        self.audit(&caller, "CreateClient", &target, &result);
        let response = match result.map_err(status)? {
            Change::Done(created) => api::CreateClientResp {
                already_exists: false,
                client: Some(client_message(&created.client, &created.secret)),
            },
            _ => api::CreateClientResp { already_exists: true, client: None },
        };
        Ok(Response::new(response))
    }

    async fn update_client(
        &self,
        request: Request<api::UpdateClientReq>,
    ) -> Result<Response<api::UpdateClientResp>, Status> {
        let caller = Caller::of(&request);
        let r = request.into_inner();
        reject_sso_shared_with(&r.sso_shared_with)?;
        let target = r.id.clone();
        let update = admin::clients::ClientUpdate {
            id: r.id,
            redirect_uris: r.redirect_uris,
            trusted_peers: r.trusted_peers,
            name: r.name,
            logo_url: r.logo_url,
            allowed_connectors: r.allowed_connectors,
            post_logout_redirect_uris: r.post_logout_redirect_uris,
            backchannel_logout_uri: r.backchannel_logout_uri,
            refresh_token_lifetime: r.refresh_token_lifetime,
            options: r.options.map(|o| options(Some(o))).transpose()?,
        };
        let change = self
            .audited(&caller, "UpdateClient", &target, admin::clients::update(&self.ctx(), update))
            .await?;
        Ok(Response::new(api::UpdateClientResp { not_found: change == Change::NotFound }))
    }

    async fn delete_client(
        &self,
        request: Request<api::DeleteClientReq>,
    ) -> Result<Response<api::DeleteClientResp>, Status> {
        let caller = Caller::of(&request);
        let id = request.into_inner().id;
        let change =
            self.audited(&caller, "DeleteClient", &id, admin::clients::delete(&self.ctx(), &id)).await?;
        Ok(Response::new(api::DeleteClientResp { not_found: change == Change::NotFound }))
    }

    async fn list_clients(
        &self,
        _request: Request<api::ListClientReq>,
    ) -> Result<Response<api::ListClientResp>, Status> {
        let clients = admin::clients::list(&self.ctx()).await.map_err(status)?;
        Ok(Response::new(api::ListClientResp { clients: clients.iter().map(client_info).collect() }))
    }

    async fn create_password(
        &self,
        request: Request<api::CreatePasswordReq>,
    ) -> Result<Response<api::CreatePasswordResp>, Status> {
        let caller = Caller::of(&request);
        let Some(p) = request.into_inner().password else {
            return Err(Status::invalid_argument("no password supplied"));
        };
        let target = p.email.to_lowercase();
        let new = admin::passwords::NewPassword {
            email: p.email,
            hash: p.hash,
            username: p.username,
            user_id: p.user_id,
        };
        let change = self
            .audited(&caller, "CreatePassword", &target, admin::passwords::create(&self.ctx(), new))
            .await?;
        Ok(Response::new(api::CreatePasswordResp { already_exists: change == Change::AlreadyExists }))
    }

    async fn update_password(
        &self,
        request: Request<api::UpdatePasswordReq>,
    ) -> Result<Response<api::UpdatePasswordResp>, Status> {
        let caller = Caller::of(&request);
        let r = request.into_inner();
        let change = self
            .audited(
                &caller,
                "UpdatePassword",
                &r.email.to_lowercase(),
                admin::passwords::update(&self.ctx(), &r.email, &r.new_hash, &r.new_username),
            )
            .await?;
        Ok(Response::new(api::UpdatePasswordResp { not_found: change == Change::NotFound }))
    }

    async fn delete_password(
        &self,
        request: Request<api::DeletePasswordReq>,
    ) -> Result<Response<api::DeletePasswordResp>, Status> {
        let caller = Caller::of(&request);
        let email = request.into_inner().email;
        let change = self
            .audited(
                &caller,
                "DeletePassword",
                &email.to_lowercase(),
                admin::passwords::delete(&self.ctx(), &email),
            )
            .await?;
        Ok(Response::new(api::DeletePasswordResp { not_found: change == Change::NotFound }))
    }

    async fn list_passwords(
        &self,
        _request: Request<api::ListPasswordReq>,
    ) -> Result<Response<api::ListPasswordResp>, Status> {
        let passwords = admin::passwords::list(&self.ctx()).await.map_err(status)?;
        // As in Dex, the hashes are not listed.
        let passwords = passwords
            .into_iter()
            .map(|p| api::Password {
                email: p.email,
                hash: Vec::new(),
                username: p.username,
                user_id: p.user_id,
            })
            .collect();
        Ok(Response::new(api::ListPasswordResp { passwords }))
    }

    async fn verify_password(
        &self,
        request: Request<api::VerifyPasswordReq>,
    ) -> Result<Response<api::VerifyPasswordResp>, Status> {
        let r = request.into_inner();
        let outcome = admin::passwords::verify(&self.ctx(), &r.email, &Secret::new(r.password))
            .await
            .map_err(status)?;
        Ok(Response::new(api::VerifyPasswordResp {
            verified: outcome == Some(true),
            not_found: outcome.is_none(),
        }))
    }

    async fn create_connector(
        &self,
        request: Request<api::CreateConnectorReq>,
    ) -> Result<Response<api::CreateConnectorResp>, Status> {
        let caller = Caller::of(&request);
        let Some(c) = request.into_inner().connector else {
            return Err(Status::invalid_argument("no connector supplied"));
        };
        let target = c.id.clone();
        let new = admin::connectors::NewConnector {
            id: c.id,
            kind: c.r#type,
            name: c.name,
            config: c.config,
            grant_types: c.grant_types,
        };
        let change = self
            .audited(&caller, "CreateConnector", &target, admin::connectors::create(&self.ctx(), new))
            .await?;
        self.reload_connectors().await;
        Ok(Response::new(api::CreateConnectorResp { already_exists: change == Change::AlreadyExists }))
    }

    async fn update_connector(
        &self,
        request: Request<api::UpdateConnectorReq>,
    ) -> Result<Response<api::UpdateConnectorResp>, Status> {
        let caller = Caller::of(&request);
        let r = request.into_inner();
        let target = r.id.clone();
        let update = admin::connectors::ConnectorUpdate {
            id: r.id,
            new_kind: r.new_type,
            new_name: r.new_name,
            new_config: r.new_config,
            new_grant_types: r.new_grant_types.map(|g| g.grant_types),
        };
        let change = self
            .audited(&caller, "UpdateConnector", &target, admin::connectors::update(&self.ctx(), update))
            .await?;
        self.reload_connectors().await;
        Ok(Response::new(api::UpdateConnectorResp { not_found: change == Change::NotFound }))
    }

    async fn delete_connector(
        &self,
        request: Request<api::DeleteConnectorReq>,
    ) -> Result<Response<api::DeleteConnectorResp>, Status> {
        let caller = Caller::of(&request);
        let id = request.into_inner().id;
        let change = self
            .audited(&caller, "DeleteConnector", &id, admin::connectors::delete(&self.ctx(), &id))
            .await?;
        self.reload_connectors().await;
        Ok(Response::new(api::DeleteConnectorResp { not_found: change == Change::NotFound }))
    }

    async fn list_connectors(
        &self,
        _request: Request<api::ListConnectorReq>,
    ) -> Result<Response<api::ListConnectorResp>, Status> {
        let connectors = admin::connectors::list(&self.ctx()).await.map_err(status)?;
        let connectors = connectors
            .into_iter()
            .map(|c| api::Connector {
                id: c.id.to_string(),
                r#type: c.kind,
                name: c.name,
                config: serde_json::to_vec(&c.config).unwrap_or_default(),
                grant_types: c.grant_types,
            })
            .collect();
        Ok(Response::new(api::ListConnectorResp { connectors }))
    }

    async fn get_version(
        &self,
        _request: Request<api::VersionReq>,
    ) -> Result<Response<api::VersionResp>, Status> {
        Ok(Response::new(api::VersionResp {
            server: format!("tessera-{}", env!("CARGO_PKG_VERSION")),
            api: API_VERSION,
        }))
    }

    async fn get_discovery(
        &self,
        _request: Request<api::DiscoveryReq>,
    ) -> Result<Response<api::DiscoveryResp>, Status> {
        let m = discovery::metadata(&self.app.settings, self.app.signer_algorithm());
        let strings = |v: &[&str]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
        Ok(Response::new(api::DiscoveryResp {
            issuer: m.issuer,
            authorization_endpoint: m.authorization_endpoint,
            token_endpoint: m.token_endpoint,
            jwks_uri: m.jwks_uri,
            userinfo_endpoint: m.userinfo_endpoint,
            device_authorization_endpoint: m.device_authorization_endpoint.unwrap_or_default(),
            introspection_endpoint: m.introspection_endpoint.unwrap_or_default(),
            grant_types_supported: m.grant_types_supported,
            response_types_supported: m.response_types_supported,
            subject_types_supported: strings(&m.subject_types_supported),
            id_token_signing_alg_values_supported: strings(&m.id_token_signing_alg_values_supported),
            code_challenge_methods_supported: m.code_challenge_methods_supported,
            scopes_supported: strings(&m.scopes_supported),
            token_endpoint_auth_methods_supported: strings(&m.token_endpoint_auth_methods_supported),
            claims_supported: strings(&m.claims_supported),
        }))
    }

    async fn list_refresh(
        &self,
        request: Request<api::ListRefreshReq>,
    ) -> Result<Response<api::ListRefreshResp>, Status> {
        let tokens =
            admin::refresh::list(&self.ctx(), &request.into_inner().user_id).await.map_err(status)?;
        let refresh_tokens = tokens
            .into_iter()
            .map(|t| api::RefreshTokenRef {
                id: t.id,
                client_id: t.client_id.to_string(),
                created_at: t.created_at,
                last_used: t.last_used,
            })
            .collect();
        Ok(Response::new(api::ListRefreshResp { refresh_tokens }))
    }

    async fn revoke_refresh(
        &self,
        request: Request<api::RevokeRefreshReq>,
    ) -> Result<Response<api::RevokeRefreshResp>, Status> {
        let caller = Caller::of(&request);
        let r = request.into_inner();
        let change = self
            .audited(
                &caller,
                "RevokeRefresh",
                &format!("{} at {}", r.user_id, r.client_id),
                admin::refresh::revoke(&self.ctx(), &r.user_id, &r.client_id),
            )
            .await?;
        Ok(Response::new(api::RevokeRefreshResp { not_found: change == Change::NotFound }))
    }
}
