//! `functions/pipeline`: the event pipeline over HTTP.
//!
//! ```text
//! GET    /api/{v}/boards/{board}/events?after&limit          service/admin: the board's log, upcast
//! GET    /api/{v}/boards/{board}/dead-letters?after&limit    admin: entries that cannot be applied
//! POST   /api/{v}/boards/{board}/dead-letters/redrive        admin: back into the inbox ({"ids"}?)
//! DELETE /api/{v}/boards/{board}/dead-letters?ids=a,b        admin: purge (all without ids)
//! POST   /api/{v}/admin/drain?board&max_events               service/admin: drain without a trigger
//! POST   /api/{v}/boards/{board}/replay                      admin: rebuild from the log, compare, swap
//! GET    /api/{v}/audit?after&limit                          admin: the tenant's audit log
//! ```

// The p3 build names its spin-sdk (6.0) `spin_sdk`, as the entry point's macro expects.
#[cfg(feature = "p3")]
extern crate spin_sdk_6 as spin_sdk;

use edge::audit::routes as audit;
use edge::boards::events;
use edge::boards::rebuild::routes as replay;
use edge::http::{Call, Method, Response};
use edge::platform::Platform;
use edge::submissions::pipeline::dead;
use edge::submissions::pipeline::routes as drain;
use leaderboard::{BoardId, LeaderboardError, Result};
edge::http_entry!(route);

/// Serves one request on `platform`.
pub async fn route(platform: &dyn Platform, call: &Call<'_>) -> Result<Response> {
    let ctx = edge::admission::admit(platform, call).await?;
    let segments: Vec<&str> = call.path.split('/').filter(|s| !s.is_empty()).collect();
    let method = call.method();
    match segments.get(2..).unwrap_or_default() {
        ["admin", "drain"] if *method == Method::POST => drain::drain(call, &ctx).await,
        ["admin", "drain"] => Err(call.method_not_allowed("POST")),
        ["audit"] if *method == Method::GET => audit::page(call, &ctx).await,
        ["audit"] => Err(call.method_not_allowed("GET")),
        ["boards", _, tail @ ..] => {
            let board = BoardId::new(call.param("board").unwrap_or_default())?;
            match (method, tail) {
                (&Method::GET, ["events"]) => events::page(call, &ctx, &board).await,
                (_, ["events"]) => Err(call.method_not_allowed("GET")),
                (&Method::GET, ["dead-letters"]) => dead::list(call, &ctx, &board).await,
                (&Method::DELETE, ["dead-letters"]) => dead::purge(call, &ctx, &board).await,
                (_, ["dead-letters"]) => Err(call.method_not_allowed("GET, DELETE")),
                (&Method::POST, ["dead-letters", "redrive"]) => {
                    dead::redrive(call, &ctx, &board).await
                }
                (_, ["dead-letters", "redrive"]) => Err(call.method_not_allowed("POST")),
                (&Method::POST, ["replay"]) => replay::replay(call, &ctx, &board).await,
                (_, ["replay"]) => Err(call.method_not_allowed("POST")),
                _ => Err(not_found(call)),
            }
        }
        _ => Err(not_found(call)),
    }
}

fn not_found(call: &Call<'_>) -> LeaderboardError {
    LeaderboardError::NotFound(format!("no such resource: {}", call.path))
}
