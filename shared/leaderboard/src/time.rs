//! Moments as the API shows them: Unix milliseconds (how the core counts time) as RFC 3339
//! strings with milliseconds, UTC.

use serde_json::Value;

/// A moment (Unix ms) as an RFC 3339 string with milliseconds, UTC (`null` past chrono's range,
/// about ±262,000 years).
pub fn iso(ms: i64) -> Value {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| Value::String(d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)))
        .unwrap_or(Value::Null)
}

/// [`iso`] as text (empty past chrono's range).
pub fn iso_text(ms: i64) -> String {
    match iso(ms) {
        Value::String(s) => s,
        _ => String::new(),
    }
}

/// The last moment the API both shows and reads back, 9999-12-31T23:59:59.999Z: [`parse`]
/// takes four-digit years only, where [`iso`] would show later ones with a sign.
pub const MAX_MS: i64 = 253_402_300_799_999;

/// A moment as the API takes it (RFC 3339 as chrono reads it: any offset, a lowercase `t`/`z`
/// or a space between date and time accepted, four-digit years) in Unix ms; `None` when `raw`
/// is not one.
pub fn parse(raw: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_moment_is_rfc3339_with_milliseconds_in_utc() {
        assert_eq!(iso(0), Value::from("1970-01-01T00:00:00.000Z"));
        assert_eq!(
            iso(1_764_000_000_123),
            Value::from("2025-11-24T16:00:00.123Z")
        );
        assert_eq!(iso(i64::MAX), Value::Null);
    }

    #[test]
    fn a_moment_is_read_back_from_rfc3339_with_any_offset() {
        assert_eq!(parse("2025-11-24T16:00:00.123Z"), Some(1_764_000_000_123));
        assert_eq!(
            parse("2025-11-24T17:00:00.123+01:00"),
            Some(1_764_000_000_123)
        );
        assert_eq!(parse("2025-11-24"), None);
        let last = iso(MAX_MS);
        assert_eq!(last, Value::from("9999-12-31T23:59:59.999Z"));
        assert_eq!(parse(last.as_str().unwrap()), Some(MAX_MS));
        assert_eq!(parse(iso(MAX_MS + 1).as_str().unwrap()), None);
        assert_eq!(parse("yesterday"), None);
    }
}
