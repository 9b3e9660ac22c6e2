//! `POST …/replay` (admin): rebuilds the board's projection from its log into fresh keys, compares
//! them with the live ones and swaps them in (`crate::boards::rebuild::replay`); answers what it did.

use crate::api::Ctx;
use crate::audit;
use crate::boards::rebuild;
use crate::http::{self, Call, Response};
use leaderboard::{BoardId, Result, policy::access};

/// Replays `board`.
pub async fn replay(call: &Call<'_>, ctx: &Ctx<'_>, board: &BoardId) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    let repo = ctx.repo().await?;
    let board = repo.board(&ctx.tenant, board).await?;
    let report = rebuild::replay(&crate::repo::BoardAt::new(
        repo,
        &ctx.tenant,
        &board,
        call.now_ms,
    ))
    .await?;
    ctx.invalidate_everywhere(board.id.as_str(), false).await?;
    let body = serde_json::to_value(&report)
        .map_err(|e| leaderboard::LeaderboardError::Internal(e.to_string()))?;
    audit::record(
        ctx,
        call,
        "board.replay",
        board.id.as_str(),
        serde_json::json!({
            "events": report.events,
            "from_snapshot": report.from_snapshot,
            "differences": report.differences,
        }),
    )
    .await;
    Ok(http::json(200, call.version, &body))
}
