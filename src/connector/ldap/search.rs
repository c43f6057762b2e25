//! Finding the user and their groups, the way Dex does it.
//!
//! Every value that came from the user or from the directory is escaped before it goes into
//! a filter (RFC 4515 §3: `*`, `(`, `)`, `\` and NUL become `\2a`, `\28`, `\29`, `\5c`,
//! `\00`), so a username such as `*)(uid=*` matches only a user literally called that.
//! Attribute names and the configured filters come from the operator's config.
//!
//! Groups: one search per user matcher and per value of its `userAttr`, for
//! `(&<groupSearch.filter>(<groupAttr>=<value>))`. With a `recursionGroupAttr`, each group found
//! is looked up in turn as a member (`(<recursionGroupAttr>=<group DN>)`) to collect the groups
//! that contain it, level by level. A group is visited once (cycles end there) and the walk is
//! bounded in depth and in the number of searches.

use super::config::{GroupSettings, UserSettings};
use super::conn::{Session, rc};
use crate::connector::ConnectorError;
use ldap3::SearchEntry;
use std::collections::HashSet;

/// Nested groups are followed this many levels up…
const MAX_NESTING: usize = 32;
/// …and one login makes at most this many group searches.
const MAX_GROUP_SEARCHES: usize = 1000;

/// `(attr=value)` with `value` escaped (RFC 4515 §3).
pub fn equality(attr: &str, value: &str) -> String {
    format!("({attr}={})", ldap3::ldap_escape(value))
}

/// ANDs the operator's filter (if any) with ours.
fn and(configured: &str, ours: String) -> String {
    if configured.is_empty() { ours } else { format!("(&{configured}{ours})") }
}

/// The user search filter: the username against each `userSearch.username` attribute.
pub fn user_filter(user: &UserSettings, username: &str) -> String {
    let mut matches: Vec<String> = user.username_attrs.iter().map(|a| equality(a, username)).collect();
    let ours = if matches.len() == 1 { matches.remove(0) } else { format!("(|{})", matches.concat()) };
    and(&user.filter, ours)
}

/// The group search filter for one member value.
pub fn group_filter(groups: &GroupSettings, member_attr: &str, value: &str) -> String {
    and(&groups.filter, equality(member_attr, value))
}

/// The values of an attribute (names compare case-insensitively, as in LDAP); `DN` is the
/// entry's DN unless the entry has an attribute of that name.
pub fn values<'e>(entry: &'e SearchEntry, name: &str) -> Vec<&'e str> {
    if let Some((_, values)) = entry.attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
        return values.iter().map(String::as_str).collect();
    }
    if name.eq_ignore_ascii_case("dn") {
        return vec![entry.dn.as_str()];
    }
    if entry.bin_attrs.keys().any(|k| k.eq_ignore_ascii_case(name)) {
        tracing::warn!(attribute = name, dn = %entry.dn, "ldap: attribute has binary values; ignored");
    }
    Vec::new()
}

/// The first value of an attribute.
pub fn first<'e>(entry: &'e SearchEntry, name: &str) -> Option<&'e str> {
    values(entry, name).into_iter().next()
}

/// Finds the one user entry the username names. `None` when there is none; more than one is
/// a configuration error (the username attributes are not unique).
pub async fn find_user(
    session: &mut Session,
    user: &UserSettings,
    attrs: &[&str],
    username: &str,
) -> Result<Option<SearchEntry>, ConnectorError> {
    let filter = user_filter(user, username);
    let (mut entries, code) = session.search(&user.base_dn, user.scope, &filter, attrs, Some(2)).await?;
    if code == rc::NO_SUCH_OBJECT {
        return Err(ConnectorError::Upstream(format!(
            "ldap: userSearch.baseDN {:?} does not exist in the directory",
            user.base_dn
        )));
    }
    match entries.len() {
        0 => Ok(None),
        1 if code != rc::SIZE_LIMIT_EXCEEDED => Ok(entries.pop()),
        n => Err(ConnectorError::Upstream(format!(
            "ldap: the user filter {filter:?} matched {n} or more entries; the username attributes must be unique"
        ))),
    }
}

/// The names of the user's groups, in the order found, without duplicates.
pub async fn find_groups(
    session: &mut Session,
    groups: &GroupSettings,
    user: &SearchEntry,
) -> Result<Vec<String>, ConnectorError> {
    let mut walk = Walk { session, groups, names: Vec::new(), seen_names: HashSet::new(), searches: 0 };
    for matcher in &groups.matchers {
        let mut level = Vec::new();
        for value in values(user, &matcher.user_attr) {
            level.extend(walk.search(&matcher.group_attr, value).await?);
        }
        if matcher.recursion_group_attr.is_empty() {
            for group in &level {
                walk.add_name(group)?;
            }
            continue;
        }
        // Breadth-first up the nesting, each group DN once.
        let mut visited: HashSet<String> = HashSet::new();
        for depth in 0.. {
            if level.is_empty() {
                break;
            }
            if depth >= MAX_NESTING {
                tracing::warn!(max = MAX_NESTING, user = %user.dn, "ldap: groups nested too deep; not followed further");
                break;
            }
            let mut next = Vec::new();
            for group in &level {
                if !visited.insert(group.dn.to_lowercase()) {
                    continue;
                }
                walk.add_name(group)?;
                next.extend(walk.search(&matcher.recursion_group_attr, &group.dn).await?);
            }
            level = next;
        }
    }
    Ok(walk.names)
}

struct Walk<'a> {
    session: &'a mut Session,
    groups: &'a GroupSettings,
    names: Vec<String>,
    seen_names: HashSet<String>,
    searches: usize,
}

impl Walk<'_> {
    async fn search(&mut self, member_attr: &str, value: &str) -> Result<Vec<SearchEntry>, ConnectorError> {
        self.searches += 1;
        if self.searches > MAX_GROUP_SEARCHES {
            return Err(ConnectorError::Upstream(format!(
                "ldap: more than {MAX_GROUP_SEARCHES} group searches for one user; check groupSearch"
            )));
        }
        let filter = group_filter(self.groups, member_attr, value);
        let attrs = [self.groups.name_attr.as_str()];
        let (entries, code) =
            self.session.search(&self.groups.base_dn, self.groups.scope, &filter, &attrs, None).await?;
        if code == rc::NO_SUCH_OBJECT {
            tracing::info!(base = %self.groups.base_dn, "ldap: groupSearch.baseDN does not exist; no groups");
        }
        Ok(entries)
    }

    fn add_name(&mut self, group: &SearchEntry) -> Result<(), ConnectorError> {
        let name = first(group, &self.groups.name_attr).ok_or_else(|| {
            ConnectorError::Upstream(format!(
                "ldap: group {:?} has no {:?} attribute (groupSearch.nameAttr)",
                group.dn, self.groups.name_attr
            ))
        })?;
        if self.seen_names.insert(name.to_string()) {
            self.names.push(name.to_string());
        }
        Ok(())
    }
}
