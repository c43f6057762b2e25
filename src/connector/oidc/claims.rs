//! From the provider's claims (ID token, merged with userinfo) to Tessera's [`Claims`], by
//! Dex's rules, so the same user gets the same `sub` as under Dex:
//!
//! - user id: `sub`, or the claim named by `userIDKey`; username: `name` or `userNameKey`;
//! - `preferred_username`, `email`, `groups`: the standard claim, or the `claimMapping` one
//!   when it is absent (always, with `overrideClaimMapping`);
//! - `email_verified` must be present when `email` is asked for, unless
//!   `insecureSkipEmailVerified` (then absent means verified);
//! - groups only with `insecureEnableGroups`: a list of strings or of objects with a `name`,
//!   or one string; kept if they match `groupsFilter`; then `allowedGroups` refuses a user in
//!   none of them (and keeps only those); then `modifyGroupNames` and `newGroupFromClaims`.

use super::config::Config;
use crate::connector::ConnectorError;
use crate::storage::Claims;
use serde_json::{Map, Value};

/// The rules of one connector, prepared at open.
pub struct Mapping {
    user_id_key: String,
    user_name_key: String,
    override_mapping: bool,
    preferred_username_key: String,
    email_key: String,
    groups_key: String,
    email_scope: bool,
    skip_email_verified: bool,
    enable_groups: bool,
    allowed_groups: Vec<String>,
    groups_filter: Option<regex::Regex>,
    prefix: String,
    suffix: String,
    new_groups: Vec<super::config::NewGroupFromClaims>,
}

impl Mapping {
    pub fn new(config: &Config) -> Self {
        let filter = &config.claim_modifications.filter_group_claims.groups_filter;
        Self {
            user_id_key: config.user_id_key.clone(),
            user_name_key: if config.user_name_key.is_empty() {
                "name".into()
            } else {
                config.user_name_key.clone()
            },
            override_mapping: config.override_claim_mapping,
            preferred_username_key: config.claim_mapping.preferred_username.clone(),
            email_key: config.claim_mapping.email.clone(),
            groups_key: config.claim_mapping.groups.clone(),
            email_scope: config.upstream_scopes().iter().any(|s| s == "email"),
            skip_email_verified: config.insecure_skip_email_verified,
            enable_groups: config.insecure_enable_groups,
            allowed_groups: config.allowed_groups.clone(),
            // `check` refused an invalid filter already.
            groups_filter: (!filter.is_empty()).then(|| regex::Regex::new(filter).ok()).flatten(),
            prefix: config.claim_modifications.modify_group_names.prefix.clone(),
            suffix: config.claim_modifications.modify_group_names.suffix.clone(),
            new_groups: config.claim_modifications.new_group_from_claims.clone(),
        }
    }

    /// The standard claim, or the mapped one when the standard one is absent or overridden.
    fn pick<'a>(
        &self,
        claims: &'a Map<String, Value>,
        standard: &str,
        mapped: &str,
    ) -> (String, Option<&'a Value>) {
        let value = claims.get(standard);
        if (value.is_none() || self.override_mapping) && !mapped.is_empty() {
            return (mapped.to_string(), claims.get(mapped));
        }
        (standard.to_string(), value)
    }

    /// Tessera's claims for this user, or why the login is refused.
    pub fn map(&self, claims: &Map<String, Value>) -> Result<Claims, ConnectorError> {
        let missing = |key: &str, why: &str| {
            ConnectorError::Refused(format!("The identity provider did not send the \"{key}\" claim{why}."))
        };
        let string = |key: &str| claims.get(key).and_then(Value::as_str).map(str::to_string);
        let mut user_id = string("sub").ok_or_else(|| missing("sub", ""))?;
        if !self.user_id_key.is_empty() {
            user_id = string(&self.user_id_key).ok_or_else(|| missing(&self.user_id_key, " (userIDKey)"))?;
        }
        let username =
            string(&self.user_name_key).ok_or_else(|| missing(&self.user_name_key, " (userNameKey)"))?;

        let preferred_username = match self.pick(claims, "preferred_username", &self.preferred_username_key) {
            (_, Some(Value::String(s))) => s.clone(),
            _ => String::new(),
        };
        let (email_key, email) = self.pick(claims, "email", &self.email_key);
        let email = match email {
            Some(Value::String(s)) => s.clone(),
            _ if self.email_scope => return Err(missing(&email_key, "")),
            _ => String::new(),
        };
        let email_verified = match claims.get("email_verified") {
            Some(Value::Bool(b)) => *b,
            _ if self.skip_email_verified => true,
            _ if self.email_scope => return Err(missing("email_verified", "")),
            _ => false,
        };

        let mut groups = if self.enable_groups { self.groups(claims)? } else { Vec::new() };
        if !self.prefix.is_empty() || !self.suffix.is_empty() {
            for group in &mut groups {
                *group = format!("{}{group}{}", self.prefix, self.suffix);
            }
        }
        for rule in &self.new_groups {
            let mut segments = vec![rule.prefix.clone()];
            for name in &rule.claims {
                // Non-string claims are skipped: joining them would mean nothing.
                let Some(value) = claims.get(name).and_then(Value::as_str) else {
                    continue;
                };
                segments.push(if rule.clear_delimiter && !rule.delimiter.is_empty() {
                    value.replace(&rule.delimiter, "")
                } else {
                    value.to_string()
                });
            }
            if segments.len() > 1 {
                groups.push(segments.join(&rule.delimiter));
            }
        }
        Ok(Claims { user_id, username, preferred_username, email, email_verified, groups })
    }

    fn groups(&self, claims: &Map<String, Value>) -> Result<Vec<String>, ConnectorError> {
        let (key, value) = self.pick(claims, "groups", &self.groups_key);
        let keep = |g: &str| self.groups_filter.as_ref().is_none_or(|f| f.is_match(g));
        let mut groups = Vec::new();
        match value {
            None | Some(Value::Null) => {}
            Some(Value::String(g)) if keep(g) => groups.push(g.clone()),
            Some(Value::String(_)) => {}
            Some(Value::Array(items)) => {
                for item in items {
                    let name = match item {
                        Value::String(s) => s.as_str(),
                        Value::Object(o) => match o.get("name").and_then(Value::as_str) {
                            Some(name) => name,
                            None => continue,
                        },
                        _ => {
                            return Err(ConnectorError::Refused(format!(
                                "The identity provider sent a malformed \"{key}\" claim."
                            )));
                        }
                    };
                    if keep(name) {
                        groups.push(name.to_string());
                    }
                }
            }
            Some(_) => {
                return Err(ConnectorError::Refused(format!(
                    "The identity provider sent a malformed \"{key}\" claim."
                )));
            }
        }
        if !self.allowed_groups.is_empty() {
            groups.retain(|g| self.allowed_groups.contains(g));
            if groups.is_empty() {
                return Err(ConnectorError::Refused(
                    "You are not a member of any group allowed to log in here.".into(),
                ));
            }
        }
        Ok(groups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapping(config: Value) -> Mapping {
        let mut base = json!({"issuer": "https://idp", "clientID": "c"});
        base.as_object_mut().unwrap().extend(config.as_object().unwrap().clone());
        Mapping::new(&serde_json::from_value(base).unwrap())
    }

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn alice() -> Value {
        json!({"sub": "u1", "name": "Alice", "email": "alice@example.com", "email_verified": true,
               "preferred_username": "alice", "groups": ["admins", {"name": "devs"}, "team-x"]})
    }

    #[test]
    fn standard_claims_map_as_dex_does() {
        let got = mapping(json!({})).map(&claims(alice())).unwrap();
        assert_eq!(got.user_id, "u1");
        assert_eq!(got.username, "Alice");
        assert_eq!(got.preferred_username, "alice");
        assert_eq!(got.email, "alice@example.com");
        assert!(got.email_verified);
        assert!(got.groups.is_empty(), "groups only with insecureEnableGroups");
    }

    #[test]
    fn groups_filters_allowed_and_modifications() {
        let m = mapping(json!({"insecureEnableGroups": true}));
        assert_eq!(m.map(&claims(alice())).unwrap().groups, ["admins", "devs", "team-x"]);
        let mut single = alice();
        single["groups"] = json!("solo");
        assert_eq!(m.map(&claims(single)).unwrap().groups, ["solo"]);
        let mut bad = alice();
        bad["groups"] = json!([1]);
        assert!(matches!(m.map(&claims(bad)), Err(ConnectorError::Refused(_))));

        let m = mapping(json!({"insecureEnableGroups": true, "allowedGroups": ["devs", "ops"],
            "claimModifications": {"modifyGroupNames": {"prefix": "up:"},
              "newGroupFromClaims": [{"claims": ["sub", "name"], "delimiter": "/", "prefix": "user"}]}}));
        assert_eq!(m.map(&claims(alice())).unwrap().groups, ["up:devs", "user/u1/Alice"]);
        let mut outsider = alice();
        outsider["groups"] = json!(["guests"]);
        let Err(ConnectorError::Refused(why)) = m.map(&claims(outsider)) else { panic!("not refused") };
        assert!(why.contains("group"), "{why}");

        let m = mapping(json!({"insecureEnableGroups": true,
            "claimModifications": {"filterGroupClaims": {"groupsFilter": "^team-"}}}));
        assert_eq!(m.map(&claims(alice())).unwrap().groups, ["team-x"]);
    }

    #[test]
    fn keys_mapping_and_override() {
        let token = json!({"sub": "u1", "nickname": "al", "mail": "a@x", "email_verified": false,
                           "oid": "object-7", "roles": ["r"], "email": "std@x"});
        let m = mapping(json!({"userIDKey": "oid", "userNameKey": "nickname", "insecureEnableGroups": true,
            "claimMapping": {"email": "mail", "groups": "roles"}}));
        let got = m.map(&claims(token.clone())).unwrap();
        assert_eq!(
            (got.user_id.as_str(), got.username.as_str(), got.email.as_str()),
            ("object-7", "al", "std@x")
        );
        assert_eq!(got.groups, ["r"]);
        let m = mapping(json!({"userNameKey": "nickname", "overrideClaimMapping": true,
            "claimMapping": {"email": "mail"}}));
        assert_eq!(m.map(&claims(token)).unwrap().email, "a@x");
    }

    #[test]
    fn missing_claims_are_refused_with_their_name() {
        let m = mapping(json!({}));
        for (claim, token) in [
            ("name", json!({"sub": "u", "email": "e", "email_verified": true})),
            ("email_verified", json!({"sub": "u", "name": "n", "email": "e"})),
            ("email", json!({"sub": "u", "name": "n", "email_verified": true})),
            ("sub", json!({"name": "n"})),
        ] {
            let Err(ConnectorError::Refused(why)) = m.map(&claims(token)) else { panic!("{claim} accepted") };
            assert!(why.contains(&format!("\"{claim}\"")), "{why}");
        }
        let lenient = mapping(json!({"insecureSkipEmailVerified": true, "scopes": ["profile"]}));
        let got = lenient.map(&claims(json!({"sub": "u", "name": "n"}))).unwrap();
        assert!(got.email_verified && got.email.is_empty());
    }
}
