//! `functions/scores`: `POST /api/{v}/boards/{board}/scores` — submit `{player, score, subscore?,
//! metadata?}` with an optional `Idempotency-Key`.
//!
//! `sync` boards apply the write before answering (`edge::submit`: a compare-and-set loop around
//! the core's decision, the event appended in the same script) and return the new standing; the
//! regional cache version is bumped so the next read here sees the write. `async` boards append
//! the submission to the board's inbox stream, ring the doorbell and answer `202 Accepted`; the
//! Redis-triggered `projector` applies it.

use edge::api::Ctx;
use edge::http;
use edge::http::Call;
use edge::idempotency;
use edge::platform::Platform;
use edge::repo::{Claim, Keys, Reservation};
use edge::submit;
use leaderboard::events::ScoreSubmitted;
use leaderboard::{
    Board, BoardId, Event, EventEnvelope, LeaderboardError, PlayerId, Result, Submission,
    SubmissionInput, WriteMode, access, operator,
};
use spin_sdk::http::{Method, Response};
#[cfg(target_arch = "wasm32")]
use spin_sdk::http_component;

#[cfg(target_arch = "wasm32")]
#[http_component]
fn handle(req: spin_sdk::http::Request, out: spin_sdk::http::ResponseOutparam) {
    edge::http::serve(&req, out, |call| route(&edge::platform::Spin, call))
}

/// Serves one request on `platform` (Spin in the component; a native platform in the benchmark's
/// baseline server).
pub fn route(platform: &dyn Platform, call: &Call<'_>) -> Result<Response> {
    if *call.method() != Method::Post {
        return Err(call.method_not_allowed("POST"));
    }
    let board_id = BoardId::new(call.param("board").unwrap_or_default())?;
    let ctx = Ctx::new(platform, call)?;
    let principal = ctx.require_principal()?;
    edge::flags::check_submissions(&ctx, call)?;
    let input: SubmissionInput = call.json()?;
    let claim = idempotency::claim(call, &input.player)?;
    let repo = ctx.repo()?;
    let (board, raw, record, reservation) = repo.board_and_record(
        &ctx.tenant,
        &board_id,
        &input.player,
        call.now_ms,
        claim.as_ref(),
    )?;
    let keys = Keys::new(&ctx.tenant, &board_id);
    let reserved = matches!(reservation, Some(Reservation::Reserved));
    let result = (|| {
        let (player, submission) = input.into_submission(&board)?;
        access::authorize_submit(principal, &board, &player)?;
        if record.is_none() {
            check_players_quota(call, &ctx, &board, &keys, &player)?;
        }
        if let (Some(claim), Some(Reservation::Held(stored))) = (&claim, &reservation) {
            edge::metrics::note_outcome("replayed");
            return idempotency::answer_held(call, &board, &player, claim, stored);
        }
        let (status, body) = apply(
            call,
            &ctx,
            &board,
            &keys,
            &player,
            &submission,
            (raw, record),
            claim.as_ref(),
        )?;
        edge::metrics::note_outcome(match status {
            202 => "accepted",
            201 => "created",
            _ if body.contains("\"improved\":true") => "improved",
            _ => "unchanged",
        });
        if status == 202 {
            edge::metrics::count(
                leaderboard::metrics::board_key(ctx.tenant.as_str(), board_id.as_str()),
                1,
            );
        }
        // Accepted (applied, or queued for the projector): the experiments fed by this board
        // count it (a replay of a held Idempotency-Key answered above, so it counts once).
        let value = board.format_score(submission.score).parse().unwrap_or(0.0);
        edge::experiments::record_submission(
            &ctx,
            board_id.as_str(),
            player.as_str(),
            value,
            call.now_ms,
        );
        Ok(http::json_text(status, call.version, body, &[]))
    })();
    if let (Err(_), true, Some(claim)) = (&result, reserved, &claim) {
        // Nothing was applied (the write stores its outcome in the same step): free the key so a
        // corrected retry can use it. If this fails too, the reservation expires in seconds.
        if let Err(e) = repo.release(&keys, claim) {
            eprintln!("scores: could not release an Idempotency-Key reservation: {e}");
        }
    }
    result
}

/// The tenant's `max_players_per_board`: a player new to the board's current period is refused
/// once the period holds that many (checked here, so concurrent first submissions may overshoot
/// by the number in flight).
fn check_players_quota(
    call: &Call<'_>,
    ctx: &Ctx,
    board: &Board,
    keys: &Keys,
    player: &PlayerId,
) -> Result<()> {
    let repo = ctx.repo()?;
    let settings = ctx.tenant_settings()?;
    if let Some(max) = settings.input.max_players_per_board {
        let period = leaderboard::period::period_id(board.period, call.now_ms)?;
        // A concurrent first submission of the same player may have added it meanwhile.
        if repo.period_size(keys, &period)? >= max && !repo.has_entry(keys, &period, player)? {
            return Err(leaderboard::tenant::TenantSettings::exceeded(
                "max_players_per_board",
                max,
            ));
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn apply(
    call: &Call<'_>,
    ctx: &Ctx,
    board: &Board,
    keys: &Keys,
    player: &PlayerId,
    submission: &Submission,
    first_read: (String, Option<leaderboard::Record>),
    claim: Option<&Claim>,
) -> Result<(u16, String)> {
    let repo = ctx.repo()?;
    if board.write_mode == WriteMode::Async {
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
                idempotency_key: claim.map(|c| c.key.clone()),
            }),
        }
        .to_json()?;
        let board_ref = format!("{}/{}", ctx.tenant, board.id);
        let id = repo
            .enqueue(keys, &event, submit::DOORBELL, &board_ref, claim)?
            .ok_or_else(|| {
                LeaderboardError::IdempotencyInProgress(
                    "another attempt of this request holds its Idempotency-Key; retry shortly"
                        .into(),
                )
            })?;
        return Ok((202, idempotency::accepted_body(board, player, &id)));
    }
    let outcome = submit::apply(
        repo,
        &ctx.tenant,
        board,
        player,
        submission,
        call.now_ms,
        Some(first_read),
        claim,
    )?;
    if board.cache.enabled() {
        // Other regions hold copies of this board's reads: tell them (one PUBLISH, and one
        // worker invocation per region — measured on Spin, 2 cores shared: −20 % submissions at
        // concurrency 8 — which is why a board without cached reads skips it).
        ctx.cache().invalidate_everywhere(
            ctx.repo()?,
            ctx.tenant.as_str(),
            board.id.as_str(),
            false,
        );
    } else {
        ctx.cache()
            .invalidate(ctx.tenant.as_str(), board.id.as_str(), false);
    }
    if outcome.version % edge::pipeline::MAINTENANCE_EVERY == 0 {
        // Time for the worker to check the log's snapshots (a lost doorbell only delays it).
        let board_ref = format!("{}/{}", ctx.tenant, board.id);
        if let Err(e) = repo.ring(submit::DOORBELL, &board_ref) {
            eprintln!("scores: could not ring the maintenance doorbell: {e}");
        }
    }
    Ok(idempotency::render_applied(
        call.version,
        board,
        player,
        outcome.better,
        outcome.total,
        &outcome.applied,
    ))
}
