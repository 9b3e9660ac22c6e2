//! A `sync` submission's write: decided by the core, judged by the board's integrity rules and
//! applied by one script, again when the record changed meanwhile.

use leaderboard::Conflict;
use leaderboard::board::view::PeriodView;
use leaderboard::competition::cohort::CohortId;
use leaderboard::events::idempotency::{AppliedOutcome, applied_json};
use leaderboard::integrity::review::Review;
use leaderboard::integrity::settle::Judged;
use leaderboard::{
    Board, EventEnvelope, LeaderboardError, PeriodId, PlayerId, Result, Submission, TenantId,
    board::operator, board::period,
};

use crate::repo::{BoardAt, Repo};
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
pub async fn apply(
    at: &BoardAt<'_>,
    player: &PlayerId,
    submission: &Submission,
    mut first_read: Option<(String, Option<leaderboard::Record>)>,
    lock: Option<&KeyLock>,
    judging: Judging<'_>,
) -> Result<Decided> {
    let (repo, tenant, board, keys, now_ms) = at.parts();
    let period = PeriodView::resolve(board, None, now_ms)?;
    let approved = match judging {
        Judging::Judge => None,
        Judging::Approved {
            review_id,
            review_json,
        } => Some((review_id, review_json)),
    };
    let attempt = Attempt {
        at,
        player,
        submission,
        period: &period,
        expire: period::expire_at_ms(&period.id, board.retain_periods),
        started: EventEnvelope::period_started(tenant, &board.id, period.id, now_ms).to_json()?,
        judging: approved.is_none() && !board.integrity.is_empty(),
        approved,
        lock,
    };
    // A tournament's `max_attempts`: the attempts used are the record's `submissions` in this
    // run, which the compare-and-set below keeps exact under concurrent submissions (the last
    // place goes to one of them). A held submission counts when it is applied: its approval is
    // checked too, so reviews queued while held never take a player past its attempts.
    let attempts = match &board.tournament {
        Some(t) if t.max_attempts.is_some() => {
            Some((t, repo.attempts_granted(keys, &period.id, player).await?))
        }
        _ => None,
    };
    // A board with cohorts places the player in its cohort once it is to be written (a held
    // or refused submission places nobody); a retried compare-and-set keeps the placement.
    let mut cohort = None;
    for _ in 0..MAX_ATTEMPTS {
        let (raw, previous) = match first_read.take() {
            Some(read) => read,
            None => repo.record(keys, &period.id, player).await?,
        };
        if let Some((tournament, granted)) = attempts {
            let used = previous.as_ref().map_or(0, |r| r.submissions);
            tournament.attempt(used, granted)?;
        }
        if let Some(decided) = attempt.once(&raw, previous, &mut cohort).await? {
            return Ok(decided);
        }
    }
    Err(Conflict::RecordRaced {
        player: player.to_string(),
        attempts: MAX_ATTEMPTS,
    }
    .into())
}

/// What every try of one submission's write shares.
struct Attempt<'a> {
    /// The board at the submission's time.
    at: &'a BoardAt<'a>,
    player: &'a PlayerId,
    submission: &'a Submission,
    /// The current period.
    period: &'a PeriodView,
    /// When the period's keys expire.
    expire: Option<i64>,
    /// The period's `period_started` event, written with its first record.
    started: String,
    /// Whether the board's integrity rules judge it.
    judging: bool,
    /// An admin's approval: the review's id and decided JSON.
    approved: Option<(&'a str, &'a str)>,
    lock: Option<&'a KeyLock>,
}

/// What the integrity rules decided of a try, when it is to be written: their new state and the
/// review of a flagged submission.
type Judgment = (Option<String>, Option<Box<Review>>);

impl Attempt<'_> {
    /// One decision on the record read (`raw`, `previous`) and its compare-and-set: `None` when
    /// the record changed since it was read (decide again).
    async fn once(
        &self,
        raw: &str,
        previous: Option<leaderboard::Record>,
        cohort: &mut Option<CohortId>,
    ) -> Result<Option<Decided>> {
        let (board, now_ms) = (self.at.board(), self.at.now_ms);
        let decided = operator::apply(board, previous.as_ref(), self.submission, now_ms)?;
        let mut announce = Vec::new();
        let (state_json, flagged) = match self
            .judged(previous.as_ref(), &decided.record, &mut announce)
            .await?
        {
            Ok(judgment) => judgment,
            Err(held) => return Ok(Some(held)),
        };
        if cohort.is_none() {
            *cohort = self.placement().await?;
        }
        let flagged_json = flagged
            .as_deref()
            .map(crate::integrity::encode)
            .transpose()?;
        let key = decided.record.sort_key(board, self.player)?;
        let id = format!("{now_ms}-{}-{}", self.player, decided.record.submissions);
        let event = EventEnvelope::score_applied(
            self.at.tenant(),
            &board.id,
            id,
            now_ms,
            self.player,
            self.period.id,
            &decided,
        )
        .to_json()?;
        let first = previous.is_none();
        let applied = outcome(self.period, decided, cohort.as_ref());
        let outcome_json = self.lock.map(|_| applied_json(&applied)).transpose()?;
        let stats = board.stats.then(|| {
            let (approval, flag) = (self.approved.is_some(), flagged.is_some());
            stats_note(now_ms, approval, flag, applied.improved, first)
        });
        let review = flagged
            .as_deref()
            .zip(flagged_json.as_deref())
            .map(|(r, json)| (r.id.as_str(), json));
        let write = Write {
            integrity: integrity_write(state_json.as_deref(), review, self.approved, now_ms),
            stats,
            cohort: cohort.as_ref(),
            ..self.write(raw, &applied.record, &key.member, key.rank_value, &event)
        };
        let lock = self.lock.zip(outcome_json.as_deref());
        match self.at.repo.apply(self.at.keys(), &write, lock).await? {
            ApplyResult::Applied(a) => {
                announce.extend(flagged.map(|r| *r));
                announce_flagged(self.at, &announce).await;
                Ok(Some(Decided::Applied(Outcome {
                    better: a.better,
                    total: a.total,
                    applied,
                    version: a.version,
                })))
            }
            // The record changed since it was read: read it again and decide again.
            ApplyResult::Conflict => Ok(None),
            ApplyResult::Refused(why) => {
                Err(refusal(self.at.repo, self.at.tenant(), board, &self.period.id, why).await)
            }
        }
    }

    /// The player's cohort on a board with cohorts, placing it on its first write of the period.
    async fn placement(&self) -> Result<Option<CohortId>> {
        crate::competitions::leagues::placement(
            self.at,
            &self.period.id,
            self.expire,
            self.player,
            self.submission.band.as_deref(),
        )
        .await
    }

    /// The integrity rules' judgment of the decided record (none without rules or once
    /// approved), or `Err` with the submission held for review.
    async fn judged(
        &self,
        before: Option<&leaderboard::Record>,
        after: &leaderboard::Record,
        announce: &mut Vec<Review>,
    ) -> Result<std::result::Result<Judgment, Decided>> {
        if !self.judging {
            return Ok(Ok((None, None)));
        }
        let judged = Judged {
            board: self.at.board(),
            period: self.period.id,
            player: self.player,
            submission: self.submission,
            at_ms: self.at.now_ms,
            before,
            after,
        };
        Ok(match judge(self.at, &judged, announce).await? {
            (state, Settled::Write(review)) => Ok((Some(state), review)),
            (_, Settled::Held(review)) => Err(Decided::Held(review)),
        })
    }

    /// The write of a try, but for its integrity, stats and cohort.
    fn write<'w>(
        &'w self,
        raw: &'w str,
        new: &'w leaderboard::Record,
        member: &'w str,
        rank_value: u64,
        event_json: &'w str,
    ) -> Write<'w> {
        Write {
            period: &self.period.id,
            player: self.player,
            expected_raw: raw,
            new,
            member,
            rank_value,
            event_json,
            period_started_json: &self.started,
            expire_at_ms: self.expire,
            integrity: None,
            stats: None,
            // An approved review is applied after the end too: it was made inside the window,
            // and the standings wait for held reviews (docs/competitions.md).
            tournament_end_ms: self
                .at
                .board()
                .tournament
                .as_ref()
                .filter(|_| self.approved.is_none())
                .map(|t| t.window.end_ms),
            cohort: None,
            closes: self.at.board().closes_periods(),
        }
    }
}

/// What the caller is told of a decided write (and, with an `Idempotency-Key`, stored with it).
fn outcome(
    period: &PeriodView,
    decided: operator::Outcome,
    cohort: Option<&CohortId>,
) -> AppliedOutcome {
    AppliedOutcome {
        period: period.id,
        current: period.current,
        next_reset_ms: period.next_reset_ms,
        previous_score: decided.previous.as_ref().map(|p| p.score),
        record: decided.record,
        improved: decided.improved,
        changed: decided.changed,
        cohort: cohort.map(ToString::to_string),
    }
}

/// What the board's integrity rules make of the decided write ([`crate::integrity::judge`]),
/// acted on before it ([`settle_before_write`]; reviews to announce go to `announce`): the
/// rules' new state (stored with the write) and whether to write.
async fn judge(
    at: &BoardAt<'_>,
    judged: &Judged<'_>,
    announce: &mut Vec<Review>,
) -> Result<(String, Settled)> {
    let judgment = crate::integrity::judge(at.repo, at.keys(), judged, None).await?;
    let settled = settle_before_write(at, judged, judgment.settlement, announce).await?;
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
