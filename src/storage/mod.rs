//! Storage: the contract every backend keeps, one sub-trait per aggregate.
//!
//! There is one implementation, [`sql::SqlStorage`], over SQLite (the embedded default, also
//! used in memory for `storage.type: memory`), PostgreSQL and MySQL/MariaDB (for several
//! replicas). Getters
//! return `Ok(None)` when the record does not exist; `StorageError` is reserved for the
//! backend failing. Operations that must not race have a named atomic method
//! (`redeem_auth_code`, `rotate_refresh_token`, `swap_keys`, `take_auth_request`) instead of a
//! read-modify-write closure. `conformance` is the suite every backend must pass.
//!
//! Static clients, passwords and connectors from the config are *not* stored here: the
//! `overlay` module layers them over storage, read-only, as Dex does.

pub mod records;
pub mod sql;

#[cfg(test)]
mod conformance;

pub use records::*;

use crate::protocol::DeviceStatus;
use crate::types::{ClientId, ConnectorId, UnixTime};
use async_trait::async_trait;

/// The backend failed, or a uniqueness rule was broken. Never shown to a client as such.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("a record with this id already exists")]
    AlreadyExists,
    #[error("storage backend: {0}")]
    Backend(String),
    /// The database cannot be reached or cannot take the request right now (down,
    /// restarting, out of connections or disk): answered `503` with `Retry-After`, not `500`.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
}

pub type Result<T> = std::result::Result<T, StorageError>;

#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Fails with `AlreadyExists` when the id is taken.
    async fn create_client(&self, client: &Client) -> Result<()>;
    async fn get_client(&self, id: &ClientId) -> Result<Option<Client>>;
    async fn list_clients(&self) -> Result<Vec<Client>>;
    /// Replaces the client with the same id; `false` when there is none.
    async fn update_client(&self, client: &Client) -> Result<bool>;
    /// `false` when there was nothing to delete.
    async fn delete_client(&self, id: &ClientId) -> Result<bool>;
}

#[async_trait]
pub trait AuthFlowStore: Send + Sync {
    async fn create_auth_request(&self, request: &AuthRequest) -> Result<()>;
    async fn get_auth_request(&self, id: &str) -> Result<Option<AuthRequest>>;
    /// Replaces the request with the same id; `false` when it no longer exists.
    async fn update_auth_request(&self, request: &AuthRequest) -> Result<bool>;
    /// Fetch and delete in one step: of two concurrent callers exactly one gets `Some`.
    async fn take_auth_request(&self, id: &str) -> Result<Option<AuthRequest>>;
    /// Stores a pushed authorization request (RFC 9126) until it is taken or expires.
    async fn create_pushed_request(&self, request: &PushedRequest) -> Result<()>;
    async fn get_pushed_request(&self, id: &str) -> Result<Option<PushedRequest>>;
    /// Reads and deletes it in one step: of two callers, exactly one gets it (single use).
    async fn take_pushed_request(&self, id: &str) -> Result<Option<PushedRequest>>;
    async fn delete_auth_request(&self, id: &str) -> Result<bool>;

    async fn create_auth_code(&self, code: &AuthCode) -> Result<()>;
    async fn get_auth_code(&self, id: &str) -> Result<Option<AuthCode>>;
    /// Marks the code redeemed at `now`. Of concurrent callers exactly one sees `Fresh`;
    /// the others (and every later caller) see `Replayed`. Expired codes are still returned:
    /// the caller checks `expiry`.
    async fn redeem_auth_code(&self, id: &str, now: UnixTime) -> Result<Redemption>;
    /// Records what was issued from a redeemed code, for replay revocation.
    async fn set_auth_code_issued(&self, id: &str, issued: &IssuedTokens) -> Result<()>;
    async fn delete_auth_code(&self, id: &str) -> Result<bool>;
}

#[async_trait]
pub trait RefreshStore: Send + Sync {
    async fn create_refresh_token(&self, token: &RefreshToken) -> Result<()>;
    async fn get_refresh_token(&self, id: &str) -> Result<Option<RefreshToken>>;
    /// Replaces the current secret only if it still hashes to `rotation.expected_hash`, in one
    /// atomic step: of concurrent rotations of one token exactly one returns `true`.
    /// The replaced hash becomes `obsolete_hash`; `last_used` becomes `now` and `rotated_at_ms`
    /// `now_ms`.
    async fn rotate_refresh_token(&self, id: &str, rotation: &RefreshRotation) -> Result<bool>;
    /// Marks the token used at `now` without rotating it (`disableRotation`, reuse window).
    async fn touch_refresh_token(&self, id: &str, now: UnixTime) -> Result<()>;
    /// Deletes the whole token family; `false` when there was none.
    async fn delete_refresh_token(&self, id: &str) -> Result<bool>;
    /// Every refresh token family of a user at one connector (several per client allowed).
    async fn list_refresh_tokens_for_user(
        &self,
        user_id: &str,
        connector_id: &ConnectorId,
    ) -> Result<Vec<RefreshToken>>;

    async fn upsert_offline_session(&self, session: &OfflineSession) -> Result<()>;
    async fn get_offline_session(
        &self,
        user_id: &str,
        connector_id: &ConnectorId,
    ) -> Result<Option<OfflineSession>>;
    async fn delete_offline_session(&self, user_id: &str, connector_id: &ConnectorId) -> Result<bool>;

    /// Remembers a revoked access token (by `jti`) until it would have expired anyway;
    /// `revoked_at` is when, for [`Self::revoked_access_tokens_since`].
    async fn revoke_access_token(&self, jti: &str, expiry: UnixTime, revoked_at: UnixTime) -> Result<()>;
    async fn is_access_token_revoked(&self, jti: &str) -> Result<bool>;
    /// The revoked access tokens (`jti`, expiry) revoked at or after `since` that have not
    /// expired by `now`: how replicas keep their in-memory revoked sets up to date.
    async fn revoked_access_tokens_since(
        &self,
        since: UnixTime,
        now: UnixTime,
    ) -> Result<Vec<(String, UnixTime)>>;
}

#[async_trait]
pub trait PasswordStore: Send + Sync {
    /// `email` is matched case-insensitively.
    async fn create_password(&self, password: &Password) -> Result<()>;
    async fn get_password(&self, email: &str) -> Result<Option<Password>>;
    async fn list_passwords(&self) -> Result<Vec<Password>>;
    async fn update_password(&self, password: &Password) -> Result<bool>;
    async fn delete_password(&self, email: &str) -> Result<bool>;
}

#[async_trait]
pub trait ConnectorStore: Send + Sync {
    async fn create_connector(&self, connector: &Connector) -> Result<()>;
    async fn get_connector(&self, id: &ConnectorId) -> Result<Option<Connector>>;
    async fn list_connectors(&self) -> Result<Vec<Connector>>;
    async fn update_connector(&self, connector: &Connector) -> Result<bool>;
    async fn delete_connector(&self, id: &ConnectorId) -> Result<bool>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The current key set; `version` 0 and no signing key when none was ever stored.
    async fn get_keys(&self) -> Result<Keys>;
    /// Stores `new` only if the stored version is still `expected_version` (0 = none stored).
    /// `false` means another replica swapped first: re-read and use its keys.
    async fn swap_keys(&self, expected_version: i64, new: &Keys) -> Result<bool>;
    /// The data-encryption key all replicas share: stores `candidate` if no key exists yet,
    /// atomically, and returns the stored key (the candidate, or the key another replica
    /// stored first).
    async fn get_or_create_data_key(&self, candidate: &[u8]) -> Result<Vec<u8>>;
}

#[async_trait]
pub trait DeviceStore: Send + Sync {
    async fn create_device_request(&self, request: &DeviceRequest) -> Result<()>;
    async fn get_device_request(&self, user_code: &str) -> Result<Option<DeviceRequest>>;
    async fn create_device_token(&self, token: &DeviceToken) -> Result<()>;
    async fn get_device_token(&self, device_code: &str) -> Result<Option<DeviceToken>>;
    /// Replaces the token only if its status is still `expected_status`.
    async fn update_device_token(&self, token: &DeviceToken, expected_status: DeviceStatus) -> Result<bool>;
    /// Fetch and delete in one step (a device code is single-use).
    async fn take_device_token(&self, device_code: &str) -> Result<Option<DeviceToken>>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Inserts a new session; `false` when the id is taken (the caller picks another).
    async fn create_web_session(&self, session: &WebSession) -> Result<bool>;
    /// Inserts or replaces.
    async fn save_web_session(&self, session: &WebSession) -> Result<()>;
    /// `None` when absent or expired at `now`.
    async fn load_web_session(&self, id: &str, now: UnixTime) -> Result<Option<WebSession>>;
    async fn delete_web_session(&self, id: &str) -> Result<()>;
}

#[async_trait]
pub trait AuthSessionStore: Send + Sync {
    async fn create_auth_session(&self, session: &AuthSession) -> Result<()>;
    /// The session, expired or not (the caller checks [`AuthSession::is_live`]).
    async fn get_auth_session(&self, id: &str) -> Result<Option<AuthSession>>;
    /// Replaces the session with the same id; `false` when it no longer exists.
    async fn update_auth_session(&self, session: &AuthSession) -> Result<bool>;
    async fn delete_auth_session(&self, id: &str) -> Result<bool>;
    /// Deletes the refresh token families bound to a session; returns how many.
    async fn delete_refresh_tokens_for_session(&self, session_id: &str) -> Result<u64>;
}

#[async_trait]
pub trait ReplayStore: Send + Sync {
    /// Records that the SAML assertion `id` was accepted, remembered until `expiry` (when the
    /// assertion could no longer be accepted anyway). `true` the first time; `false` when the
    /// id was already claimed, by this replica or another. Atomic: of concurrent claims of one
    /// id exactly one returns `true`.
    async fn claim_saml_assertion(&self, id: &str, expiry: UnixTime) -> Result<bool>;
    /// The same for a JWT that may be used once (a client assertion, a DPoP proof): `key`
    /// says which JWT (the caller digests what it is and its `jti`), remembered until
    /// `expiry`. `true` the first time, `false` for a replay; atomic as above.
    async fn claim_jwt_id(&self, key: &str, expiry: UnixTime) -> Result<bool>;
}

/// Failed attempts (passwords, device user codes) counted per key, so every replica sees the
/// same count: brute-force protection (`throttle`). Keys are opaque digests the caller makes.
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Counts one more failure for `key` at `now`, remembered until `forget_at`, and returns
    /// the count after it (concurrent failures may already be in it). A count whose
    /// `forget_at` had passed starts again at 1. Atomic: `n` concurrent calls on one key add
    /// exactly `n`.
    async fn count_failure(&self, key: &str, now: UnixTime, forget_at: UnixTime) -> Result<Failures>;
    /// The failures counted for `key` and not yet forgotten at `now`; `None` when there are none.
    async fn get_failures(&self, key: &str, now: UnixTime) -> Result<Option<Failures>>;
    /// Forgets `key`'s failures (after a success).
    async fn delete_failures(&self, key: &str) -> Result<()>;
}

/// Back-channel logouts waiting to be delivered, shared by every replica.
#[async_trait]
pub trait LogoutDeliveryStore: Send + Sync {
    async fn create_logout_delivery(&self, delivery: &LogoutDelivery) -> Result<()>;
    /// Deliveries due at `now` (`next_attempt` passed, not claimed, not expired), oldest first,
    /// at most `limit`.
    async fn list_due_logout_deliveries(&self, now: UnixTime, limit: u32) -> Result<Vec<LogoutDelivery>>;
    /// Claims a due delivery for one attempt until `until`, counting the attempt. Atomic: of
    /// concurrent claims of one delivery exactly one returns `true` (one replica sends it).
    async fn claim_logout_delivery(&self, id: &str, now: UnixTime, until: UnixTime) -> Result<bool>;
    /// After a failed attempt: due again at `next_attempt`, unclaimed.
    async fn reschedule_logout_delivery(&self, id: &str, next_attempt: UnixTime) -> Result<()>;
    /// Delivered (or given up).
    async fn delete_logout_delivery(&self, id: &str) -> Result<()>;
}

/// Everything Tessera keeps.
#[async_trait]
pub trait Storage:
    ClientStore
    + AuthFlowStore
    + RefreshStore
    + PasswordStore
    + ConnectorStore
    + KeyStore
    + DeviceStore
    + SessionStore
    + AuthSessionStore
    + ReplayStore
    + ThrottleStore
    + LogoutDeliveryStore
{
    /// Deletes what expired before `now`: auth requests, codes, device requests and tokens,
    /// refresh tokens past `expires_at`, browser and single sign-on sessions,
    /// revoked-token entries, claimed SAML assertion ids, forgotten failure counts and
    /// back-channel logouts given up.
    async fn garbage_collect(&self, now: UnixTime) -> Result<GcResult>;
    /// A cheap round trip, for `/healthz/ready`.
    async fn ping(&self) -> Result<()>;
}
