//! Files that must not load: every problem reported, each with its path and a fix.

use super::*;

#[test]
fn unknown_key_names_key_path_and_line() {
    let yaml = format!("{MINIMAL}oauth2:\n  responseTypes: [code]\n  skipAprovalScreen: true\n");
    let problems = problems(&yaml);
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = &problems[0];
    assert_eq!(p.path, "oauth2.skipAprovalScreen");
    assert!(p.message.starts_with("unknown field `skipAprovalScreen`"), "{}", p.message);
    assert!(p.message.contains("line 9"), "{}", p.message);
    assert!(p.message.contains("config.example.yaml"), "{}", p.message);
}

#[test]
fn unknown_top_level_key_is_an_error() {
    let problems = problems(&format!("{MINIMAL}enablePasswordBD: true\n"));
    assert!(problems[0].message.contains("unknown field `enablePasswordBD`"), "{problems:?}");
    assert!(problems[0].message.contains("line 7"), "{problems:?}");
}

#[test]
fn unknown_key_inside_storage_config_names_its_path() {
    let problems = problems(
        "issuer: https://a.example\nstorage:\n  type: postgres\n  config:\n    hots: db\nweb:\n  http: :5556\n",
    );
    assert!(has(&problems, "storage.config.hots", "unknown field `hots`"), "{problems:?}");
}

/// Each wrong MySQL setting is reported with its path, as the PostgreSQL ones are.
#[test]
fn mysql_storage_problems_name_their_paths() {
    let mysql = |config: &str| {
        problems(&format!(
            "issuer: https://a.example\nweb: {{http: ':1'}}\nstorage:\n  type: mysql\n  config: {config}\n"
        ))
    };
    let p = mysql("{database: d, hots: db}");
    assert!(has(&p, "storage.config.hots", "unknown field `hots`"), "{p:?}");
    let p = mysql("{database: d, port: many}");
    assert!(has(&p, "storage.config.port", "expected a whole number"), "{p:?}");
    let p = mysql("{database: d, ssl: {mode: verify-full}}");
    assert!(has(&p, "storage.config.ssl.mode", "unknown SSL mode \"verify-full\""), "{p:?}");
    let p = mysql("{database: d, ssl: {mode: true, sslmode: x}}");
    assert!(has(&p, "storage.config.ssl.sslmode", "unknown field `sslmode`"), "{p:?}");
    let p = mysql("{database: d, ssl: {certFile: /c.pem}}");
    assert!(has(&p, "storage.config.ssl", "needs both `certFile` and `keyFile`"), "{p:?}");
    let p = mysql("{host: db}");
    assert!(has(&p, "storage.config.database", "needs a database"), "{p:?}");
    let p = mysql("{database: d, params: {sql_mode: ANSI, 'a b': 1, ok_name: 2}}");
    assert!(has(&p, "storage.config.params.sql_mode", "Tessera sets sql_mode itself"), "{p:?}");
    assert!(has(&p, "storage.config.params.a b", "not a system variable name"), "{p:?}");
    assert_eq!(p.len(), 2, "{p:?}");
    let p = mysql("{database: d, params: {x: [1]}}");
    assert!(has(&p, "storage.config.params.x", "expected a string, a whole number or a boolean"), "{p:?}");
}

#[test]
fn every_problem_is_reported_together() {
    let yaml = r#"
issuer: ftp://auth.example.com/x?q=1
storage:
  type: sqlite3
  config: {}
web:
  https: 0.0.0.0:5554
  tlsMinVersion: "1.3"
  tlsMaxVersion: "1.2"
telemetry:
  http: nowhere
expiry:
  idTokens: 1d
logger:
  level: loud
oauth2:
  responseTypes: [code, tokn]
  passwordConnector: ldap
  pkce:
    codeChallengeMethodsSupported: [S512]
signer:
  config:
    algorithm: HS256
staticClients:
- id: app
  name: App
  redirectURIs: ['https://app.example.com/cb#frag', 'relative/cb']
- id: app
  name: App again
  public: true
  secret: oops
- name: No id
  secret: s
staticPasswords:
- email: a@example.com
  hash: not-a-hash
- email: A@example.com
  hash: "$2a$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W"
  userID: u1
connectors:
- type: github
  id: gh
  name: GitHub
- type: github
  id: gh
  name: GitHub again
- type: gitbub
  id: a/b
  name: Slash
"#;
    let p = problems(yaml);
    let expect = [
        ("issuer", "absolute http(s) URL"),
        ("issuer", "query or fragment"),
        ("storage.config.file", "needs a file"),
        ("web.tlsCert", "no certificate"),
        ("web.tlsKey", "no private key"),
        ("web.tlsMinVersion", "greater than tlsMaxVersion"),
        ("telemetry.http", "not host:port"),
        ("expiry.idTokens", "unknown unit"),
        ("logger.level", "unknown log level"),
        ("oauth2.responseTypes[1]", "\"tokn\""),
        ("oauth2.passwordConnector", "names no connector"),
        ("oauth2.pkce.codeChallengeMethodsSupported[0]", "S256 or plain"),
        ("signer.config.algorithm", "RS256"),
        ("staticClients[0].secret", "needs a secret"),
        ("staticClients[0].redirectURIs[0]", "fragment"),
        ("staticClients[0].redirectURIs[1]", "not an absolute URI"),
        ("staticClients[1].id", "duplicate client id"),
        ("staticClients[2].id", "missing client id"),
        ("staticPasswords", "enablePasswordDB: true"),
        ("staticPasswords[0].hash", "unrecognised password hash"),
        ("staticPasswords[1].email", "duplicate email"),
        ("connectors[1].id", "duplicate connector id"),
        ("connectors[2].id", "contains '/'"),
        ("connectors[2].type", "unknown connector type"),
    ];
    for (path, needle) in expect {
        assert!(
            has(&p, path, needle),
            "no problem at {path} containing {needle:?} in:\n{}",
            ConfigError { problems: p.clone() }
        );
    }
    assert_eq!(p.len(), expect.len(), "unexpected extra problems:\n{}", ConfigError { problems: p.clone() });
    // Display prints one per line as `path: message`.
    let text = ConfigError { problems: p }.to_string();
    assert_eq!(text.lines().count(), expect.len());
    assert!(text.lines().any(|l| l.starts_with("staticClients[1].id: duplicate client id")));
}

#[test]
fn missing_listeners_and_unsupported_storage_are_reported() {
    let p = problems(
        "issuer: https://a.example\nstorage:\n  type: etcd\n  config:\n    endpoints: [http://e:2379]\n",
    );
    assert!(
        has(&p, "storage.type", "not supported by Tessera; use one of: memory, sqlite3, postgres, mysql"),
        "{p:?}"
    );
    assert!(has(&p, "web", "no address to listen on"), "{p:?}");
    let p = problems("issuer: https://a.example\nstorage:\n  type: redis\nweb: {http: ':1'}\n");
    assert!(has(&p, "storage.type", "unknown storage type \"redis\""), "{p:?}");
    let p = problems(
        "issuer: https://a.example\nstorage:\n  type: memory\nweb: {http: ':1'}\nsigner: {type: vault}\n",
    );
    assert!(has(&p, "signer.type", "vault signer is not supported"), "{p:?}");
}

#[test]
fn local_password_connector_needs_the_password_db() {
    let p = problems(&format!("{MINIMAL}oauth2: {{passwordConnector: local}}\n"));
    assert!(has(&p, "oauth2.passwordConnector", "enablePasswordDB: true"), "{p:?}");
    ok(&format!("{MINIMAL}enablePasswordDB: true\noauth2: {{passwordConnector: local}}\n"));
}

#[test]
fn missing_file_and_missing_issuer() {
    let err = load_file(std::path::Path::new("/nonexistent/tessera.yaml")).unwrap_err();
    assert!(err.problems[0].message.contains("cannot read"), "{err}");
    let p = problems("storage: {type: memory}\nweb: {http: ':1'}\n");
    assert!(p[0].message.contains("missing field `issuer`"), "{p:?}");
}

#[test]
fn typo_inside_a_list_entry_names_its_index() {
    let yaml = format!("{MINIMAL}staticClients:\n- id: a\n  name: A\n  redirectUri: [https://a/cb]\n");
    let p = problems(&yaml);
    assert_eq!(p[0].path, "staticClients[0].redirectUri", "{p:?}");
    assert!(p[0].message.starts_with("unknown field `redirectUri`"), "{p:?}");
    assert!(p[0].message.contains("line 10 column 3"), "{p:?}");
    assert!(p[0].message.contains("redirectURIs"), "the message lists the right spelling: {p:?}");
}

/// Dex's `grpc` keys: the admin API needs TLS, or a loopback address, or an explicit yes.
#[test]
fn grpc_without_tls_listens_on_loopback_only_unless_told() {
    let with = |grpc: &str| format!("{MINIMAL}grpc:\n{grpc}");
    for addr in ["127.0.0.1:5557", "localhost:5557", "[::1]:5557"] {
        assert_eq!(ok(&with(&format!("  addr: \"{addr}\"\n"))).config.grpc.addr.as_deref(), Some(addr));
    }
    let remote = problems(&with("  addr: 0.0.0.0:5557\n"));
    assert!(has(&remote, "grpc.addr", "not a loopback address"), "{remote:?}");
    let told = ok(&with("  addr: 0.0.0.0:5557\n  allowRemotePlaintext: true\n"));
    assert!(told.config.grpc.allow_remote_plaintext);
    let tls =
        ok(&with("  addr: 0.0.0.0:5557\n  tlsCert: /c.pem\n  tlsKey: /k.pem\n  tlsClientCA: /ca.pem\n"));
    assert_eq!(tls.config.grpc.tls_client_ca.as_deref(), Some(std::path::Path::new("/ca.pem")));
    let half = problems(&with("  addr: 127.0.0.1:5557\n  tlsCert: /c.pem\n"));
    assert!(has(&half, "grpc.tlsKey", "go together"), "{half:?}");
    let ca_only = problems(&with("  addr: 127.0.0.1:5557\n  tlsClientCA: /ca.pem\n"));
    assert!(has(&ca_only, "grpc.tlsClientCA", "needs tlsCert"), "{ca_only:?}");
    let clash = problems(&with("  addr: 0.0.0.0:5556\n  allowRemotePlaintext: true\n"));
    assert!(has(&clash, "grpc.addr", "must differ"), "{clash:?}");
    let typo = problems(&with("  adr: 127.0.0.1:5557\n"));
    assert!(typo.iter().any(|p| p.path.starts_with("grpc")), "{typo:?}");
}

/// `DEX_API_CONNECTORS_CRUD=true`, read as Dex reads it, allows connector changes.
#[test]
fn the_connector_methods_follow_dexs_environment_switch() {
    let yaml = format!("{MINIMAL}grpc:\n  addr: 127.0.0.1:5557\n");
    assert!(!ok(&yaml).config.grpc.connectors_crud);
    let on = load_with(&yaml, &[("DEX_API_CONNECTORS_CRUD", "true")]).unwrap();
    assert!(on.config.grpc.connectors_crud);
}

#[test]
fn pushed_request_settings_are_bounded() {
    for lifetime in ["0s", "11m"] {
        let p = problems(&format!("{MINIMAL}oauth2: {{par: {{requestURILifetime: {lifetime}}}}}\n"));
        assert!(has(&p, "oauth2.par.requestURILifetime", "between 1s and 10m"), "{lifetime}: {p:?}");
    }
    let p = problems(&format!("{MINIMAL}oauth2: {{par: {{enabled: false, requireForAll: true}}}}\n"));
    assert!(has(&p, "oauth2.par.requireForAll", "needs PAR enabled"), "{p:?}");
    let config = ok(&format!("{MINIMAL}oauth2: {{par: {{requestURILifetime: 90s}}}}\n")).config;
    assert_eq!(config.oauth2.par.request_uri_lifetime, std::time::Duration::from_secs(90));
    assert!(config.oauth2.par.enabled, "on by default");
}

/// `tokenEndpointAuthMethod`, `jwks` and `jwksURI` are checked against each other and
/// against `secret`/`public`.
#[test]
fn client_authentication_settings_are_consistent() {
    let client = |extra: &str| {
        format!(
            "{MINIMAL}staticClients:\n- id: c\n  name: C\n  redirectURIs: [https://c.example/cb]\n{extra}"
        )
    };
    let p = |extra: &str| problems(&client(extra));
    let at = "staticClients[0].tokenEndpointAuthMethod";
    assert!(has(&p("  secret: s\n  tokenEndpointAuthMethod: tls_client_auth\n"), at, "unknown method"));
    assert!(has(&p("  tokenEndpointAuthMethod: private_key_jwt\n"), at, "set `jwks` or `jwksURI`"));
    assert!(has(&p("  tokenEndpointAuthMethod: client_secret_jwt\n  secret: short\n"), at, "at least 32"));
    assert!(has(
        &p("  tokenEndpointAuthMethod: client_secret_post\n  public: true\n"),
        at,
        "needs a `secret`"
    ));
    assert!(has(&p("  tokenEndpointAuthMethod: none\n  secret: s\n"), at, "public clients without a secret"));
    let jwt = "  tokenEndpointAuthMethod: private_key_jwt\n";
    assert!(has(
        &p(&format!("{jwt}  jwksURI: http://keys.example/jwks\n")),
        "staticClients[0].jwksURI",
        "https"
    ));
    assert!(has(&p(&format!("{jwt}  jwks: {{keys: []}}\n")), "staticClients[0].jwks", "no keys"));
    let oct = r#"{keys: [{kty: oct, k: c2VjcmV0}]}"#;
    assert!(has(&p(&format!("{jwt}  jwks: {oct}\n")), "staticClients[0].jwks", "symmetric"));

    // The RFC 7517 §A.1 example key, and a loopback jwksURI for tests.
    let ec = r#"{keys: [{kty: EC, crv: P-256, x: MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4, y: 4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM, kid: "1"}]}"#;
    let both = format!("{jwt}  jwksURI: https://c.example/jwks\n  jwks: {ec}\n");
    assert!(has(&p(&both), "staticClients[0].jwks", "exclusive"));
    let loaded = ok(&client(&format!("{jwt}  jwks: {ec}\n")));
    let options = &loaded.config.static_clients[0].options;
    assert_eq!(options.token_endpoint_auth_method, Some(crate::protocol::ClientAuthMethod::PrivateKeyJwt));
    assert_eq!(options.jwks.as_ref().map(|k| k.keys.len()), Some(1));
    let loaded = ok(&client(&format!("{jwt}  jwksURI: http://127.0.0.1:8080/jwks\n")));
    assert_eq!(loaded.config.static_clients[0].options.jwks_uri, "http://127.0.0.1:8080/jwks");
    let ignored = ok(&client("  secret: s\n  jwksURI: https://c.example/jwks\n"));
    assert!(ignored.warnings.iter().any(|w| w.contains("ignored unless")), "{:?}", ignored.warnings);
}

/// `profile: fapi2` holds the registration and the signer to what FAPI 2.0 needs.
#[test]
fn the_fapi2_profile_checks_the_registration() {
    let ec = r#"{keys: [{kty: EC, crv: P-256, x: MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4, y: 4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM, kid: "1"}]}"#;
    let client = |signer: &str, extra: &str| {
        format!("{MINIMAL}{signer}staticClients:\n- id: c\n  name: C\n  profile: fapi2\n{extra}")
    };
    let es256 = "signer:\n  type: local\n  config:\n    algorithm: ES256\n";
    let good = format!(
        "  redirectURIs: [https://c.example/cb]\n  tokenEndpointAuthMethod: private_key_jwt\n  jwks: {ec}\n"
    );
    assert!(ok(&client(es256, &good)).config.static_clients[0].options.fapi2());
    let p = problems(&client("", &good));
    assert!(has(&p, "staticClients[0].profile", "ES256"), "{p:?}");
    let p = problems(&client(es256, "  redirectURIs: [https://c.example/cb]\n  secret: s\n"));
    assert!(has(&p, "staticClients[0].profile", "private_key_jwt"), "{p:?}");
    let plain_http = good.replace("https://c.example/cb", "http://c.example/cb");
    let p = problems(&client(es256, &plain_http));
    assert!(has(&p, "staticClients[0].redirectURIs[0]", "https"), "{p:?}");
    let p = problems(&client(es256, &good).replace("profile: fapi2", "profile: fapi1"));
    assert!(has(&p, "staticClients[0].profile", "unknown profile"), "{p:?}");
}

#[test]
fn client_lifetimes_and_grant_types_are_checked() {
    let client = |extra: &str| {
        format!(
            "{MINIMAL}staticClients:\n- id: c\n  name: C\n  secret: s\n  redirectURIs: [https://c.example/cb]\n{extra}"
        )
    };
    let p = problems(&client(
        "  expiry: {idTokens: 0s, accessTokens: 5}\n  grantTypes: [authorization_code, magic]\n",
    ));
    assert!(has(&p, "staticClients[0].expiry.idTokens", "at least 1s"), "{p:?}");
    assert!(has(&p, "staticClients[0].expiry.accessTokens", "no unit"), "{p:?}");
    assert!(has(&p, "staticClients[0].grantTypes[1]", "unknown grant type"), "{p:?}");
    let p = problems(&client("  expiry: {refreshTokens: {reuseInterval: 3s}}\n"));
    assert!(p.iter().any(|p| p.path.starts_with("staticClients[0]")), "{p:?}");
    let loaded = ok(&client(
        "  expiry: {idTokens: 10m, refreshTokens: {validIfNotUsedFor: 0s, absoluteLifetime: 48h}}\n",
    ));
    let expiry = loaded.config.static_clients[0].options.expiry;
    assert_eq!((expiry.id_tokens, expiry.access_tokens), (Some(600), None));
    assert_eq!(
        (expiry.refresh_valid_if_not_used_for, expiry.refresh_absolute_lifetime),
        (None, Some(48 * 3600))
    );
}

#[test]
fn resources_and_the_access_token_format_are_checked() {
    let client = |extra: &str| {
        format!(
            "{MINIMAL}staticClients:\n- id: c\n  name: C\n  secret: s\n  redirectURIs: [https://c.example/cb]\n{extra}"
        )
    };
    let p = problems(&client(
        "  allowedResources: [https://api.example.com, 'api#x', relative]\n  accessTokenFormat: jwt\n",
    ));
    assert!(has(&p, "staticClients[0].allowedResources[1]", "absolute URI"), "{p:?}");
    assert!(has(&p, "staticClients[0].allowedResources[2]", "absolute URI"), "{p:?}");
    assert!(has(&p, "staticClients[0].accessTokenFormat", "rfc9068"), "{p:?}");
    let loaded = ok(&client(
        "  allowedResources: [https://api.example.com, 'urn:example:api']\n  accessTokenFormat: rfc9068\n",
    ));
    let options = &loaded.config.static_clients[0].options;
    assert_eq!(options.allowed_resources.len(), 2);
    assert_eq!(options.access_token_format, crate::client_options::AccessTokenFormat::Rfc9068);
}
