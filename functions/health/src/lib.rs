//! `functions/health`: liveness probe.
//!
//! `GET /health/live` answers `200 {"status":"ok"}` as long as the component can be instantiated and
//! run; any other method gets a `405` problem. Readiness (Redis reachable) lives in a later component.

use spin_sdk::http::{IntoResponse, Method, Request, Response};
use spin_sdk::http_component;

/// The response body of a healthy liveness probe.
pub fn live_body() -> String {
    serde_json::json!({ "status": "ok" }).to_string()
}

/// A minimal RFC 9457 problem for a method this route does not serve.
pub fn method_not_allowed(method: &str) -> String {
    serde_json::json!({
        "type": "https://leaderboard.dev/problems/method-not-allowed",
        "title": "Method not allowed",
        "status": 405,
        "detail": format!("{method} is not supported on /health/live; use GET"),
    })
    .to_string()
}

#[http_component]
fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    Ok(match req.method() {
        Method::Get | Method::Head => Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("cache-control", "no-store")
            .body(live_body())
            .build(),
        other => Response::builder()
            .status(405)
            .header("content-type", "application/problem+json")
            .header("allow", "GET, HEAD")
            .body(method_not_allowed(&format!("{other:?}").to_uppercase()))
            .build(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_body_is_ok_json() {
        let v: serde_json::Value = serde_json::from_str(&live_body()).unwrap_or_default();
        assert_eq!(v["status"], "ok");
    }

    #[test]
    fn problem_names_the_method() {
        let v: serde_json::Value =
            serde_json::from_str(&method_not_allowed("POST")).unwrap_or_default();
        assert_eq!(v["status"], 405);
        assert!(v["detail"].as_str().unwrap_or("").contains("POST"));
    }
}
