//! Environment access for the config: `$VAR` expansion and feature flags.
//!
//! Dex runs `os.ExpandEnv` over every string inside `storage.config`, `signer.config` and
//! each `connectors[].config` before parsing them, unless `DEX_EXPAND_ENV` is false. We
//! mirror it byte for byte ([`expand`] follows Go's `os.Expand`), and also honour
//! `TESSERA_EXPAND_ENV`, which wins when both are set.
//!
//! The environment is passed in as a function so tests never touch the process
//! environment (setting variables is `unsafe` in edition 2024 and racy across tests).

use serde_json::Value;

/// Looks a variable up; `None` when it is not set.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, for [`super::load_str`] and [`super::load_file`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Reads a boolean feature flag: `TESSERA_<NAME>`, else `DEX_<NAME>`, else `default`.
///
/// Values parse like Go's `strconv.ParseBool` (`1`, `t`, `true`, `TRUE`, `0`, `f`, ...); an
/// unparsable value falls back to the default, as Dex's feature flags do.
pub fn flag(env: EnvLookup<'_>, name: &str, default: bool) -> bool {
    for prefix in ["TESSERA_", "DEX_"] {
        let key = format!("{prefix}{}", name.to_ascii_uppercase());
        match env(&key).as_deref() {
            None | Some("") => {}
            Some("1" | "t" | "T" | "true" | "TRUE" | "True") => return true,
            Some("0" | "f" | "F" | "false" | "FALSE" | "False") => return false,
            Some(_) => return default,
        }
    }
    default
}

/// Whether `$VAR` expansion is on (`EXPAND_ENV`, default true).
pub fn expand_enabled(env: EnvLookup<'_>) -> bool {
    flag(env, "EXPAND_ENV", true)
}

/// Expands `$NAME` and `${NAME}` like Go's `os.ExpandEnv`.
///
/// Unset variables become the empty string (their names are pushed onto `missing` so the
/// loader can warn). As in Go: `$` followed by nothing expandable stays as is, `${}` and an
/// unclosed `${` are dropped, and the shell specials (`$1`, `$$`, `$@`...) name one-character
/// variables.
#[expect(
    clippy::indexing_slicing,
    reason = "a byte scanner: every index is checked against the length first"
)]
pub fn expand(input: &str, env: EnvLookup<'_>, missing: &mut Vec<String>) -> String {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut copied_up_to = 0;
    let mut j = 0;
    while j < bytes.len() {
        if bytes[j] == b'$' && j + 1 < bytes.len() {
            out.push_str(&input[copied_up_to..j]);
            let (name, width) = shell_name(&input[j + 1..]);
            match name {
                None if width > 0 => {} // invalid syntax: Go eats it
                None => out.push('$'),  // "$" not followed by a name stays
                Some(name) => match env(name) {
                    Some(value) => out.push_str(&value),
                    None => missing.push(name.to_owned()),
                },
            }
            j += width;
            copied_up_to = j + 1;
        }
        j += 1;
    }
    out.push_str(&input[copied_up_to.min(input.len())..]);
    out
}

fn is_shell_special(b: u8) -> bool {
    matches!(b, b'*' | b'#' | b'$' | b'@' | b'!' | b'?' | b'-' | b'0'..=b'9')
}

fn is_name_byte(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphanumeric()
}

/// Go's `getShellName`: the variable name after a `$` and how many bytes it spans.
#[expect(
    clippy::indexing_slicing,
    reason = "a byte scanner: every index is checked against the length first"
)]
fn shell_name(s: &str) -> (Option<&str>, usize) {
    let bytes = s.as_bytes();
    if bytes.first() == Some(&b'{') {
        if bytes.len() > 2 && is_shell_special(bytes[1]) && bytes[2] == b'}' {
            return (Some(&s[1..2]), 3);
        }
        for (i, b) in bytes.iter().enumerate().skip(1) {
            if *b == b'}' {
                if i == 1 {
                    return (None, 2); // "${}"
                }
                return (Some(&s[1..i]), i + 1);
            }
        }
        return (None, 1); // "${" never closed
    }
    if bytes.first().copied().is_some_and(is_shell_special) {
        return (Some(&s[..1]), 1);
    }
    let len = bytes.iter().take_while(|b| is_name_byte(**b)).count();
    if len == 0 { (None, 0) } else { (Some(&s[..len]), len) }
}

/// Expands every string of a config object the way Dex's `expandEnvInMap` does: strings in
/// objects (recursively) and strings or objects directly inside arrays. Strings in arrays
/// nested in arrays are left alone, as Dex leaves them.
pub fn expand_in_object(
    object: &mut serde_json::Map<String, Value>,
    env: EnvLookup<'_>,
    missing: &mut Vec<String>,
) {
    for value in object.values_mut() {
        match value {
            Value::String(s) => *s = expand(s, env, missing),
            Value::Object(inner) => expand_in_object(inner, env, missing),
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::String(s) => *s = expand(s, env, missing),
                        Value::Object(inner) => expand_in_object(inner, env, missing),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use serde_json::json;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/home/dex".into()),
            "SECRET" => Some("s3cr$t".into()),
            "1" => Some("one".into()),
            "A_B" => Some("ab".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn x(s: &str) -> String {
        expand(s, &env, &mut Vec::new())
    }

    #[test]
    fn expands_like_go_os_expand() {
        assert_eq!(x("$HOME/.kube/config"), "/home/dex/.kube/config");
        assert_eq!(x("${HOME}x"), "/home/dexx");
        assert_eq!(x("pre-$A_B-post"), "pre-ab-post");
        assert_eq!(x("$SECRET"), "s3cr$t", "expanded values are not re-expanded");
        assert_eq!(x("$1x"), "onex", "digits are one-character special names");
        assert_eq!(x("${1}"), "one");
        assert_eq!(x("no dollars"), "no dollars");
        assert_eq!(x("trailing $"), "trailing $");
        assert_eq!(x("a $ b"), "a $ b", "a lone $ stays");
        assert_eq!(x("a${}b"), "ab", "Go eats ${{}}");
        assert_eq!(x("a${HOME"), "aHOME", "Go eats an unclosed ${{");
        assert_eq!(x("$EMPTY|"), "|");
        assert_eq!(x("$$"), "", "$$ names the variable '$'");
        assert_eq!(x("p@ss$UNSET!"), "p@ss!");
    }

    #[test]
    fn reports_unset_variables() {
        let mut missing = Vec::new();
        expand("$NOPE and ${ALSO_NOPE} and $HOME", &env, &mut missing);
        assert_eq!(missing, ["NOPE", "ALSO_NOPE"]);
    }

    #[test]
    fn expands_inside_objects_like_dex() {
        let mut value = json!({
            "clientSecret": "$SECRET",
            "port": 5432,
            "nested": {"home": "${HOME}"},
            "list": ["$HOME", {"k": "$HOME"}, ["$HOME"]],
        });
        let mut missing = Vec::new();
        if let Value::Object(map) = &mut value {
            expand_in_object(map, &env, &mut missing);
        }
        assert_eq!(
            value,
            json!({
                "clientSecret": "s3cr$t",
                "port": 5432,
                "nested": {"home": "/home/dex"},
                "list": ["/home/dex", {"k": "/home/dex"}, ["$HOME"]],
            })
        );
    }

    #[test]
    fn flags_follow_go_parse_bool_and_prefer_tessera() {
        let none = |_: &str| None;
        assert!(expand_enabled(&none));
        let dex_off = |n: &str| (n == "DEX_EXPAND_ENV").then(|| "false".to_owned());
        assert!(!expand_enabled(&dex_off));
        let both = |n: &str| match n {
            "DEX_EXPAND_ENV" => Some("false".to_owned()),
            "TESSERA_EXPAND_ENV" => Some("1".to_owned()),
            _ => None,
        };
        assert!(expand_enabled(&both));
        let garbage = |n: &str| (n == "DEX_EXPAND_ENV").then(|| "nope".to_owned());
        assert!(expand_enabled(&garbage), "unparsable falls back to the default");
    }
}
