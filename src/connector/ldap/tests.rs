//! Unit tests: config parsing and validation, filters and escaping. The connector itself is
//! tested against a real slapd in `tests/integration/ldap.rs`.

use super::LdapConnector;
use super::config::{LdapConfig, UsernameAttrs};
use super::search::{equality, user_filter};
use crate::connector::ConnectorError;
use serde_json::json;

fn minimal() -> serde_json::Value {
    json!({
        "host": "ldap.example.com",
        "bindDN": "cn=admin,dc=example,dc=org",
        "bindPW": "secret",
        "userSearch": {
            "baseDN": "ou=People,dc=example,dc=org",
            "username": "uid",
            "idAttr": "uid",
            "emailAttr": "mail",
            "nameAttr": "cn",
        },
    })
}

/// Parses a config as `config` does at load time, then opens it.
fn open_json(config: serde_json::Value) -> Result<LdapConnector, ConnectorError> {
    let config: LdapConfig = crate::config::from_value(config)
        .map_err(|e| ConnectorError::Upstream(format!("ldap config: {e}")))?;
    LdapConnector::open(&"ldap".into(), config)
}

fn open_err(config: serde_json::Value) -> String {
    match open_json(config) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn username_is_one_attribute_or_a_list() {
    let one: UsernameAttrs = serde_json::from_value(json!("uid")).unwrap();
    assert_eq!(one.0, vec!["uid"]);
    let many: UsernameAttrs = serde_json::from_value(json!(["uid", "mail"])).unwrap();
    assert_eq!(many.0, vec!["uid", "mail"]);
    let empty: UsernameAttrs = serde_json::from_value(json!("")).unwrap();
    assert!(empty.0.is_empty());
    assert!(serde_json::from_value::<UsernameAttrs>(json!(123)).is_err());
}

#[test]
fn dex_example_config_opens() {
    // Dex's examples/ldap/config-ldap.yaml, as JSON.
    let config = json!({
        "host": "localhost:389",
        "insecureNoSSL": true,
        "bindDN": "cn=admin,dc=example,dc=org",
        "bindPW": "admin",
        "usernamePrompt": "Email Address",
        "userSearch": {
            "baseDN": "ou=People,dc=example,dc=org",
            "filter": "(objectClass=person)",
            "username": "mail",
            "idAttr": "DN",
            "emailAttr": "mail",
            "nameAttr": "cn",
        },
        "groupSearch": {
            "baseDN": "ou=Groups,dc=example,dc=org",
            "filter": "(objectClass=groupOfNames)",
            "userMatchers": [{"userAttr": "DN", "groupAttr": "member"}],
            "nameAttr": "cn",
        },
    });
    let connector = open_json(config).unwrap();
    assert_eq!(connector.settings.target.url, "ldap://localhost:389");
    assert_eq!(super::PasswordLogin::prompt(&connector), "Email Address");
    assert_eq!(connector.user_attrs, vec!["DN", "mail", "cn"]);
}

#[test]
fn unknown_keys_are_refused_with_their_path() {
    let mut config = minimal();
    config["userSearch"]["usernameAttr"] = json!("uid");
    let e = open_err(config);
    assert!(e.contains("userSearch") && e.contains("usernameAttr"), "{e}");
}

#[test]
fn every_problem_is_reported() {
    let e = open_err(json!({"userSearch": {"scope": "base"}, "groupSearch": {"baseDN": "ou=g"}}));
    for expected in [
        "host",
        "userSearch.baseDN",
        "userSearch.username",
        "userSearch.scope",
        "userSearch.idAttr",
        "userSearch.emailAttr",
        "groupSearch.nameAttr",
        "groupSearch.userMatchers",
    ] {
        assert!(e.contains(expected), "{expected} not in {e}");
    }
}

#[test]
fn half_a_credential_or_client_certificate_is_refused() {
    let mut config = minimal();
    config["bindPW"] = json!("");
    assert!(open_err(config).contains("bindDN/bindPW"));
    let mut config = minimal();
    config["clientCert"] = json!("/nonexistent.pem");
    assert!(open_err(config).contains("clientCert/clientKey"));
}

#[test]
fn bad_filters_and_root_cas_are_refused() {
    let mut config = minimal();
    config["userSearch"]["filter"] = json!("objectClass=person");
    assert!(open_err(config).contains("userSearch.filter"));
    let mut config = minimal();
    config["userSearch"]["filter"] = json!("(objectClass=person");
    assert!(open_err(config).contains("userSearch.filter"));
    let mut config = minimal();
    config["rootCAData"] = json!("not base64!");
    assert!(open_err(config).contains("rootCAData"));
    let mut config = minimal();
    config["rootCA"] = json!("/nonexistent/ca.pem");
    assert!(open_err(config).contains("rootCA"));
}

#[test]
fn default_ports_follow_the_transport() {
    let url = |patch: serde_json::Value| {
        let mut config = minimal();
        for (k, v) in patch.as_object().unwrap() {
            config[k] = v.clone();
        }
        open_json(config).unwrap().settings.target.url
    };
    assert_eq!(url(json!({})), "ldaps://ldap.example.com:636");
    assert_eq!(url(json!({"insecureNoSSL": true})), "ldap://ldap.example.com:389");
    assert_eq!(url(json!({"startTLS": true})), "ldap://ldap.example.com:389");
    assert_eq!(url(json!({"host": "ldap.example.com:10636"})), "ldaps://ldap.example.com:10636");
    assert_eq!(url(json!({"host": "[::1]:1389", "insecureNoSSL": true})), "ldap://[::1]:1389");
    assert_eq!(url(json!({"host": "::1"})), "ldaps://[::1]:636");
    assert!(
        open_err({
            let mut c = minimal();
            c["host"] = json!("ldap.example.com:port");
            c
        })
        .contains("host")
    );
}

#[test]
fn legacy_group_attributes_become_a_matcher_with_recursion() {
    let mut config = minimal();
    config["groupSearch"] = json!({
        "baseDN": "ou=Groups,dc=example,dc=org",
        "userAttr": "DN",
        "groupAttr": "member",
        "recursionGroupAttr": "member",
        "nameAttr": "cn",
    });
    let connector = open_json(config).unwrap();
    let groups = connector.settings.groups.as_ref().unwrap();
    assert_eq!(groups.matchers.len(), 1);
    assert_eq!(groups.matchers[0].user_attr, "DN");
    assert_eq!(groups.matchers[0].recursion_group_attr, "member");
}

#[test]
fn kerberos_key_is_accepted() {
    let mut config = minimal();
    config["kerberos"] = json!({"enabled": true, "keytabPath": "/etc/krb5.keytab"});
    assert!(open_json(config).is_ok());
}

#[test]
fn filter_values_are_escaped_per_rfc_4515() {
    assert_eq!(equality("uid", "*)(uid=*"), r"(uid=\2a\29\28uid=\2a)");
    assert_eq!(equality("uid", "admin)(|(uid=*"), r"(uid=admin\29\28|\28uid=\2a)");
    assert_eq!(equality("uid", r"a\b"), r"(uid=a\5cb)");
    assert_eq!(equality("uid", "a\0b"), r"(uid=a\00b)");
    assert_eq!(equality("uid", "(x"), r"(uid=\28x)");
    assert_eq!(equality("uid", "jane"), "(uid=jane)");
    // Whatever the input, the filter stays one valid equality match.
    for nasty in ["*)(uid=*", "admin)(|(uid=*", "\\", "\0", "(", ")", "*", "x)(&"] {
        let filter = equality("uid", nasty);
        assert!(ldap3::parse_filter(&filter).is_ok(), "{filter}");
        assert_eq!(filter.matches('(').count(), 1, "{filter}");
    }
}

#[test]
fn user_filter_combines_attributes_and_the_configured_filter() {
    let config: LdapConfig = serde_json::from_value(json!({
        "host": "h",
        "userSearch": {
            "baseDN": "dc=x",
            "filter": "(objectClass=person)",
            "username": ["uid", "mail"],
            "idAttr": "uid",
            "emailAttr": "mail",
        },
    }))
    .unwrap();
    let settings = config.validate().unwrap();
    assert_eq!(
        user_filter(&settings.user, "ja*ne"),
        r"(&(objectClass=person)(|(uid=ja\2ane)(mail=ja\2ane)))"
    );
}

#[test]
fn active_directory_in_chain_rule_builds_a_valid_filter() {
    let filter = equality("member:1.2.840.113556.1.4.1941:", "CN=Jane (IT),OU=Staff,DC=corp,DC=example");
    assert_eq!(filter, r"(member:1.2.840.113556.1.4.1941:=CN=Jane \28IT\29,OU=Staff,DC=corp,DC=example)");
    assert!(ldap3::parse_filter(&filter).is_ok());
}

#[test]
fn refresh_data_has_dex_shape() {
    let data = super::RefreshData {
        username: "jane".into(),
        entry: super::RefreshEntry { dn: "uid=jane,ou=People,dc=example,dc=org".into() },
    };
    assert_eq!(
        serde_json::to_value(&data).unwrap(),
        json!({"username": "jane", "entry": {"DN": "uid=jane,ou=People,dc=example,dc=org"}})
    );
    // What Dex stores (go-ldap's Entry, attributes included) reads back.
    let dex = r#"{"username":"jane","entry":{"DN":"cn=jane,dc=x","Attributes":[{"Name":"mail","Values":["j@x"],"ByteValues":["ako="]}]}}"#;
    let parsed: super::RefreshData = serde_json::from_str(dex).unwrap();
    assert_eq!(parsed.entry.dn, "cn=jane,dc=x");
}

/// A directory that accepts connections and never answers: every step is bounded.
#[tokio::test]
async fn a_directory_that_never_answers_is_an_error_not_a_hang() {
    use super::conn::Timeouts;
    use crate::connector::{ConnectorError, PasswordLogin, Scopes};
    use std::time::Duration;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let short = Timeouts {
        connect: Duration::from_millis(300),
        operation: Duration::from_millis(300),
        total: Duration::from_secs(5),
    };
    for transport in
        [json!({"insecureNoSSL": true}), json!({"startTLS": true}), json!({"insecureSkipVerify": true})]
    {
        let mut config = minimal();
        config["host"] = json!(format!("127.0.0.1:{port}"));
        for (k, v) in transport.as_object().unwrap() {
            config[k] = v.clone();
        }
        let mut connector = open_json(config).unwrap();
        connector.settings.target.timeouts = short;
        // The connector's timeouts must end the login; the outer bound only keeps a broken
        // timeout from hanging the test run (no speed is asserted).
        let result =
            tokio::time::timeout(Duration::from_secs(60), connector.login(Scopes::default(), "jane", "foo"))
                .await
                .unwrap_or_else(|_| panic!("{transport}: the LDAP timeouts did not end the login"));
        assert!(matches!(result, Err(ConnectorError::Upstream(_))), "{transport}: {result:?}");
    }
}
