//! A Redis outage under load, on the runtime under test (real Spin with `EDGE_TEST_RUNTIME=spin`;
//! edge-host in its Spin-faithful mode): clients submit at concurrency 8, each submission with its
//! own `Idempotency-Key`, retrying on 5xx and on `409 idempotency-in-progress`; Redis (append-only
//! file, `appendfsync always`) is killed with SIGKILL and restarted 2 s later. The HTTP API must
//! answer throughout (no refused connection, no hang), every submission must end with exactly one
//! 2xx and be applied exactly once (count and sum checked in Redis), cached reads must keep
//! answering, and an async board's accepted submissions must be projected once after the worker
//! app is running again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::api::{admin, service};
use harness::eventually;

/// Concurrent clients.
const CLIENTS: u64 = 8;
/// Submissions per client to the sync board, and to the async board.
const SYNC_EACH: u64 = 30;
const ASYNC_EACH: u64 = 6;
/// The most a client keeps retrying one submission.
const RETRY_FOR: Duration = Duration::from_secs(60);

/// One submission until its first 2xx: `(status, body, attempts)`; panics on a refused connection,
/// a 4xx other than `409 idempotency-in-progress`, or when the retries run out.
async fn submit_until_2xx(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    key: &str,
    body: &Value,
    refused: &AtomicU64,
) -> (u16, Value, u32) {
    let started = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let sent = http
            .post(url)
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await;
        match sent {
            Ok(r) => {
                let status = r.status().as_u16();
                let text = r.text().await.unwrap_or_default();
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
                if (200..300).contains(&status) {
                    return (status, v, attempts);
                }
                let in_progress = status == 409
                    && v["type"] == "https://leaderboard.dev/problems/idempotency-in-progress";
                assert!(
                    status >= 500 || in_progress,
                    "{key}: a client error is final: {status} {v}"
                );
                assert_ne!(status, 500, "{key}: a bare 500 during the outage: {v}");
            }
            // A refused or reset connection means the HTTP API went away.
            Err(e) => {
                refused.fetch_add(1, Ordering::Relaxed);
                eprintln!("{key}: {e}");
            }
        }
        assert!(
            started.elapsed() < RETRY_FOR,
            "{key}: no 2xx within {RETRY_FOR:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_restart_under_load_loses_nothing_and_applies_nothing_twice() {
    // Its batches claimed when Redis dies are reclaimed a second later (see `start_persistent`).
    let mut api = crate::api::start_persistent().await;
    api.create_board(json!({"id": "race", "operator": "incr"}))
        .await;
    api.create_board(json!({"id": "queue", "operator": "incr", "write_mode": "async"}))
        .await;
    api.create_board(
        json!({"id": "shown", "public_read": true, "cache": {"ttl_secs": 600, "stale_secs": 600}}),
    )
    .await;
    api.submit_ok("shown", "ann", json!(1)).await;
    let shown = api.get("/api/v1/boards/shown/entries", None).await;
    assert_eq!(shown.header("x-cache"), "MISS");
    // The worker starts once the page the readers below expect to stay a HIT is cached: it hears
    // this region's own invalidations too (lb:invalidate, which keeps no message for a worker
    // not yet listening), and the write's echo would have dropped the page whenever it came.
    api.start_worker().await;

    // The clients.
    let refused = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let http = api.app.http.clone();
        let base = api.app.base.clone();
        let token = service();
        let refused = Arc::clone(&refused);
        let done = Arc::clone(&done);
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for i in 0..SYNC_EACH + ASYNC_EACH {
                let (board, n) = if i < SYNC_EACH {
                    ("race", i)
                } else {
                    ("queue", i - SYNC_EACH)
                };
                let key = format!("{board}-c{client}-{n}");
                let body = json!({"player": format!("p{client}"), "score": n + 1});
                let url = format!("{base}/api/v1/boards/{board}/scores");
                let outcome = submit_until_2xx(&http, &url, &token, &key, &body, &refused).await;
                done.fetch_add(1, Ordering::Relaxed);
                outcomes.push((key, outcome));
            }
            outcomes
        }));
    }

    // Readers during the load: the liveness route and the cached page must always answer.
    let reading = Arc::new(AtomicBool::new(true));
    let reader = {
        let http = api.app.http.clone();
        let base = api.app.base.clone();
        let reading = Arc::clone(&reading);
        tokio::spawn(async move {
            let mut seen = BTreeMap::<String, u64>::new();
            while reading.load(Ordering::Relaxed) {
                for path in ["/health/live", "/api/v1/boards/shown/entries"] {
                    let key = match http.get(format!("{base}{path}")).send().await {
                        Ok(r) => format!(
                            "{path} {} {}",
                            r.status().as_u16(),
                            r.headers()
                                .get("x-cache")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                        ),
                        Err(e) => format!("{path} error {e}"),
                    };
                    *seen.entry(key).or_default() += 1;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            seen
        })
    };

    // The fault, a third of the way in.
    let third = CLIENTS * (SYNC_EACH + ASYNC_EACH) / 3;
    let reached = eventually(Duration::from_secs(60), || {
        (done.load(Ordering::Relaxed) >= third).then_some(())
    })
    .await;
    assert!(reached.is_some(), "the load did not get going");
    let worker_ended = api.restart_redis_and_worker().await;

    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.extend(t.await.unwrap());
    }
    reading.store(false, Ordering::Relaxed);
    let seen = reader.await.unwrap();
    assert_eq!(refused.load(Ordering::Relaxed), 0, "refused connections");
    assert!(
        worker_ended,
        "{}: the worker kept running without its subscription",
        api.app.runtime_name()
    );
    for (what, n) in &seen {
        assert!(
            what.ends_with(" 200 ") || what.ends_with(" 200 HIT") || what.ends_with(" 200 STALE"),
            "reads during the outage: {seen:?} ({what}: {n})"
        );
    }

    // Exactly one 2xx per submission (the loop stops at the first) and every one applied once.
    assert_eq!(outcomes.len() as u64, CLIENTS * (SYNC_EACH + ASYNC_EACH));
    let retried = outcomes.iter().filter(|(_, (_, _, a))| *a > 1).count();
    let most = outcomes.iter().map(|(_, (_, _, a))| *a).max().unwrap_or(0);
    eprintln!(
        "{}: {} submissions, {retried} needed retries (at most {most} attempts); reads during the load: {seen:?}",
        api.app.runtime_name(),
        outcomes.len()
    );
    assert!(
        retried > 0,
        "the outage should have made some clients retry"
    );
    for (key, (status, body, _)) in &outcomes {
        let expected: &[u16] = if key.starts_with("race") {
            &[200, 201]
        } else {
            &[202]
        };
        assert!(expected.contains(status), "{key}: {status} {body}");
    }
    let mut c = api.redis.conn();
    let expected_sum = |each: u64| each * (each + 1) / 2;
    for client in 0..CLIENTS {
        let record: String = redis::cmd("HGET")
            .arg("lb:{default/race}:r:all")
            .arg(format!("p{client}"))
            .query(&mut c)
            .unwrap();
        let record: Value = serde_json::from_str(&record).unwrap();
        assert_eq!(record["score"], expected_sum(SYNC_EACH), "p{client}: sum");
        assert_eq!(record["submissions"], SYNC_EACH, "p{client}: count");
    }

    // The async board: every accepted submission is projected once, by the restarted worker (its
    // next doorbell drains the inbox, including what was accepted before the outage). The bell
    // flag of a doorbell nobody heard suppresses the next ring for a second, and the claims of
    // the drain Redis interrupted become reclaimable after a second: wait both out first.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    api.submit_ok("queue", "late", json!(1)).await;
    let projected = eventually(Duration::from_secs(30), || {
        let pending: u64 = redis::cmd("XLEN")
            .arg("lb:{default/queue}:inbox")
            .query(&mut api.redis.conn())
            .ok()?;
        (pending == 0).then_some(())
    })
    .await;
    assert!(projected.is_some(), "the inbox was not drained");
    for client in 0..CLIENTS {
        let record: String = redis::cmd("HGET")
            .arg("lb:{default/queue}:r:all")
            .arg(format!("p{client}"))
            .query(&mut c)
            .unwrap();
        let record: Value = serde_json::from_str(&record).unwrap();
        assert_eq!(
            record["score"],
            expected_sum(ASYNC_EACH),
            "queue p{client}: sum"
        );
        assert_eq!(record["submissions"], ASYNC_EACH, "queue p{client}: count");
    }
    // The board read answers from Redis again.
    let r = api
        .get("/api/v1/boards/race/players/p0", Some(&admin()))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    api.stop().await;
}
