//! `functions/scores`: `POST /api/{v}/boards/{board}/scores` — submit `{player, score, subscore?,
//! metadata?}` with an optional `Idempotency-Key`.
//!
//! The write is a compare-and-set loop: read the player's record, let the core decide the new one
//! (`operator::apply`), and apply it in one Lua script only if the record is unchanged; on a lost
//! race, read again. The event is appended to the board's stream in the same script, before the
//! response is sent. The regional cache version is bumped so the next read here sees the write.

mod idempotency;

use edge::api::Ctx;
use edge::http::{self, Call};
use edge::repo::Keys;
use leaderboard::events::ScoreApplied;
use leaderboard::view::{self, EntryView, PeriodView, SubmitView};
use leaderboard::{
    BoardId, Event, EventEnvelope, LeaderboardError, Result, SubmissionInput, access, operator,
    period, rank,
};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

/// Compare-and-set attempts before answering 409 (each attempt loses only to a concurrent write
/// of the same player's record).
const MAX_ATTEMPTS: usize = 200;

#[http_component]
fn handle(req: Request) -> Response {
    http::respond(&req, route)
}

fn route(call: &Call<'_>) -> Result<Response> {
    if *call.method() != Method::Post {
        return Err(call.method_not_allowed("POST"));
    }
    let board_id = BoardId::new(call.param("board").unwrap_or_default())?;
    let ctx = Ctx::new(call)?;
    let principal = ctx.require_principal()?;
    let input: SubmissionInput = call.json()?;
    let repo = ctx.repo()?;
    let board = repo.board(&ctx.tenant, &board_id)?;
    let (player, submission) = input.into_submission(&board)?;
    access::authorize_submit(principal, &board, &player)?;
    let keys = Keys::new(&ctx.tenant, &board_id);

    let idem = idempotency::begin(call, repo, &keys, &player)?;
    if let idempotency::Begin::Replay(resp) = idem {
        return Ok(resp);
    }
    let result = apply(call, &ctx, &board, &keys, &player, &submission);
    idempotency::finish(repo, &keys, &idem, call.version, result)
}

fn apply(
    call: &Call<'_>,
    ctx: &Ctx,
    board: &leaderboard::Board,
    keys: &Keys,
    player: &leaderboard::PlayerId,
    submission: &leaderboard::Submission,
) -> Result<(u16, String)> {
    let repo = ctx.repo()?;
    let now = call.now_ms;
    let period = PeriodView::resolve(board, None, now)?;
    let expire = period::expire_at_ms(&period.id, board.retain_periods);
    for _ in 0..MAX_ATTEMPTS {
        let (raw, previous) = repo.record(keys, &period.id, player)?;
        let outcome = operator::apply(board, previous.as_ref(), submission, now)?;
        let key = outcome.record.sort_key(board, player)?;
        let event = EventEnvelope {
            id: format!("{now}-{player}-{}", outcome.record.submissions),
            tenant: ctx.tenant.clone(),
            board: board.id.clone(),
            at_ms: now,
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
        let Some(applied) = repo.apply(
            keys,
            &period.id,
            player,
            &raw,
            &outcome.record,
            &key.member,
            key.rank_value,
            &event,
            expire,
        )?
        else {
            continue;
        };
        ctx.cache().bump(ctx.tenant.as_str(), board.id.as_str());
        let record = outcome.record;
        let result = SubmitView {
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
        let status = if result.previous_score.is_none() {
            201
        } else {
            200
        };
        return Ok((
            status,
            view::submit(call.version, board, &period, &result).to_string(),
        ));
    }
    Err(LeaderboardError::Conflict(format!(
        "the record of '{player}' changed {MAX_ATTEMPTS} times while this submission was applied; retry"
    )))
}
