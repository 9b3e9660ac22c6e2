//! `functions/scores`: `POST /api/{v}/boards/{board}/scores` — submit `{player, score, subscore?,
//! metadata?}` with an optional `Idempotency-Key`. The flow (kill switch, idempotency, quota,
//! sync apply or async accept, cache invalidation) is `edge::submissions::submit`. `POST
//! /api/{v}/boards/{board}/join` — a player joins a tournament; `GET`/`POST
//! /api/{v}/boards/{board}/attempts` — a player's attempts in a tournament's run, and grants of
//! more (`edge::competitions::tournaments`); `GET /api/{v}/boards/{board}/rewards` — a run's rewards, one
//! player's or all of them, and `POST /api/{v}/boards/{board}/rewards/claim` — a player's claim
//! (`edge::competitions::rewards`); `GET /api/{v}/boards/{board}/league` — a player's league standing
//! (`edge::competitions::leagues`).

// The p3 build names its spin-sdk (6.0) `spin_sdk`, as the entry point's macro expects.
#[cfg(feature = "p3")]
extern crate spin_sdk_6 as spin_sdk;

use edge::http::{Call, Method, Response};
use edge::platform::Platform;
use leaderboard::{BoardId, Result};
edge::http_entry!(route);

/// Serves one request on `platform` (Spin in the component; a native platform in the benchmark's
/// baseline server).
pub async fn route(platform: &dyn Platform, call: &Call<'_>) -> Result<Response> {
    let path = call.path.trim_end_matches('/');
    let attempts = path.ends_with("/attempts");
    let (rewards, league) = (path.ends_with("/rewards"), path.ends_with("/league"));
    // The reads: a run's rewards, a player's league standing.
    let read = rewards || league;
    match (call.method(), attempts, read) {
        (&Method::GET, false, true) => {}
        (_, false, true) => return Err(call.method_not_allowed("GET")),
        (&Method::POST, _, _) | (&Method::GET, true, _) => {}
        (_, true, _) => return Err(call.method_not_allowed("GET, POST")),
        (_, false, false) => return Err(call.method_not_allowed("POST")),
    }
    let board_id = BoardId::new(call.param("board").unwrap_or_default())?;
    let ctx = edge::admission::admit(platform, call).await?;
    if league {
        return edge::competitions::leagues::read(&ctx, call, &board_id).await;
    }
    if rewards {
        return edge::competitions::rewards::read(&ctx, call, &board_id).await;
    }
    if attempts {
        return if *call.method() == Method::GET {
            edge::competitions::tournaments::attempts(&ctx, call, &board_id).await
        } else {
            edge::competitions::tournaments::grant(&ctx, call, &board_id).await
        };
    }
    if path.ends_with("/join") {
        edge::competitions::tournaments::join(&ctx, call, &board_id).await
    } else if path.ends_with("/rewards/claim") {
        edge::competitions::rewards::claim(&ctx, call, &board_id).await
    } else {
        edge::submissions::submit::submit(&ctx, call, &board_id).await
    }
}
