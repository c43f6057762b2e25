//! What a command prints on standard output: for people, aligned columns or `field: value`
//! lines; for programs, the same data as JSON or YAML (`--output`), with stable field names.
//!
//! Values come from the server, so in the human formats control characters are escaped:
//! a name cannot move the cursor or recolour the terminal.

use super::exit::CliError;
use serde::Serialize;
use std::io::Write;

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns (lists) or `field: value` lines (one entry).
    #[default]
    Table,
    Json,
    Yaml,
}

/// How a result reads in the `table` format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Human {
    /// A header and one row per entry.
    Table { header: Vec<&'static str>, rows: Vec<Vec<String>> },
    /// One entry: `field: value` lines.
    Fields(Vec<(&'static str, String)>),
    /// A sentence, e.g. what a change did.
    Message(String),
}

/// Prints `value` in `format` (`human` is how the table format shows it).
pub fn emit<T: Serialize>(format: Format, value: &T, human: Human) -> Result<(), CliError> {
    let text = match format {
        Format::Table => render(&human),
        Format::Json => serde_json::to_string_pretty(value)
            .map(|json| json + "\n")
            .map_err(|e| CliError::failure(format!("writing JSON: {e}")))?,
        Format::Yaml => {
            serde_norway::to_string(value).map_err(|e| CliError::failure(format!("writing YAML: {e}")))?
        }
    };
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        // The reader went away (`| head`): nothing more to say to it.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::failure(format!("writing to standard output: {e}"))),
        Ok(()) => Ok(()),
    }
}

/// The table format's text.
pub fn render(human: &Human) -> String {
    match human {
        Human::Message(message) => format!("{}\n", clean(message)),
        Human::Fields(fields) => {
            let width = fields.iter().map(|(k, _)| k.chars().count() + 1).max().unwrap_or(0);
            fields.iter().map(|(k, v)| format!("{:<width$} {}\n", format!("{k}:"), clean(v))).collect()
        }
        Human::Table { header, rows } => {
            let header: Vec<String> = header.iter().map(ToString::to_string).collect();
            let rows: Vec<Vec<String>> =
                rows.iter().map(|row| row.iter().map(|cell| clean(cell)).collect()).collect();
            let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
            for row in &rows {
                for (width, cell) in widths.iter_mut().zip(row) {
                    *width = (*width).max(cell.chars().count());
                }
            }
            std::iter::once(&header).chain(&rows).map(|row| line(row, &widths)).collect()
        }
    }
}

/// One row: cells padded to their column's width, two spaces apart, the last not padded.
fn line(row: &[String], widths: &[usize]) -> String {
    let mut out = String::new();
    let last = row.len().saturating_sub(1);
    for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
        if i == last {
            out.push_str(cell);
        } else {
            out.push_str(&format!("{cell:<width$}  "));
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// A value as a cell: control characters escaped, an empty value as `-`.
fn clean(value: &str) -> String {
    if value.is_empty() {
        return "-".to_string();
    }
    value
        .chars()
        .map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() })
        .collect()
}

/// A list as one cell.
pub fn joined(values: &[String]) -> String {
    values.join(",")
}

/// Unix seconds as an RFC 3339 UTC time; 0 (unset) as empty.
pub fn time(unix: i64) -> String {
    if unix == 0 {
        return String::new();
    }
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned_and_the_last_is_not_padded() {
        let table = Human::Table {
            header: vec!["ID", "NAME", "PUBLIC"],
            rows: vec![
                vec!["example-app".into(), "Example".into(), "false".into()],
                vec!["x".into(), "".into(), "true".into()],
            ],
        };
        assert_eq!(
            render(&table),
            "ID           NAME     PUBLIC\nexample-app  Example  false\nx            -        true\n"
        );
    }

    #[test]
    fn fields_line_up_and_control_characters_are_escaped() {
        let fields = Human::Fields(vec![("id", "a".into()), ("secret", "s\u{1b}[2J".into())]);
        assert_eq!(render(&fields), "id:     a\nsecret: s\\u{1b}[2J\n");
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(time(0), "");
        assert_eq!(time(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
