//! Connections to the directory: where it is ([`Target`]), how it is protected
//! ([`Security`]: none, LDAPS, or StartTLS per RFC 4513 §3), and a [`Session`] that binds and
//! searches with a timeout on every step, so a directory that is down or hangs turns into an
//! error for one login instead of a stuck request.
//!
//! Each login or refresh opens its own connection and closes it at the end, as Dex does:
//! logins are rare next to the cost of a TCP + TLS handshake, and a fresh connection never
//! carries a previous user's bind.

use crate::connector::ConnectorError;
use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry, SearchOptions};
use std::sync::Arc;
use std::time::Duration;

/// How long the directory may take.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Reaching it: TCP, StartTLS and the TLS handshake.
    pub connect: Duration,
    /// Each bind or search.
    pub operation: Duration,
    /// A whole login or refresh.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            operation: Duration::from_secs(10),
            total: Duration::from_secs(30),
        }
    }
}

/// LDAP result codes (RFC 4511 Appendix A) the connector acts on.
pub mod rc {
    pub const SUCCESS: u32 = 0;
    pub const SIZE_LIMIT_EXCEEDED: u32 = 4;
    pub const CONSTRAINT_VIOLATION: u32 = 19;
    pub const NO_SUCH_OBJECT: u32 = 32;
    pub const INVALID_CREDENTIALS: u32 = 49;
}

/// How the connection is protected.
#[derive(Debug, Clone)]
pub enum Security {
    /// `insecureNoSSL`: plain LDAP.
    None,
    /// `ldaps://`: TLS from the first byte.
    Ldaps(Arc<rustls::ClientConfig>),
    /// `startTLS`: plain LDAP upgraded before anything else is sent.
    StartTls(Arc<rustls::ClientConfig>),
}

/// Where the directory is, as an LDAP URL, and how to protect the connection.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub security: Security,
    pub timeouts: Timeouts,
}

impl Target {
    /// `host` is `name`, `name:port`, `[v6]`, `[v6]:port` or a bare IPv6 address; without a
    /// port, LDAPS uses 636 and plain LDAP (also before StartTLS) 389.
    pub fn parse(host: &str, security: Security) -> Result<Self, String> {
        let default_port = match security {
            Security::Ldaps(_) => 636,
            Security::None | Security::StartTls(_) => 389,
        };
        let (name, port) = split_host_port(host)?;
        let port = port.unwrap_or(default_port);
        let name = if name.contains(':') { format!("[{name}]") } else { name.to_string() };
        let scheme = if matches!(security, Security::Ldaps(_)) { "ldaps" } else { "ldap" };
        let url = format!("{scheme}://{name}:{port}");
        url::Url::parse(&url).map_err(|e| format!("{host:?} is not a host or host:port ({e})"))?;
        Ok(Self { url, security, timeouts: Timeouts::default() })
    }
}

fn split_host_port(host: &str) -> Result<(&str, Option<u16>), String> {
    let bad = || format!("{host:?} is not a host or host:port");
    if host.is_empty() || host.contains(['/', '@', ' ']) {
        return Err(bad());
    }
    if let Some(rest) = host.strip_prefix('[') {
        let (name, after) = rest.split_once(']').ok_or_else(bad)?;
        return match after {
            "" => Ok((name, None)),
            _ => {
                let port = after.strip_prefix(':').and_then(|p| p.parse().ok()).ok_or_else(bad)?;
                Ok((name, Some(port)))
            }
        };
    }
    match host.matches(':').count() {
        0 => Ok((host, None)),
        1 => {
            let (name, port) = host.split_once(':').ok_or_else(bad)?;
            let port = port.parse().map_err(|_| bad())?;
            if name.is_empty() { Err(bad()) } else { Ok((name, Some(port))) }
        }
        // A bare IPv6 address.
        _ => Ok((host, None)),
    }
}

fn upstream(context: &str, e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Upstream(format!("ldap: {context}: {e}"))
}

/// One connection to the directory.
pub struct Session {
    ldap: ldap3::Ldap,
    operation_timeout: Duration,
}

impl Session {
    /// Connects (and negotiates TLS) within the connect timeout.
    pub async fn connect(target: &Target) -> Result<Self, ConnectorError> {
        let mut settings = LdapConnSettings::new().set_conn_timeout(target.timeouts.connect);
        match &target.security {
            Security::None => {}
            Security::Ldaps(config) => settings = settings.set_config(config.clone()),
            Security::StartTls(config) => settings = settings.set_config(config.clone()).set_starttls(true),
        }
        let (conn, ldap) = LdapConnAsync::with_settings(settings, &target.url)
            .await
            .map_err(|e| upstream(&format!("connecting to {}", target.url), e))?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "ldap: connection ended with an error");
            }
        });
        Ok(Self { ldap, operation_timeout: target.timeouts.operation })
    }

    /// A simple bind (RFC 4513 §5.1.3). `Ok(false)` when the directory refused the
    /// credentials; callers never pass an empty password for a user (§5.1.2).
    #[tracing::instrument(skip_all)]
    pub async fn bind(&mut self, dn: &str, password: &str) -> Result<bool, ConnectorError> {
        let result = self
            .ldap
            .with_timeout(self.operation_timeout)
            .simple_bind(dn, password)
            .await
            .map_err(|e| upstream("bind", e))?;
        match result.rc {
            rc::SUCCESS => Ok(true),
            // Constraint violation: e.g. an expired or locked password (Dex treats it the same).
            rc::INVALID_CREDENTIALS | rc::CONSTRAINT_VIOLATION => {
                tracing::debug!(rc = result.rc, text = %result.text, "ldap: bind refused");
                Ok(false)
            }
            _ => Err(upstream(&format!("bind as {dn:?}"), format!("result {} {}", result.rc, result.text))),
        }
    }

    /// Binds with the service account, or anonymously without one.
    pub async fn bind_service(
        &mut self,
        service: Option<&(String, crate::types::Secret)>,
    ) -> Result<(), ConnectorError> {
        let (dn, password) = match service {
            Some((dn, password)) => (dn.as_str(), password.expose()),
            None => ("", ""),
        };
        if self.bind(dn, password).await? {
            Ok(())
        } else if dn.is_empty() {
            Err(ConnectorError::Upstream(
                "ldap: the directory refused the anonymous bind; set bindDN/bindPW".into(),
            ))
        } else {
            Err(ConnectorError::Upstream(format!("ldap: the directory refused the bindDN/bindPW of {dn:?}")))
        }
    }

    /// Searches and returns the entries (referrals are skipped) with the result code:
    /// success, size limit exceeded and no such object are answers; anything else is an error.
    pub async fn search(
        &mut self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
        size_limit: Option<i32>,
    ) -> Result<(Vec<SearchEntry>, u32), ConnectorError> {
        tracing::debug!(base, ?scope, filter, "ldap: search");
        let mut options = SearchOptions::new();
        if let Some(limit) = size_limit {
            options = options.sizelimit(limit);
        }
        let ldap3::SearchResult(entries, result) = self
            .ldap
            .with_timeout(self.operation_timeout)
            .with_search_options(options)
            .search(base, scope, filter, attrs.to_vec())
            .await
            .map_err(|e| upstream(&format!("search {filter:?} under {base:?}"), e))?;
        match result.rc {
            rc::SUCCESS | rc::SIZE_LIMIT_EXCEEDED | rc::NO_SUCH_OBJECT => Ok((
                entries
                    .into_iter()
                    .filter(|e| !e.is_ref() && !e.is_intermediate())
                    .map(SearchEntry::construct)
                    .collect(),
                result.rc,
            )),
            code => Err(upstream(
                &format!("search {filter:?} under {base:?}"),
                format!("result {code} {}", result.text),
            )),
        }
    }

    /// Unbinds (best effort) and lets the connection go.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ldap.unbind()).await;
    }
}

/// `insecureSkipVerify`: accepts any certificate, but still checks that the server holds its
/// key (the handshake signature), so the setting only removes the trust decision.
#[derive(Debug)]
pub struct NoVerification(pub Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Idle connections kept for the next login, so a burst of logins does not pay a TCP and
/// TLS handshake each. Every use starts with a bind (the service account, then the user),
/// so a connection left bound as one user is never used as that user again. Connections
/// older than `max_age` are dropped rather than reused (directories close idle ones).
pub struct Pool {
    idle: std::sync::Mutex<Vec<(Session, std::time::Instant)>>,
    max_idle: usize,
    max_age: Duration,
}

impl Pool {
    pub fn new(max_idle: usize, max_age: Duration) -> Self {
        Self { idle: std::sync::Mutex::new(Vec::new()), max_idle, max_age }
    }

    /// A pooled connection young enough to reuse, if any.
    pub fn take(&self) -> Option<Session> {
        let mut idle = self.idle.lock().ok()?;
        while let Some((session, since)) = idle.pop() {
            if since.elapsed() < self.max_age {
                return Some(session);
            }
        }
        None
    }

    /// Keeps a connection that just served a request without a transport error.
    pub fn give(&self, session: Session) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.max_idle
        {
            idle.push((session, std::time::Instant::now()));
        }
    }
}
