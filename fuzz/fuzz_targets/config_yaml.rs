//! The config loader (YAML → typed config, every check): `tessera check-config` on any
//! file. Never a panic; `$VAR`s expand from an empty environment.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = tessera::config::load_str_with_env(text, &|_| None);
    }
});
