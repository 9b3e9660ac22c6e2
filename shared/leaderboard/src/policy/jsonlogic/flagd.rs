//! flagd's own operators: `fractional` bucketing and `sem_ver` comparison.

use std::cmp::Ordering;

use serde_json::Value;

use super::Args;
use super::coerce::{js_truthy, to_js_string};

pub(super) fn fractional(args: Args, data: &Value) -> Value {
    let Args::List(list) = args else {
        return Value::Null;
    };
    if list.is_empty() {
        return Value::Null;
    }
    let Some(flagd) = data.get("$flagd").filter(|f| js_truthy(f)) else {
        return Value::Null;
    };
    let (key, buckets) = match &list[0] {
        Value::String(s) => (s.clone(), &list[1..]),
        _ => {
            let Some(tk) = data.get("targetingKey").filter(|t| js_truthy(t)) else {
                return Value::Null;
            };
            let flag_key = flagd
                .get("flagKey")
                .map_or("undefined".to_string(), to_js_string);
            (flag_key + &to_js_string(tk), &list[..])
        }
    };
    let mut entries = Vec::with_capacity(buckets.len());
    let mut total: u64 = 0;
    for b in buckets {
        let Value::Array(e) = b else {
            return Value::Null;
        };
        let variant = match e.first() {
            Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null)) => {
                v.clone()
            }
            _ => return Value::Null,
        };
        if e.len() > 2 {
            return Value::Null;
        }
        let weight = match e.get(1) {
            None => 1,
            Some(w) => match w.as_f64() {
                Some(f) if f.fract() == 0.0 => f.max(0.0).min(u64::MAX as f64) as u64,
                _ => return Value::Null,
            },
        };
        total = total.saturating_add(weight);
        entries.push((variant, weight));
    }
    if total > i32::MAX as u64 {
        return Value::Null;
    }
    let hash = murmur3::murmur3_32(&mut key.as_bytes(), 0).unwrap_or(0);
    let bucket = (u64::from(hash) * total) >> 32;
    let mut sum = 0;
    for (variant, weight) in entries {
        sum += weight;
        if sum > bucket {
            return variant;
        }
    }
    Value::Null
}

/// A version as flagd reads it: an optional `v`, then SemVer 2.0, or `1` / `1.2` (completed
/// with zeros).
fn version(v: &Value) -> Option<semver::Version> {
    let raw = to_js_string(v);
    let s = raw.strip_prefix(['v', 'V']).unwrap_or(&raw);
    let t = s.trim();
    let t = t.strip_prefix('v').unwrap_or(t);
    if let Ok(v) = semver::Version::parse(t) {
        return Some(v);
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 2
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let n = |i: usize| parts.get(i).map_or(Some(0), |p| p.parse::<u64>().ok());
    Some(semver::Version::new(n(0)?, n(1)?, 0))
}

pub(super) fn sem_ver(args: Args) -> Value {
    let Args::List(list) = args else {
        return Value::Null;
    };
    let [a, op, b] = list.as_slice() else {
        return Value::Null;
    };
    let (Some(a), Some(b)) = (version(a), version(b)) else {
        return Value::Null;
    };
    let ord = a.cmp_precedence(&b);
    Value::Bool(match to_js_string(op).as_str() {
        "=" => ord == Ordering::Equal,
        "!=" => ord != Ordering::Equal,
        "<" => ord == Ordering::Less,
        "<=" => ord != Ordering::Greater,
        ">=" => ord != Ordering::Less,
        ">" => ord == Ordering::Greater,
        "^" => a.major == b.major,
        "~" => a.major == b.major && a.minor == b.minor,
        _ => return Value::Null,
    })
}
