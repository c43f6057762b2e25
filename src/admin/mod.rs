//! Run-time administration, as Dex's gRPC API offers it: clients, local passwords, stored
//! connectors and users' refresh tokens. The transport (`grpc`, and `tessera admin` through
//! it) maps each call to one function here; every decision is made here.
//!
//! As in Dex:
//! - entries from the config (`staticClients`, `staticPasswords`, `connectors`) are
//!   read-only: the API lists them but cannot change or delete them, and cannot create an
//!   entry with their id;
//! - "already exists" and "not found" are answers (flags in Dex's responses), not errors;
//! - connectors are changed only when `DEX_API_CONNECTORS_CRUD=true` is set.
//!
//! Unlike Dex, a client created here keeps only a hash of its secret; the secret is returned
//! once, by [`clients::create`].

pub mod clients;
pub mod connectors;
pub mod passwords;
pub mod refresh;

use crate::crypto::PasswordHasher;
use crate::overlay::{Clients, Passwords};
use crate::storage::{Storage, StorageError};
use crate::types::{ConnectorId, UnixTime};

/// What an admin call needs, with `now` read once.
pub struct AdminContext<'a> {
    pub storage: &'a dyn Storage,
    pub clients: &'a Clients,
    pub passwords: &'a Passwords,
    pub hasher: &'a PasswordHasher,
    /// The ids of the connectors from the config (and `local`): read-only.
    pub static_connectors: Vec<ConnectorId>,
    /// `DEX_API_CONNECTORS_CRUD`: whether connectors may be changed.
    pub connectors_crud: bool,
    pub audit: &'a crate::audit::Audit,
    /// For revoking the access tokens of a revoked refresh-token family.
    pub access_tokens: &'a crate::oauth2::access_tokens::AccessTokens,
    /// How long an access token lives (`expiry.idTokens`).
    pub access_token_lifetime: i64,
    pub now: UnixTime,
}

/// Why an admin call failed. `Invalid` and `ReadOnly` are the caller's mistakes; `Storage`
/// is ours.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    ReadOnly(String),
    #[error("{0}")]
    Disabled(String),
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
}

/// The result of a change that names an entry: done, or the entry was (not) there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<T = ()> {
    Done(T),
    AlreadyExists,
    NotFound,
}

fn invalid(message: impl Into<String>) -> AdminError {
    AdminError::Invalid(message.into())
}
