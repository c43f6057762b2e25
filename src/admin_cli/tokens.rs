//! `tessera admin tokens`: a user's refresh tokens (Dex's `ListRefresh`, `RevokeRefresh`).
//!
//! Dex's API names the user by the `sub` of their ID tokens, which encodes the user id and
//! the connector they logged in through; `--user-id` with `--connector-id` builds that `sub`
//! here, as the server builds it ([`crate::oauth2::subject::encode`]).

use super::exit::CliError;
use super::output::{Human, emit, time};
use super::{Session, done};
use crate::grpc::api;
use crate::oauth2::subject;
use crate::types::ConnectorId;
use serde::Serialize;

/// The user: `--sub`, or `--user-id` with `--connector-id`.
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = true)]
pub struct UserArgs {
    /// The `sub` claim of the user's ID token.
    #[arg(long, conflicts_with_all = ["user_id", "connector_id"])]
    sub: Option<String>,
    /// The user's id at the connector (with --connector-id).
    #[arg(long, requires = "connector_id")]
    user_id: Option<String>,
    /// The connector the user logged in through, e.g. local (with --user-id).
    #[arg(long, requires = "user_id")]
    connector_id: Option<String>,
}

impl UserArgs {
    fn sub(&self) -> String {
        match (&self.sub, &self.user_id, &self.connector_id) {
            (Some(sub), _, _) => sub.clone(),
            (None, Some(user_id), Some(connector_id)) => {
                subject::encode(user_id, &ConnectorId::from(connector_id.as_str()))
            }
            // clap's group and `requires` leave only the cases above.
            _ => String::new(),
        }
    }
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum TokensCommand {
    /// List the user's refresh tokens (the tokens themselves are never shown).
    List {
        #[command(flatten)]
        user: UserArgs,
    },
    /// Revoke the user's refresh tokens at one client: the next refresh fails with invalid_grant.
    Revoke {
        #[command(flatten)]
        user: UserArgs,
        #[arg(long)]
        client_id: String,
    },
}

/// A refresh token as printed: times are Unix seconds (0: never used).
#[derive(Debug, Clone, Serialize)]
struct TokenView {
    id: String,
    client_id: String,
    created_at: i64,
    last_used: i64,
}

pub async fn run(session: &Session, command: TokensCommand) -> Result<(), CliError> {
    let format = session.format;
    let mut conn = session.connect().await?;
    match command {
        TokensCommand::List { user } => {
            let response = conn.client.list_refresh(api::ListRefreshReq { user_id: user.sub() }).await;
            let tokens = response.map_err(|s| conn.error(&s))?.into_inner().refresh_tokens;
            let views: Vec<TokenView> = tokens
                .into_iter()
                .map(|t| TokenView {
                    id: t.id,
                    client_id: t.client_id,
                    created_at: t.created_at,
                    last_used: t.last_used,
                })
                .collect();
            let rows = views
                .iter()
                .map(|t| vec![t.id.clone(), t.client_id.clone(), time(t.created_at), time(t.last_used)])
                .collect();
            emit(format, &views, Human::Table { header: vec!["ID", "CLIENT", "CREATED", "LAST USED"], rows })
        }
        TokensCommand::Revoke { user, client_id } => {
            let sub = user.sub();
            let request = api::RevokeRefreshReq { user_id: sub.clone(), client_id: client_id.clone() };
            let response = conn.client.revoke_refresh(request).await;
            if response.map_err(|s| conn.error(&s))?.into_inner().not_found {
                return Err(CliError::not_found(format!(
                    "the user has no refresh token at client {client_id:?}"
                )));
            }
            done(format, "refresh tokens at client", &client_id, "revoked")
        }
    }
}
