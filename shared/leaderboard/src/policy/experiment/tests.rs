#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

fn fixtures() -> Value {
    serde_json::from_str(include_str!("fixtures.json")).expect("fixture JSON")
}

fn close(got: f64, want: f64, what: &str) {
    let tol = 1e-9 * want.abs().max(1e-12) + 1e-15;
    assert!(
        (got - want).abs() <= tol.max(1e-12),
        "{what}: got {got}, scipy/statsmodels say {want}"
    );
}

fn n(v: &Value) -> f64 {
    v.as_f64().expect("number")
}

fn u(v: &Value) -> u64 {
    v.as_u64().expect("count")
}

#[test]
fn two_proportion_z_matches_statsmodels() {
    for case in fixtures()["two_proportion_z"].as_array().unwrap() {
        let (c, t) = (&case["control"], &case["treatment"]);
        let r = two_proportion_z(u(&c[0]), u(&c[1]), u(&t[0]), u(&t[1])).unwrap();
        close(r.statistic, n(&case["z"]), &format!("z of {case}"));
        close(r.p_value, n(&case["p_value"]), &format!("p of {case}"));
    }
}

#[test]
fn welch_matches_scipy() {
    for case in fixtures()["welch_t"].as_array().unwrap() {
        let s = |v: &Value| Summary {
            mean: n(&v[0]),
            sd: n(&v[1]),
            n: u(&v[2]),
        };
        let r = welch_t(s(&case["control"]), s(&case["treatment"])).unwrap();
        close(r.statistic, n(&case["t"]), &format!("t of {case}"));
        close(r.df.unwrap(), n(&case["df"]), &format!("df of {case}"));
        close(r.p_value, n(&case["p_value"]), &format!("p of {case}"));
    }
}

#[test]
fn chi_square_matches_scipy() {
    for case in fixtures()["chi_square"].as_array().unwrap() {
        let obs: Vec<u64> = case["observed"].as_array().unwrap().iter().map(u).collect();
        let w: Vec<f64> = case["weights"].as_array().unwrap().iter().map(n).collect();
        let r = chi_square(&obs, &w).unwrap();
        close(
            r.statistic,
            n(&case["chi_square"]),
            &format!("χ² of {case}"),
        );
        close(r.p_value, n(&case["p_value"]), &format!("p of {case}"));
    }
}

#[test]
fn intervals_match_statsmodels_and_scipy() {
    let f = fixtures();
    for case in f["wilson"].as_array().unwrap() {
        let (lo, hi) =
            wilson(u(&case["successes"]), u(&case["trials"]), n(&case["alpha"])).unwrap();
        close(lo, n(&case["interval"][0]), &format!("wilson lo {case}"));
        close(hi, n(&case["interval"][1]), &format!("wilson hi {case}"));
    }
    for case in f["mean_interval"].as_array().unwrap() {
        let s = Summary {
            mean: n(&case["mean"]),
            sd: n(&case["sd"]),
            n: u(&case["n"]),
        };
        let (lo, hi) = mean_interval(s, n(&case["alpha"])).unwrap();
        close(
            lo,
            n(&case["interval"][0]),
            &format!("t interval lo {case}"),
        );
        close(
            hi,
            n(&case["interval"][1]),
            &format!("t interval hi {case}"),
        );
    }
}

#[test]
fn summary_from_sums_is_the_sample_mean_and_sd() {
    let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
    let s = Summary::from_sums(8, xs.iter().sum(), xs.iter().map(|x| x * x).sum()).unwrap();
    close(s.mean, 5.0, "mean");
    close(s.sd, (32.0f64 / 7.0).sqrt(), "sd");
    assert_eq!(Summary::from_sums(1, 3.0, 9.0), None);
}

#[test]
fn degenerate_inputs_are_not_tests() {
    assert_eq!(two_proportion_z(0, 0, 1, 10), None);
    let same = two_proportion_z(0, 100, 0, 120).unwrap();
    assert_eq!((same.statistic, same.p_value), (0.0, 1.0));
    assert_eq!(chi_square(&[0, 0], &[0.5, 0.5]), None);
    assert_eq!(chi_square(&[5], &[1.0]), None);
    let flat = Summary {
        n: 10,
        mean: 1.0,
        sd: 0.0,
    };
    assert_eq!(welch_t(flat, flat).unwrap().p_value, 1.0);
    assert_eq!(welch_t(flat, Summary { mean: 2.0, ..flat }), None);
}

proptest! {
    #[test]
    fn z_test_is_antisymmetric_and_p_is_a_probability(
        n1 in 1u64..5_000, n2 in 1u64..5_000, f1 in 0.0f64..=1.0, f2 in 0.0f64..=1.0,
    ) {
        let c1 = (n1 as f64 * f1) as u64;
        let c2 = (n2 as f64 * f2) as u64;
        let ab = two_proportion_z(c1, n1, c2, n2).unwrap();
        let ba = two_proportion_z(c2, n2, c1, n1).unwrap();
        prop_assert!((ab.statistic + ba.statistic).abs() < 1e-9);
        prop_assert!((ab.p_value - ba.p_value).abs() < 1e-12);
        prop_assert!((0.0..=1.0).contains(&ab.p_value));
    }

    #[test]
    fn a_larger_gap_is_never_less_significant(n in 100u64..5_000, base in 1u64..40, gap in 1u64..20) {
        // Same control, the treatment's rate moved further up: |z| grows, p shrinks.
        let c1 = n * base / 100;
        let near = two_proportion_z(c1, n, c1 + n * gap / 200, n).unwrap();
        let far = two_proportion_z(c1, n, c1 + n * gap / 100, n).unwrap();
        prop_assert!(far.statistic >= near.statistic - 1e-12);
        prop_assert!(far.p_value <= near.p_value + 1e-12);
    }

    #[test]
    fn exact_split_has_no_mismatch(k in 2usize..6, per in 1u64..10_000) {
        let obs = vec![per; k];
        let w = vec![1.0; k];
        let t = chi_square(&obs, &w).unwrap();
        prop_assert!(t.statistic.abs() < 1e-9);
        prop_assert!(t.p_value > 0.999_999);
    }

    #[test]
    fn wilson_contains_the_estimate(n in 1u64..100_000, f in 0.0f64..=1.0) {
        let k = (n as f64 * f) as u64;
        let (lo, hi) = wilson(k, n, 0.05).unwrap();
        let p = k as f64 / n as f64;
        prop_assert!(lo <= p + 1e-12 && p <= hi + 1e-12 && 0.0 <= lo && hi <= 1.0);
    }

    #[test]
    fn welch_is_antisymmetric(
        m1 in -100.0f64..100.0, m2 in -100.0f64..100.0, s1 in 0.1f64..50.0, s2 in 0.1f64..50.0,
        n1 in 2u64..10_000, n2 in 2u64..10_000,
    ) {
        let a = Summary { mean: m1, sd: s1, n: n1 };
        let b = Summary { mean: m2, sd: s2, n: n2 };
        let ab = welch_t(a, b).unwrap();
        let ba = welch_t(b, a).unwrap();
        prop_assert!((ab.statistic + ba.statistic).abs() < 1e-9);
        prop_assert!((ab.p_value - ba.p_value).abs() < 1e-9);
        let df = ab.df.unwrap();
        prop_assert!(df >= (n1.min(n2) - 1) as f64 - 1e-9 && df <= (n1 + n2 - 2) as f64 + 1e-9);
    }
}

fn flag() -> Value {
    json!({
        "state": "ENABLED",
        "variants": {"control": 1, "double": 2, "triple": 3},
        "defaultVariant": "control",
        "targeting": {"if": [{"var": "beta"}, "triple",
            {"fractional": [{"var": "targetingKey"}, ["control", 50], ["double", 25], ["triple", 25]]}]}
    })
}

fn input(v: Value) -> ExperimentInput {
    serde_json::from_value(v).expect("input shape")
}

fn base() -> Value {
    json!({"flag": "reward", "control": "control", "min_sample": 100,
        "metrics": [{"name": "played", "kind": "conversion", "board": "arena"}]})
}

#[test]
fn weights_come_from_the_fractional_rule() {
    let e = input(base())
        .validate(Some(&flag()), 1_000, "gen".into())
        .unwrap();
    assert_eq!(e.id, "gen");
    assert_eq!(e.weights["control"], 0.5);
    assert_eq!(e.weights["double"], 0.25);
    assert_eq!(e.arms(), vec!["control", "double", "triple"]);
    assert_eq!(e.start_ms, 1_000);
    assert_eq!(e.alpha, 0.05);
    assert_eq!(e.boards(), vec!["arena"]);
    // Buckets without a weight count 1 each.
    assert_eq!(
        fractional_weights(&json!({"fractional": [["a"], ["b"]]})).unwrap(),
        [("a".to_string(), 1.0), ("b".to_string(), 1.0)].into()
    );
}

#[test]
fn bad_declarations_are_refused_with_the_reason() {
    let cases = [
        (json!({"control": "nope"}), "control 'nope'"),
        (
            json!({"weights": {"control": 1, "other": 1}}),
            "arm 'other' is not a variant",
        ),
        (json!({"weights": {"control": 1}}), "at least two arms"),
        (json!({"weights": {"control": 1, "double": 0}}), "positive"),
        (json!({"metrics": []}), "1..=10 metrics"),
        (
            json!({"metrics": [{"name": "m", "kind": "mean"}]}),
            "exactly one of board or event",
        ),
        (
            json!({"metrics": [{"name": "m", "kind": "mean", "event": "buy", "threshold": 3}]}),
            "threshold applies",
        ),
        (
            json!({"metrics": [{"name": "m", "kind": "conversion", "event": "a"}, {"name": "m", "kind": "mean", "event": "b"}]}),
            "declared twice",
        ),
        (json!({"id": "Bad Id"}), "id 'Bad Id'"),
        (json!({"min_sample": 0}), "min_sample"),
        (json!({"alpha": 0.5}), "alpha"),
        (
            json!({"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}),
            "end must be after start",
        ),
        (json!({"end": "tomorrow"}), "RFC 3339"),
    ];
    for (patch, want) in cases {
        let mut v = base();
        for (k, x) in patch.as_object().unwrap() {
            v[k] = x.clone();
        }
        let err = input(v)
            .validate(Some(&flag()), 0, "g".into())
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{patch}: {err}");
    }
    let err = input(base())
        .validate(None, 0, "g".into())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no flag 'reward'"), "{err}");
    let no_split = json!({"state": "ENABLED", "variants": {"a": 1, "b": 2}, "defaultVariant": "a"});
    let mut v = base();
    v["control"] = json!("a");
    let err = input(v)
        .validate(Some(&no_split), 0, "g".into())
        .unwrap_err()
        .to_string();
    assert!(err.contains("give weights"), "{err}");
}

fn two_arm(min_sample: u64) -> Experiment {
    let mut v = base();
    v["weights"] = json!({"control": 1, "double": 1});
    v["min_sample"] = json!(min_sample);
    v["metrics"] = json!([
        {"name": "played", "kind": "conversion", "board": "arena"},
        {"name": "spend", "kind": "mean", "event": "purchase"}
    ]);
    input(v).validate(Some(&flag()), 0, "exp".into()).unwrap()
}

fn counters(pairs: &[(&str, &str)]) -> Counters {
    Counters::from_fields(pairs.iter().copied()).unwrap()
}

#[test]
fn results_are_inconclusive_until_the_horizon() {
    let e = two_arm(1_000);
    let c = counters(&[
        ("x:control", "2000"),
        ("x:double", "2000"),
        ("c:played:control", "400"),
        ("c:played:double", "500"),
    ]);
    let running = results(
        &e,
        &c,
        State {
            stopped_ms: None,
            now_ms: 5,
        },
    );
    assert_eq!(running["state"], "running");
    assert_eq!(running["conclusive"], false);
    let cmp = &running["metrics"][0]["comparisons"][0];
    assert_eq!(cmp["verdict"], "inconclusive");
    assert_eq!(cmp["significant"], true, "the peek still shows the numbers");
    assert!(running["reasons"][0].as_str().unwrap().contains("peek"));
    assert_eq!(winner(&running), None);

    let stopped = results(
        &e,
        &c,
        State {
            stopped_ms: Some(5),
            now_ms: 5,
        },
    );
    assert_eq!(stopped["conclusive"], true, "{stopped}");
    let cmp = &stopped["metrics"][0]["comparisons"][0];
    assert_eq!(cmp["verdict"], "better");
    close(cmp["lift"].as_f64().unwrap(), 0.25, "lift");
    assert_eq!(winner(&stopped).as_deref(), Some("double"));
    // Nobody bought anything: every exposed unit is 0 in both arms, no difference.
    assert_eq!(
        stopped["metrics"][1]["comparisons"][0]["verdict"],
        "no_significant_difference"
    );
}

#[test]
fn the_minimum_sample_and_srm_block_conclusions() {
    let e = two_arm(1_000);
    let small = counters(&[("x:control", "900"), ("x:double", "950")]);
    let r = results(
        &e,
        &small,
        State {
            stopped_ms: Some(1),
            now_ms: 1,
        },
    );
    assert_eq!(r["conclusive"], false);
    assert!(
        r["reasons"][0]
            .as_str()
            .unwrap()
            .contains("control has 900"),
        "{r}"
    );

    let skewed = counters(&[("x:control", "6000"), ("x:double", "4000")]);
    let r = results(
        &e,
        &skewed,
        State {
            stopped_ms: Some(1),
            now_ms: 1,
        },
    );
    assert_eq!(r["srm"]["mismatch"], true);
    assert_eq!(r["conclusive"], false);
    assert!(
        r["reasons"][0]
            .as_str()
            .unwrap()
            .contains("sample-ratio mismatch")
    );
}

#[test]
fn mean_metrics_use_welch_over_all_exposed_units() {
    let e = two_arm(2);
    // control: 4 units with values 1, 2, 3, 0 (one bought nothing); double: 4 units 5, 5, 6, 4.
    let c = counters(&[
        ("x:control", "4"),
        ("x:double", "4"),
        ("c:spend:control", "3"),
        ("s:spend:control", "6"),
        ("q:spend:control", "14"),
        ("c:spend:double", "4"),
        ("s:spend:double", "20"),
        ("q:spend:double", "102"),
    ]);
    let r = results(
        &e,
        &c,
        State {
            stopped_ms: Some(1),
            now_ms: 1,
        },
    );
    let arms = &r["metrics"][1]["arms"];
    close(arms[0]["mean"].as_f64().unwrap(), 1.5, "control mean");
    close(arms[1]["mean"].as_f64().unwrap(), 5.0, "double mean");
    let direct = welch_t(
        Summary::from_sums(4, 6.0, 14.0).unwrap(),
        Summary::from_sums(4, 20.0, 102.0).unwrap(),
    )
    .unwrap();
    let cmp = &r["metrics"][1]["comparisons"][0];
    close(cmp["statistic"].as_f64().unwrap(), direct.statistic, "t");
    assert_eq!(cmp["test"], "welch t");
}

#[test]
fn bonferroni_splits_alpha_over_treatment_arms() {
    let mut v = base();
    v["min_sample"] = json!(1);
    let e = input(v).validate(Some(&flag()), 0, "e".into()).unwrap();
    let r = results(
        &e,
        &Counters::default(),
        State {
            stopped_ms: None,
            now_ms: 0,
        },
    );
    assert_eq!(r["design"]["alpha_per_comparison"], 0.025);
    assert_eq!(r["design"]["correction"], "bonferroni");
    assert_eq!(r["metrics"][0]["comparisons"].as_array().unwrap().len(), 2);
}

#[test]
fn counters_refuse_garbage() {
    assert!(Counters::from_fields([("x:control", "many")]).is_err());
    let c = counters(&[("crossovers", "3"), ("unexposed", "2"), ("s:m:a", "1.5")]);
    assert_eq!((c.crossovers, c.unexposed), (3, 2));
    assert_eq!(c.sum[&("m".to_string(), "a".to_string())], 1.5);
}

#[test]
fn stamping_marks_the_flag_and_promotion_ends_the_split() {
    let e = two_arm(10);
    let mut doc = json!({"flags": {"reward": flag(), "other": {"state": "ENABLED", "variants": {"a": true}, "defaultVariant": "a"}}});
    stamp(&mut doc, &e).unwrap();
    assert_eq!(doc["flags"]["reward"]["metadata"]["experiment"], "exp");
    assert_eq!(
        doc["flags"]["reward"]["metadata"]["experimentBoards"],
        "arena"
    );
    assert_eq!(fed_by_board(&doc, "arena"), vec!["exp".to_string()]);
    assert!(fed_by_board(&doc, "other-board").is_empty());

    // A new document without an arm cannot keep the experiment.
    let mut lost = json!({"flags": {"reward": {"state": "ENABLED", "variants": {"control": 1}, "defaultVariant": "control"}}});
    assert!(
        stamp(&mut lost, &e)
            .unwrap_err()
            .to_string()
            .contains("arm 'double'")
    );
    let mut gone = json!({"flags": {}});
    assert!(
        stamp(&mut gone, &e)
            .unwrap_err()
            .to_string()
            .contains("stop the experiment")
    );

    unstamp(&mut doc, "reward", "exp", Some("double")).unwrap();
    let f = &doc["flags"]["reward"];
    assert_eq!(f["defaultVariant"], "double");
    assert!(f.get("targeting").is_none());
    assert!(f["metadata"].get("experiment").is_none());
    assert!(unstamp(&mut doc, "reward", "exp", Some("nope")).is_err());
    // Unstamping an experiment that does not own the mark leaves it.
    stamp(&mut doc, &e).unwrap();
    unstamp(&mut doc, "reward", "someone-else", None).unwrap();
    assert_eq!(doc["flags"]["reward"]["metadata"]["experiment"], "exp");
}
