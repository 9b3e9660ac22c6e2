//! What became of a submission, typed, and how each door shows it: the REST body
//! ([`SubmitOutcome::render`], per API version), the summary GraphQL and Connect map to their own
//! types ([`SubmitOutcome::summary`]) and the `lb_score_submissions_total` label
//! ([`SubmitOutcome::metric_label`]). Every door reads the same value; none reads another's
//! rendered body back.

use serde_json::{Value, json};

use crate::board::config::Board;
use crate::board::view::{self, ApiVersion};
use crate::events::idempotency::StoredOutcome;
use crate::ids::PlayerId;
use crate::time::iso;

/// What became of a submission.
#[derive(Debug, Clone, PartialEq)]
pub enum SubmitOutcome {
    /// Applied now (a `sync` board) or accepted into the inbox (an `async` one): what an
    /// `Idempotency-Key` stores, and a replay answers again.
    Stored(StoredOutcome),
    /// Held for review by the board's integrity rules. Nothing is stored under a key: a retry is
    /// judged again.
    Held {
        /// The review holding it.
        review: String,
        /// The rules that held it.
        rules: Vec<String>,
    },
}

/// What became of a submission, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Applied now (a `sync` board).
    Applied,
    /// Accepted into the inbox (an `async` board).
    Accepted,
    /// Held for review by an integrity rule.
    Held,
}

/// A submission's answer as the doors that are not REST (GraphQL, Connect) show it. Scores are
/// text: a decimal in the board's scale, whatever the API version.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmitSummary {
    /// What became of it.
    pub fate: Fate,
    /// The player's entry after the write (applied only).
    pub entry: Option<SubmittedEntry>,
    /// Entries in the period after the write (applied only).
    pub total: Option<u64>,
    /// The score before, if the player had an entry (applied only).
    pub previous_score: Option<String>,
    /// Whether the standing improved (applied only).
    pub improved: Option<bool>,
    /// The inbox event id (accepted only).
    pub event_id: Option<String>,
    /// The review holding it (held only).
    pub review: Option<String>,
}

/// The entry of an applied submission.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmittedEntry {
    /// Competition rank.
    pub rank: u64,
    /// The score as text.
    pub score: String,
    /// The subscore.
    pub subscore: Option<i64>,
    /// When the standing was reached (RFC 3339).
    pub achieved_at: String,
    /// The metadata object.
    pub metadata: Option<Value>,
}

impl SubmitOutcome {
    /// What became of it, in one word.
    pub fn fate(&self) -> Fate {
        match self {
            Self::Stored(StoredOutcome::Applied { .. }) => Fate::Applied,
            Self::Stored(StoredOutcome::Accepted { .. }) => Fate::Accepted,
            Self::Held { .. } => Fate::Held,
        }
    }

    /// The REST status: `201` a first entry, `200` an applied one after, `202` accepted or held.
    pub fn status(&self) -> u16 {
        match self {
            Self::Stored(StoredOutcome::Applied { outcome, .. }) => outcome.status(),
            Self::Stored(StoredOutcome::Accepted { .. }) | Self::Held { .. } => 202,
        }
    }

    /// Its `outcome` label in `lb_score_submissions_total` (a replay is labelled `replayed` by
    /// whoever answers it).
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Stored(StoredOutcome::Applied { outcome, .. }) => {
                if outcome.previous_score.is_none() {
                    "created"
                } else if outcome.improved {
                    "improved"
                } else {
                    "unchanged"
                }
            }
            Self::Stored(StoredOutcome::Accepted { .. }) => "accepted",
            Self::Held { .. } => "held",
        }
    }

    /// The REST body, in API version `v`.
    pub fn render(&self, v: ApiVersion, board: &Board, player: &PlayerId) -> String {
        match self {
            Self::Stored(StoredOutcome::Applied {
                better,
                total,
                outcome,
            }) => view::submit(
                v,
                board,
                &outcome.period_view(),
                &outcome.submit_view(player, *better, *total),
            )
            .to_string(),
            Self::Stored(StoredOutcome::Accepted { event_id }) => json!({
                "accepted": true,
                "event_id": event_id,
                "board": board.id.as_str(),
                "player": player.as_str(),
                "write_mode": "async",
            })
            .to_string(),
            Self::Held { review, rules } => json!({
                "held": true,
                "review": review,
                "board": board.id.as_str(),
                "player": player.as_str(),
                "rules": rules,
            })
            .to_string(),
        }
    }

    /// The summary GraphQL and Connect show.
    pub fn summary(&self, board: &Board, player: &PlayerId) -> SubmitSummary {
        let mut summary = SubmitSummary {
            fate: self.fate(),
            entry: None,
            total: None,
            previous_score: None,
            improved: None,
            event_id: None,
            review: None,
        };
        match self {
            Self::Stored(StoredOutcome::Applied {
                better,
                total,
                outcome,
            }) => {
                let s = outcome.submit_view(player, *better, *total);
                summary.entry = Some(SubmittedEntry {
                    rank: s.entry.rank,
                    score: board.format_score(s.entry.score),
                    subscore: s.entry.subscore,
                    achieved_at: iso(s.entry.achieved_at_ms)
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    metadata: s.entry.metadata,
                });
                summary.total = Some(s.total);
                summary.previous_score = s.previous_score.map(|p| board.format_score(p));
                summary.improved = Some(s.improved);
            }
            Self::Stored(StoredOutcome::Accepted { event_id }) => {
                summary.event_id = Some(event_id.clone());
            }
            Self::Held { review, .. } => summary.review = Some(review.clone()),
        }
        summary
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::board::period::PeriodKind;
    use crate::board::record::Record;
    use crate::board::test_support::decimal_board;
    use crate::events::idempotency::AppliedOutcome;

    fn applied(previous: Option<i64>, improved: bool, metadata: Option<Value>) -> SubmitOutcome {
        let period = crate::board::period::period_id(PeriodKind::AllTime, 0).unwrap();
        SubmitOutcome::Stored(StoredOutcome::Applied {
            better: 1,
            total: 9,
            outcome: AppliedOutcome {
                period,
                current: period,
                next_reset_ms: None,
                record: Record {
                    score: 12_345,
                    subscore: Some(7),
                    achieved_at_ms: 1_700_000_000_000,
                    updated_at_ms: 1_700_000_000_000,
                    metadata,
                    submissions: 2,
                },
                previous_score: previous,
                improved,
                changed: improved,
                cohort: None,
            },
        })
    }

    fn ann() -> PlayerId {
        PlayerId::new("ann").unwrap()
    }

    #[test]
    fn an_applied_outcome_says_the_same_at_every_door() {
        let board = decimal_board();
        let o = applied(Some(100), true, Some(json!({ "car": "red" })));
        let s = o.summary(&board, &ann());
        assert_eq!(s.fate, Fate::Applied);
        let entry = s.entry.clone().unwrap();
        assert_eq!((entry.rank, entry.score.as_str()), (2, "123.45"));
        assert_eq!(entry.subscore, Some(7));
        assert_eq!(entry.achieved_at, "2023-11-14T22:13:20.000Z");
        assert_eq!(entry.metadata, Some(json!({ "car": "red" })));
        assert_eq!(
            (s.total, s.previous_score.as_deref(), s.improved),
            (Some(9), Some("1.00"), Some(true))
        );
        for v in [ApiVersion::V1, ApiVersion::V2] {
            let body: Value = serde_json::from_str(&o.render(v, &board, &ann())).unwrap();
            assert_eq!(body["rank"], 2, "{v:?}");
            assert_eq!(body["total"], 9);
            assert_eq!(body["improved"], true);
            assert_eq!(body["achieved_at"], json!(entry.achieved_at));
            assert_eq!(body["metadata"], json!({ "car": "red" }));
        }
        assert_eq!((o.status(), o.metric_label()), (200, "improved"));
    }

    #[test]
    fn the_metric_label_comes_from_the_outcome_never_from_the_body() {
        // A player's own metadata saying `improved` once made an unchanged score count as
        // improved (the label was read from the rendered body).
        let metadata = Some(json!({ "improved": true, "held": true, "accepted": true }));
        let unchanged = applied(Some(12_345), false, metadata.clone());
        assert_eq!(unchanged.metric_label(), "unchanged");
        assert_eq!(unchanged.fate(), Fate::Applied);
        assert_eq!(applied(None, true, metadata).metric_label(), "created");
        let accepted = SubmitOutcome::Stored(StoredOutcome::Accepted {
            event_id: "1-0".into(),
        });
        assert_eq!(
            (accepted.status(), accepted.metric_label(), accepted.fate()),
            (202, "accepted", Fate::Accepted)
        );
        assert_eq!(
            accepted
                .summary(&decimal_board(), &ann())
                .event_id
                .as_deref(),
            Some("1-0")
        );
        let held = SubmitOutcome::Held {
            review: "r1".into(),
            rules: vec!["outlier".into()],
        };
        assert_eq!(
            (held.status(), held.metric_label(), held.fate()),
            (202, "held", Fate::Held)
        );
        let body: Value =
            serde_json::from_str(&held.render(ApiVersion::V2, &decimal_board(), &ann())).unwrap();
        assert_eq!(
            body,
            json!({"held": true, "review": "r1", "board": "laps", "player": "ann", "rules": ["outlier"]})
        );
        let summary = held.summary(&decimal_board(), &ann());
        assert_eq!(
            (summary.review.as_deref(), summary.entry),
            (Some("r1"), None)
        );
    }
}
