//! `github`: login with GitHub or GitHub Enterprise (OAuth 2.0 web application flow), with
//! Dex's identity so users keep their `sub`: the numeric user id (or the login with
//! `useLoginAsID`), name (or login) as username, login as preferred username, and the
//! profile email or else the primary verified one from `/user/emails`.
//!
//! Groups and access control, as Dex: with `orgs`, the user must be a member of one listed
//! org (and of one of its listed `teams`, when given); groups are `org:team`. The legacy
//! `org` gives that org's team names without restricting the login. `loadAllGroups` (no
//! orgs) gives every org and `org:team` of the user when the client asks for `groups`.
//! Lists are paginated with the `Link` header (docs.github.com "Using pagination").
//! Refresh re-reads the profile and memberships with the stored access token (refreshing it
//! first when a GitHub App issued an expiring one).

use super::oauth2_upstream::{OAuth2Refresh, OAuth2Upstream};
use super::sealed::DataKey;
use super::upstream::{self, ClientAuth, OAuthApp, upstream as fail};
use super::{ConnectorError, Scopes};
use crate::storage::Claims;
use crate::types::Secret;
use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;

const KIND: &str = "github";
/// GitHub needs this scope for `/user` and `/user/emails`…
const SCOPE_EMAIL: &str = "user:email";
/// …and this one for org and team memberships.
const SCOPE_ORGS: &str = "read:org";
const API_VERSION: (&str, &str) = ("X-GitHub-Api-Version", "2022-11-28");

/// `connectors[].config` of a `github` connector (Dex's keys).
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GithubConfig {
    #[serde(rename = "clientID")]
    pub client_id: String,
    pub client_secret: Secret,
    #[serde(rename = "redirectURI")]
    pub redirect_uri: String,
    /// Legacy: one org whose team names become groups (no access control).
    #[serde(default)]
    pub org: String,
    #[serde(default)]
    pub orgs: Vec<Org>,
    /// GitHub Enterprise host (`github.example.com`); the API is `https://HOST/api/v3`.
    #[serde(default)]
    pub host_name: String,
    /// A PEM file of CAs to trust for `hostName`.
    #[serde(default, rename = "rootCA")]
    pub root_ca: String,
    /// `name` (default), `slug` or `both`.
    #[serde(default)]
    pub team_name_field: String,
    #[serde(default)]
    pub load_all_groups: bool,
    #[serde(default, rename = "useLoginAsID")]
    pub use_login_as_id: bool,
    /// Prefer a verified email of this domain (`*` matches one label, e.g. `*.example.com`).
    #[serde(default)]
    pub preferred_email_domain: String,
}

/// An org and, optionally, the teams allowed to log in.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Org {
    pub name: String,
    #[serde(default)]
    pub teams: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TeamName {
    Name,
    Slug,
    Both,
}

pub struct Github {
    /// Seals the upstream tokens kept for refresh.
    key: std::sync::Arc<super::sealed::DataKey>,
    app: OAuthApp,
    api_url: String,
    enterprise: bool,
    org: String,
    orgs: Vec<Org>,
    team_name: TeamName,
    load_all_groups: bool,
    use_login_as_id: bool,
    preferred_email_domain: String,
}

#[derive(Debug, Deserialize)]
struct User {
    #[serde(default)]
    name: Option<String>,
    login: String,
    id: i64,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Email {
    email: String,
    #[serde(default)]
    verified: bool,
    #[serde(default)]
    primary: bool,
}

#[derive(Debug, Deserialize)]
struct OrgRef {
    login: String,
}

#[derive(Debug, Deserialize)]
struct Team {
    name: String,
    slug: String,
    organization: OrgRef,
}

impl Github {
    pub fn open(
        config: GithubConfig,
        key: std::sync::Arc<super::sealed::DataKey>,
    ) -> Result<Self, ConnectorError> {
        if !config.org.is_empty() {
            if !config.orgs.is_empty() {
                return Err(fail(KIND, "cannot use both `org` and `orgs`; keep `orgs`"));
            }
            tracing::warn!("github: legacy field `org` in use; switch to `orgs`");
        }
        if config.host_name.contains('/') {
            return Err(fail(KIND, "hostName must be a host name, not a URL or a path"));
        }
        if !config.root_ca.is_empty() && config.host_name.is_empty() {
            return Err(fail(KIND, "rootCA needs hostName (it is for GitHub Enterprise)"));
        }
        let team_name = match config.team_name_field.as_str() {
            "" | "name" => TeamName::Name,
            "slug" => TeamName::Slug,
            "both" => TeamName::Both,
            other => return Err(fail(KIND, format!("teamNameField {other:?}: use name, slug or both"))),
        };
        if config.preferred_email_domain.ends_with('*') {
            return Err(fail(KIND, "preferredEmailDomain cannot end with `*`"));
        }
        let root_cas = if config.root_ca.is_empty() {
            Vec::new()
        } else {
            super::http::read_root_cas(std::slice::from_ref(&config.root_ca))?
        };
        let http = super::http::client(&super::http::Upstream { root_cas })?;
        let (web, api_url) = if config.host_name.is_empty() {
            ("https://github.com".to_string(), "https://api.github.com".to_string())
        } else {
            (format!("https://{}", config.host_name), format!("https://{}/api/v3", config.host_name))
        };
        Ok(Self {
            key,
            app: OAuthApp {
                client_id: config.client_id,
                auth: ClientAuth::Basic(config.client_secret),
                redirect_uri: upstream::require_redirect_uri(KIND, &config.redirect_uri)?,
                authorization_url: format!("{web}/login/oauth/authorize"),
                token_url: format!("{web}/login/oauth/access_token"),
                http,
            },
            api_url,
            enterprise: !config.host_name.is_empty(),
            org: config.org,
            orgs: config.orgs,
            team_name,
            load_all_groups: config.load_all_groups,
            use_login_as_id: config.use_login_as_id,
            preferred_email_domain: config.preferred_email_domain,
        })
    }

    /// Dex asks for `read:org` whenever orgs are configured or the client wants groups.
    fn groups_required(&self, scopes: Scopes) -> bool {
        !self.orgs.is_empty() || !self.org.is_empty() || scopes.groups
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        token: &str,
    ) -> Result<(T, HeaderMap), ConnectorError> {
        upstream::get_json(KIND, &self.app.http, url, token, &[API_VERSION]).await
    }

    /// Every page of a list, following `Link: <…>; rel="next"`.
    async fn get_all<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        token: &str,
    ) -> Result<Vec<T>, ConnectorError> {
        let mut url = format!("{}{path}", self.api_url);
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let (page, headers): (Vec<T>, _) = self.get(&url, token).await?;
            all.extend(page);
            match next_page(&url, &headers) {
                Some(next) => url = next,
                None => return Ok(all),
            }
        }
        Err(fail(KIND, format!("GET {path}: more than {MAX_PAGES} pages")))
    }

    /// The preferred-domain verified email if any, else the primary verified one.
    async fn user_email(&self, token: &str) -> Result<String, ConnectorError> {
        let emails: Vec<Email> = self.get_all("/user/emails", token).await?;
        let mut primary = None;
        for mut e in emails {
            // GitHub Enterprise cannot verify emails; Dex trusts them there.
            e.verified |= self.enterprise;
            if !self.preferred_email_domain.is_empty() {
                let Some((_, domain)) = e.email.split_once('@') else {
                    return Err(fail(KIND, format!("invalid email address {:?} in /user/emails", e.email)));
                };
                if e.verified && domain_matches(&self.preferred_email_domain, domain) {
                    return Ok(e.email);
                }
            }
            if e.verified && e.primary {
                primary = Some(e.email);
            }
        }
        primary.ok_or_else(|| {
            ConnectorError::Refused(
                "Your GitHub account has no verified primary email address. Verify one on GitHub and try again."
                    .into(),
            )
        })
    }

    async fn groups(&self, scopes: Scopes, login: &str, token: &str) -> Result<Vec<String>, ConnectorError> {
        if !self.orgs.is_empty() {
            self.groups_for_orgs(login, token).await
        } else if !self.org.is_empty() {
            self.teams_in_org(&self.org, token).await
        } else if scopes.groups && self.load_all_groups {
            self.all_groups(token).await
        } else {
            Ok(Vec::new())
        }
    }

    /// The access check: member of one listed org without teams, or of one listed team.
    async fn groups_for_orgs(&self, login: &str, token: &str) -> Result<Vec<String>, ConnectorError> {
        let mut groups = Vec::new();
        let mut in_org_without_teams = false;
        for org in &self.orgs {
            if !self.is_member(&org.name, login, token).await? {
                continue;
            }
            let mut teams = self.teams_in_org(&org.name, token).await?;
            if org.teams.is_empty() {
                in_org_without_teams = true;
            } else {
                teams = upstream::filter_groups(&teams, &org.teams);
                if teams.is_empty() {
                    tracing::info!(user = login, org = %org.name, "github: user in org but in none of its listed teams");
                }
            }
            groups.extend(teams.iter().map(|t| format!("{}:{t}", org.name)));
        }
        if in_org_without_teams || !groups.is_empty() {
            return Ok(groups);
        }
        tracing::info!(user = login, "github: user not in the required orgs or teams");
        Err(ConnectorError::Refused(format!(
            "The GitHub user {login} is not a member of an organization or team allowed to log in here."
        )))
    }

    /// `GET /orgs/{org}/members/{user}`: 204 when a member, 404 (or 302) when not.
    async fn is_member(&self, org: &str, login: &str, token: &str) -> Result<bool, ConnectorError> {
        let url = format!("{}/orgs/{}/members/{}", self.api_url, segment(org), segment(login));
        let response =
            upstream::call(KIND, &self.app.http, reqwest::Method::GET, &url, token, &[API_VERSION], None)
                .await?;
        match response.status {
            StatusCode::NO_CONTENT => Ok(true),
            StatusCode::NOT_FOUND | StatusCode::FOUND => {
                tracing::info!(user = login, org, "github: not a member, or the app may not read the org");
                Ok(false)
            }
            status => Err(fail(KIND, format!("GET {url}: unexpected status {status}"))),
        }
    }

    async fn teams_in_org(&self, org: &str, token: &str) -> Result<Vec<String>, ConnectorError> {
        let teams: Vec<Team> = self.get_all("/user/teams", token).await?;
        Ok(teams.iter().filter(|t| t.organization.login == org).flat_map(|t| self.team_names(t)).collect())
    }

    /// `loadAllGroups`: each org, followed by its `org:team` groups.
    async fn all_groups(&self, token: &str) -> Result<Vec<String>, ConnectorError> {
        let orgs: Vec<OrgRef> = self.get_all("/user/orgs", token).await?;
        let teams: Vec<Team> = self.get_all("/user/teams", token).await?;
        let mut groups = Vec::new();
        for org in orgs {
            groups.push(org.login.clone());
            for team in teams.iter().filter(|t| t.organization.login == org.login) {
                groups.extend(self.team_names(team).into_iter().map(|name| format!("{}:{name}", org.login)));
            }
        }
        Ok(groups)
    }

    fn team_names(&self, team: &Team) -> Vec<String> {
        match self.team_name {
            TeamName::Name => vec![team.name.clone()],
            TeamName::Slug => vec![team.slug.clone()],
            TeamName::Both => vec![team.name.clone(), team.slug.clone()],
        }
    }
}

/// Guards the pagination loop against a provider that never stops.
const MAX_PAGES: usize = 100;

/// A path segment, percent-encoded.
fn segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The next page's URL, as Dex reads GitHub's `Link` header: only when a `last` link
/// exists and differs from the current URL.
fn next_page(current: &str, headers: &HeaderMap) -> Option<String> {
    let link = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    let find = |rel: &str| {
        link.split(',').find_map(|part| {
            let (target, params) = part.split_once(';')?;
            let is_rel = params.split(';').any(|p| p.trim() == format!("rel=\"{rel}\""));
            is_rel.then(|| target.trim().trim_start_matches('<').trim_end_matches('>').to_string())
        })
    };
    let last = find("last")?;
    if last == current {
        return None;
    }
    find("next")
}

/// `example.com` matches itself; `*.example.com` matches one label in place of `*`.
fn domain_matches(preferred: &str, domain: &str) -> bool {
    if preferred == domain {
        return true;
    }
    let wanted: Vec<&str> = preferred.split('.').collect();
    let got: Vec<&str> = domain.split('.').collect();
    wanted.len() == got.len() && wanted.iter().zip(&got).all(|(w, g)| *w == "*" || w == g)
}

#[async_trait]
impl OAuth2Upstream for Github {
    const KIND: &'static str = KIND;

    fn app(&self) -> &OAuthApp {
        &self.app
    }

    fn data_key(&self) -> &DataKey {
        &self.key
    }

    fn login_scopes(&self, scopes: Scopes) -> Vec<String> {
        let mut wanted = vec![SCOPE_EMAIL.to_string()];
        if self.groups_required(scopes) {
            wanted.push(SCOPE_ORGS.to_string());
        }
        wanted
    }

    /// The identity behind an access token, with groups (and the access check) as Dex.
    async fn identity(&self, scopes: Scopes, token: &str) -> Result<Claims, ConnectorError> {
        let (user, _): (User, _) = self.get(&format!("{}/user", self.api_url), token).await?;
        let mut email = user.email.clone().unwrap_or_default();
        // `/user` shows only a public email; the others need `/user/emails`.
        if email.is_empty() || !self.preferred_email_domain.is_empty() {
            email = self.user_email(token).await?;
        }
        let name = user.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| user.login.clone());
        let groups = if self.groups_required(scopes) {
            self.groups(scopes, &user.login, token).await?
        } else {
            Vec::new()
        };
        Ok(Claims {
            user_id: if self.use_login_as_id { user.login.clone() } else { user.id.to_string() },
            username: name,
            preferred_username: user.login,
            email,
            email_verified: true,
            groups,
        })
    }
}

/// Refresh re-reads the user with the stored access token, refreshed first when a GitHub App
/// issued an expiring one; the user id stays the one of the login, as in Dex.
impl OAuth2Refresh for Github {}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_key() -> std::sync::Arc<crate::connector::sealed::DataKey> {
        std::sync::Arc::new(
            crate::connector::sealed::DataKey::new(&crate::connector::sealed::DataKey::generate()).unwrap(),
        )
    }

    #[test]
    fn pagination_follows_next_until_last() {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::LINK,
            r#"<https://api.github.com/user/teams?page=2>; rel="next", <https://api.github.com/user/teams?page=3>; rel="last""#
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_page("https://api.github.com/user/teams", &headers).as_deref(),
            Some("https://api.github.com/user/teams?page=2")
        );
        assert_eq!(next_page("https://api.github.com/user/teams?page=3", &headers), None);
        assert_eq!(next_page("x", &HeaderMap::new()), None);
    }

    #[test]
    fn preferred_domains() {
        assert!(domain_matches("example.com", "example.com"));
        assert!(domain_matches("*.example.com", "mail.example.com"));
        assert!(!domain_matches("*.example.com", "example.com"));
        assert!(!domain_matches("example.com", "example.org"));
    }

    #[test]
    fn config_errors() {
        let both = GithubConfig { org: "a".into(), orgs: vec![Org::default()], ..Default::default() };
        assert!(Github::open(both, test_key()).is_err());
        let bad_host = GithubConfig { host_name: "https://x".into(), ..Default::default() };
        assert!(Github::open(bad_host, test_key()).is_err());
        let bad_field = GithubConfig { team_name_field: "id".into(), ..Default::default() };
        assert!(Github::open(bad_field, test_key()).is_err());
        let ok = GithubConfig { redirect_uri: "http://x/callback".into(), ..Default::default() };
        assert!(Github::open(ok, test_key()).is_ok());
    }
}
