//! A board's REST routes: create, list, read, delete.

use leaderboard::board::view::{self, PeriodView};
use leaderboard::policy::access;
use leaderboard::{BoardConfigInput, BoardId, Result};

use crate::api::Ctx;
use crate::audit;
use crate::http::{self, Call, Response, ResponseBuilder};

/// `POST /api/{v}/boards` (admin): creates a board from its config (the tenant's defaults
/// filled in), notes and lists a tournament first, and answers `201` with its view.
pub async fn create(call: &Call<'_>, ctx: &Ctx<'_>) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    let mut raw: serde_json::Value = call.json()?;
    let repo = ctx.repo().await?;
    let settings = ctx.tenant_settings().await?;
    settings.board_defaults(&mut raw);
    let input: BoardConfigInput = crate::http::json_value(raw)?;
    let board = input.validate()?;
    if settings.counts_boards() {
        settings.admit_board(repo.board_count(&ctx.tenant).await?)?;
    }
    // A tournament is noted for its announcements and indexed for the listing before it is
    // stored, so none is ever stored unnoted or unlisted (a creation refused for a taken id
    // leaves an index entry the listing mends).
    crate::competitions::tournaments::note_created(&crate::repo::BoardAt::new(
        repo,
        &ctx.tenant,
        &board,
        call.now_ms,
    ))
    .await?;
    crate::competitions::tournaments::index(repo, &ctx.tenant, &board).await?;
    repo.create_board(&ctx.tenant, &board, call.now_ms).await?;
    if crate::webhooks::count(repo, &ctx.tenant).await? > 0 {
        crate::webhooks::refresh_boards(repo, &ctx.tenant, std::slice::from_ref(&board.id)).await?;
    }
    ctx.invalidate_everywhere(board.id.as_str(), true).await?;
    audit::record(
        ctx,
        call,
        "board.create",
        board.id.as_str(),
        serde_json::json!({ "config": board.to_input() }),
    )
    .await;
    let period = PeriodView::resolve(&board, None, call.now_ms)?;
    let body = view::board(call.version, &board, &period).to_string();
    let location = format!("{}/{}", call.path.trim_end_matches('/'), board.id);
    Ok(http::json_text(
        201,
        call.version,
        body,
        &[("location", location)],
    ))
}

/// `GET /api/{v}/boards` (service or admin): the tenant's boards.
pub async fn list(call: &Call<'_>, ctx: &Ctx<'_>) -> Result<Response> {
    access::authorize_list(ctx.require_principal()?)?;
    let repo = ctx.repo().await?;
    let mut boards = Vec::new();
    for id in repo.board_ids(&ctx.tenant).await? {
        match repo.board(&ctx.tenant, &id).await {
            Ok(board) => {
                let period = PeriodView::resolve(&board, None, call.now_ms)?;
                boards.push(view::board(call.version, &board, &period));
            }
            // Deleted between the two reads.
            Err(leaderboard::LeaderboardError::BoardNotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(http::json(
        200,
        call.version,
        &serde_json::json!({ "boards": boards }),
    ))
}

/// `GET /api/{v}/boards/{board}`: its config, current period and next reset (no token for a
/// public board).
pub async fn get(call: &Call<'_>, ctx: &Ctx<'_>, id: &BoardId) -> Result<Response> {
    let board = ctx.repo().await?.board(&ctx.tenant, id).await?;
    access::authorize_read(ctx.principal.as_ref(), &board)?;
    let period = PeriodView::resolve(&board, None, call.now_ms)?;
    Ok(http::json(
        200,
        call.version,
        &view::board(call.version, &board, &period),
    ))
}

/// `DELETE /api/{v}/boards/{board}` (admin): deletes it with all its data (`204`).
pub async fn delete(call: &Call<'_>, ctx: &Ctx<'_>, id: &BoardId) -> Result<Response> {
    crate::boards::lifecycle::delete_board(ctx, call, id).await?;
    Ok(ResponseBuilder::new(204).empty())
}
