//! The `sub` claim, encoded exactly as Dex encodes it so users migrating from Dex keep their
//! subjects: base64url (no padding) of the protobuf message `IDTokenSubject { string user_id = 1;
//! string conn_id = 2; }`. Proto3 omits empty strings, and so do we.

use crate::crypto::base64url;
use crate::types::ConnectorId;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use prost::Message;

/// Dex's `internal.IDTokenSubject`.
#[derive(Clone, PartialEq, prost::Message)]
struct IdTokenSubject {
    #[prost(string, tag = "1")]
    user_id: String,
    #[prost(string, tag = "2")]
    conn_id: String,
}

pub fn encode(user_id: &str, connector_id: &ConnectorId) -> String {
    let subject = IdTokenSubject { user_id: user_id.to_owned(), conn_id: connector_id.to_string() };
    base64url(&subject.encode_to_vec())
}

/// The user id and connector id a `sub` was made from; `None` for a value that is not one
/// (the admin API's `ListRefresh` and `RevokeRefresh` name users by their `sub`, as in Dex).
pub fn decode(sub: &str) -> Option<(String, ConnectorId)> {
    let bytes = URL_SAFE_NO_PAD.decode(sub.trim_end_matches('=')).ok()?;
    let subject = IdTokenSubject::decode(bytes.as_slice()).ok()?;
    Some((subject.user_id, subject.conn_id.into()))
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

    #[test]
    fn decoding_gives_back_what_was_encoded() {
        assert_eq!(decode("Cg0wLTM4NS0yODA4OS0wEgRtb2Nr"), Some(("0-385-28089-0".into(), "mock".into())));
        let long = "ü".repeat(300);
        assert_eq!(decode(&encode(&long, &"ldap".into())), Some((long, "ldap".into())));
        // Padded base64 (some tools add it) reads the same.
        assert_eq!(decode("Cg0wLTM4NS0yODA4OS0wEgRtb2Nr=="), decode("Cg0wLTM4NS0yODA4OS0wEgRtb2Nr"));
        for bad in ["", "not base64!", "CgA", "/////w"] {
            assert!(decode(bad).is_none_or(|(user, _)| user.is_empty()), "{bad}");
        }
    }
}
