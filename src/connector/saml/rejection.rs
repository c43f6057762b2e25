//! Why a SAML response was not accepted. The user only ever sees a generic message; the log
//! gets this reason. Tests match on the variant, so each protection is checked by itself.

/// A response Tessera refused, and the rule that refused it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("SAMLResponse is not base64: {0}")]
    NotBase64(String),
    #[error("SAMLResponse is larger than {0} bytes")]
    TooLarge(usize),
    #[error("SAMLResponse is not UTF-8 XML")]
    NotUtf8,
    #[error("document type declarations (DTDs, entities) are refused")]
    Doctype,
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("the document is not one samlp:Response")]
    NotAResponse,
    #[error("the ID {0:?} appears more than once")]
    DuplicateId(String),
    #[error("expected exactly one assertion, found {0}")]
    AssertionCount(usize),
    #[error("the assertion is not a child of the Response")]
    AssertionMisplaced,
    #[error("a signature is not where SAML puts it (a child of the Response or of the assertion)")]
    SignatureMisplaced,
    #[error("a signature does not reference exactly the element it signs")]
    ReferenceMismatch,
    #[error("neither the response nor the assertion is signed")]
    Unsigned,
    #[error("signature verification failed: {0}")]
    BadSignature(String),
    #[error("the signed element is not the Response or the Assertion")]
    SignedElementUnexpected,
    #[error("the identity provider answered {0}")]
    Status(String),
    #[error("unsupported SAML version {0:?}")]
    Version(String),
    #[error("Destination {0:?} is not our ACS URL")]
    Destination(String),
    #[error("InResponseTo {0:?} does not answer the pending request")]
    InResponseTo(String),
    #[error("Issuer {0:?} is not the configured ssoIssuer")]
    Issuer(String),
    #[error("we are not in the assertion's audience")]
    Audience,
    #[error("the assertion is not valid yet")]
    NotYetValid,
    #[error("the assertion expired")]
    Expired,
    #[error("no bearer SubjectConfirmation matches: {0}")]
    SubjectConfirmation(String),
    #[error("the assertion was already used")]
    Replayed,
    /// Not a rule the response broke: the replay cache could not be asked, so the response
    /// could not be checked. The caller reports it as the server's failure, not a refusal.
    #[error("replay cache unavailable: {0}")]
    ReplayCacheUnavailable(String),
    #[error("the assertion has no NameID")]
    NoNameId,
    #[error("no attribute named {0:?}")]
    MissingAttribute(String),
    #[error("the user is not in any of the allowed groups")]
    NotInAllowedGroups,
    #[error("encrypted assertion: {0}")]
    Encrypted(String),
}
