//! What Tessera sends: the `AuthnRequest` (SAML core §3.4.1) in the HTTP-Redirect or HTTP-POST
//! binding (SAML bindings §3.4, §3.5), and the SP metadata (SAML metadata §2.4.4) that an
//! identity provider's administrator imports.

use super::config::{Settings, SsoBinding};
use crate::connector::{ConnectorError, SamlBinding, SamlRequest};
use crate::types::UnixTime;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::io::Write;

/// XML-escapes text for an attribute value or element content.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `xs:dateTime` in UTC, as SAML requires (core §1.3.3).
pub fn instant(now: UnixTime) -> Result<String, ConnectorError> {
    let time = time::OffsetDateTime::from_unix_timestamp(now)
        .map_err(|e| ConnectorError::Upstream(format!("clock out of range: {e}")))?;
    let format = time::format_description::well_known::Rfc3339;
    time.format(&format).map_err(|e| ConnectorError::Upstream(format!("formatting the time: {e}")))
}

/// A fresh request id: 128 random bits; the leading `_` makes it an `xs:ID` (an NCName).
pub fn new_request_id() -> String {
    let hex: String = crate::crypto::random_bytes(16).iter().map(|b| format!("{b:02x}")).collect();
    format!("_{hex}")
}

fn authn_request_xml(settings: &Settings, id: &str, now: UnixTime) -> Result<String, ConnectorError> {
    let issuer = format!(
        "<saml:Issuer xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">{}</saml:Issuer>",
        escape(&settings.entity_id)
    );
    Ok(format!(
        "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"{id}\" \
         Version=\"2.0\" IssueInstant=\"{instant}\" Destination=\"{destination}\" \
         ProtocolBinding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" \
         AssertionConsumerServiceURL=\"{acs}\">{issuer}\
         <samlp:NameIDPolicy Format=\"{format}\" AllowCreate=\"true\"/></samlp:AuthnRequest>",
        id = escape(id),
        instant = instant(now)?,
        destination = escape(settings.sso_url.as_str()),
        acs = escape(&settings.acs_url),
        format = settings.name_id_format,
    ))
}

/// A new `AuthnRequest` for the auth request `relay_state`, in the configured binding.
pub fn authn_request(
    settings: &Settings,
    relay_state: &str,
    now: UnixTime,
) -> Result<SamlRequest, ConnectorError> {
    let id = new_request_id();
    let xml = authn_request_xml(settings, &id, now)?;
    let binding = match settings.binding {
        SsoBinding::Post => SamlBinding::Post {
            action: settings.sso_url.to_string(),
            saml_request: STANDARD.encode(xml),
            relay_state: relay_state.to_string(),
        },
        SsoBinding::Redirect => {
            // Bindings §3.4.4.1: DEFLATE (raw, RFC 1951), then base64, then URL-encoding.
            let mut deflater = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            deflater
                .write_all(xml.as_bytes())
                .map_err(|e| ConnectorError::Upstream(format!("deflating the request: {e}")))?;
            let deflated = deflater
                .finish()
                .map_err(|e| ConnectorError::Upstream(format!("deflating the request: {e}")))?;
            let mut url = settings.sso_url.clone();
            url.query_pairs_mut()
                .append_pair("SAMLRequest", &STANDARD.encode(deflated))
                .append_pair("RelayState", relay_state);
            SamlBinding::Redirect(url.into())
        }
    };
    Ok(SamlRequest { id, binding })
}

/// The SP `EntityDescriptor`: our entity id, the ACS (HTTP-POST), the NameID format we ask for,
/// that we want signed assertions, and the encryption certificate when one is configured.
pub fn metadata(settings: &Settings) -> String {
    let encryption = match &settings.decryption_cert {
        Some(der) => format!(
            "<md:KeyDescriptor use=\"encryption\"><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">\
             <ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>\
             </md:KeyDescriptor>",
            STANDARD.encode(der)
        ),
        None => String::new(),
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"{entity}\">\
         <md:SPSSODescriptor AuthnRequestsSigned=\"false\" WantAssertionsSigned=\"true\" \
         protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">{encryption}\
         <md:NameIDFormat>{format}</md:NameIDFormat>\
         <md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" \
         Location=\"{acs}\" index=\"0\" isDefault=\"true\"/>\
         </md:SPSSODescriptor></md:EntityDescriptor>\n",
        entity = escape(&settings.entity_id),
        format = settings.name_id_format,
        acs = escape(&settings.acs_url),
    )
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::connector::saml::tests::kit;
    use std::io::Read;

    #[test]
    fn request_ids_are_fresh_ncnames() {
        let (a, b) = (new_request_id(), new_request_id());
        assert_ne!(a, b);
        assert!(a.starts_with('_') && a.len() == 33);
    }

    #[test]
    fn post_binding_carries_the_request_and_relay_state() {
        let settings = kit::settings();
        let request = authn_request(&settings, "req-1", kit::NOW).unwrap();
        let SamlBinding::Post { action, saml_request, relay_state } = request.binding else { panic!() };
        assert_eq!(action, settings.sso_url.as_str());
        assert_eq!(relay_state, "req-1");
        let xml = String::from_utf8(STANDARD.decode(saml_request).unwrap()).unwrap();
        assert!(xml.contains(&format!("ID=\"{}\"", request.id)), "{xml}");
        assert!(xml.contains(&format!("AssertionConsumerServiceURL=\"{}\"", kit::ACS)));
        assert!(xml.contains(&format!(">{}</saml:Issuer>", kit::ENTITY)));
    }

    #[test]
    fn redirect_binding_deflates() {
        let mut settings = kit::settings();
        settings.binding = SsoBinding::Redirect;
        let request = authn_request(&settings, "req-1", kit::NOW).unwrap();
        let SamlBinding::Redirect(url) = request.binding else { panic!() };
        let url = url::Url::parse(&url).unwrap();
        let pairs: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs["RelayState"], "req-1");
        let deflated = STANDARD.decode(&pairs["SAMLRequest"]).unwrap();
        let mut xml = String::new();
        flate2::read::DeflateDecoder::new(&deflated[..]).read_to_string(&mut xml).unwrap();
        assert!(xml.contains(&request.id));
    }

    #[test]
    fn metadata_names_the_acs_and_entity() {
        let xml = metadata(&kit::settings());
        assert!(xml.contains(&format!("entityID=\"{}\"", kit::ENTITY)));
        assert!(xml.contains(&format!("Location=\"{}\"", kit::ACS)));
        assert!(xml.contains("WantAssertionsSigned=\"true\""));
    }
}
