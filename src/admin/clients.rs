//! OAuth2 clients (Dex's `CreateClient`, `UpdateClient`, `DeleteClient`, `GetClient`,
//! `ListClients`).

use super::{AdminContext, AdminError, Change, invalid};
use crate::client_options::{ClientOptions, ClientSecret};
use crate::crypto::{SecretHash, random_id, random_token};
use crate::protocol::{ClientAuthMethod, RefreshTokenLifetime};
use crate::storage::{Client, StorageError};
use crate::types::{ClientId, ConnectorId, Secret};

/// A client to create, as the caller sent it.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    /// Empty: a random id is chosen.
    pub id: String,
    /// Empty for a confidential client: a random secret is chosen.
    pub secret: Secret,
    pub redirect_uris: Vec<String>,
    pub trusted_peers: Vec<String>,
    pub public: bool,
    pub name: String,
    pub logo_url: String,
    pub allowed_connectors: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: String,
    pub refresh_token_lifetime: String,
    /// Tessera's options beyond Dex's (all default for Dex's clients).
    pub options: ClientOptions,
}

/// A created client and its secret, which is shown this once (only its hash is kept).
#[derive(Debug, Clone)]
pub struct Created {
    pub client: Client,
    pub secret: Secret,
}

/// Changes to a client; `None` or an empty list leaves the field as it is (as in Dex, which
/// cannot tell an empty list from none).
#[derive(Debug, Clone, Default)]
pub struct ClientUpdate {
    pub id: String,
    pub redirect_uris: Vec<String>,
    pub trusted_peers: Vec<String>,
    pub name: String,
    pub logo_url: String,
    pub allowed_connectors: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub refresh_token_lifetime: Option<String>,
    /// `Some`: replaces the options whole.
    pub options: Option<ClientOptions>,
}

fn lifetime(value: &str) -> Result<RefreshTokenLifetime, AdminError> {
    RefreshTokenLifetime::parse(value)
        .ok_or_else(|| invalid(format!("refresh_token_lifetime {value:?}: use standalone or session")))
}

fn check_uris(field: &str, uris: &[String]) -> Result<(), AdminError> {
    for uri in uris {
        if uri.trim().is_empty() || uri.contains(char::is_whitespace) {
            return Err(invalid(format!("{field}: {uri:?} is not a URI")));
        }
    }
    Ok(())
}

/// The options against the client (`ClientOptions::check`, as for the config), and lifetimes
/// no longer than the server's longest: signing keys and revocations are kept that long.
fn check_options(
    ctx: &AdminContext<'_>,
    options: &ClientOptions,
    secret: ClientSecret<'_>,
    public: bool,
) -> Result<(), AdminError> {
    if let Some((key, message)) = options.check(secret, public).into_iter().next() {
        return Err(invalid(format!("options ({key}): {message}")));
    }
    let longest = [options.expiry.id_tokens, options.expiry.access_tokens].into_iter().flatten().max();
    if longest.is_some_and(|l| l > ctx.access_token_lifetime) {
        return Err(invalid(format!(
            "options.expiry: ID and access tokens may live at most {}s here (the longest lifetime of the config)",
            ctx.access_token_lifetime
        )));
    }
    Ok(())
}

fn check_backchannel(uri: &str) -> Result<(), AdminError> {
    if uri.is_empty() {
        return Ok(());
    }
    match url::Url::parse(uri) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.fragment().is_none() => Ok(()),
        _ => Err(invalid(format!("backchannel_logout_uri {uri:?} is not an absolute http(s) URL"))),
    }
}

pub async fn create(ctx: &AdminContext<'_>, new: NewClient) -> Result<Change<Created>, AdminError> {
    check_uris("redirect_uris", &new.redirect_uris)?;
    check_uris("post_logout_redirect_uris", &new.post_logout_redirect_uris)?;
    check_backchannel(&new.backchannel_logout_uri)?;
    let refresh_token_lifetime = lifetime(&new.refresh_token_lifetime)?;
    let id = ClientId::new(if new.id.is_empty() { random_id() } else { new.id });
    if ctx.clients.is_static(&id) {
        return Ok(Change::AlreadyExists);
    }
    // A client that proves itself with its key needs no secret.
    let by_key = new.options.token_endpoint_auth_method == Some(ClientAuthMethod::PrivateKeyJwt);
    let secret = if new.secret.is_empty() && !new.public && !by_key {
        Secret::new(random_token(32))
    } else {
        new.secret
    };
    // Only the secret's hash is kept: what needs it in clear (client_secret_jwt) cannot be.
    let known = if secret.is_empty() { ClientSecret::None } else { ClientSecret::Hashed };
    check_options(ctx, &new.options, known, new.public)?;
    let client = Client {
        id,
        secret: Secret::default(),
        secret_hash: (!secret.is_empty()).then(|| SecretHash::new(secret.expose())),
        redirect_uris: new.redirect_uris,
        post_logout_redirect_uris: new.post_logout_redirect_uris,
        backchannel_logout_uri: new.backchannel_logout_uri,
        refresh_token_lifetime,
        trusted_peers: new.trusted_peers.into_iter().map(ClientId::from).collect(),
        public: new.public,
        name: new.name,
        logo_url: new.logo_url,
        allowed_connectors: new.allowed_connectors.into_iter().map(ConnectorId::from).collect(),
        client_credentials_groups: Vec::new(),
        options: new.options,
    };
    match ctx.storage.create_client(&client).await {
        Ok(()) => {
            tracing::info!(client_id = %client.id, "client created through the admin API");
            Ok(Change::Done(Created { client, secret }))
        }
        Err(StorageError::AlreadyExists) => Ok(Change::AlreadyExists),
        Err(e) => Err(e.into()),
    }
}

pub async fn update(ctx: &AdminContext<'_>, update: ClientUpdate) -> Result<Change, AdminError> {
    if update.id.is_empty() {
        return Err(invalid("no client id supplied"));
    }
    let id = ClientId::new(update.id);
    if ctx.clients.is_static(&id) {
        return Err(AdminError::ReadOnly(format!("client {id:?} comes from the config and is read-only")));
    }
    check_uris("redirect_uris", &update.redirect_uris)?;
    check_uris("post_logout_redirect_uris", &update.post_logout_redirect_uris)?;
    let Some(mut client) = ctx.storage.get_client(&id).await? else {
        return Ok(Change::NotFound);
    };
    if !update.redirect_uris.is_empty() {
        client.redirect_uris = update.redirect_uris;
    }
    if !update.trusted_peers.is_empty() {
        client.trusted_peers = update.trusted_peers.into_iter().map(ClientId::from).collect();
    }
    if !update.name.is_empty() {
        client.name = update.name;
    }
    if !update.logo_url.is_empty() {
        client.logo_url = update.logo_url;
    }
    if !update.allowed_connectors.is_empty() {
        client.allowed_connectors = update.allowed_connectors.into_iter().map(ConnectorId::from).collect();
    }
    if !update.post_logout_redirect_uris.is_empty() {
        client.post_logout_redirect_uris = update.post_logout_redirect_uris;
    }
    if let Some(uri) = update.backchannel_logout_uri {
        check_backchannel(&uri)?;
        client.backchannel_logout_uri = uri;
    }
    if let Some(value) = update.refresh_token_lifetime {
        client.refresh_token_lifetime = lifetime(&value)?;
    }
    if let Some(options) = update.options {
        let known = if client.has_secret() { ClientSecret::Hashed } else { ClientSecret::None };
        check_options(ctx, &options, known, client.public)?;
        client.options = options;
    }
    Ok(if ctx.storage.update_client(&client).await? { Change::Done(()) } else { Change::NotFound })
}

pub async fn delete(ctx: &AdminContext<'_>, id: &str) -> Result<Change, AdminError> {
    let id = ClientId::from(id);
    if ctx.clients.is_static(&id) {
        return Err(AdminError::ReadOnly(format!("client {id:?} comes from the config and is read-only")));
    }
    Ok(if ctx.storage.delete_client(&id).await? { Change::Done(()) } else { Change::NotFound })
}

/// The client with this id, from the config or storage; `None` when there is none.
pub async fn get(ctx: &AdminContext<'_>, id: &str) -> Result<Option<Client>, AdminError> {
    if id.is_empty() {
        return Err(invalid("no client id supplied"));
    }
    Ok(ctx.clients.get(&ClientId::from(id)).await?)
}

/// Every client: those of the config, then the stored ones.
pub async fn list(ctx: &AdminContext<'_>) -> Result<Vec<Client>, AdminError> {
    let mut clients = ctx.clients.statics();
    let stored = ctx.storage.list_clients().await?;
    clients.extend(stored.into_iter().filter(|c| !ctx.clients.is_static(&c.id)));
    Ok(clients)
}
