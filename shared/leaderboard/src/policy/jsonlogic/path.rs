//! Paths into the data: `var`'s dotted paths and `missing`.

use std::borrow::Cow;

use serde_json::Value;

use super::coerce::{js_truthy, to_js_string};

/// Splits a dotted path: `\.` is a dot inside a key, `\\` a backslash, `\/` a slash; the
/// empty path has no parts.
fn split_path(path: &str) -> Vec<String> {
    if path.is_empty() {
        return Vec::new();
    }
    let mut parts = vec![String::new()];
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        let cur = parts.last_mut();
        match (c, chars.peek()) {
            ('\\', Some(&next @ ('.' | '/' | '\\'))) => {
                chars.next();
                cur.into_iter().for_each(|p| p.push(next));
            }
            ('.', _) => parts.push(String::new()),
            (c, _) => cur.into_iter().for_each(|p| p.push(c)),
        }
    }
    parts
}

/// One step into a value as JavaScript indexes it: object keys, array and string indices and
/// their `length`.
fn step<'a>(v: &'a Value, key: &str) -> Option<Cow<'a, Value>> {
    match v {
        Value::Object(m) => m.get(key).map(Cow::Borrowed),
        Value::Array(a) if key == "length" => Some(Cow::Owned(Value::from(a.len()))),
        Value::Array(a) => index(key).and_then(|i| a.get(i)).map(Cow::Borrowed),
        Value::String(s) if key == "length" => {
            Some(Cow::Owned(Value::from(s.encode_utf16().count())))
        }
        Value::String(s) => index(key)
            .and_then(|i| s.chars().nth(i))
            .map(|c| Cow::Owned(Value::String(c.to_string()))),
        _ => None,
    }
}

fn index(key: &str) -> Option<usize> {
    let canonical =
        key == "0" || (!key.starts_with('0') && key.bytes().all(|b| b.is_ascii_digit()));
    canonical.then(|| key.parse().ok()).flatten()
}

pub(super) fn lookup<'a>(data: &'a Value, path: &str) -> Option<Cow<'a, Value>> {
    let mut cur = Cow::Borrowed(data);
    for part in split_path(path) {
        if cur.is_null() {
            return None;
        }
        cur = match cur {
            Cow::Borrowed(v) => step(v, &part)?,
            Cow::Owned(v) => Cow::Owned(step(&v, &part)?.into_owned()),
        };
    }
    Some(cur)
}

/// Whether the reference compiles these `missing` keys into property reads: one or two literal
/// keys without a dot. Those read the key as it is (so `""` is a key, absent from most data);
/// other keys are paths (and `""` the data itself).
pub(super) fn compiled_keys(keys: &[Value]) -> bool {
    (1..=2).contains(&keys.len())
        && keys
            .iter()
            .all(|k| k.as_str().is_some_and(|k| !k.contains('.')))
}

pub(super) fn missing(keys: &[Value], data: &Value, compiled: bool) -> Vec<Value> {
    keys.iter()
        .filter(|k| {
            if compiled {
                return !js_truthy(data) || step(data, k.as_str().unwrap_or_default()).is_none();
            }
            let mut cur = Cow::Borrowed(data);
            for part in split_path(&to_js_string(k)) {
                if !js_truthy(&cur) {
                    return true;
                }
                cur = match cur {
                    Cow::Borrowed(v) => match step(v, &part) {
                        Some(next) => next,
                        None => return true,
                    },
                    Cow::Owned(v) => match step(&v, &part) {
                        Some(next) => Cow::Owned(next.into_owned()),
                        None => return true,
                    },
                };
            }
            false
        })
        .cloned()
        .collect()
}
