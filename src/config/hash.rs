//! Static password hashes: which formats are accepted and how they are normalised.
//!
//! Dex accepts a bcrypt string (`$2a$`, `$2b$`, `$2y$`) or, for backwards compatibility,
//! the standard base64 encoding of one. Tessera also accepts an argon2id PHC string
//! (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`). Whatever the input, the loader keeps
//! the plain hash string, so the password checker sees only two shapes.

use base64::Engine;

/// bcrypt's own base64 alphabet.
fn is_bcrypt_b64(b: u8) -> bool {
    b == b'.' || b == b'/' || b.is_ascii_alphanumeric()
}

/// Whether `s` is a well-formed bcrypt hash: `$2?$NN$` then 53 characters (salt + digest).
#[expect(clippy::indexing_slicing, reason = "the length is checked to be 60 first")]
fn is_bcrypt(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 60
        && (s.starts_with("$2a$") || s.starts_with("$2b$") || s.starts_with("$2y$"))
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && b[6] == b'$'
        && (4..=31).contains(&((b[4] - b'0') * 10 + (b[5] - b'0')))
        && b[7..].iter().copied().all(is_bcrypt_b64)
}

/// Whether `s` is a well-formed argon2id PHC string. The checker parses it fully later; this
/// catches paste errors at load time.
#[expect(clippy::indexing_slicing, reason = "parts are indexed after their count is checked")]
fn is_argon2id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("$argon2id$") else {
        return false;
    };
    let mut parts: Vec<&str> = rest.split('$').collect();
    if parts.first().is_some_and(|p| p.starts_with("v=")) {
        if parts[0] != "v=19" && parts[0] != "v=16" {
            return false;
        }
        parts.remove(0);
    }
    let [params, salt, hash] = parts.as_slice() else {
        return false;
    };
    let params_ok = params.split(',').all(|kv| {
        kv.split_once('=').is_some_and(|(k, v)| {
            matches!(k, "m" | "t" | "p") && !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())
        })
    }) && ["m=", "t=", "p="].iter().all(|k| params.split(',').any(|kv| kv.starts_with(k)));
    let b64 =
        |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    params_ok && b64(salt) && b64(hash)
}

/// Turns a configured hash into the plain string the password checker expects.
///
/// The error names the accepted formats; the caller adds the YAML path.
pub fn normalise_hash(input: &str) -> Result<String, String> {
    let trimmed = input.trim();
    if is_bcrypt(trimmed) || is_argon2id(trimmed) {
        return Ok(trimmed.to_owned());
    }
    if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(trimmed)
        && let Ok(text) = String::from_utf8(decoded)
        && is_bcrypt(text.trim())
    {
        return Ok(text.trim().to_owned());
    }
    let looks_like = if trimmed.starts_with("$2") {
        "it looks like bcrypt but is malformed (expected 60 characters: $2a$<cost 04-31>$<53 characters>)"
    } else if trimmed.starts_with("$argon2") {
        "it looks like argon2 but is not a valid argon2id PHC string ($argon2id$v=19$m=..,t=..,p=..$<salt>$<hash>)"
    } else {
        "it is neither bcrypt, base64 of bcrypt, nor argon2id"
    };
    Err(format!(
        "unrecognised password hash: {looks_like}; generate one with `tessera hash-password` or \
         `htpasswd -bnBC 10 \"\" <password> | tr -d ':\\n'`"
    ))
}

#[cfg(test)]
mod tests {

    use super::*;

    // A public test value: bcrypt of "password", from Dex's examples.
    const BCRYPT: &str = "$2a$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W";
    const ARGON: &str =
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$x6Fp4/1RbOyQ3mNgwLT0/hXBmR4Bvd5ml6g9qVKbkqk";

    #[test]
    fn accepts_bcrypt_variants() {
        assert_eq!(normalise_hash(BCRYPT).unwrap(), BCRYPT);
        for prefix in ["$2b$", "$2y$"] {
            let h = format!("{prefix}{}", &BCRYPT[4..]);
            assert_eq!(normalise_hash(&h).unwrap(), h);
        }
    }

    #[test]
    fn decodes_base64_bcrypt_like_dex() {
        let encoded = base64::engine::general_purpose::STANDARD.encode(BCRYPT);
        assert_eq!(normalise_hash(&encoded).unwrap(), BCRYPT);
    }

    #[test]
    fn accepts_argon2id_phc() {
        assert_eq!(normalise_hash(ARGON).unwrap(), ARGON);
        let no_version = ARGON.replace("v=19$", "");
        assert_eq!(normalise_hash(&no_version).unwrap(), no_version);
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "password",
            "$2a$10$short",
            "$2a$99$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W",
            "$2x$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W",
            "$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaA",
            "$argon2id$v=19$m=19456,t=2$c29tZXNhbHQ$aGFzaA",
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ",
            "cGFzc3dvcmQ=",
        ] {
            let err = normalise_hash(bad).unwrap_err();
            assert!(err.contains("hash-password"), "{bad:?}: {err}");
        }
    }
}
