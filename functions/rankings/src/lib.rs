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

use edge::http::{Call, Method, Response};
use edge::integrity::stats::routes as stats;
use edge::platform::Platform;
use edge::reads::cached;
use edge::reads::routes::{self as reads, Read};
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
/// baseline server).
pub async fn route(platform: &dyn Platform, call: &Call<'_>) -> Result<Response> {
    let board = BoardId::new(call.param("board").unwrap_or_default())?;
    let is_stats = call.path.trim_end_matches('/').ends_with("/stats");
    let is_dashboard = call.path.starts_with("/boards/");
    let ctx = edge::admission::admit_reading(platform, call, |tenant| {
        if *call.method() == Method::GET && !is_stats && !is_dashboard {
            cached::reads(call, tenant, &board)
        } else {
            Vec::new()
        }
    })
    .await?;
    let is_entries = call.path.trim_end_matches('/').ends_with("/entries");
    let rest: Vec<&str> = call.rest.iter().map(String::as_str).collect();
    if is_stats || is_dashboard {
        return match *call.method() {
            Method::GET if is_stats => stats::serve(call, &ctx, &board).await,
            Method::GET => stats::dashboard(call, &ctx, &board).await,
            _ => Err(call.method_not_allowed("GET")),
        };
    }
    match (call.method(), is_entries, rest.as_slice()) {
        (&Method::GET, true, []) => cached::serve(call, &ctx, &board, Read::Entries).await,
        (&Method::GET, false, []) => cached::serve(call, &ctx, &board, Read::Players).await,
        (&Method::GET, false, [player]) => {
            cached::serve(call, &ctx, &board, Read::Player(player)).await
        }
        (&Method::GET, false, [player, "around"]) => {
            cached::serve(call, &ctx, &board, Read::Around(player)).await
        }
        (&Method::DELETE, false, [player]) => {
            reads::delete_player(call, &ctx, &board, player).await
        }
        (_, _, []) => Err(call.method_not_allowed("GET")),
        (_, _, [_]) => Err(call.method_not_allowed("GET, DELETE")),
        _ => Err(leaderboard::LeaderboardError::NotFound(format!(
            "no such resource: {}",
            call.path
        ))),
    }
}
