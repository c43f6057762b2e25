//! Local passwords of the password database (Dex's `CreatePassword`, `UpdatePassword`,
//! `DeletePassword`, `ListPasswords`, `VerifyPassword`).
//!
//! Hashes arrive ready-made, as in Dex: a bcrypt hash of cost 10 to 16 (Dex's bounds: lower
//! is too weak, higher would let one login stall the server), or an argon2id PHC string.

use super::{AdminContext, AdminError, Change, invalid};
use crate::config::hash::normalise_hash;
use crate::storage::{Password, StorageError};
use crate::types::Secret;

const BCRYPT_MIN_COST: u32 = 10;
const BCRYPT_MAX_COST: u32 = 16;

/// Checks a hash sent through the API and returns it as stored.
fn checked_hash(hash: &[u8]) -> Result<Secret, AdminError> {
    let text = std::str::from_utf8(hash).map_err(|_| invalid("the hash is not text"))?;
    let hash = normalise_hash(text).map_err(invalid)?;
    if let Some(cost) = bcrypt_cost(&hash)
        && !(BCRYPT_MIN_COST..=BCRYPT_MAX_COST).contains(&cost)
    {
        return Err(invalid(format!(
            "bcrypt cost {cost} is outside {BCRYPT_MIN_COST}..={BCRYPT_MAX_COST} (12 is recommended)"
        )));
    }
    Ok(Secret::new(hash))
}

/// The cost of a bcrypt hash (`$2b$12$…`); `None` for another format.
fn bcrypt_cost(hash: &str) -> Option<u32> {
    let rest = hash
        .strip_prefix("$2a$")
        .or_else(|| hash.strip_prefix("$2b$"))
        .or_else(|| hash.strip_prefix("$2y$"))?;
    rest.split('$').next()?.parse().ok()
}

/// A password to create, as the caller sent it.
#[derive(Debug, Clone, Default)]
pub struct NewPassword {
    pub email: String,
    pub hash: Vec<u8>,
    pub username: String,
    pub user_id: String,
}

pub async fn create(ctx: &AdminContext<'_>, new: NewPassword) -> Result<Change, AdminError> {
    if new.email.trim().is_empty() {
        return Err(invalid("no email supplied"));
    }
    if new.user_id.is_empty() {
        return Err(invalid("no user ID supplied"));
    }
    if new.hash.is_empty() {
        return Err(invalid("no hash of password supplied"));
    }
    let hash = checked_hash(&new.hash)?;
    if ctx.passwords.is_static(&new.email) {
        return Ok(Change::AlreadyExists);
    }
    let password = Password {
        email: new.email.to_lowercase(),
        hash,
        username: new.username,
        user_id: new.user_id,
        ..Default::default()
    };
    match ctx.storage.create_password(&password).await {
        Ok(()) => Ok(Change::Done(())),
        Err(StorageError::AlreadyExists) => Ok(Change::AlreadyExists),
        Err(e) => Err(e.into()),
    }
}

/// Changes a stored password's hash and/or username (empty: unchanged).
pub async fn update(
    ctx: &AdminContext<'_>,
    email: &str,
    new_hash: &[u8],
    new_username: &str,
) -> Result<Change, AdminError> {
    if email.is_empty() {
        return Err(invalid("no email supplied"));
    }
    if new_hash.is_empty() && new_username.is_empty() {
        return Err(invalid("nothing to update"));
    }
    let hash = if new_hash.is_empty() { None } else { Some(checked_hash(new_hash)?) };
    if ctx.passwords.is_static(email) {
        return Err(AdminError::ReadOnly(format!(
            "password {email:?} comes from the config and is read-only"
        )));
    }
    let Some(mut password) = ctx.storage.get_password(email).await? else {
        return Ok(Change::NotFound);
    };
    if let Some(hash) = hash {
        password.hash = hash;
    }
    if !new_username.is_empty() {
        password.username = new_username.to_string();
    }
    Ok(if ctx.storage.update_password(&password).await? { Change::Done(()) } else { Change::NotFound })
}

pub async fn delete(ctx: &AdminContext<'_>, email: &str) -> Result<Change, AdminError> {
    if email.is_empty() {
        return Err(invalid("no email supplied"));
    }
    if ctx.passwords.is_static(email) {
        return Err(AdminError::ReadOnly(format!(
            "password {email:?} comes from the config and is read-only"
        )));
    }
    Ok(if ctx.storage.delete_password(email).await? { Change::Done(()) } else { Change::NotFound })
}

/// Every password (static ones first), with their hashes: the transport leaves them out.
pub async fn list(ctx: &AdminContext<'_>) -> Result<Vec<Password>, AdminError> {
    let mut passwords = ctx.passwords.statics();
    let stored = ctx.storage.list_passwords().await?;
    passwords.extend(stored.into_iter().filter(|p| !ctx.passwords.is_static(&p.email)));
    Ok(passwords)
}

/// Whether `password` is the password of `email`; `None` when there is no such user. An
/// unknown user costs the same hashing work as a wrong password.
pub async fn verify(
    ctx: &AdminContext<'_>,
    email: &str,
    password: &Secret,
) -> Result<Option<bool>, AdminError> {
    if email.is_empty() {
        return Err(invalid("no email supplied"));
    }
    if password.is_empty() {
        return Err(invalid("no password to verify supplied"));
    }
    let stored = ctx.passwords.get(email).await?;
    let hash = stored.as_ref().map(|p| p.hash.expose().to_string());
    let verified = ctx
        .hasher
        .verify(password.expose().to_string(), hash)
        .await
        .map_err(|e| AdminError::Storage(StorageError::Backend(e.to_string())))?;
    Ok(stored.map(|_| verified))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_costs_outside_dexs_bounds_are_refused() {
        let at = |cost: &str| format!("$2a${cost}$") + &"a".repeat(53);
        assert!(checked_hash(at("10").as_bytes()).is_ok());
        assert!(checked_hash(at("16").as_bytes()).is_ok());
        assert!(checked_hash(at("04").as_bytes()).is_err());
        assert!(checked_hash(at("17").as_bytes()).is_err());
        assert!(checked_hash(b"plain-text-password").is_err());
        let argon = "$argon2id$v=19$m=19456,t=2,p=1$YYGkRSGnJYdoM8BO914EZg$vl8BF+JTielBgJ93dyUEEa/g1AGkNL1hac1YFiRg7Gk";
        assert!(checked_hash(argon.as_bytes()).is_ok());
    }
}
