//! `functions/scores`: `POST /api/{v}/boards/{board}/scores` — submit `{player, score, subscore?,
//! metadata?}` with an optional `Idempotency-Key`. The flow (kill switch, idempotency, quota,
//! sync apply or async accept, cache invalidation) is `edge::submit`.

use edge::http::{Call, Method, Response};
use edge::platform::Platform;
use leaderboard::{BoardId, Result};
#[cfg(target_arch = "wasm32")]
use spin_sdk::http_component;

#[cfg(target_arch = "wasm32")]
#[http_component]
async fn handle(req: spin_sdk::http::Request, out: spin_sdk::http::ResponseOutparam) {
    edge::serve::serve(req, out, async |call| {
        route(&edge::platform::Spin, call).await
    })
    .await
}

/// Serves one request on `platform` (Spin in the component; a native platform in the benchmark's
/// baseline server).
pub async fn route(platform: &dyn Platform, call: &Call<'_>) -> Result<Response> {
    if *call.method() != Method::POST {
        return Err(call.method_not_allowed("POST"));
    }
    let board_id = BoardId::new(call.param("board").unwrap_or_default())?;
    let ctx = edge::admission::admit(platform, call).await?;
    edge::submit::submit(&ctx, call, &board_id).await
}
