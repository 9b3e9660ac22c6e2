//! A/B experiments on feature flags: definitions, counters and the statistics that say whether a
//! difference between variants is real. Pure: the edge crate keeps the counters in Redis and
//! calls [`results`] with them.
//!
//! # Model
//!
//! An experiment is declared on one flag of the tenant's flagd document ([`ExperimentInput`]).
//! Its **arms** are the variants the flag's `fractional` rule splits players into (or the
//! `weights` given explicitly), one of them the **control**. The **unit** is the targeting key
//! (for score metrics: the player id). A unit is **exposed** the first time an evaluation of the
//! flag resolves it to an arm through the targeting rule; it stays in that arm (a later
//! evaluation that resolves it elsewhere — the weights changed — is counted as a crossover, not
//! a second exposure).
//!
//! **Metrics** are computed over exposed units only:
//! - `conversion`: the share of exposed units that converted — submitted a score on the linked
//!   board (at or above `threshold` when one is set), or posted the linked event. Compared with a
//!   pooled two-proportion z-test; per-arm intervals are Wilson score intervals.
//! - `mean`: per exposed unit, the sum of its scores on the board (or of its events' values; 0
//!   for a unit with none), averaged over the arm's exposed units. Compared with Welch's t-test
//!   (Welch–Satterthwaite degrees of freedom); per-arm intervals are Student-t intervals.
//!
//! # Fixed horizon
//!
//! Significance is only valid when looked at once, at a horizon chosen in advance (repeated
//! peeks at a fixed-α test inflate false positives). The horizon here is: the experiment is over
//! (stopped, or past its `end`) **and** every arm has at least `min_sample` exposed units. Before
//! that, [`results`] shows every number but every verdict is `inconclusive`, and `conclusive` is
//! false with the reason. A sample-ratio mismatch (χ² goodness of fit of the exposures against the
//! weights, p < [`SRM_ALPHA`]) means the split is broken: the results are then never conclusive.
//! With more than one treatment arm, each comparison with control is tested at α / (arms − 1)
//! (Bonferroni), and its difference interval uses the same level.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal, StudentsT};

use crate::error::{LeaderboardError, Result};
use crate::ids::BoardId;
use crate::time::iso;

/// The p-value below which exposures are declared not to follow the weights.
pub const SRM_ALPHA: f64 = 0.001;

/// At most this many metrics per experiment.
pub const MAX_METRICS: usize = 10;

/// How a metric measures an arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// The share of exposed units that converted.
    Conversion,
    /// The mean per exposed unit of the summed values.
    Mean,
}

/// Which direction of a metric is an improvement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Larger is better (the default: conversions, scores, revenue).
    #[default]
    Higher,
    /// Smaller is better (e.g. time to finish a level).
    Lower,
}

/// One metric as declared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// `^[a-z0-9][a-z0-9_-]{0,63}$`, unique within the experiment.
    pub name: String,
    /// Conversion rate or mean.
    pub kind: MetricKind,
    /// Score submissions on this board count (exactly one of `board`, `event`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board: Option<String>,
    /// Posted events of this name count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// `conversion` only: a value must be at least this to convert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Which direction is an improvement (default `higher`).
    #[serde(default)]
    pub better: Better,
}

/// An experiment as an admin declares it (`POST /api/v1/experiments`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentInput {
    /// The id (`^[a-z0-9][a-z0-9_-]{0,63}$`); generated when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// The flag whose variants are the arms.
    pub flag: String,
    /// The control arm.
    pub control: String,
    /// Arm weights; absent: read from the flag's `fractional` rule.
    #[serde(default)]
    pub weights: Option<BTreeMap<String, f64>>,
    /// What is measured (1..=[`MAX_METRICS`]; the first is the primary metric).
    pub metrics: Vec<Metric>,
    /// RFC 3339; default now.
    #[serde(default)]
    pub start: Option<String>,
    /// RFC 3339; optional planned end (the experiment keeps counting until stopped otherwise).
    #[serde(default)]
    pub end: Option<String>,
    /// Exposed units every arm needs before results can be conclusive.
    pub min_sample: u64,
    /// Significance level (default 0.05, at most 0.2).
    #[serde(default)]
    pub alpha: Option<f64>,
}

/// A validated experiment, as stored (canonical JSON; the Redis scripts read `metrics`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// The id.
    pub id: String,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The flag.
    pub flag: String,
    /// The control arm.
    pub control: String,
    /// Arm → weight, normalised to sum 1.
    pub weights: BTreeMap<String, f64>,
    /// The metrics; the first is primary.
    pub metrics: Vec<Metric>,
    /// Unix ms.
    pub start_ms: i64,
    /// Unix ms, if planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<i64>,
    /// Exposures every arm needs.
    pub min_sample: u64,
    /// Significance level.
    pub alpha: f64,
    /// When it was declared (Unix ms).
    pub created_ms: i64,
}

fn invalid(m: impl Into<String>) -> LeaderboardError {
    LeaderboardError::InvalidBody(format!("experiment: {}", m.into()))
}

/// Checks an experiment or metric name.
pub fn check_name(what: &str, s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || (i > 0 && matches!(b, b'_' | b'-'))
        });
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "{what} '{s}' must match ^[a-z0-9][a-z0-9_-]{{0,63}}$"
        )))
    }
}

fn parse_time(field: &str, raw: &str) -> Result<i64> {
    crate::time::parse(raw)
        .ok_or_else(|| invalid(format!("{field} '{raw}' is not an RFC 3339 timestamp")))
}

/// The weights of the first `fractional` rule in a targeting rule: `[variant, weight?]` buckets
/// (weight 1 when omitted) after an optional bucketing expression.
pub fn fractional_weights(targeting: &Value) -> Option<BTreeMap<String, f64>> {
    match targeting {
        Value::Object(m) => {
            if let Some(Value::Array(args)) = m.get("fractional") {
                let mut out = BTreeMap::new();
                for a in args {
                    let Value::Array(bucket) = a else { continue };
                    let name = bucket.first()?.as_str()?;
                    let w = match bucket.get(1) {
                        None => 1.0,
                        Some(v) => v.as_f64()?,
                    };
                    *out.entry(name.to_string()).or_insert(0.0) += w;
                }
                return (!out.is_empty()).then_some(out);
            }
            m.values().find_map(fractional_weights)
        }
        Value::Array(a) => a.iter().find_map(fractional_weights),
        _ => None,
    }
}

impl ExperimentInput {
    /// Validates against the flag as the tenant's document defines it (`flag`: its JSON with
    /// `$ref`s resolved; `None` when the document has no such flag). `generated_id` is used when
    /// the input names none.
    pub fn validate(
        self,
        flag: Option<&Value>,
        now_ms: i64,
        generated_id: String,
    ) -> Result<Experiment> {
        let id = self.id.unwrap_or(generated_id);
        check_name("id", &id)?;
        if self.description.as_ref().is_some_and(|d| d.len() > 1024) {
            return Err(invalid("description is longer than 1024 bytes"));
        }
        let flag_json = flag.ok_or_else(|| {
            invalid(format!(
                "the flag document has no flag '{}'; PUT it first",
                self.flag
            ))
        })?;
        let variants: Vec<String> = flag_json
            .get("variants")
            .and_then(Value::as_object)
            .map(|v| v.keys().cloned().collect())
            .unwrap_or_default();
        let raw_weights = match self.weights {
            Some(w) => w,
            None => flag_json
                .get("targeting")
                .and_then(fractional_weights)
                .ok_or_else(|| {
                    invalid(format!(
                        "flag '{}' has no fractional rule to read the split from; give weights",
                        self.flag
                    ))
                })?,
        };
        if raw_weights.len() < 2 {
            return Err(invalid("an experiment needs at least two arms"));
        }
        for (arm, w) in &raw_weights {
            if !variants.contains(arm) {
                return Err(invalid(format!(
                    "arm '{arm}' is not a variant of flag '{}' (variants: {})",
                    self.flag,
                    variants.join(", ")
                )));
            }
            if !(w.is_finite() && *w > 0.0) {
                return Err(invalid(format!(
                    "weight of '{arm}' must be a positive number"
                )));
            }
        }
        if !raw_weights.contains_key(&self.control) {
            return Err(invalid(format!(
                "control '{}' is not one of the arms ({})",
                self.control,
                raw_weights.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        let total: f64 = raw_weights.values().sum();
        let weights = raw_weights
            .into_iter()
            .map(|(k, w)| (k, w / total))
            .collect();
        if self.metrics.is_empty() || self.metrics.len() > MAX_METRICS {
            return Err(invalid(format!("give 1..={MAX_METRICS} metrics")));
        }
        for (i, m) in self.metrics.iter().enumerate() {
            check_name("metric name", &m.name)?;
            if self.metrics[..i].iter().any(|o| o.name == m.name) {
                return Err(invalid(format!("metric '{}' is declared twice", m.name)));
            }
            match (&m.board, &m.event) {
                (Some(b), None) => {
                    BoardId::new(b.as_str())?;
                }
                (None, Some(e)) => check_name("event name", e)?,
                _ => {
                    return Err(invalid(format!(
                        "metric '{}' needs exactly one of board or event",
                        m.name
                    )));
                }
            }
            match (m.kind, m.threshold) {
                (MetricKind::Mean, Some(_)) => {
                    return Err(invalid(format!(
                        "metric '{}': threshold applies to conversion metrics only",
                        m.name
                    )));
                }
                (_, Some(t)) if !t.is_finite() => {
                    return Err(invalid(format!(
                        "metric '{}': threshold must be finite",
                        m.name
                    )));
                }
                _ => {}
            }
        }
        let start_ms = match &self.start {
            Some(s) => parse_time("start", s)?,
            None => now_ms,
        };
        let end_ms = self
            .end
            .as_deref()
            .map(|e| parse_time("end", e))
            .transpose()?;
        if end_ms.is_some_and(|e| e <= start_ms) {
            return Err(invalid("end must be after start"));
        }
        if self.min_sample == 0 || self.min_sample > 1_000_000_000 {
            return Err(invalid("min_sample must be 1..=1000000000"));
        }
        let alpha = self.alpha.unwrap_or(0.05);
        if !(alpha > 0.0 && alpha <= 0.2) {
            return Err(invalid("alpha must be in (0, 0.2]"));
        }
        Ok(Experiment {
            id,
            description: self.description,
            flag: self.flag,
            control: self.control,
            weights,
            metrics: self.metrics,
            start_ms,
            end_ms,
            min_sample: self.min_sample,
            alpha,
            created_ms: now_ms,
        })
    }
}

impl Experiment {
    /// The arms, control first, then the others sorted.
    pub fn arms(&self) -> Vec<&str> {
        std::iter::once(self.control.as_str())
            .chain(
                self.weights
                    .keys()
                    .map(String::as_str)
                    .filter(|a| *a != self.control),
            )
            .collect()
    }

    /// Whether units are counted at `now_ms` (inside the window; stopping is separate).
    pub fn in_window(&self, now_ms: i64) -> bool {
        now_ms >= self.start_ms && self.end_ms.is_none_or(|e| now_ms < e)
    }

    /// The metrics a posted event of this name feeds.
    pub fn metrics_for_event<'a>(&'a self, event: &'a str) -> impl Iterator<Item = &'a Metric> {
        self.metrics
            .iter()
            .filter(move |m| m.event.as_deref() == Some(event))
    }

    /// The boards whose score submissions feed a metric.
    pub fn boards(&self) -> Vec<&str> {
        let mut b: Vec<&str> = self
            .metrics
            .iter()
            .filter_map(|m| m.board.as_deref())
            .collect();
        b.sort_unstable();
        b.dedup();
        b
    }
}

/// The experiment's counters as kept in Redis (hash fields, see `edge::flags::experiments::store`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    /// Arm → exposed units.
    pub exposures: BTreeMap<String, u64>,
    /// (metric, arm) → converted units (`conversion`) or units with a value (`mean`).
    pub units: BTreeMap<(String, String), u64>,
    /// (metric, arm) → sum of unit values.
    pub sum: BTreeMap<(String, String), f64>,
    /// (metric, arm) → sum of squared unit values.
    pub sum_sq: BTreeMap<(String, String), f64>,
    /// Evaluations that resolved an exposed unit to another arm.
    pub crossovers: u64,
    /// Conversions of units that were never exposed (not counted).
    pub unexposed: u64,
}

impl Counters {
    /// Reads the hash fields: `x:<arm>`, `c:<metric>:<arm>`, `s:<metric>:<arm>`,
    /// `q:<metric>:<arm>`, `crossovers`, `unexposed`.
    pub fn from_fields<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let mut c = Self::default();
        let bad = |f: &str| LeaderboardError::CorruptData(format!("experiment counter '{f}'"));
        for (field, value) in fields {
            let int = || value.parse::<u64>().map_err(|_| bad(field));
            let float = || value.parse::<f64>().map_err(|_| bad(field));
            let pair = |rest: &str| -> Result<(String, String)> {
                let (m, a) = rest.split_once(':').ok_or_else(|| bad(field))?;
                Ok((m.to_string(), a.to_string()))
            };
            match field.split_once(':') {
                Some(("x", arm)) => {
                    c.exposures.insert(arm.to_string(), int()?);
                }
                Some(("c", rest)) => {
                    c.units.insert(pair(rest)?, int()?);
                }
                Some(("s", rest)) => {
                    c.sum.insert(pair(rest)?, float()?);
                }
                Some(("q", rest)) => {
                    c.sum_sq.insert(pair(rest)?, float()?);
                }
                None if field == "crossovers" => c.crossovers = int()?,
                None if field == "unexposed" => c.unexposed = int()?,
                _ => {}
            }
        }
        Ok(c)
    }
}

/// A test statistic and its two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Test {
    /// z, t or χ².
    pub statistic: f64,
    /// Degrees of freedom (t and χ²).
    pub df: Option<f64>,
    /// Two-sided (χ²: upper-tail) p-value.
    pub p_value: f64,
}

fn normal() -> Normal {
    Normal::standard()
}

/// Pooled two-proportion z-test of treatment `(c2, n2)` against control `(c1, n1)`; `None`
/// when an arm has no units. Equal rates at 0 or 1 give z = 0, p = 1.
pub fn two_proportion_z(c1: u64, n1: u64, c2: u64, n2: u64) -> Option<Test> {
    if n1 == 0 || n2 == 0 || c1 > n1 || c2 > n2 {
        return None;
    }
    let (c1, n1, c2, n2) = (c1 as f64, n1 as f64, c2 as f64, n2 as f64);
    let pooled = (c1 + c2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return Some(Test {
            statistic: 0.0,
            df: None,
            p_value: 1.0,
        });
    }
    let z = (c2 / n2 - c1 / n1) / se;
    Some(Test {
        statistic: z,
        df: None,
        p_value: (2.0 * normal().sf(z.abs())).min(1.0),
    })
}

/// Summary statistics of one arm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Units.
    pub n: u64,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1).
    pub sd: f64,
}

impl Summary {
    /// From the count, sum and sum of squares; `None` for fewer than 2 units.
    pub fn from_sums(n: u64, sum: f64, sum_sq: f64) -> Option<Self> {
        if n < 2 {
            return None;
        }
        let nf = n as f64;
        let mean = sum / nf;
        let var = ((sum_sq - sum * sum / nf) / (nf - 1.0)).max(0.0);
        Some(Self {
            n,
            mean,
            sd: var.sqrt(),
        })
    }
}

/// Welch's t-test of treatment `b` against control `a` (t = (mean_b − mean_a) / se); `None` when
/// undefined (an arm with < 2 units, or no variance while the means differ).
pub fn welch_t(a: Summary, b: Summary) -> Option<Test> {
    if a.n < 2 || b.n < 2 {
        return None;
    }
    let va = a.sd * a.sd / a.n as f64;
    let vb = b.sd * b.sd / b.n as f64;
    let se2 = va + vb;
    if se2 == 0.0 {
        return (a.mean == b.mean).then_some(Test {
            statistic: 0.0,
            df: None,
            p_value: 1.0,
        });
    }
    let t = (b.mean - a.mean) / se2.sqrt();
    let df = se2 * se2 / (va * va / (a.n as f64 - 1.0) + vb * vb / (b.n as f64 - 1.0));
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    Some(Test {
        statistic: t,
        df: Some(df),
        p_value: (2.0 * dist.sf(t.abs())).min(1.0),
    })
}

/// χ² goodness of fit of `observed` counts against `weights` (normalised here); `None` with
/// fewer than two cells, no observations or a non-positive weight.
pub fn chi_square(observed: &[u64], weights: &[f64]) -> Option<Test> {
    if observed.len() < 2 || observed.len() != weights.len() || weights.iter().any(|w| *w <= 0.0) {
        return None;
    }
    let total: f64 = observed.iter().map(|o| *o as f64).sum();
    let wsum: f64 = weights.iter().sum();
    if total == 0.0 {
        return None;
    }
    let stat: f64 = observed
        .iter()
        .zip(weights)
        .map(|(o, w)| {
            let e = total * w / wsum;
            (*o as f64 - e).powi(2) / e
        })
        .sum();
    let df = (observed.len() - 1) as f64;
    let p = ChiSquared::new(df).ok()?.sf(stat);
    Some(Test {
        statistic: stat,
        df: Some(df),
        p_value: p,
    })
}

/// The two-sided critical value of the standard normal at `alpha`.
fn z_crit(alpha: f64) -> f64 {
    normal().inverse_cdf(1.0 - alpha / 2.0)
}

/// Wilson score interval of a proportion at level 1 − `alpha`.
pub fn wilson(successes: u64, trials: u64, alpha: f64) -> Option<(f64, f64)> {
    if trials == 0 || successes > trials {
        return None;
    }
    let (k, n) = (successes as f64, trials as f64);
    let z = z_crit(alpha);
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// Student-t interval of a mean at level 1 − `alpha`.
pub fn mean_interval(s: Summary, alpha: f64) -> Option<(f64, f64)> {
    let t = StudentsT::new(0.0, 1.0, s.n as f64 - 1.0)
        .ok()?
        .inverse_cdf(1.0 - alpha / 2.0);
    let half = t * s.sd / (s.n as f64).sqrt();
    Some((s.mean - half, s.mean + half))
}

/// Whether and how an experiment has ended, for [`results`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct State {
    /// When it was stopped (Unix ms), if it was.
    pub stopped_ms: Option<i64>,
    /// The time of the results.
    pub now_ms: i64,
}

/// Where an experiment stands (its `state` in every answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before its start.
    Scheduled,
    /// Between its start and its end.
    Running,
    /// Past its end.
    Ended,
    /// Stopped by an admin (whatever its end).
    Stopped,
}

impl Phase {
    /// The name answers carry: `scheduled`, `running`, `ended`, `stopped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Running => "running",
            Self::Ended => "ended",
            Self::Stopped => "stopped",
        }
    }
}

impl State {
    /// Where `exp` stands at `now_ms`.
    pub fn phase(&self, exp: &Experiment) -> Phase {
        if self.stopped_ms.is_some() {
            Phase::Stopped
        } else if exp.end_ms.is_some_and(|e| self.now_ms >= e) {
            Phase::Ended
        } else if self.now_ms < exp.start_ms {
            Phase::Scheduled
        } else {
            Phase::Running
        }
    }
}

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

fn metric_results(
    exp: &Experiment,
    m: &Metric,
    c: &Counters,
    arms: &[&str],
    test_alpha: f64,
    conclusive: bool,
) -> Value {
    let key = |a: &str| (m.name.clone(), a.to_string());
    let n = |a: &str| c.exposures.get(a).copied().unwrap_or(0);
    let units = |a: &str| c.units.get(&key(a)).copied().unwrap_or(0);
    let sum = |a: &str| c.sum.get(&key(a)).copied().unwrap_or(0.0);
    let sum_sq = |a: &str| c.sum_sq.get(&key(a)).copied().unwrap_or(0.0);
    let summary = |a: &str| Summary::from_sums(n(a), sum(a), sum_sq(a));
    // The arm's estimate: rate or mean.
    let estimate = |a: &str| -> Option<f64> {
        let n = n(a);
        (n > 0).then(|| match m.kind {
            MetricKind::Conversion => units(a) as f64 / n as f64,
            MetricKind::Mean => sum(a) / n as f64,
        })
    };
    let per_arm: Vec<Value> = arms
        .iter()
        .map(|a| {
            let mut v = json!({"arm": a, "exposures": n(a)});
            match m.kind {
                MetricKind::Conversion => {
                    v["conversions"] = json!(units(a));
                    v["rate"] = estimate(a).map_or(Value::Null, round);
                    v["interval"] = interval(wilson(units(a), n(a), exp.alpha));
                }
                MetricKind::Mean => {
                    v["units_with_values"] = json!(units(a));
                    v["sum"] = round(sum(a));
                    v["mean"] = estimate(a).map_or(Value::Null, round);
                    v["sd"] = summary(a).map_or(Value::Null, |s| round(s.sd));
                    v["interval"] = interval(summary(a).and_then(|s| mean_interval(s, exp.alpha)));
                }
            }
            v
        })
        .collect();
    let control = arms[0];
    let comparisons: Vec<Value> = arms[1..]
        .iter()
        .map(|a| {
            let (test, diff_interval) = match m.kind {
                MetricKind::Conversion => {
                    let t = two_proportion_z(units(control), n(control), units(a), n(a));
                    let ci = match (estimate(control), estimate(a)) {
                        (Some(p1), Some(p2)) => {
                            let se = (p1 * (1.0 - p1) / n(control) as f64
                                + p2 * (1.0 - p2) / n(a) as f64)
                                .sqrt();
                            let h = z_crit(test_alpha) * se;
                            Some((p2 - p1 - h, p2 - p1 + h))
                        }
                        _ => None,
                    };
                    (t, ci)
                }
                MetricKind::Mean => match (summary(control), summary(a)) {
                    (Some(s1), Some(s2)) => {
                        let t = welch_t(s1, s2);
                        let ci = t.and_then(|t| {
                            let se = (s1.sd * s1.sd / s1.n as f64 + s2.sd * s2.sd / s2.n as f64)
                                .sqrt();
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
            };
            let diff = estimate(a).zip(estimate(control)).map(|(t, c)| t - c);
            let base = estimate(control).filter(|b| *b != 0.0);
            let lift = diff.zip(base).map(|(d, b)| d / b.abs());
            let lift_interval = diff_interval.zip(base).map(|((lo, hi), b)| (lo / b.abs(), hi / b.abs()));
            let significant = test.map(|t| t.p_value < test_alpha);
            let improves = diff.map(|d| match m.better {
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
                "test": match m.kind { MetricKind::Conversion => "two-proportion z", MetricKind::Mean => "welch t" },
                "statistic": test.map(|t| round(t.statistic)),
                "df": test.and_then(|t| t.df).map(round),
                "p_value": test.map(|t| round(t.p_value)),
                "significant": significant,
                "verdict": verdict,
            })
        })
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

/// The flag-metadata key that marks a flag as under an experiment (its id). OFREP clients see
/// it in every evaluation's `metadata`, so they can tag their own analytics with it.
pub const STAMP: &str = "experiment";
/// The flag-metadata key listing the boards (comma-separated) whose submissions feed the
/// experiment: the scores component reads it from the flag document it already loads.
pub const STAMP_BOARDS: &str = "experimentBoards";

fn flag_mut<'d>(doc: &'d mut Value, flag: &str) -> Result<&'d mut serde_json::Map<String, Value>> {
    doc.get_mut("flags")
        .and_then(|f| f.get_mut(flag))
        .and_then(Value::as_object_mut)
        .ok_or_else(|| {
            LeaderboardError::Conflict(format!("the flag document has no flag '{flag}'"))
        })
}

/// Marks `exp`'s flag in a flag document as under the experiment. Refuses (409) when the flag
/// is gone or lost one of the arms: stop the experiment before removing them.
pub fn stamp(doc: &mut Value, exp: &Experiment) -> Result<()> {
    let flag = flag_mut(doc, &exp.flag).map_err(|_| {
        LeaderboardError::Conflict(format!(
            "flag '{}' is under running experiment '{}'; stop the experiment before removing it",
            exp.flag, exp.id
        ))
    })?;
    let variants = flag.get("variants").and_then(Value::as_object);
    if let Some(missing) = exp
        .arms()
        .into_iter()
        .find(|a| !variants.is_some_and(|v| v.contains_key(*a)))
    {
        return Err(LeaderboardError::Conflict(format!(
            "flag '{}' is under running experiment '{}', whose arm '{missing}' must stay a variant; stop the experiment first",
            exp.flag, exp.id
        )));
    }
    let md = flag
        .entry("metadata")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| {
            LeaderboardError::InvalidBody(format!(
                "flag '{}': metadata must be an object",
                exp.flag
            ))
        })?;
    md.insert(STAMP.into(), Value::String(exp.id.clone()));
    let boards = exp.boards();
    if boards.is_empty() {
        md.remove(STAMP_BOARDS);
    } else {
        md.insert(STAMP_BOARDS.into(), Value::String(boards.join(",")));
    }
    Ok(())
}

/// Removes `id`'s mark from `flag` (no-op when the flag is gone or marked by another); with
/// `promote`, makes that variant the flag's default for everyone (its targeting rule removed).
pub fn unstamp(doc: &mut Value, flag: &str, id: &str, promote: Option<&str>) -> Result<()> {
    let Ok(f) = flag_mut(doc, flag) else {
        return match promote {
            Some(_) => Err(LeaderboardError::Conflict(format!(
                "flag '{flag}' no longer exists; nothing to promote"
            ))),
            None => Ok(()),
        };
    };
    if let Some(md) = f.get_mut("metadata").and_then(Value::as_object_mut)
        && md.get(STAMP).and_then(Value::as_str) == Some(id)
    {
        md.remove(STAMP);
        md.remove(STAMP_BOARDS);
    }
    if let Some(arm) = promote {
        if f.get("variants").is_none_or(|v| v.get(arm).is_none()) {
            return Err(LeaderboardError::Conflict(format!(
                "'{arm}' is not a variant of flag '{flag}'"
            )));
        }
        f.insert("defaultVariant".into(), Value::String(arm.to_string()));
        f.remove("targeting");
    }
    Ok(())
}

/// The experiments (`(id, flag)`) whose flags are marked as fed by `board`'s submissions in a
/// stored flag document.
pub fn fed_by_board(doc: &Value, board: &str) -> Vec<String> {
    doc.get("flags")
        .and_then(Value::as_object)
        .map(|flags| {
            flags
                .values()
                .filter(|f| f.get("state").and_then(Value::as_str) == Some("ENABLED"))
                .filter_map(|f| {
                    let md = f.get("metadata")?;
                    let boards = md.get(STAMP_BOARDS)?.as_str()?;
                    boards
                        .split(',')
                        .any(|b| b == board)
                        .then(|| md.get(STAMP)?.as_str().map(str::to_string))?
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "experiment_tests.rs"]
mod tests;
