//! What a command reads besides its flags: a password (never from the command line, where
//! `ps` and the shell history would show it), a ready bcrypt hash, a connector's config file.
//! Everything is read and checked before the server is contacted.

use super::exit::CliError;
use crate::types::Secret;
use std::io::{BufRead, IsTerminal};
use std::path::Path;

/// The bcrypt cost `passwords create` and `update` hash with (Dex's API takes 10 to 16).
pub const BCRYPT_COST: u32 = 12;

/// A password: from the terminal without echo (twice when `confirm`), else the first line of
/// standard input.
pub fn password(prompt: &str, confirm: bool) -> Result<Secret, CliError> {
    let password = if std::io::stdin().is_terminal() {
        let first = prompt_hidden(prompt)?;
        if confirm && prompt_hidden("Again: ")?.expose() != first.expose() {
            return Err(CliError::usage("the passwords differ"));
        }
        first
    } else {
        first_line("the password")?
    };
    if password.is_empty() {
        return Err(CliError::usage("the password is empty"));
    }
    Ok(password)
}

/// A ready bcrypt hash (`--hash`): the first line of standard input.
pub fn hash() -> Result<Secret, CliError> {
    let hash = if std::io::stdin().is_terminal() {
        prompt_hidden("bcrypt hash: ")?
    } else {
        first_line("the hash")?
    };
    let trimmed = hash.expose().trim();
    if trimmed.is_empty() {
        return Err(CliError::usage("the hash is empty"));
    }
    Ok(Secret::new(trimmed))
}

/// bcrypt of `password` at [`BCRYPT_COST`], computed off the async executor.
pub async fn bcrypt(password: Secret) -> Result<Secret, CliError> {
    let hashed = tokio::task::spawn_blocking(move || bcrypt::hash(password.expose(), BCRYPT_COST))
        .await
        .map_err(|e| CliError::failure(format!("hashing the password: {e}")))?
        .map_err(|e| CliError::failure(format!("hashing the password: {e}")))?;
    Ok(Secret::new(hashed))
}

fn prompt_hidden(prompt: &str) -> Result<Secret, CliError> {
    rpassword::prompt_password(prompt)
        .map(Secret::new)
        .map_err(|e| CliError::usage(format!("reading the password from the terminal: {e}")))
}

fn first_line(what: &str) -> Result<Secret, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::usage(format!("reading {what} from standard input: {e}")))?;
    let line = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line);
    Ok(Secret::new(line))
}

/// A connector's config from a JSON or YAML file (`-`: standard input), as the JSON bytes
/// Dex's API carries.
pub fn config_file(path: &Path) -> Result<Vec<u8>, CliError> {
    let shown = path.display();
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| CliError::usage(format!("reading the config from standard input: {e}")))?
    } else {
        std::fs::read_to_string(path).map_err(|e| CliError::usage(format!("--config-file {shown}: {e}")))?
    };
    let value = parse_config(&text).map_err(|e| CliError::usage(format!("--config-file {shown}: {e}")))?;
    serde_json::to_vec(&value).map_err(|e| CliError::usage(format!("--config-file {shown}: {e}")))
}

/// JSON or YAML text that holds a mapping.
fn parse_config(text: &str) -> Result<serde_json::Value, String> {
    let value = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => value,
        Err(json) => serde_norway::from_str::<serde_json::Value>(text).map_err(|yaml| {
            if text.trim_start().starts_with('{') {
                format!("not JSON: {json}")
            } else {
                format!("not YAML or JSON: {yaml}")
            }
        })?,
    };
    if value.is_object() { Ok(value) } else { Err("the config must be a mapping (an object)".to_string()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_are_json_or_yaml_mappings() {
        let json = parse_config(r#"{"host": "ldap:636", "insecureNoSSL": false}"#).unwrap();
        let yaml = parse_config("host: ldap:636\ninsecureNoSSL: false\n").unwrap();
        assert_eq!(json, yaml);
        assert_eq!(parse_config("{}\n").unwrap(), serde_json::json!({}));
        assert!(parse_config("- a\n- b\n").is_err());
        assert!(parse_config("{\"a\": ").unwrap_err().starts_with("not JSON"));
    }
}
