//! Feature flags in the flagd flag-definition format, evaluated with flagd's semantics, with
//! OpenFeature-shaped results.
//!
//! A document is `{"flags": {<key>: {"state", "variants", "defaultVariant", "targeting"?,
//! "metadata"?}}, "$evaluators"?: {<name>: <JsonLogic>}, "metadata"?}`. [`FlagSet::parse`]
//! validates it the way flagd's schema does (state `ENABLED`/`DISABLED`; at least one variant,
//! all of one JSON type; `defaultVariant` one of them or `null`; `targeting` an object;
//! `{"$ref": "<evaluator>"}` replaced by that shared evaluator, an unknown one refused) and
//! compiles every targeting rule, so a stored document always evaluates.
//!
//! Evaluation ([`FlagSet::evaluate`]): the targeting rule runs as JsonLogic ([`crate::policy::jsonlogic`],
//! with flagd's operators: `fractional` — MurmurHash3 x86-32 bucketing, `(hash × total weight) >>
//! 32`, default bucket key `$flagd.flagKey + targetingKey` — `sem_ver`, `starts_with` and
//! `ends_with`) over the context with `$flagd.flagKey` and `$flagd.timestamp` (Unix seconds)
//! added. Its result names the variant: a string, or a boolean or number as its text (`true`,
//! `2`), as flagd does; `null` falls back to the default variant (`DEFAULT`); no targeting is
//! `STATIC`; a name that is not a variant is a `GENERAL` error. A disabled flag resolves with reason
//! `DISABLED` and neither value nor variant, so the caller's code default applies (flagd since
//! May 2026, open-feature/flagd#1966; OFREP answers it `200`). When the rule needs the targeting key (it reads
//! `targetingKey` or uses `fractional` without a bucket key) and the context has none, the result
//! is the default variant with `TARGETING_KEY_MISSING`. A `targetingKey` that is not a string is
//! `INVALID_CONTEXT`; an expected type the value does not have, `TYPE_MISMATCH`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{LeaderboardError, Result};

/// One validated flag.
#[derive(Debug, Clone)]
struct Flag {
    enabled: bool,
    variants: BTreeMap<String, Value>,
    default_variant: Option<String>,
    /// The targeting rule with `$ref`s resolved; `None` when absent or `{}`.
    targeting: Option<Value>,
    needs_targeting_key: bool,
    metadata: Map<String, Value>,
}

/// A validated flag document.
#[derive(Debug, Clone)]
pub struct FlagSet {
    flags: BTreeMap<String, Flag>,
    metadata: Map<String, Value>,
}

/// The document of a tenant without flags.
pub const EMPTY_DOCUMENT: &str = r#"{"flags":{}}"#;

/// A tenant's stored flag document as JSON (`None`: it has none, which reads as
/// [`EMPTY_DOCUMENT`]); `CorruptData` if what is stored is not JSON.
pub fn stored_document(raw: Option<&str>) -> Result<Value> {
    serde_json::from_str(raw.unwrap_or(EMPTY_DOCUMENT))
        .map_err(|e| LeaderboardError::CorruptData(format!("stored flag document: {e}")))
}

fn invalid(m: impl Into<String>) -> LeaderboardError {
    LeaderboardError::InvalidBody(format!("flag document: {}", m.into()))
}

/// Replaces every `{"$ref": name}` by the named evaluator (evaluators may use others; a cycle is
/// refused by depth).
fn resolve_refs(v: &Value, evaluators: &Map<String, Value>, depth: u32) -> Result<Value> {
    if depth > 32 {
        return Err(invalid("$ref nesting deeper than 32 (a cycle?)"));
    }
    Ok(match v {
        Value::Object(m) if m.len() == 1 && m.contains_key("$ref") => {
            let name = m["$ref"]
                .as_str()
                .ok_or_else(|| invalid("a $ref must name an evaluator (a string)"))?;
            let target = evaluators
                .get(name)
                .ok_or_else(|| invalid(format!("$ref to unknown evaluator '{name}'")))?;
            resolve_refs(target, evaluators, depth + 1)?
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| Ok((k.clone(), resolve_refs(v, evaluators, depth)?)))
                .collect::<Result<_>>()?,
        ),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|v| resolve_refs(v, evaluators, depth))
                .collect::<Result<_>>()?,
        ),
        other => other.clone(),
    })
}

/// Whether a rule reads the targeting key (`{"var": "targetingKey"}`) or buckets by it
/// (`fractional` whose first argument is a bucket, not a key).
fn needs_targeting_key(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(op, args)| {
            let reads = op == "var"
                && (args == "targetingKey"
                    || args.as_array().and_then(|a| a.first())
                        == Some(&Value::from("targetingKey")));
            let shorthand = op == "fractional"
                && args
                    .as_array()
                    .and_then(|a| a.first())
                    .is_some_and(Value::is_array);
            reads || shorthand || needs_targeting_key(args)
        }),
        Value::Array(a) => a.iter().any(needs_targeting_key),
        _ => false,
    }
}

/// Resolves to `variant` of `flag` (none: no value) for `reason`.
fn pick(out: &mut Resolution, flag: &Flag, variant: Option<&String>, reason: Reason) {
    out.variant = variant.cloned();
    out.value = variant.and_then(|v| flag.variants.get(v)).cloned();
    out.reason = reason;
}

impl FlagSet {
    /// The set of a tenant without flags.
    pub fn empty() -> Self {
        Self {
            flags: BTreeMap::new(),
            metadata: Map::new(),
        }
    }

    /// Parses and validates a flagd document.
    pub fn parse(doc: &Value) -> Result<Self> {
        let root = doc
            .as_object()
            .ok_or_else(|| invalid("must be a JSON object"))?;
        for k in root.keys() {
            if !matches!(k.as_str(), "flags" | "$evaluators" | "metadata" | "$schema") {
                return Err(invalid(format!("unknown top-level field '{k}'")));
            }
        }
        let evaluators = match root.get("$evaluators") {
            None => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(invalid("$evaluators must be an object")),
        };
        let metadata = match root.get("metadata") {
            None => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(invalid("metadata must be an object")),
        };
        let raw_flags = root
            .get("flags")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("'flags' (an object) is required"))?;
        let mut flags = BTreeMap::new();
        for (key, raw) in raw_flags {
            if key.is_empty() || key.len() > 128 {
                return Err(invalid(format!(
                    "flag key '{key}' must be 1..=128 characters"
                )));
            }
            let flag = Self::parse_flag(key, raw, &evaluators)?;
            flags.insert(key.clone(), flag);
        }
        Ok(Self { flags, metadata })
    }

    fn parse_flag(key: &str, raw: &Value, evaluators: &Map<String, Value>) -> Result<Flag> {
        let m = raw
            .as_object()
            .ok_or_else(|| invalid(format!("flag '{key}' must be an object")))?;
        for k in m.keys() {
            if !matches!(
                k.as_str(),
                "state" | "variants" | "defaultVariant" | "targeting" | "metadata"
            ) {
                return Err(invalid(format!("flag '{key}': unknown field '{k}'")));
            }
        }
        let enabled = match m.get("state").and_then(Value::as_str) {
            Some("ENABLED") => true,
            Some("DISABLED") => false,
            _ => {
                return Err(invalid(format!(
                    "flag '{key}': state must be \"ENABLED\" or \"DISABLED\""
                )));
            }
        };
        let variants: BTreeMap<String, Value> = m
            .get("variants")
            .and_then(Value::as_object)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| invalid(format!("flag '{key}': variants must be a non-empty object")))?
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut types = variants.values().map(ValueType::of);
        let first = types.next().flatten().ok_or_else(|| {
            invalid(format!(
                "flag '{key}': variant values must be booleans, strings, numbers or objects"
            ))
        })?;
        if types.any(|t| t != Some(first)) {
            return Err(invalid(format!(
                "flag '{key}': every variant must be a {} like the first",
                first.name()
            )));
        }
        let default_variant = match m.get("defaultVariant") {
            None | Some(Value::Null) => None,
            Some(Value::String(v)) if variants.contains_key(v) => Some(v.clone()),
            Some(other) => {
                return Err(invalid(format!(
                    "flag '{key}': defaultVariant {other} is not one of its variants"
                )));
            }
        };
        let targeting = match m.get("targeting") {
            None => None,
            Some(Value::Object(t)) if t.is_empty() => None,
            Some(t @ Value::Object(_)) => {
                let resolved = resolve_refs(t, evaluators, 0)?;
                crate::policy::jsonlogic::validate(&resolved).map_err(|e| {
                    invalid(format!("flag '{key}': targeting does not compile: {e}"))
                })?;
                Some(resolved)
            }
            Some(_) => {
                return Err(invalid(format!(
                    "flag '{key}': targeting must be an object"
                )));
            }
        };
        let metadata = match m.get("metadata") {
            None => Map::new(),
            Some(Value::Object(md)) => md.clone(),
            Some(_) => return Err(invalid(format!("flag '{key}': metadata must be an object"))),
        };
        Ok(Flag {
            enabled,
            variants,
            default_variant,
            needs_targeting_key: targeting.as_ref().is_some_and(needs_targeting_key),
            targeting,
            metadata,
        })
    }

    /// Flag keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.flags.keys().map(String::as_str)
    }

    /// Whether the document defines `key`.
    pub fn contains(&self, key: &str) -> bool {
        self.flags.contains_key(key)
    }

    /// Evaluates `key` for `context` (a JSON object) at `now_secs`; with `expected`, a value of
    /// another type is `TYPE_MISMATCH`.
    pub fn evaluate(
        &self,
        key: &str,
        context: &Map<String, Value>,
        now_secs: i64,
        expected: Option<ValueType>,
    ) -> Resolution {
        let mut out = Resolution {
            key: key.to_string(),
            value: None,
            variant: None,
            reason: Reason::Error,
            error: None,
            metadata: self.metadata.clone(),
        };
        let Some(flag) = self.flags.get(key) else {
            out.error = Some((ErrorCode::FlagNotFound, format!("flag '{key}' not found")));
            return out;
        };
        out.metadata.extend(flag.metadata.clone());
        if !flag.enabled {
            // A successful resolution without a value: the caller's code default applies.
            out.reason = Reason::Disabled;
            return out;
        }
        if context.get("targetingKey").is_some_and(|t| !t.is_string()) {
            pick(&mut out, flag, flag.default_variant.as_ref(), Reason::Error);
            out.error = Some((
                ErrorCode::InvalidContext,
                "targetingKey must be a string".into(),
            ));
            return out;
        }
        let Some(rule) = &flag.targeting else {
            pick(
                &mut out,
                flag,
                flag.default_variant.as_ref(),
                Reason::Static,
            );
            return Self::typed(out, expected);
        };
        if flag.needs_targeting_key && !context.contains_key("targetingKey") {
            pick(&mut out, flag, flag.default_variant.as_ref(), Reason::Error);
            out.error = Some((
                ErrorCode::TargetingKeyMissing,
                format!("flag '{key}' targets by targetingKey and the context has none"),
            ));
            return out;
        }
        let mut data = context.clone();
        data.insert(
            "$flagd".into(),
            serde_json::json!({"flagKey": key, "timestamp": now_secs}),
        );
        let result = crate::policy::jsonlogic::apply(rule, &Value::Object(data));
        Self::targeted(out, flag, key, result, expected)
    }

    /// The resolution a flag's targeting rule chose (`result`): a variant, the default (the
    /// rule chose nothing), or an error (the rule failed, or chose no variant).
    fn targeted(
        mut out: Resolution,
        flag: &Flag,
        key: &str,
        result: std::result::Result<Value, crate::policy::jsonlogic::Error>,
        expected: Option<ValueType>,
    ) -> Resolution {
        match result {
            Err(e) => {
                pick(&mut out, flag, flag.default_variant.as_ref(), Reason::Error);
                out.error = Some((ErrorCode::ParseError, format!("targeting of '{key}': {e}")));
                out
            }
            Ok(Value::Null) => {
                pick(
                    &mut out,
                    flag,
                    flag.default_variant.as_ref(),
                    Reason::Default,
                );
                Self::typed(out, expected)
            }
            Ok(chosen) => {
                let name = match &chosen {
                    Value::String(_) | Value::Bool(_) | Value::Number(_) => {
                        Some(crate::policy::jsonlogic::to_js_string(&chosen))
                    }
                    _ => None,
                };
                match name.filter(|n| flag.variants.contains_key(n)) {
                    Some(n) => {
                        pick(&mut out, flag, Some(&n), Reason::TargetingMatch);
                        Self::typed(out, expected)
                    }
                    None => {
                        pick(&mut out, flag, flag.default_variant.as_ref(), Reason::Error);
                        out.error = Some((
                            ErrorCode::General,
                            format!("targeting of '{key}' chose {chosen}, which is not a variant"),
                        ));
                        out
                    }
                }
            }
        }
    }

    fn typed(mut out: Resolution, expected: Option<ValueType>) -> Resolution {
        if let (Some(want), Some(v)) = (expected, &out.value)
            && ValueType::of(v) != Some(want)
        {
            out.error = Some((
                ErrorCode::TypeMismatch,
                format!("flag '{}' is not a {}", out.key, want.name()),
            ));
            out.reason = Reason::Error;
        }
        out
    }
}

/// What a flag is, read without the JsonLogic engine (so a component that only needs this does
/// not link it).
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// The document does not define the flag, or it is disabled: no effect.
    Undefined,
    /// Enabled without targeting: its default variant's value (`None` without one).
    Static(Option<Value>),
    /// Enabled with a targeting rule: it must be evaluated for the caller.
    Targeted,
}

/// Looks `key` up in a stored (already validated) document.
pub fn lookup(doc: &Value, key: &str) -> Lookup {
    let Some(flag) = doc.get("flags").and_then(|f| f.get(key)) else {
        return Lookup::Undefined;
    };
    if flag.get("state").and_then(Value::as_str) != Some("ENABLED") {
        return Lookup::Undefined;
    }
    match flag.get("targeting") {
        Some(Value::Object(t)) if !t.is_empty() => Lookup::Targeted,
        _ => Lookup::Static(
            flag.get("defaultVariant")
                .and_then(Value::as_str)
                .and_then(|v| flag.get("variants").and_then(|vs| vs.get(v)))
                .cloned(),
        ),
    }
}

/// The definition of `key` in a document, its `$ref`s resolved (`None` when it has no such
/// flag).
pub fn resolved_flag(doc: &Value, key: &str) -> Result<Option<Value>> {
    let Some(flag) = doc.get("flags").and_then(|f| f.get(key)) else {
        return Ok(None);
    };
    let evaluators = doc
        .get("$evaluators")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    resolve_refs(flag, &evaluators, 0).map(Some)
}

mod resolution;

pub use resolution::{ErrorCode, Reason, Resolution, ValueType};

#[cfg(test)]
mod tests;
