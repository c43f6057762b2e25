//! The `tessera` command: serve, check-config, hash-password, admin, version.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;
use tessera::config::{self, LogFormat, LogLevel};

#[derive(Parser)]
#[command(name = "tessera", about = "An OpenID Connect identity broker; a drop-in replacement for Dex.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server with a Dex-format config file. SIGHUP reloads it (see the README).
    Serve {
        config: PathBuf,
        #[command(flatten)]
        listen: ListenFlags,
        /// Also reload when the config file changes (checked every 2 seconds).
        #[arg(long)]
        watch_config: bool,
    },
    /// Validate a config file and print every problem with its YAML path.
    CheckConfig {
        config: PathBuf,
        /// The same flags as `serve`, to check the configuration it would run.
        #[command(flatten)]
        listen: ListenFlags,
    },
    /// Read a password from standard input and print an argon2id hash for staticPasswords[].hash.
    HashPassword,
    /// Administer a running server through its gRPC API (grpc.addr): clients, passwords,
    /// connectors, refresh tokens.
    Admin(Box<tessera::admin_cli::AdminArgs>),
    /// Print the version.
    Version,
}

/// Dex's `serve` flags: they replace the file's addresses before the file is validated.
#[derive(clap::Args)]
struct ListenFlags {
    /// Overrides web.http.
    #[arg(long)]
    web_http_addr: Option<String>,
    /// Overrides web.https.
    #[arg(long)]
    web_https_addr: Option<String>,
    /// Overrides telemetry.http.
    #[arg(long)]
    telemetry_addr: Option<String>,
    /// Overrides grpc.addr.
    #[arg(long)]
    grpc_addr: Option<String>,
}

impl ListenFlags {
    fn overrides(self) -> config::Overrides {
        config::Overrides {
            web_http: self.web_http_addr,
            web_https: self.web_https_addr,
            telemetry_http: self.telemetry_addr,
            grpc_addr: self.grpc_addr,
        }
    }

    /// Loads the file with the flags applied.
    fn load(self, path: &std::path::Path) -> Result<config::Loaded, config::ConfigError> {
        config::load_file_with(path, &self.overrides())
    }
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    match cli.command {
        Command::Admin(args) => Ok(tessera::admin_cli::run(*args)),
        Command::Version => {
            println!("tessera {}", env!("CARGO_PKG_VERSION"));
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::HashPassword => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input).context("reading the password from stdin")?;
            let password =
                input.strip_suffix('\n').map(|p| p.strip_suffix('\r').unwrap_or(p)).unwrap_or(&input);
            anyhow::ensure!(!password.is_empty(), "the password is empty");
            println!("{}", tessera::crypto::hash_password(password)?);
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::CheckConfig { config, listen } => match listen.load(&config) {
            Ok(loaded) => {
                for warning in &loaded.warnings {
                    eprintln!("warning: {warning}");
                }
                let connectors = loaded.config.connector_problems();
                if !connectors.is_empty() {
                    for problem in connectors {
                        eprintln!("error: {problem}");
                    }
                    return Ok(std::process::ExitCode::FAILURE);
                }
                println!("{}: OK", config.display());
                Ok(std::process::ExitCode::SUCCESS)
            }
            Err(e) => {
                for problem in &e.problems {
                    eprintln!("error: {problem}");
                }
                Ok(std::process::ExitCode::FAILURE)
            }
        },
        Command::Serve { config, listen, watch_config } => {
            let overrides = listen.overrides();
            let path = config;
            let loaded = match config::load_file_with(&path, &overrides) {
                Ok(loaded) => loaded,
                Err(e) => {
                    for problem in &e.problems {
                        eprintln!("error: {problem}");
                    }
                    return Ok(std::process::ExitCode::FAILURE);
                }
            };
            let config = loaded.config;
            let set_log_level = init_logging(config.logger.level, config.logger.format);
            for warning in &loaded.warnings {
                tracing::warn!("config: {warning}");
            }
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
            tessera::signer::provider::install();
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            let reload = tessera::server::Reload { path, overrides, watch: watch_config, set_log_level };
            runtime.block_on(tessera::server::run(config, Some(reload)))?;
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

fn log_filter(level: LogLevel) -> tracing_subscriber::EnvFilter {
    let level = match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    };
    tracing_subscriber::EnvFilter::new(format!("{level},sqlx=warn,tower_sessions=warn"))
}

/// Starts logging; the returned function changes the level (`logger.level` on a live
/// reload). `RUST_LOG`, when set, wins over the config and is kept on reload.
fn init_logging(level: LogLevel, format: LogFormat) -> Box<dyn Fn(LogLevel) + Send + Sync> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let from_env = std::env::var("RUST_LOG").is_ok();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| log_filter(level));
    let (filter, handle) = tracing_subscriber::reload::Layer::new(filter);
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => registry.with(tracing_subscriber::fmt::layer().json()).init(),
        // Colours only on a terminal: container logs and files get plain text.
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout())),
            )
            .init(),
    }
    Box::new(move |level| {
        if !from_env && let Err(e) = handle.reload(log_filter(level)) {
            tracing::error!(error = %e, "changing the log level failed");
        }
    })
}
