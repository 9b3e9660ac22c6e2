//! Routing, spin-* headers, variables, outbound HTTP and service chaining, clock offset.

use std::time::Duration;

use edge_host::HostConfig;

use harness::probe_app;

#[tokio::test(flavor = "multi_thread")]
async fn routing_precedence_and_spin_headers() {
    let (_redis, app) = probe_app(HostConfig::default()).await;

    let (s, h) = app.get_json("/api/headers?q=1").await;
    assert_eq!(s, 200);
    assert_eq!(h["spin-matched-route"], "/api/...");
    assert_eq!(h["spin-raw-component-route"], "/api/...");
    assert_eq!(h["spin-component-route"], "/api");
    assert_eq!(h["spin-path-info"], "/headers");
    assert_eq!(h["spin-base-path"], "/");
    assert_eq!(h["spin-full-url"], app.url("/api/headers?q=1"));
    assert_eq!(h["x-path"], "/api/headers?q=1");
    assert!(
        h["spin-client-addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );

    // The exact route beats the root wildcard; path-info is empty for an exact route.
    let (s, h) = app.get_json("/headers").await;
    assert_eq!(s, 200);
    assert_eq!(h["spin-matched-route"], "/headers");
    assert_eq!(h["spin-component-route"], "/headers");
    assert_eq!(h["spin-path-info"], "");

    // The longest wildcard prefix wins.
    let (_, h) = app.get_json("/api/v2/headers").await;
    assert_eq!(h["spin-matched-route"], "/api/v2/...");
    assert_eq!(h["spin-component-route"], "/api/v2");
    assert_eq!(h["spin-path-info"], "/headers");

    // Named segments are captured.
    let (_, h) = app.get_json("/users/42/headers").await;
    assert_eq!(h["spin-matched-route"], "/users/:id/...");
    assert_eq!(h["spin-path-match-id"], "42");
    assert_eq!(h["spin-path-info"], "/headers");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unmatched_route_is_a_bare_404() {
    let redis = harness::RedisServer::start();
    let manifest = r#"
spin_manifest_version = 2
[application]
name = "only-exact"
[[trigger.http]]
route = "/exact"
component = "exact"
[component.exact]
source = "{wasm}/probe.wasm"
"#;
    let app = harness::TestApp::start(manifest, None, HostConfig::default()).await;
    // As Spin: a bare 404 (the leaderboard app adds a catch-all route for a problem body).
    let r = app.get("/nope").await;
    assert_eq!(r.status(), 404);
    assert!(r.bytes().await.unwrap().is_empty());
    drop(redis);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn variables_from_manifest_templates_and_env() {
    // SAFETY of the test: the name is unique to this test, so parallel tests never read it.
    unsafe { std::env::set_var("SPIN_VARIABLE_FROM_ENV", "set-by-env") };
    let redis = harness::RedisServer::start();
    let manifest = harness::probe_manifest(
        &redis.url(),
        "[component.internal.variables]\nfrom_env = \"{{ from_env }}\"\n",
    );
    let rc = "[key_value_store.other]\ntype = \"memory\"\n";
    let app = harness::TestApp::start(&manifest, Some(rc), HostConfig::default()).await;
    let (s, v) = app.get_json("/var/greeting").await;
    assert_eq!(
        (s, v["value"].as_str()),
        (200, Some("hello from the manifest!"))
    );
    let (s, _) = app.get_json("/var/not_declared").await;
    assert_eq!(s, 404);
    let (s, _) = app.get_json("/var/Bad-Name").await;
    assert_eq!(s, 400);
    // The internal component reads the env-provided value through service chaining.
    let url = urlencode("http://internal.spin.internal/var/from_env");
    let (s, v) = app.get_json(&format!("/outbound?url={url}")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], 200);
    assert!(v["body"].as_str().unwrap().contains("set-by-env"), "{v}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn required_variable_without_value_fails_start_up() {
    let manifest = r#"
spin_manifest_version = 2
[application]
name = "needs-var"
[variables]
must_have = { required = true }
[[trigger.http]]
route = "/..."
component = "p"
[component.p]
source = "{wasm}/probe.wasm"
"#;
    let err = harness::TestApp::try_start(manifest, None, &mut HostConfig::default())
        .await
        .err()
        .expect("start-up must fail");
    assert!(
        format!("{err:#}").contains("SPIN_VARIABLE_MUST_HAVE"),
        "{err:#}"
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn outbound_http_allowed_denied_and_private_routes() {
    let (_redis, app) = probe_app(HostConfig::default()).await;
    // Allowed: the host itself on loopback.
    let target = urlencode(&app.url("/clock"));
    let (s, v) = app.get_json(&format!("/outbound?url={target}")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], 200);

    // Denied: not in allowed_outbound_hosts.
    let denied = urlencode("http://localhost:9/");
    let (s, v) = app.get_json(&format!("/outbound?url={denied}")).await;
    assert_eq!(s, 502, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("denied"),
        "{v}"
    );

    // A component without the grant cannot call out at all.
    let (s, _) = app.get_json(&format!("/api/outbound?url={target}")).await;
    assert_eq!(s, 502);

    // The private component is reachable by service chaining only.
    let chained = urlencode("http://internal.spin.internal/headers");
    let (s, v) = app.get_json(&format!("/outbound?url={chained}")).await;
    assert_eq!(s, 200, "{v}");
    let inner: serde_json::Value = serde_json::from_str(v["body"].as_str().unwrap()).unwrap();
    assert_eq!(inner["spin-matched-route"], "/...");
    assert_eq!(inner["spin-path-info"], "/headers");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn clock_offset_is_seen_by_the_guest() {
    let (_redis, app) = probe_app(HostConfig::default()).await;
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    };
    let (_, v) = app.get_json("/clock").await;
    let before = v["now_ms"].as_i64().unwrap();
    assert!((before - now()).abs() < 5_000);

    let ten_days = Duration::from_secs(10 * 86_400);
    assert!(app.set_clock_offset(ten_days, true));
    let (_, v) = app.get_json("/clock").await;
    let shifted = v["now_ms"].as_i64().unwrap();
    let expected = now() + ten_days.as_millis() as i64;
    assert!(
        (shifted - expected).abs() < 5_000,
        "{shifted} vs {expected}"
    );
    app.stop().await;
}
