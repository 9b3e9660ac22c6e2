#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use super::*;

fn run(rule: Value, data: Value) -> Result<Value> {
    validate(&rule)?;
    apply(&rule, &data)
}

/// The operators' cases, as the reference (flagd-core on json-logic-engine 5) answers them; the
/// differential test (`tests/jsonlogic_reference.rs`) checks thousands more against it.
#[test]
fn operators_answer_as_the_reference_does() {
    let data = json!({"a": 1, "s": "5", "t": "abc", "n": null, "xs": [1, 2, 3],
        "u": {"name": "ann", "tags": ["x", "y"]}, "dotted.key": 7, "e": ""});
    let ok = |rule: Value, want: Value| {
        assert_eq!(run(rule.clone(), data.clone()), Ok(want), "{rule}");
    };
    ok(json!({"var": "u.name"}), json!("ann"));
    ok(json!({"var": "u.tags.1"}), json!("y"));
    ok(json!({"var": "xs.length"}), json!(3));
    ok(json!({"var": ["nope", 9]}), json!(9));
    ok(json!({"var": ["n", 9]}), json!(9));
    ok(json!({"var": "dotted\\.key"}), json!(7));
    ok(json!({"var": ""}), data.clone());
    ok(
        json!({"missing": ["a", "n", "zz", "u.name", "u.zz"]}),
        json!(["zz", "u.zz"]),
    );
    ok(json!({"missing_some": [1, ["zz", "a"]]}), json!([]));
    ok(json!({"missing_some": [2, ["zz", "a"]]}), json!(["zz"]));
    ok(
        json!({"if": [{"var": "e"}, 1, {"var": "a"}, 2, 3]}),
        json!(2),
    );
    ok(json!({"if": [false, 1]}), Value::Null);
    ok(json!({"or": [0, "", [], "x"]}), json!("x"));
    ok(json!({"and": [1, [], 2]}), json!([]));
    ok(json!({"!": [[]]}), json!(true));
    ok(json!({"==": [1, "1"]}), json!(true));
    ok(json!({"==": [null, 0]}), json!(true));
    ok(json!({"===": [1, "1"]}), json!(false));
    ok(json!({"<": [1, {"var": "s"}, 10]}), json!(true));
    ok(json!({"<=": ["abc", "abd"]}), json!(true));
    ok(json!({"+": [1, "2", true, null]}), json!(4));
    ok(json!({"-": [5]}), json!(-5));
    ok(json!({"/": [1, 4]}), json!(0.25));
    ok(json!({"%": [7, 3]}), json!(1));
    ok(json!({"max": [1, 9, 3]}), json!(9));
    ok(
        json!({"map": [{"var": "xs"}, {"*": [{"var": ""}, 2]}]}),
        json!([2, 4, 6]),
    );
    ok(
        json!({"filter": [{"var": "xs"}, {">": [{"var": ""}, 1]}]}),
        json!([2, 3]),
    );
    ok(
        json!({"reduce": [{"var": "xs"}, {"+": [{"var": "accumulator"}, {"var": "current"}]}, 0]}),
        json!(6),
    );
    ok(json!({"all": [[], true]}), json!(false));
    ok(json!({"all": [{"var": "nope"}, false]}), json!(true));
    ok(
        json!({"none": [{"var": "xs"}, {">": [{"var": ""}, 5]}]}),
        json!(true),
    );
    ok(json!({"merge": [[1], 2, [[3]]]}), json!([1, 2, [3]]));
    ok(json!({"in": ["b", "abc"]}), json!(true));
    ok(json!({"in": [2, {"var": "xs"}]}), json!(true));
    ok(
        json!({"cat": ["a", 1.5, null, true, [1, 2]]}),
        json!("a1.5nulltrue1,2"),
    );
    ok(json!({"cat": 1e21}), json!("1e+21"));
    ok(json!({"substr": ["abcdef", -4, -1]}), json!("cde"));
    ok(json!({"substr": ["abcdef", 1, 2]}), json!("bc"));
    ok(json!({"starts_with": [{"var": "t"}, "ab"]}), json!(true));
    ok(json!({"ends_with": [{"var": "t"}, 3]}), Value::Null);
    ok(json!({"sem_ver": ["v1.2", "=", "1.2.0"]}), json!(true));
    ok(
        json!({"sem_ver": ["1.2.3-alpha", "<", "1.2.3"]}),
        json!(true),
    );
    ok(json!({"sem_ver": ["1.2.3", "~", "1.2.9"]}), json!(true));
    ok(json!({"sem_ver": ["x", "=", "1.0.0"]}), Value::Null);
}

#[test]
fn what_cannot_be_computed_is_an_error() {
    for rule in [
        json!({"+": [1, "abc"]}),
        json!({"==": [1, "abc"]}),
        json!({"<": [[1], 2]}),
        json!({"/": [1, 0]}),
        json!({"%": [1, 0]}),
        json!({"max": ["1"]}),
        json!({"map": ["abc", 1]}),
        json!({"reduce": [[], {"var": "current"}]}),
        json!({"substr": [12, 1]}),
        json!({"if": "x"}),
        json!({"nope": [1]}),
        json!({"var": "a", "extra": 1}),
    ] {
        assert!(run(rule.clone(), json!({})).is_err(), "{rule}");
    }
}

#[test]
fn unknown_operators_are_refused_before_evaluation() {
    assert_eq!(
        validate(&json!({"if": [{"regex_match": ["a", "b"]}, 1, 2]})),
        Err(Error::UnknownOperator("regex_match".into()))
    );
    assert_eq!(
        validate(&json!({"and": [{}]})),
        Err(Error::NotAnOperation(0))
    );
}

#[test]
fn runaway_rules_are_stopped() {
    // Doubling a string 40 times would need a terabyte.
    let forty: Vec<u32> = (0..40).collect();
    let doubling =
        json!({"reduce": [forty, {"cat": [{"var": "accumulator"}, {"var": "accumulator"}]}, "ab"]});
    assert_eq!(
        apply(&doubling, &json!({})),
        Err(Error::TooCostly("string length"))
    );
    let forty: Vec<u32> = (0..40).collect();
    let doubling = json!({"reduce": [forty, {"merge": [{"var": "accumulator"}, {"var": "accumulator"}]}, [1]]});
    assert_eq!(
        apply(&doubling, &json!({})),
        Err(Error::TooCostly("array length"))
    );
    // Nested iteration: 1,000 × 150 elements, two steps each, is more than the budget.
    let xs: Vec<u32> = (0..1000).collect();
    let inner: Vec<u32> = (0..150).collect();
    let data = json!({"xs": xs});
    let really = json!({"map": [{"var": "xs"}, {"map": [inner, {"+": [{"var": ""}, 1]}]}]});
    assert_eq!(
        apply(&really, &data),
        Err(Error::TooCostly("number of steps"))
    );
}
