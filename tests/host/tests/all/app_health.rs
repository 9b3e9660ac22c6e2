//! The project's own `spin.toml`, as shipped (component paths pointed at the build output), served
//! by the host: the liveness route.

use reqwest::Method;

#[tokio::test(flavor = "multi_thread")]
async fn shipped_manifest_serves_health_live() {
    let api = crate::api::start().await;
    let r = api.get("/health/live", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(r.body, serde_json::json!({"status": "ok"}));

    let r = api
        .call(Method::POST, "/health/live", None, None, &[])
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("content-type"), "application/problem+json");
    assert_eq!(r.header("allow"), "GET, HEAD");
    api.stop().await;
}
