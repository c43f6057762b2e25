//! The integration tests: real servers on free ports, driven over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod browser;
