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

/// Unix time in seconds. Every timestamp in storage and in tokens uses it.
pub type UnixTime = i64;
