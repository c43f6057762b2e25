//! Statement text for each dialect, written once.
//!
//! A statement is written for SQLite and PostgreSQL, under three rules the compiler checks:
//! `$N` placeholders, each used once and numbered in the order they appear (so the binds
//! follow the text); identifiers that are reserved words in MySQL (`keys`, `key`) in double
//! quotes, as standard SQL quotes them; no `?`, backquote or string literal. [`sql!`] then
//! derives MySQL's text at compile time: `$N` becomes `?` (MySQL binds by position, which the
//! numbering makes the same order) and `"` becomes a backquote. A statement MySQL needs in
//! another shape (upserts, `ON CONFLICT`) gives that text as well:
//! `sql!(portable, mysql: "... ? ...")`, with as many `?` as the portable text has `$N`.
//!
//! So there is no per-query dialect branch: a call site writes `self.sql(sql!(".."))` and
//! gets the text for the pool it runs on, a `&'static str` computed by the compiler.

use super::connect::Dialect;

/// One statement: its SQLite/PostgreSQL text and its MySQL text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sql {
    portable: &'static str,
    mysql: &'static str,
}

impl Sql {
    /// A statement whose MySQL text (`mysql`, already with `?` placeholders) is derived
    /// mechanically from `portable`. Use [`sql!`].
    pub(super) const fn derived(portable: &'static str, mysql: &'static [u8]) -> Self {
        Self { portable, mysql: utf8(mysql) }
    }

    /// A statement MySQL writes differently. Use `sql!(portable, mysql: text)`.
    pub(super) const fn own_mysql(portable: &'static str, mysql: &'static str) -> Self {
        let placeholders = placeholders(portable);
        assert!(
            count_question_marks(mysql) == placeholders,
            "the MySQL text binds a different number of values"
        );
        Self { portable, mysql }
    }

    /// The text to run on `dialect`.
    pub(super) const fn text(self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Sqlite | Dialect::Postgres => self.portable,
            Dialect::Mysql => self.mysql,
        }
    }
}

/// A statement for every dialect; see the module documentation.
macro_rules! sql {
    ($portable:expr) => {{
        const PORTABLE: &str = $portable;
        const LEN: usize = $crate::storage::sql::statement::mysql_len(PORTABLE);
        const MYSQL: [u8; LEN] = $crate::storage::sql::statement::to_mysql::<LEN>(PORTABLE);
        const SQL: $crate::storage::sql::statement::Sql =
            $crate::storage::sql::statement::Sql::derived(PORTABLE, &MYSQL);
        SQL
    }};
    ($portable:expr, mysql: $mysql:expr) => {{
        const SQL: $crate::storage::sql::statement::Sql =
            $crate::storage::sql::statement::Sql::own_mysql($portable, $mysql);
        SQL
    }};
}
pub(super) use sql;

/// How many placeholders `portable` has, checking the rules of the module documentation.
/// Called only in constants: a broken rule fails the build.
const fn placeholders(portable: &str) -> usize {
    let mut rest = portable.as_bytes();
    let mut seen = 0;
    while let [byte, tail @ ..] = rest {
        assert!(!matches!(byte, b'?' | b'`' | b'\''), "write placeholders as $N, quote identifiers with \"");
        rest = tail;
        if *byte == b'$' {
            let (number, tail) = leading_number(rest);
            assert!(number == seen + 1, "placeholders must be $1, $2, ... each once, in order");
            seen = number;
            rest = tail;
        }
    }
    seen
}

/// The decimal number at the start of `bytes` (0 when there is none) and what follows it.
const fn leading_number(mut bytes: &[u8]) -> (usize, &[u8]) {
    let mut number = 0;
    while let [digit @ b'0'..=b'9', tail @ ..] = bytes {
        number = number * 10 + (*digit - b'0') as usize;
        bytes = tail;
    }
    (number, bytes)
}

const fn count_question_marks(text: &str) -> usize {
    let mut rest = text.as_bytes();
    let mut count = 0;
    while let [byte, tail @ ..] = rest {
        if *byte == b'?' {
            count += 1;
        }
        rest = tail;
    }
    count
}

/// The length of the MySQL text of `portable`: each `$N` is one `?`.
pub(super) const fn mysql_len(portable: &str) -> usize {
    let _ = placeholders(portable);
    let mut rest = portable.as_bytes();
    let mut len = 0;
    while let [byte, tail @ ..] = rest {
        len += 1;
        rest = tail;
        if *byte == b'$' {
            rest = leading_number(rest).1;
        }
    }
    len
}

/// The MySQL text of `portable`: `$N` → `?`, `"` → backquote. `N` is [`mysql_len`].
#[expect(
    clippy::indexing_slicing,
    reason = "evaluated in constants only, where an out-of-bounds index fails the build"
)]
pub(super) const fn to_mysql<const N: usize>(portable: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let mut rest = portable.as_bytes();
    let mut at = 0;
    while let [byte, tail @ ..] = rest {
        rest = tail;
        out[at] = match *byte {
            b'$' => {
                rest = leading_number(rest).1;
                b'?'
            }
            b'"' => b'`',
            other => other,
        };
        at += 1;
    }
    out
}

/// The rewrite only swaps ASCII bytes, so valid UTF-8 stays valid.
#[expect(clippy::panic, reason = "evaluated in constants only: a panic fails the build")]
const fn utf8(bytes: &'static [u8]) -> &'static str {
    match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => panic!("statement text is not UTF-8"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_text_is_derived() {
        let statement =
            sql!(r#"UPDATE "keys" SET version = version + 1, data = $1 WHERE id = $2 AND version = $3"#);
        assert_eq!(
            statement.text(Dialect::Postgres),
            r#"UPDATE "keys" SET version = version + 1, data = $1 WHERE id = $2 AND version = $3"#
        );
        assert_eq!(statement.text(Dialect::Sqlite), statement.text(Dialect::Postgres));
        assert_eq!(
            statement.text(Dialect::Mysql),
            "UPDATE `keys` SET version = version + 1, data = ? WHERE id = ? AND version = ?"
        );
    }

    #[test]
    fn two_digit_placeholders() {
        let statement = sql!("VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)");
        assert_eq!(statement.text(Dialect::Mysql), "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    }

    #[test]
    fn own_mysql_text_is_kept() {
        let statement = sql!(
            "INSERT INTO t (id, data) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            mysql: "INSERT INTO t (id, data) VALUES (?, ?) ON DUPLICATE KEY UPDATE data = VALUES(data)"
        );
        assert!(statement.text(Dialect::Sqlite).ends_with("excluded.data"));
        assert!(statement.text(Dialect::Mysql).ends_with("VALUES(data)"));
    }

    /// The rules are checked when a statement is built; out of a constant a broken one panics.
    #[test]
    fn broken_rules_are_refused() {
        for text in ["id = $2", "a = $1 AND b = $1", "a = $1 AND b = $3", "a = ?", "`keys`", "x = 'a'"] {
            assert!(std::panic::catch_unwind(|| placeholders(text)).is_err(), "{text}");
        }
        assert_eq!(placeholders("a = $1 AND b = $2"), 2);
        assert!(std::panic::catch_unwind(|| Sql::own_mysql("a = $1", "a = ? AND b = ?")).is_err());
    }
}
