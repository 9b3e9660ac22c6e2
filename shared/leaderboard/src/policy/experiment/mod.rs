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
use serde_json::Value;

use crate::error::{LeaderboardError, Result};

use check::{arm_weights, check_metrics};

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
        let weights = arm_weights(&self.flag, flag_json, self.weights, &self.control)?;
        check_metrics(&self.metrics)?;
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

mod check;
mod results;
mod stamp;
mod stats;

pub use results::{results, winner};
pub use stamp::{STAMP, STAMP_BOARDS, fed_by_board, stamp, unstamp};
pub use stats::{Summary, Test, chi_square, mean_interval, two_proportion_z, welch_t, wilson};

#[cfg(test)]
mod tests;
