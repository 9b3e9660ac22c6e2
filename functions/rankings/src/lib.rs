//! `functions/rankings`: ranked reads, served cache-aside from the regional KV cache.
//!
//! ```text
//! GET    /api/{v}/boards/{board}/entries?limit&cursor&period     top-N page (keyset cursor)
//! GET    /api/{v}/boards/{board}/players?ids=a,b,c&period        several players at once
//! GET    /api/{v}/boards/{board}/players/{player}?period         rank, score, percentile, total
//! GET    /api/{v}/boards/{board}/players/{player}/around?radius  neighbours, including the player
//! DELETE /api/{v}/boards/{board}/players/{player}?period         admin: remove the entry
//! GET    /api/{v}/boards/{board}/live?limit&player&period         live updates (SSE, long-poll)
//! GET    /api/{v}/boards/{board}/stats?window&step                analytics (`stats`)
//! GET    /boards/{board}/dashboard?window&step                    the same as a page (SVG charts)
//! ```
//! Reads carry `ETag`, `Cache-Control` and `X-Cache: HIT|MISS|STALE`; `If-None-Match` gives 304.

// The p3 build names its spin-sdk (6.0) `spin_sdk`, as the entry point's macro expects.
#[cfg(feature = "p3")]
extern crate spin_sdk_6 as spin_sdk;

use edge::http::{Call, Response};
use edge::integrity::stats::routes as stats;
use edge::platform::Platform;
use edge::reads::cached;
use edge::reads::routes::{self as reads, Read};
use leaderboard::http::operation::{Operation, Route};
use leaderboard::{BoardId, Result};

edge::http_entry!(stream: async |call| {
    if edge::live::routes::is_live(call) {
        edge::live::routes::route(&edge::platform::Spin, call).await
    } else {
        route(&edge::platform::Spin, call)
            .await
            .map(edge::stream::Reply::Whole)
    }
});

/// Serves one request on `platform` (Spin in the component; a native platform in the benchmark's
/// baseline server): the operation table names what it runs, once the request is admitted.
pub async fn route(platform: &dyn Platform, call: &Call<'_>) -> Result<Response> {
    let board = BoardId::new(call.param("board").unwrap_or_default())?;
    let route = call.route();
    let ctx = edge::admission::admit_reading(platform, call, |tenant| match route {
        Route::Runs(
            Operation::GetLeaderboard
            | Operation::ListPlayers
            | Operation::GetPlayer
            | Operation::GetAround,
        ) => cached::reads(call, tenant, &board),
        _ => Vec::new(),
    })
    .await?;
    let op = call.operation(route)?;
    // The player of `…/players/{player}[/around]` (the route's wildcard part).
    let player = call.rest.first().map(String::as_str).unwrap_or_default();
    match op {
        Operation::GetLeaderboard => cached::serve(call, &ctx, &board, Read::Entries).await,
        Operation::ListPlayers => cached::serve(call, &ctx, &board, Read::Players).await,
        Operation::GetPlayer => cached::serve(call, &ctx, &board, Read::Player(player)).await,
        Operation::GetAround => cached::serve(call, &ctx, &board, Read::Around(player)).await,
        Operation::DeletePlayer => reads::delete_player(call, &ctx, &board, player).await,
        Operation::GetStats => stats::serve(call, &ctx, &board).await,
        Operation::GetDashboard => stats::dashboard(call, &ctx, &board).await,
        // The live stream is served before this router (`edge::live::routes`); the rest are
        // another component's (Spin routes none of them here).
        _ => Err(call.not_found()),
    }
}
