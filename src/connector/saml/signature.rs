//! Signature verification, and reading only what it covers.
//!
//! xmlsec (through samael) verifies every `ds:Signature` with the configured certificates
//! only: the verification context holds our key and no key manager, so a key or certificate
//! inside the document's `KeyInfo` is never used. We then take xmlsec's *pre-digest* buffer:
//! the canonical bytes of the referenced element that were actually hashed. That buffer is
//! parsed again, and nothing else of the posted document is ever read. What was signed is what
//! is read, whatever else the document carries.
//!
//! Canonicalization without comments drops comments from that buffer, so a NameID split by a
//! comment (`admin@example.com<!---->.evil.com`, the 2018 class of bugs) reads as its full,
//! signed text.
//!
//! Only SHA-2 signature and digest algorithms are accepted (no SHA-1, no MD5).

use super::rejection::Rejection;
use super::shape::{ASSERTION_NS, PROTOCOL_NS, Shape};
use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use samael::schema::{Assertion, Response};

/// The element the signature covers, parsed from the signed bytes.
#[derive(Debug)]
pub enum Signed {
    /// The Response is signed: everything in it is covered, the assertion included.
    Response(Box<Response>),
    /// Only the assertion is signed: nothing outside it may be trusted.
    Assertion(Box<Assertion>),
}

/// Verifies the document's signatures with `certs` (DER) and returns the signed bytes.
pub fn signed_bytes(xml: &str, certs: &[Vec<u8>]) -> Result<String, Rejection> {
    use samael::crypto::{
        AllowedSignatureAlgorithm as A, CertificateDer, Crypto, CryptoProvider, ReduceMode,
    };
    const SHA2: &[A] =
        &[A::RsaSha256, A::RsaSha384, A::RsaSha512, A::EcdsaSha256, A::EcdsaSha384, A::EcdsaSha512];
    let certs: Vec<CertificateDer> = certs.iter().cloned().map(CertificateDer::from).collect();
    Crypto::reduce_xml_to_signed_with_allowed_algorithms(xml, &certs, ReduceMode::PreDigest, Some(SHA2))
        .map_err(|e| Rejection::BadSignature(error_chain(&e)))
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Verifies and parses the signed element, which must be the one the shape scan found signed.
pub fn verify(xml: &str, shape: &Shape, certs: &[Vec<u8>]) -> Result<Signed, Rejection> {
    if !shape.response_signed && !shape.assertion_signed {
        return Err(Rejection::Unsigned);
    }
    let signed = parse_signed(&signed_bytes(xml, certs)?)?;
    // With both signed, xmlsec hands back the Response (which contains the signed assertion).
    let matches = match &signed {
        Signed::Response(r) => shape.response_signed && r.id == shape.response_id,
        Signed::Assertion(a) => !shape.response_signed && a.id == shape.assertion_id,
    };
    if !matches {
        return Err(Rejection::SignedElementUnexpected);
    }
    Ok(signed)
}

/// Parses signed bytes: a `samlp:Response` or a `saml:Assertion`, nothing else.
pub fn parse_signed(signed: &str) -> Result<Signed, Rejection> {
    let malformed = |e: quick_xml::DeError| Rejection::Malformed(e.to_string());
    match root(signed)? {
        Root::Response => Ok(Signed::Response(Box::new(quick_xml::de::from_str(signed).map_err(malformed)?))),
        Root::Assertion => {
            Ok(Signed::Assertion(Box::new(quick_xml::de::from_str(signed).map_err(malformed)?)))
        }
    }
}

enum Root {
    Response,
    Assertion,
}

fn root(xml: &str) -> Result<Root, Rejection> {
    let mut reader = NsReader::from_str(xml);
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(|e| Rejection::Malformed(e.to_string()))?;
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let ns = match ns {
                    ResolveResult::Bound(n) => n.as_ref().to_vec(),
                    _ => Vec::new(),
                };
                return match (ns.as_slice(), e.local_name().as_ref()) {
                    (PROTOCOL_NS, b"Response") => Ok(Root::Response),
                    (ASSERTION_NS, b"Assertion") => Ok(Root::Assertion),
                    _ => Err(Rejection::SignedElementUnexpected),
                };
            }
            Event::DocType(_) => return Err(Rejection::Doctype),
            Event::Eof => return Err(Rejection::SignedElementUnexpected),
            _ => {}
        }
    }
}
