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
    let mut plain = Crypto::decrypt_assertion_value_info(value, value_method, &content_key)
        .map_err(|e| refused(format!("content decryption: {e}")))?;
    if value_method == AES128_CBC {
        strip_padding(&mut plain)?;
    }
    let text = String::from_utf8(plain).map_err(|_| refused("plaintext is not UTF-8"))?;
    shape::refuse_doctype(&text)?;
    let text = text.trim_start();
    let text = match text.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map(|(_, after)| after).unwrap_or_default(),
        None => text,
    };
    Ok(text.to_string())
}

/// XML Encryption's CBC padding (ISO 10126: the last byte is the pad length, 1 to 16), which
/// samael leaves in place.
fn strip_padding(plain: &mut Vec<u8>) -> Result<(), Rejection> {
    let pad = usize::from(plain.last().copied().unwrap_or(0));
    if pad == 0 || pad > 16 || pad > plain.len() {
        return Err(refused("bad CBC padding"));
    }
    plain.truncate(plain.len() - pad);
    Ok(())
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

#[cfg(test)]
mod tests {

    use super::super::Rejection;
    use super::super::tests::kit::{self, Sign, Spec, b64, span};
    use super::super::tests::rules::saml;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use openssl::symm::{Cipher, encrypt, encrypt_aead};

    /// Encrypts `assertion` for `sp.crt` the way an IdP does (RSA-OAEP key transport).
    fn encrypted(assertion: &str, gcm: bool) -> String {
        let cert =
            openssl::x509::X509::from_pem(&std::fs::read(format!("{}/sp.crt", kit::FIXTURES)).unwrap())
                .unwrap();
        let rsa = cert.public_key().unwrap().rsa().unwrap();
        let key = crate::crypto::random_bytes(16);
        let mut wrapped = vec![0; rsa.size() as usize];
        let n = rsa.public_encrypt(&key, &mut wrapped, openssl::rsa::Padding::PKCS1_OAEP).unwrap();
        wrapped.truncate(n);
        let (method, value) = if gcm {
            let iv = crate::crypto::random_bytes(12);
            let mut tag = [0u8; 16];
            let ct =
                encrypt_aead(Cipher::aes_128_gcm(), &key, Some(&iv), &[], assertion.as_bytes(), &mut tag)
                    .unwrap();
            (super::AES128_GCM, [&iv[..], &ct, &tag].concat())
        } else {
            let iv = crate::crypto::random_bytes(16);
            let ct = encrypt(Cipher::aes_128_cbc(), &key, Some(&iv), assertion.as_bytes()).unwrap();
            (super::AES128_CBC, [&iv[..], &ct].concat())
        };
        format!(
            "<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\" \
             Type=\"http://www.w3.org/2001/04/xmlenc#Element\"><xenc:EncryptionMethod Algorithm=\"{method}\"/>\
             <ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><xenc:EncryptedKey>\
             <xenc:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p\"/>\
             <xenc:CipherData><xenc:CipherValue>{key}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>\
             </ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{value}</xenc:CipherValue></xenc:CipherData>\
             </xenc:EncryptedData></saml:EncryptedAssertion>",
            key = STANDARD.encode(wrapped),
            value = STANDARD.encode(value),
        )
    }

    fn sp_key() -> Vec<u8> {
        use rustls::pki_types::PrivateKeyDer;
        use rustls::pki_types::pem::PemObject;
        PrivateKeyDer::from_pem_file(format!("{}/sp.key", kit::FIXTURES)).unwrap().secret_der().to_vec()
    }

    /// A response whose (signed) assertion is replaced by its encryption.
    fn with_encrypted_assertion(sign: Sign, gcm: bool) -> String {
        let xml = kit::signed(&Spec::default(), sign);
        let (a, b) = span(&xml, "saml:Assertion", 0);
        let assertion = xml[a..b].replacen(
            "<saml:Assertion ",
            "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ",
            1,
        );
        format!("{}{}{}", &xml[..a], encrypted(&assertion, gcm), &xml[b..])
    }

    #[test]
    fn signed_assertion_inside_an_unsigned_response_decrypts() {
        let mut saml = saml();
        saml.settings.decryption_key = Some(sp_key());
        for gcm in [false, true] {
            let xml = with_encrypted_assertion(Sign::Assertion, gcm);
            let accepted = saml.accept(&b64(&xml), kit::REQUEST_ID, kit::NOW).unwrap();
            assert_eq!(accepted.assertion.subject.unwrap().name_id.unwrap().value, "jane@example.com");
        }
    }

    #[test]
    fn unsigned_encrypted_assertion_is_refused() {
        // Anyone can encrypt to our public key: decryption proves nothing.
        let mut saml = saml();
        saml.settings.decryption_key = Some(sp_key());
        let xml = with_encrypted_assertion(Sign::Neither, false);
        assert_eq!(saml.accept(&b64(&xml), kit::REQUEST_ID, kit::NOW).unwrap_err(), Rejection::Unsigned);
    }

    #[test]
    fn encrypted_assertion_without_a_key_is_refused() {
        let xml = with_encrypted_assertion(Sign::Assertion, false);
        assert!(matches!(saml().accept(&b64(&xml), kit::REQUEST_ID, kit::NOW), Err(Rejection::Encrypted(_))));
    }

    #[test]
    fn short_ciphertext_is_refused_without_panicking() {
        let mut saml = saml();
        saml.settings.decryption_key = Some(sp_key());
        let xml = with_encrypted_assertion(Sign::Assertion, true);
        // The content's CipherValue (the last one) cut to 3 bytes.
        let a = xml.rfind("<xenc:CipherValue>").unwrap() + "<xenc:CipherValue>".len();
        let b = a + xml[a..].find("</xenc:CipherValue>").unwrap();
        let cut = format!("{}AAAA{}", &xml[..a], &xml[b..]);
        assert!(matches!(saml.accept(&b64(&cut), kit::REQUEST_ID, kit::NOW), Err(Rejection::Encrypted(_))));
    }

    #[test]
    fn padding_is_checked() {
        let mut ok = b"<a/>\x03\x03\x03".to_vec();
        super::strip_padding(&mut ok).unwrap();
        assert_eq!(ok, b"<a/>");
        assert!(super::strip_padding(&mut b"x\x00".to_vec()).is_err());
        assert!(super::strip_padding(&mut b"x\x20".to_vec()).is_err());
    }
}
