//! The tokens Tessera reads back: a bearer token at `/userinfo`, `token` at introspection
//! and revocation, `id_token_hint` at logout, `subject_token` in token exchange. Never a 5xx,
//! never a panic, and nothing forged is ever accepted (no 200 from `/userinfo`: the harness
//! issued no token the fuzzer could know).
#![no_main]

use axum::body::Body;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use tessera_fuzz::{CLIENT_ID, CLIENT_SECRET, encode, form, serve};

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let t = encode(&token);

    if let Ok(request) =
        axum::http::Request::get("/dex/userinfo").header("authorization", format!("Bearer {token}")).body(Body::empty())
    {
        let response = serve(request);
        assert_ne!(response.status(), axum::http::StatusCode::OK, "a forged token was accepted");
    }
    for (path, body) in [
        ("/dex/token/introspect", format!("token={t}")),
        ("/dex/token/revoke", format!("token={t}")),
        (
            "/dex/token",
            format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token={t}\
                 &subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token&connector_id=local"
            ),
        ),
    ] {
        let mut request = form(path, body);
        request.headers_mut().insert("authorization", basic.parse().expect("header"));
        let response = serve(request);
        if path.ends_with("introspect") {
            let bytes = tessera_fuzz::body(response);
            assert!(!bytes.windows(13).any(|w| w == b"\"active\":true"), "a forged token is active");
        }
    }
    if let Ok(request) = axum::http::Request::get(format!("/dex/logout?id_token_hint={t}")).body(Body::empty()) {
        serve(request);
    }
});
