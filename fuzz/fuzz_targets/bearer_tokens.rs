//! The JWTs Tessera reads back, through the functions its handlers call (`http_bearer` drives
//! the router, far more slowly): a bearer token at `/userinfo`, `token` at introspection and
//! revocation, `id_token_hint` at logout, and `subject_token` in token exchange, which the
//! `oidc` connector verifies against its provider's keys (an in-process stand-in provider).
//!
//! Properties: no panic; no server error; nothing forged is ever accepted (the fuzzer cannot
//! know a token the harness issued, nor sign with the upstream's key): no user info, never
//! `active: true`, no logout without asking, no exchanged token.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tessera::logout::{Logout, LogoutParams, logout};
use tessera::oauth2::authorize::AuthorizeError;
use tessera::oauth2::grants::{self, TokenForm};
use tessera::oauth2::introspection::{PresentedToken, introspect};
use tessera::oauth2::revocation::revoke;
use tessera::oauth2::userinfo::{Presented, userinfo};
use tessera::types::Secret;
use tessera::web::errors::page_status;
use tessera_fuzz::{app, assert_client_error, block_on, client_credentials};

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data).into_owned();
    let app = app();
    let ctx = app.grant_context(None);
    let creds = client_credentials();
    block_on(async {
        // As a bearer token, and as a DPoP-bound token whose proof is the same bytes.
        let proofs = [token.clone()];
        let dpop = Presented::Dpop { token: &token, proofs: &proofs, method: "GET" };
        for presented in [Presented::Bearer(&token), dpop] {
            match userinfo(&ctx, presented).await {
                Ok(claims) => panic!("a forged access token was accepted: {claims:?}"),
                Err(e) => assert_client_error(&e),
            }
        }

        let presented = PresentedToken { token: Some(Secret::new(token.clone())), ..Default::default() };
        match introspect(&ctx, &creds, &presented).await {
            Ok(answer) => assert_eq!(answer.get("active"), Some(&Value::Bool(false)), "a forged token is active"),
            Err(e) => assert_client_error(&e),
        }
        if let Err(e) = revoke(&ctx, &creds, &presented).await {
            assert_client_error(&e);
        }

        let params = LogoutParams { id_token_hint: Some(token.clone()), ..Default::default() };
        match logout(&app.flow_context(None), params, None, false).await {
            // No hint, or none valid: the user is asked.
            Ok(Logout::Confirm(_)) => {}
            Ok(Logout::Done { .. }) => panic!("logged out without asking, on a forged hint"),
            Err(AuthorizeError::Page { kind, message }) => {
                assert!(!page_status(kind).is_server_error(), "{kind:?}: {message}")
            }
            Err(e) => panic!("{e:?}"),
        }

        let form = TokenForm {
            grant_type: Some("urn:ietf:params:oauth:grant-type:token-exchange".into()),
            subject_token: Some(Secret::new(token.clone())),
            subject_token_type: Some("urn:ietf:params:oauth:token-type:id_token".into()),
            connector_id: Some("upstream".into()),
            ..Default::default()
        };
        match grants::token(&ctx, &creds, form, &[]).await {
            Ok(_) => panic!("a forged subject token was exchanged"),
            Err(e) => assert_client_error(&e),
        }
    });
});
