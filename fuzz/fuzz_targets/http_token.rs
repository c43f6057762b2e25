//! `/token`: the form body and the `Authorization: Basic` header (RFC 6749 §2.3.1), for every
//! grant. Never a 5xx, never a panic; a token response always carries `no-store`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_fuzz::{parts, serve, token_request};

fuzz_target!(|data: &[u8]| {
    let [authorization, body] = <[String; 2]>::try_from(parts(data, 2)).unwrap_or_default();
    if let Some(request) = token_request(&authorization, body) {
        let response = serve(request);
        assert_eq!(response.headers().get("cache-control").map(|v| v.as_bytes()), Some(&b"no-store"[..]));
    }
});
