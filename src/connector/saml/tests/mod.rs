//! Tests of the SAML connector against responses signed here with the test keys in
//! `tests/fixtures/saml` (samael's xmlsec signing): the positive cases and the attack corpus.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attacks;
pub(crate) mod kit;
pub(crate) mod rules;
