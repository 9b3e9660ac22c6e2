//! `GET /api/{v}/boards/{board}/live?limit&player&period` — the board's top-N (and the player's
//! own standing) as it changes: an event stream with `Accept: text/event-stream`, a long-poll with
//! `since=<version>&wait=<secs>`, else the snapshot as JSON (`crate::live` serves all three; see
//! `leaderboard::http::live` for the rules). Same access rules as `entries`.

use crate::http::{Call, Method};
use crate::live::Render;
use crate::platform::Platform;
use crate::stream::Reply;
use leaderboard::board::view::PeriodView;
use leaderboard::http::live::LiveMode;
use leaderboard::{BoardId, LeaderboardError, PlayerId, Result, policy::access};

use crate::reads::routes as reads;

/// Whether the request is for the live route (its path ends in `/live`, nothing after it).
pub fn is_live(call: &Call<'_>) -> bool {
    call.rest.is_empty() && call.path.trim_end_matches('/').ends_with("/live")
}

/// Serves the live route on `platform`.
pub async fn route(platform: &'static dyn Platform, call: &Call<'_>) -> Result<Reply> {
    if *call.method() != Method::GET {
        return Err(call.method_not_allowed("GET"));
    }
    let id = BoardId::new(call.param("board").unwrap_or_default())?;
    let ctx = crate::admission::admit(platform, call).await?;
    for fixed in ["cursor", "as_of"] {
        if call.query.contains_key(fixed) {
            return Err(LeaderboardError::InvalidBody(format!(
                "{fixed} does not apply to live updates: they follow the first page of the \
                 current ranking"
            )));
        }
    }
    let policy = crate::live::policy(platform).await?;
    let mode = LiveMode::from_request(
        call.header("accept"),
        call.header("last-event-id"),
        call.query.get("since").map(String::as_str),
        call.query.get("wait").map(String::as_str),
        &policy,
    )?;
    let player = call
        .query
        .get("player")
        .filter(|p| !p.is_empty())
        .map(PlayerId::new)
        .transpose()?;
    let board = ctx.repo().await?.board(&ctx.tenant, &id).await?;
    access::authorize_read(ctx.principal.as_ref(), &board)?;
    // What the renders will take, checked now: a stream's head is sent before its first render.
    call.query_u32("limit", 10, 1, crate::reads::MAX_LIMIT)?;
    let period = PeriodView::resolve(
        &board,
        call.query.get("period").map(String::as_str),
        call.now_ms,
    )?;
    // The cohort a board with cohorts shows this reader (`404` before its first submission of
    // the period, `403` for another's).
    crate::competitions::cohorts::scope(
        &ctx,
        &board,
        &period.id,
        call.query.get("cohort").map(String::as_str),
    )
    .await?;
    let render: Render = Box::new(move |call, ctx, board| {
        let player = player.clone();
        Box::pin(async move {
            let page = reads::entries_page(call, ctx, board).await?;
            let standing = match &player {
                None => None,
                Some(p) => match reads::standing(call, ctx, board, p.as_str()).await {
                    Ok(s) => Some(s),
                    Err(LeaderboardError::PlayerNotFound(_)) => None,
                    Err(e) => return Err(e),
                },
            };
            Ok((page, standing))
        })
    });
    crate::live::answer(call, ctx, board, mode, policy, render).await
}
