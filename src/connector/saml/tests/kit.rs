//! Building (and signing) SAML responses for tests.

use super::super::config::{Attributes, Settings, SsoBinding};
use super::super::request::instant;
use crate::types::UnixTime;
use base64::Engine;

pub const NOW: UnixTime = 1_700_000_000;
pub const ACS: &str = "https://tessera.example.com/callback";
pub const ENTITY: &str = "https://tessera.example.com/saml";
pub const IDP: &str = "https://idp.example.com/metadata";
pub const REQUEST_ID: &str = "_0123456789abcdef0123456789abcdef";
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/saml");

pub fn pem_der(name: &str) -> Vec<u8> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_file(format!("{FIXTURES}/{name}")).unwrap().to_vec()
}

pub fn settings() -> Settings {
    Settings {
        entity_id: ENTITY.into(),
        sso_issuer: Some(IDP.into()),
        sso_url: url::Url::parse("https://idp.example.com/sso").unwrap(),
        acs_url: ACS.into(),
        certs: Some(vec![pem_der("idp.crt")]),
        name_id_format: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        binding: SsoBinding::Post,
        attributes: Attributes {
            username: "name".into(),
            email: "email".into(),
            groups: "groups".into(),
            ..Attributes::default()
        },
        decryption_key: None,
        decryption_cert: None,
    }
}

/// What a response says; `Spec::default()` is a valid answer to [`REQUEST_ID`] at [`NOW`].
#[derive(Debug, Clone)]
pub struct Spec {
    pub response_id: String,
    pub assertion_id: String,
    pub in_response_to: String,
    pub confirmation_in_response_to: String,
    pub destination: String,
    pub recipient: String,
    pub audience: String,
    pub issuer: String,
    pub name_id: String,
    pub email: String,
    pub status: String,
    pub not_before: UnixTime,
    pub not_on_or_after: UnixTime,
    pub confirmation_not_on_or_after: UnixTime,
    /// Signature algorithm URI and digest URI of the templates.
    pub algorithms: (&'static str, &'static str),
}

impl Default for Spec {
    fn default() -> Self {
        Self {
            response_id: "_resp1".into(),
            assertion_id: "_assert1".into(),
            in_response_to: REQUEST_ID.into(),
            confirmation_in_response_to: REQUEST_ID.into(),
            destination: ACS.into(),
            recipient: ACS.into(),
            audience: ENTITY.into(),
            issuer: IDP.into(),
            name_id: "jane@example.com".into(),
            email: "jane@example.com".into(),
            status: "urn:oasis:names:tc:SAML:2.0:status:Success".into(),
            not_before: NOW - 10,
            not_on_or_after: NOW + 300,
            confirmation_not_on_or_after: NOW + 300,
            algorithms: (
                "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                "http://www.w3.org/2001/04/xmlenc#sha256",
            ),
        }
    }
}

/// Which elements carry a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    Response,
    Assertion,
    Both,
    Neither,
}

/// A signature template for `id`, with `cert` (PEM file name) in its KeyInfo.
fn template(spec: &Spec, id: &str, cert: &str) -> String {
    let der = pem_der(cert);
    format!(
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>\
         <ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>\
         <ds:SignatureMethod Algorithm=\"{sig}\"/><ds:Reference URI=\"#{id}\"><ds:Transforms>\
         <ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
         <ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>\
         <ds:DigestMethod Algorithm=\"{digest}\"/><ds:DigestValue></ds:DigestValue></ds:Reference>\
         </ds:SignedInfo><ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data>\
         <ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>",
        sig = spec.algorithms.0,
        digest = spec.algorithms.1,
        cert = base64::engine::general_purpose::STANDARD.encode(der),
    )
}

pub fn assertion(spec: &Spec, signature: &str) -> String {
    let t = |u: UnixTime| instant(u).unwrap();
    format!(
        "<saml:Assertion ID=\"{aid}\" Version=\"2.0\" IssueInstant=\"{now}\"><saml:Issuer>{issuer}</saml:Issuer>{signature}\
         <saml:Subject><saml:NameID Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent\">{name_id}</saml:NameID>\
         <saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\"><saml:SubjectConfirmationData \
         InResponseTo=\"{sc_irt}\" Recipient=\"{recipient}\" NotOnOrAfter=\"{sc_noa}\"/></saml:SubjectConfirmation></saml:Subject>\
         <saml:Conditions NotBefore=\"{nb}\" NotOnOrAfter=\"{noa}\"><saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience>\
         </saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant=\"{now}\" SessionIndex=\"s1\">\
         <saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef>\
         </saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>\
         <saml:Attribute Name=\"email\"><saml:AttributeValue>{email}</saml:AttributeValue></saml:Attribute>\
         <saml:Attribute Name=\"name\"><saml:AttributeValue>Jane Doe</saml:AttributeValue></saml:Attribute>\
         <saml:Attribute Name=\"groups\"><saml:AttributeValue>admins</saml:AttributeValue><saml:AttributeValue>devs</saml:AttributeValue></saml:Attribute>\
         </saml:AttributeStatement></saml:Assertion>",
        aid = spec.assertion_id,
        now = t(NOW),
        issuer = spec.issuer,
        name_id = spec.name_id,
        sc_irt = spec.confirmation_in_response_to,
        recipient = spec.recipient,
        sc_noa = t(spec.confirmation_not_on_or_after),
        nb = t(spec.not_before),
        noa = t(spec.not_on_or_after),
        audience = spec.audience,
        email = spec.email,
    )
}

pub fn response(spec: &Spec, response_signature: &str, assertion_xml: &str) -> String {
    format!(
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
         xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{rid}\" Version=\"2.0\" \
         IssueInstant=\"{now}\" Destination=\"{destination}\" InResponseTo=\"{irt}\">\
         <saml:Issuer>{issuer}</saml:Issuer>{response_signature}<samlp:Status><samlp:StatusCode Value=\"{status}\"/>\
         </samlp:Status>{assertion_xml}</samlp:Response>",
        rid = spec.response_id,
        now = instant(NOW).unwrap(),
        destination = spec.destination,
        irt = spec.in_response_to,
        issuer = spec.issuer,
        status = spec.status,
    )
}

/// Signs the first empty signature template of `xml` with the key `key` (file name stem).
pub fn sign_first(xml: &str, key: &str) -> String {
    use samael::crypto::{Crypto, CryptoProvider};
    let der = std::fs::read(format!("{FIXTURES}/{key}.key.der")).unwrap();
    Crypto::sign_xml(xml, &der).unwrap()
}

/// The response for `spec`, signed as `sign` says with `key` (`idp` or `other`).
pub fn signed_with(spec: &Spec, sign: Sign, key: &str) -> String {
    let cert = format!("{key}.crt");
    let assertion_sig = match sign {
        Sign::Assertion | Sign::Both => template(spec, &spec.assertion_id, &cert),
        _ => String::new(),
    };
    let mut xml = response(spec, "", &assertion(spec, &assertion_sig));
    if !assertion_sig.is_empty() {
        xml = sign_first(&xml, key);
    }
    if matches!(sign, Sign::Response | Sign::Both) {
        // The Response's signature goes right after its Issuer, before the assertion's one.
        let at = xml.find("</saml:Issuer>").unwrap() + "</saml:Issuer>".len();
        xml.insert_str(at, &template(spec, &spec.response_id, &cert));
        xml = sign_first(&xml, key);
    }
    xml
}

pub fn signed(spec: &Spec, sign: Sign) -> String {
    signed_with(spec, sign, "idp")
}

pub fn b64(xml: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(xml)
}

/// The `[start, end)` byte range of the first element `<{tag} …>…</{tag}>` at or after `from`.
pub fn span(xml: &str, tag: &str, from: usize) -> (usize, usize) {
    let start = from + xml[from..].find(&format!("<{tag}")).unwrap();
    let close = format!("</{tag}>");
    let end = start + xml[start..].find(&close).unwrap() + close.len();
    (start, end)
}

/// `xml` without its first `ds:Signature` element.
pub fn strip_signature(xml: &str) -> String {
    let (s, e) = span(xml, "ds:Signature", 0);
    format!("{}{}", &xml[..s], &xml[e..])
}
