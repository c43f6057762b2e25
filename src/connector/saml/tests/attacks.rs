//! The attack corpus. Each test starts from a validly signed response, transforms it the way
//! the attack does, and checks that it is refused *by the rule that defends against it*
//! (the exact `Rejection`), so removing that rule makes the test fail.
//!
//! XSW1–XSW8 are the eight XML Signature Wrapping variants of Somorovsky et al., "On Breaking
//! SAML: Be Whoever You Want to Be" (USENIX Security 2012), as SAML Raider implements them.
//! Each one is also run through the signature layer alone (shape checks skipped) to show the
//! second line of defence: what is read is what was signed, never the evil assertion.

use super::super::signature::{self, Signed};
use super::super::{Rejection, shape};
use super::kit::{self, Sign, Spec, signed, signed_with, span, strip_signature};
use super::rules::accept;

const EVIL: &str = "admin@example.com";

/// The evil twin of an assertion: unsigned, another ID, another user.
fn evil(assertion: &str) -> String {
    let unsigned =
        if assertion.contains("<ds:Signature") { strip_signature(assertion) } else { assertion.into() };
    unsigned.replace("ID=\"_assert1\"", "ID=\"_evil\"").replace("jane@example.com", EVIL)
}

/// The same, keeping the signature (the reference then points elsewhere).
fn evil_keeping_signature(assertion: &str) -> String {
    assertion.replace("ID=\"_assert1\"", "ID=\"_evil\"").replace("jane@example.com", EVIL)
}

/// Defence in depth: ignoring the shape checks, the signed bytes never carry the evil user.
fn signed_bytes_never_evil(xml: &str) {
    let certs = kit::settings().certs.unwrap();
    if let Ok(bytes) = signature::signed_bytes(xml, &certs) {
        let name = match signature::parse_signed(&bytes) {
            Ok(Signed::Response(r)) => {
                r.assertion.and_then(|a| a.subject).and_then(|s| s.name_id).map(|n| n.value)
            }
            Ok(Signed::Assertion(a)) => a.subject.and_then(|s| s.name_id).map(|n| n.value),
            Err(_) => None,
        };
        assert_ne!(name.as_deref(), Some(EVIL), "the signature layer alone let the evil assertion through");
    }
}

fn refused(xml: &str, expected: Rejection) {
    assert_eq!(accept(xml), Err(expected));
    signed_bytes_never_evil(xml);
}

/// The document without its XML declaration (so it can be embedded).
fn body(xml: &str) -> &str {
    let start = xml.find("<samlp:Response").unwrap();
    xml[start..].trim_end()
}

#[test]
fn xsw1_signed_response_copied_into_its_signature() {
    let xml = signed(&Spec::default(), Sign::Response);
    let original = body(&xml);
    let copy = strip_signature(original);
    let mut root = original.replace("ID=\"_resp1\"", "ID=\"_evilresp\"");
    let (a, b) = span(&root, "saml:Assertion", 0);
    root.replace_range(a..b, &evil(&root[a..b]));
    let at = root.find("</ds:Signature>").unwrap();
    root.insert_str(at, &copy);
    refused(&root, Rejection::NotAResponse);
}

#[test]
fn xsw2_signed_response_copied_before_its_signature() {
    let xml = signed(&Spec::default(), Sign::Response);
    let original = body(&xml);
    let copy = strip_signature(original);
    let mut root = original.replace("ID=\"_resp1\"", "ID=\"_evilresp\"");
    let (a, b) = span(&root, "saml:Assertion", 0);
    root.replace_range(a..b, &evil(&root[a..b]));
    let at = root.find("<ds:Signature").unwrap();
    root.insert_str(at, &copy);
    refused(&root, Rejection::NotAResponse);
}

#[test]
fn xsw3_evil_assertion_before_the_signed_one() {
    let mut xml = signed(&Spec::default(), Sign::Assertion);
    let (a, b) = span(&xml, "saml:Assertion", 0);
    let evil = evil(&xml[a..b]);
    xml.insert_str(a, &evil);
    refused(&xml, Rejection::AssertionCount(2));
}

#[test]
fn xsw4_evil_assertion_wraps_the_signed_one() {
    let mut xml = signed(&Spec::default(), Sign::Assertion);
    let (a, b) = span(&xml, "saml:Assertion", 0);
    let original = xml[a..b].to_string();
    let mut wrapper = evil(&original);
    let at = wrapper.rfind("</saml:Assertion>").unwrap();
    wrapper.insert_str(at, &original);
    xml.replace_range(a..b, &wrapper);
    refused(&xml, Rejection::AssertionCount(2));
}

#[test]
fn xsw5_signature_kept_on_evil_assertion_original_copy_appended() {
    let mut xml = signed(&Spec::default(), Sign::Assertion);
    let (a, b) = span(&xml, "saml:Assertion", 0);
    let original = xml[a..b].to_string();
    xml.replace_range(a..b, &evil_keeping_signature(&original));
    let at = xml.rfind("</samlp:Response>").unwrap();
    xml.insert_str(at, &strip_signature(&original));
    // The evil assertion's signature references the appended copy, not its own parent.
    refused(&xml, Rejection::ReferenceMismatch);
}

#[test]
fn xsw6_original_copy_inside_the_evil_assertions_signature() {
    let mut xml = signed(&Spec::default(), Sign::Assertion);
    let (a, b) = span(&xml, "saml:Assertion", 0);
    let original = xml[a..b].to_string();
    let mut wrapper = evil_keeping_signature(&original);
    let at = wrapper.find("</ds:Signature>").unwrap();
    wrapper.insert_str(at, &strip_signature(&original));
    xml.replace_range(a..b, &wrapper);
    refused(&xml, Rejection::AssertionCount(2));
}

#[test]
fn xsw7_signed_assertion_hidden_in_extensions() {
    let mut xml = signed(&Spec::default(), Sign::Assertion);
    let (a, b) = span(&xml, "saml:Assertion", 0);
    let original = xml[a..b].to_string();
    xml.replace_range(a..b, &format!("<samlp:Extensions>{original}</samlp:Extensions>{}", evil(&original)));
    refused(&xml, Rejection::AssertionMisplaced);
}

#[test]
fn xsw8_original_copy_in_a_signature_object() {
    let mut xml = signed(&Spec::default(), Sign::Assertion);
    let (a, b) = span(&xml, "saml:Assertion", 0);
    let original = xml[a..b].to_string();
    let mut wrapper = evil_keeping_signature(&original);
    let at = wrapper.find("</ds:Signature>").unwrap();
    wrapper.insert_str(at, &format!("<ds:Object>{}</ds:Object>", strip_signature(&original)));
    xml.replace_range(a..b, &wrapper);
    refused(&xml, Rejection::AssertionCount(2));
}

#[test]
fn evil_assertion_after_the_signed_one() {
    let mut xml = signed(&Spec::default(), Sign::Assertion);
    let (a, b) = span(&xml, "saml:Assertion", 0);
    let evil = evil(&xml[a..b]);
    xml.insert_str(b, &evil);
    refused(&xml, Rejection::AssertionCount(2));
}

#[test]
fn unsigned_assertion_next_to_a_signed_response_is_refused() {
    // The Response is signed; an unsigned assertion is added after signing.
    let mut xml = signed(&Spec::default(), Sign::Response);
    let (a, b) = span(&xml, "saml:Assertion", 0);
    let evil = evil(&xml[a..b]);
    xml.insert_str(b, &evil);
    refused(&xml, Rejection::AssertionCount(2));
}

#[test]
fn duplicate_ids_are_refused() {
    let mut xml = signed(&Spec::default(), Sign::Response);
    let at = xml.find("<samlp:Status").unwrap();
    xml.insert_str(at, "<samlp:Extensions><x ID=\"_assert1\"/></samlp:Extensions>");
    refused(&xml, Rejection::DuplicateId("_assert1".into()));
}

#[test]
fn signature_referencing_another_element_is_refused() {
    // A valid assertion signature moved up to sign "for" the Response.
    let xml = signed(&Spec::default(), Sign::Assertion);
    let (s, e) = span(&xml, "ds:Signature", 0);
    let sig = xml[s..e].to_string();
    let mut moved = format!("{}{}", &xml[..s], &xml[e..]);
    let at = moved.find("</saml:Issuer>").unwrap() + "</saml:Issuer>".len();
    moved.insert_str(at, &sig);
    refused(&moved, Rejection::ReferenceMismatch);
}

#[test]
fn signature_stripped_is_refused() {
    let xml = strip_signature(&signed(&Spec::default(), Sign::Response));
    refused(&xml, Rejection::Unsigned);
    let xml = strip_signature(&signed(&Spec::default(), Sign::Assertion));
    refused(&xml, Rejection::Unsigned);
}

#[test]
fn unsigned_response_is_refused() {
    refused(&signed(&Spec::default(), Sign::Neither), Rejection::Unsigned);
}

#[test]
fn tampered_signed_content_is_refused() {
    let xml = signed(&Spec::default(), Sign::Response).replace("jane@example.com", EVIL);
    assert!(matches!(accept(&xml), Err(Rejection::BadSignature(_))));
}

#[test]
fn certificate_not_the_configured_one_is_refused() {
    // Signed by another key, which the document itself carries in KeyInfo: never used.
    for sign in [Sign::Response, Sign::Assertion] {
        let xml = signed_with(&Spec::default(), sign, "other");
        assert!(matches!(accept(&xml), Err(Rejection::BadSignature(_))), "{sign:?}");
    }
}

#[test]
fn sha1_signatures_are_refused() {
    let spec = Spec {
        algorithms: ("http://www.w3.org/2000/09/xmldsig#rsa-sha1", "http://www.w3.org/2000/09/xmldsig#sha1"),
        ..Spec::default()
    };
    assert!(matches!(accept(&signed(&spec, Sign::Response)), Err(Rejection::BadSignature(_))));
}

#[test]
fn comment_injected_in_name_id_reads_the_whole_signed_value() {
    // The IdP signs "admin@example.com.evil.com"; the attacker splits it with a comment, which
    // canonicalization drops, so the signature still verifies. A parser that reads only the
    // first text node would see "admin@example.com".
    let spec = Spec { name_id: "admin@example.com.evil.com".into(), ..Spec::default() };
    for sign in [Sign::Response, Sign::Assertion] {
        let xml = signed(&spec, sign).replace(
            "admin@example.com.evil.com</saml:NameID>",
            "admin@example.com<!---->.evil.com</saml:NameID>",
        );
        assert!(xml.contains("<!---->"));
        assert_eq!(accept(&xml).unwrap(), "admin@example.com.evil.com");
    }
}

#[test]
fn comment_in_a_name_id_is_never_truncated_by_the_reader() {
    // The reader itself, on a document that still has the comment.
    let assertion =
        kit::assertion(&Spec { name_id: "admin@example.com<!---->.evil.com".into(), ..Spec::default() }, "");
    let assertion = assertion.replacen(
        "<saml:Assertion ",
        "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ",
        1,
    );
    let Ok(Signed::Assertion(parsed)) = signature::parse_signed(&assertion) else { panic!("parse") };
    let name = super::super::identity::name_id(&parsed).unwrap();
    assert_eq!(name, "admin@example.com.evil.com");
}

#[test]
fn xxe_is_refused_before_parsing() {
    let xxe = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\
               <samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">&x;</samlp:Response>";
    assert_eq!(accept(xxe), Err(Rejection::Doctype));
    assert_eq!(shape::refuse_doctype(xxe), Err(Rejection::Doctype));
}

#[test]
fn billion_laughs_is_refused_before_parsing() {
    let mut bomb = String::from("<?xml version=\"1.0\"?><!doctype lolz [<!ENTITY lol \"lol\">");
    for i in 1..10 {
        let prev = if i == 1 { "lol".to_string() } else { format!("lol{}", i - 1) };
        bomb.push_str(&format!("<!ENTITY lol{i} \"{}\">", format!("&{prev};").repeat(10)));
    }
    bomb.push_str(
        "]><samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">&lol9;</samlp:Response>",
    );
    assert_eq!(accept(&bomb), Err(Rejection::Doctype));
}

#[test]
fn doctype_after_signing_is_refused() {
    let xml = signed(&Spec::default(), Sign::Response).replacen(
        "<samlp:Response",
        "<!DOCTYPE samlp:Response><samlp:Response",
        1,
    );
    assert_eq!(accept(&xml), Err(Rejection::Doctype));
}

#[test]
fn garbage_is_refused() {
    assert!(matches!(
        super::rules::saml().accept("%%%", kit::REQUEST_ID, kit::NOW),
        Err(Rejection::NotBase64(_))
    ));
    assert!(matches!(
        accept("<notxml"),
        Err(Rejection::Malformed(_) | Rejection::AssertionCount(_) | Rejection::NotAResponse)
    ));
    assert_eq!(accept("<samlp:Response xmlns:samlp=\"urn:other\"/>"), Err(Rejection::NotAResponse));
}
