//! Dex's gRPC API (`api/v2`, package `api`, service `Dex`) on `grpc.addr`: the transport.
//! It maps each call to one function of [`crate::admin`] and the outcome back to Dex's
//! messages, flags (`already_exists`, `not_found`) and status codes; it decides nothing itself.

/// The messages, the server trait and the client, generated at build time from
/// `proto/api.proto`.
pub mod client_options;
pub mod service;

pub mod api {
    tonic::include_proto!("api");

    /// The encoded `FileDescriptorSet` of `proto/api.proto`, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/api_descriptor.bin"));
}

use crate::app::AppState;
use crate::config::Config;
use anyhow::Context;
use std::future::Future;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

/// TLS for the API: the server's certificate, and with `tlsClientCA` a required client
/// certificate (mutual TLS), as Dex does.
async fn tls(config: &Config) -> anyhow::Result<Option<ServerTlsConfig>> {
    let grpc = &config.grpc;
    let (Some(cert), Some(key)) = (&grpc.tls_cert, &grpc.tls_key) else {
        return Ok(None);
    };
    let read = |path: &std::path::Path| {
        let path = path.to_path_buf();
        async move { tokio::fs::read(&path).await.with_context(|| format!("reading {}", path.display())) }
    };
    let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(read(cert).await?, read(key).await?));
    if let Some(ca) = &grpc.tls_client_ca {
        tls = tls.client_ca_root(Certificate::from_pem(read(ca).await?)).client_auth_optional(false);
    }
    Ok(Some(tls))
}

/// Serves the API on `listener` until `shutdown` completes; in-flight calls finish first.
pub async fn serve(
    app: AppState,
    config: &Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    let crud = config.grpc.connectors_crud;
    let service = api::dex_server::DexServer::new(service::DexApi::new(app, crud));
    let mut builder = Server::builder();
    if let Some(tls) = tls(config).await? {
        builder = builder.tls_config(tls).context("grpc TLS configuration")?;
    }
    let addr = listener.local_addr()?;
    tracing::info!(%addr, tls = config.grpc.tls(), mutual_tls = config.grpc.tls_client_ca.is_some(),
        connectors_crud = crud, "listening (grpc)");
    let reflection = if config.grpc.reflection {
        let service = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(api::FILE_DESCRIPTOR_SET)
            .build_v1()
            .context("gRPC reflection")?;
        Some(service)
    } else {
        None
    };
    let router = builder.add_service(service).add_optional_service(reflection);
    // No Nagle: a reply larger than one segment (ListClients) would otherwise wait for the
    // client's delayed ACK, 40 ms on Linux, on every call.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    Ok(async move {
        if let Err(e) = router.serve_with_incoming_shutdown(incoming, shutdown).await {
            tracing::error!(error = %e, "grpc server failed");
        }
    })
}
