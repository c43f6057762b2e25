//! Stored connectors (Dex's `CreateConnector`, `UpdateConnector`, `DeleteConnector`,
//! `ListConnectors`). As in Dex, all four are off unless the operator sets
//! `DEX_API_CONNECTORS_CRUD=true`.
//!
//! A connector's `config` is checked by its type exactly as the config file's are, so a
//! connector the API accepts opens (or fails as the upstream fails, not as a typo). Every
//! replica reopens its connectors within [`crate::app::CONNECTOR_POLL_INTERVAL`] of a change.

use super::{AdminContext, AdminError, Change, invalid};
use crate::config::ConnectorSettings;
use crate::protocol::GrantType;
use crate::storage::{Connector, StorageError};
use crate::types::ConnectorId;

/// The environment variable Dex reads to allow connector changes through its API.
pub const CRUD_ENV: &str = "DEX_API_CONNECTORS_CRUD";

fn ensure_enabled(ctx: &AdminContext<'_>) -> Result<(), AdminError> {
    if ctx.connectors_crud {
        Ok(())
    } else {
        Err(AdminError::Disabled(format!("the connector methods are off; set {CRUD_ENV}=true to allow them")))
    }
}

fn ensure_not_static(ctx: &AdminContext<'_>, id: &ConnectorId) -> Result<(), AdminError> {
    if ctx.static_connectors.contains(id) {
        return Err(AdminError::ReadOnly(format!("connector {id:?} comes from the config and is read-only")));
    }
    Ok(())
}

/// The connector's `config` as JSON, checked by its type.
fn checked_config(kind: &str, config: &[u8]) -> Result<serde_json::Value, AdminError> {
    if config.is_empty() {
        return Err(invalid("no config supplied"));
    }
    let value: serde_json::Value =
        serde_json::from_slice(config).map_err(|e| invalid(format!("config is not JSON: {e}")))?;
    match ConnectorSettings::parse(kind, value.clone(), "connector") {
        None => Err(invalid(format!("unknown connector type {kind:?}"))),
        Some(Err(problem)) => Err(invalid(problem.to_string())),
        Some(Ok(ConnectorSettings::Unknown)) => Err(invalid(format!("unknown connector type {kind:?}"))),
        Some(Ok(_)) => Ok(value),
    }
}

fn checked_grant_types(grant_types: &[String]) -> Result<Vec<String>, AdminError> {
    for g in grant_types {
        if GrantType::parse(g).is_none_or(|g| g == GrantType::ClientCredentials) {
            return Err(invalid(format!("grant type {g:?} cannot be used with a connector")));
        }
    }
    Ok(grant_types.to_vec())
}

/// A connector to create, as the caller sent it.
#[derive(Debug, Clone, Default)]
pub struct NewConnector {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub config: Vec<u8>,
    pub grant_types: Vec<String>,
}

pub async fn create(ctx: &AdminContext<'_>, new: NewConnector) -> Result<Change, AdminError> {
    ensure_enabled(ctx)?;
    if new.id.is_empty() {
        return Err(invalid("no id supplied"));
    }
    if new.kind.is_empty() {
        return Err(invalid("no type supplied"));
    }
    if new.name.is_empty() {
        return Err(invalid("no name supplied"));
    }
    let id = ConnectorId::new(new.id);
    if id.as_str().contains('/') {
        return Err(invalid("a connector id cannot contain '/'"));
    }
    let config = checked_config(&new.kind, &new.config)?;
    let grant_types = checked_grant_types(&new.grant_types)?;
    if ctx.static_connectors.contains(&id) {
        return Ok(Change::AlreadyExists);
    }
    let connector = Connector {
        id,
        kind: new.kind,
        name: new.name,
        resource_version: ctx.now.to_string(),
        config,
        grant_types,
    };
    match ctx.storage.create_connector(&connector).await {
        Ok(()) => Ok(Change::Done(())),
        Err(StorageError::AlreadyExists) => Ok(Change::AlreadyExists),
        Err(e) => Err(e.into()),
    }
}

/// Changes to a connector; empty fields are left as they are, `grant_types: Some` replaces
/// the list (Dex's `GrantTypes` message: present, even empty, means replace).
#[derive(Debug, Clone, Default)]
pub struct ConnectorUpdate {
    pub id: String,
    pub new_kind: String,
    pub new_name: String,
    pub new_config: Vec<u8>,
    pub new_grant_types: Option<Vec<String>>,
}

pub async fn update(ctx: &AdminContext<'_>, update: ConnectorUpdate) -> Result<Change, AdminError> {
    ensure_enabled(ctx)?;
    if update.id.is_empty() {
        return Err(invalid("no id supplied"));
    }
    let id = ConnectorId::new(update.id);
    ensure_not_static(ctx, &id)?;
    let Some(mut connector) = ctx.storage.get_connector(&id).await? else {
        return Ok(Change::NotFound);
    };
    if !update.new_kind.is_empty() {
        connector.kind = update.new_kind;
    }
    if !update.new_name.is_empty() {
        connector.name = update.new_name;
    }
    if !update.new_config.is_empty() {
        connector.config = checked_config(&connector.kind, &update.new_config)?;
    } else {
        // A new type must accept the config the connector has.
        let current = serde_json::to_vec(&connector.config).map_err(|e| invalid(e.to_string()))?;
        checked_config(&connector.kind, &current)?;
    }
    if let Some(grant_types) = update.new_grant_types {
        connector.grant_types = checked_grant_types(&grant_types)?;
    }
    // A new version even within the same second, so every replica sees the change.
    let previous: i64 = connector.resource_version.parse().unwrap_or(0);
    connector.resource_version = ctx.now.max(previous + 1).to_string();
    Ok(if ctx.storage.update_connector(&connector).await? { Change::Done(()) } else { Change::NotFound })
}

pub async fn delete(ctx: &AdminContext<'_>, id: &str) -> Result<Change, AdminError> {
    ensure_enabled(ctx)?;
    if id.is_empty() {
        return Err(invalid("no id supplied"));
    }
    let id = ConnectorId::from(id);
    ensure_not_static(ctx, &id)?;
    Ok(if ctx.storage.delete_connector(&id).await? { Change::Done(()) } else { Change::NotFound })
}

/// The stored connectors (those of the config are not in storage and are not listed, as
/// their configs may hold secrets from the environment).
pub async fn list(ctx: &AdminContext<'_>) -> Result<Vec<Connector>, AdminError> {
    ensure_enabled(ctx)?;
    Ok(ctx.storage.list_connectors().await?)
}
