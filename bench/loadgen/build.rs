//! The client of Dex's gRPC API (`../../proto/api.proto`, the file the server is built
//! from), compiled by protox in Rust as in the main crate: no `protoc` needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../../proto/api.proto");
    let descriptors = protox::compile(["api.proto"], ["../../proto"])?;
    tonic_prost_build::configure().build_server(false).build_client(true).compile_fds(descriptors)?;
    Ok(())
}
