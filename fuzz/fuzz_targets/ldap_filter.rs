//! LDAP filter escaping (RFC 4515 §3): whatever the username, the filter Tessera builds is
//! one equality match whose value reads back as exactly that username, so no input can
//! widen a search (`*)(uid=*`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else { return };
    let filter = tessera::connector::ldap::filter_equality("uid", value);
    let inner = filter.strip_prefix("(uid=").and_then(|f| f.strip_suffix(')')).expect("one equality match");
    let mut bytes = Vec::new();
    let mut chars = inner.bytes();
    while let Some(b) = chars.next() {
        assert!(!matches!(b, b'*' | b'(' | b')' | 0), "unescaped {b:#x} in {filter:?}");
        if b == b'\\' {
            let hex = [chars.next().expect("two hex digits"), chars.next().expect("two hex digits")];
            let hex = std::str::from_utf8(&hex).expect("hex");
            bytes.push(u8::from_str_radix(hex, 16).expect("hex digits"));
        } else {
            bytes.push(b);
        }
    }
    assert_eq!(bytes, value.as_bytes(), "the value reads back unchanged");
});
