//! Loading whole files: the example, a Dex-style config, and every kind of problem.

use std::collections::HashMap;
use std::time::Duration;

use super::*;

mod problems;

const EXAMPLE: &str = include_str!("../../config.example.yaml");
const BCRYPT: &str = "$2a$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W";

fn no_env(_: &str) -> Option<String> {
    None
}

fn load(yaml: &str) -> Result<Loaded, ConfigError> {
    load_str_with_env(yaml, &no_env)
}

fn load_with(yaml: &str, vars: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
    let vars: HashMap<String, String> =
        vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    load_str_with_env(yaml, &move |name: &str| vars.get(name).cloned())
}

fn ok(yaml: &str) -> Loaded {
    load(yaml).unwrap_or_else(|e| panic!("expected the config to load:\n{e}"))
}

fn problems(yaml: &str) -> Vec<Problem> {
    match load(yaml) {
        Ok(_) => panic!("expected problems"),
        Err(e) => e.problems,
    }
}

fn has(problems: &[Problem], path: &str, needle: &str) -> bool {
    problems.iter().any(|p| p.path == path && p.message.contains(needle))
}

/// The smallest valid file, to which tests append sections.
const MINIMAL: &str = "
issuer: https://auth.example.com
storage:
  type: memory
web:
  http: 0.0.0.0:5556
";

#[test]
fn example_loads_without_problems_or_warnings() {
    let loaded = ok(EXAMPLE);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let c = loaded.config;
    assert_eq!(c.issuer.as_str(), "http://127.0.0.1:5556/dex");
    assert_eq!(c.issuer_path(), "/dex");
    assert_eq!(c.storage, StorageConfig::Sqlite3(SqliteConfig { file: "tessera.db".into() }));
    assert_eq!(c.web.http.as_deref(), Some("127.0.0.1:5556"));
    assert_eq!(c.telemetry.http.as_deref(), Some("127.0.0.1:5558"));
    assert_eq!(c.static_clients.len(), 2);
    let app = &c.static_clients[0];
    assert_eq!(app.id, "example-app");
    assert_eq!(app.secret.as_ref().map(Secret::expose), Some("ZXhhbXBsZS1hcHAtc2VjcmV0"));
    assert_eq!(app.redirect_uris, ["http://127.0.0.1:5555/callback"]);
    let kubectl = &c.static_clients[1];
    assert!(kubectl.public && kubectl.secret.is_none() && kubectl.redirect_uris.is_empty());
    assert!(c.enable_password_db);
    assert_eq!(c.static_passwords[0].email, "admin@example.com");
    assert_eq!(c.static_passwords[0].hash.expose(), BCRYPT);
    assert!(c.connectors.is_empty());
    assert_eq!(c.connector_ids().collect::<Vec<_>>(), ["local"]);
}

#[test]
fn defaults_follow_dex() {
    let c = ok(MINIMAL).config;
    let h = |n: u64| Duration::from_secs(n * 3600);
    assert_eq!(c.issuer_path(), "");
    assert_eq!(c.expiry.id_tokens, h(24));
    assert_eq!(c.expiry.auth_requests, h(24));
    assert_eq!(c.expiry.device_requests, Duration::from_secs(300));
    assert_eq!(c.expiry.auth_codes, Duration::from_secs(600));
    assert_eq!(c.refresh_tokens(), &RefreshTokenPolicy::default());
    assert_eq!(c.signer.keys_rotation_period, h(6));
    assert_eq!(c.signer.algorithm, SigningAlgorithm::RS256);
    assert_eq!(c.logger, LoggerConfig::default());
    assert_eq!(c.oauth2.response_types, [ResponseType::Code]);
    assert_eq!(
        c.oauth2.grant_types,
        [
            GrantType::AuthorizationCode,
            GrantType::Implicit,
            GrantType::Password,
            GrantType::RefreshToken,
            GrantType::DeviceCode,
            GrantType::TokenExchange,
        ]
    );
    // Dex narrows what it serves: no implicit without `token`, no password without a connector.
    assert_eq!(
        c.oauth2.effective_grant_types(),
        [
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::DeviceCode,
            GrantType::TokenExchange
        ]
    );
    assert_eq!(c.oauth2.pkce.code_challenge_methods_supported, [PkceMethod::S256, PkceMethod::Plain]);
    assert!(!c.oauth2.pkce.enforce && !c.oauth2.skip_approval_screen);
    assert_eq!(c.web.allowed_headers, ["Authorization"]);
    assert_eq!(c.frontend.theme, "light");
    assert_eq!(c.sessions.cookie_name, "tessera_session");
    assert_eq!(c.sessions.absolute_lifetime, h(24));
    assert_eq!(c.sessions.valid_if_not_used_for, h(1));
}

#[test]
fn client_credentials_default_follows_the_dex_flag() {
    let c = load_with(MINIMAL, &[("DEX_CLIENT_CREDENTIAL_GRANT_ENABLED_BY_DEFAULT", "true")]).unwrap().config;
    assert!(c.oauth2.grant_types.contains(&GrantType::ClientCredentials));
}

/// Equivalent in shape to Dex's `examples/config-dev.yaml`: every key a Dex developer setup
/// uses, including ones Tessera does not build.
const DEX_DEV: &str = r#"
issuer: http://127.0.0.1:5556/dex
storage:
  type: sqlite3
  config:
    file: examples/dex.db
web:
  http: 0.0.0.0:5556
  clientRemoteIP:
    header: X-Forwarded-For
    trustedProxies: [10.0.0.0/8]
telemetry:
  http: 0.0.0.0:5558
  enableProfiling: true
grpc:
  addr: 127.0.0.1:5557
expiry:
  deviceRequests: "5m"
  signingKeys: "6h"
  idTokens: "24h"
  refreshTokens:
    reuseInterval: "3s"
    validIfNotUsedFor: "2160h"
    absoluteLifetime: "3960h"
sessions:
  cookieName: "dex_session"
  absoluteLifetime: "24h"
  validIfNotUsedFor: "1h"
logger:
  level: "debug"
  format: "text"
oauth2:
  grantTypes:
    - "authorization_code"
    - "refresh_token"
    - "client_credentials"
    - "urn:ietf:params:oauth:grant-type:device_code"
    - "urn:ietf:params:oauth:grant-type:token-exchange"
    - "password"
  passwordConnector: local
mfa:
  authenticators:
  - id: totp-1
    type: TOTP
staticClients:
- id: example-app
  redirectURIs:
  - 'http://127.0.0.1:5555/callback'
  - '/dex/device/callback'
  postLogoutRedirectURIs:
  - 'http://127.0.0.1:5555/'
  backchannelLogoutURI: 'http://127.0.0.1:5555/backchannel-logout'
  name: 'Example App'
  secret: ZXhhbXBsZS1hcHAtc2VjcmV0
  mfaChain: [totp-1]
- id: example-device-client
  redirectURIs:
  - /device/callback
  name: 'Static Client for Device Flow'
  public: true
connectors:
- type: mockCallback
  id: mock
  name: Example
- type: google
  id: google
  name: Google
  config:
    issuer: https://accounts.google.com
    clientID: $GOOGLE_CLIENT_ID
    clientSecret: $GOOGLE_CLIENT_SECRET
    redirectURI: http://127.0.0.1:5556/dex/callback
    hostedDomains:
    - $GOOGLE_HOSTED_DOMAIN
enablePasswordDB: true
staticPasswords:
- email: "admin@example.com"
  hash: "$2a$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W"
  username: "admin"
  name: "Admin User"
  emailVerified: true
  preferredUsername: "admin"
  groups: ["team-a", "team-a/admins"]
  userID: "08a8684b-db88-4b73-90a9-3cd1661f5466"
signer:
  type: local
  config:
    keysRotationPeriod: "6h"
    algorithm: "RS256"
"#;

#[test]
fn dex_dev_config_loads_with_only_warnings() {
    let env = [
        ("GOOGLE_CLIENT_ID", "id-from-env"),
        ("GOOGLE_CLIENT_SECRET", "secret-from-env"),
        ("GOOGLE_HOSTED_DOMAIN", "example.com"),
    ];
    let loaded = load_with(DEX_DEV, &env).unwrap_or_else(|e| panic!("{e}"));
    let w = loaded.warnings.join("\n");
    for key in ["mfa:", "telemetry.enableProfiling:", "staticClients[0].mfaChain:", "expiry.signingKeys:"] {
        assert!(w.contains(key), "missing warning for {key} in:\n{w}");
    }
    assert_eq!(loaded.warnings.len(), 4, "{w}");
    assert_eq!(loaded.config.grpc.addr.as_deref(), Some("127.0.0.1:5557"), "Dex's gRPC API is served");
    let trusted = &loaded.config.web.client_address;
    assert!(trusted.trusts("10.1.2.3".parse().unwrap()), "Dex's clientRemoteIP is applied");
    let c = loaded.config;
    assert_eq!(c.logger.level, LogLevel::Debug);
    assert_eq!(c.sessions.cookie_name, "dex_session");
    assert_eq!(c.expiry.refresh_tokens.reuse_interval, Duration::from_secs(3));
    assert_eq!(c.expiry.refresh_tokens.valid_if_not_used_for, Some(Duration::from_secs(2160 * 3600)));
    assert!(c.oauth2.grant_types.contains(&GrantType::ClientCredentials));
    assert_eq!(c.connectors[0].config, serde_json::json!({}));
    assert_eq!(c.connectors[1].config["clientSecret"], "secret-from-env");
    assert_eq!(c.connectors[1].config["hostedDomains"][0], "example.com");
    assert!(c.oauth2.effective_grant_types().contains(&GrantType::Password));
}

#[test]
fn client_and_password_env_vars_are_read_at_load() {
    let yaml = format!(
        "{MINIMAL}enablePasswordDB: true
staticClients:
- idEnv: APP_ID
  secretEnv: APP_SECRET
  name: App
  redirectURIs: [https://app.example.com/cb]
staticPasswords:
- email: Admin@Example.com
  hashFromEnv: ADMIN_HASH
  userID: u1
"
    );
    let c = load_with(&yaml, &[("APP_ID", "app"), ("APP_SECRET", "s3cret"), ("ADMIN_HASH", BCRYPT)])
        .unwrap()
        .config;
    assert_eq!(c.static_clients[0].id, "app");
    assert_eq!(c.static_clients[0].secret, Some(Secret::new("s3cret")));
    assert_eq!(c.static_passwords[0].email, "admin@example.com");
    assert_eq!(c.static_passwords[0].hash.expose(), BCRYPT);

    let err = load_with(&yaml, &[("APP_ID", "app")]).unwrap_err();
    assert!(has(&err.problems, "staticClients[0].secretEnv", "APP_SECRET is not set"), "{err}");
    assert!(has(&err.problems, "staticPasswords[0].hashFromEnv", "ADMIN_HASH is not set"), "{err}");
}

#[test]
fn connector_and_storage_config_expand_env_like_dex() {
    let yaml = "
issuer: https://a.example
storage:
  type: postgres
  config:
    host: ${PG_HOST}:6543
    port: $PG_PORT
    password: $PG_PASS
    ssl: {mode: disable}
web: {http: ':5556'}
connectors:
- type: oidc
  id: corp
  name: Corp
  config:
    clientSecret: pre-$SECRET-post
    scopes: [openid, $EXTRA_SCOPE]
    nested: {value: '${SECRET}'}
    literal: 'costs $5'
";
    let env = [
        ("PG_HOST", "db"),
        ("PG_PORT", "1234"),
        ("PG_PASS", "pw"),
        ("SECRET", "x"),
        ("EXTRA_SCOPE", "groups"),
    ];
    let loaded = load_with(yaml, &env).unwrap_or_else(|e| panic!("{e}"));
    let StorageConfig::Postgres(pg) = &loaded.config.storage else { panic!("postgres expected") };
    assert_eq!((pg.host.as_str(), pg.port), ("db", 6543), "host:port wins over port, as in Dex");
    assert_eq!(pg.password.expose(), "pw");
    assert_eq!(pg.ssl.mode, PostgresSslMode::Disable);
    assert_eq!(pg.max_open_conns, 5);
    let cfg = &loaded.config.connectors[0].config;
    assert_eq!(cfg["clientSecret"], "pre-x-post");
    assert_eq!(cfg["scopes"], serde_json::json!(["openid", "groups"]));
    assert_eq!(cfg["nested"]["value"], "x");
    assert_eq!(cfg["literal"], "costs ", "as in Go, $5 is the (unset) variable named 5");
    assert!(loaded.warnings.iter().any(|w| w.contains("5 is not set")), "{:?}", loaded.warnings);

    // DEX_EXPAND_ENV=false turns it off; TESSERA_EXPAND_ENV takes precedence.
    let mut off = env.to_vec();
    off.push(("DEX_EXPAND_ENV", "false"));
    let c = load_with(&yaml.replace("$PG_PORT", "5432"), &off).unwrap().config;
    assert_eq!(c.connectors[0].config["clientSecret"], "pre-$SECRET-post");
    off.push(("TESSERA_EXPAND_ENV", "true"));
    let c = load_with(&yaml.replace("$PG_PORT", "5432"), &off).unwrap().config;
    assert_eq!(c.connectors[0].config["clientSecret"], "pre-x-post");
}

/// A Dex `type: mysql` storage section loads unchanged, with Dex's defaults for the rest.
#[test]
fn dex_mysql_storage_loads() {
    let yaml = "
issuer: https://a.example
storage:
  type: mysql
  config:
    host: db.example.com
    port: 3307
    database: dex
    user: dex
    password: $MYSQL_PASSWORD
    ssl:
      mode: \"false\"
web: {http: ':5556'}
";
    let loaded = load_with(yaml, &[("MYSQL_PASSWORD", "pw")]).unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let StorageConfig::Mysql(my) = &loaded.config.storage else { panic!("mysql expected") };
    assert_eq!((my.host.as_str(), my.port), ("db.example.com", 3307));
    assert_eq!((my.database.as_str(), my.user.as_str(), my.password.expose()), ("dex", "dex", "pw"));
    assert_eq!(my.ssl.mode, MysqlSslMode::Disabled);
    assert_eq!((my.ssl.ca_file.as_ref(), my.connection_timeout, my.conn_max_lifetime), (None, None, None));
    assert_eq!((my.max_open_conns, my.max_idle_conns), (5, 0));
    assert!(my.params.is_empty());
}

#[test]
fn mysql_ssl_modes_hosts_and_params() {
    let mysql = |config: &str| {
        let yaml = format!(
            "issuer: https://a.example\nweb: {{http: ':1'}}\nstorage:\n  type: mysql\n  config: {config}\n"
        );
        let loaded = ok(&yaml);
        let StorageConfig::Mysql(my) = loaded.config.storage else { panic!("mysql expected") };
        (my, loaded.warnings)
    };
    // Go's MySQL driver's `tls` words; unset is `true`, the strictest.
    for (mode, expected) in [
        ("", MysqlSslMode::Verify),
        ("true", MysqlSslMode::Verify),
        ("\"1\"", MysqlSslMode::Verify),
        ("false", MysqlSslMode::Disabled),
        ("skip-verify", MysqlSslMode::SkipVerify),
        ("PREFERRED", MysqlSslMode::Preferred),
    ] {
        let (my, _) = mysql(&format!("{{database: d, ssl: {{mode: {mode}}}}}"));
        assert_eq!(my.ssl.mode, expected, "{mode}");
    }
    // Files mean verified TLS whatever the mode, as in Dex; a contrary mode is pointed out.
    let (my, warnings) = mysql("{database: d, ssl: {mode: \"false\", caFile: /etc/ca.pem}}");
    assert_eq!(my.ssl.mode, MysqlSslMode::Verify);
    assert_eq!(my.ssl.ca_file, Some(PathBuf::from("/etc/ca.pem")));
    assert!(warnings.iter().any(|w| w.starts_with("storage.config.ssl.mode: ")), "{warnings:?}");

    let (my, _) = mysql("{database: d, host: 'db:3310'}");
    assert_eq!((my.host.as_str(), my.port), ("db", 3310));
    let (my, _) = mysql("{database: d, host: /run/mysqld/mysqld.sock}");
    assert_eq!((my.host.as_str(), my.port), ("/run/mysqld/mysqld.sock", 3306));
    let (my, _) = mysql("{database: d}");
    assert_eq!((my.host.as_str(), my.port), ("127.0.0.1", 3306), "Dex's driver's default");

    let (my, _) = mysql(
        "{database: d, params: {innodb_lock_wait_timeout: '10', foreign_key_checks: true, storage_engine: InnoDB}}",
    );
    assert_eq!(
        my.params,
        vec![
            ("foreign_key_checks".to_owned(), MysqlParam::Integer(1)),
            ("innodb_lock_wait_timeout".to_owned(), MysqlParam::Integer(10)),
            ("storage_engine".to_owned(), MysqlParam::Text("InnoDB".into())),
        ]
    );
}

#[test]
fn durations_parse_go_syntax_everywhere() {
    let yaml = format!(
        "{MINIMAL}expiry:
  idTokens: 10m30s
  authRequests: 1.5h
  deviceRequests: 300ms
  authCodes: 45s
  refreshTokens:
    reuseInterval: 0
    validIfNotUsedFor: \"0\"
    absoluteLifetime: 720h
    disableRotation: true
signer:
  config:
    keysRotationPeriod: 12h
    algorithm: ES256
sessions:
  absoluteLifetime: 8h
  validIfNotUsedFor: 30m
"
    );
    let c = ok(&yaml).config;
    assert_eq!(c.expiry.id_tokens, Duration::from_secs(630));
    assert_eq!(c.expiry.auth_requests, Duration::from_secs(5400));
    assert_eq!(c.expiry.device_requests, Duration::from_millis(300));
    assert_eq!(c.expiry.auth_codes, Duration::from_secs(45));
    let rt = c.refresh_tokens();
    assert_eq!(rt.reuse_interval, Duration::ZERO);
    assert_eq!(rt.valid_if_not_used_for, None, "0 means unlimited");
    assert_eq!(rt.absolute_lifetime, Some(Duration::from_secs(720 * 3600)));
    assert!(rt.disable_rotation);
    assert_eq!(c.signer.keys_rotation_period, Duration::from_secs(12 * 3600));
    assert_eq!(c.signer.algorithm, SigningAlgorithm::ES256);
    assert_eq!(c.sessions.valid_if_not_used_for, Duration::from_secs(1800));

    let p = problems(&format!("{MINIMAL}expiry:\n  idTokens: 24\nsessions:\n  validIfNotUsedFor: 48h\n"));
    assert!(has(&p, "expiry.idTokens", "no unit"), "{p:?}");
    assert!(has(&p, "sessions.validIfNotUsedFor", "exceeds sessions.absoluteLifetime"), "{p:?}");
}

#[test]
fn signing_keys_is_reconciled_with_the_signer() {
    let both = format!(
        "{MINIMAL}expiry: {{signingKeys: 2h}}\nsigner: {{type: local, config: {{keysRotationPeriod: 3h}}}}\n"
    );
    let loaded = ok(&both);
    assert_eq!(loaded.config.signer.keys_rotation_period, Duration::from_secs(3 * 3600));
    assert!(loaded.warnings.iter().any(|w| w.contains("using signer.config.keysRotationPeriod")));
    let only_expiry = format!("{MINIMAL}expiry: {{signingKeys: 2h}}\n");
    let loaded = ok(&only_expiry);
    assert_eq!(loaded.config.signer.keys_rotation_period, Duration::from_secs(2 * 3600));
    assert!(loaded.warnings.iter().any(|w| w.contains("deprecated")));
}

#[test]
fn hash_formats_are_normalised() {
    use base64::Engine;
    let argon =
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$x6Fp4/1RbOyQ3mNgwLT0/hXBmR4Bvd5ml6g9qVKbkqk";
    let b64 = base64::engine::general_purpose::STANDARD.encode(BCRYPT);
    let yaml = format!(
        "{MINIMAL}enablePasswordDB: true
staticPasswords:
- {{email: a@x.io, userID: a, hash: '{BCRYPT}'}}
- {{email: b@x.io, userID: b, hash: '{b64}'}}
- {{email: c@x.io, userID: c, hash: '{argon}'}}
"
    );
    let c = ok(&yaml).config;
    let hashes: Vec<&str> = c.static_passwords.iter().map(|p| p.hash.expose()).collect();
    assert_eq!(hashes, [BCRYPT, BCRYPT, argon]);
}

#[test]
fn secrets_never_print() {
    let debug = format!("{:?}", ok(EXAMPLE).config);
    assert!(!debug.contains("ZXhhbXBsZS1hcHAtc2VjcmV0"), "client secret leaked");
    assert!(!debug.contains(BCRYPT), "password hash leaked");
    assert!(debug.contains("[redacted]"));
}

#[test]
fn yaml_quirks_dex_tolerates() {
    // Empty sections (`web:` alone is null), unquoted version numbers, header names as keys.
    let yaml = "
issuer: https://a.example/
storage:
  type: memory
  config:
web:
  https: 0.0.0.0:5554
  tlsCert: /c.pem
  tlsKey: /k.pem
  tlsMinVersion: 1.2
  headers:
    X-Frame-Options: DENY
    strictTransportSecurity: max-age=60
telemetry:
oauth2:
  responseTypes: ['code', 'id_token code', token]
connectors:
staticClients:
";
    let c = ok(yaml).config;
    assert_eq!(c.issuer_path(), "");
    assert_eq!(c.web.tls_min_version, Some(TlsVersion::V1_2));
    assert_eq!(
        c.web.headers.pairs(),
        [("X-Frame-Options", "DENY"), ("Strict-Transport-Security", "max-age=60")]
    );
    assert_eq!(c.oauth2.response_types, [ResponseType::Code, ResponseType::CodeIdToken, ResponseType::Token]);
    assert!(c.oauth2.effective_grant_types().contains(&GrantType::Implicit));
}

#[test]
fn example_admin_password_is_password() {
    let c = ok(EXAMPLE).config;
    assert!(bcrypt::verify("password", c.static_passwords[0].hash.expose()).unwrap());
}

/// Dex decodes its config with Go's JSON decoder, which matches keys ignoring case; a Dex
/// config spelt `redirectUris`, `clientId` or `EnablePasswordDB` runs there, so it loads here.
#[test]
fn keys_match_ignoring_case_as_on_dex() {
    let loaded = ok(&format!(
        "{MINIMAL}EnablePasswordDB: true\nstaticClients:\n- ID: app\n  Name: App\n  secret: s\n  \
         redirectUris: [https://app.example.com/cb]\n  TRUSTEDPEERS: [other]\n\
         connectors:\n- type: oidc\n  id: up\n  name: Up\n  config:\n    issuer: https://up.example.com\n    \
         clientId: tessera\n    clientSecret: x\n    redirectUri: https://auth.example.com/callback\n"
    ));
    let c = loaded.config;
    assert!(c.enable_password_db);
    assert_eq!(c.static_clients[0].id, "app");
    assert_eq!(c.static_clients[0].redirect_uris, ["https://app.example.com/cb"]);
    assert_eq!(c.static_clients[0].trusted_peers, ["other"]);
    // Connector configs are parsed when the connector opens; the keys fold there too.
    let oidc: crate::connector::oidc::config::Config = from_value(c.connectors[0].config.clone()).unwrap();
    assert_eq!(oidc.client_id, "tessera");
    // A key that matches nothing in any case is still an error.
    let p =
        problems(&format!("{MINIMAL}staticClients:\n- id: a\n  name: A\n  secret: s\n  redirectUrl: [x]\n"));
    assert!(has(&p, "staticClients[0].redirectUrl", "unknown field"), "{p:?}");
}

/// Dex accepts a public client with a secret (its token-exchange guide has one).
#[test]
fn a_public_client_may_have_a_secret() {
    let c = ok(&format!("{MINIMAL}staticClients:\n- id: x\n  name: X\n  public: true\n  secret: s\n")).config;
    assert!(c.static_clients[0].public);
    assert_eq!(c.static_clients[0].secret.as_ref().map(|s| s.expose().to_string()), Some("s".into()));
}

/// Dex accepts a static password without `userID`; every such user shares one subject, which
/// is said, naming each entry.
#[test]
fn a_static_password_without_user_id_loads_with_a_warning() {
    let loaded = ok(&format!(
        "{MINIMAL}enablePasswordDB: true\nstaticPasswords:\n- email: a@example.com\n  hash: \"{BCRYPT}\"\n  \
         username: a\n- email: b@example.com\n  hash: \"{BCRYPT}\"\n  username: b\n  userID: b-id\n\
         - email: c@example.com\n  hash: \"{BCRYPT}\"\n  username: c\n"
    ));
    let warning = loaded.warnings.iter().find(|w| w.contains("userID")).expect("a warning");
    assert!(warning.starts_with("staticPasswords[0], staticPasswords[2]:"), "{warning}");
    assert!(warning.contains("same token subject"), "{warning}");
}

#[test]
fn every_dex_connector_type_loads_without_a_warning() {
    let loaded = ok(&format!(
        "{MINIMAL}connectors:\n- type: keystone\n  id: ks\n  name: Keystone\n  config: {{keystoneHost: 'http://ks:5000'}}\n\
         - type: samlExperimental\n  id: s\n  name: S\n"
    ));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert!(matches!(loaded.config.connectors[0].settings, Ok(ConnectorSettings::Keystone(_))));
}

/// Dex's `serve` flags replace the file's addresses before validation: Dex's Helm chart
/// gives the listener only as `--web-http-addr`.
#[test]
fn serve_flags_are_applied_before_validation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, "issuer: https://auth.example.com\nstorage:\n  type: memory\n").unwrap();
    let err = load_file(&path).unwrap_err();
    assert!(err.problems.iter().any(|p| p.path == "web"), "{err}");
    let overrides = Overrides { web_http: Some("0.0.0.0:5556".into()), ..Default::default() };
    let loaded = load_file_with(&path, &overrides).unwrap();
    assert_eq!(loaded.config.web.http.as_deref(), Some("0.0.0.0:5556"));
    // The flags are validated like the file's values.
    let bad = Overrides { telemetry_http: Some("0.0.0.0:5556".into()), ..overrides };
    let err = load_file_with(&path, &bad).unwrap_err();
    assert!(err.problems.iter().any(|p| p.path == "telemetry.http"), "{err}");
}

/// The example's commented `throttle` block, uncommented, gives the defaults; Dex's
/// `clientRemoteIP` and Tessera's `trustedProxies` both feed the trusted ranges.
#[test]
fn the_example_throttle_block_is_the_default() {
    let start = EXAMPLE.find("# throttle:").expect("the example documents throttle");
    let block: String = EXAMPLE[start..]
        .lines()
        .take_while(|l| l.starts_with('#') && !l.trim_start_matches('#').trim().is_empty())
        .map(|l| l.strip_prefix("# ").unwrap_or(l).split(" #").next().unwrap_or_default().to_string() + "\n")
        .collect();
    let yaml = format!(
        "{MINIMAL}  clientRemoteIP:\n    header: Forwarded\n    trustedProxies: [10.0.0.0/8]\n  \
         trustedProxies: [192.168.1.1]\n{block}"
    );
    let c = ok(&yaml).config;
    assert_eq!(c.throttle, ThrottleConfig::default());
    assert_eq!(c.web.client_address.header, ForwardedHeader::Forwarded);
    assert!(c.web.client_address.trusts("10.9.8.7".parse().unwrap()));
    assert!(c.web.client_address.trusts("192.168.1.1".parse().unwrap()));
    assert!(!c.web.client_address.trusts("192.168.1.2".parse().unwrap()));
}
