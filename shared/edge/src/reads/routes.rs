//! The REST renderings of the ranked reads: each takes its arguments from the query, reads with
//! [`crate::reads`] and renders with the core's view.

use crate::api::Ctx;
use crate::http::{Call, Response, ResponseBuilder};
use crate::reads::{self as shared, At};
use crate::repo::Keys;
use leaderboard::board::view::{self, PeriodView};
use leaderboard::{
    Board, BoardId, EventEnvelope, LeaderboardError, PlayerId, Result, policy::access,
};

/// Where the request's read looks: `period` and `as_of` from the query ([`crate::reads::At`]).
fn at<'c>(call: &'c Call<'_>) -> At<'c> {
    At {
        now_ms: call.now_ms,
        period: call.query.get("period").map(String::as_str),
        as_of: call.query.get("as_of").map(String::as_str),
        cohort: call.query.get("cohort").map(String::as_str),
    }
}

/// A cached read, by shape: what [`crate::reads::cached::serve`] computes on a miss.
#[derive(Debug, Clone, Copy)]
pub enum Read<'p> {
    /// [`entries`].
    Entries,
    /// [`players`].
    Players,
    /// [`player`] of this player.
    Player(&'p str),
    /// [`around`] this player.
    Around(&'p str),
}

impl Read<'_> {
    /// Computes the read's body.
    pub async fn compute(self, call: &Call<'_>, ctx: &Ctx<'_>, board: &Board) -> Result<String> {
        match self {
            Read::Entries => entries(call, ctx, board).await,
            Read::Players => players(call, ctx, board).await,
            Read::Player(p) => player(call, ctx, board, p).await,
            Read::Around(p) => around(call, ctx, board, p).await,
        }
    }
}

/// `GET …/entries?limit&cursor&period`.
pub async fn entries(call: &Call<'_>, ctx: &Ctx<'_>, board: &Board) -> Result<String> {
    entries_page(call, ctx, board)
        .await
        .map(|page| page.to_string())
}

/// The page [`entries`] renders, as JSON.
pub async fn entries_page(
    call: &Call<'_>,
    ctx: &Ctx<'_>,
    board: &Board,
) -> Result<serde_json::Value> {
    let limit = call.query_u32("limit", 10, 1, crate::reads::MAX_LIMIT)?;
    let cursor = call.query.get("cursor").map(String::as_str);
    let page = shared::top(ctx, board, &at(call), limit, cursor).await?;
    let mut body = view::page(
        call.version,
        board,
        &page.period,
        page.total,
        &page.entries,
        page.next_cursor.as_deref(),
        Some(limit),
    );
    with_cohort(&mut body, board, page.cohort.as_ref());
    Ok(body)
}

/// `GET …/players?ids=a,b,c&period`: the players found, in the order asked, and `missing`.
pub async fn players(call: &Call<'_>, ctx: &Ctx<'_>, board: &Board) -> Result<String> {
    let ids = call
        .query
        .get("ids")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            LeaderboardError::InvalidBody(
                "query parameter 'ids' (comma-separated player ids) is required".into(),
            )
        })?;
    let ids: Vec<&str> = ids.split(',').collect();
    let found = shared::players(ctx, board, &at(call), &ids).await?;
    let mut body = view::page(
        call.version,
        board,
        &found.period,
        found.total,
        &found.entries,
        None,
        None,
    );
    body["missing"] = serde_json::json!(found.missing);
    with_cohort(&mut body, board, found.cohort.as_ref());
    Ok(body.to_string())
}

/// `GET …/players/{player}?period`.
pub async fn player(call: &Call<'_>, ctx: &Ctx<'_>, board: &Board, player: &str) -> Result<String> {
    standing(call, ctx, board, player)
        .await
        .map(|s| s.to_string())
}

/// The standing [`player`] renders, as JSON.
pub async fn standing(
    call: &Call<'_>,
    ctx: &Ctx<'_>,
    board: &Board,
    player: &str,
) -> Result<serde_json::Value> {
    let s = shared::standing(ctx, board, &at(call), player).await?;
    let mut body = view::standing(call.version, board, &s.period, &s.entry, s.total);
    with_cohort(&mut body, board, s.cohort.as_ref());
    Ok(body)
}

/// `GET …/players/{player}/around?radius&period`.
pub async fn around(call: &Call<'_>, ctx: &Ctx<'_>, board: &Board, player: &str) -> Result<String> {
    let radius = call.query_u32("radius", 5, 0, shared::MAX_RADIUS)?;
    let page = shared::around(ctx, board, &at(call), player, radius).await?;
    let mut body = view::page(
        call.version,
        board,
        &page.period,
        page.total,
        &page.entries,
        None,
        None,
    );
    body["player"] = serde_json::json!(player);
    with_cohort(&mut body, board, page.cohort.as_ref());
    Ok(body.to_string())
}

/// Adds the cohort read to a read's answer on a board with cohorts ([`view::with_cohort`]).
fn with_cohort(
    body: &mut serde_json::Value,
    board: &Board,
    cohort: Option<&leaderboard::competition::cohort::CohortId>,
) {
    view::with_cohort(body, board, cohort.map(ToString::to_string).as_deref());
}

/// `DELETE …/players/{player}?period` (admin).
pub async fn delete_player(
    call: &Call<'_>,
    ctx: &Ctx<'_>,
    id: &BoardId,
    player: &str,
) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    let player = PlayerId::new(player)?;
    let board = ctx.repo().await?.board(&ctx.tenant, id).await?;
    let period = PeriodView::resolve(
        &board,
        call.query.get("period").map(String::as_str),
        call.now_ms,
    )?;
    let event = EventEnvelope::record_deleted(&ctx.tenant, id, &player, period.id, call.now_ms)
        .to_json()?;
    let keys = Keys::new(&ctx.tenant, id);
    ctx.repo()
        .await?
        .delete_player(&keys, &board, &period.id, &player, &event)
        .await?
        .ok_or_else(|| {
            LeaderboardError::PlayerNotFound(format!(
                "'{player}' has no entry on '{id}' for period {}",
                period.id
            ))
        })?;
    ctx.invalidate_everywhere(id.as_str(), false).await?;
    crate::audit::record(
        ctx,
        call,
        "entry.delete",
        id.as_str(),
        serde_json::json!({ "player": player.as_str(), "period": period.id.to_string() }),
    )
    .await;
    Ok(ResponseBuilder::new(204).empty())
}
