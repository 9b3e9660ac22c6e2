//! A tournament's attempts (`max_attempts`): a player's attempts in the current run, and grants
//! of more (`GET`/`POST /api/{v}/boards/{board}/attempts`). The attempts used are the player's
//! record's `submissions`, kept by the write itself (`crate::submissions::submit::apply` checks them).

use leaderboard::competition::tournament::{self, Attempts, Tournament};
use leaderboard::{
    BoardId, LeaderboardError, PeriodId, PlayerId, Result, board::period, policy::access,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::Ctx;
use crate::http::{Call, Response};
use crate::repo::Keys;

/// A grant's body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantInput {
    /// Who gets the attempts.
    player: PlayerId,
    /// How many more this run (1..=1,000), added to what was granted before.
    extra: u64,
}

/// A player's attempts in a run, as both attempt routes (and GraphQL and Connect) answer them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptsShown {
    /// The tournament.
    pub board: String,
    /// Whose.
    pub player: String,
    /// The run.
    pub period: String,
    /// Submissions per player per run, before grants (`None`: unlimited).
    pub max_attempts: Option<u32>,
    /// Attempts granted to the player in this run.
    pub granted: u64,
    /// `max_attempts` plus the grants (`None`: unlimited).
    pub allowed: Option<u64>,
    /// Submissions the player made in this run.
    pub used: u64,
    /// What is left (`None`: unlimited).
    pub left: Option<u64>,
}

impl AttemptsShown {
    fn of(
        board_id: &BoardId,
        player: &PlayerId,
        period: &PeriodId,
        t: &Tournament,
        attempts: Attempts,
    ) -> Self {
        Self {
            board: board_id.to_string(),
            player: player.to_string(),
            period: period.to_string(),
            max_attempts: t.max_attempts,
            granted: attempts.granted,
            allowed: tournament::allowed(t.max_attempts, attempts.granted),
            used: attempts.used,
            left: tournament::left(t.max_attempts, attempts),
        }
    }
}

/// `GET /api/{v}/boards/{board}/attempts?player=`: a player's attempts in the current run (the
/// period of now) — allowed (`max_attempts` plus grants), used, left. A player's own token reads
/// its own; a `service` or `admin` token anyone's. `409` for a board that counts no attempts.
pub async fn attempts(ctx: &Ctx<'_>, call: &Call<'_>, board_id: &BoardId) -> Result<Response> {
    ctx.require_principal()?;
    let raw = call.query.get("player").ok_or_else(|| {
        LeaderboardError::InvalidBody("query parameter 'player' is required".into())
    })?;
    let player = PlayerId::new(raw.as_str())?;
    let shown = attempts_of(ctx, call.now_ms, board_id, &player).await?;
    crate::http::json_of(200, call.version, &shown)
}

/// `player`'s attempts in the current run of `board_id`, as [`attempts`] answers them (REST,
/// GraphQL and Connect).
pub async fn attempts_of(
    ctx: &Ctx<'_>,
    now_ms: i64,
    board_id: &BoardId,
    player: &PlayerId,
) -> Result<AttemptsShown> {
    let principal = ctx.require_principal()?;
    let repo = ctx.repo().await?;
    let board = repo.board(&ctx.tenant, board_id).await?;
    access::authorize_submit(principal, &board, player)?;
    let t = board.counting_attempts()?;
    let run = period::period_id(board.period, now_ms)?;
    let keys = Keys::new(&ctx.tenant, board_id);
    let (_, record) = repo.record(&keys, &run, player).await?;
    let granted = repo.attempts_granted(&keys, &run, player).await?;
    let used = record.map_or(0, |r| r.submissions);
    Ok(AttemptsShown::of(
        board_id,
        player,
        &run,
        t,
        Attempts { used, granted },
    ))
}

/// `POST /api/{v}/boards/{board}/attempts` `{player, extra}`: grants a player `extra` more
/// attempts in the current run, while the tournament is open (`409` `tournament-closed`
/// otherwise: a grant belongs to a run, and an upcoming tournament has none yet). `service` or
/// `admin` only; audited (`tournament.grant`). A grant adds: it is not idempotent, and a
/// client that retries one it did not see answered reads the attempts first.
pub async fn grant(ctx: &Ctx<'_>, call: &Call<'_>, board_id: &BoardId) -> Result<Response> {
    access::authorize_operator(ctx.require_principal()?, "granting attempts")?;
    let input: GrantInput = call.json()?;
    let shown = grant_more(ctx, call, board_id, &input.player, input.extra).await?;
    crate::http::json_of(200, call.version, &shown)
}

/// Grants `player` `extra` more attempts in the current run, as [`grant`] answers it (REST,
/// GraphQL and Connect).
pub async fn grant_more(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    board_id: &BoardId,
    player: &PlayerId,
    extra: u64,
) -> Result<AttemptsShown> {
    access::authorize_operator(ctx.require_principal()?, "granting attempts")?;
    let extra = tournament::grant(extra)?;
    let repo = ctx.repo().await?;
    let board = repo.board(&ctx.tenant, board_id).await?;
    let t = board.counting_attempts()?;
    board.admits_submission(call.now_ms)?;
    let run = period::period_id(board.period, call.now_ms)?;
    let keys = Keys::new(&ctx.tenant, board_id);
    let expire = period::expire_at_ms(&run, board.retain_periods);
    // The grant and the record it is answered with in one step (a grant is not idempotent: no
    // read after it may fail the answer). Only waiting for replicas comes after it: a `503`
    // then means the grant was made, and a client reads the attempts before sending it again.
    let (granted, record) = repo
        .grant_attempts(&keys, &run, player, extra, expire)
        .await?;
    let used = record.map_or(0, |r| r.submissions);
    crate::audit::record(
        ctx,
        call,
        "tournament.grant",
        board_id.as_str(),
        json!({"player": player.as_str(), "period": run.to_string(), "extra": extra,
            "granted": granted}),
    )
    .await;
    Ok(AttemptsShown::of(
        board_id,
        player,
        &run,
        t,
        Attempts { used, granted },
    ))
}
