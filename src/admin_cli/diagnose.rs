//! Why a call failed, in words an operator can act on, with the exit code a script reads.
//!
//! A gRPC status from the server is mapped by its code. A failure below gRPC (no listener,
//! a timeout, a TLS handshake the server or this client refused) arrives as a chain of
//! errors from tonic, hyper, tokio-rustls and the OS; it is walked for the rustls or I/O
//! error at its root, so the message says which of these it was, e.g. "certificate refused
//! by the server" when the server demands a client certificate.

use super::exit::{CliError, Exit};
use super::tls_probe::{self, TlsMaterial};
use rustls::{AlertDescription, CertificateError};
use std::error::Error as StdError;
use tonic::Code;

/// Where the call went, for the messages.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: String,
    /// Set when TLS is on: what the connection was made with, to probe it after a failure.
    pub tls: Option<TlsMaterial>,
    pub timeout_secs: u64,
}

impl Target {
    fn tls(&self) -> bool {
        self.tls.is_some()
    }

    fn client_cert(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.identity.is_some())
    }

    /// The TLS error a fresh connection meets, as the error to print (see [`tls_probe`]).
    fn probe(&self) -> Option<CliError> {
        let tls = self.tls.as_ref()?;
        let error = tls_probe::probe(&self.addr, tls, std::time::Duration::from_secs(self.timeout_secs))?;
        Some(CliError::new(Exit::Unreachable, tls_problem(self, &error)))
    }
}

/// A failure to connect (`Endpoint::connect`).
pub fn transport(target: &Target, error: &tonic::transport::Error) -> CliError {
    connection_problem(target, error)
        .or_else(|| target.probe())
        .unwrap_or_else(|| unreachable(target, format!("cannot reach {}: {}", target.addr, chain(error))))
}

/// A failed call: the server's status, or a connection problem tonic reported as one.
pub fn status(target: &Target, status: &tonic::Status) -> CliError {
    // A status made here from a transport error (the server sent none), whatever its code.
    if let Some(cause) = StdError::source(status) {
        return connection_problem(target, status)
            // A TLS refusal that came after the handshake shows only as a closed connection.
            .or_else(|| target.probe())
            .unwrap_or_else(|| {
                let message = status.message();
                unreachable(
                    target,
                    format!("the connection to {} failed: {message}: {}", target.addr, chain(cause)),
                )
            });
    }
    let message = status.message();
    match status.code() {
        Code::NotFound => CliError::not_found(message),
        Code::AlreadyExists => CliError::already_exists(message),
        Code::InvalidArgument
        | Code::FailedPrecondition
        | Code::OutOfRange
        | Code::PermissionDenied
        | Code::Unauthenticated => CliError::new(Exit::Refused, format!("refused by the server: {message}")),
        Code::Unimplemented => CliError::new(
            Exit::Refused,
            format!("the server does not implement this call (an older server?): {message}"),
        ),
        Code::DeadlineExceeded | Code::Cancelled => timed_out(target),
        Code::Unavailable => {
            unreachable(target, format!("the server at {} is unavailable: {message}", target.addr))
        }
        _ => CliError::failure(format!("the server failed: {message}")),
    }
}

fn unreachable(target: &Target, message: String) -> CliError {
    let hint = if target.tls() { "" } else { " (if the server's grpc section has tlsCert, give --ca-cert)" };
    CliError::new(Exit::Unreachable, format!("{message}{hint}"))
}

fn timed_out(target: &Target) -> CliError {
    CliError::new(
        Exit::Unreachable,
        format!("no answer from {} within {} s (--timeout)", target.addr, target.timeout_secs),
    )
}

/// The connection-level cause in an error chain, if there is one.
fn connection_problem(target: &Target, error: &(dyn StdError + 'static)) -> Option<CliError> {
    for e in causes(error) {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(CliError::new(Exit::Unreachable, tls_problem(target, tls)));
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind;
            let why = match io.kind() {
                ErrorKind::ConnectionRefused => {
                    return Some(CliError::new(
                        Exit::Unreachable,
                        format!(
                            "connection refused: nothing listens on {} (is grpc.addr set in the server's config?)",
                            target.addr
                        ),
                    ));
                }
                ErrorKind::TimedOut => return Some(timed_out(target)),
                ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof
                    if !target.tls() =>
                {
                    format!("{} closed the connection", target.addr)
                }
                _ => continue,
            };
            return Some(unreachable(target, why));
        }
    }
    // tonic's own timeout error carries no I/O error.
    let text = chain(error).to_lowercase();
    if text.contains("timed out") || text.contains("timeout expired") {
        return Some(timed_out(target));
    }
    if !target.tls() && (text.contains("connection closed") || text.contains("frame with invalid size")) {
        return Some(unreachable(target, format!("{} closed the connection", target.addr)));
    }
    None
}

/// The TLS failure, named.
fn tls_problem(target: &Target, error: &rustls::Error) -> String {
    let addr = &target.addr;
    match error {
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => format!(
            "certificate refused by the server: {addr} requires a client certificate; give --client-cert and --client-key"
        ),
        rustls::Error::AlertReceived(
            AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::DecryptError
            | AlertDescription::AccessDenied,
        ) if target.client_cert() => format!(
            "certificate refused by the server: {addr} does not accept the client certificate ({error}); is it issued by the server's tlsClientCA?"
        ),
        rustls::Error::AlertReceived(AlertDescription::HandshakeFailure) if !target.client_cert() => format!(
            "certificate refused by the server: the TLS handshake with {addr} failed; it may require a client certificate (--client-cert, --client-key)"
        ),
        rustls::Error::InvalidCertificate(cert) => server_certificate(addr, cert),
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => format!(
            "the TLS handshake with {addr} failed ({error}): does the server serve TLS? (its grpc section needs tlsCert and tlsKey)"
        ),
        other => format!("the TLS handshake with {addr} failed: {other}"),
    }
}

fn server_certificate(addr: &str, error: &CertificateError) -> String {
    let why = match error {
        CertificateError::UnknownIssuer | CertificateError::BadSignature => {
            "it is not issued by the CA of --ca-cert".to_string()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "it is not valid for this host name; give the name it has with --server-name".to_string()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => "it has expired".to_string(),
        other => format!("{other:?}"),
    };
    format!("the server's certificate is not trusted: {why} ({addr})")
}

/// The error and each of its causes. An `io::Error` wrapping another error hides it from
/// `source()` (it returns the wrapped error's source), so the wrapped error is visited too.
fn causes<'a>(error: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut found = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        found.push(e);
        if let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            found.extend(causes(inner));
        }
        next = e.source();
    }
    found
}

/// The error and its causes as one line, without repeats.
pub fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in causes(error) {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(tls: bool, client_cert: bool) -> Target {
        let material = TlsMaterial {
            ca_pem: Vec::new(),
            identity: client_cert.then(|| (Vec::new(), Vec::new())),
            server_name: "localhost".into(),
        };
        Target { addr: "127.0.0.1:5557".into(), tls: tls.then_some(material), timeout_secs: 10 }
    }

    #[test]
    fn statuses_map_to_exit_codes() {
        let t = target(false, false);
        let code = |s: tonic::Status| status(&t, &s).exit;
        assert_eq!(code(tonic::Status::not_found("x")), Exit::NotFound);
        assert_eq!(code(tonic::Status::already_exists("x")), Exit::AlreadyExists);
        assert_eq!(code(tonic::Status::invalid_argument("x")), Exit::Refused);
        assert_eq!(code(tonic::Status::failed_precondition("x")), Exit::Refused);
        assert_eq!(code(tonic::Status::internal("x")), Exit::Failure);
        assert_eq!(code(tonic::Status::deadline_exceeded("x")), Exit::Unreachable);
        let refused = status(&t, &tonic::Status::failed_precondition("client \"a\" is read-only"));
        assert!(refused.message.contains("client \"a\" is read-only"), "{}", refused.message);
    }

    #[test]
    fn a_missing_client_certificate_is_named() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(AlertDescription::CertificateRequired),
        );
        let problem = connection_problem(&target(true, false), &io).map(|e| (e.exit, e.message));
        let (exit, message) = problem.unwrap_or((Exit::Ok, String::new()));
        assert_eq!(exit, Exit::Unreachable);
        assert!(message.starts_with("certificate refused by the server"), "{message}");
        assert!(message.contains("--client-cert"), "{message}");
    }

    #[test]
    fn a_refused_connection_is_named() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let problem = connection_problem(&target(false, false), &io).map(|e| e.message).unwrap_or_default();
        assert!(problem.starts_with("connection refused"), "{problem}");
    }
}
