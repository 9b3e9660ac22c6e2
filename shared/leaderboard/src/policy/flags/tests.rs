#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use super::*;

fn doc() -> Value {
    json!({
        "$evaluators": {
            "is-staff": {"ends_with": [{"var": "email"}, "@faas.com"]}
        },
        "flags": {
            "static-flag": {"state": "ENABLED", "variants": {"on": true, "off": false},
                "defaultVariant": "on"},
            "staff-flag": {"state": "ENABLED", "variants": {"staff": "hi", "other": "bye"},
                "defaultVariant": "other",
                "targeting": {"if": [{"$ref": "is-staff"}, "staff", null]}},
            "fractional-flag": {"state": "ENABLED",
                "variants": {"clubs": "clubs", "diamonds": "diamonds", "hearts": "hearts",
                    "spades": "spades", "wild": "wild"},
                "defaultVariant": "wild",
                "targeting": {"fractional": [
                    {"cat": [{"var": "$flagd.flagKey"}, {"var": "user.name"}]},
                    ["clubs", 25], ["diamonds", 25], ["hearts", 25], ["spades", 25]]}},
            "shorthand": {"state": "ENABLED", "variants": {"lower": "lower", "upper": "upper"},
                "defaultVariant": "lower",
                "targeting": {"fractional": [["lower", 50], ["upper", 50]]}},
            "by-key": {"state": "ENABLED", "variants": {"lower": "lower", "upper": "upper"},
                "defaultVariant": "lower",
                "targeting": {"fractional": [{"var": "targetingKey"}, ["lower", 50], ["upper", 50]]}},
            "split": {"state": "ENABLED", "variants": {"a": "a", "b": "b", "c": "c"},
                "defaultVariant": "a",
                "targeting": {"fractional": [["a", 50], ["b", 30], ["c", 20]]}},
            "version-flag": {"state": "ENABLED",
                "variants": {"equal": "equal", "greater": "greater", "lesser": "lesser", "none": "none"},
                "defaultVariant": "none",
                "targeting": {"if": [{"sem_ver": [{"var": "version"}, "=", "2.0.0"]}, "equal",
                    {"if": [{"sem_ver": [{"var": "version"}, ">", "2.0.0"]}, "greater",
                    {"if": [{"sem_ver": [{"var": "version"}, "<", "2.0.0"]}, "lesser", "none"]}]}]}},
            "major-minor": {"state": "ENABLED",
                "variants": {"minor": "minor", "major": "major", "none": "none"},
                "defaultVariant": "none",
                "targeting": {"if": [{"sem_ver": [{"var": "version"}, "~", "3.0.0"]}, "minor",
                    {"if": [{"sem_ver": [{"var": "version"}, "^", "3.0.0"]}, "major", "none"]}]}},
            "starts-ends": {"state": "ENABLED",
                "variants": {"prefix": "prefix", "postfix": "postfix", "none": "none", "fail": "fail"},
                "defaultVariant": "none",
                "targeting": {"if": [{"starts_with": [{"var": "id"}, "abc"]}, "prefix",
                    {"if": [{"ends_with": [{"var": "id"}, "xyz"]}, "postfix",
                    {"if": [{"ends_with": [{"var": "id"}, 3]}, "fail", "none"]}]}]}},
            "disabled-flag": {"state": "DISABLED", "variants": {"on": true, "off": false},
                "defaultVariant": "off"},
            "bad-variant": {"state": "ENABLED", "variants": {"one": 1, "two": 2},
                "defaultVariant": "one", "targeting": {"if": [true, "three", "two"]}},
            "timestamp-flag": {"state": "ENABLED", "variants": {"past": -1, "future": 1},
                "defaultVariant": "past",
                "targeting": {"if": [{">": [{"var": "$flagd.timestamp"}, {"var": "time"}]}, "past", "future"]}},
            "bool-result": {"state": "ENABLED", "variants": {"true": "yes", "false": "no"},
                "defaultVariant": "false",
                "targeting": {"==": [{"var": "tier"}, "gold"]}}
        }
    })
}

fn eval(key: &str, context: Value, expected: Option<ValueType>) -> Resolution {
    let set = FlagSet::parse(&doc()).unwrap();
    set.evaluate(key, context.as_object().unwrap(), 1_795_000_000, expected)
}

fn variant(key: &str, context: Value) -> String {
    eval(key, context, None).variant.unwrap_or_default()
}

/// The case table: value, variant, reason and error code of every kind of outcome.
#[test]
fn the_case_table() {
    type Case = (
        &'static str,
        Value,
        Option<ValueType>,
        Option<Value>,
        Option<&'static str>,
        Reason,
        Option<ErrorCode>,
    );
    let cases: Vec<Case> = vec![
        (
            "static-flag",
            json!({}),
            Some(ValueType::Boolean),
            Some(json!(true)),
            Some("on"),
            Reason::Static,
            None,
        ),
        (
            "staff-flag",
            json!({"email": "ross@faas.com"}),
            None,
            Some(json!("hi")),
            Some("staff"),
            Reason::TargetingMatch,
            None,
        ),
        (
            "staff-flag",
            json!({"email": "ballmer@macrosoft.com"}),
            None,
            Some(json!("bye")),
            Some("other"),
            Reason::Default,
            None,
        ),
        (
            "fractional-flag",
            json!({"user": {"name": "jack"}}),
            None,
            Some(json!("hearts")),
            Some("hearts"),
            Reason::TargetingMatch,
            None,
        ),
        (
            "by-key",
            json!({"targetingKey": "6LvT0"}),
            None,
            Some(json!("upper")),
            Some("upper"),
            Reason::TargetingMatch,
            None,
        ),
        (
            "version-flag",
            json!({"version": "2.1.0"}),
            None,
            Some(json!("greater")),
            Some("greater"),
            Reason::TargetingMatch,
            None,
        ),
        (
            "starts-ends",
            json!({"id": "abcdef"}),
            None,
            Some(json!("prefix")),
            Some("prefix"),
            Reason::TargetingMatch,
            None,
        ),
        (
            "disabled-flag",
            json!({}),
            None,
            None,
            None,
            Reason::Disabled,
            None,
        ),
        (
            "missing-flag",
            json!({}),
            None,
            None,
            None,
            Reason::Error,
            Some(ErrorCode::FlagNotFound),
        ),
        (
            "static-flag",
            json!({}),
            Some(ValueType::String),
            Some(json!(true)),
            Some("on"),
            Reason::Error,
            Some(ErrorCode::TypeMismatch),
        ),
        (
            "shorthand",
            json!({}),
            None,
            Some(json!("lower")),
            Some("lower"),
            Reason::Error,
            Some(ErrorCode::TargetingKeyMissing),
        ),
        (
            "by-key",
            json!({}),
            None,
            Some(json!("lower")),
            Some("lower"),
            Reason::Error,
            Some(ErrorCode::TargetingKeyMissing),
        ),
        (
            "static-flag",
            json!({"targetingKey": 7}),
            None,
            Some(json!(true)),
            Some("on"),
            Reason::Error,
            Some(ErrorCode::InvalidContext),
        ),
        (
            "bad-variant",
            json!({}),
            None,
            Some(json!(1)),
            Some("one"),
            Reason::Error,
            Some(ErrorCode::General),
        ),
        (
            "bool-result",
            json!({"tier": "gold"}),
            None,
            Some(json!("yes")),
            Some("true"),
            Reason::TargetingMatch,
            None,
        ),
        (
            "timestamp-flag",
            json!({"time": 1}),
            None,
            Some(json!(-1)),
            Some("past"),
            Reason::TargetingMatch,
            None,
        ),
        (
            "timestamp-flag",
            json!({"time": 4_133_980_802i64}),
            None,
            Some(json!(1)),
            Some("future"),
            Reason::TargetingMatch,
            None,
        ),
    ];
    for (key, ctx, expected, value, var, reason, error) in cases {
        let r = eval(key, ctx.clone(), expected);
        assert_eq!(r.value, value, "{key} {ctx}");
        assert_eq!(r.variant.as_deref(), var, "{key} {ctx}");
        assert_eq!(r.reason, reason, "{key} {ctx}");
        assert_eq!(
            r.error.as_ref().map(|e| e.0),
            error,
            "{key} {ctx}: {:?}",
            r.error
        );
    }
}

/// The buckets flagd assigns (open-feature/flagd-testbed, fractional v2 vectors).
#[test]
fn fractional_matches_flagds_buckets() {
    for (name, want) in [
        ("jack", "hearts"),
        ("queen", "spades"),
        ("ten", "clubs"),
        ("nine", "diamonds"),
        ("3", "clubs"),
    ] {
        assert_eq!(
            variant("fractional-flag", json!({"user": {"name": name}})),
            want,
            "{name}"
        );
    }
    // Keys whose MurmurHash3 is 0, 1, i32::MAX, 2^31 and u32::MAX: the bucket boundaries.
    for (key, want) in [
        ("ejOoVL", "lower"),
        ("bY9fO-", "lower"),
        ("SI7p-", "lower"),
        ("6LvT0", "upper"),
        ("ceQdGm", "upper"),
    ] {
        assert_eq!(
            variant("by-key", json!({"targetingKey": key})),
            want,
            "{key}"
        );
    }
}

#[test]
fn fractional_distribution_is_within_two_percent_of_the_weights() {
    let set = FlagSet::parse(&doc()).unwrap();
    let mut counts = std::collections::BTreeMap::<String, u32>::new();
    for i in 0..10_000 {
        let ctx = json!({"targetingKey": format!("player-{i}")});
        let r = set.evaluate("split", ctx.as_object().unwrap(), 0, None);
        *counts.entry(r.variant.unwrap()).or_default() += 1;
    }
    for (v, weight) in [("a", 50.0), ("b", 30.0), ("c", 20.0)] {
        let share = f64::from(counts[v]) / 100.0;
        assert!(
            (share - weight).abs() <= 2.0,
            "{v}: {share}% for weight {weight}% ({counts:?})"
        );
    }
}

#[test]
fn sem_ver_and_affixes_follow_flagd() {
    for (v, want) in [
        ("2.0.0", "equal"),
        ("2.1.0", "greater"),
        ("1.9.0", "lesser"),
        ("2.0.0-alpha", "lesser"),
    ] {
        assert_eq!(variant("version-flag", json!({"version": v})), want, "{v}");
    }
    for (v, want) in [("3.0.1", "minor"), ("3.1.0", "major"), ("4.0.0", "none")] {
        assert_eq!(variant("major-minor", json!({"version": v})), want, "{v}");
    }
    for (id, want) in [
        ("abcdef", "prefix"),
        ("uvwxyz", "postfix"),
        ("abcxyz", "prefix"),
        ("lmnopq", "none"),
        ("3", "none"),
    ] {
        assert_eq!(variant("starts-ends", json!({"id": id})), want, "{id}");
    }
}

#[test]
fn invalid_documents_are_refused_with_the_reason() {
    for (d, needle) in [
        (json!([]), "must be a JSON object"),
        (json!({}), "'flags'"),
        (
            json!({"flags": {}, "extra": 1}),
            "unknown top-level field 'extra'",
        ),
        (
            json!({"flags": {"f": {"state": "ON", "variants": {"a": 1}}}}),
            "state must be",
        ),
        (
            json!({"flags": {"f": {"state": "ENABLED", "variants": {}}}}),
            "non-empty",
        ),
        (
            json!({"flags": {"f": {"state": "ENABLED", "variants": {"a": 1, "b": "x"}}}}),
            "every variant must be a number",
        ),
        (
            json!({"flags": {"f": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "z"}}}),
            "defaultVariant \"z\"",
        ),
        (
            json!({"flags": {"f": {"state": "ENABLED", "variants": {"a": 1}, "targeting": {"$ref": "nope"}}}}),
            "unknown evaluator 'nope'",
        ),
        (
            json!({"flags": {"f": {"state": "ENABLED", "variants": {"a": 1}, "targeting": {"nope": [1]}}}}),
            "does not compile",
        ),
        (
            json!({"flags": {"f": {"state": "ENABLED", "variants": {"a": 1}, "colour": 1}}}),
            "unknown field 'colour'",
        ),
    ] {
        let e = FlagSet::parse(&d).unwrap_err().to_string();
        assert!(e.contains(needle), "{d}: {e}");
    }
    let ok = FlagSet::parse(&doc()).unwrap();
    assert!(ok.contains("staff-flag"));
    assert_eq!(ok.keys().count(), 13);
}

#[test]
fn lookup_without_the_engine() {
    let d = doc();
    assert_eq!(lookup(&d, "static-flag"), Lookup::Static(Some(json!(true))));
    assert_eq!(lookup(&d, "staff-flag"), Lookup::Targeted);
    assert_eq!(lookup(&d, "disabled-flag"), Lookup::Undefined);
    assert_eq!(lookup(&d, "nope"), Lookup::Undefined);
    let r = eval("missing-flag", json!({}), None).to_json();
    assert_eq!(r["errorCode"], "FLAG_NOT_FOUND");
    assert_eq!(ValueType::parse("boolean"), Some(ValueType::Boolean));
}
