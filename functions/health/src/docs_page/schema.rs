//! The parts of `/docs` read from JSON Schema: a schema's type and limits for people, and the
//! table of an object's fields (nested ones as `a.b` and `a[].b`).

use serde_json::Value;

use super::{MAX_FIELD_DEPTH, esc, inline};

/// Follows local `$ref`s (`#/components/...`); an unknown one stays as it is.
pub(super) fn deref<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..8 {
        match v["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
            Some(pointer) => match doc.pointer(pointer) {
                Some(target) => v = target,
                None => return v,
            },
            None => return v,
        }
    }
    v
}

/// A schema's type for people: `integer`, `string | null`, `array of Entry`, `"desc" | "asc"`.
pub(super) fn type_of(doc: &Value, schema: &Value) -> String {
    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
        let target = deref(doc, schema);
        // A named object shows its name; anything else (an array, a union) its own type.
        let named_object = target["type"] == "object"
            || (target.get("type").is_none()
                && (target.get("properties").is_some() || target.get("allOf").is_some()));
        return if named_object {
            esc(name)
        } else {
            type_of(doc, target)
        };
    }
    if let Some(values) = schema["enum"].as_array() {
        return values
            .iter()
            .map(|v| format!("<code>{}</code>", esc(&v.to_string())))
            .collect::<Vec<_>>()
            .join(" | ");
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(parts) = schema[key].as_array() {
            return parts
                .iter()
                .map(|p| type_of(doc, p))
                .collect::<Vec<_>>()
                .join(" | ");
        }
    }
    let one = |t: &str| match t {
        "array" => format!("array of {}", type_of(doc, &schema["items"])),
        other => esc(other),
    };
    let mut t = match &schema["type"] {
        Value::String(t) => one(t),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(one)
            .collect::<Vec<_>>()
            .join(" | "),
        _ if schema.get("allOf").is_some() || schema.get("properties").is_some() => {
            "object".to_string()
        }
        _ => "any".to_string(),
    };
    if let Some(f) = schema["format"].as_str() {
        t.push_str(&format!(" ({})", esc(f)));
    }
    t
}

/// A schema's limits and default for people: `1..=128 characters`, `≤ 100`, `default 3`.
pub(super) fn limits_of(schema: &Value) -> String {
    let mut parts = Vec::new();
    let n = |k: &str| schema[k].as_number().map(ToString::to_string);
    match (n("exclusiveMinimum"), n("exclusiveMaximum")) {
        (Some(lo), Some(hi)) => parts.push(format!("more than {lo}, less than {hi}")),
        (Some(lo), None) => parts.push(format!("more than {lo}")),
        (None, Some(hi)) => parts.push(format!("less than {hi}")),
        (None, None) => {}
    }
    for (low, high, unit, at_least, at_most) in [
        ("minimum", "maximum", "", "≥", "≤"),
        (
            "minLength",
            "maxLength",
            " characters",
            "at least",
            "at most",
        ),
        ("minItems", "maxItems", " items", "at least", "at most"),
    ] {
        match (n(low), n(high)) {
            (Some(lo), Some(hi)) => parts.push(format!("{lo}..={hi}{unit}")),
            (Some(lo), None) => parts.push(format!("{at_least} {lo}{unit}")),
            (None, Some(hi)) => parts.push(format!("{at_most} {hi}{unit}")),
            (None, None) => {}
        }
    }
    if let Some(p) = schema["pattern"].as_str() {
        parts.push(format!("pattern <code>{}</code>", esc(p)));
    }
    if let Some(d) = schema.get("default") {
        parts.push(format!("default <code>{}</code>", esc(&d.to_string())));
    }
    parts.join("; ")
}

/// The properties of an object schema (with `allOf` parts merged) and which are required.
fn properties<'a>(doc: &'a Value, schema: &'a Value) -> (Vec<(&'a str, &'a Value)>, Vec<&'a str>) {
    let schema = deref(doc, schema);
    let mut props = Vec::new();
    let mut required = Vec::new();
    let parts: Vec<&Value> = match schema["allOf"].as_array() {
        Some(all) => all.iter().map(|p| deref(doc, p)).collect(),
        None => vec![schema],
    };
    for part in parts {
        if let Some(map) = part["properties"].as_object() {
            props.extend(map.iter().map(|(k, v)| (k.as_str(), v)));
        }
        if let Some(r) = part["required"].as_array() {
            required.extend(r.iter().filter_map(Value::as_str));
        }
    }
    // Required fields first, each group in the document's (alphabetical) order.
    props.sort_by_key(|(name, _)| !required.contains(name));
    (props, required)
}

/// One row per field of an object schema, nested fields as `a.b` and `a[].b`.
fn field_rows(
    doc: &Value,
    schema: &Value,
    prefix: &str,
    depth: usize,
    class: &str,
    out: &mut String,
) {
    let (props, required) = properties(doc, schema);
    for (name, sub) in props {
        let path = format!("{prefix}{name}");
        let resolved = deref(doc, sub);
        out.push_str(&format!("<tr><td class=\"{class}\"><code>{}</code>{}</td><td>{}</td><td class=\"lim\">{}</td><td>{}</td></tr>",
            esc(&path),
            if required.contains(&name) {
                " <span class=\"req\">required</span>"
            } else {
                ""
            },
            type_of(doc, sub),
            limits_of(resolved),
            // A `$ref`'s sibling description wins over the target's (OpenAPI 3.1).
            sub["description"]
                .as_str()
                .or(resolved["description"].as_str())
                .map(inline)
                .unwrap_or_default(),
        ));
        if depth < MAX_FIELD_DEPTH {
            let items = deref(doc, &resolved["items"]);
            if !properties(doc, resolved).0.is_empty() {
                field_rows(doc, resolved, &format!("{path}."), depth + 1, class, out);
            } else if !properties(doc, items).0.is_empty() {
                field_rows(doc, items, &format!("{path}[]."), depth + 1, class, out);
            }
        }
    }
}

/// The fields table of a schema, or nothing when it has no fields; `class` is the field-name
/// cells' (`bf` for a request body's fields, `f` for others).
pub(super) fn fields_table(doc: &Value, schema: &Value, class: &str) -> String {
    let mut rows = String::new();
    field_rows(doc, schema, "", 0, class, &mut rows);
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "<table><tr><th>field</th><th>type</th><th>limits</th><th>description</th></tr>{rows}</table>"
    )
}
