//! Why a TLS connection failed, found out by making one more.
//!
//! When the server refuses a client certificate (or the lack of one) in TLS 1.3, the client
//! has already finished its side of the handshake: the server's alert arrives on the first
//! read, inside hyper's connection task, and the call only learns "connection closed". So
//! after such a failure this module connects once more with the same CA, name and
//! certificate, finishes the handshake, reads until the server answers or gives up, and
//! returns the TLS error it meets (e.g. the server's `certificate_required` alert).
//! Blocking I/O, bounded by the timeout: it runs once, on the way to exiting.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the TLS connection was made with: the PEM files' contents and the name checked.
#[derive(Clone)]
pub struct TlsMaterial {
    pub ca_pem: Vec<u8>,
    /// Certificate chain and private key (PEM).
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
    pub server_name: String,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("server_name", &self.server_name)
            .field("client_certificate", &self.identity.is_some())
            .finish_non_exhaustive()
    }
}

/// The TLS error a fresh connection to `addr` meets, if any (`None` also when the probe
/// itself cannot be set up or the server is silent until `timeout`).
pub fn probe(addr: &str, tls: &TlsMaterial, timeout: Duration) -> Option<rustls::Error> {
    let config = Arc::new(client_config(tls)?);
    let name = ServerName::try_from(tls.server_name.clone()).ok()?;
    let mut conn = rustls::ClientConnection::new(config, name).ok()?;
    let socket_addr = addr.to_socket_addrs().ok()?.next()?;
    let mut socket = TcpStream::connect_timeout(&socket_addr, timeout).ok()?;
    socket.set_read_timeout(Some(timeout)).ok()?;
    socket.set_write_timeout(Some(timeout)).ok()?;
    let deadline = Instant::now() + timeout;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut socket) {
            return tls_error(&e);
        }
        if Instant::now() > deadline {
            return None;
        }
    }
    // The server judges the client's certificate now; its verdict comes on the next read.
    let mut stream = rustls::Stream::new(&mut conn, &mut socket);
    let mut buf = [0_u8; 1024];
    match stream.read(&mut buf) {
        // The server speaks (HTTP/2 settings, n > 0) or closes quietly (n = 0): no TLS error.
        Ok(_n) => None,
        Err(e) => tls_error(&e),
    }
}

fn client_config(tls: &TlsMaterial) -> Option<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&tls.ca_pem) {
        roots.add(cert.ok()?).ok()?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots);
    let mut config = match &tls.identity {
        Some((cert, key)) => {
            let chain: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(cert).collect::<Result<_, _>>().ok()?;
            let key = PrivateKeyDer::from_pem_slice(key).ok()?;
            builder.with_client_auth_cert(chain, key).ok()?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Some(config)
}

/// The rustls error inside an I/O error.
fn tls_error(error: &std::io::Error) -> Option<rustls::Error> {
    error.get_ref()?.downcast_ref::<rustls::Error>().cloned()
}
