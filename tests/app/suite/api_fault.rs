//! The fault run of the event pipeline, on the runtime under test: 5,000 submissions (every other
//! one to an async board, one in twenty out of the board's bounds) at concurrency 16, each with its
//! own player and `Idempotency-Key`, while the worker app (the Redis trigger) is stopped and
//! started again and Redis (append-only file, `appendfsync always`) is killed and restarted.
//! Clients retry what a real client retries (transport errors, 5xx, `409 idempotency-in-progress`)
//! with the same key, so every submission ends with a final answer. Afterwards every submission
//! that got a 2xx is applied exactly once (its record holds its score and one submission; count
//! and sum checked in Redis), every one that got a 4xx left nothing anywhere, and nothing waits in
//! an inbox or sits in dead letters.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::api::{service, start_persistent};
use harness::eventually;

const SUBMISSIONS: u64 = 5_000;
const CLIENTS: u64 = 16;
/// The most one submission keeps being retried.
const RETRY_FOR: Duration = Duration::from_secs(90);
const SCORE_MAX: u64 = 1_000;

/// The run's two boards, `(sync, async)`: `fs` and `fa` on one server. On a cluster, ids whose
/// slot the node the run kills serves (the worker's trigger node): elsewhere the submissions met
/// its two-second outage only through the tenant's and the sweep's keys, which a run can miss
/// (one did: no submission was retried).
#[derive(Clone)]
struct Boards {
    sync: String,
    async_: String,
}

impl Boards {
    fn of(api: &crate::api::Api) -> Self {
        if !api.redis.is_cluster() {
            return Self {
                sync: "fs".into(),
                async_: "fa".into(),
            };
        }
        let killed = api.redis.trigger_node().port;
        Self {
            sync: api.redis.board_where("fs", |port| port == killed),
            async_: api.redis.board_where("fa", |port| port == killed),
        }
    }

    fn all(&self) -> [&str; 2] {
        [&self.sync, &self.async_]
    }
}

/// Submission `i`: its board, player and score (one in twenty beyond the board's `score_max`).
fn submission(boards: &Boards, i: u64) -> (&str, String, u64) {
    let board = if i.is_multiple_of(2) {
        &boards.sync
    } else {
        &boards.async_
    };
    let score = if i % 20 == 7 {
        SCORE_MAX + 1 + i
    } else {
        i % 997 + 1
    };
    (board, format!("p{i:05}"), score)
}

/// Sends one submission until a final answer (2xx or a 4xx other than `409
/// idempotency-in-progress`): `(status, attempts)`.
async fn submit_until_final(
    boards: &Boards,
    http: &reqwest::Client,
    base: &str,
    token: &str,
    i: u64,
    transport_errors: &AtomicU64,
) -> (u16, u32) {
    let (board, player, score) = submission(boards, i);
    let started = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let sent = http
            .post(format!("{base}/api/v1/boards/{board}/scores"))
            .bearer_auth(token)
            .header("idempotency-key", format!("fault-{i}"))
            .json(&json!({"player": player, "score": score}))
            .send()
            .await;
        match sent {
            Ok(r) => {
                let status = r.status().as_u16();
                let v: Value = r.json().await.unwrap_or(Value::Null);
                let in_progress = status == 409
                    && v["type"] == "https://leaderboard.dev/problems/idempotency-in-progress";
                assert_ne!(status, 500, "submission {i}: a bare 500: {v}");
                if status < 500 && !in_progress {
                    return (status, attempts);
                }
            }
            Err(_) => {
                transport_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        assert!(
            started.elapsed() < RETRY_FOR,
            "submission {i}: no final answer within {RETRY_FOR:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn records(api: &crate::api::Api, board: &str) -> BTreeMap<String, Value> {
    let raw: BTreeMap<String, String> = redis::cmd("HGETALL")
        .arg(format!("lb:{{default/{board}}}:r:all"))
        .query(&mut api.redis.conn())
        .unwrap();
    raw.into_iter()
        .map(|(k, v)| (k, serde_json::from_str(&v).unwrap()))
        .collect()
}

fn xlen(api: &crate::api::Api, key: &str) -> u64 {
    redis::cmd("XLEN")
        .arg(key)
        .query(&mut api.redis.conn())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn fault_run_every_2xx_applied_once_every_error_not_at_all() {
    // A batch the killed worker had claimed is reclaimed a second later (`start_persistent`).
    let mut api = start_persistent().await;
    api.start_worker().await;
    let max = SCORE_MAX;
    let boards = Boards::of(&api);
    api.create_board(json!({"id": boards.sync, "operator": "incr", "score_max": max}))
        .await;
    api.create_board(
        json!({"id": boards.async_, "operator": "incr", "score_max": max, "write_mode": "async"}),
    )
    .await;

    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let transport_errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (http, base, token) = (api.app.http.clone(), api.app.base.clone(), service());
        let boards = boards.clone();
        let (next, done, errors) = (
            Arc::clone(&next),
            Arc::clone(&done),
            Arc::clone(&transport_errors),
        );
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= SUBMISSIONS {
                    return outcomes;
                }
                let outcome = submit_until_final(&boards, &http, &base, &token, i, &errors).await;
                done.fetch_add(1, Ordering::Relaxed);
                outcomes.push((i, outcome));
            }
        }));
    }
    let reach = |fraction: u64| {
        let done = Arc::clone(&done);
        async move {
            let ok = eventually(Duration::from_secs(120), || {
                (done.load(Ordering::Relaxed) >= SUBMISSIONS * fraction / 100).then_some(())
            })
            .await;
            assert!(ok.is_some(), "the load stalled before {fraction}%");
        }
    };

    // The trigger goes away for a while: async submissions are accepted into the inbox meanwhile.
    reach(20).await;
    api.stop_worker().await;
    reach(40).await;
    api.start_worker().await;
    // Redis dies under load; the worker's subscription drops with it, so the worker app ends and
    // is started again (as scripts/up.sh and a Kubernetes Deployment do).
    reach(55).await;
    assert!(
        api.restart_redis_and_worker().await,
        "the worker outlived its subscription"
    );

    let mut outcomes = BTreeMap::new();
    for t in tasks {
        outcomes.extend(t.await.unwrap());
    }
    assert_eq!(outcomes.len() as u64, SUBMISSIONS);
    // One more accepted submission rings the doorbell for whatever was accepted while no worker
    // listened (the bell flag of a doorbell nobody heard expires after a second).
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let late = api
        .submit(&boards.async_, json!({"player": "late", "score": 1}))
        .await;
    assert_eq!(late.status, 202, "{}", late.body);
    let inbox = format!("lb:{{default/{}}}:inbox", boards.async_);
    let drained = eventually(Duration::from_secs(60), || {
        let n = xlen(&api, &inbox);
        (n == 0).then_some(())
    })
    .await;
    assert!(
        drained.is_some(),
        "the trigger left {} entries in the inbox",
        xlen(&api, &inbox)
    );

    let (sync_records, async_records) =
        (records(&api, &boards.sync), records(&api, &boards.async_));
    let mut expected: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut rejected = 0;
    for (&i, &(status, _)) in &outcomes {
        let (board, player, score) = submission(&boards, i);
        let stored = if board == boards.sync {
            &sync_records
        } else {
            &async_records
        };
        if score > SCORE_MAX {
            assert!(
                (400..500).contains(&status),
                "submission {i} beyond bounds: {status}"
            );
            assert!(
                !stored.contains_key(&player),
                "rejected submission {i} was applied"
            );
            rejected += 1;
            continue;
        }
        let want: &[u16] = if board == boards.sync {
            &[200, 201]
        } else {
            &[202]
        };
        assert!(want.contains(&status), "submission {i}: {status}");
        let record = stored
            .get(&player)
            .unwrap_or_else(|| panic!("submission {i} ({status}) was not applied"));
        assert_eq!(record["score"], score, "submission {i}");
        assert_eq!(
            record["submissions"], 1,
            "submission {i} applied more than once"
        );
        let e = expected.entry(board).or_default();
        e.0 += 1;
        e.1 += score;
    }
    // Count and sum in Redis (the late ringer is the async board's one extra entry).
    let total = |r: &BTreeMap<String, Value>| -> (u64, u64) {
        (
            r.len() as u64,
            r.values().map(|v| v["score"].as_u64().unwrap()).sum(),
        )
    };
    assert_eq!(
        total(&sync_records),
        expected[boards.sync.as_str()],
        "sync board count, sum"
    );
    let (fa_count, fa_sum) = expected[boards.async_.as_str()];
    assert_eq!(
        total(&async_records),
        (fa_count + 1, fa_sum + 1),
        "async board"
    );
    for board in boards.all() {
        let members: u64 = redis::cmd("ZCARD")
            .arg(format!("lb:{{default/{board}}}:z:all"))
            .query(&mut api.redis.conn())
            .unwrap();
        assert_eq!(
            members,
            total(&records(&api, board)).0,
            "{board}: sorted set"
        );
        assert_eq!(
            xlen(&api, &format!("lb:{{default/{board}}}:dead")),
            0,
            "{board}: dead letters"
        );
    }
    let retried = outcomes.values().filter(|(_, a)| *a > 1).count();
    eprintln!(
        "{}: {SUBMISSIONS} submissions, {rejected} rejected, {retried} retried (at most {} attempts), {} transport errors",
        api.app.runtime_name(),
        outcomes.values().map(|(_, a)| *a).max().unwrap_or(0),
        transport_errors.load(Ordering::Relaxed)
    );
    assert!(retried > 0, "the faults should have made clients retry");
    api.stop().await;
}
