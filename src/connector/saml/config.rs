//! The `config` of a `type: saml` connector: Dex's keys, unchanged, plus a few of Tessera's own
//! (`ssoBinding`, `decryptionKey`, `decryptionCert`). [`SamlConfig::resolve`] checks it and
//! loads the files, so a connector that opens is one that can verify responses.

use crate::connector::ConnectorError;
use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

/// Dex's SAML connector config, key for key.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SamlConfig {
    /// Our entity id: the `Issuer` of our requests and the `Audience` we require.
    /// Defaults to `redirectURI`, as in Dex.
    #[serde(default)]
    pub entity_issuer: String,
    /// The identity provider's entity id; when set, every `Issuer` must equal it.
    #[serde(default)]
    pub sso_issuer: String,
    /// Where `AuthnRequest`s go.
    #[serde(rename = "ssoURL")]
    pub sso_url: String,
    /// A PEM file with the identity provider's signing certificate(s).
    #[serde(default)]
    pub ca: String,
    /// The same, inline: base64 of the PEM text (Dex's `[]byte`); raw PEM is accepted too.
    #[serde(default)]
    pub ca_data: String,
    /// Accept unsigned responses. Anyone can then log in as anyone: for local experiments only.
    #[serde(default)]
    pub insecure_skip_signature_validation: bool,
    pub username_attr: String,
    pub email_attr: String,
    #[serde(default)]
    pub groups_attr: String,
    /// Groups come as one value, split on this delimiter.
    #[serde(default)]
    pub groups_delim: String,
    /// Only members of one of these groups may log in.
    #[serde(default)]
    pub allowed_groups: Vec<String>,
    /// Keep only the `allowedGroups` in the `groups` claim.
    #[serde(default)]
    pub filter_groups: bool,
    /// Our Assertion Consumer Service URL: `{issuer}/callback`.
    #[serde(rename = "redirectURI")]
    pub redirect_uri: String,
    /// The `NameIDPolicy` format, in full or by its last component (`emailAddress`);
    /// default `persistent`.
    #[serde(default, rename = "nameIDPolicyFormat")]
    pub name_id_policy_format: String,
    /// Tessera: how the `AuthnRequest` travels: `post` (Dex's way, the default) or `redirect`.
    #[serde(default)]
    pub sso_binding: SsoBinding,
    /// Tessera: a PEM private key file to decrypt `EncryptedAssertion`s with.
    #[serde(default)]
    pub decryption_key: String,
    /// Tessera: the certificate of `decryptionKey`, published in the SP metadata.
    #[serde(default)]
    pub decryption_cert: String,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SsoBinding {
    #[default]
    Post,
    Redirect,
}

/// A checked config, files loaded.
pub struct Settings {
    pub entity_id: String,
    pub sso_issuer: Option<String>,
    pub sso_url: url::Url,
    pub acs_url: String,
    /// DER certificates a signature must verify against; `None` only with
    /// `insecureSkipSignatureValidation`.
    pub certs: Option<Vec<Vec<u8>>>,
    pub name_id_format: &'static str,
    pub binding: SsoBinding,
    pub attributes: Attributes,
    /// PKCS#8/PKCS#1/SEC1 DER private key for encrypted assertions.
    pub decryption_key: Option<Vec<u8>>,
    pub decryption_cert: Option<Vec<u8>>,
}

/// How assertion attributes become claims.
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    pub username: String,
    pub email: String,
    pub groups: String,
    pub groups_delim: String,
    pub allowed_groups: Vec<String>,
    pub filter_groups: bool,
}

fn invalid(message: impl Into<String>) -> ConnectorError {
    ConnectorError::Upstream(format!("saml config: {}", message.into()))
}

impl SamlConfig {
    /// Checks every key and loads the certificate files; every problem found is reported.
    pub fn resolve(self) -> Result<Settings, ConnectorError> {
        let mut problems = Vec::new();
        for (key, value) in [
            ("ssoURL", &self.sso_url),
            ("usernameAttr", &self.username_attr),
            ("emailAttr", &self.email_attr),
            ("redirectURI", &self.redirect_uri),
        ] {
            if value.trim().is_empty() {
                problems.push(format!("{key} is required"));
            }
        }
        let sso_url = url::Url::parse(&self.sso_url);
        if !self.sso_url.is_empty() && sso_url.is_err() {
            problems.push("ssoURL is not a URL".into());
        }
        if !self.redirect_uri.is_empty() && url::Url::parse(&self.redirect_uri).is_err() {
            problems.push("redirectURI is not a URL (use {issuer}/callback)".into());
        }
        let name_id_format = match name_id_format(&self.name_id_policy_format) {
            Some(format) => format,
            None => {
                problems.push(format!(
                    "nameIDPolicyFormat {:?} is not a SAML NameID format",
                    self.name_id_policy_format
                ));
                ""
            }
        };
        if !self.allowed_groups.is_empty() && self.groups_attr.is_empty() {
            problems.push("allowedGroups needs groupsAttr (where to read the groups from)".into());
        }
        let certs = if self.insecure_skip_signature_validation {
            None
        } else {
            match certificates(&self.ca, &self.ca_data) {
                Ok(certs) => Some(certs),
                Err(problem) => {
                    problems.push(problem);
                    None
                }
            }
        };
        let decryption_key = match self.decryption_key.as_str() {
            "" => None,
            path => match std::fs::read(path).map_err(|e| e.to_string()).and_then(|pem| {
                PrivateKeyDer::from_pem_slice(&pem).map_err(|e| format!("not a PEM private key: {e}"))
            }) {
                Ok(key) => Some(key.secret_der().to_vec()),
                Err(e) => {
                    problems.push(format!("decryptionKey {path}: {e}"));
                    None
                }
            },
        };
        let decryption_cert = match self.decryption_cert.as_str() {
            "" => None,
            path => match read_pem_certs(path) {
                Ok(mut certs) if certs.len() == 1 => certs.pop(),
                Ok(_) => {
                    problems.push(format!("decryptionCert {path}: expected exactly one certificate"));
                    None
                }
                Err(e) => {
                    problems.push(e);
                    None
                }
            },
        };
        if decryption_cert.is_some() && decryption_key.is_none() {
            problems.push("decryptionCert needs decryptionKey".into());
        }
        let sso_url = match sso_url {
            Ok(url) if problems.is_empty() => url,
            _ => return Err(invalid(problems.join("; "))),
        };
        let entity_id =
            if self.entity_issuer.is_empty() { self.redirect_uri.clone() } else { self.entity_issuer };
        Ok(Settings {
            entity_id,
            sso_issuer: (!self.sso_issuer.is_empty()).then_some(self.sso_issuer),
            sso_url,
            acs_url: self.redirect_uri,
            certs,
            name_id_format,
            binding: self.sso_binding,
            attributes: Attributes {
                username: self.username_attr,
                email: self.email_attr,
                groups: self.groups_attr,
                groups_delim: self.groups_delim,
                allowed_groups: self.allowed_groups,
                filter_groups: self.filter_groups,
            },
            decryption_key,
            decryption_cert,
        })
    }
}

/// The identity provider's certificates from `ca` (a file) or `caData`: exactly one of them.
fn certificates(ca: &str, ca_data: &str) -> Result<Vec<Vec<u8>>, String> {
    match (ca.is_empty(), ca_data.is_empty()) {
        (false, true) => read_pem_certs(ca),
        (true, false) => {
            let pem = if ca_data.trim_start().starts_with("-----BEGIN") {
                ca_data.as_bytes().to_vec()
            } else {
                let compact: String = ca_data.split_whitespace().collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map_err(|e| format!("caData is not base64 of a PEM certificate: {e}"))?
            };
            parse_pem_certs(&pem).map_err(|e| format!("caData: {e}"))
        }
        _ => Err("give exactly one of ca (a PEM file) or caData (base64 PEM): the identity \
                  provider's signing certificate"
            .into()),
    }
}

fn read_pem_certs(path: &str) -> Result<Vec<Vec<u8>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("reading {path}: {e}"))?;
    parse_pem_certs(&pem).map_err(|e| format!("{path}: {e}"))
}

/// Every certificate of a PEM bundle; anything else in it is an error (as in Dex).
fn parse_pem_certs(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate: {e}"))?;
    if certs.is_empty() {
        return Err("no certificate found".into());
    }
    Ok(certs)
}

const NAME_ID_FORMATS: &[&str] = &[
    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:WindowsDomainQualifiedName",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:encrypted",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:entity",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
];

/// `nameIDPolicyFormat` as Dex reads it: a full format URI or its last component; empty means
/// `persistent`. `None` for anything else.
pub fn name_id_format(configured: &str) -> Option<&'static str> {
    if configured.is_empty() {
        return Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent");
    }
    NAME_ID_FORMATS.iter().find(|f| **f == configured || f.rsplit(':').next() == Some(configured)).copied()
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn name_id_formats_by_suffix_or_in_full() {
        assert_eq!(name_id_format("emailAddress"), Some(NAME_ID_FORMATS[0]));
        assert_eq!(name_id_format(NAME_ID_FORMATS[8]), Some(NAME_ID_FORMATS[8]));
        assert_eq!(name_id_format("nope"), None);
    }

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/saml");

    fn config(extra: serde_json::Value) -> Result<SamlConfig, serde_json::Error> {
        let mut base = serde_json::json!({
            "ssoURL": "https://idp.example.com/sso",
            "ca": format!("{FIXTURES}/idp.crt"),
            "redirectURI": "https://tessera.example.com/callback",
            "usernameAttr": "name",
            "emailAttr": "email",
        });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        serde_json::from_value(base)
    }

    #[test]
    fn dex_config_opens_with_a_ca_file() {
        let settings = config(serde_json::json!({})).unwrap().resolve().unwrap();
        assert_eq!(settings.entity_id, "https://tessera.example.com/callback", "defaults to redirectURI");
        assert_eq!(settings.certs.unwrap().len(), 1);
        assert_eq!(settings.name_id_format, "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent");
        assert_eq!(settings.binding, SsoBinding::Post);
    }

    #[test]
    fn ca_data_is_base64_pem() {
        let pem = std::fs::read(format!("{FIXTURES}/idp.crt")).unwrap();
        let data = base64::engine::general_purpose::STANDARD.encode(pem);
        let settings = config(serde_json::json!({"ca": null, "caData": data})).unwrap().resolve().unwrap();
        assert_eq!(settings.certs.unwrap().len(), 1);
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(config(serde_json::json!({"ssoUrl": "x"})).is_err());
    }

    #[test]
    fn a_certificate_is_required_unless_explicitly_insecure() {
        let err = config(serde_json::json!({"ca": null})).unwrap().resolve().err().unwrap();
        assert!(err.to_string().contains("exactly one of ca"), "{err}");
        let both = config(serde_json::json!({"caData": "eA=="})).unwrap().resolve();
        assert!(both.is_err());
        let insecure = config(serde_json::json!({"ca": null, "insecureSkipSignatureValidation": true}))
            .unwrap()
            .resolve()
            .unwrap();
        assert!(insecure.certs.is_none());
    }

    #[test]
    fn every_problem_is_reported() {
        let err = config(serde_json::json!({"ssoURL": "", "emailAttr": "", "nameIDPolicyFormat": "bogus"}))
            .unwrap()
            .resolve()
            .err()
            .unwrap()
            .to_string();
        for expected in ["ssoURL is required", "emailAttr is required", "bogus"] {
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn garbage_in_the_certificate_file_is_refused() {
        assert!(parse_pem_certs(b"not pem").is_err());
    }
}
