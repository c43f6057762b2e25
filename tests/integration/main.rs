//! Tessera's integration tests: one binary, one module per topic. Every test starts its own
//! server (real listener, own database) and drives it over HTTP with real clients.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test crate: its helpers may fail loudly, a failed test is the point"
)]

mod common;

mod admin_cli;
mod api;
mod audit;
mod authorize;
mod browser;
mod chart;
mod cli;
mod client_jwt;
mod client_settings;
mod code_flow;
mod codes;
mod connectors;
mod device;
mod dex_config;
mod dex_connectors;
mod dpop;
mod fapi;
mod faults;
mod google;
mod grpc_api;
mod image;
mod keys;
mod kubectl;
mod kubernetes_client;
mod ldap;
mod login_ui;
mod mesh;
mod oidc;
mod operations;
mod par;
mod refresh;
mod replicas;
mod resources;
mod robustness;
mod saml;
mod sessions;
mod throttle;
mod token_errors;
