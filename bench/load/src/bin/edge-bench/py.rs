//! Python's number formatting, reproduced: the report used to be a Python script, and its text
//! keeps its forms (the results' ratios are now kept unrounded, and target lines show four places).
//!
//! - `f"{v:.Nf}"` is Rust's `{v:.N}`: both print the exact binary value correctly rounded, ties
//!   to even.
//! - `round(v, N)` is Python's correctly rounded decimal rounding: formatted with N decimals and
//!   parsed back (the same string Python makes), not `(v * 10^N).round() / 10^N`.
//! - `repr(float)` / `str(float)` is the shortest round-trip text with `.0` on whole numbers (Rust's
//!   `{:?}`), and Python's exponent form (`1e-05`, `1e+16`) outside 1e-4..1e16.

use serde_json::Value;

/// `f"{v:.{digits}f}"`, `-` for `None` (the report's `f`).
pub fn fixed(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(x) => format!("{x:.digits$}"),
        None => "-".to_string(),
    }
}

/// `round(x, digits)` of a float.
pub fn round(x: f64, digits: usize) -> f64 {
    format!("{x:.digits$}").parse().unwrap_or(x)
}

/// `round(x)` of a float: the nearest integer, ties to even.
pub fn round_int(x: f64) -> i64 {
    // Saturating cast: the values are event counts per second.
    x.round_ties_even() as i64
}

/// `repr(x)` of a float.
pub fn repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        let text = if x > 0.0 { "inf" } else { "-inf" };
        return text.to_string();
    }
    let a = x.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let sci = format!("{x:e}");
        if let Some((mantissa, exp)) = sci.split_once('e')
            && let Ok(exp) = exp.parse::<i32>()
        {
            let sign = if exp < 0 { '-' } else { '+' };
            return format!("{mantissa}e{sign}{:02}", exp.abs());
        }
        return sci;
    }
    format!("{x:?}")
}

/// `f"{x:g}"`: six significant digits, trailing zeros dropped, the exponent form outside 1e-4..1e6.
pub fn g(x: f64) -> String {
    if x == 0.0 {
        return "0".to_string();
    }
    if !x.is_finite() {
        return repr(x);
    }
    let sci = format!("{x:.5e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        let decimals = usize::try_from(5 - exp).unwrap_or(0);
        strip_zeros(&format!("{x:.decimals$}"))
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip_zeros(mantissa), exp.abs())
    }
}

fn strip_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// `f"{n:,}"` of an integer.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `str(v)` of a value `json.loads` made: `None`, `True`, ints as ints, floats as `repr`.
pub fn str_of(v: &Value) -> String {
    match v {
        Value::Null => "None".to_string(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Number(n) if n.is_f64() => n.as_f64().map_or_else(|| n.to_string(), repr),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Python's truthiness of a value `json.loads` made.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// `statistics.median_low`: the middle value, the lower of the two middle ones for an even count.
pub fn median_low(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len().checked_sub(1)? / 2).copied()
}

/// `json.dump`'s `ensure_ascii`: every non-ASCII character of the JSON text as `\uXXXX` (they
/// can only be inside strings, so this is safe on the whole text).
pub fn ascii_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch.is_ascii() {
            out.push(ch);
        } else {
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{:04x}", *unit));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_python_does() {
        assert_eq!(fixed(Some(0.125), 2), "0.12");
        assert_eq!(fixed(Some(2.5), 0), "2");
        assert_eq!(fixed(None, 3), "-");
        assert_eq!(round(0.835, 2), 0.83);
        assert_eq!(round(1.0 / 3.0, 2), 0.33);
        assert_eq!(round_int(2.5), 2);
        assert_eq!(repr(1.0), "1.0");
        assert_eq!(repr(0.83), "0.83");
        assert_eq!(repr(1e-5), "1e-05");
        assert_eq!(repr(1e16), "1e+16");
        assert_eq!(g(2.0), "2");
        assert_eq!(g(0.5), "0.5");
        assert_eq!(g(1_234_567.0), "1.23457e+06");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(str_of(&serde_json::json!(12.0)), "12.0");
        assert_eq!(str_of(&serde_json::json!(12)), "12");
        assert_eq!(str_of(&Value::Null), "None");
        assert_eq!(median_low(vec![3.0, 1.0, 2.0, 4.0]), Some(2.0));
        assert_eq!(median_low(Vec::new()), None);
        assert_eq!(ascii_json("a → b"), "a \\u2192 b");
    }
}
