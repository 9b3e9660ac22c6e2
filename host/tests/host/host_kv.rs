//! KV on each backend, grants, wasi:keyvalue atomics/CAS/batch under concurrency — asserting what
//! Spin 4.0.2's stores do, so these tests pass on both runtimes (`EDGE_TEST_RUNTIME=spin`).

use edge_host::HostConfig;
use reqwest::Method;

use harness::{RedisServer, TestApp};

/// The probe app with `default` and `other` on the named backend.
async fn app_on(backend: &str) -> (RedisServer, TestApp) {
    let redis = RedisServer::start();
    let store = |label: &str| match backend {
        "memory" => format!("[key_value_store.{label}]\ntype = \"memory\"\n"),
        "sqlite" => {
            format!("[key_value_store.{label}]\ntype = \"spin\"\npath = \"kv-{label}.db\"\n")
        }
        "redis" => format!(
            "[key_value_store.{label}]\ntype = \"redis\"\nurl = \"{}/{}\"\n",
            redis.url(),
            if label == "default" { 0 } else { 1 }
        ),
        other => panic!("unknown backend {other}"),
    };
    let rc = format!("{}{}", store("default"), store("other"));
    let manifest = harness::probe_manifest(&redis.url(), "");
    let app = match backend {
        // Spin has no `memory` type: that one is the host's alone.
        "memory" => TestApp::start(&manifest, Some(&rc), HostConfig::default()).await,
        _ => TestApp::start_under_test(&manifest, Some(&rc), HostConfig::default()).await,
    };
    (redis, app)
}

async fn crud(backend: &str) {
    let (_redis, app) = app_on(backend).await;
    let r = app.get("/kv/default/k1").await;
    assert_eq!(r.status(), 404, "{backend}: missing key");
    let r = app.send(Method::PUT, "/kv/default/k1", "v1").await;
    assert_eq!(r.status(), 204, "{backend}: set");
    let r = app.send(Method::PUT, "/kv/default/k2", "v2").await;
    assert_eq!(r.status(), 204);
    let r = app.get("/kv/default/k1").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "v1", "{backend}: get");
    let (_, v) = app.get_json("/kv/default/k1?exists").await;
    assert_eq!(v["exists"], true);
    let (_, v) = app.get_json("/kv/default").await;
    assert_eq!(sorted(&v["keys"]), ["k1", "k2"], "{backend}: get-keys");
    // Stores are separate.
    let (_, v) = app.get_json("/kv/other").await;
    assert_eq!(
        v["keys"],
        serde_json::json!([]),
        "{backend}: stores are isolated"
    );
    let r = app.send(Method::DELETE, "/kv/default/k1", "").await;
    assert_eq!(r.status(), 204);
    let (_, v) = app.get_json("/kv/default/k1?exists").await;
    assert_eq!(v["exists"], false, "{backend}: delete");

    // Batch through wasi:keyvalue.
    let r = app
        .send(Method::PUT, "/batch/default", r#"{"a":"1","b":"2"}"#)
        .await;
    assert_eq!(r.status(), 204);
    let (status, v) = app.get_json("/batch/default?keys=a,b,zz").await;
    if backend == "redis" {
        // Spin's Redis store sends `KEYS a b zz`, which Redis rejects: get-many always fails.
        assert_eq!(
            status, 500,
            "{backend}: get-many fails on Spin's Redis store: {v}"
        );
        assert!(v.to_string().contains("wrong number of arguments"), "{v}");
    } else {
        // Only the keys that exist come back (no `zz: none`).
        assert_eq!(
            v,
            serde_json::json!({"a":"1","b":"2"}),
            "{backend}: get-many"
        );
    }
    let r = app
        .send(Method::DELETE, "/batch/default?keys=a,b", "")
        .await;
    assert_eq!(r.status(), 204);
    for k in ["a", "b"] {
        let (_, v) = app.get_json(&format!("/kv/default/{k}?exists")).await;
        assert_eq!(v["exists"], false, "{backend}: delete-many");
    }
    app.stop().await;
}

fn sorted(keys: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread")]
async fn kv_crud_memory() {
    crud("memory").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kv_crud_sqlite() {
    crud("sqlite").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kv_crud_redis() {
    crud("redis").await;
}

/// The bytes a counter is stored as: SQLite keeps 8 little-endian bytes of an `i64`, Redis
/// decimal text (`INCRBY`).
fn counter_bytes(backend: &str, n: i64) -> Vec<u8> {
    match backend {
        "redis" => n.to_string().into_bytes(),
        _ => n.to_le_bytes().to_vec(),
    }
}

async fn concurrent_atomics(backend: &str) {
    let (_redis, app) = app_on(backend).await;
    // CAS from a present value (a swap from "absent" is unconditional on Spin's SQLite store).
    let r = app.send(Method::PUT, "/kv/default/cas-counter", "0").await;
    assert_eq!(r.status(), 204);
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let http = app.http.clone();
        let incr = app.url("/atomic/default/counter/incr?delta=2");
        let cas = app.url("/atomic/default/cas-counter/cas-incr");
        tasks.push(tokio::spawn(async move {
            let a = http.post(incr).send().await.unwrap().status().as_u16();
            let b = http.post(cas).send().await.unwrap().status().as_u16();
            (a, b)
        }));
    }
    // On Spin's Redis store a swap is always reported as failed (its `UNWATCH <key>` is rejected
    // by Redis), so a CAS loop never succeeds: the probe gives up with 409.
    let cas_status = if backend == "redis" { 409 } else { 200 };
    for t in tasks {
        assert_eq!(t.await.unwrap(), (200, cas_status), "{backend}");
    }
    // Increments are atomic on every store, each in its own stored form.
    let (_, v) = app
        .get_json_post("/atomic/default/counter/incr?delta=0")
        .await;
    assert_eq!(v["value"], 64, "{backend}: 32 increments of 2");
    let r = app.get("/kv/default/counter").await;
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        counter_bytes(backend, 64),
        "{backend}: the counter's stored form"
    );
    if backend != "redis" {
        let r = app.get("/kv/default/cas-counter").await;
        assert_eq!(
            r.text().await.unwrap(),
            "32",
            "{backend}: 32 CAS increments, none lost"
        );
    }
    app.stop().await;
}

/// What a compare-and-swap that lost a race reports, per store: the probe reads `current`, another
/// write lands, then it swaps.
async fn lost_race(backend: &str) {
    let (_redis, app) = app_on(backend).await;
    let race = |key: &'static str| {
        let app = &app;
        async move {
            app.get_json_post(&format!("/atomic/default/{key}/cas-race"))
                .await
        }
    };
    assert_eq!(
        app.send(Method::PUT, "/kv/default/present", "0")
            .await
            .status(),
        204
    );
    let (status, present) = race("present").await;
    assert_eq!(status, 200, "{present}");
    let (_, absent) = race("absent").await;
    let expected = match backend {
        // The swap is refused when the value changed...
        "sqlite" | "memory" => (
            serde_json::json!({"seen": "0", "swap": "failed", "after": "interloper"}),
            // ...but from "absent" it is an unconditional upsert: the other write is overwritten.
            serde_json::json!({"seen": null, "swap": "ok", "after": "mine"}),
        ),
        // WATCH makes EXEC drop the write; the swap is reported failed (as every swap is there).
        _ => (
            serde_json::json!({"seen": "0", "swap": "failed", "after": "interloper"}),
            serde_json::json!({"seen": null, "swap": "failed", "after": "interloper"}),
        ),
    };
    assert_eq!((present, absent), expected, "{backend}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cas_lost_race_sqlite() {
    lost_race("sqlite").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cas_lost_race_redis() {
    lost_race("redis").await;
}

/// Spin's SQLite store panics incrementing a value that is not an 8-byte counter, while holding
/// the store's lock: that request fails with a bare 500, and so does every later one that uses the
/// store (the lock is poisoned) until the app restarts; requests that do not use it still work.
#[tokio::test(flavor = "multi_thread")]
async fn increment_of_a_non_counter_poisons_the_sqlite_store() {
    let (_redis, app) = app_on("sqlite").await;
    assert_eq!(
        app.send(Method::PUT, "/kv/default/text", "abc")
            .await
            .status(),
        204
    );
    let r = app
        .send(Method::POST, "/atomic/default/text/incr", "")
        .await;
    assert_eq!(r.status(), 500);
    assert_eq!(r.bytes().await.unwrap().len(), 0, "a bare 500");
    for path in ["/kv/default/text", "/kv/default/other-key"] {
        assert_eq!(app.get(path).await.status(), 500, "{path} after the panic");
    }
    let (status, v) = app.get_json("/headers").await;
    assert_eq!(status, 200, "{v}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn atomics_under_concurrency_memory() {
    concurrent_atomics("memory").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn atomics_under_concurrency_sqlite() {
    concurrent_atomics("sqlite").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn atomics_under_concurrency_redis() {
    concurrent_atomics("redis").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn store_grants_are_enforced() {
    let (_redis, app) = app_on("memory").await;
    // `api` is granted only `default`.
    let r = app.send(Method::PUT, "/api/kv/default/x", "1").await;
    assert_eq!(r.status(), 204);
    let r = app.send(Method::PUT, "/api/kv/other/x", "1").await;
    assert_eq!(r.status(), 403, "not granted → access-denied");
    let r = app
        .send(Method::POST, "/api/atomic/other/x/incr?delta=1", "")
        .await;
    assert_eq!(r.status(), 403, "wasi:keyvalue honours grants too");
    // `users` has no store at all.
    let r = app.get("/users/1/kv/default/x").await;
    assert_eq!(r.status(), 403);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn undefined_store_label_fails_start_up() {
    let redis = RedisServer::start();
    let err = TestApp::try_start(
        &harness::probe_manifest(&redis.url(), ""),
        None,
        &mut HostConfig::default(),
    )
    .await
    .err()
    .expect("`other` is not defined without a runtime config");
    assert!(format!("{err:#}").contains("'other'"), "{err:#}");
}
