//! Checks on the raw document, before any signature is verified or any value is read.
//!
//! XML Signature Wrapping (Somorovsky et al., USENIX Security 2012) works by moving the signed
//! element away from where the application reads, and putting an unsigned one there. SAML puts
//! signatures in two places only: a child of the `Response` referencing the Response, and a
//! child of the `Assertion` referencing the Assertion (SAML core §5.4.1). So the document must
//! be exactly that shape: one `Response` root, exactly one assertion (plain or encrypted) as its
//! child, unique `ID`s, and each `ds:Signature` a child of the element its single `Reference`
//! names. Anything else is refused here. After this, only what the signature covers is read
//! (see `signature`). DTDs are refused before parsing at all: no entities, no XXE, no
//! billion laughs.

use super::rejection::Rejection;
use base64::Engine;
use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use std::collections::HashSet;

pub const PROTOCOL_NS: &[u8] = b"urn:oasis:names:tc:SAML:2.0:protocol";
pub const ASSERTION_NS: &[u8] = b"urn:oasis:names:tc:SAML:2.0:assertion";
const DSIG_NS: &[u8] = b"http://www.w3.org/2000/09/xmldsig#";

/// Decoded responses larger than this are refused (real ones are a few kilobytes).
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// The posted `SAMLResponse`: base64 (line breaks tolerated), at most [`MAX_RESPONSE_BYTES`],
/// UTF-8.
pub fn decode(saml_response: &str) -> Result<String, Rejection> {
    let compact: String = saml_response.split_ascii_whitespace().collect();
    if compact.len() > MAX_RESPONSE_BYTES * 4 / 3 + 4 {
        return Err(Rejection::TooLarge(MAX_RESPONSE_BYTES));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| Rejection::NotBase64(e.to_string()))?;
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(Rejection::TooLarge(MAX_RESPONSE_BYTES));
    }
    String::from_utf8(bytes).map_err(|_| Rejection::NotUtf8)
}

/// Refuses any document type declaration, before an XML parser sees the document: SAML never
/// needs one, and it is what external entities (XXE) and entity expansion bombs need.
pub fn refuse_doctype(xml: &str) -> Result<(), Rejection> {
    let lower = xml.to_ascii_lowercase();
    if lower.contains("<!doctype") || lower.contains("<!entity") {
        return Err(Rejection::Doctype);
    }
    Ok(())
}

/// What the scan learnt about a well-shaped response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub response_id: String,
    /// The `ID` of the one assertion; empty when it is encrypted.
    pub assertion_id: String,
    pub encrypted: bool,
    pub response_signed: bool,
    pub assertion_signed: bool,
}

/// An element on the path from the root, as the scan walks.
struct Open {
    kind: Kind,
    id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Response,
    Assertion,
    EncryptedAssertion,
    Signature,
    SignedInfo,
    Reference,
    Other,
}

fn kind(ns: &ResolveResult<'_>, local: &[u8]) -> Kind {
    let in_ns = |want: &[u8]| matches!(ns, ResolveResult::Bound(n) if n.as_ref() == want);
    match local {
        // Matched by local name in any namespace: a look-alike in another namespace is refused
        // below rather than ignored.
        b"Response" => Kind::Response,
        b"Assertion" => Kind::Assertion,
        b"EncryptedAssertion" => Kind::EncryptedAssertion,
        b"Signature" if in_ns(DSIG_NS) => Kind::Signature,
        b"SignedInfo" if in_ns(DSIG_NS) => Kind::SignedInfo,
        b"Reference" if in_ns(DSIG_NS) => Kind::Reference,
        _ => Kind::Other,
    }
}

fn attribute(element: &BytesStart<'_>, name: &[u8]) -> Result<Option<String>, Rejection> {
    for attr in element.attributes() {
        let attr = attr.map_err(|e| Rejection::Malformed(e.to_string()))?;
        if attr.key.as_ref() == name {
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| Rejection::Malformed(e.to_string()))?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

/// Walks the whole document once and checks its shape (see the module docs).
#[expect(clippy::indexing_slicing, reason = "the path is indexed after its length is checked")]
pub fn scan(xml: &str) -> Result<Shape, Rejection> {
    let mut reader = NsReader::from_str(xml);
    let mut path: Vec<Open> = Vec::new();
    let mut ids = HashSet::new();
    let mut shape = Shape {
        response_id: String::new(),
        assertion_id: String::new(),
        encrypted: false,
        response_signed: false,
        assertion_signed: false,
    };
    let (mut assertions, mut roots) = (0usize, 0usize);
    // References seen inside the signature being walked.
    let mut references: Vec<String> = Vec::new();
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(|e| Rejection::Malformed(e.to_string()))?;
        let (element, empty) = match &event {
            Event::Start(e) => (e.clone(), false),
            Event::Empty(e) => (e.clone(), true),
            Event::End(_) => {
                if let Some(open) = path.pop()
                    && open.kind == Kind::Signature
                {
                    close_signature(&path, &references, &mut shape)?;
                    references.clear();
                }
                continue;
            }
            Event::DocType(_) => return Err(Rejection::Doctype),
            Event::Eof => break,
            _ => continue,
        };
        let kind = kind(&ns, element.local_name().as_ref());
        let id = attribute(&element, b"ID")?;
        if let Some(id) = &id
            && !ids.insert(id.clone())
        {
            return Err(Rejection::DuplicateId(id.clone()));
        }
        let depth = path.len();
        match kind {
            Kind::Response => {
                roots += 1;
                if depth != 0
                    || roots > 1
                    || !matches!(&ns, ResolveResult::Bound(n) if n.as_ref() == PROTOCOL_NS)
                {
                    return Err(Rejection::NotAResponse);
                }
                shape.response_id = id.clone().unwrap_or_default();
            }
            Kind::Assertion | Kind::EncryptedAssertion => {
                assertions += 1;
                if assertions > 1 {
                    return Err(Rejection::AssertionCount(assertions));
                }
                let namespaced = match kind {
                    Kind::Assertion => matches!(&ns, ResolveResult::Bound(n) if n.as_ref() == ASSERTION_NS),
                    _ => true,
                };
                if depth != 1 || !namespaced {
                    return Err(Rejection::AssertionMisplaced);
                }
                shape.encrypted = kind == Kind::EncryptedAssertion;
                shape.assertion_id = id.clone().unwrap_or_default();
            }
            Kind::Signature => {
                let parent = path.last().map(|p| p.kind);
                let placed =
                    matches!((depth, parent), (1, Some(Kind::Response)) | (2, Some(Kind::Assertion)));
                if !placed {
                    return Err(Rejection::SignatureMisplaced);
                }
            }
            Kind::Reference => {
                let in_signed_info = path.len() >= 2
                    && path[path.len() - 1].kind == Kind::SignedInfo
                    && path[path.len() - 2].kind == Kind::Signature;
                if !in_signed_info {
                    return Err(Rejection::SignatureMisplaced);
                }
                references.push(attribute(&element, b"URI")?.unwrap_or_default());
            }
            _ => {}
        }
        if depth == 0 && kind != Kind::Response {
            return Err(Rejection::NotAResponse);
        }
        if empty {
            if kind == Kind::Signature {
                // An empty signature signs nothing.
                return Err(Rejection::ReferenceMismatch);
            }
        } else {
            path.push(Open { kind, id });
        }
    }
    if roots != 1 {
        return Err(Rejection::NotAResponse);
    }
    if assertions != 1 {
        return Err(Rejection::AssertionCount(assertions));
    }
    Ok(shape)
}

/// A signature just closed: it must reference, once, the element it is a child of.
fn close_signature(path: &[Open], references: &[String], shape: &mut Shape) -> Result<(), Rejection> {
    let Some(parent) = path.last() else {
        return Err(Rejection::SignatureMisplaced);
    };
    let expected = parent.id.as_deref().map(|id| format!("#{id}"));
    match (references, expected) {
        ([uri], Some(expected)) if *uri == expected => {}
        _ => return Err(Rejection::ReferenceMismatch),
    }
    let already = match parent.kind {
        Kind::Response => std::mem::replace(&mut shape.response_signed, true),
        Kind::Assertion => std::mem::replace(&mut shape.assertion_signed, true),
        _ => return Err(Rejection::SignatureMisplaced),
    };
    if already {
        // Two signatures on one element: one of them is not what the IdP produced.
        return Err(Rejection::SignatureMisplaced);
    }
    Ok(())
}
