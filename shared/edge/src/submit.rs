//! Applying a submission to the source of truth, shared by the synchronous `scores` function and
//! the asynchronous projector: a compare-and-set loop around the pure core's decision.
//!
//! Read the player's record, let the core decide the new one (`operator::apply`), and write it in
//! one Lua script only if the record is unchanged (else read again). The `score_applied` event is
//! appended to the board's stream in the same script, before anyone is told the write happened.

use leaderboard::events::ScoreApplied;
use leaderboard::view::{EntryView, PeriodView, SubmitView};
use leaderboard::{
    Board, Event, EventEnvelope, LeaderboardError, PlayerId, Result, Submission, TenantId,
    operator, period, rank,
};

use crate::repo::{ApplyResult, Keys, Repo};

/// Compare-and-set attempts before giving up with 409 (an attempt only loses to a concurrent
/// write of the same player's record).
pub const MAX_ATTEMPTS: usize = 200;

/// The doorbell channel the projector listens on; the payload is `tenant/board`.
pub const DOORBELL: &str = "lb:doorbell";

/// The projector's consumer group on each board's inbox stream.
pub const GROUP: &str = "projector";

/// What an applied submission looks like to the caller.
pub struct Outcome {
    /// The period written.
    pub period: PeriodView,
    /// The player's standing after the write.
    pub view: SubmitView,
    /// The board's version after the write (for the regional cache).
    pub version: i64,
}

/// Applies `submission` at `now_ms`. With `dedupe` (an inbox event id) the write happens at most
/// once per event: `Ok(None)` means it had already been applied. `first_read` is the record as
/// already read with the board (raw JSON and decoded), saving the first round trip.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    repo: &Repo,
    tenant: &TenantId,
    board: &Board,
    player: &PlayerId,
    submission: &Submission,
    now_ms: i64,
    dedupe: Option<&str>,
    mut first_read: Option<(String, Option<leaderboard::Record>)>,
) -> Result<Option<Outcome>> {
    let keys = Keys::new(tenant, &board.id);
    let period = PeriodView::resolve(board, None, now_ms)?;
    let expire = period::expire_at_ms(&period.id, board.retain_periods);
    for _ in 0..MAX_ATTEMPTS {
        let (raw, previous) = match first_read.take() {
            Some(read) => read,
            None => repo.record(&keys, &period.id, player)?,
        };
        let outcome = operator::apply(board, previous.as_ref(), submission, now_ms)?;
        let key = outcome.record.sort_key(board, player)?;
        let event = EventEnvelope {
            id: format!("{now_ms}-{player}-{}", outcome.record.submissions),
            tenant: tenant.clone(),
            board: board.id.clone(),
            at_ms: now_ms,
            event: Event::ScoreApplied(ScoreApplied {
                player: player.clone(),
                period: period.id,
                record: outcome.record.clone(),
                previous: outcome.previous.clone(),
                improved: outcome.improved,
                changed: outcome.changed,
            }),
        }
        .to_json()?;
        let applied = match repo.apply(
            &keys,
            &period.id,
            player,
            &raw,
            &outcome.record,
            &key.member,
            key.rank_value,
            &event,
            expire,
            dedupe,
        )? {
            ApplyResult::Applied(a) => a,
            ApplyResult::Conflict => continue,
            ApplyResult::Duplicate => return Ok(None),
        };
        let record = outcome.record;
        let view = SubmitView {
            entry: EntryView {
                rank: rank::rank_from_better(applied.better),
                player: player.clone(),
                score: record.score,
                subscore: record.subscore,
                achieved_at_ms: record.achieved_at_ms,
                metadata: record.metadata,
            },
            total: applied.total,
            previous_score: outcome.previous.map(|p| p.score),
            improved: outcome.improved,
            changed: outcome.changed,
        };
        return Ok(Some(Outcome {
            period,
            view,
            version: applied.version,
        }));
    }
    Err(LeaderboardError::Conflict(format!(
        "the record of '{player}' changed {MAX_ATTEMPTS} times while this submission was applied; retry"
    )))
}
