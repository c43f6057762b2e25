//! The `ldap` connector's `config`, with Dex's keys, and its validation.
//!
//! [`LdapConfig`] is what the YAML says; [`LdapConfig::validate`] turns it into [`Settings`],
//! the normalised form the connector runs on (ports filled in, scopes parsed, the legacy
//! `groupSearch.userAttr`/`groupAttr` pair turned into a user matcher, the TLS client
//! configuration built). Every problem is reported at once, each with its key and a fix.

use super::conn::{Security, Target};
use base64::Engine;
use ldap3::Scope;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use std::sync::Arc;

/// `connectors[].config` of a `type: ldap` connector (Dex's `ldap.Config`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LdapConfig {
    /// `host` or `host:port`; without a port, 636 (LDAPS) or 389 (`insecureNoSSL`, `startTLS`).
    #[serde(default)]
    pub host: String,
    /// Plain LDAP without TLS. Passwords cross the network in the clear.
    #[serde(default, rename = "insecureNoSSL")]
    pub insecure_no_ssl: bool,
    /// Accept any server certificate. For tests only.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Connect in plain LDAP, then upgrade with the StartTLS operation (RFC 4513 §3).
    #[serde(default, rename = "startTLS")]
    pub start_tls: bool,
    /// A PEM file of the CAs that sign the server certificate (instead of the system's).
    #[serde(default, rename = "rootCA")]
    pub root_ca: String,
    /// The same as base64 of the PEM text (Dex's `[]byte` field); wins over `rootCA`.
    #[serde(default, rename = "rootCAData")]
    pub root_ca_data: String,
    /// A client certificate and key (PEM files) for TLS client authentication.
    #[serde(default)]
    pub client_cert: String,
    #[serde(default)]
    pub client_key: String,
    /// The service account that searches users and groups; both empty = anonymous search.
    #[serde(default, rename = "bindDN")]
    pub bind_dn: String,
    #[serde(default, rename = "bindPW")]
    pub bind_pw: crate::types::Secret,
    /// The label of the username field; empty = "Username".
    #[serde(default)]
    pub username_prompt: String,
    /// Dex's Kerberos (SPNEGO) settings: accepted so Dex configs load, not supported.
    #[serde(default)]
    pub kerberos: Option<serde_json::Value>,
    #[serde(default)]
    pub user_search: UserSearch,
    #[serde(default)]
    pub group_search: GroupSearch,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UserSearch {
    #[serde(default, rename = "baseDN")]
    pub base_dn: String,
    /// Extra filter ANDed with the username match, e.g. `(objectClass=person)`.
    #[serde(default)]
    pub filter: String,
    /// The attribute(s) the typed username is matched against: one name or a list.
    #[serde(default)]
    pub username: UsernameAttrs,
    /// `sub` (default) or `one`.
    #[serde(default)]
    pub scope: String,
    /// The user id (Dex's `user_id`, part of `sub`); `DN` means the entry's DN.
    #[serde(default)]
    pub id_attr: String,
    #[serde(default)]
    pub email_attr: String,
    #[serde(default)]
    pub name_attr: String,
    #[serde(default)]
    pub preferred_username_attr: String,
    /// When set, the email is `<nameAttr value>@<emailSuffix>` instead of `emailAttr`.
    #[serde(default)]
    pub email_suffix: String,
}

/// `userSearch.username`: Dex accepts a single attribute or a list of them.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "OneOrMany")]
pub struct UsernameAttrs(pub Vec<String>);

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl From<OneOrMany> for UsernameAttrs {
    fn from(value: OneOrMany) -> Self {
        match value {
            OneOrMany::One(s) if s.is_empty() => Self(Vec::new()),
            OneOrMany::One(s) => Self(vec![s]),
            OneOrMany::Many(v) => Self(v),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GroupSearch {
    /// Empty = no group search (no groups claim).
    #[serde(default, rename = "baseDN")]
    pub base_dn: String,
    #[serde(default)]
    pub filter: String,
    #[serde(default)]
    pub scope: String,
    /// Dex's deprecated single matcher, used when `userMatchers` is empty.
    #[serde(default)]
    pub user_attr: String,
    #[serde(default)]
    pub group_attr: String,
    /// Follow nested groups: the group attribute that holds a member group's DN. Applies to
    /// every matcher that sets none of its own.
    #[serde(default)]
    pub recursion_group_attr: String,
    #[serde(default)]
    pub user_matchers: Vec<UserMatcher>,
    /// The group attribute that becomes the group's name in the `groups` claim.
    #[serde(default)]
    pub name_attr: String,
}

/// A user is in a group when the group's `groupAttr` holds the user's `userAttr` value.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UserMatcher {
    pub user_attr: String,
    pub group_attr: String,
    #[serde(default)]
    pub recursion_group_attr: String,
}

/// The validated configuration the connector runs on.
#[derive(Debug)]
pub struct Settings {
    pub target: Target,
    /// `None` = anonymous search.
    pub service: Option<(String, crate::types::Secret)>,
    pub prompt: String,
    pub user: UserSettings,
    /// `None` = no group search.
    pub groups: Option<GroupSettings>,
}

#[derive(Debug)]
pub struct UserSettings {
    pub base_dn: String,
    pub filter: String,
    pub username_attrs: Vec<String>,
    pub scope: Scope,
    pub id_attr: String,
    pub email_attr: String,
    pub name_attr: String,
    pub preferred_username_attr: String,
    pub email_suffix: String,
}

#[derive(Debug)]
pub struct GroupSettings {
    pub base_dn: String,
    pub filter: String,
    pub scope: Scope,
    pub matchers: Vec<UserMatcher>,
    pub name_attr: String,
}

fn parse_scope(scope: &str) -> Option<Scope> {
    match scope {
        "" | "sub" => Some(Scope::Subtree),
        "one" => Some(Scope::OneLevel),
        _ => None,
    }
}

/// A filter given in the config must be one parenthesised filter: it is ANDed with ours.
fn check_filter(key: &str, filter: &str, problems: &mut Vec<String>) {
    if filter.is_empty() {
        return;
    }
    if !(filter.starts_with('(') && filter.ends_with(')')) {
        problems.push(format!(
            "{key}: {filter:?} must be an LDAP filter in parentheses, e.g. \"(objectClass=person)\""
        ));
    } else if ldap3::parse_filter(filter).is_err() {
        problems.push(format!("{key}: {filter:?} is not a valid LDAP filter (RFC 4515)"));
    }
}

impl LdapConfig {
    /// Checks the configuration and reads the certificate files it names.
    pub fn validate(self) -> Result<Settings, String> {
        let mut problems = Vec::new();
        let c = self;
        if c.host.is_empty() {
            problems.push("host: missing; set it to the directory's host or host:port".to_string());
        }
        if c.insecure_no_ssl && c.start_tls {
            tracing::warn!(
                "ldap: insecureNoSSL and startTLS are both set; insecureNoSSL wins (no TLS), as in Dex"
            );
        }
        if c.bind_dn.is_empty() != c.bind_pw.is_empty() {
            problems.push(
                "bindDN/bindPW: set both for a service account, or neither for anonymous search".into(),
            );
        }
        if c.client_cert.is_empty() != c.client_key.is_empty() {
            problems.push("clientCert/clientKey: set both (PEM files) or neither".into());
        }
        if c.kerberos.as_ref().and_then(|k| k.get("enabled")).and_then(serde_json::Value::as_bool)
            == Some(true)
        {
            tracing::warn!("ldap: kerberos (SPNEGO) is not supported; users log in with the password form");
        }

        let u = &c.user_search;
        if u.base_dn.is_empty() {
            problems.push("userSearch.baseDN: missing; the subtree to search users in".into());
        }
        let username_attrs: Vec<String> = u.username.0.iter().filter(|a| !a.is_empty()).cloned().collect();
        if username_attrs.is_empty() {
            problems.push(
                "userSearch.username: missing; the attribute(s) matched against the typed username, e.g. uid"
                    .into(),
            );
        }
        let user_scope = parse_scope(&u.scope);
        if user_scope.is_none() {
            problems.push(format!("userSearch.scope: {:?} is not \"sub\" or \"one\"", u.scope));
        }
        if u.id_attr.is_empty() {
            problems.push(
                "userSearch.idAttr: missing; the attribute with the user's stable id (uid, DN, …)".into(),
            );
        }
        if u.email_attr.is_empty() && u.email_suffix.is_empty() {
            problems.push(
                "userSearch.emailAttr: missing; set it (e.g. mail) or set userSearch.emailSuffix".into(),
            );
        }
        if !u.email_suffix.is_empty() && u.name_attr.is_empty() {
            problems.push(
                "userSearch.emailSuffix: needs userSearch.nameAttr (the email is <name>@<suffix>)".into(),
            );
        }
        check_filter("userSearch.filter", &u.filter, &mut problems);

        let g = &c.group_search;
        let group_scope = parse_scope(&g.scope);
        if group_scope.is_none() {
            problems.push(format!("groupSearch.scope: {:?} is not \"sub\" or \"one\"", g.scope));
        }
        check_filter("groupSearch.filter", &g.filter, &mut problems);
        let matchers = user_matchers(g);
        if !g.base_dn.is_empty() {
            if g.name_attr.is_empty() {
                problems.push(
                    "groupSearch.nameAttr: missing; the group attribute used as its name, e.g. cn".into(),
                );
            }
            if matchers.is_empty() {
                problems.push(
                    "groupSearch.userMatchers: missing; e.g. [{userAttr: DN, groupAttr: member}]".into(),
                );
            }
            for (i, m) in matchers.iter().enumerate() {
                if m.user_attr.is_empty() || m.group_attr.is_empty() {
                    problems
                        .push(format!("groupSearch.userMatchers[{i}]: needs both userAttr and groupAttr"));
                }
            }
        }

        let security = if c.insecure_no_ssl {
            Security::None
        } else {
            match tls_config(&c) {
                Ok(config) if c.start_tls => Security::StartTls(config),
                Ok(config) => Security::Ldaps(config),
                Err(e) => {
                    problems.push(e);
                    Security::None
                }
            }
        };
        let target = match Target::parse(&c.host, security) {
            Ok(t) => Some(t),
            Err(e) => {
                if !c.host.is_empty() {
                    problems.push(format!("host: {e}"));
                }
                None
            }
        };

        match (problems.is_empty(), target, user_scope, group_scope) {
            (true, Some(target), Some(user_scope), Some(group_scope)) => Ok(Settings {
                target,
                service: (!c.bind_dn.is_empty()).then(|| (c.bind_dn.clone(), c.bind_pw.clone())),
                prompt: c.username_prompt.clone(),
                groups: (!g.base_dn.is_empty()).then(|| GroupSettings {
                    base_dn: g.base_dn.clone(),
                    filter: g.filter.clone(),
                    scope: group_scope,
                    matchers,
                    name_attr: g.name_attr.clone(),
                }),
                user: UserSettings {
                    base_dn: u.base_dn.clone(),
                    filter: u.filter.clone(),
                    username_attrs,
                    scope: user_scope,
                    id_attr: u.id_attr.clone(),
                    email_attr: u.email_attr.clone(),
                    name_attr: u.name_attr.clone(),
                    preferred_username_attr: u.preferred_username_attr.clone(),
                    email_suffix: u.email_suffix.clone(),
                },
            }),
            _ => Err(problems.join("; ")),
        }
    }
}

/// `userMatchers`, or Dex's deprecated `userAttr`/`groupAttr` pair when there are none.
/// `groupSearch.recursionGroupAttr` fills in matchers that set no recursion attribute.
fn user_matchers(g: &GroupSearch) -> Vec<UserMatcher> {
    let mut matchers = if !g.user_matchers.is_empty() {
        if !g.user_attr.is_empty() || !g.group_attr.is_empty() {
            tracing::warn!("ldap: groupSearch.userAttr/groupAttr are ignored because userMatchers is set");
        }
        g.user_matchers.clone()
    } else if !g.user_attr.is_empty() || !g.group_attr.is_empty() {
        tracing::warn!("ldap: groupSearch.userAttr/groupAttr are deprecated; use groupSearch.userMatchers");
        vec![UserMatcher {
            user_attr: g.user_attr.clone(),
            group_attr: g.group_attr.clone(),
            recursion_group_attr: String::new(),
        }]
    } else {
        Vec::new()
    };
    for m in &mut matchers {
        if m.recursion_group_attr.is_empty() {
            m.recursion_group_attr = g.recursion_group_attr.clone();
        }
    }
    matchers
}

/// The TLS client configuration: the configured roots (or the system's), the optional client
/// certificate, and no verification at all only when `insecureSkipVerify` says so.
fn tls_config(c: &LdapConfig) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let pem = if !c.root_ca_data.is_empty() {
        Some(decode_root_ca_data(&c.root_ca_data)?)
    } else if !c.root_ca.is_empty() {
        Some(std::fs::read(&c.root_ca).map_err(|e| format!("rootCA: reading {}: {e}", c.root_ca))?)
    } else {
        None
    };
    match pem {
        Some(pem) => {
            let key = if c.root_ca_data.is_empty() { "rootCA" } else { "rootCAData" };
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| format!("{key}: not PEM certificates: {e}"))?;
                roots.add(cert).map_err(|e| format!("{key}: unusable certificate: {e}"))?;
            }
            if roots.is_empty() {
                return Err(format!("{key}: no certificate found in the PEM data"));
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            for e in &native.errors {
                tracing::warn!(error = %e, "ldap: reading a system root certificate failed");
            }
            roots.add_parsable_certificates(native.certs);
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS settings: {e}"))?
        .with_root_certificates(roots);
    let mut config = if c.client_cert.is_empty() {
        builder.with_no_client_auth()
    } else {
        let chain = CertificateDer::pem_file_iter(&c.client_cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("clientCert: reading {}: {e}", c.client_cert))?;
        let key = PrivateKeyDer::from_pem_file(&c.client_key)
            .map_err(|e| format!("clientKey: reading {}: {e}", c.client_key))?;
        builder.with_client_auth_cert(chain, key).map_err(|e| format!("clientCert/clientKey: {e}"))?
    };
    if c.insecure_skip_verify {
        tracing::warn!("ldap: insecureSkipVerify is set; the directory's certificate is not checked");
        config.dangerous().set_certificate_verifier(Arc::new(super::conn::NoVerification(provider)));
    }
    Ok(Arc::new(config))
}

/// `rootCAData` is base64 of PEM (Dex's `[]byte`); line breaks are tolerated, and so is the
/// PEM text itself.
fn decode_root_ca_data(data: &str) -> Result<Vec<u8>, String> {
    if data.trim_start().starts_with("-----BEGIN") {
        return Ok(data.as_bytes().to_vec());
    }
    let compact: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| format!("rootCAData: not base64 ({e}); use the output of `base64 -w0 ca.pem`"))
}
