//! Build steps: Dex's gRPC API generated from `proto/api.proto`, and link settings for the
//! `tessera` binary.
//!
//! The API (package `api`, service `Dex`) is compiled by protox, in Rust, so no `protoc`
//! binary is needed; tonic generates the server (`tessera serve`) and the client
//! (`tessera admin`, the tests). Methods of Dex's API that Tessera does not serve answer
//! `UNIMPLEMENTED`, as an older Dex does.
//!
//! Packed relative relocations (`-z pack-relative-relocs`, DT_RELR): a position-independent
//! executable carries one relocation per pointer in its read-only data, ~29,000 of them here,
//! which the dynamic loader reads at every start. As 24-byte RELA entries they fill 690 KB
//! that stay resident; packed as RELR bitmaps they take a few KB. The executable stays PIE
//! with full RELRO. Only where the loader understands RELR, glibc 2.36 or later, judged by
//! the building machine's glibc on a native build: the packed binary asks for
//! GLIBC_ABI_DT_RELR, and an older loader refuses to start it.

use std::process::Command;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=proto/api.proto");
    let descriptors = protox::compile(["api.proto"], ["proto"])?;
    // The descriptors again, encoded, for gRPC server reflection (`grpc.reflection`).
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("api_descriptor.bin"), prost::Message::encode_to_vec(&descriptors))?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .generate_default_stubs(true)
        .compile_fds(descriptors)?;
    link_settings();
    Ok(())
}

fn link_settings() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let native = std::env::var("TARGET").ok() == std::env::var("HOST").ok();
    if target_os == "linux" && target_env == "gnu" && native && glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// The building machine's glibc version, from `getconf GNU_LIBC_VERSION` ("glibc 2.36").
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.split_whitespace().nth(1) else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    found >= (major, minor)
}
