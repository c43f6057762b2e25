//! From a verified assertion to an [`Identity`], as Dex maps it: the NameID is the user id,
//! `emailAttr` and `usernameAttr` are required, groups come from `groupsAttr` (one value per
//! group, or one value split on `groupsDelim`) and may be limited by `allowedGroups`.

use super::config::Attributes;
use super::rejection::Rejection;
use crate::connector::{Identity, Scopes};
use crate::storage::Claims;
use samael::schema::Assertion;

/// Every value of the attributes named `name` (matched on `Name`, as Dex does).
fn values(assertion: &Assertion, name: &str) -> Option<Vec<String>> {
    let mut found = None;
    for statement in assertion.attribute_statements.iter().flatten() {
        for attribute in statement.attributes.iter().filter(|a| a.name.as_deref() == Some(name)) {
            let list: &mut Vec<String> = found.get_or_insert_with(Vec::new);
            list.extend(attribute.values.iter().map(|v| v.value.clone().unwrap_or_default()));
        }
    }
    found
}

fn first(assertion: &Assertion, name: &str) -> Result<String, Rejection> {
    values(assertion, name)
        .and_then(|v| v.into_iter().next())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Rejection::MissingAttribute(name.into()))
}

/// The user id: the subject's NameID, which must not be empty.
pub fn name_id(assertion: &Assertion) -> Result<String, Rejection> {
    let value = assertion.subject.as_ref().and_then(|s| s.name_id.as_ref()).map(|n| n.value.clone());
    value.filter(|v| !v.trim().is_empty()).ok_or(Rejection::NoNameId)
}

/// Groups, checked against `allowedGroups` whatever the client asked for, and released in
/// the claims only when the client asked for the `groups` scope.
pub fn groups(
    assertion: &Assertion,
    attributes: &Attributes,
    scopes: Scopes,
) -> Result<Vec<String>, Rejection> {
    let wanted = scopes.groups || !attributes.allowed_groups.is_empty();
    if attributes.groups.is_empty() || !wanted {
        return Ok(Vec::new());
    }
    let raw = values(assertion, &attributes.groups);
    let mut groups = match (raw, attributes.groups_delim.as_str()) {
        (None, _) if attributes.allowed_groups.is_empty() => Vec::new(),
        (None, _) => return Err(Rejection::NotInAllowedGroups),
        (Some(v), "") => v,
        (Some(v), delim) => {
            v.first().map(|s| s.split(delim).map(str::to_string).collect()).unwrap_or_default()
        }
    };
    if !attributes.allowed_groups.is_empty() {
        let allowed: Vec<String> =
            groups.iter().filter(|g| attributes.allowed_groups.contains(g)).cloned().collect();
        if allowed.is_empty() {
            return Err(Rejection::NotInAllowedGroups);
        }
        if attributes.filter_groups {
            groups = allowed;
        }
    }
    Ok(if scopes.groups { groups } else { Vec::new() })
}

/// The identity; `connector_data` keeps the claims for refresh (SAML has no refresh of its own).
pub fn identity(
    assertion: &Assertion,
    attributes: &Attributes,
    scopes: Scopes,
) -> Result<Identity, Rejection> {
    let claims = Claims {
        user_id: name_id(assertion)?,
        username: first(assertion, &attributes.username)?,
        preferred_username: String::new(),
        email: first(assertion, &attributes.email)?,
        // Dex marks SAML emails verified: the identity provider vouches for them.
        email_verified: true,
        groups: groups(assertion, attributes, scopes)?,
    };
    Ok(Identity { claims, connector_data: None })
}
