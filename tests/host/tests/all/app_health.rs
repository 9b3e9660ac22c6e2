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

#[tokio::test(flavor = "multi_thread")]
async fn readiness_follows_redis_and_detailed_health_names_each_dependency() {
    let mut api = crate::api::start().await;
    let r = api.get("/health/ready", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "ready");
    assert_eq!(r.body["checks"]["redis"]["status"], "up");
    assert_eq!(r.body["checks"]["kv"]["status"], "up");
    assert!(r.body["checks"]["redis"]["latency_ms"].is_number());

    let d = api.get("/health/detailed", None).await;
    assert_eq!(d.status, 200);
    assert_eq!(d.body["version"], env!("CARGO_PKG_VERSION"));
    let revision = d.body["revision"].as_str().unwrap_or_default();
    assert!(
        revision.len() >= 7 || revision == "unknown",
        "revision {revision}"
    );

    // Redis stopped: not ready, with the reason; the other probes still answer.
    api.redis.kill();
    let r = api.get("/health/ready", None).await;
    r.assert_problem(503, "redis");
    assert_eq!(r.header("retry-after"), "1");
    let d = api.get("/health/detailed", None).await;
    assert_eq!(d.status, 200);
    assert_eq!(d.body["status"], "degraded");
    assert_eq!(d.body["dependencies"]["redis"]["status"], "down");
    assert_eq!(d.body["dependencies"]["kv"]["status"], "up");
    assert_eq!(api.get("/health/live", None).await.status, 200);

    // Back: ready again.
    api.redis.restart();
    let r = api.get("/health/ready", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn security_headers_are_on_every_response_errors_included() {
    let mut api = crate::api::start().await;
    api.create_board(serde_json::json!({"id": "open", "public_read": true}))
        .await;
    let ok = api.get("/api/v1/boards/open/entries", None).await;
    let not_found = api.get("/nothing/here", None).await;
    let bad = api
        .call(
            Method::GET,
            "/api/v1/boards/open/entries?limit=0",
            None,
            None,
            &[],
        )
        .await;
    api.redis.kill();
    let unavailable = api.get("/api/v1/boards/open/players/ann", None).await;
    assert_eq!(ok.status, 200);
    assert_eq!(not_found.status, 404);
    assert_eq!(bad.status, 400);
    assert_eq!(unavailable.status, 503, "{}", unavailable.body);
    for r in [&ok, &not_found, &bad, &unavailable] {
        assert_eq!(
            r.header("x-content-type-options"),
            "nosniff",
            "{}",
            r.status
        );
        assert_eq!(r.header("referrer-policy"), "no-referrer", "{}", r.status);
    }
    api.redis.restart();
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_preflight_is_answered_for_allowed_origins_and_refused_for_others() {
    let api = crate::api::start_with(
        &[(
            "cors_allowed_origins",
            "https://game.example, https://admin.example",
        )],
        edge_host::HostConfig::default(),
    )
    .await;
    api.create_board(serde_json::json!({"id": "open", "public_read": true}))
        .await;
    let preflight = |origin: &'static str| {
        let api = &api;
        async move {
            api.call(
                Method::OPTIONS,
                "/api/v1/boards/open/scores",
                None,
                None,
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                    (
                        "access-control-request-headers",
                        "authorization, content-type",
                    ),
                ],
            )
            .await
        }
    };
    let ok = preflight("https://game.example").await;
    assert_eq!(ok.status, 204, "{}", ok.body);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        "https://game.example"
    );
    assert!(ok.header("access-control-allow-methods").contains("POST"));
    assert!(
        ok.header("access-control-allow-headers")
            .contains("authorization")
    );
    assert_eq!(ok.header("vary"), "Origin");
    let denied = preflight("https://evil.example").await;
    denied.assert_problem(403, "https://evil.example");
    assert_eq!(denied.header("access-control-allow-origin"), "");

    // A real cross-origin read: the origin is echoed, the useful headers are readable, caches
    // keep answers per origin.
    let r = api
        .call(
            Method::GET,
            "/api/v1/boards/open/entries",
            None,
            None,
            &[("origin", "https://admin.example")],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        "https://admin.example"
    );
    assert!(r.header("access-control-expose-headers").contains("etag"));
    assert!(r.header("vary").ends_with("Origin"), "{}", r.header("vary"));
    let other = api
        .call(
            Method::GET,
            "/api/v1/boards/open/entries",
            None,
            None,
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(
        other.status, 200,
        "the API answers; the browser withholds it"
    );
    assert_eq!(other.header("access-control-allow-origin"), "");
    api.stop().await;
}
