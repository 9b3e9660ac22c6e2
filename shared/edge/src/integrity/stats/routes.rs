//! `GET /api/{v}/boards/{board}/stats?window&step`: a board's analytics ([`leaderboard::integrity::stats`]):
//! the window's counts per step and in total, the current period's distribution and the
//! window's biggest climbers. Two round trips (the window, then the distribution's positions and
//! histogram counts); never cached (the window moves with the clock).
//!
//! Who may read them: anyone for a `public_read` board, else a tenant admin (a competitor's
//! submission counts and climbers are not for every player token).

use crate::api::Ctx;
use crate::http::{Call, Response, ResponseBuilder};
use crate::repo::Keys;
use leaderboard::board::view::PeriodView;
use leaderboard::integrity::stats::{self, Distribution, DistributionQuery, Window};
use leaderboard::{Board, BoardId, Result, policy::access};
use serde_json::Value;

/// The stats document of `id` for the admitted caller, with the window the query asks for.
async fn document(call: &Call<'_>, ctx: &Ctx<'_>, id: &BoardId) -> Result<Value> {
    let (board, _) = crate::reads::cached::board(call, ctx, id).await?;
    access::authorize_stats(ctx.principal.as_ref(), &board)?;
    let window = Window::parse(
        call.query.get("window").map(String::as_str),
        call.query.get("step").map(String::as_str),
        call.now_ms,
    )?;
    compute(call, ctx, &board, &window).await
}

/// `GET /boards/{board}/dashboard?window&step`: the stats as one HTML page with SVG charts
/// ([`leaderboard::http::dashboard`]): no script, a strict CSP, never cached.
pub async fn dashboard(call: &Call<'_>, ctx: &Ctx<'_>, id: &BoardId) -> Result<Response> {
    let page = leaderboard::http::dashboard::render(&document(call, ctx, id).await?);
    Ok(ResponseBuilder::new(200)
        .header("content-type", "text/html; charset=utf-8")
        .header("content-security-policy", leaderboard::http::dashboard::CSP)
        .header("cache-control", "no-store")
        .body(page))
}

/// The stats of `id` for the admitted caller.
pub async fn serve(call: &Call<'_>, ctx: &Ctx<'_>, id: &BoardId) -> Result<Response> {
    let body = document(call, ctx, id).await?;
    Ok(crate::http::json_text(
        200,
        call.version,
        body.to_string(),
        &[("cache-control", "no-store".into())],
    ))
}

/// The stats document: two round trips, then the core's rendering.
pub async fn compute(
    call: &Call<'_>,
    ctx: &Ctx<'_>,
    board: &Board,
    window: &Window,
) -> Result<Value> {
    let period = PeriodView::resolve(board, None, call.now_ms)?;
    let keys = Keys::new(&ctx.tenant, &board.id);
    let repo = ctx.repo().await?;
    let window_stats = repo.stats(&keys, &period.id, window).await?;
    let query = DistributionQuery::of(board, &window_stats)?;
    let (at, counts) = if query.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        repo.stats_distribution(&keys, &period.id, &query.positions, &query.ranges)
            .await?
    };
    let distribution = Distribution { query, at, counts };
    stats::document(
        board,
        call.version,
        &period.id,
        window,
        &window_stats,
        &distribution,
    )
}
