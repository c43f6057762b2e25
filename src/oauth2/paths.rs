//! The endpoints' paths below the issuer (Dex's, where Dex has them): the router mounts them
//! and the domain builds its URLs from them, so each is spelled once.

pub const DISCOVERY: &str = "/.well-known/openid-configuration";
pub const AUTH: &str = "/auth";
pub const TOKEN: &str = "/token";
pub const KEYS: &str = "/keys";
pub const USERINFO: &str = "/userinfo";
pub const INTROSPECTION: &str = "/token/introspect";
pub const REVOCATION: &str = "/token/revoke";
/// RFC 9126: pushed authorization requests.
pub const PAR: &str = "/par";
/// Where redirect connectors send the user back (and SAML posts its response).
pub const CALLBACK: &str = "/callback";
pub const APPROVAL: &str = "/approval";
pub const LOGOUT: &str = "/logout";
/// Where the upstream provider sends the user back after its logout.
pub const LOGOUT_CALLBACK: &str = "/logout/callback";
/// RFC 8628 §3.1: the device authorization endpoint.
pub const DEVICE_CODE: &str = "/device/code";
/// RFC 8628 §3.2 `verification_uri`: where the user types the code.
pub const DEVICE: &str = "/device";
pub const DEVICE_VERIFY: &str = "/device/auth/verify_code";
/// Where the device flow's own login ends (Dex's redirect URI for device logins).
pub const DEVICE_CALLBACK: &str = "/device/callback";
