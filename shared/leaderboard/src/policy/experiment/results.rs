//! An experiment's results document: each arm's counts and each metric's estimate, interval
//! and test against the control, the split's sample-ratio check and the winner.

use serde_json::{Value, json};

use super::stats::{
    Summary, Test, chi_square, mean_interval, two_proportion_z, welch_t, wilson, z_crit,
};
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::{Better, Counters, Experiment, Metric, MetricKind, Phase, SRM_ALPHA, State};
use crate::time::iso;

fn round(x: f64) -> Value {
    if x.is_finite() {
        json!((x * 1e12).round() / 1e12)
    } else {
        Value::Null
    }
}

fn interval(i: Option<(f64, f64)>) -> Value {
    i.map_or(Value::Null, |(lo, hi)| json!([round(lo), round(hi)]))
}

/// The results of an experiment from its counters: per metric and arm the exposures,
/// conversions or mean with an interval; per treatment arm the difference and relative lift
/// against control with an interval, the test and a verdict; the sample-ratio check; and whether
/// the results are conclusive (see the module documentation).
pub fn results(exp: &Experiment, c: &Counters, state: State) -> Value {
    let arms = exp.arms();
    let exposures: Vec<u64> = arms
        .iter()
        .map(|a| c.exposures.get(*a).copied().unwrap_or(0))
        .collect();
    let weights: Vec<f64> = arms.iter().map(|a| exp.weights[*a]).collect();
    let srm_test = chi_square(&exposures, &weights);
    let srm = srm_test.is_some_and(|t| t.p_value < SRM_ALPHA);
    let phase = state.phase(exp);
    let ended = matches!(phase, Phase::Ended | Phase::Stopped);
    let sampled = exposures.iter().all(|n| *n >= exp.min_sample);
    let conclusive = ended && sampled && !srm;
    let mut reasons = Vec::new();
    if !ended {
        reasons.push(
            "the experiment is still running: this is a peek, and a fixed-horizon test is only \
             valid once it is over (stopped or past its end)"
                .to_string(),
        );
    }
    if !sampled {
        let short: Vec<String> = arms
            .iter()
            .zip(&exposures)
            .filter(|(_, n)| **n < exp.min_sample)
            .map(|(a, n)| format!("{a} has {n}"))
            .collect();
        reasons.push(format!(
            "the minimum sample of {} exposed units per arm is not reached ({})",
            exp.min_sample,
            short.join(", ")
        ));
    }
    if srm {
        reasons.push(
            "sample-ratio mismatch: exposures do not follow the configured weights, so the split \
             (or exposure counting) is broken and no comparison can be trusted"
                .to_string(),
        );
    }
    let comparisons = (arms.len() - 1).max(1) as f64;
    let test_alpha = exp.alpha / comparisons;
    let metrics: Vec<Value> = exp
        .metrics
        .iter()
        .map(|m| metric_results(exp, m, c, &arms, test_alpha, conclusive))
        .collect();
    json!({
        "experiment": exp.id,
        "flag": exp.flag,
        "control": exp.control,
        "state": phase.as_str(),
        "conclusive": conclusive,
        "reasons": reasons,
        "design": {
            "method": "fixed horizon",
            "alpha": exp.alpha,
            "alpha_per_comparison": round(test_alpha),
            "correction": if comparisons > 1.0 { "bonferroni" } else { "none" },
            "min_sample": exp.min_sample,
            "start": iso(exp.start_ms),
            "end": exp.end_ms.map(iso),
            "stopped": state.stopped_ms.map(iso),
        },
        "exposures": arms.iter().zip(&exposures).map(|(a, n)| (a.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "srm": {
            "mismatch": srm,
            "threshold": SRM_ALPHA,
            "expected_weights": exp.weights,
            "chi_square": srm_test.map(|t| round(t.statistic)),
            "df": srm_test.and_then(|t| t.df),
            "p_value": srm_test.map(|t| round(t.p_value)),
        },
        "crossovers": c.crossovers,
        "unexposed_conversions": c.unexposed,
        "metrics": metrics,
    })
}

/// One metric's counters, read per arm.
struct Arms<'a> {
    m: &'a Metric,
    c: &'a Counters,
}

impl Arms<'_> {
    fn key(&self, a: &str) -> (String, String) {
        (self.m.name.clone(), a.to_string())
    }
    fn n(&self, a: &str) -> u64 {
        self.c.exposures.get(a).copied().unwrap_or(0)
    }
    fn units(&self, a: &str) -> u64 {
        self.c.units.get(&self.key(a)).copied().unwrap_or(0)
    }
    fn sum(&self, a: &str) -> f64 {
        self.c.sum.get(&self.key(a)).copied().unwrap_or(0.0)
    }
    fn summary(&self, a: &str) -> Option<Summary> {
        let sum_sq = self.c.sum_sq.get(&self.key(a)).copied().unwrap_or(0.0);
        Summary::from_sums(self.n(a), self.sum(a), sum_sq)
    }
    /// The arm's estimate: rate or mean.
    fn estimate(&self, a: &str) -> Option<f64> {
        let n = self.n(a);
        (n > 0).then(|| match self.m.kind {
            MetricKind::Conversion => self.units(a) as f64 / n as f64,
            MetricKind::Mean => self.sum(a) / n as f64,
        })
    }

    /// The arm's counts, estimate and interval.
    fn arm(&self, a: &str, alpha: f64) -> Value {
        let mut v = json!({"arm": a, "exposures": self.n(a)});
        match self.m.kind {
            MetricKind::Conversion => {
                v["conversions"] = json!(self.units(a));
                v["rate"] = self.estimate(a).map_or(Value::Null, round);
                v["interval"] = interval(wilson(self.units(a), self.n(a), alpha));
            }
            MetricKind::Mean => {
                let summary = self.summary(a);
                v["units_with_values"] = json!(self.units(a));
                v["sum"] = round(self.sum(a));
                v["mean"] = self.estimate(a).map_or(Value::Null, round);
                v["sd"] = summary.map_or(Value::Null, |s| round(s.sd));
                v["interval"] = interval(summary.and_then(|s| mean_interval(s, alpha)));
            }
        }
        v
    }

    /// The test of arm `a` against `control`, and the difference's interval.
    fn test(&self, control: &str, a: &str, test_alpha: f64) -> (Option<Test>, Option<(f64, f64)>) {
        match self.m.kind {
            MetricKind::Conversion => {
                let t = two_proportion_z(
                    self.units(control),
                    self.n(control),
                    self.units(a),
                    self.n(a),
                );
                let ci = match (self.estimate(control), self.estimate(a)) {
                    (Some(p1), Some(p2)) => {
                        let se = (p1 * (1.0 - p1) / self.n(control) as f64
                            + p2 * (1.0 - p2) / self.n(a) as f64)
                            .sqrt();
                        let h = z_crit(test_alpha) * se;
                        Some((p2 - p1 - h, p2 - p1 + h))
                    }
                    _ => None,
                };
                (t, ci)
            }
            MetricKind::Mean => match (self.summary(control), self.summary(a)) {
                (Some(s1), Some(s2)) => {
                    let t = welch_t(s1, s2);
                    let ci = t.and_then(|t| {
                        let se = (s1.sd * s1.sd / s1.n as f64 + s2.sd * s2.sd / s2.n as f64).sqrt();
                        let crit = match t.df {
                            Some(df) => StudentsT::new(0.0, 1.0, df)
                                .ok()?
                                .inverse_cdf(1.0 - test_alpha / 2.0),
                            None => 0.0,
                        };
                        let d = s2.mean - s1.mean;
                        Some((d - crit * se, d + crit * se))
                    });
                    (t, ci)
                }
                _ => (None, None),
            },
        }
    }

    /// Arm `a` against `control`: the difference and lift with their intervals, the test and
    /// the verdict.
    fn comparison(&self, control: &str, a: &str, test_alpha: f64, conclusive: bool) -> Value {
        let (test, diff_interval) = self.test(control, a, test_alpha);
        let diff = self
            .estimate(a)
            .zip(self.estimate(control))
            .map(|(t, c)| t - c);
        let base = self.estimate(control).filter(|b| *b != 0.0);
        let lift = diff.zip(base).map(|(d, b)| d / b.abs());
        let lift_interval = diff_interval
            .zip(base)
            .map(|((lo, hi), b)| (lo / b.abs(), hi / b.abs()));
        let significant = test.map(|t| t.p_value < test_alpha);
        let improves = diff.map(|d| match self.m.better {
            Better::Higher => d > 0.0,
            Better::Lower => d < 0.0,
        });
        let verdict = match (conclusive, significant) {
            (false, _) | (true, None) => "inconclusive",
            (true, Some(true)) if improves == Some(true) => "better",
            (true, Some(true)) => "worse",
            (true, Some(false)) => "no_significant_difference",
        };
        json!({
            "arm": a,
            "against": control,
            "difference": diff.map_or(Value::Null, round),
            "difference_interval": interval(diff_interval),
            "lift": lift.map_or(Value::Null, round),
            "lift_interval": interval(lift_interval),
            "test": match self.m.kind { MetricKind::Conversion => "two-proportion z", MetricKind::Mean => "welch t" },
            "statistic": test.map(|t| round(t.statistic)),
            "df": test.and_then(|t| t.df).map(round),
            "p_value": test.map(|t| round(t.p_value)),
            "significant": significant,
            "verdict": verdict,
        })
    }
}

fn metric_results(
    exp: &Experiment,
    m: &Metric,
    c: &Counters,
    arms: &[&str],
    test_alpha: f64,
    conclusive: bool,
) -> Value {
    let counted = Arms { m, c };
    let per_arm: Vec<Value> = arms.iter().map(|a| counted.arm(a, exp.alpha)).collect();
    let control = arms[0];
    let comparisons: Vec<Value> = arms[1..]
        .iter()
        .map(|a| counted.comparison(control, a, test_alpha, conclusive))
        .collect();
    json!({
        "name": m.name,
        "kind": m.kind,
        "better": m.better,
        "source": match (&m.board, &m.event) {
            (Some(b), _) => json!({"board": b}),
            (_, Some(e)) => json!({"event": e}),
            _ => Value::Null,
        },
        "threshold": m.threshold,
        "arms": per_arm,
        "comparisons": comparisons,
    })
}

/// The arm that conclusively beat control on the primary metric by the largest lift (`None`
/// when the results are not conclusive or no arm is `better`).
pub fn winner(results: &Value) -> Option<String> {
    if results["conclusive"] != Value::Bool(true) {
        return None;
    }
    results["metrics"][0]["comparisons"]
        .as_array()?
        .iter()
        .filter(|c| c["verdict"] == "better")
        .max_by(|a, b| {
            let l = |v: &Value| v["difference"].as_f64().unwrap_or(0.0).abs();
            l(a).total_cmp(&l(b))
        })
        .and_then(|c| c["arm"].as_str().map(str::to_string))
}
