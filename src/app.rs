//! The one place that names concrete types: builds storage, the signer, connectors and the
//! protocol settings from a [`Config`], and runs the background tasks (key rotation, garbage
//! collection).

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConnectorConfig, StorageConfig};
use crate::connector::{self, Login, Opened, Registry};
use crate::crypto::PasswordHasher;
use crate::oauth2::access_tokens::{self, AccessTokens};
use crate::oauth2::{RefreshSettings, Settings};
use crate::overlay::{Clients, Passwords};
use crate::protocol::GrantType;
use crate::signer::{LocalSigner, SignerSettings, SigningAlgorithm};
use crate::storage::sql::{MysqlOptions, MysqlSslMode, PostgresOptions, SessionValue, SqlStorage};
use crate::storage::{Client, Password, Storage};
use anyhow::Context;
use arc_swap::ArcSwap;
use std::sync::Arc;
use std::time::Duration;

/// Shared services, built once at start and shared by every request.
pub struct App {
    pub settings: Settings,
    pub storage: Arc<dyn Storage>,
    pub signer: Arc<LocalSigner>,
    pub clients: Clients,
    pub passwords: Passwords,
    /// Hashes and verifies passwords off the async executor.
    pub hasher: PasswordHasher,
    /// The connectors in use: those of the config and those in storage, swapped whole when
    /// the stored ones change (the admin API, another replica).
    connectors: ArcSwap<LiveConnectors>,
    /// What reopens the connectors when the stored ones change.
    opener: ConnectorOpener,
    pub clock: Arc<dyn Clock>,
    pub sessions: crate::sso::Settings,
    /// Where audit events go.
    pub audit: crate::audit::Audit,
    /// Brute-force protection.
    pub throttle: crate::throttle::Throttle,
    /// Wakes the back-channel logout delivery loop.
    pub logout_deliveries: crate::logout::LogoutDeliveries,
    /// For outgoing calls (back-channel logout): short timeouts, no redirects.
    pub http: reqwest::Client,
    /// Access-token checks: remembered verifications and the revoked set.
    pub access_tokens: AccessTokens,
    /// The public keys of `private_key_jwt` clients that publish them at a `jwksURI`.
    pub client_keys: crate::oauth2::client_keys::ClientKeys,
    /// DPoP (RFC 9449): whether proofs need nonces, and the key that makes them.
    pub dpop: crate::oauth2::dpop::Dpop,
    /// The discovery document, serialised once: nothing in it changes while the process runs.
    pub discovery: bytes::Bytes,
}

/// A configured connector that could not be opened, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConnectorFailure {
    pub id: crate::types::ConnectorId,
    #[serde(rename = "type")]
    pub kind: String,
    pub error: String,
}

/// The opened connectors and the stored records they were opened from.
pub struct LiveConnectors {
    pub registry: Arc<Registry>,
    /// Connectors that failed to open (they are skipped), for `/healthz/ready`.
    pub failures: Vec<ConnectorFailure>,
    /// The stored connectors this set was opened from, to tell when they change.
    stored: Vec<crate::storage::Connector>,
}

/// Everything needed to open the connectors again.
struct ConnectorOpener {
    /// `connectors[]` of the config and `enablePasswordDB` (replaced by a live reload);
    /// configured connectors win over stored ones with the same id.
    configured: ArcSwap<(Vec<ConnectorConfig>, bool)>,
    passwords: Passwords,
    hasher: PasswordHasher,
    context: connector::OpenContext,
}

impl ConnectorOpener {
    fn open(&self, stored: Vec<crate::storage::Connector>) -> LiveConnectors {
        let (registry, failures) = open_connectors(self, &stored);
        LiveConnectors { registry: Arc::new(registry), failures, stored }
    }
}

pub type AppState = Arc<App>;

/// How often each replica looks for connectors changed in storage: the longest a connector
/// created, changed or deleted through the admin API of another replica takes to apply here.
pub const CONNECTOR_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// How often every replica looks for back-channel logouts to deliver (its own logouts wake it
/// at once).
const LOGOUT_DELIVERY_POLL: Duration = Duration::from_secs(1);

fn secs(d: Duration) -> i64 {
    d.as_secs() as i64
}

impl App {
    pub async fn build(config: &Config) -> anyhow::Result<Arc<App>> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<App>> {
        let storage = open_storage(&config.storage).await?;
        let settings = settings(config);
        let signer = LocalSigner::start(
            storage.clone(),
            clock.clone(),
            SignerSettings {
                algorithm: match config.signer.algorithm {
                    crate::config::SigningAlgorithm::ES256 => SigningAlgorithm::Es256,
                    crate::config::SigningAlgorithm::RS256 => SigningAlgorithm::Rs256,
                },
                rotation_period: secs(config.signer.keys_rotation_period),
                token_lifetime: settings.max_token_lifetime,
            },
        )
        .await
        .context("loading signing keys")?;
        let clients =
            Clients::new(config.static_clients.iter().map(static_client).collect(), storage.clone());
        let passwords =
            Passwords::new(config.static_passwords.iter().map(static_password).collect(), storage.clone());
        let parallelism = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let hasher = PasswordHasher::new(parallelism).context("preparing the password hasher")?;
        let stored = storage.list_connectors().await.context("listing stored connectors")?;
        let data_key = storage
            .get_or_create_data_key(&connector::sealed::DataKey::generate())
            .await
            .context("loading the data-encryption key")?;
        let context = connector::OpenContext {
            callback_url: settings.endpoint(crate::oauth2::paths::CALLBACK),
            data_key: Arc::new(
                connector::sealed::DataKey::new(&data_key).context("the data-encryption key")?,
            ),
        };
        let opener = ConnectorOpener {
            configured: ArcSwap::from_pointee((config.connectors.clone(), config.enable_password_db)),
            passwords: passwords.clone(),
            hasher: hasher.clone(),
            context,
        };
        let connectors = ArcSwap::from_pointee(opener.open(stored));
        let introspection = &config.oauth2.introspection;
        let freshness = crate::oauth2::access_tokens::Freshness {
            max_age: secs(introspection.revocations_max_age),
            on_stale: introspection.when_revocations_stale,
        };
        let access_tokens = AccessTokens::load(storage.as_ref(), clock.now(), freshness)
            .await
            .context("loading the revoked access tokens")?;
        let discovery = serde_json::to_vec(&crate::oauth2::discovery::metadata(
            &settings,
            crate::signer::Signer::algorithm(signer.as_ref()),
        ))
        .context("serialising the discovery document")?
        .into();
        let sessions = crate::sso::Settings {
            absolute_lifetime: secs(config.sessions.absolute_lifetime),
            idle_lifetime: secs(config.sessions.valid_if_not_used_for),
        };
        let audit = match &config.logger.audit_file {
            Some(path) => crate::audit::Audit::to_file(path)
                .with_context(|| format!("opening logger.auditFile {}", path.display()))?,
            None => crate::audit::Audit::log_only(),
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .context("building the HTTP client")?;
        let throttle = crate::throttle::Throttle::new(config.throttle.clone(), audit.clone());
        Ok(Arc::new(App {
            settings,
            storage,
            signer,
            clients,
            passwords,
            hasher,
            connectors,
            opener,
            clock,
            sessions,
            audit,
            throttle,
            logout_deliveries: Default::default(),
            client_keys: crate::oauth2::client_keys::ClientKeys::new(http.clone()),
            dpop: crate::oauth2::dpop::Dpop::new(config.oauth2.dpop_nonces, &data_key),
            http,
            access_tokens,
            discovery,
        }))
    }

    /// Key rotation and garbage collection, until the process ends.
    pub fn spawn_background_tasks(self: &Arc<Self>) {
        let app = self.clone();
        tokio::spawn(async move {
            loop {
                let wait = match app.signer.rotate_if_due().await {
                    // Poll at least every 30s so a rotation by another replica is picked up.
                    Ok(next) => (next - app.clock.now()).clamp(1, 30),
                    Err(e) => {
                        tracing::error!(error = %e, "signing key rotation failed");
                        10
                    }
                };
                tokio::time::sleep(Duration::from_secs(wait as u64)).await;
            }
        });
        let app = self.clone();
        tokio::spawn(async move {
            // Connectors changed through the admin API of another replica are picked up here.
            let mut tick = tokio::time::interval(CONNECTOR_POLL_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = app.reload_connectors().await {
                    tracing::warn!(error = %e, "reading the stored connectors failed");
                }
            }
        });
        let app = self.clone();
        tokio::spawn(async move {
            // Back-channel logouts of every replica's sessions, stored until delivered.
            let deliverer = crate::logout::Deliverer {
                storage: app.storage.clone(),
                signer: app.signer.clone(),
                http: app.http.clone(),
                issuer: app.settings.issuer.clone(),
            };
            loop {
                if let Err(e) = crate::logout::deliver_due(&deliverer, app.clock.now()).await {
                    tracing::warn!(error = %e, "reading the back-channel logouts to deliver failed");
                }
                app.logout_deliveries.wait(LOGOUT_DELIVERY_POLL).await;
            }
        });
        let app = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(300));
            loop {
                tick.tick().await;
                match app.storage.garbage_collect(app.clock.now()).await {
                    Ok(r) => tracing::debug!(?r, "garbage collection done"),
                    Err(e) => tracing::error!(error = %e, "garbage collection failed"),
                }
                app.throttle.forget_quiet_addresses();
            }
        });
        let app = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(access_tokens::SYNC_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // Logged when it starts failing and when it recovers, not every second between.
            let mut failing = false;
            loop {
                tick.tick().await;
                match app.access_tokens.sync(app.storage.as_ref(), app.clock.now()).await {
                    Ok(()) if failing => {
                        failing = false;
                        tracing::info!("reading the revoked access tokens works again");
                    }
                    Ok(()) => {}
                    Err(e) if !failing => {
                        failing = true;
                        tracing::error!(error = %e, "reading the revoked access tokens failed; other replicas' revocations are not seen until it works again");
                    }
                    Err(_) => {}
                }
            }
        });
    }
}

async fn open_storage(config: &StorageConfig) -> anyhow::Result<Arc<dyn Storage>> {
    let storage = match config {
        StorageConfig::Memory => SqlStorage::open_memory().await,
        StorageConfig::Sqlite3(s) => SqlStorage::open_sqlite(&s.file).await,
        StorageConfig::Postgres(p) => {
            let options = PostgresOptions {
                host: p.host.clone(),
                port: p.port,
                database: p.database.clone(),
                user: p.user.clone(),
                password: (!p.password.is_empty()).then(|| p.password.clone()),
                ssl_mode: ssl_mode(p.ssl.mode).to_string(),
                ca_file: p.ssl.ca_file.as_ref().map(|f| f.display().to_string()),
                cert_file: p.ssl.cert_file.as_ref().map(|f| f.display().to_string()),
                key_file: p.ssl.key_file.as_ref().map(|f| f.display().to_string()),
                connect_timeout_secs: p.connection_timeout.map(|d| d.as_secs()).unwrap_or(0),
                max_open_conns: p.max_open_conns,
                max_idle_conns: p.max_idle_conns,
                conn_max_lifetime_secs: p.conn_max_lifetime.map(|d| d.as_secs()).unwrap_or(0),
            };
            SqlStorage::open_postgres(&options).await
        }
        StorageConfig::Mysql(m) => SqlStorage::open_mysql(&mysql_options(m)).await,
    };
    Ok(Arc::new(storage.context("opening storage")?))
}

fn mysql_options(m: &crate::config::MysqlConfig) -> MysqlOptions {
    use crate::config::{MysqlParam, MysqlSslMode as Mode};
    let file = |f: &Option<std::path::PathBuf>| f.as_ref().map(|f| f.display().to_string());
    MysqlOptions {
        host: m.host.clone(),
        port: m.port,
        database: m.database.clone(),
        user: m.user.clone(),
        password: (!m.password.is_empty()).then(|| m.password.clone()),
        ssl_mode: match m.ssl.mode {
            Mode::Disabled => MysqlSslMode::Disabled,
            Mode::Preferred => MysqlSslMode::Preferred,
            Mode::SkipVerify => MysqlSslMode::Required,
            Mode::Verify => MysqlSslMode::VerifyIdentity,
        },
        ca_file: file(&m.ssl.ca_file),
        cert_file: file(&m.ssl.cert_file),
        key_file: file(&m.ssl.key_file),
        connect_timeout_secs: m.connection_timeout.map(|d| d.as_secs()).unwrap_or(0),
        max_open_conns: m.max_open_conns,
        max_idle_conns: m.max_idle_conns,
        conn_max_lifetime_secs: m.conn_max_lifetime.map(|d| d.as_secs()).unwrap_or(0),
        params: m
            .params
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    MysqlParam::Text(text) => SessionValue::Text(text.clone()),
                    MysqlParam::Integer(number) => SessionValue::Integer(*number),
                };
                (name.clone(), value)
            })
            .collect(),
    }
}

fn ssl_mode(mode: crate::config::PostgresSslMode) -> &'static str {
    use crate::config::PostgresSslMode as M;
    match mode {
        M::Disable => "disable",
        M::Allow => "allow",
        M::Prefer => "prefer",
        M::Require => "require",
        M::VerifyCa => "verify-ca",
        M::VerifyFull => "verify-full",
    }
}

fn settings(config: &Config) -> Settings {
    let expiry = &config.expiry;
    let refresh = &expiry.refresh_tokens;
    let issuer = config.issuer.as_str().trim_end_matches('/').to_string();
    Settings {
        issuer,
        response_types: config.oauth2.response_types.clone(),
        grant_types: config
            .oauth2
            .effective_grant_types()
            .into_iter()
            .filter(|g| GrantType::TOKEN_ENDPOINT.contains(g))
            .collect(),
        skip_approval: config.oauth2.skip_approval_screen,
        always_show_login: config.oauth2.always_show_login_screen,
        password_connector: config.oauth2.password_connector.clone(),
        introspection_allow_unauthenticated: config.oauth2.introspection.allow_unauthenticated,
        pkce_enforce: config.oauth2.pkce.enforce,
        pkce_methods: config.oauth2.pkce.code_challenge_methods_supported.clone(),
        id_token_lifetime: secs(expiry.id_tokens),
        // A client's own lifetimes may be longer than the server's.
        max_token_lifetime: config
            .static_clients
            .iter()
            .flat_map(|c| [c.options.expiry.id_tokens, c.options.expiry.access_tokens])
            .flatten()
            .fold(secs(expiry.id_tokens), i64::max),
        auth_request_lifetime: secs(expiry.auth_requests),
        auth_code_lifetime: secs(expiry.auth_codes),
        device_request_lifetime: secs(expiry.device_requests),
        refresh: RefreshSettings {
            reuse_interval_ms: i64::try_from(refresh.reuse_interval.as_millis()).unwrap_or(i64::MAX),
            valid_if_not_used_for: refresh.valid_if_not_used_for.map(secs).filter(|s| *s > 0),
            absolute_lifetime: refresh.absolute_lifetime.map(secs).filter(|s| *s > 0),
            disable_rotation: refresh.disable_rotation,
        },
        par: crate::oauth2::ParSettings {
            enabled: config.oauth2.par.enabled,
            require_for_all: config.oauth2.par.require_for_all,
            lifetime: secs(config.oauth2.par.request_uri_lifetime),
        },
    }
}

fn static_client(c: &crate::config::StaticClient) -> Client {
    Client {
        id: c.id.clone(),
        secret: c.secret.clone().unwrap_or_default(),
        secret_hash: None,
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        backchannel_logout_uri: c.backchannel_logout_uri.as_ref().map(|u| u.to_string()).unwrap_or_default(),
        refresh_token_lifetime: c.refresh_token_lifetime,
        trusted_peers: c.trusted_peers.clone(),
        public: c.public,
        name: c.name.clone(),
        logo_url: c.logo_url.clone().unwrap_or_default(),
        allowed_connectors: c.allowed_connectors.clone(),
        client_credentials_groups: c.client_credentials_groups.clone(),
        options: c.options.clone(),
    }
}

fn static_password(p: &crate::config::StaticPassword) -> Password {
    Password {
        email: p.email.to_lowercase(),
        hash: p.hash.clone(),
        username: p.username.clone(),
        user_id: p.user_id.clone(),
        name: p.name.clone(),
        preferred_username: p.preferred_username.clone(),
        email_verified: p.email_verified,
        groups: p.groups.clone(),
    }
}

/// Opens every configured connector. One that fails to open is logged and skipped, so the
/// others keep working (Dex's `continue_on_connector_failure`).
/// Connectors from the config come first and win over stored ones with the same id.
fn open_connectors(
    opener: &ConnectorOpener,
    stored: &[crate::storage::Connector],
) -> (Registry, Vec<ConnectorFailure>) {
    let mut opened = Vec::new();
    let mut failures = Vec::new();
    let configured = opener.configured.load();
    let (configured, enable_password_db) = (&configured.0, configured.1);
    if enable_password_db {
        let local =
            Arc::new(connector::local::LocalPasswords::new(opener.passwords.clone(), opener.hasher.clone()));
        opened.push(Opened {
            id: connector::local::ID.into(),
            name: "Email".into(),
            kind: "local".into(),
            login: Login::Password(local.clone()),
            refresh: Some(local),
            token_identity: None,
            logout: None,
            grant_types: Vec::new(),
        });
    }
    let from_storage = stored
        .iter()
        .filter(|s| !configured.iter().any(|c| c.id == s.id) && s.id != connector::local::ID)
        .map(|s| {
            ConnectorConfig::new(
                s.kind.clone(),
                s.id.clone(),
                s.name.clone(),
                s.config.clone(),
                s.grant_types.iter().filter_map(|g| GrantType::parse(g)).collect(),
                &format!("stored connector {:?}", s.id),
            )
        })
        .collect::<Vec<_>>();
    for c in configured.iter().chain(from_storage.iter()) {
        match open_connector(c, &opener.context) {
            Ok(Some(connector)) => opened.push(connector),
            Ok(None) => {
                tracing::warn!(id = %c.id, kind = %c.kind, "connector type not supported yet; skipped")
            }
            Err(e) => {
                tracing::error!(id = %c.id, kind = %c.kind, error = %e, "connector failed to open; skipped");
                failures.push(ConnectorFailure {
                    id: c.id.clone(),
                    kind: c.kind.clone(),
                    error: e.to_string(),
                });
            }
        }
    }
    (Registry::new(opened), failures)
}

/// Opens one connector from its typed config; `None` for a type Dex does not know (validation
/// refused it already).
fn open_connector(
    c: &ConnectorConfig,
    context: &connector::OpenContext,
) -> Result<Option<Opened>, connector::ConnectorError> {
    use crate::config::ConnectorSettings as S;
    let settings = c.settings.clone().map_err(|p| {
        // The path without the entry's own prefix, as the connector's own errors read.
        let key = p.path.split_once(".config").map(|(_, k)| format!("config{k}")).unwrap_or(p.path.clone());
        connector::ConnectorError::Upstream(format!("{key}: {}", p.message))
    })?;
    let mut token_identity: Option<Arc<dyn connector::TokenIdentity>> = None;
    let mut logout: Option<Arc<dyn connector::UpstreamLogout>> = None;
    let (login, refresh): (Login, Option<Arc<dyn connector::Refresh>>) = match settings {
        S::MockCallback => {
            let mock = Arc::new(connector::mock::MockCallback);
            token_identity = Some(mock.clone());
            (Login::Redirect(mock.clone()), Some(mock))
        }
        S::MockPassword(config) => {
            let mock = Arc::new(connector::mock::MockPassword::open(config)?);
            (Login::Password(mock.clone()), Some(mock))
        }
        S::Ldap(config) => {
            let ldap = Arc::new(connector::ldap::LdapConnector::open(&c.id, config)?);
            (Login::Password(ldap.clone()), Some(ldap))
        }
        S::Oidc(config) => {
            let oidc = Arc::new(connector::oidc::Oidc::open(&c.id, config, context)?);
            token_identity = Some(oidc.clone());
            logout = Some(oidc.clone());
            (Login::Redirect(oidc.clone()), Some(oidc))
        }
        S::Github(config) => {
            let github = Arc::new(connector::github::Github::open(config, context.data_key.clone())?);
            (Login::Redirect(github.clone()), Some(github))
        }
        S::Gitlab(config) => {
            let gitlab = Arc::new(connector::gitlab::Gitlab::open(config, context.data_key.clone())?);
            token_identity = Some(gitlab.clone());
            (Login::Redirect(gitlab.clone()), Some(gitlab))
        }
        S::Google(config) => {
            let google = Arc::new(connector::google::Google::open(&c.id, config, context)?);
            (Login::Redirect(google.clone()), Some(google))
        }
        S::Microsoft(config) => {
            let microsoft =
                Arc::new(connector::microsoft::Microsoft::open(config, context.data_key.clone())?);
            (Login::Redirect(microsoft.clone()), Some(microsoft))
        }
        // No refresh, as in Dex: a refresh keeps the claims of the login.
        S::Oauth(config) => (
            Login::Redirect(Arc::new(connector::oauth::Oauth::open(config, context.data_key.clone())?)),
            None,
        ),
        S::AuthProxy(config) => {
            (Login::Redirect(Arc::new(connector::authproxy::AuthProxy::open(&c.id, config)?)), None)
        }
        S::Saml(config) => {
            let saml = Arc::new(connector::saml::Saml::open(&c.id, config)?);
            (Login::Saml(saml.clone()), Some(saml))
        }
        S::BitbucketCloud(config) => {
            let bitbucket =
                Arc::new(connector::bitbucket_cloud::BitbucketCloud::open(config, context.data_key.clone())?);
            (Login::Redirect(bitbucket.clone()), Some(bitbucket))
        }
        S::Gitea(config) => {
            let gitea = Arc::new(connector::gitea::Gitea::open(config, context.data_key.clone())?);
            (Login::Redirect(gitea.clone()), Some(gitea))
        }
        S::Openshift(config) => {
            let openshift =
                Arc::new(connector::openshift::Openshift::open(config, context.data_key.clone())?);
            (Login::Redirect(openshift.clone()), Some(openshift))
        }
        S::Linkedin(config) => {
            let linkedin = Arc::new(connector::linkedin::Linkedin::open(config, context.data_key.clone())?);
            (Login::Redirect(linkedin.clone()), Some(linkedin))
        }
        S::Keystone(config) => {
            let keystone = Arc::new(connector::keystone::Keystone::open(config)?);
            (Login::Password(keystone.clone()), Some(keystone))
        }
        S::AtlassianCrowd(config) => {
            let crowd = Arc::new(connector::atlassian_crowd::Crowd::open(config)?);
            (Login::Password(crowd.clone()), Some(crowd))
        }
        S::Unknown => return Ok(None),
    };
    Ok(Some(Opened {
        id: c.id.clone(),
        name: c.name.clone(),
        kind: c.kind.clone(),
        login,
        refresh,
        token_identity,
        logout,
        grant_types: c.grant_types.clone(),
    }))
}

impl App {
    /// The connectors in use now.
    pub fn registry(&self) -> Arc<Registry> {
        self.connectors.load().registry.clone()
    }

    /// The connectors in use now, with those that failed to open.
    pub fn live_connectors(&self) -> Arc<LiveConnectors> {
        self.connectors.load_full()
    }

    /// Reopens the connectors when the stored ones changed since they were opened (created,
    /// updated or deleted through the admin API, here or on another replica). Logins in
    /// flight keep the connector they started with until they finish. Returns whether the set
    /// changed.
    pub async fn reload_connectors(&self) -> Result<bool, crate::storage::StorageError> {
        let stored = self.storage.list_connectors().await?;
        if stored == self.connectors.load().stored {
            return Ok(false);
        }
        let ids: Vec<String> = stored.iter().map(|c| c.id.to_string()).collect();
        self.connectors.store(Arc::new(self.opener.open(stored)));
        tracing::info!(stored = ?ids, "stored connectors changed: connectors reopened");
        Ok(true)
    }

    /// A live reload: the static clients, passwords and connectors of `config` replace the
    /// running ones. Requests in flight finish with what they started with; logins in flight
    /// keep their auth requests (in storage) and find their connector by id.
    pub async fn reconfigure(&self, config: &Config) -> Result<(), crate::storage::StorageError> {
        self.clients.replace_static(config.static_clients.iter().map(static_client).collect());
        self.passwords.replace_static(config.static_passwords.iter().map(static_password).collect());
        self.opener.configured.store(Arc::new((config.connectors.clone(), config.enable_password_db)));
        let stored = self.storage.list_connectors().await?;
        self.connectors.store(Arc::new(self.opener.open(stored)));
        Ok(())
    }

    /// The ids of the connectors the config names, and `local`: the admin API may not change
    /// them. Read from the configuration in force, so a live reload moves them too.
    pub fn static_connector_ids(&self) -> Vec<crate::types::ConnectorId> {
        let configured = self.opener.configured.load();
        let mut ids: Vec<_> = configured.0.iter().map(|c| c.id.clone()).collect();
        ids.push(connector::local::ID.into());
        ids
    }

    /// The algorithm tokens are signed with now, for discovery.
    pub fn signer_algorithm(&self) -> &'static str {
        crate::signer::Signer::algorithm(self.signer.as_ref())
    }

    /// What the browser flow and logout need, with `now` read from the clock once.
    pub fn flow_context(&self, source: Option<std::net::IpAddr>) -> crate::flow::FlowContext<'_> {
        crate::flow::FlowContext {
            source,
            throttle: &self.throttle,
            logout_deliveries: &self.logout_deliveries,
            settings: &self.settings,
            clients: &self.clients,
            connectors: self.registry(),
            storage: self.storage.as_ref(),
            signer: self.signer.as_ref(),
            sessions: &self.sessions,
            http: &self.http,
            audit: &self.audit,
            now: self.clock.now(),
        }
    }

    /// What the token grants need, with `now` read from the clock once.
    pub fn grant_context(&self, source: Option<std::net::IpAddr>) -> crate::oauth2::grants::GrantContext<'_> {
        let now_ms = self.clock.now_ms();
        crate::oauth2::grants::GrantContext {
            source,
            throttle: &self.throttle,
            settings: &self.settings,
            clients: &self.clients,
            storage: self.storage.as_ref(),
            signer: self.signer.as_ref(),
            connectors: self.registry(),
            access_tokens: &self.access_tokens,
            client_keys: &self.client_keys,
            dpop: &self.dpop,
            dpop_jkt: None,
            audit: &self.audit,
            now: now_ms.div_euclid(1000),
            now_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConnectorSettings, DEX_CONNECTOR_TYPES};

    /// Every Dex connector type is built: none is skipped.
    #[test]
    fn every_dex_connector_type_is_built() {
        let context = connector::OpenContext {
            callback_url: "http://127.0.0.1:5556/dex/callback".into(),
            data_key: Arc::new(
                connector::sealed::DataKey::new(&connector::sealed::DataKey::generate()).unwrap(),
            ),
        };
        for kind in DEX_CONNECTOR_TYPES {
            let c = ConnectorConfig::new(
                kind.to_string(),
                "c".into(),
                "C".into(),
                serde_json::json!({}),
                Vec::new(),
                "c",
            );
            // An empty config may fail to parse or open; what matters is that the type is built.
            assert!(!matches!(open_connector(&c, &context), Ok(None)), "{kind} is skipped");
            assert!(!matches!(c.settings, Ok(ConnectorSettings::Unknown)), "{kind}");
        }
    }
}
