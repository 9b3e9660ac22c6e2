//! Applying a synchronous submission to the source of truth: a compare-and-set loop around the
//! pure core's decision. (Asynchronous ones go through the inbox and [`crate::pipeline`].)
//!
//! Read the player's record, let the core decide the new one (`operator::apply`), and write it in
//! one Lua script only if the record is unchanged (else read again). The `score_applied` event is
//! appended to the board's stream in the same script, before anyone is told the write happened,
//! and so is the outcome an `Idempotency-Key` replays.

use leaderboard::idempotency::{AppliedOutcome, applied_json};
use leaderboard::view::PeriodView;
use leaderboard::{
    Board, EventEnvelope, LeaderboardError, PlayerId, Result, Submission, TenantId, operator,
    period,
};

use crate::repo::{ApplyResult, Claim, Keys, Repo, Write};

/// Compare-and-set attempts before giving up with 409 (an attempt only loses to a concurrent
/// write of the same player's record).
pub const MAX_ATTEMPTS: usize = 200;

/// The doorbell channel the projector listens on; the payload is `tenant/board`.
pub const DOORBELL: &str = "lb:doorbell";

/// An applied submission.
pub struct Outcome {
    /// Entries strictly better than the player's standing after the write.
    pub better: u64,
    /// Entries in the period after the write.
    pub total: u64,
    /// What the core decided (with `better`/`total`, the response).
    pub applied: AppliedOutcome,
    /// The board's version after the write.
    pub version: i64,
}

/// Applies `submission` at `now_ms`. `first_read` is the record as already read with the board
/// (raw JSON and decoded), saving the first round trip. With `claim` the write happens only while
/// this attempt holds the `Idempotency-Key` (else `IdempotencyInProgress`), and stores the outcome
/// with the score.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    repo: &Repo,
    tenant: &TenantId,
    board: &Board,
    player: &PlayerId,
    submission: &Submission,
    now_ms: i64,
    mut first_read: Option<(String, Option<leaderboard::Record>)>,
    claim: Option<&Claim>,
) -> Result<Outcome> {
    let keys = Keys::new(tenant, &board.id);
    let period = PeriodView::resolve(board, None, now_ms)?;
    let expire = period::expire_at_ms(&period.id, board.retain_periods);
    let started = EventEnvelope::period_started(tenant, &board.id, period.id, now_ms).to_json()?;
    for _ in 0..MAX_ATTEMPTS {
        let (raw, previous) = match first_read.take() {
            Some(read) => read,
            None => repo.record(&keys, &period.id, player)?,
        };
        let decided = operator::apply(board, previous.as_ref(), submission, now_ms)?;
        let key = decided.record.sort_key(board, player)?;
        let id = format!("{now_ms}-{player}-{}", decided.record.submissions);
        let event = EventEnvelope::score_applied(
            tenant, &board.id, id, now_ms, player, period.id, &decided,
        )
        .to_json()?;
        let applied = AppliedOutcome {
            period: period.id,
            current: period.current,
            next_reset_ms: period.next_reset_ms,
            previous_score: decided.previous.as_ref().map(|p| p.score),
            record: decided.record,
            improved: decided.improved,
            changed: decided.changed,
        };
        let outcome_json = claim.map(|_| applied_json(&applied)).transpose()?;
        let write = Write {
            period: &period.id,
            player,
            expected_raw: &raw,
            new: &applied.record,
            member: &key.member,
            rank_value: key.rank_value,
            event_json: &event,
            period_started_json: &started,
            expire_at_ms: expire,
        };
        match repo.apply(&keys, &write, claim.zip(outcome_json.as_deref()))? {
            ApplyResult::Applied(a) => {
                return Ok(Outcome {
                    better: a.better,
                    total: a.total,
                    applied,
                    version: a.version,
                });
            }
            // The record changed since it was read: read it again and decide again.
            ApplyResult::Conflict => {}
            ApplyResult::ClaimLost => {
                return Err(LeaderboardError::IdempotencyInProgress(
                    "another attempt of this request holds its Idempotency-Key; retry shortly"
                        .into(),
                ));
            }
        }
    }
    Err(LeaderboardError::Conflict(format!(
        "the record of '{player}' changed {MAX_ATTEMPTS} times while this submission was applied; retry"
    )))
}
