//! Data carried between the runtimes: a SQLite key-value file written under real Spin reads
//! correctly under `edge-host` and the other way round, counters included (their 8-byte form).
//! Needs a Spin CLI (`SPIN_BIN` or `spin` on `PATH`); says so and passes without one, unless
//! one is required (`EDGE_REQUIRE_SPIN=1`, as in CI): then its absence fails the test.

use edge_host::HostConfig;
use reqwest::Method;

use harness::{RedisServer, RuntimeKind, TestApp, spin_bin};

/// The probe app with its `default` store in the SQLite file `db`.
async fn probe_on(kind: &RuntimeKind, redis: &RedisServer, db: &std::path::Path) -> TestApp {
    let rc = format!(
        "[key_value_store.default]\ntype = \"spin\"\npath = \"{}\"\n[key_value_store.other]\ntype = \"spin\"\n",
        db.display()
    );
    TestApp::start_on(
        kind,
        &harness::probe_manifest(&redis.url(), ""),
        Some(&rc),
        HostConfig::default().spin_faithful(),
    )
    .await
}

async fn get_text(app: &TestApp, key: &str) -> (u16, String) {
    let r = app.get(&format!("/kv/default/{key}")).await;
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

async fn incr(app: &TestApp, key: &str, delta: i64) -> serde_json::Value {
    let (status, v) = app
        .get_json_post(&format!("/atomic/default/{key}/incr?delta={delta}"))
        .await;
    assert_eq!(status, 200, "{}: {v}", app.runtime_name());
    v["value"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sqlite_kv_file_reads_the_same_under_both_runtimes() {
    let Some(spin) = spin_bin() else {
        eprintln!("skipped: no Spin CLI (set SPIN_BIN or put spin on PATH)");
        return;
    };
    let spin = RuntimeKind::Spin(spin);
    let host = RuntimeKind::EdgeHost;
    let redis = RedisServer::start();
    let dir = std::env::temp_dir().join(format!("edge-parity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("kv.db");

    // Spin writes a value and a counter.
    let app = probe_on(&spin, &redis, &db).await;
    let r = app
        .send(Method::PUT, "/kv/default/greeting", "written by spin")
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(incr(&app, "counter", 5).await, 5);
    app.stop().await;

    // The file holds Spin's counter form, which the host reads and continues.
    let stored: Vec<u8> = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT value FROM spin_key_value WHERE store = 'default' AND key = 'counter'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(stored, 5i64.to_le_bytes());
    let app = probe_on(&host, &redis, &db).await;
    assert_eq!(
        get_text(&app, "greeting").await,
        (200, "written by spin".into())
    );
    assert_eq!(incr(&app, "counter", 1).await, 6);
    let r = app
        .send(Method::PUT, "/kv/default/reply", "written by edge-host")
        .await;
    assert_eq!(r.status(), 204);
    app.stop().await;

    // And Spin reads what the host wrote.
    let app = probe_on(&spin, &redis, &db).await;
    assert_eq!(
        get_text(&app, "reply").await,
        (200, "written by edge-host".into())
    );
    assert_eq!(incr(&app, "counter", 0).await, 6);
    app.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
