//! Client authentication at the token, PAR, introspection, revocation and device endpoints
//! (RFC 6749 §2.3.1): `client_secret_basic` (credentials URL-encoded inside HTTP Basic) or
//! `client_secret_post`, and the JWT methods `client_secret_jwt` and `private_key_jwt`
//! (RFC 7523, see `client_assertion`). Secrets compare in constant time.
//!
//! A client that registers a `tokenEndpointAuthMethod` must use exactly that method; one that
//! does not follows Dex's rule below (the JWT methods need registering: they need keys).
//!
//! A client with a secret must present it, public or not, as in Dex (Dex's token-exchange
//! guide registers a public client with a secret). A public client without a secret sends only
//! its `client_id`: that names it but proves nothing, since anyone may send a public id
//! (RFC 6749 §2.1). [`Caller`] keeps the two apart, so that an endpoint which hands out
//! information (introspection, revocation) cannot mistake a named client for an
//! authenticated one.
//!
//! Failed secrets count towards brute-force protection (`throttle`, per address): past the
//! budget, an address may not present a client secret until it refills (`429`). Requests
//! without a secret (public clients) are neither counted nor refused.

use super::client_assertion;
use super::error::{ErrorCode, OAuthError};
use super::grants::GrantContext;
use crate::crypto::constant_time_eq;
use crate::protocol::ClientAuthMethod;
use crate::storage::Client;
use crate::types::{ClientId, Secret};

/// The credentials a request presented, parsed once by `web::extract`.
#[derive(Debug, Clone, Default)]
pub struct ClientCredentials {
    /// Empty when the request named no client.
    pub client_id: ClientId,
    pub client_secret: Option<Secret>,
    /// They came in an `Authorization: Basic` header.
    pub basic: bool,
    /// A `client_assertion` JWT (RFC 7523 §2.2), its `client_assertion_type` checked.
    pub assertion: Option<Secret>,
}

impl ClientCredentials {
    /// The method the request used; a JWT is one of the two JWT methods, which the client's
    /// registration tells apart.
    fn method(&self) -> Option<ClientAuthMethod> {
        if self.assertion.is_some() {
            None
        } else if self.basic {
            Some(ClientAuthMethod::ClientSecretBasic)
        } else if self.client_secret.is_some() {
            Some(ClientAuthMethod::ClientSecretPost)
        } else {
            Some(ClientAuthMethod::None)
        }
    }
}

/// Who is calling, as far as the credentials show.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The client presented its secret.
    Authenticated(Client),
    /// A public client without a secret, named by its `client_id` alone.
    Identified(Client),
}

impl Caller {
    pub fn client(&self) -> &Client {
        match self {
            Self::Authenticated(client) | Self::Identified(client) => client,
        }
    }

    pub fn into_client(self) -> Client {
        match self {
            Self::Authenticated(client) | Self::Identified(client) => client,
        }
    }

    pub fn is_authenticated(&self) -> bool {
        matches!(self, Self::Authenticated(_))
    }
}

/// Looks the client up and checks its secret, if it has one; throttled per address.
pub async fn identify(ctx: &GrantContext<'_>, creds: &ClientCredentials) -> Result<Caller, OAuthError> {
    let guessing = creds.client_secret.is_some() || creds.assertion.is_some();
    if guessing
        && let Some(refused) = ctx.throttle.check_client_auth(ctx.source, creds.client_id.as_str(), ctx.now)
    {
        return Err(OAuthError::throttled(refused));
    }
    let caller = check(ctx, creds).await;
    if guessing && matches!(&caller, Err(e) if e.code == ErrorCode::InvalidClient) {
        ctx.throttle.client_auth_failed(ctx.source);
    }
    caller
}

async fn check(ctx: &GrantContext<'_>, creds: &ClientCredentials) -> Result<Caller, OAuthError> {
    let fail = || OAuthError::invalid_client("Invalid client credentials.", creds.basic);
    if creds.client_id.is_empty() {
        return Err(OAuthError::invalid_client("Client authentication is required.", creds.basic));
    }
    let client = ctx.clients.get(&creds.client_id).await?.ok_or_else(fail)?;
    let Some(registered) = client.options.token_endpoint_auth_method else {
        return dex_rule(client, creds);
    };
    match (registered, creds.method(), &creds.assertion) {
        (ClientAuthMethod::ClientSecretJwt | ClientAuthMethod::PrivateKeyJwt, None, Some(assertion)) => {
            client_assertion::verify(ctx, &client, registered, assertion.expose()).await?;
            Ok(Caller::Authenticated(client))
        }
        (ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost, Some(used), _)
            if used == registered =>
        {
            match &creds.client_secret {
                Some(secret) if secret_matches(&client, secret) => Ok(Caller::Authenticated(client)),
                _ => Err(fail()),
            }
        }
        (ClientAuthMethod::None, Some(ClientAuthMethod::None), _) => Ok(Caller::Identified(client)),
        _ => Err(OAuthError::invalid_client(
            format!("This client authenticates with {}.", registered.as_str()),
            creds.basic,
        )),
    }
}

/// Dex's rule, for clients that registered no method: the secret if the client has one.
fn dex_rule(client: Client, creds: &ClientCredentials) -> Result<Caller, OAuthError> {
    let fail = || OAuthError::invalid_client("Invalid client credentials.", creds.basic);
    if creds.assertion.is_some() {
        return Err(OAuthError::invalid_client(
            "This client has no registered keys: a client assertion needs tokenEndpointAuthMethod private_key_jwt or client_secret_jwt.",
            false,
        ));
    }
    if client.has_secret() {
        return match &creds.client_secret {
            Some(secret) if secret_matches(&client, secret) => Ok(Caller::Authenticated(client)),
            _ => Err(fail()),
        };
    }
    // No secret to check: only a public client may be without one. Whatever secret it sends
    // proves nothing, so it is neither checked nor counted.
    if client.public { Ok(Caller::Identified(client)) } else { Err(fail()) }
}

/// [`identify`], for the endpoints where a public client may act as itself (the grants, the
/// device authorization): the client, authenticated or public.
pub async fn authenticate(ctx: &GrantContext<'_>, creds: &ClientCredentials) -> Result<Client, OAuthError> {
    identify(ctx, creds).await.map(Caller::into_client)
}

fn secret_matches(client: &Client, presented: &Secret) -> bool {
    match &client.secret_hash {
        Some(hash) => hash.matches(presented.expose()),
        None => {
            !client.secret.is_empty()
                && constant_time_eq(client.secret.expose().as_bytes(), presented.expose().as_bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth2::testing::{World, client, settings};
    use crate::overlay::Clients;

    fn creds(id: &str, secret: Option<&str>) -> ClientCredentials {
        ClientCredentials {
            client_id: id.into(),
            client_secret: secret.map(Secret::new),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_public_client_is_identified_and_a_secret_authenticates() {
        let world = World::new(settings()).await;
        let caller = identify(&world.ctx(), &creds("cli", None)).await.unwrap();
        assert!(!caller.is_authenticated(), "a public id proves nothing");
        // A public client has no secret to check: one it sends is not counted either.
        assert!(!identify(&world.ctx(), &creds("cli", Some("x"))).await.unwrap().is_authenticated());
        assert!(identify(&world.ctx(), &creds("app", Some("app-secret"))).await.unwrap().is_authenticated());
        for bad in [creds("app", None), creds("app", Some("wrong")), creds("nobody", None), creds("", None)] {
            let e = identify(&world.ctx(), &bad).await.unwrap_err();
            assert_eq!(e.code, crate::oauth2::ErrorCode::InvalidClient, "{bad:?}");
        }
    }

    /// Dex: a public client that has a secret must present it (Dex's token-exchange guide
    /// registers one), and is then authenticated.
    /// Wrong secrets from one address spend its budget; then even the right secret waits
    /// (`429`), and another address is unaffected; requests without a secret never count.
    #[tokio::test]
    async fn failed_secrets_are_throttled_per_address() {
        let world = World::new(settings()).await;
        let config = crate::config::ThrottleConfig { client_auth_failures: 2, ..Default::default() };
        let throttle = crate::throttle::Throttle::new(config, crate::audit::Audit::log_only());
        let from =
            |addr: &str| GrantContext { throttle: &throttle, source: addr.parse().ok(), ..world.ctx() };
        let attacker = from("192.0.2.1");
        for _ in 0..3 {
            identify(&attacker, &creds("nobody", None)).await.unwrap_err();
        }
        for _ in 0..3 {
            let e = identify(&attacker, &creds("app", Some("wrong"))).await.unwrap_err();
            assert_eq!(e.code, crate::oauth2::ErrorCode::InvalidClient, "within the budget");
        }
        let e = identify(&attacker, &creds("app", Some("app-secret"))).await.unwrap_err();
        assert_eq!(e.code, crate::oauth2::ErrorCode::TemporarilyUnavailable);
        assert!(e.retry_after.is_some_and(|s| s >= 1));
        assert!(identify(&attacker, &creds("cli", None)).await.is_ok(), "a public client sends no secret");
        let other = from("192.0.2.2");
        assert!(identify(&other, &creds("app", Some("app-secret"))).await.unwrap().is_authenticated());
    }

    #[tokio::test]
    async fn a_public_client_with_a_secret_must_present_it() {
        let world = World::new(settings()).await;
        let mut exchanger = client("exchanger", false);
        exchanger.public = true;
        let clients = Clients::new(vec![exchanger], world.storage.clone());
        let ctx = GrantContext { clients: &clients, ..world.ctx() };
        assert!(identify(&ctx, &creds("exchanger", None)).await.is_err());
        assert!(identify(&ctx, &creds("exchanger", Some("wrong"))).await.is_err());
        let caller = identify(&ctx, &creds("exchanger", Some("exchanger-secret"))).await.unwrap();
        assert!(caller.is_authenticated());
        assert!(caller.client().public);
    }

    /// A client created through the admin API keeps only the hash of its secret; it
    /// authenticates with the secret, and the hash itself is no credential.
    #[tokio::test]
    async fn a_hashed_secret_authenticates_its_client() {
        let world = World::new(settings()).await;
        let hashed =
            Client { secret_hash: Some(crate::crypto::SecretHash::new("api-made")), ..client("made", true) };
        world.storage.create_client(&hashed).await.unwrap();
        let stored = serde_json::to_string(&world.storage.get_client(&"made".into()).await.unwrap()).unwrap();
        assert!(!stored.contains("api-made"), "the secret is not stored");
        assert!(identify(&world.ctx(), &creds("made", Some("api-made"))).await.unwrap().is_authenticated());
        for bad in [None, Some(""), Some("wrong"), Some("API-MADE")] {
            assert!(identify(&world.ctx(), &creds("made", bad)).await.is_err(), "{bad:?}");
        }
    }
}
