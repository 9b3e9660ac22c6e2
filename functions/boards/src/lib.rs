//! `functions/boards`: board administration.
//!
//! ```text
//! POST   /api/{v}/boards            admin: create (body: board config)
//! GET    /api/{v}/boards            service/admin: the tenant's boards
//! GET    /api/{v}/boards/{board}    config, current period, next reset (public boards: no token)
//! DELETE /api/{v}/boards/{board}    admin: delete with all its data
//! GET    /api/{v}/tenants/{tenant}        platform, or the tenant's admin: its settings
//! PUT    /api/{v}/tenants/{tenant}        platform: replace them (quotas, defaults, rate limits)
//! GET    /api/{v}/tenants/{tenant}/usage  platform, or the tenant's admin: boards and players
//! …      /api/{v}/api-keys[/{id}]         admin: API keys for service clients (`keys`)
//! …      /api/{v}/webhooks[/{id}[/…]]     admin: webhook subscriptions (`webhooks`)
//! …      /api/{v}/boards/{board}/reviews[/…]  admin: held and flagged submissions (`reviews`)
//! GET    /api/{v}/tournaments                       the tenant's tournaments by state and category
//! GET    /api/{v}/players/{player}/tournaments      the tournaments a player joined, with rank
//! POST   /api/{v}/boards/{board}/tournament/end     admin: end a tournament now
//! POST   /api/{v}/boards/{board}/tournament/extend  admin: move its end later
//! ```

// The p3 build names its spin-sdk (6.0) `spin_sdk`, as the entry point's macro expects.
#[cfg(feature = "p3")]
extern crate spin_sdk_6 as spin_sdk;

use edge::api::Ctx;
use edge::audit;
use edge::http::{self, Call, Method, Response, ResponseBuilder};
use edge::platform::Platform;
use leaderboard::board::view::{self, PeriodView};
use leaderboard::policy::access;
use leaderboard::{BoardConfigInput, BoardId, LeaderboardError, Result, TenantId};

mod keys;
mod reviews;
mod tenants;
mod webhooks;
edge::http_entry!(route);

/// Serves one request on `platform` (Spin in the component; a native platform in the benchmark's
/// baseline server).
pub async fn route(platform: &dyn Platform, call: &Call<'_>) -> Result<Response> {
    let segments: Vec<&str> = call.path.split('/').filter(|s| !s.is_empty()).collect();
    if let ["api", _, "tenants", tenant, rest @ ..] = segments.as_slice() {
        let ctx = edge::admission::admit(platform, call).await?;
        let tenant = TenantId::new(*tenant)?;
        return match (call.method(), rest) {
            (&Method::GET, []) => tenants::get(call, &ctx, &tenant).await,
            (&Method::PUT, []) => tenants::put(call, &ctx, &tenant).await,
            (_, []) => Err(call.method_not_allowed("GET, PUT")),
            (&Method::GET, ["usage"]) => tenants::usage(call, &ctx, &tenant).await,
            (_, ["usage"]) => Err(call.method_not_allowed("GET")),
            _ => Err(LeaderboardError::NotFound(format!(
                "no such resource: {}",
                call.path
            ))),
        };
    }
    if let ["api", _, "api-keys", rest @ ..] = segments.as_slice() {
        let ctx = edge::admission::admit(platform, call).await?;
        return keys::route(call, &ctx, rest).await;
    }
    if let ["api", _, "webhooks", rest @ ..] = segments.as_slice() {
        let ctx = edge::admission::admit(platform, call).await?;
        return webhooks::route(call, &ctx, rest).await;
    }
    if let ["api", _, "boards", board, "reviews", rest @ ..] = segments.as_slice() {
        let ctx = edge::admission::admit(platform, call).await?;
        return reviews::route(call, &ctx, &BoardId::new(*board)?, rest).await;
    }
    if let ["api", _, "players", player, "tournaments"] = segments.as_slice() {
        let ctx = edge::admission::admit(platform, call).await?;
        return match call.method() {
            &Method::GET => edge::competitions::tournaments::joined(&ctx, call, player).await,
            _ => Err(call.method_not_allowed("GET")),
        };
    }
    if let ["api", _, "tournaments"] = segments.as_slice() {
        let ctx = edge::admission::admit(platform, call).await?;
        return match call.method() {
            &Method::GET => edge::competitions::tournaments::list(&ctx, call).await,
            _ => Err(call.method_not_allowed("GET")),
        };
    }
    if let ["api", _, "boards", board, "tournament", rest @ ..] = segments.as_slice() {
        // The method first: any other is `405` whatever the path's board id (as the scores
        // routes answer).
        let end = match (call.method(), rest) {
            (&Method::POST, ["end"]) => true,
            (&Method::POST, ["extend"]) => false,
            (_, ["end" | "extend"]) => return Err(call.method_not_allowed("POST")),
            _ => {
                return Err(LeaderboardError::NotFound(format!(
                    "no such resource: {}",
                    call.path
                )));
            }
        };
        let ctx = edge::admission::admit(platform, call).await?;
        let board = BoardId::new(*board)?;
        return if end {
            edge::competitions::tournaments::end_early(&ctx, call, &board).await
        } else {
            edge::competitions::tournaments::extend(&ctx, call, &board).await
        };
    }
    let board = call.param("board").map(BoardId::new).transpose()?;
    let ctx = edge::admission::admit(platform, call).await?;
    match (call.method(), board) {
        (&Method::POST, None) => create(call, &ctx).await,
        (&Method::GET, None) => list(call, &ctx).await,
        (&Method::GET, Some(id)) => get(call, &ctx, &id).await,
        (&Method::DELETE, Some(id)) => delete(call, &ctx, &id).await,
        (_, None) => Err(call.method_not_allowed("GET, POST")),
        (_, Some(_)) => Err(call.method_not_allowed("GET, DELETE")),
    }
}

async fn create(call: &Call<'_>, ctx: &Ctx<'_>) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    let mut raw: serde_json::Value = call.json()?;
    let repo = ctx.repo().await?;
    let settings = ctx.tenant_settings().await?;
    settings.board_defaults(&mut raw);
    let input: BoardConfigInput = edge::http::json_value(raw)?;
    let board = input.validate()?;
    if settings.counts_boards() {
        settings.admit_board(repo.board_count(&ctx.tenant).await?)?;
    }
    // A tournament is noted for its announcements and indexed for the listing before it is
    // stored, so none is ever stored unnoted or unlisted (a creation refused for a taken id
    // leaves an index entry the listing mends).
    edge::competitions::tournaments::note_created(repo, &ctx.tenant, &board, call.now_ms).await?;
    edge::competitions::tournaments::index(repo, &ctx.tenant, &board).await?;
    repo.create_board(&ctx.tenant, &board, call.now_ms).await?;
    if edge::webhooks::count(repo, &ctx.tenant).await? > 0 {
        edge::webhooks::refresh_boards(repo, &ctx.tenant, std::slice::from_ref(&board.id)).await?;
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

async fn list(call: &Call<'_>, ctx: &Ctx<'_>) -> Result<Response> {
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

async fn get(call: &Call<'_>, ctx: &Ctx<'_>, id: &BoardId) -> Result<Response> {
    let board = ctx.repo().await?.board(&ctx.tenant, id).await?;
    access::authorize_read(ctx.principal.as_ref(), &board)?;
    let period = PeriodView::resolve(&board, None, call.now_ms)?;
    Ok(http::json(
        200,
        call.version,
        &view::board(call.version, &board, &period),
    ))
}

async fn delete(call: &Call<'_>, ctx: &Ctx<'_>, id: &BoardId) -> Result<Response> {
    edge::boards::lifecycle::delete_board(ctx, call, id).await?;
    Ok(ResponseBuilder::new(204).empty())
}
