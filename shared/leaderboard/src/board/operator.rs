//! Applying a [`Submission`] to a player's previous [`Record`] per the board's [`Operator`].
//!
//! - `best`: keep the better `(score, subscore)` per the board's directions; never worsens. The
//!   submission must lie within the board's bounds.
//! - `set`: replace. Within bounds.
//! - `incr`: add the delta (`0 < delta ≤ score_max − score_min`; a subscore delta, if given, is
//!   `0 ≤ d ≤ sub_max − sub_min`, absent = 0). A result above `score_max` (or the subscore max) is
//!   rejected with [`LeaderboardError::ScoreOutOfRange`] and nothing is applied.
//! - `decr`: subtract the delta (same limits), flooring at `score_min` (and the subscore min).
//!
//! Without a previous record, `incr`/`decr` start from **0 clamped into the board's bounds**
//! (`score_min` when the range is entirely positive, `score_max` when entirely negative); the
//! subscore likewise.
//!
//! Bookkeeping: `achieved_at_ms` becomes `now_ms` only when the standing changes (or on the first
//! record), so equal re-submissions keep their earlier tie-break time. Metadata follows the
//! standing: when the standing changes it is replaced by the submission's metadata if that carries
//! one (otherwise kept); `set` always replaces it, even with none. `updated_at_ms = now_ms` and
//! `submissions += 1` on every accepted submission, changed or not.

use std::cmp::Ordering;

use crate::board::config::{Board, Operator};
use crate::board::record::{Record, Submission, check_metadata};
use crate::board::sortkey::{
    Standing, check_member_time, check_standing, compare_standings, out_of_range,
};
use crate::error::{LeaderboardError, Result};

/// The result of applying a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The record after the submission.
    pub record: Record,
    /// The record before, if any.
    pub previous: Option<Record>,
    /// The standing got strictly better (always true for a first record).
    pub improved: bool,
    /// Something a reader sees changed: standing or metadata (always true for a first record).
    pub changed: bool,
}

impl Outcome {
    /// Whether the sorted-set entry changed (standing or achievement time), so the previous member
    /// must be removed and the new one added.
    pub fn rekeyed(&self) -> bool {
        match &self.previous {
            None => true,
            Some(p) => {
                p.standing() != self.record.standing()
                    || p.achieved_at_ms != self.record.achieved_at_ms
            }
        }
    }
}

fn clamp_zero(min: i64, max: i64) -> i64 {
    0_i64.clamp(min, max)
}

/// Validates deltas for `incr`/`decr`: `(score delta, subscore delta)`.
fn deltas(board: &Board, s: &Submission) -> Result<(i64, i64)> {
    let width = board.score_max - board.score_min;
    if s.score < 1 || s.score > width {
        return Err(out_of_range(
            board,
            "score delta",
            s.score,
            1.min(width),
            width,
        ));
    }
    let sub_delta = match (board.subscore, s.subscore) {
        (_, None) => 0,
        (None, Some(_)) => {
            return Err(LeaderboardError::InvalidScore(format!(
                "board {} has no subscore",
                board.id
            )));
        }
        (Some(sub), Some(d)) => {
            let w = sub.max - sub.min;
            if !(0..=w).contains(&d) {
                return Err(out_of_range(board, "subscore delta", d, 0, w));
            }
            d
        }
    };
    Ok((s.score, sub_delta))
}

fn start(board: &Board, previous: Option<&Record>) -> Standing {
    let zero_sub = board.subscore.map(|s| clamp_zero(s.min, s.max));
    match previous {
        Some(p) => Standing {
            score: p.score,
            subscore: p.subscore.or(zero_sub),
        },
        None => Standing {
            score: clamp_zero(board.score_min, board.score_max),
            subscore: zero_sub,
        },
    }
}

fn new_standing(board: &Board, previous: Option<&Record>, s: &Submission) -> Result<Standing> {
    let submitted = Standing {
        score: s.score,
        subscore: s.subscore,
    };
    match board.operator {
        Operator::Best => {
            check_standing(board, &submitted)?;
            Ok(match previous.map(Record::standing) {
                Some(p) if compare_standings(board, &submitted, &p) != Ordering::Less => p,
                _ => submitted,
            })
        }
        Operator::Set => {
            check_standing(board, &submitted)?;
            Ok(submitted)
        }
        Operator::Incr => {
            let (d, sd) = deltas(board, s)?;
            let base = start(board, previous);
            // Both operands are below 2^54 in magnitude: no i64 overflow.
            let score = base.score + d;
            if score > board.score_max {
                return Err(out_of_range(
                    board,
                    "resulting score",
                    score,
                    board.score_min,
                    board.score_max,
                ));
            }
            let subscore = match (board.subscore, base.subscore) {
                (Some(sub), Some(v)) => {
                    let r = v + sd;
                    if r > sub.max {
                        return Err(out_of_range(
                            board,
                            "resulting subscore",
                            r,
                            sub.min,
                            sub.max,
                        ));
                    }
                    Some(r)
                }
                _ => None,
            };
            Ok(Standing { score, subscore })
        }
        Operator::Decr => {
            let (d, sd) = deltas(board, s)?;
            let base = start(board, previous);
            let score = (base.score - d).max(board.score_min);
            let subscore = match (board.subscore, base.subscore) {
                (Some(sub), Some(v)) => Some((v - sd).max(sub.min)),
                _ => None,
            };
            Ok(Standing { score, subscore })
        }
    }
}

/// Checks everything about a submission that does not depend on the stored record (ids, bounds,
/// deltas, subscore, metadata): what an asynchronous board rejects before accepting it.
pub fn check_acceptable(board: &Board, submission: &Submission, now_ms: i64) -> Result<()> {
    apply(board, None, submission, now_ms).map(|_| ())
}

/// Applies `submission` to `previous` at `now_ms` (Unix ms, `0..=2^52−1`). See the module docs.
pub fn apply(
    board: &Board,
    previous: Option<&Record>,
    submission: &Submission,
    now_ms: i64,
) -> Result<Outcome> {
    check_member_time(now_ms)?;
    if let Some(m) = &submission.metadata {
        check_metadata(board, m)?;
    }
    let standing = new_standing(board, previous, submission)?;
    let record = match previous {
        None => Record {
            score: standing.score,
            subscore: standing.subscore,
            achieved_at_ms: now_ms,
            updated_at_ms: now_ms,
            metadata: submission.metadata.clone(),
            submissions: 1,
        },
        Some(p) => {
            let standing_changed = p.standing() != standing;
            let metadata = if board.operator == Operator::Set {
                submission.metadata.clone()
            } else if standing_changed {
                submission.metadata.clone().or_else(|| p.metadata.clone())
            } else {
                p.metadata.clone()
            };
            Record {
                score: standing.score,
                subscore: standing.subscore,
                achieved_at_ms: if standing_changed {
                    now_ms
                } else {
                    p.achieved_at_ms
                },
                updated_at_ms: now_ms,
                metadata,
                submissions: p.submissions.saturating_add(1),
            }
        }
    };
    let (improved, changed) = match previous {
        None => (true, true),
        Some(p) => (
            compare_standings(board, &standing, &p.standing()) == Ordering::Less,
            p.standing() != standing || p.metadata != record.metadata,
        ),
    };
    Ok(Outcome {
        record,
        previous: previous.cloned(),
        improved,
        changed,
    })
}

#[cfg(test)]
#[path = "operator_tests.rs"]
mod tests;
