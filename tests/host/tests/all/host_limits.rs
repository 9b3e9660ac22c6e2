//! Traps, endless loops and memory exhaustion are contained: a failed request (a bare 500, as Spin
//! gives, or the host's 504 problem for its deadline), and the next request is served normally.

use std::time::Duration;

use edge_host::HostConfig;

async fn assert_problem(app: &crate::harness::TestApp, path: &str, status: u16) {
    let r = app.get(path).await;
    assert_eq!(r.status(), status, "{path}");
    assert_eq!(
        r.headers()["content-type"],
        "application/problem+json",
        "{path}"
    );
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(body["detail"].as_str().unwrap().contains("probe"), "{body}");
}

/// A bare 500, as Spin answers for a component that failed.
async fn assert_bare_500(app: &crate::harness::TestApp, path: &str) {
    let r = app.get(path).await;
    assert_eq!(r.status(), 500, "{path}");
    assert!(r.bytes().await.unwrap().is_empty(), "{path}: no body");
}

#[tokio::test(flavor = "multi_thread")]
async fn trap_gives_a_bare_500_and_next_request_works() {
    let (_redis, app) = crate::probe_app(HostConfig::default()).await;
    assert_bare_500(&app, "/trap").await;
    let (s, _) = app.get_json("/clock").await;
    assert_eq!(s, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn endless_loop_hits_the_deadline_and_host_keeps_serving() {
    let config = HostConfig {
        request_timeout: Duration::from_secs(1),
        ..HostConfig::default()
    };
    let (_redis, app) = crate::probe_app(config).await;
    let looping = {
        let http = app.http.clone();
        let url = app.url("/loop");
        tokio::spawn(async move { http.get(url).send().await.map(|r| r.status().as_u16()) })
    };
    // While the loop runs, other requests are served.
    let (s, _) = app.get_json("/clock").await;
    assert_eq!(s, 200);
    assert_eq!(looping.await.unwrap().unwrap(), 504);
    assert_problem(&app, "/loop", 504).await;
    let (s, _) = app.get_json("/clock").await;
    assert_eq!(s, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_cap_is_enforced() {
    let config = HostConfig {
        memory_limit_bytes: 32 << 20,
        ..HostConfig::default()
    };
    let (_redis, app) = crate::probe_app(config).await;
    let (s, _) = app.get_json("/alloc?mb=8").await;
    assert_eq!(s, 200, "under the cap");
    assert_bare_500(&app, "/alloc?mb=64").await;
    let (s, _) = app.get_json("/alloc?mb=8").await;
    assert_eq!(s, 200, "a fresh instance after the failure");
    app.stop().await;
}
