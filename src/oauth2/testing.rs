//! A small world for the protocol domain's unit tests: in-memory storage, a real signer,
//! two confidential clients (`app`, `api`) and a public one (`cli`), the mock connectors.

use super::access_tokens::AccessTokens;
use super::grants::GrantContext;
use super::grants::refresh_token::{Origin, create_family};
use super::tokens::{Minted, TokenContext, mint};
use super::{RefreshSettings, Settings};
use crate::clock::FixedClock;
use crate::connector::mock::MockCallback;
use crate::connector::{Login, Opened, Registry};
use crate::overlay::Clients;
use crate::protocol::{GrantType, PkceMethod, ResponseType};
use crate::signer::{LocalSigner, SignerSettings, SigningAlgorithm};
use crate::storage::sql::SqlStorage;
use crate::storage::{Claims, Client, Storage};
use crate::types::{Secret, UnixTime};
use std::sync::Arc;

pub const ISSUER: &str = "https://idp.example/dex";
pub const START: UnixTime = 1_700_000_000;

pub struct World {
    pub settings: Settings,
    pub clients: Clients,
    pub storage: Arc<dyn Storage>,
    pub signer: Arc<LocalSigner>,
    pub connectors: Arc<Registry>,
    pub access_tokens: AccessTokens,
    pub client_keys: crate::oauth2::client_keys::ClientKeys,
    pub dpop: crate::oauth2::dpop::Dpop,
    pub audit: crate::audit::Audit,
    pub throttle: crate::throttle::Throttle,
    pub now: UnixTime,
}

pub fn settings() -> Settings {
    Settings {
        issuer: ISSUER.into(),
        response_types: vec![ResponseType::Code],
        grant_types: GrantType::TOKEN_ENDPOINT.to_vec(),
        skip_approval: true,
        always_show_login: false,
        password_connector: Some("mock-password".into()),
        introspection_allow_unauthenticated: false,
        pkce_enforce: false,
        pkce_methods: vec![PkceMethod::S256],
        id_token_lifetime: 600,
        max_token_lifetime: 600,
        auth_request_lifetime: 600,
        auth_code_lifetime: 600,
        device_request_lifetime: 300,
        refresh: RefreshSettings {
            reuse_interval_ms: 0,
            valid_if_not_used_for: None,
            absolute_lifetime: None,
            disable_rotation: false,
        },
        par: super::ParSettings { enabled: true, require_for_all: false, lifetime: 60 },
    }
}

pub fn client(id: &str, public: bool) -> Client {
    Client {
        id: id.into(),
        secret: if public { Secret::default() } else { Secret::new(format!("{id}-secret")) },
        public,
        name: id.to_uppercase(),
        ..Default::default()
    }
}

pub fn user() -> Claims {
    Claims {
        user_id: "u-1".into(),
        username: "Jane Doe".into(),
        preferred_username: "jane".into(),
        email: "jane@example.com".into(),
        email_verified: true,
        groups: vec!["admins".into()],
    }
}

impl World {
    pub async fn new(settings: Settings) -> Self {
        let storage: Arc<dyn Storage> = Arc::new(SqlStorage::open_memory().await.unwrap());
        let clock = Arc::new(FixedClock::new(START));
        let signer_settings = SignerSettings {
            algorithm: SigningAlgorithm::Es256,
            rotation_period: 86_400,
            token_lifetime: 600,
        };
        let signer = LocalSigner::start(storage.clone(), clock, signer_settings).await.unwrap();
        let clients = Clients::new(
            vec![client("app", false), client("api", false), client("cli", true)],
            storage.clone(),
        );
        let mock = Arc::new(MockCallback);
        let connectors = Arc::new(Registry::new(vec![Opened {
            id: "mock".into(),
            name: "Mock".into(),
            kind: "mockCallback".into(),
            login: Login::Redirect(mock.clone()),
            refresh: Some(mock.clone()),
            token_identity: Some(mock),
            logout: None,
            grant_types: Vec::new(),
        }]));
        Self {
            settings,
            clients,
            storage,
            signer,
            connectors,
            access_tokens: AccessTokens::default(),
            client_keys: crate::oauth2::client_keys::ClientKeys::new(reqwest::Client::new()),
            dpop: crate::oauth2::dpop::Dpop::new(false, b"a test data key"),
            audit: crate::audit::Audit::log_only(),
            throttle: crate::throttle::Throttle::new(Default::default(), crate::audit::Audit::log_only()),
            now: START,
        }
    }

    pub fn ctx(&self) -> GrantContext<'_> {
        GrantContext {
            settings: &self.settings,
            clients: &self.clients,
            storage: self.storage.as_ref(),
            signer: self.signer.as_ref(),
            connectors: self.connectors.clone(),
            access_tokens: &self.access_tokens,
            client_keys: &self.client_keys,
            dpop: &self.dpop,
            dpop_jkt: None,
            audit: &self.audit,
            throttle: &self.throttle,
            source: None,
            now: self.now,
            now_ms: self.now * 1000,
        }
    }

    /// An access token for the test user at `client_id`, issued now.
    pub fn access_token(&self, client_id: &str, scopes: &[&str]) -> String {
        self.tokens(client_id, scopes).access_token
    }

    /// A refresh token (a new family) for the test user at `client_id`.
    pub async fn refresh_token(&self, client_id: &str, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let claims = user();
        let origin = Origin {
            connector_id: &"mock".into(),
            claims: &claims,
            connector_data: &None,
            scopes: &scopes,
            nonce: "",
            auth_time: 0,
            session_id: "",
            resources: &[],
        };
        let client = self.clients.get(&client_id.into()).await.unwrap().unwrap();
        create_family(&self.ctx(), &client, origin).await.unwrap().1
    }

    /// An access token and its ID token for the test user at `client_id`, issued now.
    pub fn tokens(&self, client_id: &str, scopes: &[&str]) -> Minted {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let claims = user();
        let ctx = TokenContext {
            issuer: ISSUER,
            client_id: &client_id.into(),
            scopes: &scopes,
            claims: &claims,
            connector_id: &"mock".into(),
            nonce: "",
            auth_time: 0,
            session_id: "",
            family: "",
            jkt: None,
            resources: &[],
            access_format: Default::default(),
            now: self.now,
            lifetimes: crate::oauth2::Lifetimes {
                id: self.settings.id_token_lifetime,
                access: self.settings.id_token_lifetime,
            },
        };
        mint(self.signer.as_ref(), &ctx, None).unwrap()
    }
}
