//! Score submission, the whole flow ([`submit`]) of `POST /api/{v}/boards/{board}/scores`.
//!
//! `sync` boards apply the write before answering ([`apply`]: a compare-and-set loop around the
//! pure core's decision) and return the new standing; the regional cache version is bumped so the
//! next read here sees the write. `async` boards append the submission to the board's inbox
//! stream, ring the doorbell and answer `202 Accepted`; the Redis-triggered `projector` applies it
//! ([`crate::submissions::pipeline`]).
//!
//! [`apply`] reads the player's record, lets the core decide the new one (`operator::apply`), and
//! writes it in one Lua script only if the record is unchanged (else reads again). The
//! `score_applied` event is appended to the board's stream in the same script, before anyone is
//! told the write happened, and so is the outcome an `Idempotency-Key` replays.

use leaderboard::events::event::ScoreSubmitted;
use leaderboard::events::idempotency::{AppliedOutcome, StoredOutcome};
use leaderboard::events::outcome::{Fate, SubmitOutcome};
use leaderboard::{
    Board, BoardId, Event, EventEnvelope, LeaderboardError, PlayerId, Result, Submission,
    SubmissionInput, WriteMode, board::operator, policy::access,
};

use crate::api::Ctx;
use crate::http::{Call, Response};
use crate::repo::{BoardAt, Keys};
use crate::submissions::idempotency;
use crate::submissions::idempotency::store::KeyLock;
use crate::submissions::idempotency::store::Reservation;

mod apply;
mod settled;

pub use apply::apply;

use leaderboard::integrity::review::Review;

/// Compare-and-set attempts before giving up with 409 (an attempt only loses to a concurrent
/// write of the same player's record).
pub const MAX_ATTEMPTS: usize = 200;

pub use crate::submissions::pipeline::store::DOORBELL;

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

/// Whether [`apply`] judges a submission by the board's integrity rules.
#[derive(Debug, Clone, Copy)]
pub enum Judging<'a> {
    /// Judge it (a submission as it arrives).
    Judge,
    /// Do not: an admin approved it. The decided review (id and JSON) is stored by the same
    /// write, so an approval is applied exactly once.
    Approved {
        /// The review's id.
        review_id: &'a str,
        /// The decided review.
        review_json: &'a str,
    },
}

/// What became of a submission [`apply`] was given.
pub enum Decided {
    /// Applied.
    Applied(Outcome),
    /// Held by an integrity rule for review: not applied.
    Held(Box<Review>),
}

/// Submits the request's `{player, score, subscore?, metadata?}` to `board_id` for the admitted
/// caller: the kill switch (`submissions-enabled`), the body, the `Idempotency-Key` lock (a held
/// key replays its outcome), the player's authorization, a tournament's window and joins
/// ([`crate::competitions::tournaments`]) and the tenant's `max_players_per_board` quota, then the write — applied now on a `sync` board (`201`/`200` with the new standing),
/// accepted into the inbox on an `async` one (`202`) — the cache invalidation, the metrics and the
/// experiments' conversions. A failure that applied nothing frees the key for a corrected retry.
pub async fn submit(ctx: &Ctx<'_>, call: &Call<'_>, board_id: &BoardId) -> Result<Response> {
    ctx.require_principal()?;
    crate::flags::check_submissions(ctx, call).await?;
    let input: SubmissionInput = call.json()?;
    let key = call.header("idempotency-key");
    let done = submit_input(ctx, call, board_id, input, key, call.req.body()).await?;
    let headers = if done.replayed {
        vec![("idempotent-replayed", "true".to_string())]
    } else {
        Vec::new()
    };
    Ok(crate::http::json_text(
        done.status,
        call.version,
        done.body,
        &headers,
    ))
}

/// What [`submit_input`] answered.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// `201` first entry, `200` applied to an entry, `202` accepted into the inbox or held.
    pub status: u16,
    /// The JSON body the REST API answers (in the request's API version).
    pub body: String,
    /// What became of it, for the doors that show it otherwise (GraphQL and Connect render
    /// [`SubmitOutcome::summary`] only when they answer: a REST submit pays for its body alone).
    pub outcome: SubmitOutcome,
    /// Whether this is the stored outcome of an earlier attempt with the same `Idempotency-Key`.
    pub replayed: bool,
}

impl Submitted {
    fn of(
        call: &Call<'_>,
        board: &Board,
        player: &PlayerId,
        outcome: SubmitOutcome,
        replayed: bool,
    ) -> Self {
        Self {
            status: outcome.status(),
            body: outcome.render(call.version, board, player),
            outcome,
            replayed,
        }
    }
}

/// [`submit`] of an already parsed `input`, with its `Idempotency-Key` (`key`) and the bytes a
/// replay must match (`fingerprinted`): the door GraphQL's `submitScore` enters by.
pub async fn submit_input(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    board_id: &BoardId,
    input: SubmissionInput,
    key: Option<&str>,
    fingerprinted: &[u8],
) -> Result<Submitted> {
    let principal = ctx.require_principal()?;
    crate::flags::check_submissions(ctx, call).await?;
    let lock = idempotency::lock_key(call, key, &input.player, fingerprinted)?;
    let repo = ctx.repo().await?;
    let (board, raw, record, reservation) = repo
        .board_and_record(
            &ctx.tenant,
            board_id,
            &input.player,
            call.now_ms,
            lock.as_ref(),
        )
        .await?;
    let keys = Keys::new(&ctx.tenant, board_id);
    let reserved = matches!(reservation, Some(Reservation::Reserved));
    let result: Result<Submitted> = async {
        let (player, submission) = input.into_submission(&board)?;
        access::authorize_submit(principal, &board, &player)?;
        if submission.band.is_some() {
            access::authorize_band(principal)?;
        }
        if let (Some(lock), Some(Reservation::Held(stored))) = (&lock, &reservation) {
            let outcome = idempotency::answer_held(lock, stored)?;
            repo.confirm_replicated(&keys, lock).await?;
            crate::metrics::note_outcome("replayed");
            return Ok(Submitted::of(call, &board, &player, outcome, true));
        }
        // After the replay (a submission accepted inside a tournament's window answers the same
        // once it has closed), before the quota (a closed tournament says so, whatever the
        // tenant's size).
        crate::competitions::tournaments::admit_submission(
            repo,
            &keys,
            &board,
            &player,
            call.now_ms,
        )
        .await?;
        if record.is_none() {
            check_players_quota(call, ctx, &board, &keys, &player).await?;
        }
        let outcome = write(
            call,
            ctx,
            &board,
            &keys,
            &player,
            &submission,
            (raw, record),
            lock.as_ref(),
        )
        .await?;
        counted(ctx, call, &board, &player, submission.score, &outcome).await;
        Ok(Submitted::of(call, &board, &player, outcome, false))
    }
    .await;
    if let (Err(_), true, Some(lock)) = (&result, reserved, &lock) {
        // Nothing was applied (the write stores its outcome in the same step): free the key so a
        // corrected retry can use it. If this fails too, the reservation expires in seconds. A
        // write that was applied but not acknowledged by its replicas in time holds its outcome
        // under the key: the release leaves that alone, and a retry replays it.
        if let Err(e) = repo.release(&keys, lock).await {
            eprintln!("scores: could not release an Idempotency-Key reservation: {e}");
        }
    }
    result
}

/// A submission's outcome counted: in `/metrics` (an accepted one by board too) and by the
/// experiments this board feeds (a replay of a held Idempotency-Key is answered before this, so
/// a submission counts once).
async fn counted(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    board: &Board,
    player: &PlayerId,
    score: i64,
    outcome: &SubmitOutcome,
) {
    crate::metrics::note_outcome(outcome.metric_label());
    if outcome.fate() == Fate::Accepted {
        crate::metrics::count(
            leaderboard::http::metrics::board_key(ctx.tenant.as_str(), board.id.as_str()),
            1,
        );
    }
    let value = board.format_score(score).parse().unwrap_or(0.0);
    crate::flags::experiments::record_submission(
        ctx,
        board.id.as_str(),
        player.as_str(),
        value,
        call.now_ms,
    )
    .await;
}

/// The tenant's `max_players_per_board`: a player new to the board's current period is refused
/// once the period holds that many (checked here, so concurrent first submissions may overshoot
/// by the number in flight).
async fn check_players_quota(
    call: &Call<'_>,
    ctx: &Ctx<'_>,
    board: &Board,
    keys: &Keys,
    player: &PlayerId,
) -> Result<()> {
    let repo = ctx.repo().await?;
    let settings = ctx.tenant_settings().await?;
    if let Some(max) = settings.input.max_players_per_board {
        let period = leaderboard::board::period::period_id(board.period, call.now_ms)?;
        // A concurrent first submission of the same player may have added it meanwhile.
        if repo.period_size(keys, &period).await? >= max
            && !repo.has_entry(keys, &period, player).await?
        {
            return Err(leaderboard::policy::tenant::TenantSettings::exceeded(
                "max_players_per_board",
                max,
            ));
        }
    }
    Ok(())
}

/// Accepts an `async` submission into the inbox, or applies a `sync` one ([`apply`]): what
/// became of it.
#[allow(clippy::too_many_arguments)]
async fn write(
    call: &Call<'_>,
    ctx: &Ctx<'_>,
    board: &Board,
    keys: &Keys,
    player: &PlayerId,
    submission: &Submission,
    first_read: (String, Option<leaderboard::Record>),
    lock: Option<&KeyLock>,
) -> Result<SubmitOutcome> {
    let repo = ctx.repo().await?;
    if board.write_mode == WriteMode::Async {
        return accept(call, ctx, board, keys, player, submission, lock).await;
    }
    let outcome = match apply(
        &BoardAt::new(repo, &ctx.tenant, board, call.now_ms),
        player,
        submission,
        Some(first_read),
        lock,
        Judging::Judge,
    )
    .await?
    {
        Decided::Applied(outcome) => outcome,
        Decided::Held(review) => {
            // Nothing changed on the board: no cache to drop. The review waits for an admin.
            // An Idempotency-Key is freed (a retry is judged again).
            if let Some(l) = lock
                && let Err(e) = repo.release(keys, l).await
            {
                eprintln!("scores: could not release an Idempotency-Key reservation: {e}");
            }
            return Ok(SubmitOutcome::Held {
                rules: review
                    .triggers
                    .iter()
                    .map(|t| t.rule.as_str().to_string())
                    .collect(),
                review: review.id,
            });
        }
    };
    after_write(ctx, repo, board, outcome.version).await?;
    Ok(SubmitOutcome::Stored(StoredOutcome::Applied {
        better: outcome.better,
        total: outcome.total,
        outcome: outcome.applied,
    }))
}

/// An `async` submission accepted into the board's inbox (the worker applies it): rejected now
/// if it can be without the record, then stored durably.
async fn accept(
    call: &Call<'_>,
    ctx: &Ctx<'_>,
    board: &Board,
    keys: &Keys,
    player: &PlayerId,
    submission: &Submission,
    lock: Option<&KeyLock>,
) -> Result<SubmitOutcome> {
    let repo = ctx.repo().await?;
    // Reject now what can be rejected without the record, then accept durably: the inbox
    // stream is the record, the projector applies it.
    operator::check_acceptable(board, submission, call.now_ms)?;
    let event = EventEnvelope {
        id: format!("{}-{player}", call.now_ms),
        tenant: ctx.tenant.clone(),
        board: board.id.clone(),
        at_ms: call.now_ms,
        event: Event::ScoreSubmitted(ScoreSubmitted {
            player: player.clone(),
            score: submission.score,
            subscore: submission.subscore,
            metadata: submission.metadata.clone(),
            idempotency_key: lock.map(|l| l.key.clone()),
            band: submission.band.clone(),
        }),
    }
    .to_json()?;
    let board_ref = format!("{}/{}", ctx.tenant, board.id);
    let enqueued = repo
        .enqueue(keys, &event, DOORBELL, &board_ref, lock)
        .await?
        .ok_or_else(|| {
            LeaderboardError::IdempotencyInProgress(
                "another attempt of this request holds its Idempotency-Key; retry shortly".into(),
            )
        })?;
    if enqueued.unheard {
        note_unheard(ctx, repo, &board.id, call.now_ms).await;
    }
    Ok(SubmitOutcome::Stored(StoredOutcome::Accepted {
        event_id: enqueued.id,
    }))
}

/// An acceptance whose doorbell no worker heard (none listened: one restarting) notes its board
/// for the inbox sweep, due the reclaim time later, unless a drain has noted it: the schedule's
/// alarm, or the ring a worker gets at its start (`scripts/up.sh`) or from `/health/ready`
/// (`functions/health`), then finds the entries with no other write. Best effort: the entry is
/// accepted already, and the board's next doorbell drains it anyway.
async fn note_unheard(ctx: &Ctx<'_>, repo: &crate::repo::Repo, board: &BoardId, now_ms: i64) {
    let noted = match crate::settings::reclaim_after_ms(ctx.platform()).await {
        Ok(reclaim_after_ms) => {
            crate::submissions::pipeline::note_for_sweep(
                repo,
                &ctx.tenant,
                board,
                reclaim_after_ms,
                now_ms,
                crate::schedule::NoteMode::Absent,
            )
            .await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = noted {
        eprintln!(
            "scores: {}/{board} not noted for the inbox sweep: {e}",
            ctx.tenant
        );
    }
}

/// What a sync write leaves to do: other regions' copies of the board's reads dropped (this
/// region's too when a flag caches them), and the worker rung for the log's maintenance every
/// [`crate::submissions::pipeline::MAINTENANCE_EVERY`] versions.
async fn after_write(
    ctx: &Ctx<'_>,
    repo: &crate::repo::Repo,
    board: &Board,
    version: i64,
) -> Result<()> {
    if board.cache.enabled() {
        // Other regions hold copies of this board's reads: tell them (one PUBLISH, and one
        // worker invocation per region — measured on Spin, 2 cores shared: −20 % submissions at
        // concurrency 8 — which is why a board without cached reads skips it).
        ctx.invalidate_everywhere(board.id.as_str(), false).await?;
    } else if crate::flags::defines(ctx, crate::flags::READ_CACHE_TTL_SECS).await {
        // A board without cached reads has no copies to drop, and no KV write to pay for,
        // unless the tenant's `read-cache-ttl-secs` flag caches its reads anyway (rankings
        // computes a read with the flag's TTL). Then this region drops them.
        ctx.cache()
            .await
            .invalidate_after_write(ctx.tenant.as_str(), board.id.as_str(), false)
            .await;
    }
    if version % crate::submissions::pipeline::MAINTENANCE_EVERY == 0 {
        // Time for the worker to check the log's snapshots (a lost doorbell only delays it).
        let board_ref = format!("{}/{}", ctx.tenant, board.id);
        if let Err(e) = repo.ring(DOORBELL, &board_ref).await {
            eprintln!("scores: could not ring the maintenance doorbell: {e}");
        }
    }
    Ok(())
}
