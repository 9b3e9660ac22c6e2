//! The circuit breaker around Redis, on the runtime under test: with Redis stopped, the first
//! failing requests open it; while it is open nothing contacts Redis — writes get a `503` problem
//! with the time left as `Retry-After`, cached reads keep answering from the KV store; after the
//! open time one probe closes it and writes land again (how fast, under a trickle of writes:
//! `api_recovery`).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use edge_host::HostConfig;

use crate::api::{Kv, service, token};
use harness::{RedisServer, eventually};

const OPEN_DETAIL: &str = "circuit breaker is open";

#[tokio::test(flavor = "multi_thread")]
async fn an_open_breaker_fails_writes_fast_serves_cached_reads_and_a_probe_closes_it() {
    if harness::cluster_three() {
        eprintln!(
            "skipped: it stops Redis, one node of six on a cluster (the cluster's failover: api_cluster)"
        );
        return;
    }
    // Persistent, so the board survives the restart; the KV store is the shipped SQLite file.
    let mut api = crate::api::start_persistent().await;
    api.create_board(json!({"id": "cb", "public_read": true, "cache": {"ttl_secs": 600}}))
        .await;
    api.submit_ok("cb", "ann", json!(10)).await;
    let first = api.get("/api/v1/boards/cb/entries", None).await;
    assert_eq!(first.header("x-cache"), "MISS");
    let detailed = api.get("/health/detailed", None).await;
    assert_eq!(
        detailed.body["redis_circuit"]["state"], "closed",
        "{}",
        detailed.body
    );

    let before = version(&api.redis);
    assert!(before.is_some(), "the board has a version");
    // Failures are counted per fixed 10 s window of the wall clock: start early in one, so the
    // five below (well under a second) fall in the same window.
    let in_window = now_ms() % 10_000;
    if in_window > 5_000 {
        tokio::time::sleep(Duration::from_millis((10_050 - in_window) as u64)).await;
    }
    api.redis.kill();
    // Failing writes: connection refused, each counted; the fifth opens the breaker.
    let mut opened_after = None;
    for refused in 0..10 {
        let r = api
            .submit("cb", json!({"player": "bob", "score": 20 + refused}))
            .await;
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(r.header("content-type"), "application/problem+json");
        let detail = r.body["detail"].as_str().unwrap_or("");
        if detail.contains(OPEN_DETAIL) {
            opened_after = Some(refused);
            break;
        }
        assert_eq!(r.header("retry-after"), "1", "{}", r.body);
    }
    assert_eq!(opened_after, Some(5), "5 failing requests open the breaker");

    // Open: a write fails at once, Retry-After is the time the breaker has left (500 ms: 1 s).
    let started = Instant::now();
    let open = api
        .submit("cb", json!({"player": "bob", "score": 30}))
        .await;
    let took = started.elapsed();
    open.assert_problem(503, OPEN_DETAIL);
    let retry_after: u64 = open.header("retry-after").parse().unwrap_or(0);
    assert_eq!(retry_after, 1, "Retry-After");
    eprintln!(
        "{}: a write with the breaker open answered in {took:?}",
        api.app.runtime_name()
    );
    // The cached page still answers from the KV store; an uncached read fails fast.
    let cached = api.get("/api/v1/boards/cb/entries", None).await;
    assert_eq!(cached.status, 200, "{}", cached.body);
    assert_eq!(cached.header("x-cache"), "HIT");
    // (By now the 500 ms may be over: then this read is the probe, fails, and reopens it.)
    let uncached = api.get("/api/v1/boards/cb/entries?limit=3", None).await;
    assert_eq!(uncached.status, 503, "{}", uncached.body);
    assert_eq!(uncached.header("content-type"), "application/problem+json");
    assert_eq!(uncached.header("retry-after"), "1");
    let detailed = api
        .call(Method::GET, "/health/detailed", None, None, &[])
        .await;
    assert_eq!(detailed.body["dependencies"]["redis"]["status"], "down");

    api.redis.restart();
    assert_eq!(
        version(&api.redis),
        before,
        "nothing was written while the breaker was open"
    );

    // After the open time (500 ms), one request probes Redis, succeeds and closes the breaker.
    let landed = eventually(Duration::from_secs(15), || {
        let r = futures_lite(api.submit("cb", json!({"player": "bob", "score": 40})));
        (r.status.is_success()).then_some(r)
    })
    .await;
    let landed = landed.expect("a write lands once the open time is over");
    assert_eq!(landed.status, 201, "bob's first score: {}", landed.body);
    assert_eq!(landed.body["rank"], 1, "{}", landed.body);
    let detailed = api.get("/health/detailed", None).await;
    assert_eq!(
        detailed.body["redis_circuit"]["state"], "closed",
        "{}",
        detailed.body
    );
    let next = api
        .call(
            Method::POST,
            "/api/v1/boards/cb/scores",
            Some(&service()),
            Some(json!({"player": "cat", "score": 5})),
            &[],
        )
        .await;
    assert_eq!(next.status, 201, "{}", next.body);
    api.stop().await;
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The board's version counter in Redis.
fn version(redis: &RedisServer) -> Option<String> {
    redis::cmd("GET")
        .arg("lb:{default/cb}:version")
        .query(&mut redis.conn())
        .ok()
}

/// Runs a future to completion from a synchronous closure on the test's multi-threaded runtime.
fn futures_lite<F: std::future::Future>(f: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}

/// A Redis that accepts connections and never answers (a black hole). On Spin, whose outbound
/// Redis has no timeouts, requests that reach it wait and are never counted, so this runs on
/// edge-host only, in its pooled mode with the reply timeout asked for (5 s, `redis_timeouts`,
/// off by default as on Spin): the failing requests open the breaker, after which writes fail at
/// once without connecting.
#[tokio::test(flavor = "multi_thread")]
async fn a_black_holed_redis_opens_the_breaker_on_edge_host() {
    if harness::RuntimeKind::under_test().is_spin() {
        eprintln!(
            "skipped on Spin: its outbound Redis has no timeouts (docs/caching.md › Redis outages)"
        );
        return;
    }
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole_url = format!("redis://{}", hole.local_addr().unwrap());
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = std::sync::Arc::clone(&accepted);
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hole.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            held.push(socket);
        }
    });
    // The 5 s reply timeout Spin lacks is asked for here (`redis_timeouts`): without it a
    // request waits for the hole as it would on Spin.
    let api = crate::api::start_on_pooled(
        RedisServer::start(),
        Kv::Shipped,
        &[("redis_url", &hole_url), ("redis_hosts", &hole_url)],
        HostConfig {
            redis_timeouts: true,
            ..HostConfig::default()
        },
    )
    .await;
    // Five writes at once: each waits for the response timeout, fails, and is counted (a round
    // may straddle two 10 s counting windows: then another round).
    for round in 0..3 {
        let writes = (0..5)
            .map(|i| api.submit("bh", json!({"player": format!("p{round}-{i}"), "score": 1})));
        let replies = futures::future::join_all(writes).await;
        for r in &replies {
            assert_eq!(r.status, 503, "{}", r.body);
        }
        if replies.iter().any(|r| {
            r.body["detail"]
                .as_str()
                .unwrap_or("")
                .contains(OPEN_DETAIL)
        }) {
            break;
        }
        let probe = api
            .submit("bh", json!({"player": "probe", "score": 1}))
            .await;
        if probe.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains(OPEN_DETAIL)
        {
            break;
        }
    }
    let connects = accepted.load(std::sync::atomic::Ordering::Relaxed);
    assert!(connects >= 1, "the app reached the black hole");
    let started = Instant::now();
    let fast = api.submit("bh", json!({"player": "q", "score": 1})).await;
    let took = started.elapsed();
    fast.assert_problem(503, OPEN_DETAIL);
    eprintln!(
        "edge-host: with a black-holed Redis, a write with the breaker open answered in {took:?}"
    );
    api.stop().await;
    holder.abort();
}

/// One tenant's damaged key (a value of the wrong type where its board's ranking is) fails that
/// board's reads and writes alone, with a `500` problem: Redis answered them, so the breaker
/// stays closed and another tenant's writes and reads keep answering. (When every error counted
/// as Redis being down, the fifth such request opened the breaker for the whole region.)
#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_key_fails_its_own_board_and_never_opens_the_breaker() {
    let api = crate::api::start().await;
    let acme = token("ops", &["admin"], Some("acme"));
    let acme_service = token("game-server", &["service"], Some("acme"));
    let created = api
        .call(
            Method::POST,
            "/api/v1/boards",
            Some(&acme),
            Some(json!({"id": "broken", "public_read": true})),
            &[],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let submit = |score: i64| {
        api.call(
            Method::POST,
            "/api/v1/boards/broken/scores",
            Some(&acme_service),
            Some(json!({"player": "ann", "score": score})),
            &[],
        )
    };
    assert_eq!(submit(1).await.status, 201);
    api.create_board(json!({"id": "healthy", "public_read": true}))
        .await;

    // Damage acme's ranking: the sorted set becomes a string.
    let mut c = api.redis.conn();
    let rankings: Vec<String> = redis::cmd("KEYS")
        .arg("lb:{acme/broken}:z:*")
        .query(&mut c)
        .unwrap();
    assert!(!rankings.is_empty(), "the board has a ranking in Redis");
    for key in &rankings {
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg("not a sorted set")
            .query(&mut c)
            .unwrap();
    }

    // More failing requests than open the breaker (5 in one 10 s window), however the windows
    // fall: each is this board's own 500, never the region's 503.
    for i in 0..12 {
        let r = if i % 2 == 0 {
            submit(10 + i).await
        } else {
            api.get(
                &format!("/api/v1/boards/broken/entries?limit={i}"),
                Some(&acme),
            )
            .await
        };
        assert_eq!(r.status, 500, "request {i}: {}", r.body);
        assert_eq!(r.header("content-type"), "application/problem+json");
        assert!(
            r.body["type"]
                .as_str()
                .unwrap_or("")
                .ends_with("corrupt-data"),
            "request {i}: {}",
            r.body
        );
    }
    let detailed = api.get("/health/detailed", None).await;
    assert_eq!(
        detailed.body["redis_circuit"]["state"], "closed",
        "{}",
        detailed.body
    );
    // Another tenant's board: writes land and reads answer, at once.
    let landed = api.submit_ok("healthy", "bob", json!(7)).await;
    assert_eq!(landed.body["rank"], 1, "{}", landed.body);
    let read = api.get("/api/v1/boards/healthy/entries", None).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body["entries"][0]["player"], "bob", "{}", read.body);
    api.stop().await;
}

/// edge-host is never more forgiving than Spin by default: with a Redis that accepts and never
/// answers, a write waits as it does on Spin (no 5 s reply timeout answering `503`), here for at
/// least 8 s, until the client gives up.
#[tokio::test(flavor = "multi_thread")]
async fn by_default_a_black_holed_redis_holds_a_request_as_on_spin() {
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole_url = format!("redis://{}", hole.local_addr().unwrap());
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&accepted);
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hole.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(socket);
        }
    });
    let api = crate::api::start_on_pooled(
        RedisServer::start(),
        Kv::Shipped,
        &[("redis_url", &hole_url), ("redis_hosts", &hole_url)],
        HostConfig::default(),
    )
    .await;
    let waited = tokio::time::timeout(
        Duration::from_secs(8),
        api.submit("bh", json!({"player": "ann", "score": 1})),
    )
    .await;
    assert!(
        waited.is_err(),
        "answered before 8 s (a reply timeout Spin does not have): {:?}",
        waited.map(|r| (r.status, r.body))
    );
    assert!(
        accepted.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "the request was held by the black hole, not somewhere before Redis"
    );
    holder.abort();
    api.stop().await;
}
