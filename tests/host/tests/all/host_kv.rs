//! KV on each backend, grants, wasi:keyvalue atomics/CAS/batch under concurrency.

use edge_host::HostConfig;
use reqwest::Method;

use crate::harness::{RedisServer, TestApp};

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
    let app = TestApp::start(
        &crate::probe_manifest(&redis.url(), ""),
        Some(&rc),
        HostConfig::default(),
    )
    .await;
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
    assert_eq!(
        v["keys"],
        serde_json::json!(["k1", "k2"]),
        "{backend}: get-keys"
    );
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
    let (_, v) = app.get_json("/batch/default?keys=a,b,zz").await;
    assert_eq!(
        v,
        serde_json::json!({"a":"1","b":"2","zz":null}),
        "{backend}: get-many"
    );
    let r = app
        .send(Method::DELETE, "/batch/default?keys=a,b", "")
        .await;
    assert_eq!(r.status(), 204);
    let (_, v) = app.get_json("/batch/default?keys=a,b").await;
    assert_eq!(v, serde_json::json!({"a":null,"b":null}));
    app.stop().await;
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

async fn concurrent_atomics(backend: &str) {
    let (_redis, app) = app_on(backend).await;
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
    for t in tasks {
        assert_eq!(t.await.unwrap(), (200, 200), "{backend}");
    }
    let r = app.get("/kv/default/counter").await;
    assert_eq!(
        r.text().await.unwrap(),
        "64",
        "{backend}: 32 increments of 2"
    );
    let r = app.get("/kv/default/cas-counter").await;
    assert_eq!(
        r.text().await.unwrap(),
        "32",
        "{backend}: 32 CAS increments, none lost"
    );
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
        &crate::probe_manifest(&redis.url(), ""),
        None,
        &mut HostConfig::default(),
    )
    .await
    .err()
    .expect("`other` is not defined without a runtime config");
    assert!(format!("{err:#}").contains("'other'"), "{err:#}");
}
