//! The integrity rules a board carries: their settings as given ([`IntegrityInput`]), built
//! into [`Integrity`] and checked when posted ([`IntegrityInput::validate`]). How a submission is judged against them is [`crate::integrity::check`].
//!
//!
//! A board's `integrity` config ([`IntegrityInput`] → [`Integrity`]) holds up to four rules, each
//! with an [`Action`]: `flag` (applied and marked for review), `hold` (not applied until an admin
//! approves it) or `reject` (refused with `422`). When several rules trigger, the strongest action
//! wins (`reject` > `hold` > `flag`) and every triggered rule is reported ([`Verdict`]).
//!
//! - **velocity** (`max`, `window_secs`): at most `max` accepted submissions per player in any
//!   window of `window_secs` (a sliding log of the player's last `max` accepted times). Rejected
//!   submissions change nothing, so they do not count.
//! - **improvement** (`max_abs` in the board's score units, `max_pct` of the previous best,
//!   `window_secs`): how far a player's standing may move in the better direction within a
//!   window. The window is anchored at the player's first accepted submission after the previous
//!   window ended, with the standing of that moment as its baseline; a player without a standing
//!   takes the first one as the baseline (the outlier rule judges first scores). With both limits
//!   the larger allowance holds (a fixed step alone punishes strong players, a percentage alone
//!   weak ones).
//! - **outlier** (`threshold`, default 3.5; `min_players`, default 100): the robust z-score of
//!   Iglewicz and Hoaglin, Mᵢ = 0.6745·(xᵢ − median)/MAD, of the submitted standing against a
//!   sample of the board's current standings ([`RobustStats::of`]); only scores better than the
//!   crowd are judged (a poor score harms nobody), and only once the board has `min_players`.
//!   When half the sample is one value the MAD is 0; then the mean absolute deviation stands in
//!   (Mᵢ = (xᵢ − median)/(1.253314·MeanAD)), and when that is 0 too nothing is judged.
//! - **burst** (`players`, `window_secs`): `players` or more different players submitting the
//!   same score within `window_secs`. The submission that reaches the count triggers; the
//!   adapter flags the earlier members of the burst for review too (they were already applied).

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use crate::board::score::ScoreType;
use crate::error::{LeaderboardError, Result};

/// What a triggered rule does to the submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Applied, and listed for review.
    Flag,
    /// Not applied (invisible to every read) until an admin approves it; answered `202`.
    Hold,
    /// Refused with `422` naming the rule; nothing changes.
    Reject,
}

/// Which rule triggered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Too many submissions per player per window.
    Velocity,
    /// The standing improved too much within a window.
    Improvement,
    /// Far better than the board's distribution.
    Outlier,
    /// The same score from many players at once.
    Burst,
}

impl Rule {
    /// `"velocity"`, `"improvement"`, `"outlier"` or `"burst"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Velocity => "velocity",
            Self::Improvement => "improvement",
            Self::Outlier => "outlier",
            Self::Burst => "burst",
        }
    }
}

/// The longest window a rule may have: 30 days.
pub const MAX_WINDOW_SECS: u32 = 30 * 86_400;
/// The most submissions a velocity rule may allow per window (its log holds that many times).
pub const MAX_VELOCITY: u32 = 1_000;
/// The most players a burst rule may count.
pub const MAX_BURST_PLAYERS: u32 = 10_000;
/// Iglewicz and Hoaglin's recommended threshold.
pub const DEFAULT_OUTLIER_THRESHOLD: f64 = 3.5;
/// Players a board needs before the outlier rule judges.
pub const DEFAULT_OUTLIER_MIN_PLAYERS: u32 = 100;
/// The fewest players an outlier rule may be configured to start at (below, a median means
/// little).
pub const MIN_OUTLIER_PLAYERS: u32 = 10;

/// `integrity` as a client sends it in a board config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrityInput {
    /// Submissions per player per window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub velocity: Option<VelocityInput>,
    /// Improvement per window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub improvement: Option<ImprovementInput>,
    /// Robust z-score against the board.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlier: Option<OutlierInput>,
    /// One score from many players.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<BurstInput>,
}

/// `integrity.velocity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VelocityInput {
    /// Accepted submissions allowed per window (1..=1000).
    pub max: u32,
    /// The window (1 s..=30 d).
    pub window_secs: u32,
    /// What happens past it.
    pub action: Action,
}

/// `integrity.improvement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImprovementInput {
    /// The most the standing may improve per window, in the board's score units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_abs: Option<Value>,
    /// The most it may improve per window, in percent of the previous best's magnitude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pct: Option<Number>,
    /// The window.
    pub window_secs: u32,
    /// What happens past it.
    pub action: Action,
}

/// `integrity.outlier`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutlierInput {
    /// The robust z-score above which a score is an outlier (default 3.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Number>,
    /// Players the board needs before it judges (default 100, at least 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_players: Option<u32>,
    /// What happens to an outlier.
    pub action: Action,
}

/// `integrity.burst`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurstInput {
    /// Different players with the same score that make a burst (2..=10000).
    pub players: u32,
    /// Within this long.
    pub window_secs: u32,
    /// What happens to the submission that completes a burst.
    pub action: Action,
}

/// A validated velocity rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Velocity {
    /// Accepted submissions allowed per window.
    pub max: u32,
    /// The window (ms).
    pub window_ms: i64,
    /// Its action.
    pub action: Action,
}

/// A validated improvement rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Improvement {
    /// The most improvement per window, in minor units.
    pub max_abs: Option<i64>,
    /// The most improvement per window, in percent of the baseline's magnitude.
    pub max_pct: Option<f64>,
    /// The window (ms).
    pub window_ms: i64,
    /// Its action.
    pub action: Action,
}

/// A validated outlier rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outlier {
    /// The robust z-score threshold.
    pub threshold: f64,
    /// Players needed before it judges.
    pub min_players: u32,
    /// Its action.
    pub action: Action,
}

/// A validated burst rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Burst {
    /// Players that make a burst.
    pub players: u32,
    /// The window (ms).
    pub window_ms: i64,
    /// Its action.
    pub action: Action,
}

/// A board's integrity rules. (`Eq` holds: their numbers come from JSON, which has no NaN.)
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Integrity {
    /// Velocity.
    pub velocity: Option<Velocity>,
    /// Improvement.
    pub improvement: Option<Improvement>,
    /// Outlier.
    pub outlier: Option<Outlier>,
    /// Burst.
    pub burst: Option<Burst>,
}

impl Eq for Integrity {}

fn bad<T>(message: String) -> Result<T> {
    Err(LeaderboardError::InvalidConfig(format!(
        "integrity: {message}"
    )))
}

fn window(rule: &str, ms: i64) -> Result<()> {
    let secs = ms / 1_000;
    if secs == 0 || secs > i64::from(MAX_WINDOW_SECS) {
        return bad(format!(
            "{rule}.window_secs must be 1..={MAX_WINDOW_SECS} (30 days), got {secs}"
        ));
    }
    Ok(())
}

impl IntegrityInput {
    /// Validates the rules for a board with scores of `score_type`: [`IntegrityInput::build`],
    /// then [`Integrity::check`].
    pub fn validate(&self, score_type: ScoreType) -> Result<Integrity> {
        let integrity = self.build(score_type)?;
        integrity.check()?;
        Ok(integrity)
    }

    /// The rules as posted or stored, defaults filled, unchecked but for `max_abs` being a
    /// score of `score_type`: how stored rules are read.
    pub fn build(&self, score_type: ScoreType) -> Result<Integrity> {
        let ms = |secs: u32| i64::from(secs) * 1_000;
        let improvement = match &self.improvement {
            None => None,
            Some(i) => Some(Improvement {
                max_abs: i
                    .max_abs
                    .as_ref()
                    .map(|v| {
                        score_type.parse_value(v).map_err(|e| {
                            LeaderboardError::InvalidConfig(format!(
                                "integrity: improvement.max_abs: {e}"
                            ))
                        })
                    })
                    .transpose()?,
                max_pct: i.max_pct.as_ref().map(|n| n.as_f64().unwrap_or(f64::NAN)),
                window_ms: ms(i.window_secs),
                action: i.action,
            }),
        };
        Ok(Integrity {
            velocity: self.velocity.as_ref().map(|v| Velocity {
                max: v.max,
                window_ms: ms(v.window_secs),
                action: v.action,
            }),
            improvement,
            outlier: self.outlier.as_ref().map(|o| Outlier {
                threshold: o.threshold.as_ref().map_or(DEFAULT_OUTLIER_THRESHOLD, |n| {
                    n.as_f64().unwrap_or(f64::NAN)
                }),
                min_players: o.min_players.unwrap_or(DEFAULT_OUTLIER_MIN_PLAYERS),
                action: o.action,
            }),
            burst: self.burst.as_ref().map(|b| Burst {
                players: b.players,
                window_ms: ms(b.window_secs),
                action: b.action,
            }),
        })
    }
}

impl Integrity {
    /// What posted rules must hold: each bound within its range, each window 1 s to 30 days,
    /// an improvement rule with `max_abs`, `max_pct` or both.
    pub fn check(&self) -> Result<()> {
        if let Some(v) = &self.velocity {
            if v.max == 0 || v.max > MAX_VELOCITY {
                return bad(format!(
                    "velocity.max must be 1..={MAX_VELOCITY}, got {}",
                    v.max
                ));
            }
            window("velocity", v.window_ms)?;
        }
        if let Some(i) = &self.improvement {
            if i.max_abs.is_some_and(|a| a <= 0) {
                return bad("improvement.max_abs must be positive".into());
            }
            if let Some(p) = i.max_pct
                && !(p.is_finite() && p > 0.0 && p <= 1_000_000.0)
            {
                return bad(format!(
                    "improvement.max_pct must be above 0 and at most 1000000, got {p}"
                ));
            }
            if i.max_abs.is_none() && i.max_pct.is_none() {
                return bad("improvement needs max_abs, max_pct or both".into());
            }
            window("improvement", i.window_ms)?;
        }
        if let Some(o) = &self.outlier {
            if !(o.threshold.is_finite() && (1.0..=100.0).contains(&o.threshold)) {
                return bad(format!(
                    "outlier.threshold must be 1..=100, got {}",
                    o.threshold
                ));
            }
            if o.min_players < MIN_OUTLIER_PLAYERS {
                return bad(format!(
                    "outlier.min_players must be at least {MIN_OUTLIER_PLAYERS}, got {}",
                    o.min_players
                ));
            }
        }
        if let Some(b) = &self.burst {
            if b.players < 2 || b.players > MAX_BURST_PLAYERS {
                return bad(format!(
                    "burst.players must be 2..={MAX_BURST_PLAYERS}, got {}",
                    b.players
                ));
            }
            window("burst", b.window_ms)?;
        }
        Ok(())
    }

    /// Whether a rule holds what it catches for review (`hold`).
    pub fn holds(&self) -> bool {
        [
            self.velocity.map(|r| r.action),
            self.improvement.map(|r| r.action),
            self.outlier.map(|r| r.action),
            self.burst.map(|r| r.action),
        ]
        .contains(&Some(Action::Hold))
    }

    /// Whether no rule is set.
    pub fn is_empty(&self) -> bool {
        self.velocity.is_none()
            && self.improvement.is_none()
            && self.outlier.is_none()
            && self.burst.is_none()
    }

    /// The canonical input form (every field explicit), for a board's config as read back.
    pub fn to_input(&self, score_type: ScoreType) -> IntegrityInput {
        let secs = |ms: i64| u32::try_from(ms / 1_000).unwrap_or(MAX_WINDOW_SECS);
        IntegrityInput {
            velocity: self.velocity.map(|v| VelocityInput {
                max: v.max,
                window_secs: secs(v.window_ms),
                action: v.action,
            }),
            improvement: self.improvement.map(|i| ImprovementInput {
                max_abs: i.max_abs.map(|a| score_type.to_json(a)),
                max_pct: i.max_pct.and_then(Number::from_f64),
                window_secs: secs(i.window_ms),
                action: i.action,
            }),
            outlier: self.outlier.map(|o| OutlierInput {
                threshold: Number::from_f64(o.threshold),
                min_players: Some(o.min_players),
                action: o.action,
            }),
            burst: self.burst.map(|b| BurstInput {
                players: b.players,
                window_secs: secs(b.window_ms),
                action: b.action,
            }),
        }
    }
}
