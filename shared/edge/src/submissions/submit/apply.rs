//! A `sync` submission's write: decided by the core, judged by the board's integrity rules and
//! applied by one script, again when the record changed meanwhile.

use leaderboard::board::view::PeriodView;
use leaderboard::events::idempotency::{AppliedOutcome, applied_json};
use leaderboard::integrity::review::Review;
use leaderboard::integrity::settle::Judged;
use leaderboard::{
    Board, EventEnvelope, LeaderboardError, PeriodId, PlayerId, Result, Submission, TenantId,
    board::operator, board::period,
};

use crate::repo::{Keys, Repo};
use crate::submissions::idempotency::store::KeyLock;
use crate::submissions::writes::{ApplyResult, Refused, Write};

use super::settled::{Settled, announce_flagged, integrity_write, settle_before_write, stats_note};
use super::{Decided, Judging, MAX_ATTEMPTS, Outcome};

/// Applies `submission` at `now_ms`. `first_read` is the record as already read with the board
/// (raw JSON and decoded), saving the first round trip. With `lock` the write happens only while
/// this attempt holds the `Idempotency-Key` (else `IdempotencyInProgress`), and stores the outcome
/// with the score. The board's integrity rules judge it first ([`crate::integrity`], unless
/// `judging` says it was approved) and [`settle_before_write`] acts on their settlement: a
/// `reject` is the `422`, a `hold` stores a review instead of the write, a `flag` stores one with
/// it.
#[allow(clippy::too_many_arguments)]
pub async fn apply(
    repo: &Repo,
    tenant: &TenantId,
    board: &Board,
    player: &PlayerId,
    submission: &Submission,
    now_ms: i64,
    mut first_read: Option<(String, Option<leaderboard::Record>)>,
    lock: Option<&KeyLock>,
    judging: Judging<'_>,
) -> Result<Decided> {
    let keys = Keys::new(tenant, &board.id);
    let period = PeriodView::resolve(board, None, now_ms)?;
    let expire = period::expire_at_ms(&period.id, board.retain_periods);
    let started = EventEnvelope::period_started(tenant, &board.id, period.id, now_ms).to_json()?;
    let approved = match judging {
        Judging::Judge => None,
        Judging::Approved {
            review_id,
            review_json,
        } => Some((review_id, review_json)),
    };
    let judging = approved.is_none() && !board.integrity.is_empty();
    // A tournament's `max_attempts`: the attempts used are the record's `submissions` in this
    // run, which the compare-and-set below keeps exact under concurrent submissions (the last
    // place goes to one of them). A held submission counts when it is applied: its approval is
    // checked too, so reviews queued while held never take a player past its attempts.
    let attempts = match &board.tournament {
        Some(t) if t.max_attempts.is_some() => {
            Some((t, repo.attempts_granted(&keys, &period.id, player).await?))
        }
        _ => None,
    };
    // A board with cohorts places the player in its cohort once it is to be written (a held
    // or refused submission places nobody); a retried compare-and-set keeps the placement.
    let mut cohort = None;
    for _ in 0..MAX_ATTEMPTS {
        let (raw, previous) = match first_read.take() {
            Some(read) => read,
            None => repo.record(&keys, &period.id, player).await?,
        };
        if let Some((tournament, granted)) = attempts {
            let used = previous.as_ref().map_or(0, |r| r.submissions);
            tournament.attempt(used, granted)?;
        }
        let decided = operator::apply(board, previous.as_ref(), submission, now_ms)?;
        let mut announce = Vec::new();
        let (state_json, flagged) = if judging {
            let judged = Judged {
                board,
                period: period.id,
                player,
                submission,
                at_ms: now_ms,
                before: previous.as_ref(),
                after: &decided.record,
            };
            match judge(repo, tenant, &keys, &judged, &mut announce).await? {
                (state, Settled::Write(review)) => (Some(state), review),
                (_, Settled::Held(review)) => return Ok(Decided::Held(review)),
            }
        } else {
            (None, None)
        };
        if cohort.is_none() {
            cohort = crate::competitions::leagues::placement(
                repo,
                tenant,
                &keys,
                board,
                &period.id,
                expire,
                player,
                submission.band.as_deref(),
                now_ms,
            )
            .await?;
        }
        let flagged_json = flagged
            .as_deref()
            .map(crate::integrity::encode)
            .transpose()?;
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
            cohort: cohort.as_ref().map(ToString::to_string),
        };
        let outcome_json = lock.map(|_| applied_json(&applied)).transpose()?;
        let stats = board.stats.then(|| {
            stats_note(
                now_ms,
                approved.is_some(),
                flagged.is_some(),
                applied.improved,
                previous.is_none(),
            )
        });
        let review = flagged
            .as_deref()
            .zip(flagged_json.as_deref())
            .map(|(r, json)| (r.id.as_str(), json));
        let integrity = integrity_write(state_json.as_deref(), review, approved, now_ms);
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
            integrity,
            stats,
            // An approved review is applied after the end too: it was made inside the window,
            // and the standings wait for held reviews (docs/competitions.md).
            tournament_end_ms: board
                .tournament
                .as_ref()
                .filter(|_| approved.is_none())
                .map(|t| t.window.end_ms),
            cohort: cohort.as_ref(),
            closes: board.closes_periods(),
        };
        match repo
            .apply(&keys, &write, lock.zip(outcome_json.as_deref()))
            .await?
        {
            ApplyResult::Applied(a) => {
                announce.extend(flagged.map(|r| *r));
                announce_flagged(repo, tenant, board, &announce, now_ms).await;
                return Ok(Decided::Applied(Outcome {
                    better: a.better,
                    total: a.total,
                    applied,
                    version: a.version,
                }));
            }
            // The record changed since it was read: read it again and decide again.
            ApplyResult::Conflict => {}
            ApplyResult::Refused(why) => {
                return Err(refusal(repo, tenant, board, &period.id, why).await);
            }
        }
    }
    Err(LeaderboardError::Conflict(format!(
        "the record of '{player}' changed {MAX_ATTEMPTS} times while this submission was applied; retry"
    )))
}

/// What the board's integrity rules make of the decided write ([`crate::integrity::judge`]),
/// acted on before it ([`settle_before_write`]; reviews to announce go to `announce`): the
/// rules' new state (stored with the write) and whether to write.
async fn judge(
    repo: &Repo,
    tenant: &TenantId,
    keys: &Keys,
    judged: &Judged<'_>,
    announce: &mut Vec<Review>,
) -> Result<(String, Settled)> {
    let judgment = crate::integrity::judge(repo, keys, judged, None).await?;
    let settled =
        settle_before_write(repo, tenant, keys, judged, judgment.settlement, announce).await?;
    Ok((judgment.state_json, settled))
}

/// The error of a write the script refused for a reason other than a changed record.
async fn refusal(
    repo: &Repo,
    tenant: &TenantId,
    board: &Board,
    period: &PeriodId,
    why: Refused,
) -> LeaderboardError {
    // The tournament's window as the board holds it now, for a tournament's end announced
    // while this was decided.
    let window = match why {
        Refused::TournamentEnded => match repo.board(tenant, &board.id).await {
            Ok(now) => now
                .tournament
                .as_ref()
                .or(board.tournament.as_ref())
                .map(|t| t.window),
            Err(e) => return e,
        },
        _ => None,
    };
    why.error(&board.id, period, window)
}
