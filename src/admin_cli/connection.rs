//! The connection to the server's gRPC API (`grpc.addr`): plain HTTP/2 on a loopback
//! address, TLS when `--ca-cert` is given (the server's `grpc.tlsCert`), mutual TLS with
//! `--client-cert` and `--client-key` (the server's `grpc.tlsClientCA`).

use super::diagnose::{self, Target};
use super::exit::CliError;
use super::tls_probe::TlsMaterial;
use crate::grpc::api::dex_client::DexClient;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// Where the API is and how to reach it; every flag also reads an environment variable.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Connection")]
pub struct ConnectionArgs {
    /// The server's grpc.addr.
    #[arg(
        long,
        global = true,
        value_name = "HOST:PORT",
        env = "TESSERA_ADMIN_ADDR",
        default_value = "127.0.0.1:5557"
    )]
    pub addr: String,
    /// PEM file of the CA that issued the server's certificate; turns TLS on.
    #[arg(long, global = true, value_name = "FILE", env = "TESSERA_ADMIN_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// PEM file of this client's certificate, for a server with grpc.tlsClientCA (mutual TLS).
    #[arg(long, global = true, value_name = "FILE", env = "TESSERA_ADMIN_CLIENT_CERT")]
    pub client_cert: Option<PathBuf>,
    /// PEM file of the client certificate's private key.
    #[arg(long, global = true, value_name = "FILE", env = "TESSERA_ADMIN_CLIENT_KEY")]
    pub client_key: Option<PathBuf>,
    /// The name the server's certificate is checked against (default: the host of --addr).
    #[arg(long, global = true, value_name = "NAME", env = "TESSERA_ADMIN_SERVER_NAME")]
    pub server_name: Option<String>,
    /// Seconds to wait for the connection and for each answer.
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        env = "TESSERA_ADMIN_TIMEOUT",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub timeout: u64,
}

/// A connected client, and where it is connected to (for the error messages).
pub struct Connection {
    pub client: DexClient<Channel>,
    pub target: Target,
}

impl Connection {
    /// Turns a failed call into the error to print.
    pub fn error(&self, status: &tonic::Status) -> CliError {
        diagnose::status(&self.target, status)
    }
}

impl ConnectionArgs {
    /// The PEM files, read and checked; `None` without TLS.
    fn tls_material(&self, addr: &str) -> Result<Option<TlsMaterial>, CliError> {
        let Some(ca) = &self.ca_cert else {
            if self.client_cert.is_some() || self.client_key.is_some() || self.server_name.is_some() {
                return Err(CliError::usage(
                    "--client-cert, --client-key and --server-name need --ca-cert (TLS)",
                ));
            }
            return Ok(None);
        };
        let identity = match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => {
                Some((read_pem("--client-cert", cert)?, read_pem("--client-key", key)?))
            }
            (None, None) => None,
            _ => return Err(CliError::usage("--client-cert and --client-key go together")),
        };
        let server_name = self.server_name.clone().unwrap_or_else(|| host(addr).to_string());
        Ok(Some(TlsMaterial { ca_pem: read_pem("--ca-cert", ca)?, identity, server_name }))
    }

    /// The endpoint, with TLS set up from the PEM files; a bad flag or file is a usage error.
    fn endpoint(&self) -> Result<(Endpoint, Target), CliError> {
        let addr = self.addr.trim();
        if addr.is_empty() || addr.contains("://") || addr.contains('/') || !addr.contains(':') {
            return Err(CliError::usage(format!("--addr {addr:?}: write HOST:PORT, e.g. 127.0.0.1:5557")));
        }
        let tls = self.tls_material(addr)?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let timeout = Duration::from_secs(self.timeout);
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{addr}"))
            .map_err(|e| CliError::usage(format!("--addr {addr:?}: {e}")))?
            .connect_timeout(timeout)
            .timeout(timeout);
        if let Some(material) = &tls {
            let mut config = ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(&material.ca_pem))
                .domain_name(material.server_name.clone());
            if let Some((cert, key)) = &material.identity {
                config = config.identity(Identity::from_pem(cert, key));
            }
            endpoint = endpoint
                .tls_config(config)
                .map_err(|e| CliError::usage(format!("TLS settings: {}", diagnose::chain(&e))))?;
        }
        Ok((endpoint, Target { addr: addr.to_string(), tls, timeout_secs: self.timeout }))
    }

    /// Connects (TCP, then the TLS handshake when TLS is on) within the timeout.
    pub async fn connect(&self) -> Result<Connection, CliError> {
        let (endpoint, target) = self.endpoint()?;
        let wait = Duration::from_secs(self.timeout);
        let channel = match tokio::time::timeout(wait, endpoint.connect()).await {
            Ok(Ok(channel)) => channel,
            Ok(Err(e)) => return Err(diagnose::transport(&target, &e)),
            Err(_) => return Err(diagnose::status(&target, &tonic::Status::deadline_exceeded("connect"))),
        };
        Ok(Connection { client: DexClient::new(channel), target })
    }
}

/// The host of `HOST:PORT` (`[::1]:5557` gives `::1`).
fn host(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

fn read_pem(flag: &str, path: &Path) -> Result<Vec<u8>, CliError> {
    let pem = std::fs::read(path).map_err(|e| CliError::usage(format!("{flag} {}: {e}", path.display())))?;
    if !pem.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(CliError::usage(format!("{flag} {}: not a PEM file", path.display())));
    }
    Ok(pem)
}
