//! Outbound Redis (incl. `execute`) and the Redis trigger.

use std::time::Duration;

use edge_host::HostConfig;
use redis::Commands;
use reqwest::Method;

use harness::{RedisServer, TestApp, eventually};

/// Runs on the runtime under test: Spin's `execute` reply flattening and error mapping.
#[tokio::test(flavor = "multi_thread")]
async fn outbound_redis_commands_and_execute() {
    let (redis, app) = harness::probe_app_under_test().await;
    let r = app.send(Method::PUT, "/redis/kv/greeting", "hi").await;
    assert_eq!(r.status(), 204);
    let mut c = redis.conn();
    let stored: String = c.get("greeting").unwrap();
    assert_eq!(stored, "hi", "SET reached the real Redis");
    let r = app.get("/redis/kv/greeting").await;
    assert_eq!(r.text().await.unwrap(), "hi");
    let (_, v) = app.get_json_post("/redis/incr/hits").await;
    assert_eq!(v["value"], 1);

    let body = r#"["ZADD","board",10,"alice",20,"bob"]"#;
    let r = app.send(Method::POST, "/redis/execute", body).await;
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["results"], serde_json::json!([{"int": 2}]));
    let body = r#"["ZREVRANGE","board",0,-1,"WITHSCORES"]"#;
    let v: serde_json::Value = app
        .send(Method::POST, "/redis/execute", body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["results"],
        serde_json::json!([{"bin":"bob"},{"bin":"20"},{"bin":"alice"},{"bin":"10"}]),
        "arrays are flattened like Spin does"
    );
    let v: serde_json::Value = app
        .send(Method::POST, "/redis/execute", r#"["SET","k","v"]"#)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["results"], serde_json::json!([{"status":"OK"}]));
    let v: serde_json::Value = app
        .send(Method::POST, "/redis/execute", r#"["GET","absent"]"#)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["results"], serde_json::json!([{"nil":null}]));
    // A Redis error reply is an error for the guest, not a trap.
    let r = app
        .send(Method::POST, "/redis/execute", r#"["NOSUCHCOMMAND"]"#)
        .await;
    assert_eq!(r.status(), 502);
    app.stop().await;
}

fn trigger_manifest(redis_url: &str) -> String {
    format!(
        r#"
spin_manifest_version = 2
[application]
name = "trigger-app"
[application.trigger.redis]
address = "{{{{ redis_url }}}}"
[variables]
redis_url = {{ default = "{redis_url}" }}
[[trigger.redis]]
channel = "probe-events"
component = "listener"
[[trigger.http]]
route = "/..."
component = "probe"
[component.listener]
source = "{{wasm}}/redis_probe.wasm"
allowed_outbound_hosts = ["redis://127.0.0.1:*"]
[component.listener.variables]
redis_url = "{{{{ redis_url }}}}"
[component.probe]
source = "{{wasm}}/probe.wasm"
allowed_outbound_hosts = ["redis://127.0.0.1:*"]
[component.probe.variables]
redis_url = "{{{{ redis_url }}}}"
"#
    )
}

fn received(redis: &RedisServer) -> Vec<String> {
    redis
        .node_client()
        .get_connection()
        .ok()
        .and_then(|mut c| c.lrange("probe:received", 0, -1).ok())
        .unwrap_or_default()
}

/// Publishes `payload` until the listener has recorded it. The subscription is asynchronous, and
/// after a Redis restart the first delivery may find the guest's outbound connection still
/// reconnecting (pub/sub is at-most-once), so publishing is repeated, boundedly.
async fn publish_until_received(redis: &RedisServer, payload: &str) -> bool {
    for _ in 0..40 {
        let _: Option<i64> = redis
            .node_client()
            .get_connection()
            .ok()
            .and_then(|mut c| c.publish("probe-events", payload).ok());
        let seen = eventually(Duration::from_millis(500), || {
            received(redis).contains(&payload.to_string()).then_some(())
        })
        .await;
        if seen.is_some() {
            return true;
        }
    }
    false
}

/// The host's forgiving mode: the subscriber reconnects after a Redis restart.
#[tokio::test(flavor = "multi_thread")]
async fn redis_trigger_delivers_survives_traps_and_reconnects() {
    let mut redis = RedisServer::start();
    let app = TestApp::start(&trigger_manifest(&redis.url()), None, HostConfig::default()).await;
    assert!(
        publish_until_received(&redis, "first").await,
        "first message delivered"
    );

    // A guest that traps does not take the subscriber down.
    let mut c = redis.conn();
    let _: i64 = c.publish("probe-events", "trap").unwrap();
    assert!(publish_until_received(&redis, "after-trap").await);
    assert!(!received(&redis).contains(&"trap".to_string()));

    // The message also reaches the guest when published by a component (outbound publish).
    let r = app
        .send(Method::POST, "/redis/publish/probe-events", "from-guest")
        .await;
    assert_eq!(r.status(), 204);
    assert!(
        eventually(Duration::from_secs(10), || received(&redis)
            .contains(&"from-guest".into())
            .then_some(()))
        .await
        .is_some()
    );

    // Redis restarts (losing everything): the subscriber reconnects and delivery resumes.
    redis.restart();
    assert!(
        publish_until_received(&redis, "after-restart").await,
        "delivery resumes after restart"
    );
    app.stop().await;
}

/// Spin's behaviour (and the host's Spin-faithful mode): when the Redis trigger loses its
/// connection, the whole app ends — HTTP routes included. Runs on the runtime under test.
#[tokio::test(flavor = "multi_thread")]
async fn a_lost_trigger_connection_ends_the_app() {
    let mut redis = RedisServer::start();
    let mut app = TestApp::start_under_test(
        &trigger_manifest(&redis.url()),
        None,
        HostConfig::default().spin_faithful(),
    )
    .await;
    assert!(publish_until_received(&redis, "first").await);
    let (status, _) = app.get_json("/clock").await;
    assert_eq!(status, 200);
    redis.kill();
    let ended = eventually(Duration::from_secs(20), || match app.host() {
        Some(host) => host.ended(),
        None => (!app.spin().is_some_and(|s| s.is_running())).then(String::new),
    })
    .await;
    assert!(
        ended.is_some(),
        "{}: the app did not end",
        app.runtime_name()
    );
    // Nothing answers HTTP any more.
    let refused = eventually(Duration::from_secs(10), || {
        std::net::TcpStream::connect(app.base.trim_start_matches("http://"))
            .is_err()
            .then_some(())
    })
    .await;
    assert!(
        refused.is_some(),
        "{}: HTTP still served",
        app.runtime_name()
    );
    app.stop().await;
}
