//! `functions/scores`: `POST /api/{v}/boards/{board}/scores` — submit `{player, score, subscore?,
//! metadata?}` with an optional `Idempotency-Key`.
//!
//! `sync` boards apply the write before answering (`edge::submit`: a compare-and-set loop around
//! the core's decision, the event appended in the same script) and return the new standing; the
//! regional cache version is bumped so the next read here sees the write. `async` boards append
//! the submission to the board's inbox stream, ring the doorbell and answer `202 Accepted`; the
//! Redis-triggered `projector` applies it.

use edge::api::Ctx;
use edge::http::Call;
use edge::idempotency;
use edge::platform::Platform;
use edge::repo::Keys;
use edge::submit;
use leaderboard::events::ScoreSubmitted;
use leaderboard::view;
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
    let input: SubmissionInput = call.json()?;
    let repo = ctx.repo()?;
    let (board, raw, record) =
        repo.board_and_record(&ctx.tenant, &board_id, &input.player, call.now_ms)?;
    let (player, submission) = input.into_submission(&board)?;
    access::authorize_submit(principal, &board, &player)?;
    let keys = Keys::new(&ctx.tenant, &board_id);

    let idem = idempotency::begin(call, repo, &keys, &player)?;
    if let idempotency::Begin::Replay(resp) = idem {
        return Ok(resp);
    }
    let result = apply(
        call,
        &ctx,
        &board,
        &keys,
        &player,
        &submission,
        (raw, record),
    );
    idempotency::finish(repo, &keys, &idem, call.version, result)
}

fn apply(
    call: &Call<'_>,
    ctx: &Ctx,
    board: &Board,
    keys: &Keys,
    player: &PlayerId,
    submission: &Submission,
    first_read: (String, Option<leaderboard::Record>),
) -> Result<(u16, String)> {
    let idempotency_key = call.header("idempotency-key");
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
                idempotency_key: idempotency_key.map(str::to_string),
            }),
        }
        .to_json()?;
        let board_ref = format!("{}/{}", ctx.tenant, board.id);
        let id = repo.enqueue(keys, &event, submit::DOORBELL, &board_ref)?;
        let body = serde_json::json!({
            "accepted": true,
            "event_id": id,
            "board": board.id.as_str(),
            "player": player.as_str(),
            "write_mode": "async",
        });
        return Ok((202, body.to_string()));
    }
    let outcome = submit::apply(
        repo,
        &ctx.tenant,
        board,
        player,
        submission,
        call.now_ms,
        None,
        Some(first_read),
    )?
    .ok_or_else(|| {
        LeaderboardError::Internal("a synchronous write cannot be a duplicate".into())
    })?;
    ctx.cache()
        .invalidate(ctx.tenant.as_str(), board.id.as_str(), false);
    let status = if outcome.view.previous_score.is_none() {
        201
    } else {
        200
    };
    Ok((
        status,
        view::submit(call.version, board, &outcome.period, &outcome.view).to_string(),
    ))
}
