//! Score integrity: a submission judged against its board's rules ([`crate::board::rules`])
//! from plain facts (time is an argument), so the adapters only gather the facts and store the
//! outcome. When several rules trigger, the strongest action wins (`reject` > `hold` > `flag`)
//! and every triggered rule is reported ([`Verdict`]).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::board::config::SortOrder;
use crate::board::rules::{Action, Burst, Improvement, Integrity, Outlier, Rule, Velocity};

/// What integrity remembers of one player on one board (stored beside the record; changed only
/// by an accepted submission).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayerState {
    /// Times (Unix ms) of the player's latest accepted submissions, oldest first (at most the
    /// velocity rule's `max`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_ms: Vec<i64>,
    /// When the current improvement window began (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_start_ms: Option<i64>,
    /// The standing's score when it began (minor units; none: the player had no standing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<i64>,
}

/// A robust summary of the board's standings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RobustStats {
    /// The median score (minor units).
    pub median: f64,
    /// The median absolute deviation from it.
    pub mad: f64,
    /// The mean absolute deviation from the median (stands in when the MAD is 0).
    pub mean_ad: f64,
}

impl RobustStats {
    /// The statistics of `sample` (scores in minor units, any order); none for an empty one.
    pub fn of(sample: &[i64]) -> Option<Self> {
        if sample.is_empty() {
            return None;
        }
        let mut values: Vec<f64> = sample.iter().map(|&v| v as f64).collect();
        let median = median_of(&mut values);
        let mut deviations: Vec<f64> = values.iter().map(|v| (v - median).abs()).collect();
        let mean_ad = deviations.iter().sum::<f64>() / deviations.len() as f64;
        let mad = median_of(&mut deviations);
        Some(Self {
            median,
            mad,
            mean_ad,
        })
    }

    /// The robust z-score of `score` (positive = better than the median, for either sort
    /// order); none when the spread is 0.
    pub fn z(&self, score: i64, sort: SortOrder) -> Option<f64> {
        let signed = match sort {
            SortOrder::Desc => score as f64 - self.median,
            SortOrder::Asc => self.median - score as f64,
        };
        if self.mad > 0.0 {
            Some(0.6745 * signed / self.mad)
        } else if self.mean_ad > 0.0 {
            Some(signed / (1.253_314 * self.mean_ad))
        } else {
            None
        }
    }
}

fn median_of(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// What the adapter knows when a submission arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts<'a> {
    /// The board's ranking direction.
    pub sort: SortOrder,
    /// What integrity remembers of the player.
    pub player: &'a PlayerState,
    /// The player's standing score before the submission (minor units), if any.
    pub before: Option<i64>,
    /// The standing score the submission would give (minor units).
    pub after: i64,
    /// Players on the board (the current period).
    pub players: u64,
    /// The board's robust statistics, when the outlier rule is set and there are standings.
    pub stats: Option<RobustStats>,
    /// Other players who submitted the same score within the burst window.
    pub same_score_players: u64,
}

/// A rule that triggered, with the numbers that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// The rule.
    pub rule: Rule,
    /// Its action.
    pub action: Action,
    /// In words, for the review list and the problem's detail.
    pub detail: String,
    /// The numbers (rule-specific).
    pub numbers: Value,
}

/// What the rules say about one submission.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Verdict {
    /// Every rule that triggered.
    pub triggers: Vec<Trigger>,
}

impl Verdict {
    /// The strongest action of the triggered rules; none when nothing triggered.
    pub fn action(&self) -> Option<Action> {
        self.triggers.iter().map(|t| t.action).max()
    }

    /// The trigger with the strongest action (the first such).
    pub fn decisive(&self) -> Option<&Trigger> {
        let action = self.action()?;
        self.triggers.iter().find(|t| t.action == action)
    }
}

/// How far `after` is better than `before` (0 when not better).
fn gain(sort: SortOrder, before: i64, after: i64) -> i64 {
    let g = match sort {
        SortOrder::Desc => after.saturating_sub(before),
        SortOrder::Asc => before.saturating_sub(after),
    };
    g.max(0)
}

/// Judges one submission at `now_ms`.
pub fn check(rules: &Integrity, facts: &Facts<'_>, now_ms: i64) -> Verdict {
    let triggers = [
        rules.velocity.and_then(|v| velocity(v, facts, now_ms)),
        rules
            .improvement
            .and_then(|i| improvement(i, facts, now_ms)),
        rules.outlier.and_then(|o| outlier(o, facts)),
        rules.burst.and_then(|b| burst(b, facts)),
    ];
    Verdict {
        triggers: triggers.into_iter().flatten().collect(),
    }
}

/// `velocity`: the player submitted `max` times within the window already.
fn velocity(v: Velocity, facts: &Facts<'_>, now_ms: i64) -> Option<Trigger> {
    let max = v.max as usize;
    let since = now_ms.saturating_sub(v.window_ms);
    let within = facts
        .player
        .recent_ms
        .iter()
        .filter(|&&t| t > since)
        .count();
    (within >= max).then(|| Trigger {
        rule: Rule::Velocity,
        action: v.action,
        detail: format!(
            "{within} submissions within {} s already; at most {} allowed",
            v.window_ms / 1_000,
            v.max
        ),
        numbers: json!({"submissions": within + 1, "max": v.max, "window_secs": v.window_ms / 1_000}),
    })
}

/// `improvement`: the score improves on the window's starting best by more than allowed.
fn improvement(i: Improvement, facts: &Facts<'_>, now_ms: i64) -> Option<Trigger> {
    let (start, baseline) = window_after(facts.player, i.window_ms, facts.before, now_ms);
    let base = baseline?;
    let g = gain(facts.sort, base, facts.after);
    let by_pct = i
        .max_pct
        .map(|p| (base.unsigned_abs() as f64 * p / 100.0).floor());
    let allowed = match (i.max_abs, by_pct) {
        (Some(a), Some(p)) => (a as f64).max(p),
        (Some(a), None) => a as f64,
        (None, Some(p)) => p,
        (None, None) => f64::INFINITY,
    };
    (g as f64 > allowed).then(|| Trigger {
        rule: Rule::Improvement,
        action: i.action,
        detail: format!(
            "improved by {g} over the window's starting best {base}; at most {allowed} allowed"
        ),
        numbers: json!({
            "baseline": base,
            "score": facts.after,
            "improvement": g,
            "allowed": allowed,
            "window_start_ms": start,
            "window_secs": i.window_ms / 1_000,
        }),
    })
}

/// `outlier`: the score's robust z-score against the board's median is above the threshold
/// (once the board has enough players).
fn outlier(o: Outlier, facts: &Facts<'_>) -> Option<Trigger> {
    let stats = facts.stats?;
    if facts.players < u64::from(o.min_players) {
        return None;
    }
    let z = stats
        .z(facts.after, facts.sort)
        .filter(|z| *z > o.threshold)?;
    Some(Trigger {
        rule: Rule::Outlier,
        action: o.action,
        detail: format!(
            "robust z-score {z:.2} against the board's median {} exceeds {}",
            stats.median, o.threshold
        ),
        numbers: json!({
            "z": (z * 100.0).round() / 100.0,
            "threshold": o.threshold,
            "median": stats.median,
            "mad": stats.mad,
            "players": facts.players,
        }),
    })
}

/// `burst`: enough players submitted this very score within the window.
fn burst(b: Burst, facts: &Facts<'_>) -> Option<Trigger> {
    let players = facts.same_score_players + 1;
    (players >= u64::from(b.players)).then(|| Trigger {
        rule: Rule::Burst,
        action: b.action,
        detail: format!(
            "{players} players submitted this score within {} s; {} make a burst",
            b.window_ms / 1_000,
            b.players
        ),
        numbers: json!({"players": players, "burst_players": b.players, "window_secs": b.window_ms / 1_000}),
    })
}

/// The improvement window a submission at `now_ms` falls in: `(start, baseline)`. A window that
/// ended (or none yet) starts anew now, with the standing before this submission as baseline.
fn window_after(
    state: &PlayerState,
    window_ms: i64,
    before: Option<i64>,
    now_ms: i64,
) -> (i64, Option<i64>) {
    match state.window_start_ms {
        Some(start) if now_ms.saturating_sub(start) < window_ms => (start, state.baseline),
        _ => (now_ms, before),
    }
}

/// The player's state after an accepted submission at `now_ms` (a rejected one leaves it as it
/// was). `before` and `after` are the standing's score before and after it; a window that began
/// without a standing takes the first one as its baseline.
pub fn admit(
    rules: &Integrity,
    state: &PlayerState,
    before: Option<i64>,
    after: i64,
    now_ms: i64,
) -> PlayerState {
    let mut next = PlayerState::default();
    if let Some(v) = rules.velocity {
        let since = now_ms.saturating_sub(v.window_ms);
        let mut recent: Vec<i64> = state
            .recent_ms
            .iter()
            .copied()
            .filter(|&t| t > since)
            .collect();
        recent.push(now_ms);
        let keep = v.max as usize;
        if recent.len() > keep {
            recent.drain(..recent.len() - keep);
        }
        next.recent_ms = recent;
    }
    if let Some(i) = rules.improvement {
        let (start, baseline) = window_after(state, i.window_ms, before, now_ms);
        next.window_start_ms = Some(start);
        next.baseline = baseline.or(Some(after));
    }
    next
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
