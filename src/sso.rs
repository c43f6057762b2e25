//! Single sign-on: a user who logged in is not asked again by the next client while their
//! session lives (`sessions.absoluteLifetime`, `sessions.validIfNotUsedFor`).
//!
//! The session is an [`AuthSession`] in storage; its id is the `sid` claim of ID tokens and
//! the browser carries it inside its own session cookie. `prompt=login` and `max_age`
//! (OIDC Core §3.1.2.1) force a fresh login; `prompt=none` never shows a page.

use crate::crypto::random_id;
use crate::storage::{AuthRequest, AuthSession, Storage, StorageError};
use crate::types::{ClientId, ConnectorId, UnixTime};

/// Session lifetimes, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub absolute_lifetime: i64,
    pub idle_lifetime: i64,
}

/// The live session with this id, touched (its idle expiry moves forward), or `None`.
pub async fn current(
    storage: &dyn Storage,
    settings: &Settings,
    sid: Option<&str>,
    now: UnixTime,
) -> Result<Option<AuthSession>, StorageError> {
    let Some(sid) = sid.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let Some(mut session) = storage.get_auth_session(sid).await? else {
        return Ok(None);
    };
    if !session.is_live(now) {
        return Ok(None);
    }
    session.last_activity = now;
    session.idle_expiry = (now + settings.idle_lifetime).min(session.absolute_expiry);
    storage.update_auth_session(&session).await?;
    Ok(Some(session))
}

/// Whether a request may reuse the session instead of logging in again.
pub fn reusable(
    session: &AuthSession,
    request: &AuthRequest,
    allowed_connectors: &[ConnectorId],
    now: UnixTime,
) -> bool {
    let forced_login = request.prompt.split(' ').any(|p| p == "login");
    let too_old = request.max_age.is_some_and(|max_age| now - session.auth_time > max_age);
    let connector_ok = allowed_connectors.contains(&session.connector_id)
        && (request.connector_id.is_empty() || request.connector_id == session.connector_id);
    !forced_login && !too_old && connector_ok && session.is_live(now)
}

/// Starts a session for a login that just succeeded.
pub async fn open(
    storage: &dyn Storage,
    settings: &Settings,
    request: &AuthRequest,
    now: UnixTime,
) -> Result<AuthSession, StorageError> {
    let session = AuthSession {
        id: random_id(),
        connector_id: request.connector_id.clone(),
        claims: request.claims.clone(),
        connector_data: request.connector_data.clone(),
        auth_time: request.auth_time,
        created_at: now,
        last_activity: now,
        absolute_expiry: now + settings.absolute_lifetime,
        idle_expiry: now + settings.idle_lifetime.min(settings.absolute_lifetime),
        consents: Default::default(),
        clients: Vec::new(),
    };
    storage.create_auth_session(&session).await?;
    Ok(session)
}

/// The user already approved every one of these scopes for this client in this session.
pub fn has_consent(session: &AuthSession, client_id: &ClientId, scopes: &[String]) -> bool {
    session.consents.get(client_id).is_some_and(|approved| scopes.iter().all(|s| approved.contains(s)))
}

/// Remembers an approval, and that the client holds tokens from this session.
pub async fn record(
    storage: &dyn Storage,
    sid: &str,
    client_id: &ClientId,
    approved: Option<&[String]>,
) -> Result<(), StorageError> {
    if sid.is_empty() {
        return Ok(());
    }
    let Some(mut session) = storage.get_auth_session(sid).await? else {
        return Ok(());
    };
    let mut changed = false;
    if let Some(scopes) = approved {
        let entry = session.consents.entry(client_id.clone()).or_default();
        for scope in scopes {
            if !entry.contains(scope) {
                entry.push(scope.clone());
                changed = true;
            }
        }
    }
    if !session.clients.iter().any(|c| c == client_id) {
        session.clients.push(client_id.clone());
        changed = true;
    }
    // A returning client with nothing new to remember costs no write.
    if changed {
        storage.update_auth_session(&session).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(auth_time: UnixTime) -> AuthSession {
        AuthSession {
            id: "s".into(),
            connector_id: "local".into(),
            auth_time,
            absolute_expiry: 1_000,
            idle_expiry: 500,
            ..Default::default()
        }
    }

    fn request(prompt: &str, max_age: Option<i64>) -> AuthRequest {
        AuthRequest { prompt: prompt.into(), max_age, ..Default::default() }
    }

    #[test]
    fn reuse_rules() {
        let allowed = vec![ConnectorId::from("local")];
        let s = session(100);
        assert!(reusable(&s, &request("", None), &allowed, 200));
        assert!(!reusable(&s, &request("login", None), &allowed, 200), "prompt=login forces a login");
        assert!(!reusable(&s, &request("", Some(50)), &allowed, 200), "max_age exceeded");
        assert!(reusable(&s, &request("", Some(150)), &allowed, 200));
        assert!(
            !reusable(&s, &request("", None), &[ConnectorId::from("ldap")], 200),
            "connector not allowed"
        );
        assert!(!reusable(&s, &request("", None), &allowed, 500), "idle expiry reached");
        let other = AuthRequest { connector_id: "ldap".into(), ..request("", None) };
        assert!(!reusable(&s, &other, &allowed, 200), "another connector was asked for");
    }

    #[test]
    fn consent_must_cover_every_scope() {
        let mut s = session(0);
        s.consents.insert("app".into(), vec!["openid".into(), "email".into()]);
        assert!(has_consent(&s, &"app".into(), &["openid".into()]));
        assert!(!has_consent(&s, &"app".into(), &["openid".into(), "groups".into()]));
        assert!(!has_consent(&s, &"other".into(), &["openid".into()]));
    }
}
