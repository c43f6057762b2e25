//! Running Tessera: listeners (HTTP, HTTPS, telemetry), background tasks, and graceful
//! shutdown (in-flight requests finish). `spawn` is also what the integration tests use.

use crate::app::{App, AppState};
use crate::config::{Config, TlsVersion};
use crate::web::{self, SecurityHeaders};
use anyhow::Context;
use axum::http::{HeaderName, HeaderValue};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

mod reload;
pub use reload::Reload;
use reload::{Live, spawn_reloader};

/// Dex's default security headers plus a strict CSP; `web.headers` overrides each one.
pub fn security_headers(config: &Config) -> SecurityHeaders {
    let mut headers: Vec<(String, String)> = vec![
        (
            "Content-Security-Policy".into(),
            "default-src 'self'; img-src 'self' data: https:; frame-ancestors 'none'; base-uri 'none'".into(),
        ),
        ("X-Frame-Options".into(), "DENY".into()),
        ("X-Content-Type-Options".into(), "nosniff".into()),
        ("X-XSS-Protection".into(), "1; mode=block".into()),
        ("Referrer-Policy".into(), "no-referrer".into()),
    ];
    if config.issuer.scheme() == "https" {
        headers.push(("Strict-Transport-Security".into(), "max-age=31536000; includeSubDomains".into()));
    }
    for (name, value) in config.web.headers.pairs() {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        headers.push((name.to_string(), value.to_string()));
    }
    SecurityHeaders(
        headers
            .into_iter()
            .filter_map(|(n, v)| Some((HeaderName::try_from(n).ok()?, HeaderValue::try_from(v).ok()?)))
            .collect(),
    )
}

/// The connection rules of every listener: HTTP/1.1 only (as Dex over plain HTTP; HTTP/2
/// would need an idle bound of its own, which hyper lacks) and `web.readHeaderTimeout`.
/// hyper starts that clock whenever a connection waits for a request — when it opens, and
/// after each response on a kept-alive connection — so it bounds two things: a client that
/// trickles its headers (slowloris) is cut off, and an idle keep-alive connection is closed.
/// (hyper's own default is 30 s; axum-server turns it off.)
fn limited<A: axum_server::Address, Acc>(
    server: axum_server::Server<A, Acc>,
    config: &Config,
) -> axum_server::Server<A, Acc> {
    let mut server = server.http1_only();
    server.http_builder().http1().header_read_timeout(config.web.read_header_timeout);
    server
}

pub fn router(app: AppState, config: &Config) -> axum::Router {
    router_with(app, config, Arc::new(arc_swap::ArcSwap::from_pointee(security_headers(config))))
}

/// [`router`] with the security headers in `headers`, which a live reload replaces.
fn router_with(app: AppState, config: &Config, headers: web::LiveHeaders) -> axum::Router {
    let options = web::RouterOptions {
        cors: web::Cors { origins: &config.web.allowed_origins, headers: &config.web.allowed_headers },
        client_address: &config.web.client_address,
    };
    web::router(app, web::ui::Ui::new(config), headers, options)
}

/// A server running in this process.
pub struct Running {
    pub app: AppState,
    pub addr: SocketAddr,
    /// Where the gRPC API answers, when `grpc.addr` is set.
    pub grpc_addr: Option<SocketAddr>,
    handle: axum_server::Handle<SocketAddr>,
    task: JoinHandle<()>,
    grpc: Option<GrpcRunning>,
}

impl Running {
    /// Stops accepting connections and waits for in-flight requests to finish.
    pub async fn shutdown(self) {
        self.handle.graceful_shutdown(None);
        let _ = self.task.await;
        if let Some(grpc) = self.grpc {
            grpc.shutdown().await;
        }
    }
}

/// The gRPC API running in this process.
struct GrpcRunning {
    stop: tokio::sync::oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl GrpcRunning {
    /// Binds `grpc.addr` (if set) and serves the API there.
    async fn start(app: &AppState, config: &Config) -> anyhow::Result<Option<(SocketAddr, Self)>> {
        let Some(addr) = &config.grpc.addr else {
            return Ok(None);
        };
        let listener =
            tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding grpc.addr {addr}"))?;
        let local = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = crate::grpc::serve(app.clone(), config, listener, async {
            let _ = stopped.await;
        })
        .await?;
        Ok(Some((local, Self { stop, task: tokio::spawn(server) })))
    }

    async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Serves `config` on an already bound HTTP listener, with background tasks.
pub async fn spawn(config: &Config, listener: TcpListener) -> anyhow::Result<Running> {
    let app = App::build(config).await?;
    spawn_app(app, config, listener).await
}

/// Serves on `listener` exactly as `tessera serve` serves `web.http` (the same HTTP stack and
/// limits), with background tasks. The integration tests run servers this way.
pub async fn spawn_app(app: AppState, config: &Config, listener: TcpListener) -> anyhow::Result<Running> {
    app.spawn_background_tasks();
    let addr = listener.local_addr()?;
    let router = router(app.clone(), config);
    let handle = axum_server::Handle::<SocketAddr>::new();
    let server = limited(axum_server::from_tcp(listener.into_std()?)?, config)
        .handle(handle.clone())
        .serve(router.into_make_service_with_connect_info::<SocketAddr>());
    let task = tokio::spawn(async move {
        if let Err(e) = server.await {
            tracing::error!(error = %e, "server failed");
        }
    });
    let (grpc_addr, grpc) = GrpcRunning::start(&app, config).await?.unzip();
    Ok(Running { app, addr, grpc_addr, handle, task, grpc })
}

/// `tessera serve`: every configured listener until SIGINT/SIGTERM; with `reload`, SIGHUP
/// reloads the configuration.
pub async fn run(config: Config, reload: Option<Reload>) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    if config.telemetry.http.is_some() {
        // Before any listener: requests served from the first one on are counted.
        web::telemetry::prometheus();
    }
    let app = App::build(&config).await?;
    app.spawn_background_tasks();
    let headers: web::LiveHeaders = Arc::new(arc_swap::ArcSwap::from_pointee(security_headers(&config)));
    let router = router_with(app.clone(), &config, headers.clone());
    let mut tls = None;
    let handle = axum_server::Handle::<SocketAddr>::new();
    let mut tasks = Vec::new();

    if let Some(addr) = &config.web.http {
        let listener =
            std::net::TcpListener::bind(addr).with_context(|| format!("binding web.http {addr}"))?;
        tracing::info!(%addr, "listening (http)");
        let server = limited(axum_server::from_tcp(listener)?, &config)
            .handle(handle.clone())
            .serve(router.clone().into_make_service_with_connect_info::<SocketAddr>());
        tasks.push(tokio::spawn(server));
    }
    if let Some(addr) = &config.web.https {
        let rustls = axum_server::tls_rustls::RustlsConfig::from_config(server_tls(&config).await?);
        tls = Some(rustls.clone());
        let listener =
            std::net::TcpListener::bind(addr).with_context(|| format!("binding web.https {addr}"))?;
        tracing::info!(%addr, "listening (https)");
        let server = limited(axum_server::from_tcp_rustls(listener, rustls)?, &config)
            .handle(handle.clone())
            .serve(router.clone().into_make_service_with_connect_info::<SocketAddr>());
        tasks.push(tokio::spawn(server));
    }
    if let Some(addr) = &config.telemetry.http {
        let listener =
            std::net::TcpListener::bind(addr).with_context(|| format!("binding telemetry.http {addr}"))?;
        tracing::info!(%addr, "listening (telemetry)");
        let server = limited(axum_server::from_tcp(listener)?, &config)
            .handle(handle.clone())
            .serve(web::telemetry::router(app.clone()).into_make_service());
        tasks.push(tokio::spawn(server));
    }
    let grpc = GrpcRunning::start(&app, &config).await?;
    if let Some(source) = reload {
        spawn_reloader(Live { app: app.clone(), headers, tls, current: config.clone() }, source);
    }
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, issuer = %config.issuer, "tessera started");

    shutdown_signal().await;
    tracing::info!("shutting down; waiting for in-flight requests");
    handle.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
    if let Some((_, grpc)) = grpc {
        grpc.shutdown().await;
    }
    for task in tasks {
        let _ = task.await;
    }
    Ok(())
}

async fn server_tls(config: &Config) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let (Some(cert), Some(key)) = (&config.web.tls_cert, &config.web.tls_key) else {
        anyhow::bail!("web.https needs web.tlsCert and web.tlsKey");
    };
    let certs = rustls_pki_types_certs(
        &tokio::fs::read(cert).await.with_context(|| format!("reading {}", cert.display()))?,
    )?;
    use rustls::pki_types::pem::PemObject;
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(
        &tokio::fs::read(key).await.with_context(|| format!("reading {}", key.display()))?,
    )
    .context("parsing web.tlsKey")?;
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = match config.web.tls_min_version {
        Some(TlsVersion::V1_3) => vec![&rustls::version::TLS13],
        _ => vec![&rustls::version::TLS12, &rustls::version::TLS13],
    };
    let versions: Vec<_> = match config.web.tls_max_version {
        Some(TlsVersion::V1_2) => {
            versions.into_iter().filter(|v| v.version == rustls::ProtocolVersion::TLSv1_2).collect()
        }
        _ => versions,
    };
    let server = rustls::ServerConfig::builder_with_protocol_versions(&versions)
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("building the TLS configuration")?;
    Ok(Arc::new(server))
}

fn rustls_pki_types_certs(pem: &[u8]) -> anyhow::Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    let certs: Result<Vec<_>, _> = rustls::pki_types::CertificateDer::pem_slice_iter(pem).collect();
    let certs = certs.context("parsing web.tlsCert")?;
    anyhow::ensure!(!certs.is_empty(), "web.tlsCert holds no certificate");
    Ok(certs)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}
