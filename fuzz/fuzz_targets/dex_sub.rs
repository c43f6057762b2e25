//! Dex's `sub` (base64url of a protobuf of user id and connector id), as read from
//! `id_token_hint`s, token exchange and the admin API. Never a panic; what decodes encodes
//! back to a subject that decodes the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera::oauth2::subject;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some((user, connector)) = subject::decode(text) {
        let again = subject::encode(&user, &connector);
        assert_eq!(subject::decode(&again), Some((user, connector)));
    }
});
