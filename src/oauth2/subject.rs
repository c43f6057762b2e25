//! The `sub` claim, encoded exactly as Dex encodes it so users migrating from Dex keep their
//! subjects: base64url (no padding) of the protobuf message `IDTokenSubject { string user_id = 1;
//! string conn_id = 2; }`. Proto3 omits empty strings, and so do we.

use crate::crypto::base64url;
use crate::types::ConnectorId;

pub fn encode(user_id: &str, connector_id: &ConnectorId) -> String {
    let mut message = Vec::with_capacity(user_id.len() + connector_id.as_str().len() + 8);
    put_string_field(&mut message, 1, user_id);
    put_string_field(&mut message, 2, connector_id.as_str());
    base64url(&message)
}

fn put_string_field(out: &mut Vec<u8>, field: u8, value: &str) {
    if value.is_empty() {
        return;
    }
    out.push((field << 3) | 2); // wire type 2: length-delimited
    let mut len = value.len();
    while len >= 0x80 {
        out.push((len as u8 & 0x7f) | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
    out.extend_from_slice(value.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_dex_encoding() {
        // Dex's mock connector user at connector "mock": the subject Dex issues for it.
        assert_eq!(encode("0-385-28089-0", &"mock".into()), "Cg0wLTM4NS0yODA4OS0wEgRtb2Nr");
        // A local password user.
        assert_eq!(
            encode("08a8684b-db88-4b73-90a9-3cd1661f5466", &"local".into()),
            "CiQwOGE4Njg0Yi1kYjg4LTRiNzMtOTBhOS0zY2QxNjYxZjU0NjYSBWxvY2Fs"
        );
    }

    #[test]
    fn long_values_use_multi_byte_lengths() {
        let long = "x".repeat(200);
        let encoded = encode(&long, &"c".into());
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, encoded)
            .unwrap_or_default();
        assert_eq!(&bytes[..3], &[0x0a, 0xc8, 0x01]);
    }
}
