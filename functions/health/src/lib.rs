//! `functions/health`: liveness probe, and the app's catch-all route.
//!
//! ```text
//! GET /health/live    200 {"status":"ok"} as long as the component can be instantiated and run
//! *   /...            any path no other route serves: a 404 problem (Spin's own is an empty 404)
//! ```
//! Other methods on `/health/live` get a `405` problem with `Allow: GET, HEAD`.

use edge::http::Call;
use leaderboard::{LeaderboardError, Result};
use spin_sdk::http::{Method, Response};
#[cfg(target_arch = "wasm32")]
use spin_sdk::http_component;

/// The liveness route.
pub const LIVE: &str = "/health/live";

/// The response body of a healthy liveness probe.
pub fn live_body() -> String {
    serde_json::json!({ "status": "ok" }).to_string()
}

#[cfg(target_arch = "wasm32")]
#[http_component]
fn handle(req: spin_sdk::http::Request, out: spin_sdk::http::ResponseOutparam) {
    edge::http::serve(&req, out, route);
}

/// Serves one request.
pub fn route(call: &Call<'_>) -> Result<Response> {
    if call.path != LIVE {
        return Err(LeaderboardError::NotFound(format!(
            "no such resource: {}",
            call.path
        )));
    }
    match call.method() {
        Method::Get | Method::Head => Ok(Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("cache-control", "no-store")
            .body(live_body())
            .build()),
        _ => Err(call.method_not_allowed("GET, HEAD")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_body_is_ok_json() {
        let v: serde_json::Value = serde_json::from_str(&live_body()).unwrap_or_default();
        assert_eq!(v["status"], "ok");
    }
}
