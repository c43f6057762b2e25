//! Live reload: SIGHUP (and, with `--watch-config`, a change of the file) reads the
//! configuration again and applies what can change without a restart; see [`Live::reload`].

use super::{security_headers, server_tls};
use crate::app::AppState;
use crate::config::Config;
use crate::web;
use std::sync::Arc;

/// Where `tessera serve` reads its configuration again on SIGHUP (or when the file changes,
/// with `watch`), and how it changes the log level.
pub struct Reload {
    pub path: std::path::PathBuf,
    pub overrides: crate::config::Overrides,
    pub watch: bool,
    pub set_log_level: Box<dyn Fn(crate::config::LogLevel) + Send + Sync>,
}

/// What a live reload replaces in the running server.
pub(super) struct Live {
    pub(super) app: AppState,
    pub(super) headers: web::LiveHeaders,
    pub(super) tls: Option<axum_server::tls_rustls::RustlsConfig>,
    /// The configuration in force.
    pub(super) current: Config,
}

/// The keys a live reload cannot apply: they shape listeners, storage or what every token
/// says. A change of one is logged by name and applies at the next restart.
fn restart_needed(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut keys = Vec::new();
    let mut check = |key, changed: bool| {
        if changed {
            keys.push(key);
        }
    };
    check("issuer", old.issuer != new.issuer);
    check("storage", old.storage != new.storage);
    check("web.http", old.web.http != new.web.http);
    check("web.https", old.web.https != new.web.https);
    check("web.allowedOrigins", old.web.allowed_origins != new.web.allowed_origins);
    check("web.allowedHeaders", old.web.allowed_headers != new.web.allowed_headers);
    check("web.readHeaderTimeout", old.web.read_header_timeout != new.web.read_header_timeout);
    check("web.clientRemoteIP", old.web.client_address != new.web.client_address);
    check("throttle", old.throttle != new.throttle);
    check("telemetry", old.telemetry != new.telemetry);
    check("grpc", old.grpc != new.grpc);
    check("expiry", old.expiry != new.expiry);
    check("oauth2", old.oauth2 != new.oauth2);
    check("signer", old.signer != new.signer);
    check("frontend", old.frontend != new.frontend);
    check("sessions", old.sessions != new.sessions);
    check("logger.format", old.logger.format != new.logger.format);
    check("logger.auditFile", old.logger.audit_file != new.logger.audit_file);
    keys
}

impl Live {
    /// Reads the file again and applies what can change live: static clients and passwords,
    /// connectors, `web.headers`, `logger.level`, the HTTPS certificate and key. A file with
    /// problems is refused whole, each problem logged; the running configuration stays.
    async fn reload(&mut self, source: &Reload) {
        let loaded = match crate::config::load_file_with(&source.path, &source.overrides) {
            Ok(loaded) => loaded,
            Err(e) => {
                for problem in &e.problems {
                    tracing::error!(%problem, "config reload refused; the running configuration stays");
                }
                return;
            }
        };
        for warning in &loaded.warnings {
            tracing::warn!("config: {warning}");
        }
        let new = loaded.config;
        for key in restart_needed(&self.current, &new) {
            tracing::warn!(key, "changed in the config file; applies at the next restart");
        }
        let tls = match (&self.tls, new.web.https.is_some()) {
            (Some(_), true) => match server_tls(&new).await {
                Ok(tls) => Some(tls),
                Err(e) => {
                    tracing::error!(error = %e, "config reload refused: the TLS certificate or key does not load");
                    return;
                }
            },
            _ => None,
        };
        if let Err(e) = self.app.reconfigure(&new).await {
            tracing::error!(error = %e, "config reload: reading the stored connectors failed; static entries applied");
        }
        self.headers.store(Arc::new(security_headers(&new)));
        (source.set_log_level)(new.logger.level);
        if let (Some(running), Some(tls)) = (&self.tls, tls) {
            running.reload_from_config(tls);
        }
        tracing::info!(
            static_clients = new.static_clients.len(),
            static_passwords = new.static_passwords.len(),
            connectors = self.app.registry().all().len(),
            "configuration reloaded"
        );
        // Keys that need a restart keep their running values in `current`, so they are
        // reported again while the file differs.
        let mut current = new;
        current.issuer = self.current.issuer.clone();
        current.storage = self.current.storage.clone();
        current.web.http = self.current.web.http.clone();
        current.web.https = self.current.web.https.clone();
        current.telemetry = self.current.telemetry.clone();
        current.grpc = self.current.grpc.clone();
        self.current = current;
    }
}

/// Reloads on SIGHUP, and when `watch` is set on a change of the file, until the process ends.
pub(super) fn spawn_reloader(mut live: Live, source: Reload) {
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(signal) => Some(signal),
            Err(e) => {
                tracing::error!(error = %e, "SIGHUP cannot be caught: no reload on signal");
                None
            }
        };
        let stamp =
            |path: &std::path::Path| std::fs::metadata(path).ok().map(|m| (m.modified().ok(), m.len()));
        let mut seen = stamp(&source.path);
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
        loop {
            #[cfg(unix)]
            let signalled = async {
                match hangup.as_mut() {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let signalled = std::future::pending::<()>();
            tokio::select! {
                () = signalled => {
                    tracing::info!(path = %source.path.display(), "SIGHUP: reloading the configuration");
                }
                _ = tick.tick(), if source.watch => {
                    let now = stamp(&source.path);
                    if now == seen {
                        continue;
                    }
                    seen = now;
                    tracing::info!(path = %source.path.display(), "the config file changed: reloading");
                }
            }
            live.reload(&source).await;
        }
    });
}
