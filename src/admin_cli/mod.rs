//! `tessera admin`: the daily administration jobs through the server's gRPC API (Dex's
//! `api/v2`, on `grpc.addr`), so it works against any replica and, with its TLS flags, from
//! another machine.
//!
//! A command goes in three steps: read and check what it needs locally (flags, a config
//! file, a password: a mistake is exit 2 and nothing is sent), make one call, print the
//! answer (`--output table|json|yaml`). Every failure has its exit code ([`exit::Exit`]), so
//! scripts can tell "not found" from "the server is down" from "refused, and why".
//!
//! `main.rs` only parses [`AdminArgs`] and calls [`run`].

pub mod clients;
pub mod connection;
pub mod connectors;
pub mod diagnose;
pub mod exit;
pub mod input;
pub mod output;
pub mod passwords;
pub mod tls_probe;
pub mod tokens;

use crate::grpc::api;
use connection::{Connection, ConnectionArgs};
use exit::{CliError, EXIT_CODES_HELP, Exit};
use output::{Format, Human, emit};
use serde::Serialize;

/// `tessera admin`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = EXIT_CODES_HELP, after_help = EXIT_CODES_HELP)]
pub struct AdminArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// How results are printed.
    #[arg(long, short = 'o', global = true, help_heading = "Output", value_enum, default_value_t = Format::Table, env = "TESSERA_ADMIN_OUTPUT")]
    pub output: Format,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum AdminCommand {
    /// OAuth2 clients: list, get, create, update, delete.
    #[command(subcommand)]
    Clients(clients::ClientsCommand),
    /// Users of the password database: list, create, update, delete, verify.
    #[command(subcommand)]
    Passwords(passwords::PasswordsCommand),
    /// Connectors kept in storage (the server needs DEX_API_CONNECTORS_CRUD=true).
    #[command(subcommand)]
    Connectors(connectors::ConnectorsCommand),
    /// A user's refresh tokens: list, revoke.
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
    /// The server's version and API level, and this client's version.
    Version,
}

/// What every command shares: how to reach the server and how to print.
pub struct Session {
    pub connection: ConnectionArgs,
    pub format: Format,
}

impl Session {
    pub async fn connect(&self) -> Result<Connection, CliError> {
        self.connection.connect().await
    }
}

/// What a change did, as printed: `client "x" deleted`, or `{"kind": "client", "id": "x",
/// "result": "deleted"}` in JSON.
#[derive(Debug, Clone, Serialize)]
struct Done<'a> {
    kind: &'a str,
    id: &'a str,
    result: &'a str,
}

fn done(format: Format, kind: &str, id: &str, result: &str) -> Result<(), CliError> {
    emit(format, &Done { kind, id, result }, Human::Message(format!("{kind} {id:?} {result}")))
}

#[derive(Debug, Clone, Serialize)]
struct Version {
    server: String,
    api: i32,
    client: String,
}

async fn version(session: &Session) -> Result<(), CliError> {
    let mut conn = session.connect().await?;
    let response = conn.client.get_version(api::VersionReq {}).await.map_err(|s| conn.error(&s))?;
    let answer = response.into_inner();
    let version = Version {
        server: answer.server,
        api: answer.api,
        client: format!("tessera-{}", env!("CARGO_PKG_VERSION")),
    };
    let fields = vec![
        ("server", version.server.clone()),
        ("api", version.api.to_string()),
        ("client", version.client.clone()),
    ];
    emit(session.format, &version, Human::Fields(fields))
}

async fn dispatch(session: &Session, command: AdminCommand) -> Result<(), CliError> {
    match command {
        AdminCommand::Clients(command) => clients::run(session, command).await,
        AdminCommand::Passwords(command) => passwords::run(session, command).await,
        AdminCommand::Connectors(command) => connectors::run(session, command).await,
        AdminCommand::Tokens(command) => tokens::run(session, command).await,
        AdminCommand::Version => version(session).await,
    }
}

/// Runs one `tessera admin` command; errors are printed on standard error. Returns the
/// exit code.
pub fn run(args: AdminArgs) -> std::process::ExitCode {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let session = Session { connection: args.connection, format: args.output };
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("starting the async runtime: {e}")))
        .and_then(|runtime| runtime.block_on(dispatch(&session, args.command)));
    let exit = match result {
        Ok(()) => Exit::Ok,
        Err(e) => {
            if !e.message.is_empty() {
                eprintln!("error: {}", e.message);
            }
            e.exit
        }
    };
    std::process::ExitCode::from(exit.code())
}
