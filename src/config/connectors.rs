//! `connectors[]`: each entry's `config`, typed by its `type`. This is the one list of
//! connector types: which Dex types exist, which Tessera builds, and the config each parses
//! into. Keys match ignoring ASCII case (as Dex's JSON decoding does); unknown keys are
//! refused with their path, at load time, so `tessera check-config` reports them.

use super::Problem;
use crate::connector;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A connector's typed `config`, one variant per connector type.
#[derive(Clone)]
pub enum ConnectorSettings {
    MockCallback,
    MockPassword(connector::mock::MockPasswordConfig),
    Ldap(connector::ldap::LdapConfig),
    Oidc(connector::oidc::config::Config),
    Github(connector::github::GithubConfig),
    Gitlab(connector::gitlab::GitlabConfig),
    Google(connector::google::Config),
    Microsoft(connector::microsoft::MicrosoftConfig),
    /// No refresh, as in Dex: a refresh keeps the claims of the login.
    Oauth(connector::oauth::OauthConfig),
    AuthProxy(connector::authproxy::AuthProxyConfig),
    /// `saml`, or Dex's older name `samlExperimental`.
    Saml(connector::saml::SamlConfig),
    BitbucketCloud(connector::bitbucket_cloud::BitbucketCloudConfig),
    Gitea(connector::gitea::GiteaConfig),
    Openshift(connector::openshift::OpenshiftConfig),
    Linkedin(connector::linkedin::LinkedinConfig),
    Keystone(connector::keystone::KeystoneConfig),
    AtlassianCrowd(connector::atlassian_crowd::CrowdConfig),
    /// A type Dex does not know (validation refuses it as a typo); its `config` is not read.
    Unknown,
}

/// Connector types Dex knows (`server/connector.go`); any other `type` is a typo.
pub const DEX_CONNECTOR_TYPES: &[&str] = &[
    "keystone",
    "mockCallback",
    "mockPassword",
    "ldap",
    "gitea",
    "github",
    "gitlab",
    "google",
    "oidc",
    "oauth",
    "saml",
    "authproxy",
    "linkedin",
    "microsoft",
    "bitbucket-cloud",
    "openshift",
    "atlassian-crowd",
    "samlExperimental",
];

impl ConnectorSettings {
    /// The typed `config` of a connector of type `kind`. `None` for a type Dex does not know;
    /// a problem (at `at.config.<key>`) for a config its type does not accept.
    pub fn parse(kind: &str, config: Value, at: &str) -> Option<Result<Self, Problem>> {
        let problem = |e: serde_path_to_error::Error<serde_json::Error>| {
            let key = e.path().to_string();
            let path = if key == "." { format!("{at}.config") } else { format!("{at}.config.{key}") };
            Problem::new(path, e.inner().to_string())
        };
        fn of<T: DeserializeOwned>(
            config: Value,
        ) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
            super::from_value(config)
        }
        let settings = match kind {
            "mockCallback" => Ok(Self::MockCallback),
            "mockPassword" => of(config).map(Self::MockPassword),
            "ldap" => of(config).map(Self::Ldap),
            "oidc" => of(config).map(Self::Oidc),
            "github" => of(config).map(Self::Github),
            "gitlab" => of(config).map(Self::Gitlab),
            "google" => of(config).map(Self::Google),
            "microsoft" => of(config).map(Self::Microsoft),
            "oauth" => of(config).map(Self::Oauth),
            "authproxy" => of(config).map(Self::AuthProxy),
            "saml" | "samlExperimental" => of(config).map(Self::Saml),
            "bitbucket-cloud" => of(config).map(Self::BitbucketCloud),
            "gitea" => of(config).map(Self::Gitea),
            "openshift" => of(config).map(Self::Openshift),
            "linkedin" => of(config).map(Self::Linkedin),
            "keystone" => of(config).map(Self::Keystone),
            "atlassian-crowd" => of(config).map(Self::AtlassianCrowd),
            _ => return None,
        };
        Some(settings.map_err(problem))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every Dex type is built; unknown keys are refused with their path.
    #[test]
    fn every_dex_type_is_known_and_configs_are_strict() {
        for kind in DEX_CONNECTOR_TYPES {
            assert!(ConnectorSettings::parse(kind, serde_json::json!({}), "c").is_some(), "{kind}");
        }
        assert!(ConnectorSettings::parse("github2", serde_json::json!({}), "c").is_none());
        let e = ConnectorSettings::parse(
            "oauth",
            serde_json::json!({"clientId": "x", "bogus": 1}),
            "connectors[2]",
        )
        .unwrap()
        .err()
        .unwrap();
        assert!(e.path.starts_with("connectors[2].config"), "{e}");
        assert!(e.message.contains("bogus"), "{e}");
        let ok = ConnectorSettings::parse(
            "mockPassword",
            serde_json::json!({"USERNAME": "u", "password": "p"}),
            "c",
        );
        assert!(matches!(ok, Some(Ok(ConnectorSettings::MockPassword(_)))), "keys match ignoring case");
    }
}
