//! Go duration strings (`time.ParseDuration`), the format Dex uses for every lifetime.
//!
//! Grammar: an optional sign, then either the lone literal `0` or one or more
//! `<decimal><unit>` pairs such as `1h30m`, `1.5h`, `300ms` or `.5s`. Units are `ns`,
//! `us` (also `µs` and `μs`), `ms`, `s`, `m` and `h`. The value must fit in Go's
//! `time.Duration` (an `i64` of nanoseconds, about 292 years).
//!
//! Unlike Go we refuse negative values: no lifetime in the config can be negative.

use std::fmt;
use std::time::Duration;

/// Largest value Go can represent: `i64::MAX` nanoseconds.
const MAX_NANOS: u128 = i64::MAX as u128;

/// Why a duration string was refused. `Display` says how to write a valid one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    input: String,
    reason: &'static str,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid duration {:?}: {}; write a Go duration such as \"30s\", \"10m\", \"1h30m\" \
             or \"1.5h\" (units: ns, us, ms, s, m, h)",
            self.input, self.reason
        )
    }
}

impl std::error::Error for DurationError {}

/// Parses a Go duration string into a [`Duration`].
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let fail = |reason| DurationError { input: input.to_owned(), reason };
    let mut rest = input;
    let mut negative = false;
    if let Some(stripped) = rest.strip_prefix('-') {
        negative = true;
        rest = stripped;
    } else if let Some(stripped) = rest.strip_prefix('+') {
        rest = stripped;
    }
    // Go special-cases a bare zero, which needs no unit.
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(fail("it is empty"));
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        // Integer part.
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_digits, after_int) = rest.split_at(int_len);
        // Fraction part.
        let (frac_digits, after_frac) = match after_int.strip_prefix('.') {
            Some(after_dot) => {
                let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
                after_dot.split_at(frac_len)
            }
            None => ("", after_int),
        };
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(fail("expected a number"));
        }
        // Unit: everything up to the next digit or dot.
        let unit_len = after_frac
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(after_frac.len(), |(i, _)| i);
        let (unit, after_unit) = after_frac.split_at(unit_len);
        if unit.is_empty() {
            return Err(fail("a number is missing its unit"));
        }
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "\u{00b5}s" | "\u{03bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            _ => return Err(fail("unknown unit")),
        };
        let int_value = parse_digits(int_digits).ok_or_else(|| fail("the value is too large"))?;
        let mut component =
            int_value.checked_mul(unit_nanos).ok_or_else(|| fail("the value is too large"))?;
        if !frac_digits.is_empty() {
            // Go scales the fraction in floating point; doing the same keeps results identical
            // (e.g. "0.3333333333333333333h" is exactly 20m in Go).
            let (numerator, scale) = leading_fraction(frac_digits);
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss,
                reason = "mirrors Go's uint64(float64(f) * (float64(unit) / scale))"
            )]
            let frac = (numerator as f64 * (unit_nanos as f64 / scale)) as u128;
            component += frac;
        }
        total = total
            .checked_add(component)
            .filter(|t| *t <= MAX_NANOS)
            .ok_or_else(|| fail("the value is too large (the maximum is about 292 years)"))?;
        rest = after_unit;
    }
    if negative && total != 0 {
        return Err(fail("it is negative"));
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| fail("the value is too large"))?;
    let nanos = u32::try_from(total % 1_000_000_000).map_err(|_| fail("the value is too large"))?;
    Ok(Duration::new(secs, nanos))
}

/// Go's `leadingFraction`: the fraction's digits as an integer and its scale, ignoring digits
/// once the integer would overflow.
fn leading_fraction(digits: &str) -> (u64, f64) {
    let mut x: u64 = 0;
    let mut scale = 1.0;
    let mut overflow = false;
    for b in digits.bytes() {
        if overflow {
            continue;
        }
        if x > (i64::MAX as u64) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + u64::from(b - b'0');
        if y > 1 << 63 {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale)
}

/// Parses a run of ASCII digits ("" is zero); `None` when it exceeds Go's range.
fn parse_digits(digits: &str) -> Option<u128> {
    digits.bytes().try_fold(0u128, |acc, b| {
        let next = acc.checked_mul(10)?.checked_add(u128::from(b - b'0'))?;
        (next <= MAX_NANOS).then_some(next)
    })
}

/// Formats a duration the way Go prints one (`1h30m0s`, `300ms`, `0s`), for messages and docs.
pub fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".to_owned();
    }
    let nanos = d.as_nanos();
    if nanos < 1_000_000_000 {
        return if nanos.is_multiple_of(1_000_000) {
            format!("{}ms", nanos / 1_000_000)
        } else if nanos.is_multiple_of(1_000) {
            format!("{}us", nanos / 1_000)
        } else {
            format!("{nanos}ns")
        };
    }
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let sub = d.subsec_nanos();
    let seconds = if sub == 0 {
        format!("{s}s")
    } else {
        let frac = format!("{sub:09}");
        format!("{s}.{}s", frac.trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => seconds,
        (0, m) => format!("{m}m{seconds}"),
        (h, m) => format!("{h}h{m}m{seconds}"),
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    fn ok(s: &str) -> Duration {
        parse_duration(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn accepts_go_syntax() {
        // Cases from Go's own time.ParseDuration tests.
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("+0"), Duration::ZERO);
        assert_eq!(ok("-0"), Duration::ZERO);
        assert_eq!(ok("5s"), Duration::from_secs(5));
        assert_eq!(ok("30s"), Duration::from_secs(30));
        assert_eq!(ok("1478s"), Duration::from_secs(1478));
        assert_eq!(ok("+5s"), Duration::from_secs(5));
        assert_eq!(ok("5.0s"), Duration::from_secs(5));
        assert_eq!(ok("5.6s"), Duration::from_millis(5600));
        assert_eq!(ok("5.s"), Duration::from_secs(5));
        assert_eq!(ok(".5s"), Duration::from_millis(500));
        assert_eq!(ok("1.0s"), Duration::from_secs(1));
        assert_eq!(ok("1.00s"), Duration::from_secs(1));
        assert_eq!(ok("1.004s"), Duration::from_millis(1004));
        assert_eq!(ok("1.0040s"), Duration::from_millis(1004));
        assert_eq!(ok("100.00100s"), Duration::from_micros(100_001_000));
        assert_eq!(ok("10ns"), Duration::from_nanos(10));
        assert_eq!(ok("11us"), Duration::from_micros(11));
        assert_eq!(ok("12µs"), Duration::from_micros(12));
        assert_eq!(ok("12μs"), Duration::from_micros(12));
        assert_eq!(ok("13ms"), Duration::from_millis(13));
        assert_eq!(ok("300ms"), Duration::from_millis(300));
        assert_eq!(ok("14s"), Duration::from_secs(14));
        assert_eq!(ok("15m"), Duration::from_secs(15 * 60));
        assert_eq!(ok("16h"), Duration::from_secs(16 * 3600));
        assert_eq!(ok("24h"), Duration::from_secs(86_400));
        assert_eq!(ok("3h30m"), Duration::from_secs(3 * 3600 + 30 * 60));
        assert_eq!(ok("10m30s"), Duration::from_secs(630));
        assert_eq!(ok("10.5s4m"), Duration::from_millis(4 * 60_000 + 10_500));
        assert_eq!(ok("1h2m3s4ms5us6ns"), Duration::from_nanos(3_723_004_005_006));
        assert_eq!(ok("39h9m14.425s"), Duration::from_millis(140_954_425));
        assert_eq!(ok("1.5h"), Duration::from_secs(5400));
        assert_eq!(ok("52763797000ns"), Duration::from_nanos(52_763_797_000));
        assert_eq!(ok("0.3333333333333333333h"), Duration::from_secs(1200));
        assert_eq!(ok("9223372036854775807ns"), Duration::from_nanos(9_223_372_036_854_775_807));
        assert_eq!(ok("9223372036s854ms775us807ns"), Duration::from_nanos(9_223_372_036_854_775_807));
        assert_eq!(ok("2160h"), Duration::from_secs(2160 * 3600));
    }

    #[test]
    fn refuses_what_go_refuses() {
        for bad in [
            "",
            "3",
            "-",
            "s",
            ".",
            "-.",
            ".s",
            "+.s",
            "1d",
            "1w",
            "5 s",
            "1h 30m",
            "1e3s",
            "1.2.3s",
            "x5s",
            "9223372036854775808ns",
            "9223372036854775.808us",
            "3000000h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn refuses_negative_values() {
        let err = parse_duration("-5s").unwrap_err();
        assert!(err.to_string().contains("negative"), "{err}");
    }

    #[test]
    fn errors_say_how_to_fix() {
        let err = parse_duration("1d").unwrap_err().to_string();
        assert!(err.contains("\"1d\""), "{err}");
        assert!(err.contains("unknown unit"), "{err}");
        assert!(err.contains("1h30m"), "{err}");
        let err = parse_duration("10").unwrap_err().to_string();
        assert!(err.contains("missing its unit"), "{err}");
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_millis(300)), "300ms");
        assert_eq!(format_duration(Duration::from_secs(3)), "3s");
        assert_eq!(format_duration(Duration::from_secs(600)), "10m0s");
        assert_eq!(format_duration(Duration::from_secs(6 * 3600)), "6h0m0s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(ok("1h2m3.5s")), "1h2m3.5s");
    }
}
