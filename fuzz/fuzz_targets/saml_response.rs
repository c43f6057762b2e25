//! The SAML Response a browser posts, through every rule up to and including the signature
//! check (`Saml::accept`), against a connector trusting a test IdP certificate. The fuzzer's
//! bytes are the XML (base64-encoded here, as the POST binding carries it). Never a panic,
//! and nothing unsigned is ever accepted.
#![no_main]

use base64::Engine;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tessera::connector::saml::{Saml, SamlConfig};

fn saml() -> &'static Saml {
    static SAML: OnceLock<Saml> = OnceLock::new();
    SAML.get_or_init(|| {
        let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/saml/idp.crt");
        let config: SamlConfig = tessera::config::from_value(serde_json::json!({
            "ssoURL": "https://idp.example/sso",
            "ca": ca,
            "redirectURI": "http://127.0.0.1:5556/dex/callback",
            "entityIssuer": "http://127.0.0.1:5556/dex/callback",
            "ssoIssuer": "https://idp.example/metadata",
            "usernameAttr": "name",
            "emailAttr": "email",
        }))
        .expect("saml config");
        Saml::open(&"saml".into(), config).expect("saml connector")
    })
}

fuzz_target!(|data: &[u8]| {
    let posted = base64::engine::general_purpose::STANDARD.encode(data);
    // The fuzzer cannot sign: acceptance would be a signature bypass.
    assert!(saml().accept(&posted, "id-fuzz", 1_800_000_000).is_err(), "an unsigned response was accepted");
    // The posted text itself, unencoded (garbage in the form field).
    let _ = saml().accept(&String::from_utf8_lossy(data), "id-fuzz", 1_800_000_000);
});
