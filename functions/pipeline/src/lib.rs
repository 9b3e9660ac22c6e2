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
use edge::http::{Call, Response};
use edge::platform::Platform;
use edge::submissions::pipeline::dead;
use edge::submissions::pipeline::routes as drain;
use leaderboard::http::operation::Operation;
use leaderboard::{BoardId, Result};
edge::http_entry!(route);

/// Serves one request on `platform`: admitted, then what the operation table names (a board's
/// id is read before its method is judged).
pub async fn route(platform: &dyn Platform, call: &Call<'_>) -> Result<Response> {
    let ctx = edge::admission::admit(platform, call).await?;
    let board = call.param("board").map(BoardId::new).transpose()?;
    let op = call.operation(call.route())?;
    match (op, board) {
        (Operation::Drain, _) => drain::drain(call, &ctx).await,
        (Operation::ListAudit, _) => audit::page(call, &ctx).await,
        (Operation::ListEvents, Some(board)) => events::page(call, &ctx, &board).await,
        (Operation::ListDeadLetters, Some(board)) => dead::list(call, &ctx, &board).await,
        (Operation::DeleteDeadLetters, Some(board)) => dead::purge(call, &ctx, &board).await,
        (Operation::RedriveDeadLetters, Some(board)) => dead::redrive(call, &ctx, &board).await,
        (Operation::ReplayBoard, Some(board)) => replay::replay(call, &ctx, &board).await,
        // Another component's (Spin routes none of them here).
        _ => Err(call.not_found()),
    }
}
