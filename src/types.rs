//! Newtypes shared by every layer: identifiers and secrets.
//!
//! Secrets print as `[redacted]` so they can never leak through `Debug` into a log line.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A value that must never be printed: client secrets, passwords, refresh tokens.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call sites that need it are few and easy to audit.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// `Debug` for a type that holds secrets (tokens, codes, keys, CSRF tokens): the listed
/// fields print and every other one is left out (`..`). It is an allow-list, so a secret
/// added to the type later stays hidden unless someone lists it.
#[macro_export]
macro_rules! debug_only {
    ($ty:ident: $($field:ident),* $(,)?) => {
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}

/// An identifier that is a string on the wire and in storage but must not be mixed up with
/// another kind of identifier: a function that takes a client id cannot be handed a
/// connector id. Serialized as the bare string, so stored rows and config keep their shape.
macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }

            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        /// Prints as the bare string (as it did before it was typed), so log lines keep
        /// their shape.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// Maps keyed by the id can be searched with a plain `&str` (an id read off the wire
        /// before it is known to exist).
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

string_id!(
    /// An OAuth2 client's `client_id`: from `staticClients`, storage or a request.
    ClientId
);

string_id!(
    /// A connector's `id` from `connectors[]` (or storage): the key of the login methods, of
    /// a user's offline session and of Dex's `sub`.
    ConnectorId
);

/// Unix time in seconds. Every timestamp in storage and in tokens uses it.
pub type UnixTime = i64;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};

    /// Typing the ids changed nothing on the wire, in storage or in the logs: rows written
    /// before read the same, and a map keyed by id serialises with the bare strings as keys.
    #[test]
    fn ids_keep_the_shape_of_plain_strings() {
        let id = ClientId::from("example-app");
        assert_eq!(serde_json::to_value(&id).unwrap(), serde_json::json!("example-app"));
        assert_eq!(serde_json::from_value::<ClientId>(serde_json::json!("example-app")).unwrap(), id);
        assert_eq!(format!("{id:?}"), format!("{:?}", "example-app"));
        assert_eq!(id.to_string(), "example-app");
        let consents: BTreeMap<ClientId, Vec<String>> = [(id.clone(), vec!["openid".into()])].into();
        assert_eq!(serde_json::to_value(&consents).unwrap(), serde_json::json!({"example-app": ["openid"]}));
    }

    /// An id read off the wire finds its entry without being converted first.
    #[test]
    fn maps_keyed_by_id_answer_plain_strings() {
        let by_id: HashMap<ConnectorId, u8> = [(ConnectorId::from("ldap"), 1)].into();
        assert_eq!(by_id.get("ldap"), Some(&1));
        assert_eq!(by_id.get("LDAP"), None, "ids compare exactly");
        let ldap = ConnectorId::from("ldap");
        assert!(ldap == "ldap");
        assert!("ldap" == ldap);
    }
}
