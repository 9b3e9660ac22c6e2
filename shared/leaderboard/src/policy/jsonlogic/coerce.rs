//! JavaScript's coercions as the reference applies them: numbers, strings, truthiness,
//! equality and order, and arithmetic over them.

use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::{Args, Error, Op, Result, invalid};

/// A value as an arithmetic operand: arrays and objects are refused, the rest coerced.
fn operand(op: Op, v: &Value) -> Result<f64> {
    match v {
        Value::Array(_) | Value::Object(_) => Err(Error::NotANumber(op.name())),
        v => Ok(to_number(v)),
    }
}

pub(super) fn arithmetic(op: Op, args: Args) -> Result<Value> {
    let list = match (op, args) {
        (_, Args::List(l) | Args::One(Value::Array(l))) => l,
        (Op::Add | Op::Sub, Args::One(v)) => vec![v],
        (_, Args::One(_)) => return Err(invalid(op, "needs an array of numbers")),
    };
    let nums = list
        .iter()
        .map(|v| operand(op, v))
        .collect::<Result<Vec<f64>>>()?;
    let result = match (op, nums.as_slice()) {
        (Op::Add, ns) => ns.iter().sum(),
        (Op::Mul, ns) => ns.iter().product(),
        (Op::Sub, []) | (Op::Div, []) => return Err(invalid(op, "needs at least one number")),
        (Op::Sub, [n]) => -n,
        (Op::Sub, [first, rest @ ..]) => rest.iter().fold(*first, |a, b| a - b),
        (Op::Div, ns) => {
            let (first, rest) = match ns {
                [only] => (1.0, std::slice::from_ref(only)),
                [first, rest @ ..] => (*first, rest),
                [] => unreachable!("handled above"),
            };
            let mut r = first;
            for d in rest {
                if *d == 0.0 || d.is_nan() {
                    return Err(Error::NotANumber(op.name()));
                }
                r /= d;
            }
            r
        }
        (_, ns) if ns.len() < 2 => return Err(invalid(op, "needs at least two numbers")),
        (_, [first, rest @ ..]) => rest.iter().fold(*first, |a, b| a % b),
        _ => unreachable!("every shape is matched above"),
    };
    if result.is_nan() {
        return Err(Error::NotANumber(op.name()));
    }
    Ok(number(result))
}

pub(super) fn substr(list: Vec<Value>) -> Result<Value> {
    let mut it = list.into_iter();
    let Some(Value::String(s)) = it.next() else {
        return Err(invalid(Op::Substr, "the first argument is not a string"));
    };
    let from = it.next().unwrap_or(Value::Null);
    let len_arg = it.next();
    let chars: Vec<char> = s.chars().collect();
    let take = |from: &Value, len: Option<f64>, chars: &[char]| -> Vec<char> {
        let n = chars.len() as f64;
        let mut start = to_integer(to_number(from));
        if start < 0.0 {
            start = (n + start).max(0.0);
        }
        let start = start.min(n);
        let count = match len {
            None => n - start,
            Some(l) => to_integer(l).clamp(0.0, n - start),
        };
        chars[start as usize..(start + count) as usize].to_vec()
    };
    let out: Vec<char> = match &len_arg {
        Some(end) if less_than(end, &Value::from(0)) == Some(true) => {
            let rest = take(&from, None, &chars);
            let keep = (rest.len() as f64 + to_number(end)).max(0.0);
            rest[..keep as usize].to_vec()
        }
        Some(end) => take(&from, Some(to_number(end)), &chars),
        None => take(&from, None, &chars),
    };
    Ok(Value::String(out.into_iter().collect()))
}

fn to_integer(n: f64) -> f64 {
    if n.is_nan() { 0.0 } else { n.trunc() }
}

/// JsonLogic truthiness: JavaScript's, with an empty array false.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Array(a) => !a.is_empty(),
        v => js_truthy(v),
    }
}

/// JavaScript truthiness (every array and object is true).
pub(super) fn js_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// A number as JSON: integral values as integers, the rest as floats; infinities become `null`
/// (as `JSON.stringify` writes them).
pub(super) fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        return Value::from(f as i64);
    }
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// JavaScript's `ToNumber` of a JSON value.
pub(super) fn to_number(v: &Value) -> f64 {
    match v {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => string_to_number(s),
        Value::Array(_) => string_to_number(&to_js_string(v)),
        Value::Object(_) => f64::NAN,
    }
}

/// JavaScript's `StringToNumber`: decimal (with exponent), `0x`/`0o`/`0b` integers, `Infinity`;
/// blank is 0; anything else NaN.
pub(super) fn string_to_number(s: &str) -> f64 {
    let t = s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if t.is_empty() {
        return 0.0;
    }
    for (prefix, radix) in [
        ("0x", 16),
        ("0X", 16),
        ("0o", 8),
        ("0O", 8),
        ("0b", 2),
        ("0B", 2),
    ] {
        if let Some(digits) = t.strip_prefix(prefix) {
            return u128::from_str_radix(digits, radix).map_or(f64::NAN, |n| n as f64);
        }
    }
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    if unsigned == "Infinity" {
        return if t.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    let decimal = unsigned.bytes().any(|b| b.is_ascii_digit())
        && unsigned
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if decimal {
        t.parse().unwrap_or(f64::NAN)
    } else {
        f64::NAN
    }
}

/// JavaScript's `String(v)` of a JSON value.
pub fn to_js_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (_, Some(u)) => u.to_string(),
            _ => js_number(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                if x.is_null() {
                    String::new()
                } else {
                    to_js_string(x)
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".into(),
    }
}

/// JavaScript's `Number.prototype.toString()`.
fn js_number(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == 0.0 {
        return "0".into();
    }
    let a = f.abs();
    if (1e-6..1e21).contains(&a) {
        return format!("{f}");
    }
    let e = format!("{f:e}");
    match e.split_once('e') {
        Some((m, exp)) if !exp.starts_with('-') => format!("{m}e+{exp}"),
        _ => e,
    }
}

/// JavaScript's `==` between JSON values (distinct arrays and objects are never equal).
pub(super) fn loose_eq(a: &Value, b: &Value) -> bool {
    use Value::{Array, Bool, Null, Number as Num, Object, String as Str};
    match (a, b) {
        (Null, Null) => true,
        (Null, _) | (_, Null) => false,
        (Num(x), Num(y)) => x.as_f64() == y.as_f64(),
        (Str(x), Str(y)) => x == y,
        (Bool(x), Bool(y)) => x == y,
        (Bool(_), _) => loose_eq(&number(to_number(a)), b),
        (_, Bool(_)) => loose_eq(a, &number(to_number(b))),
        (Num(x), Str(_)) => x.as_f64() == Some(to_number(b)),
        (Str(_), Num(y)) => y.as_f64() == Some(to_number(a)),
        (Array(_) | Object(_), Array(_) | Object(_)) => false,
        (Array(_) | Object(_), _) => loose_eq(&Value::String(to_js_string(a)), b),
        (_, Array(_) | Object(_)) => loose_eq(a, &Value::String(to_js_string(b))),
    }
}

/// JavaScript's `===` between JSON values.
pub(super) fn strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        _ => false,
    }
}

/// JavaScript's abstract relational comparison `a < b`: `None` when a side is NaN.
pub(super) fn less_than(a: &Value, b: &Value) -> Option<bool> {
    let prim = |v: &Value| match v {
        Value::Array(_) | Value::Object(_) => Value::String(to_js_string(v)),
        v => v.clone(),
    };
    let (a, b) = (prim(a), prim(b));
    if let (Value::String(x), Value::String(y)) = (&a, &b) {
        return Some(x.encode_utf16().cmp(y.encode_utf16()) == Ordering::Less);
    }
    let (x, y) = (to_number(&a), to_number(&b));
    if x.is_nan() || y.is_nan() {
        None
    } else {
        Some(x < y)
    }
}
