//! The project's own `spin.toml`, as shipped (component paths pointed at the build output): the
//! liveness route and the catch-all 404 problem.

use reqwest::Method;

#[tokio::test(flavor = "multi_thread")]
async fn shipped_manifest_serves_health_live_and_a_404_problem() {
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

    // Paths no route serves get a problem, not the runtime's bare 404.
    for path in ["/nothing/here", "/", "/health"] {
        let r = api.get(path, None).await;
        r.assert_problem(404, path);
        assert_eq!(r.body["instance"], path);
    }
    api.stop().await;
}
