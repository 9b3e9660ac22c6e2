//! Reviews: submissions an integrity rule ([`crate::integrity::check`]) held or flagged, waiting for an
//! admin's decision.
//!
//! - A **held** submission was not applied: approving it applies it as the original submission
//!   (its original time, so it ranks as it would have); rejecting it leaves nothing.
//! - A **flagged** submission was applied: approving it only closes the review; rejecting it
//!   takes the score back — the player's record returns to what it was before — provided the
//!   record is still the one the flagged submission made (else `409`: a later submission changed
//!   it; delete the player's record instead).
//!
//! Deciding again the same way answers the same (idempotent); deciding the other way after a
//! decision is `409`.

use crate::Conflict;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::board::config::Board;
use crate::board::period::PeriodId;
use crate::board::record::{Record, Submission};
use crate::error::{LeaderboardError, Result};
use crate::ids::PlayerId;
use crate::integrity::check::Trigger;

/// Most reviews one page of `GET …/reviews` lists.
pub const MAX_PAGE: u32 = 500;

/// Where a review stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Not applied; waiting.
    Held,
    /// Applied; waiting.
    Flagged,
    /// Approved (a held one is applied now).
    Approved,
    /// Rejected (nothing of it stays).
    Rejected,
}

impl ReviewStatus {
    /// Whether an admin has yet to decide.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Held | Self::Flagged)
    }
}

/// One reviewed submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// `rv_` + hex.
    pub id: String,
    /// Where it stands.
    pub status: ReviewStatus,
    /// Whether it was applied when submitted (flagged) or held.
    pub held: bool,
    /// Who submitted.
    pub player: PlayerId,
    /// The period it was submitted in.
    pub period: PeriodId,
    /// The submission, in minor units.
    pub submission: Submission,
    /// When it was submitted (Unix ms).
    pub submitted_at_ms: i64,
    /// The rules that triggered.
    pub triggers: Vec<Trigger>,
    /// A flagged submission's record before it (none: the player had none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Record>,
    /// A flagged submission's record after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<Record>,
    /// When it was decided (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at_ms: Option<i64>,
    /// Who decided (the admin's subject).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
}

/// What a decision asks the adapter to do to the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Nothing (the review alone changes).
    None,
    /// Apply the held submission as of its original time.
    Apply,
    /// Put back the record as it was before the flagged submission, if the record is still
    /// the one it made.
    Revert,
}

impl Review {
    /// An undecided review of `player`'s `submission` at `submitted_at_ms`: held (not applied)
    /// or flagged (applied; set `previous` and `applied` when they are known).
    pub fn open(
        id: String,
        held: bool,
        player: PlayerId,
        period: PeriodId,
        submission: Submission,
        submitted_at_ms: i64,
        triggers: Vec<Trigger>,
    ) -> Self {
        Self {
            id,
            status: if held {
                ReviewStatus::Held
            } else {
                ReviewStatus::Flagged
            },
            held,
            player,
            period,
            submission,
            submitted_at_ms,
            triggers,
            previous: None,
            applied: None,
            decided_at_ms: None,
            decided_by: None,
        }
    }

    /// Approves it at `now_ms` by `by`.
    pub fn approve(&mut self, now_ms: i64, by: &str) -> Result<Effect> {
        self.decide(ReviewStatus::Approved, now_ms, by)
    }

    /// Rejects it at `now_ms` by `by`.
    pub fn reject(&mut self, now_ms: i64, by: &str) -> Result<Effect> {
        self.decide(ReviewStatus::Rejected, now_ms, by)
    }

    fn decide(&mut self, to: ReviewStatus, now_ms: i64, by: &str) -> Result<Effect> {
        if self.status == to {
            return Ok(Effect::None);
        }
        if !self.status.is_open() {
            return Err(Conflict::ReviewDecided {
                id: self.id.to_string(),
                status: status_name(self.status),
            }
            .into());
        }
        let effect = match (to, self.held) {
            (ReviewStatus::Approved, true) => Effect::Apply,
            (ReviewStatus::Rejected, false) => Effect::Revert,
            _ => Effect::None,
        };
        self.status = to;
        self.decided_at_ms = Some(now_ms);
        self.decided_by = Some(by.to_string());
        Ok(effect)
    }

    /// The API's view: scores in the board's units, times as Unix ms.
    pub fn view(&self, board: &Board) -> Value {
        let mut v = json!({
            "id": self.id,
            "status": status_name(self.status),
            "held": self.held,
            "player": self.player.as_str(),
            "period": self.period.to_string(),
            "score": board.score_type.to_json(self.submission.score),
            "submitted_at_ms": self.submitted_at_ms,
            "submitted_at": crate::time::iso(self.submitted_at_ms),
            "triggers": self.triggers,
        });
        if let Value::Object(map) = &mut v {
            if let Some(s) = self.submission.subscore {
                map.insert("subscore".into(), json!(s));
            }
            if let Some(m) = &self.submission.metadata {
                map.insert("metadata".into(), m.clone());
            }
            if let Some(t) = self.decided_at_ms {
                map.insert("decided_at_ms".into(), json!(t));
            }
            if let Some(by) = &self.decided_by {
                map.insert("decided_by".into(), json!(by));
            }
        }
        v
    }
}

/// `"held"`, `"flagged"`, `"approved"` or `"rejected"`.
pub fn status_name(s: ReviewStatus) -> &'static str {
    match s {
        ReviewStatus::Held => "held",
        ReviewStatus::Flagged => "flagged",
        ReviewStatus::Approved => "approved",
        ReviewStatus::Rejected => "rejected",
    }
}

/// Parses a `?status=` filter: `open` (held and flagged, the default), one status, or `all`.
pub fn parse_filter(raw: Option<&str>) -> Result<Option<Vec<ReviewStatus>>> {
    Ok(match raw.unwrap_or("open") {
        "open" => Some(vec![ReviewStatus::Held, ReviewStatus::Flagged]),
        "all" => None,
        "held" => Some(vec![ReviewStatus::Held]),
        "flagged" => Some(vec![ReviewStatus::Flagged]),
        "approved" => Some(vec![ReviewStatus::Approved]),
        "rejected" => Some(vec![ReviewStatus::Rejected]),
        other => {
            return Err(LeaderboardError::InvalidBody(format!(
                "status must be open, all, held, flagged, approved or rejected, got {other:?}"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn review(held: bool) -> Review {
        Review::open(
            "rv_1".into(),
            held,
            PlayerId::new("p").unwrap(),
            PeriodId::AllTime,
            Submission {
                score: 5,
                subscore: None,
                metadata: None,
                band: None,
            },
            10,
            Vec::new(),
        )
    }

    #[test]
    fn approving_a_held_one_applies_it_and_is_idempotent() {
        let mut r = review(true);
        assert_eq!(r.approve(20, "admin").unwrap(), Effect::Apply);
        assert_eq!(r.status, ReviewStatus::Approved);
        assert_eq!(r.decided_at_ms, Some(20));
        assert_eq!(r.approve(30, "admin").unwrap(), Effect::None);
        assert_eq!(r.decided_at_ms, Some(20));
        assert!(matches!(
            r.reject(40, "admin"),
            Err(LeaderboardError::Conflict(Conflict::ReviewDecided {
                status: "approved",
                ..
            }))
        ));
    }

    #[test]
    fn rejecting_a_flagged_one_reverts_it_and_a_held_one_leaves_nothing() {
        let mut flagged = review(false);
        assert_eq!(flagged.reject(20, "a").unwrap(), Effect::Revert);
        assert_eq!(flagged.reject(21, "a").unwrap(), Effect::None);
        let mut held = review(true);
        assert_eq!(held.reject(20, "a").unwrap(), Effect::None);
        assert_eq!(held.status, ReviewStatus::Rejected);
        let mut ok = review(false);
        assert_eq!(ok.approve(20, "a").unwrap(), Effect::None);
    }

    #[test]
    fn a_review_round_trips_through_json() {
        let r = review(true);
        let back: Review = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        assert!(parse_filter(Some("nope")).is_err());
        assert_eq!(parse_filter(None).unwrap().unwrap().len(), 2);
        assert!(parse_filter(Some("all")).unwrap().is_none());
    }
}
