//! Tests of the SAML connector against responses signed here with the test keys in
//! `tests/fixtures/saml` (samael's xmlsec signing): the positive cases and the attack corpus.

mod attacks;
pub(crate) mod kit;
pub(crate) mod rules;
