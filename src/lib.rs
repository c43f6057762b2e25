//! Tessera: an OpenID Connect identity broker, a drop-in replacement for Dex.
//!
//! The architecture in brief (see `../shared/STYLE.md` for the long form):
//! - `web/` is the only module that knows axum: it extracts typed values from HTTP, calls one
//!   domain function and maps the result back to HTTP (errors become responses in one place).
//! - `oauth2/` and `flow` make every protocol decision; they never see a request object.
//! - They reach infrastructure through small traits: `storage::Storage`, `signer::Signer`
//!   and the connectors in `connector/`.
//! - `app` is the only place that names concrete types and wires them together; `server`
//!   runs it.
//! - `grpc` serves Dex's admin API over `admin`; `admin_cli` is `tessera admin`, its client.
//!
//! Dependency direction: web → (flow, oauth2) → (connector, signer, storage) → (types, crypto, clock).

pub mod admin;
pub mod admin_cli;
pub mod app;
pub mod audit;
pub mod client_options;
pub mod clock;
pub mod config;
pub mod connector;
pub mod crypto;
pub mod flow;
pub mod grpc;
pub mod logout;
pub mod oauth2;
pub mod overlay;
pub mod protocol;
pub mod server;
pub mod signer;
pub mod sso;
pub mod storage;
pub mod throttle;
pub mod types;
pub mod web;

#[cfg(test)]
mod redaction_tests;
