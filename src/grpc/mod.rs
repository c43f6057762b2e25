//! Dex's gRPC API (`api/v2`, package `api`, service `Dex`) on `grpc.addr`: the transport.
//! It maps each call to one function of [`crate::admin`] and the outcome back to Dex's
//! messages, flags (`already_exists`, `not_found`) and status codes; it decides nothing itself.

/// The messages, the server trait and the client, generated at build time from
/// `proto/api.proto`.
#[allow(clippy::all, clippy::pedantic, clippy::nursery, missing_docs)]
pub mod api {
    tonic::include_proto!("api");
}
