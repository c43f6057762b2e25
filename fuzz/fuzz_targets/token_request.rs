//! `/token` one layer below the router: the form body and the `Authorization: Basic` header
//! (RFC 6749 §2.3.1) through the handler's own extractor (`ClientForm<TokenForm>`), then the
//! grant (`grants::token`), the code `token_post` runs (`http_token` drives the whole router,
//! far more slowly).
//!
//! Properties: no panic; a malformed request or a wrong credential is a 4xx, never a server
//! error. A password grant stops once its request is parsed and the client is known: what
//! follows is one argon2 verification (on purpose as slow as a real one, even for an unknown
//! user), which is not a parser and would hold the fuzzer to a few hundred runs a second.
#![no_main]

use axum::extract::FromRequest;
use libfuzzer_sys::fuzz_target;
use tessera::oauth2::client_auth::authenticate;
use tessera::oauth2::grants::{self, TokenForm, TokenRequest};
use tessera::protocol::GrantType;
use tessera::web::extract::ClientForm;
use tessera_fuzz::{app, assert_client_error, block_on, parts, token_request};

fuzz_target!(|data: &[u8]| {
    let [authorization, body] = <[String; 2]>::try_from(parts(data, 2)).unwrap_or_default();
    let Some(request) = token_request(&authorization, body) else {
        return; // not a header value HTTP can carry
    };
    let app = app();
    let ctx = app.grant_context(None);
    let outcome = block_on(async {
        let ClientForm(creds, form) = ClientForm::<TokenForm>::from_request(request, &()).await?;
        if matches!(form.grant(&app.settings), Ok(GrantType::Password)) {
            authenticate(&ctx, &creds).await?;
            return TokenRequest::parse(GrantType::Password, form, &app.settings).map(|_| ());
        }
        grants::token(&ctx, &creds, form, &[]).await.map(|_| ())
    });
    if let Err(error) = outcome {
        assert_client_error(&error);
    }
});
