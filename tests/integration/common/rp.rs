//! The relying party: the `openidconnect` crate, over reqwest (no redirects), as a real
//! client application would use Tessera.

use super::{TestServer, browser, login_with_password, query_param};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IdToken, IdTokenClaims, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use tessera::connector::http::OidcHttp;

/// The relying party's HTTP client: Tessera's own adapter of reqwest 0.13 to
/// `openidconnect`, over a client that follows no redirects.
pub struct RpHttp;

impl RpHttp {
    #[expect(clippy::new_ret_no_self, reason = "a builder named as the thing it builds")]
    pub fn new() -> OidcHttp {
        OidcHttp(super::api())
    }
}

/// Dex's claims beyond the standard ones.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DexClaims {
    pub groups: Option<Vec<String>>,
    pub federated_claims: Option<FederatedClaims>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FederatedClaims {
    pub connector_id: String,
    pub user_id: String,
}

impl AdditionalClaims for DexClaims {}

pub type DexIdToken =
    IdToken<DexClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;
pub type DexIdTokenClaims = IdTokenClaims<DexClaims, CoreGenderClaim>;

/// A client configured from discovery (auth, token and userinfo endpoints known).
pub type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Discovery at `server`'s issuer (JWKS included).
pub async fn discover(server: &TestServer, http: &OidcHttp) -> CoreProviderMetadata {
    CoreProviderMetadata::discover_async(IssuerUrl::new(server.issuer.clone()).unwrap(), http).await.unwrap()
}

pub async fn client(
    server: &TestServer,
    http: &OidcHttp,
    id: &str,
    secret: Option<&str>,
    redirect_uri: &str,
) -> Rp {
    client_at(&server.issuer, http, id, secret, redirect_uri).await
}

/// [`client`] for a server that is not a [`TestServer`] (one in a container).
pub async fn client_at(
    issuer: &str,
    http: &OidcHttp,
    id: &str,
    secret: Option<&str>,
    redirect_uri: &str,
) -> Rp {
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.to_string()).unwrap(), http)
        .await
        .unwrap_or_else(|e| panic!("discovery at {issuer} failed: {e:?}"));
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(id.into()),
        secret.map(|s| ClientSecret::new(s.into())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect_uri.into()).unwrap())
}

/// What a completed login gives the application.
pub struct Login {
    pub tokens: CoreTokenResponse,
    pub nonce: Nonce,
    /// Verified with the client's JWKS, nonce checked.
    pub claims: DexIdTokenClaims,
}

/// The code flow with PKCE S256 and a nonce, as an application runs it: authorization URL,
/// browser login as the admin, state check, code exchange, ID token verification.
pub async fn code_flow(rp: &Rp, http: &OidcHttp, scopes: &[&str]) -> Login {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request =
        rp.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random);
    for scope in scopes {
        request = request.add_scope(Scope::new(scope.to_string()));
    }
    let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
    let url = url::Url::parse(url.as_str()).unwrap();
    assert_eq!(query_param(&url, "code_challenge_method").as_deref(), Some("S256"));
    let done = login_with_password(&browser(), &url, super::ADMIN_EMAIL, super::ADMIN_PASSWORD).await;
    assert_eq!(query_param(&done, "state").as_deref(), Some(state.secret().as_str()));
    let code = query_param(&done, "code").unwrap();
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(http)
        .await
        .unwrap_or_else(|e| panic!("code exchange failed: {e:?}"));
    let claims = verify_id_token(rp, &tokens, &nonce);
    Login { tokens, nonce, claims }
}

/// Verifies the token response's ID token with the RP library (signature against the JWKS,
/// issuer, audience, expiry, nonce) and returns its claims, Dex's extra claims included.
pub fn verify_id_token(rp: &Rp, tokens: &CoreTokenResponse, nonce: &Nonce) -> DexIdTokenClaims {
    let raw = tokens.id_token().unwrap().to_string();
    let id_token: DexIdToken = raw.parse().unwrap();
    let verifier = rp.id_token_verifier();
    let claims =
        id_token.claims(&verifier, nonce).unwrap_or_else(|e| panic!("ID token rejected: {e:?}")).clone();
    // at_hash binds the access token to the ID token (OIDC Core §3.1.3.6).
    let key = id_token.signing_key(&verifier).unwrap();
    let expected = openidconnect::AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        key,
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected));
    claims
}
