//! `/auth`: the authorization request's query (GET) and form (POST), as a browser or an
//! attacker sends them. Never a 5xx, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_fuzz::{form, parts, serve};

fuzz_target!(|data: &[u8]| {
    // Raw bytes after the `?` (the fuzzer decides the encoding), and as a form body.
    let [query, body] = <[String; 2]>::try_from(parts(data, 2)).unwrap_or_default();
    let query: String = query.chars().filter(|c| !c.is_whitespace() && !c.is_control() && *c != '#').collect();
    if let Ok(request) = axum::http::Request::get(format!("/dex/auth?{query}")).body(axum::body::Body::empty()) {
        serve(request);
    }
    serve(form("/dex/auth", body));
});
