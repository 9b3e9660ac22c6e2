//! Scores: `i64` minor units, integer or fixed-scale decimal.
//!
//! A decimal board with `scale = 3` stores "12.345" as `12345`. Parsing is exact: JSON numbers are
//! read from their textual form (never through `f64` arithmetic) and strings are parsed digit by
//! digit. A value is accepted when it is *exactly* representable at the scale — "12.50" at scale 1
//! is 12.5 and accepted; "12.55" at scale 1 is rejected.
//!
//! serde_json (without `arbitrary_precision`) stores a non-integer JSON number as an `f64`; its
//! text (shortest round-trip form) equals what the client wrote whenever that had at most 15
//! significant digits. Such numbers with more significant digits are rejected with a hint to send
//! the score as a string, so no precision is ever silently lost.

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use crate::board::decimal::{Decimal, DecimalError};
use crate::error::{LeaderboardError, Result};

/// Largest scale a decimal board may use.
pub const MAX_SCALE: u8 = 6;

/// 2^53 − 1: the largest integer every JSON implementation represents exactly.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Largest magnitude (minor units) of a decimal score: 15 significant digits, so the JSON number
/// rendering via `f64` is always exact.
pub const MAX_DECIMAL_MINOR: i64 = 999_999_999_999_999;

/// 2^63 as an `f64`: a JSON number of at least this magnitude is beyond every 64-bit score.
const I64_RANGE_F64: f64 = 9_223_372_036_854_775_808.0;

/// Significant digits an `f64` carries exactly through decimal text (`DBL_DIG`).
const F64_EXACT_DIGITS: usize = 15;

/// How a board's scores are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScoreType {
    /// Whole numbers; minor unit = 1.
    #[default]
    Integer,
    /// Fixed-point decimals with `scale` (0..=6) fractional digits; minor unit = 10^-scale.
    Decimal {
        /// Number of fractional digits.
        scale: u8,
    },
}

impl ScoreType {
    /// Number of fractional digits (0 for integers).
    pub fn scale(self) -> u8 {
        match self {
            Self::Integer => 0,
            Self::Decimal { scale } => scale,
        }
    }

    /// Largest magnitude (minor units) a score of this type may have: [`MAX_SAFE_INTEGER`] for
    /// integers, [`MAX_DECIMAL_MINOR`] for decimals.
    pub fn max_magnitude(self) -> i64 {
        match self {
            Self::Integer => MAX_SAFE_INTEGER,
            Self::Decimal { .. } => MAX_DECIMAL_MINOR,
        }
    }

    fn scaled(self, text: &str, parsed: Decimal) -> Result<i64> {
        parsed
            .to_scaled(self.scale())
            .map_err(|e| self.describe(text, e))
    }

    fn describe(self, text: &str, err: DecimalError) -> LeaderboardError {
        LeaderboardError::InvalidScore(match (err, self) {
            (DecimalError::Syntax(why), _) => format!("{text:?} is not a number ({why})"),
            (DecimalError::TooManyFractionDigits(_), Self::Integer) => {
                format!("{text} is not an integer")
            }
            (DecimalError::TooManyFractionDigits(n), Self::Decimal { scale }) => format!(
                "{text} has {n} fractional digits but the board's scale allows at most {scale}"
            ),
            (DecimalError::Overflow, _) => {
                format!("{text} is too large to be stored as a 64-bit score")
            }
        })
    }

    /// Parses a decimal string such as `"12.345"` or `"-0.5"` (JSON number grammar; exponents are
    /// accepted when they resolve exactly) into minor units.
    pub fn parse_str(self, text: &str) -> Result<i64> {
        let parsed = Decimal::parse(text).map_err(|e| self.describe(text, e))?;
        self.scaled(text, parsed)
    }

    /// Parses a JSON number into minor units (see the module docs on precision).
    pub fn parse_number(self, number: &Number) -> Result<i64> {
        let text = number.to_string();
        if let Some(v) = number.as_i64() {
            return v
                .checked_mul(10_i64.pow(u32::from(self.scale())))
                .ok_or_else(|| self.describe(&text, DecimalError::Overflow));
        }
        if number.is_u64() {
            return Err(self.describe(&text, DecimalError::Overflow));
        }
        // serde_json keeps a number beyond 64 bits only as an `f64` (`99999999999999999999999`
        // becomes `1e+23`): echoing that form would show the client a number it never sent.
        if number.as_f64().is_some_and(|f| f.abs() >= I64_RANGE_F64) {
            return Err(self.describe("the number", DecimalError::Overflow));
        }
        let parsed = Decimal::parse(&text).map_err(|e| self.describe(&text, e))?;
        if parsed.significant_digits() > F64_EXACT_DIGITS {
            // The f64's text is not what the client sent (`1.2345678901234568e16`): not echoed.
            return Err(LeaderboardError::InvalidScore(format!(
                "the number has more than {F64_EXACT_DIGITS} significant digits and cannot be \
                 read exactly from a JSON number; send it as a string instead"
            )));
        }
        self.scaled(&text, parsed)
    }

    /// Parses a JSON number or a decimal string into minor units.
    pub fn parse_value(self, value: &Value) -> Result<i64> {
        match value {
            Value::Number(n) => self.parse_number(n),
            Value::String(s) => self.parse_str(s),
            other => Err(LeaderboardError::InvalidScore(format!(
                "expected a JSON number or a decimal string, got {}",
                json_kind(other)
            ))),
        }
    }

    /// Formats minor units with exactly `scale` fractional digits (`12345` → `"12.345"`).
    pub fn format(self, minor: i64) -> String {
        let scale = self.scale();
        if scale == 0 {
            return minor.to_string();
        }
        let divisor = 10_u64.pow(u32::from(scale));
        let abs = minor.unsigned_abs();
        let sign = if minor < 0 { "-" } else { "" };
        format!(
            "{sign}{}.{:0width$}",
            abs / divisor,
            abs % divisor,
            width = usize::from(scale)
        )
    }

    /// Renders minor units as a JSON value: an integer for integer boards (and scale 0), otherwise a
    /// JSON number whose shortest text is the exact decimal (exact while |value| has at most 15
    /// significant digits, which board validation guarantees); larger values fall back to the
    /// exact decimal string.
    pub fn to_json(self, minor: i64) -> Value {
        if self.scale() == 0 {
            return Value::from(minor);
        }
        let text = self.format(minor);
        if minor.unsigned_abs() <= MAX_DECIMAL_MINOR.unsigned_abs()
            && let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64)
        {
            return Value::Number(n);
        }
        Value::String(text)
    }
}

/// Name of a JSON value's kind, for messages.
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const D3: ScoreType = ScoreType::Decimal { scale: 3 };

    fn from_json(st: ScoreType, json: &str) -> Result<i64> {
        st.parse_value(&serde_json::from_str::<Value>(json).unwrap())
    }

    #[test]
    fn parses_json_numbers_exactly() {
        assert_eq!(from_json(D3, "12.345"), Ok(12345));
        assert_eq!(from_json(D3, "12"), Ok(12000));
        assert_eq!(from_json(D3, "-0.5"), Ok(-500));
        assert_eq!(from_json(D3, "0.1"), Ok(100));
        assert_eq!(from_json(D3, "1e2"), Ok(100_000));
        assert_eq!(from_json(D3, "2.5e-2"), Ok(25));
        assert_eq!(from_json(ScoreType::Integer, "42"), Ok(42));
        assert_eq!(from_json(ScoreType::Integer, "-42"), Ok(-42));
        assert_eq!(from_json(ScoreType::Integer, "1e3"), Ok(1000));
        assert_eq!(from_json(ScoreType::Integer, "42.0"), Ok(42));
        assert_eq!(
            from_json(ScoreType::Integer, "9007199254740993"),
            Ok(9_007_199_254_740_993)
        );
    }

    #[test]
    fn rejects_inexact_or_invalid() {
        let e = from_json(D3, "12.3456").unwrap_err();
        assert_eq!(
            e,
            LeaderboardError::InvalidScore(
                "12.3456 has 4 fractional digits but the board's scale allows at most 3".into()
            )
        );
        assert_eq!(
            from_json(ScoreType::Integer, "1.5"),
            Err(LeaderboardError::InvalidScore(
                "1.5 is not an integer".into()
            ))
        );
        assert!(from_json(ScoreType::Integer, "1e-1").is_err());
        assert!(from_json(ScoreType::Integer, "18446744073709551615").is_err());
        assert!(from_json(ScoreType::Integer, "1e300").is_err());
        // Beyond 64 bits serde_json keeps only an f64 (`1e+23`): the detail does not echo it.
        assert_eq!(
            from_json(ScoreType::Integer, "99999999999999999999999"),
            Err(LeaderboardError::InvalidScore(
                "the number is too large to be stored as a 64-bit score".into()
            ))
        );
        assert_eq!(
            D3.parse_str("99999999999999999999999"),
            Err(LeaderboardError::InvalidScore(
                "99999999999999999999999 is too large to be stored as a 64-bit score".into()
            ))
        );
        assert!(from_json(D3, "9223372036854776").is_err());
        assert_eq!(
            from_json(D3, "9223372036854775"),
            Ok(9_223_372_036_854_775_000)
        );
        let e = from_json(D3, "1234567890.1234567").unwrap_err();
        assert!(e.to_string().contains("send it as a string"), "{e}");
        assert_eq!(D3.parse_str("1234567890.123"), Ok(1_234_567_890_123));
        for v in [json!(true), json!(null), json!([1]), json!({"a": 1})] {
            assert!(
                D3.parse_value(&v)
                    .unwrap_err()
                    .to_string()
                    .contains("expected a JSON number")
            );
        }
        for s in ["NaN", "Infinity", "-inf", "", "1,5", "1.2.3", "+1"] {
            assert!(D3.parse_str(s).is_err(), "{s}");
        }
    }

    #[test]
    fn parses_strings() {
        assert_eq!(D3.parse_str("12.345"), Ok(12345));
        assert_eq!(D3.parse_str("-0.5"), Ok(-500));
        assert_eq!(D3.parse_str("12.340"), Ok(12340));
        assert_eq!(ScoreType::Decimal { scale: 0 }.parse_str("7"), Ok(7));
        assert_eq!(ScoreType::Decimal { scale: 6 }.parse_str("0.000001"), Ok(1));
    }

    #[test]
    fn formats() {
        assert_eq!(D3.format(12345), "12.345");
        assert_eq!(D3.format(-500), "-0.500");
        assert_eq!(D3.format(5), "0.005");
        assert_eq!(D3.format(0), "0.000");
        assert_eq!(D3.format(i64::MIN), "-9223372036854775.808");
        assert_eq!(ScoreType::Integer.format(-7), "-7");
        assert_eq!(D3.to_json(12345), json!(12.345));
        assert_eq!(D3.to_json(12345).to_string(), "12.345");
        assert_eq!(ScoreType::Integer.to_json(7), json!(7));
        assert_eq!(ScoreType::Decimal { scale: 0 }.to_json(7).to_string(), "7");
        assert_eq!(D3.to_json(i64::MAX), json!("9223372036854775.807"));
    }

    #[test]
    fn score_type_serde() {
        assert_eq!(
            serde_json::to_value(D3).unwrap(),
            json!({"kind": "decimal", "scale": 3})
        );
        assert_eq!(
            serde_json::to_value(ScoreType::Integer).unwrap(),
            json!({"kind": "integer"})
        );
    }

    proptest! {
        #[test]
        fn format_parse_round_trip(scale in 0u8..=MAX_SCALE, minor in any::<i64>()) {
            let st = ScoreType::Decimal { scale };
            prop_assert_eq!(st.parse_str(&st.format(minor)), Ok(minor));
        }

        #[test]
        fn json_round_trip_within_decimal_bounds(
            scale in 1u8..=MAX_SCALE,
            minor in -MAX_DECIMAL_MINOR..=MAX_DECIMAL_MINOR,
        ) {
            let st = ScoreType::Decimal { scale };
            let json = st.to_json(minor);
            prop_assert!(json.is_number());
            // Through text, as a client would send it back.
            let reparsed: Value = serde_json::from_str(&json.to_string()).unwrap();
            prop_assert_eq!(st.parse_value(&reparsed), Ok(minor));
        }

        #[test]
        fn integer_json_round_trip(v in -MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER) {
            let json = ScoreType::Integer.to_json(v);
            let reparsed: Value = serde_json::from_str(&json.to_string()).unwrap();
            prop_assert_eq!(ScoreType::Integer.parse_value(&reparsed), Ok(v));
        }

        #[test]
        fn extra_fraction_digit_rejected(scale in 0u8..MAX_SCALE, minor in -1_000_000i64..1_000_000, d in 1u8..=9) {
            let st = ScoreType::Decimal { scale };
            let mut text = st.format(minor);
            if scale == 0 { text.push('.'); }
            text.push(char::from(b'0' + d));
            prop_assert!(st.parse_str(&text).is_err());
        }

        #[test]
        fn garbage_never_panics(s in ".{0,40}") {
            let _ = D3.parse_str(&s);
            let _ = ScoreType::Integer.parse_str(&s);
        }
    }
}
