//! Encrypted assertions (XML Encryption 1.1), with the SP key from `decryptionKey`.
//!
//! samael supplies the primitives: the key transport `rsa-oaep-mgf1p` (SHA-1 OAEP) or `rsa-1_5`,
//! and the content ciphers `aes128-cbc` or `aes128-gcm`. It has no `aes256-cbc`/`aes256-gcm`
//! and no `xmlenc11#rsa-oaep` (SHA-256 OAEP), so identity providers must be set to those; others
//! are refused with a clear reason. Its `EncryptedAssertion::decrypt` can panic on a malformed
//! ciphertext, so the primitives are called here after checking lengths ourselves.
//!
//! Anyone can encrypt to our public key, so decryption proves nothing: the plaintext assertion
//! counts only when covered by a signature, the Response's or its own.

use super::rejection::Rejection;
use super::shape;
use super::signature::{self, Signed};
use base64::Engine;
use samael::schema::{Assertion, EncryptedAssertion, Response};

const AES128_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
const AES128_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes128-gcm";

fn refused(reason: impl Into<String>) -> Rejection {
    Rejection::Encrypted(reason.into())
}

/// The plaintext of an encrypted assertion: UTF-8 XML, no DTD, its XML declaration dropped.
#[cfg(feature = "saml-xmlsec")]
fn plaintext(encrypted: &EncryptedAssertion, key_der: &[u8]) -> Result<String, Rejection> {
    use samael::crypto::{Crypto, CryptoProvider};
    let key = openssl::pkey::PKey::private_key_from_der(key_der)
        .or_else(|_| openssl::pkey::PKey::private_key_from_pkcs8(key_der))
        .map_err(|e| refused(format!("decryptionKey unusable: {e}")))?;
    let (wrapped_key, key_method) =
        encrypted.encrypted_key_info().ok_or_else(|| refused("no EncryptedKey"))?;
    let (value, value_method) = encrypted.encrypted_value_info().ok_or_else(|| refused("no CipherValue"))?;
    // samael slices the IV (and the GCM tag) off without checking the length first.
    let compact: String = value.value.split_ascii_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| refused(format!("CipherValue is not base64: {e}")))?;
    let minimum = match value_method.as_str() {
        AES128_CBC => 16 + 16,
        AES128_GCM => 12 + 16,
        other => return Err(refused(format!("unsupported content encryption {other}"))),
    };
    if bytes.len() < minimum {
        return Err(refused("ciphertext too short"));
    }
    let content_key = Crypto::decrypt_assertion_key_info(wrapped_key, key_method, &key)
        .map_err(|e| refused(format!("key transport: {e}")))?;
    let plain = Crypto::decrypt_assertion_value_info(value, value_method, &content_key)
        .map_err(|e| refused(format!("content decryption: {e}")))?;
    let text = String::from_utf8(plain).map_err(|_| refused("plaintext is not UTF-8"))?;
    shape::refuse_doctype(&text)?;
    let text = text.trim_start();
    let text = match text.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map(|(_, after)| after).unwrap_or_default(),
        None => text,
    };
    Ok(text.to_string())
}

#[cfg(not(feature = "saml-xmlsec"))]
fn plaintext(_encrypted: &EncryptedAssertion, _key_der: &[u8]) -> Result<String, Rejection> {
    Err(refused("built without the saml-xmlsec feature"))
}

/// The assertion inside a *signed* Response: the Response's signature covers the ciphertext.
pub fn assertion(encrypted: &EncryptedAssertion, key_der: &[u8]) -> Result<Assertion, Rejection> {
    match signature::parse_signed(&plaintext(encrypted, key_der)?)? {
        Signed::Assertion(assertion) => Ok(*assertion),
        Signed::Response(_) => Err(refused("the plaintext is not an Assertion")),
    }
}

/// The assertion inside an *unsigned* Response: it must carry its own valid signature, and
/// gets the same shape checks as a plain one (it is put back in a bare Response for them).
pub fn signed_assertion(xml: &str, key_der: &[u8], certs: &[Vec<u8>]) -> Result<Assertion, Rejection> {
    let envelope: Response = quick_xml::de::from_str(xml).map_err(|e| Rejection::Malformed(e.to_string()))?;
    let encrypted = envelope.encrypted_assertion.ok_or(Rejection::AssertionCount(0))?;
    let inner = plaintext(&encrypted, key_der)?;
    let wrapped = format!(
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_tessera-envelope\">{inner}</samlp:Response>"
    );
    let shape = shape::scan(&wrapped)?;
    if shape.encrypted {
        return Err(refused("nested encryption"));
    }
    match signature::verify(&wrapped, &shape, certs)? {
        Signed::Assertion(assertion) => Ok(*assertion),
        Signed::Response(_) => Err(Rejection::SignedElementUnexpected),
    }
}
