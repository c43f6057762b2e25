//! Cross-field rules over the typed [`Config`]. Every broken rule becomes a [`Problem`] with
//! its YAML path and a fix; nothing stops at the first one.

use std::collections::HashMap;

use url::Url;

use super::{
    Config, DEX_CONNECTOR_TYPES, LOCAL_CONNECTOR_ID, Problem, SigningAlgorithm, StaticClient, StorageConfig,
};

/// Where Dex sends the device flow after login; clients may list it as a relative URI.
const DEVICE_CALLBACK: &str = "/device/callback";

impl Config {
    /// Checks every semantic rule and returns all problems (empty when the config is sound).
    /// [`super::load_str`] calls it; call it again after changing a config in code.
    pub fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::default();
        self.validate_issuer(&mut p);
        self.validate_storage(&mut p);
        self.validate_listeners(&mut p);
        self.validate_grpc(&mut p);
        self.validate_lifetimes(&mut p);
        self.validate_clients(&mut p);
        self.validate_passwords(&mut p);
        self.validate_connectors(&mut p);
        self.validate_frontend(&mut p);
        p.0
    }

    /// Connector configs their type does not accept, at their paths. `serve` skips such a
    /// connector, as one that fails to open, so the others keep working (and reports it at
    /// `/healthz/ready`); `check-config` fails on them.
    pub fn connector_problems(&self) -> Vec<&Problem> {
        self.connectors.iter().filter_map(|c| c.settings.as_ref().err()).collect()
    }

    /// What is allowed but worth saying at start and by `check-config`: each one names its
    /// path and what follows from it.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        let shared: Vec<String> = self
            .static_passwords
            .iter()
            .enumerate()
            .filter(|(_, pw)| pw.user_id.trim().is_empty())
            .map(|(i, _)| format!("staticPasswords[{i}]"))
            .collect();
        if !shared.is_empty() {
            warnings.push(format!(
                "{}: no userID (Dex accepts that too): every such user gets the same token subject \
                 (`sub`), so relying parties and Kubernetes RBAC cannot tell them apart; set a \
                 stable unique userID (e.g. a UUID) for each",
                shared.join(", ")
            ));
        }
        warnings
    }

    fn validate_issuer(&self, p: &mut Problems) {
        let issuer = &self.issuer;
        if !matches!(issuer.scheme(), "http" | "https") || !issuer.has_host() {
            p.add(
                "issuer",
                format!(
                    "{issuer} must be an absolute http(s) URL with a host, e.g. https://auth.example.com/dex"
                ),
            );
        }
        if issuer.query().is_some() || issuer.fragment().is_some() {
            p.add("issuer", format!("{issuer} must not have a query or fragment (OIDC Discovery §3); remove everything after the path"));
        }
        if !issuer.username().is_empty() || issuer.password().is_some() {
            p.add("issuer", "must not contain user credentials; remove the `user:password@` part");
        }
    }

    fn validate_storage(&self, p: &mut Problems) {
        match &self.storage {
            StorageConfig::Memory => {}
            StorageConfig::Sqlite3(sqlite) => {
                if sqlite.file.trim().is_empty() {
                    p.add(
                        "storage.config.file",
                        "the sqlite3 storage needs a file; set e.g. `file: /var/lib/tessera/tessera.db`",
                    );
                }
            }
            StorageConfig::Postgres(pg) => {
                if pg.ssl.cert_file.is_some() != pg.ssl.key_file.is_some() {
                    p.add("storage.config.ssl", "client certificate authentication needs both `certFile` and `keyFile`; set both or neither");
                }
            }
            StorageConfig::Mysql(my) => {
                if my.database.trim().is_empty() {
                    p.add(
                        "storage.config.database",
                        "the mysql storage needs a database; set e.g. `database: dex`",
                    );
                }
                if my.ssl.cert_file.is_some() != my.ssl.key_file.is_some() {
                    p.add("storage.config.ssl", "client certificate authentication needs both `certFile` and `keyFile`; set both or neither");
                }
                for (name, _) in &my.params {
                    if let Err(problem) = crate::storage::sql::check_session_variable(name) {
                        p.add(format!("storage.config.params.{name}"), problem);
                    }
                }
            }
        }
    }

    fn validate_listeners(&self, p: &mut Problems) {
        let web = &self.web;
        if web.http.is_none() && web.https.is_none() {
            p.add("web", "no address to listen on; set `http` (e.g. 0.0.0.0:5556) and/or `https`");
        }
        for (path, addr) in
            [("web.http", &web.http), ("web.https", &web.https), ("telemetry.http", &self.telemetry.http)]
        {
            if let Some(addr) = addr
                && !is_listen_addr(addr)
            {
                p.add(path, format!("{addr:?} is not host:port; write e.g. 0.0.0.0:5556 or 127.0.0.1:5556"));
            }
        }
        if let Some(telemetry) = &self.telemetry.http
            && (web.http.as_ref() == Some(telemetry) || web.https.as_ref() == Some(telemetry))
        {
            p.add("telemetry.http", "must differ from web.http and web.https; pick another port");
        }
        if web.http.is_some() && web.http == web.https {
            p.add("web.https", "must differ from web.http; pick another port");
        }
        if web.https.is_some() {
            if web.tls_cert.is_none() {
                p.add(
                    "web.tlsCert",
                    "`https` is set but no certificate; set `tlsCert` to a PEM certificate file",
                );
            }
            if web.tls_key.is_none() {
                p.add("web.tlsKey", "`https` is set but no private key; set `tlsKey` to a PEM key file");
            }
        }
        if let (Some(min), Some(max)) = (web.tls_min_version, web.tls_max_version)
            && min > max
        {
            p.add("web.tlsMinVersion", "is greater than tlsMaxVersion; lower it or raise tlsMaxVersion");
        }
        for (i, origin) in web.allowed_origins.iter().enumerate() {
            if origin != "*" && !is_origin(origin) {
                p.add(
                    format!("web.allowedOrigins[{i}]"),
                    format!("{origin:?} is not an origin; write scheme://host[:port] without path or trailing slash, or \"*\""),
                );
            }
        }
    }

    fn validate_grpc(&self, p: &mut Problems) {
        let grpc = &self.grpc;
        let Some(addr) = &grpc.addr else {
            return;
        };
        if !is_listen_addr(addr) {
            p.add("grpc.addr", format!("{addr:?} is not host:port; write e.g. 127.0.0.1:5557"));
            return;
        }
        let web = [&self.web.http, &self.web.https, &self.telemetry.http];
        if web.iter().any(|a| a.as_ref() == Some(addr)) {
            p.add("grpc.addr", "must differ from web.http, web.https and telemetry.http; pick another port");
        }
        if grpc.tls_cert.is_some() != grpc.tls_key.is_some() {
            p.add("grpc.tlsKey", "tlsCert and tlsKey go together; set both (PEM files) or neither");
        }
        if grpc.tls_client_ca.is_some() && !grpc.tls() {
            p.add("grpc.tlsClientCA", "needs tlsCert and tlsKey: client certificates are checked over TLS");
        }
        if !grpc.tls() && !grpc.allow_remote_plaintext && !is_loopback_addr(addr) {
            p.add(
                "grpc.addr",
                format!(
                    "{addr:?} is not a loopback address and the API has no TLS: anyone who reaches it could \
                     change clients and passwords. Set tlsCert, tlsKey and tlsClientCA, listen on \
                     127.0.0.1, or set allowRemotePlaintext: true (e.g. behind a mesh sidecar that does mTLS)"
                ),
            );
        }
    }

    fn validate_lifetimes(&self, p: &mut Problems) {
        let e = &self.expiry;
        for (path, value) in [
            ("expiry.idTokens", e.id_tokens),
            ("expiry.authRequests", e.auth_requests),
            ("expiry.deviceRequests", e.device_requests),
            ("expiry.authCodes", e.auth_codes),
            ("signer.config.keysRotationPeriod", self.signer.keys_rotation_period),
            ("sessions.absoluteLifetime", self.sessions.absolute_lifetime),
            ("sessions.validIfNotUsedFor", self.sessions.valid_if_not_used_for),
        ] {
            if value.is_zero() {
                p.add(path, "must be greater than zero; write a duration such as \"10m\" or \"24h\" (or remove it for the default)");
            }
        }
        let s = &self.sessions;
        if s.valid_if_not_used_for > s.absolute_lifetime {
            p.add(
                "sessions.validIfNotUsedFor",
                "exceeds sessions.absoluteLifetime; lower it or raise absoluteLifetime",
            );
        }
        let cookie_ok = !s.cookie_name.is_empty()
            && s.cookie_name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !cookie_ok {
            p.add(
                "sessions.cookieName",
                format!("{:?} is not a valid cookie name; use letters, digits, '-' and '_'", s.cookie_name),
            );
        }
    }

    fn validate_clients(&self, p: &mut Problems) {
        let issuer_path = self.issuer_path();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, c) in self.static_clients.iter().enumerate() {
            let at = |key: &str| format!("staticClients[{i}].{key}");
            if c.id.is_empty() {
                p.add(at("id"), "missing client id; set `id`, or `idEnv` naming a variable that holds it");
            } else if let Some(first) = seen.insert(c.id.as_str(), i) {
                p.add(
                    at("id"),
                    format!(
                        "duplicate client id {:?} (also staticClients[{first}]); client ids must be unique",
                        c.id
                    ),
                );
            }
            if c.name.trim().is_empty() {
                p.add(at("name"), "missing; set the name shown to users on the approval screen");
            }
            // A public client may have a secret, as in Dex; it must then present it. A client
            // with private_key_jwt proves itself with its key instead.
            let by_key = c.options.token_endpoint_auth_method
                == Some(crate::protocol::ClientAuthMethod::PrivateKeyJwt);
            if !c.public && c.secret.is_none() && !by_key {
                p.add(
                    at("secret"),
                    "a confidential client needs a secret; set `secret` (or `secretEnv`), or `public: true` for native and browser apps",
                );
            }
            for (k, uri) in c.redirect_uris.iter().enumerate() {
                if let Err(why) = check_redirect_uri(uri, &issuer_path) {
                    p.add(at(&format!("redirectURIs[{k}]")), why);
                }
            }
            for (k, uri) in c.post_logout_redirect_uris.iter().enumerate() {
                if let Err(why) = check_absolute_uri(uri) {
                    p.add(at(&format!("postLogoutRedirectURIs[{k}]")), why);
                }
            }
            if c.options.fapi2() {
                self.validate_fapi2_client(c, &at, p);
            }
        }
    }

    /// What the FAPI 2.0 profile asks of the server's signing key and of a static client's
    /// redirect URIs (its authentication is `ClientOptions::check`'s); the protocol rules
    /// (PAR, PKCE S256, DPoP, codes of 60 s) apply by themselves.
    fn validate_fapi2_client(&self, c: &StaticClient, at: &dyn Fn(&str) -> String, p: &mut Problems) {
        if self.signer.algorithm != SigningAlgorithm::ES256 {
            p.add(at("profile"), "fapi2 needs ES256 signatures: set `signer.config.algorithm: ES256`");
        }
        for (k, uri) in c.redirect_uris.iter().enumerate() {
            let loopback = ["http://127.0.0.1", "http://[::1]", "http://localhost"]
                .iter()
                .any(|l| uri.strip_prefix(l).is_some_and(|rest| rest.starts_with([':', '/'])));
            if !uri.starts_with("https://") && !loopback {
                p.add(
                    at(&format!("redirectURIs[{k}]")),
                    "fapi2 needs https redirect URIs (http only on a loopback address)",
                );
            }
        }
    }

    fn validate_passwords(&self, p: &mut Problems) {
        if !self.enable_password_db && !self.static_passwords.is_empty() {
            p.add(
                "staticPasswords",
                "static passwords need the password database; set `enablePasswordDB: true` or remove them",
            );
        }
        let mut emails: HashMap<&str, usize> = HashMap::new();
        let mut user_ids: HashMap<&str, usize> = HashMap::new();
        for (i, pw) in self.static_passwords.iter().enumerate() {
            let at = |key: &str| format!("staticPasswords[{i}].{key}");
            if !pw.email.contains('@') {
                p.add(at("email"), format!("{:?} is not an email address; users log in with it", pw.email));
            } else if let Some(first) = emails.insert(pw.email.as_str(), i) {
                p.add(at("email"), format!("duplicate email {:?} (also staticPasswords[{first}]; emails compare case-insensitively)", pw.email));
            }
            // An empty userID is allowed, as in Dex, and warned about (see `warnings`).
            if !pw.user_id.trim().is_empty()
                && let Some(first) = user_ids.insert(pw.user_id.as_str(), i)
            {
                p.add(
                    at("userID"),
                    format!(
                        "duplicate userID {:?} (also staticPasswords[{first}]); each user needs its own",
                        pw.user_id
                    ),
                );
            }
        }
    }

    fn validate_connectors(&self, p: &mut Problems) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, c) in self.connectors.iter().enumerate() {
            let at = |key: &str| format!("connectors[{i}].{key}");
            if c.id.is_empty() {
                p.add(
                    at("id"),
                    "missing; set a short unique id such as `github` (it appears in callback URLs)",
                );
            } else if c.id.as_str().contains('/') {
                p.add(
                    at("id"),
                    format!("{:?} contains '/'; connector ids are URL path segments, remove it", c.id),
                );
            } else if self.enable_password_db && c.id == LOCAL_CONNECTOR_ID {
                p.add(
                    at("id"),
                    "`local` is the password database's connector (enablePasswordDB); pick another id",
                );
            } else if let Some(first) = seen.insert(c.id.as_str(), i) {
                p.add(
                    at("id"),
                    format!(
                        "duplicate connector id {:?} (also connectors[{first}]); ids must be unique",
                        c.id
                    ),
                );
            }
            if c.kind.is_empty() {
                p.add(at("type"), format!("missing; set one of: {}", DEX_CONNECTOR_TYPES.join(", ")));
            } else if !DEX_CONNECTOR_TYPES.contains(&c.kind.as_str()) {
                p.add(
                    at("type"),
                    format!(
                        "unknown connector type {:?}; use one of: {}",
                        c.kind,
                        DEX_CONNECTOR_TYPES.join(", ")
                    ),
                );
            }
            if c.name.trim().is_empty() {
                p.add(at("name"), "missing; set the name shown on the login page");
            }
        }
        if let Some(name) = &self.oauth2.password_connector
            && !self.connector_ids().any(|id| *name == id)
        {
            let hint = if name == LOCAL_CONNECTOR_ID {
                "`local` needs `enablePasswordDB: true`".to_owned()
            } else {
                let mut ids: Vec<&str> = self.connector_ids().collect();
                ids.sort_unstable();
                ids.dedup();
                format!("configured connector ids: [{}]", ids.join(", "))
            };
            p.add("oauth2.passwordConnector", format!("{name:?} names no connector; {hint}"));
        }
    }

    fn validate_frontend(&self, p: &mut Problems) {
        let theme = self.frontend.theme.as_str();
        let ok = match self.frontend.dir {
            None => matches!(theme, "light" | "dark" | "auto"),
            Some(_) => !theme.contains('/') && !theme.contains('\\') && theme != "..",
        };
        if !ok {
            p.add(
                "frontend.theme",
                format!("unknown theme {theme:?}; use light, dark or auto (or a directory under `dir`/themes when `dir` is set)"),
            );
        }
    }
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem::new(path, message));
    }
}

/// `host:port` as Go's listeners take it (`:5556` and `[::1]:5556` included).
fn is_listen_addr(addr: &str) -> bool {
    let Some((host, port)) = addr.rsplit_once(':') else {
        return false;
    };
    let host_ok = if let Some(inner) = host.strip_prefix('[') {
        inner.ends_with(']')
    } else {
        !host.contains(':') && !host.contains('/')
    };
    host_ok && port.parse::<u16>().is_ok()
}

/// Whether a `host:port` listens only on the loopback interface.
fn is_loopback_addr(addr: &str) -> bool {
    let Some((host, _)) = addr.rsplit_once(':') else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `scheme://host[:port]`, exactly as a browser sends it in `Origin`.
fn is_origin(origin: &str) -> bool {
    Url::parse(origin).is_ok_and(|url| url.has_host() && url.origin().ascii_serialization() == origin)
}

fn check_absolute_uri(uri: &str) -> Result<(), String> {
    match Url::parse(uri) {
        Ok(url) if url.fragment().is_some() => Err(format!(
            "{uri:?} has a fragment, which redirect URIs must not have (RFC 6749 §3.1.2); remove the '#...' part"
        )),
        Ok(_) => Ok(()),
        Err(e) => {
            Err(format!("{uri:?} is not an absolute URI ({e}); write e.g. https://app.example.com/callback"))
        }
    }
}

/// Absolute without fragment, or Dex's relative device callback (`/device/callback`, or the
/// same under the issuer path).
fn check_redirect_uri(uri: &str, issuer_path: &str) -> Result<(), String> {
    if uri.starts_with('/') {
        if uri == DEVICE_CALLBACK || uri == format!("{issuer_path}{DEVICE_CALLBACK}") {
            return Ok(());
        }
        return Err(format!(
            "{uri:?} is relative; the only relative redirect URI is the device callback \
             ({issuer_path}{DEVICE_CALLBACK}); write an absolute URI such as https://app.example.com/callback"
        ));
    }
    check_absolute_uri(uri)
}
