//! `tessera admin connectors`: connectors kept in storage (Dex's `ListConnectors`,
//! `CreateConnector`, `UpdateConnector`, `DeleteConnector`). The server allows these only
//! with `DEX_API_CONNECTORS_CRUD=true`; otherwise they are refused (exit 6). Connectors of the
//! config file are not listed and cannot be changed. A connector's config is given as a JSON
//! or YAML file and sent as JSON; the server checks it as its type reads it.

use super::exit::CliError;
use super::input;
use super::output::{Human, emit, joined};
use super::{Session, done};
use crate::grpc::api;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum ConnectorsCommand {
    /// List the stored connectors, with their configs in --output json/yaml.
    List,
    /// Create a connector.
    Create {
        /// The connector id.
        #[arg(long)]
        id: String,
        /// The connector type, as in the config file: ldap, oidc, github, saml, ...
        #[arg(long = "type", value_name = "TYPE")]
        kind: String,
        /// The name on the login page.
        #[arg(long)]
        name: String,
        /// The type's config as a JSON or YAML mapping ("-": standard input).
        #[arg(long, value_name = "FILE")]
        config_file: PathBuf,
        /// A grant type the connector may serve (repeatable; default: all).
        #[arg(long = "grant-type", value_name = "GRANT_TYPE")]
        grant_types: Vec<String>,
    },
    /// Change a connector; only the given attributes change.
    #[command(group(clap::ArgGroup::new("change").required(true).multiple(true)
        .args(["kind", "name", "config_file", "grant_types", "all_grant_types"])))]
    Update {
        /// The connector id.
        #[arg(long)]
        id: String,
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// The new config, a JSON or YAML mapping ("-": standard input).
        #[arg(long, value_name = "FILE")]
        config_file: Option<PathBuf>,
        /// Replaces the allowed grant types (repeatable).
        #[arg(long = "grant-type", value_name = "GRANT_TYPE", conflicts_with = "all_grant_types")]
        grant_types: Vec<String>,
        /// Removes the grant type restriction.
        #[arg(long)]
        all_grant_types: bool,
    },
    /// Delete a connector.
    Delete {
        /// The connector id.
        #[arg(long)]
        id: String,
    },
}

/// A connector as printed; the config as JSON (it may hold secrets: table output omits it).
#[derive(Debug, Clone, Serialize)]
struct ConnectorView {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    name: String,
    grant_types: Vec<String>,
    config: serde_json::Value,
}

impl ConnectorView {
    fn new(c: api::Connector) -> Self {
        let config = serde_json::from_slice(&c.config)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&c.config).into_owned()));
        Self { id: c.id, kind: c.r#type, name: c.name, grant_types: c.grant_types, config }
    }
}

pub async fn run(session: &Session, command: ConnectorsCommand) -> Result<(), CliError> {
    let format = session.format;
    match command {
        ConnectorsCommand::List => {
            let mut conn = session.connect().await?;
            let response = conn.client.list_connectors(api::ListConnectorReq {}).await;
            let connectors = response.map_err(|s| conn.error(&s))?.into_inner().connectors;
            let views: Vec<ConnectorView> = connectors.into_iter().map(ConnectorView::new).collect();
            let rows = views
                .iter()
                .map(|c| vec![c.id.clone(), c.kind.clone(), c.name.clone(), joined(&c.grant_types)])
                .collect();
            emit(format, &views, Human::Table { header: vec!["ID", "TYPE", "NAME", "GRANT TYPES"], rows })
        }
        ConnectorsCommand::Create { id, kind, name, config_file, grant_types } => {
            let config = input::config_file(&config_file)?;
            let mut conn = session.connect().await?;
            let connector = api::Connector { id: id.clone(), r#type: kind, name, config, grant_types };
            let response =
                conn.client.create_connector(api::CreateConnectorReq { connector: Some(connector) }).await;
            if response.map_err(|s| conn.error(&s))?.into_inner().already_exists {
                return Err(CliError::already_exists(format!("connector {id:?} already exists")));
            }
            done(format, "connector", &id, "created")
        }
        ConnectorsCommand::Update { id, kind, name, config_file, grant_types, all_grant_types } => {
            let new_config = config_file.as_deref().map(input::config_file).transpose()?.unwrap_or_default();
            let new_grant_types =
                (all_grant_types || !grant_types.is_empty()).then_some(api::GrantTypes { grant_types });
            let mut conn = session.connect().await?;
            let request = api::UpdateConnectorReq {
                id: id.clone(),
                new_type: kind.unwrap_or_default(),
                new_name: name.unwrap_or_default(),
                new_config,
                new_grant_types,
            };
            let response = conn.client.update_connector(request).await;
            if response.map_err(|s| conn.error(&s))?.into_inner().not_found {
                return Err(CliError::not_found(format!("connector {id:?} not found")));
            }
            done(format, "connector", &id, "updated")
        }
        ConnectorsCommand::Delete { id } => {
            let mut conn = session.connect().await?;
            let response = conn.client.delete_connector(api::DeleteConnectorReq { id: id.clone() }).await;
            if response.map_err(|s| conn.error(&s))?.into_inner().not_found {
                return Err(CliError::not_found(format!("connector {id:?} not found")));
            }
            done(format, "connector", &id, "deleted")
        }
    }
}
