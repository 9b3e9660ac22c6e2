//! The app on a Redis Cluster of three primaries and three replicas (`redis-cli --cluster
//! create`), whatever `EDGE_TEST_REDIS` says: boards spread over the primaries and each is stored
//! on the primary that owns its slot; a board's slot moved to another primary under writes loses
//! nothing and doubles nothing (the guests follow `ASK` and `MOVED`; a write refused mid-move is
//! a `503` its client retries with the same `Idempotency-Key`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use edge_host::HostConfig;
use harness::RedisServer;
use reqwest::Method;
use serde_json::json;

use crate::api::{Api, Kv, rows, service, start_on};

/// Board ids, one per primary, each on a different one (found by asking the cluster).
fn one_board_per_primary(redis: &RedisServer) -> Vec<(String, u16)> {
    let mut found: Vec<(String, u16)> = Vec::new();
    while found.len() < 3 {
        let id = redis.board_where("b", |port| found.iter().all(|(_, p)| *p != port));
        found.push((id.clone(), redis.board_owner(&id)));
    }
    found
}

/// A board whose primary is not the node the test reads the cluster through, that primary's port,
/// and a board on another primary.
fn two_boards(redis: &RedisServer) -> (String, u16, String) {
    let boards = one_board_per_primary(redis);
    let (board, primary) = boards
        .iter()
        .find(|(_, port)| *port != redis.port)
        .cloned()
        .unwrap();
    let (other, _) = boards
        .iter()
        .find(|(_, port)| *port != primary)
        .cloned()
        .unwrap();
    (board, primary, other)
}

async fn start_cluster_app() -> Api {
    start_on(
        RedisServer::start_cluster3(),
        Kv::Shipped,
        &[],
        HostConfig::default(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn boards_spread_over_the_primaries_and_each_lives_on_the_one_owning_its_slot() {
    let api = start_cluster_app().await;
    let boards = one_board_per_primary(&api.redis);
    for (board, _) in &boards {
        api.create_board(json!({"id": board})).await;
        for (player, score) in [("ann", 30), ("bob", 10), ("cy", 20)] {
            let r = api
                .submit(board, json!({"player": player, "score": score}))
                .await;
            assert_eq!(r.status, 201, "{board}: {}", r.body);
        }
    }
    let primaries: Vec<u16> = boards.iter().map(|(_, p)| *p).collect();
    for (board, port) in &boards {
        let page = api
            .get(&format!("/api/v1/boards/{board}/entries"), Some(&service()))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let ranked: Vec<(String, u64)> = rows(&page.body)
            .into_iter()
            .map(|(player, rank, _)| (player, rank))
            .collect();
        assert_eq!(
            ranked,
            [("ann".into(), 1), ("cy".into(), 2), ("bob".into(), 3)],
            "{board}"
        );
        // Stored on its slot's primary; the other primaries redirect.
        let key = format!("lb:{{default/{board}}}:config");
        for other in &primaries {
            let exists: redis::RedisResult<i64> = redis::cmd("EXISTS")
                .arg(&key)
                .query(&mut api.redis.peer(*other).node_conn());
            if other == port {
                assert_eq!(exists.unwrap(), 1, "{board} on its owner {port}");
            } else {
                let e = exists.expect_err("another primary redirects");
                assert_eq!(e.code(), Some("MOVED"), "{e}");
            }
        }
    }
    // The board list (a tenant key, on its own slot) names all three.
    let list = api.get("/api/v1/boards", Some(&service())).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let mut listed: Vec<&str> = list.body["boards"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["id"].as_str())
        .collect();
    listed.sort_unstable();
    let mut created: Vec<&str> = boards.iter().map(|(b, _)| b.as_str()).collect();
    created.sort_unstable();
    assert_eq!(listed, created, "{}", list.body);
    api.stop().await;
}

/// One answer a writer had: when its request was sent and answered, and for a refusal what it
/// said (the status and the problem's `detail`, or the transport error).
#[derive(Clone)]
struct Answer {
    sent: Instant,
    at: Instant,
    refused: Option<String>,
}

impl Answer {
    fn ok(&self) -> bool {
        self.refused.is_none()
    }
}

type Answers = std::sync::Arc<std::sync::Mutex<Vec<Answer>>>;

/// The refusals among `answers`, counted by what they said, most first: a failing test shows
/// these few lines rather than one line per refusal (which buried its panic message in CI's
/// excerpt of the output).
fn refusals(answers: &[Answer]) -> String {
    let mut counted: Vec<(String, usize)> = Vec::new();
    for reason in answers.iter().filter_map(|a| a.refused.as_deref()) {
        match counted.iter_mut().find(|(r, _)| r == reason) {
            Some((_, n)) => *n += 1,
            None => counted.push((reason.to_string(), 1)),
        }
    }
    counted.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let lines: Vec<String> = counted
        .iter()
        .map(|(reason, n)| format!("  {n} x {reason}"))
        .collect();
    format!(
        "{} of {} answers refused{}{}",
        answers.len() - answers.iter().filter(|a| a.ok()).count(),
        answers.len(),
        if lines.is_empty() { "" } else { ":\n" },
        lines.join("\n")
    )
}

/// What a refused answer said: its status and the problem's `detail` (the whole body when it
/// is not a problem).
fn refusal(status: u16, body: &str) -> String {
    let detail = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|p| p["detail"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.to_string());
    format!("{status}: {detail}")
}

/// A writer straight to the app's URL (the test keeps the app, to kill or move its Redis
/// nodes): until `stop` is set (then one more), a submission of `1` for a player of its own
/// (`<prefix>-<n>`), each retried with its `Idempotency-Key` after a `503`, a `409` or a dropped
/// connection until it is answered `2xx`; every answer's time is noted. Returns the players
/// whose submission was answered `2xx`: one player per submission, so a lost one and a doubled
/// one cannot cancel out.
async fn write_to(
    http: reqwest::Client,
    url: String,
    prefix: String,
    stop: std::sync::Arc<AtomicBool>,
    deadline: Instant,
    answers: Answers,
) -> Vec<String> {
    let token = service();
    let mut answered = Vec::new();
    for i in 0.. {
        let last = stop.load(Ordering::Relaxed);
        let player = format!("{prefix}-{i}");
        loop {
            let sent_at = Instant::now();
            let sent = http
                .post(&url)
                .bearer_auth(&token)
                .header("idempotency-key", &player)
                .json(&json!({"player": player, "score": 1}))
                .send()
                .await;
            let (status, body) = match sent {
                Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
                Err(e) => (0, e.to_string()),
            };
            let ok = (200..300).contains(&status);
            answers.lock().unwrap().push(Answer {
                sent: sent_at,
                at: Instant::now(),
                refused: (!ok).then(|| refusal(status, &body)),
            });
            if ok {
                answered.push(player);
                break;
            }
            assert!(
                matches!(status, 0 | 503 | 409),
                "only a retryable refusal, got {status}: {body}"
            );
            if Instant::now() >= deadline {
                let seen = refusals(&answers.lock().unwrap());
                panic!("{player}: no answer in time; {seen}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if last {
            break;
        }
    }
    answered
}

/// Every player's score on an `incr` board, page by page.
async fn scores(api: &Api, board: &str) -> std::collections::HashMap<String, u64> {
    let mut all = std::collections::HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/boards/{board}/entries?limit=100&cursor={c}"),
            None => format!("/api/v1/boards/{board}/entries?limit=100"),
        };
        let page = api.get(&path, Some(&service())).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for (player, _, score) in rows(&page.body) {
            all.insert(player, score.as_u64().unwrap_or_default());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return all,
        }
    }
}

/// Answered `2xx` but not stored (lost), and stored more than once (doubled, answered or not).
fn lost_and_doubled(
    answered: &[String],
    stored: &std::collections::HashMap<String, u64>,
) -> (usize, usize) {
    let lost = answered
        .iter()
        .filter(|p| stored.get(*p).copied().unwrap_or(0) == 0)
        .count();
    let doubled = stored.values().filter(|&&score| score > 1).count();
    (lost, doubled)
}

/// Starts `n` writers ([`write_to`]) on `board`.
fn writers(
    api: &Api,
    board: &str,
    n: u64,
    stop: &std::sync::Arc<AtomicBool>,
    answers: &Answers,
) -> Vec<tokio::task::JoinHandle<Vec<String>>> {
    let deadline = Instant::now() + Duration::from_secs(90);
    let url = api.app.url(&format!("/api/v1/boards/{board}/scores"));
    (0..n)
        .map(|w| {
            tokio::spawn(write_to(
                api.app.http.clone(),
                url.clone(),
                format!("w{w}"),
                std::sync::Arc::clone(stop),
                deadline,
                std::sync::Arc::clone(answers),
            ))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_boards_slot_moved_to_another_primary_loses_and_doubles_nothing() {
    let api = std::sync::Arc::new(start_cluster_app().await);
    api.create_board(json!({"id": "moving", "operator": "incr"}))
        .await;
    let slot = api.redis.board_slot("moving");
    let from = api.redis.slot_owner(slot);
    let to = api
        .redis
        .cluster_nodes()
        .into_iter()
        .find(|n| n.primary && n.port != from)
        .map(|n| n.port)
        .unwrap();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let answers: Answers = Default::default();
    let running = writers(&api, "moving", 4, &stop, &answers);
    // Some writes land first, then the slot moves a few keys at a time, with writes between.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mover = {
        let api = std::sync::Arc::clone(&api);
        tokio::task::spawn_blocking(move || {
            api.redis
                .move_slot(slot, to, || std::thread::sleep(Duration::from_millis(150)));
        })
    };
    mover.await.unwrap();
    // Writes after the move, on maps that still name the old owner.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut answered = Vec::new();
    for writer in running {
        answered.extend(writer.await.unwrap());
    }
    eprintln!(
        "moving a busy slot: {} submissions answered; {}",
        answered.len(),
        refusals(&answers.lock().unwrap())
    );
    assert_eq!(api.redis.slot_owner(slot), to, "the slot moved");
    let stored = scores(&api, "moving").await;
    assert_eq!(
        lost_and_doubled(&answered, &stored),
        (0, 0),
        "answered 2xx: lost, doubled"
    );
    let exists: i64 = redis::cmd("EXISTS")
        .arg("lb:{default/moving}:config")
        .query(&mut api.redis.peer(to).node_conn())
        .unwrap();
    assert_eq!(exists, 1, "the board's keys are on the new owner");
    match std::sync::Arc::try_unwrap(api) {
        Ok(api) => api.stop().await,
        Err(_) => panic!("a writer still holds the app"),
    }
}

/// What a failover under writes did.
struct Failover {
    /// From the kill to the first `2xx` after the first refused write.
    outage: Duration,
    /// From the kill to the replica's promotion (Redis's part of the outage).
    promotion: Duration,
    /// Submissions answered `2xx` but not stored, and stored more than once.
    lost: usize,
    doubled: usize,
    /// Refusals, and answers, of a board on another primary meanwhile.
    others_refused: usize,
    others_answered: usize,
    /// What the refusals said ([`refusals`]), on the killed primary's board and on the other.
    refusals: String,
    others_refusals: String,
}

/// Eight writers submit to a board whose primary is killed (`SIGKILL`) mid-run; once a replica
/// has taken its slots the killed node is started again with its append-only file (as a
/// supervisor would), rejoining as the new primary's replica. (Started again empty, a node
/// serves its old slots as their primary until the cluster's gossip tells it otherwise: a
/// deployment runs its nodes with persistence for that reason.)
async fn failover_under_writes(min_replica_acks: &str) -> Failover {
    let mut api = start_on(
        RedisServer::start_cluster3_persistent(),
        Kv::Shipped,
        &[("redis_min_replica_acks", min_replica_acks)],
        HostConfig::default(),
    )
    .await;
    let (board, primary, other) = two_boards(&api.redis);
    for b in [&board, &other] {
        api.create_board(json!({"id": b, "operator": "incr"})).await;
    }
    const WRITERS: u64 = 8;
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let answers: Answers = Default::default();
    let others: Answers = Default::default();
    let running = writers(&api, &board, WRITERS, &stop, &answers);
    let others_running = writers(&api, &other, 2, &stop, &others);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let replica = api.redis.replica_of(primary);
    let killed = Instant::now();
    api.redis.peer_mut(primary).kill();
    // Promoted: the replica itself says it is a primary (it knows first).
    let promoted = harness::eventually(Duration::from_secs(30), || {
        let role: Vec<redis::Value> = redis::cmd("ROLE")
            .query(&mut api.redis.peer(replica).node_conn())
            .ok()?;
        matches!(role.first(), Some(redis::Value::BulkString(r)) if r == b"master")
            .then(Instant::now)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "the killed primary's replica was not promoted; {}",
            refusals(&answers.lock().unwrap())
        )
    });
    // Started again, as a supervisor would: it rejoins as the new primary's replica.
    api.redis.peer_mut(primary).restart();
    // Writes go on until every writer has had answers since the kill.
    let written_since = |n: usize| {
        let answers = answers.lock().unwrap();
        answers.iter().filter(|a| a.sent > killed && a.ok()).count() >= n
    };
    let resumed = harness::eventually(Duration::from_secs(30), || {
        written_since(WRITERS as usize * 5).then_some(())
    })
    .await;
    if resumed.is_none() {
        let seen = refusals(&answers.lock().unwrap());
        panic!("writes did not come back in 30 s of the promotion; {seen}");
    }
    stop.store(true, Ordering::Relaxed);
    let mut answered = Vec::new();
    for writer in running {
        answered.extend(writer.await.unwrap());
    }
    for writer in others_running {
        writer.await.unwrap();
    }
    let others = others.lock().unwrap().clone();
    let answers = answers.lock().unwrap().clone();
    // The outage: from the kill to the first 2xx of a request sent after the first refusal (a
    // request Redis answered just before it died can still come back after the kill).
    let refused = answers
        .iter()
        .filter(|a| a.at > killed && !a.ok())
        .map(|a| a.at)
        .min()
        .expect("the kill refused some write");
    let back = answers
        .iter()
        .filter(|a| a.sent > refused && a.ok())
        .map(|a| a.at)
        .min()
        .expect("writes came back");
    let (lost, doubled) = lost_and_doubled(&answered, &scores(&api, &board).await);
    api.stop().await;
    Failover {
        outage: back - killed,
        promotion: promoted - killed,
        lost,
        doubled,
        others_refused: others.iter().filter(|a| !a.ok()).count(),
        others_answered: others.len(),
        refusals: refusals(&answers),
        others_refusals: refusals(&others),
    }
}

/// The board on another primary was answered throughout the failover: none of its submissions
/// refused here when run alone; one in twenty allowed on a machine loaded by the other suites
/// (before a dead shard's failures stopped counting against the region's breaker, 140 of 243
/// were refused).
fn others_barely_refused(f: &Failover) {
    eprintln!(
        "another primary's board during the failover: {}",
        f.others_refusals
    );
    assert!(
        f.others_refused * 20 <= f.others_answered,
        "another primary's board was refused: {}",
        f.others_refusals
    );
}

/// Without replica acknowledgements a write the killed primary acknowledged but had not yet
/// replicated is lost (Redis replicates asynchronously): reported, not asserted. Writes answer
/// again within two seconds of the replica's promotion; the whole outage, mostly Redis's failure
/// detection and election, is reported beside `cluster-node-timeout` + 2 s.
#[tokio::test(flavor = "multi_thread")]
async fn writes_answer_again_within_two_seconds_of_the_replicas_promotion() {
    let f = failover_under_writes("0").await;
    let bound = Duration::from_millis(harness::CLUSTER_NODE_TIMEOUT_MS + 2_000);
    eprintln!(
        "failover without replica acks: promoted {:?} and writes back {:?} after the kill \
         (cluster-node-timeout + 2 s: {bound:?}); {} answered 2xx lost, {} doubled; {}",
        f.promotion, f.outage, f.lost, f.doubled, f.refusals
    );
    assert_eq!(f.doubled, 0, "an Idempotency-Key retry applied twice");
    others_barely_refused(&f);
    assert!(
        f.outage <= f.promotion + Duration::from_secs(2),
        "writes back {:?} after the kill, {:?} after the promotion",
        f.outage,
        f.outage.saturating_sub(f.promotion)
    );
}

/// With `redis_min_replica_acks = 1` a write is answered `2xx` only once a replica has it: a
/// primary killed under writes loses none of them, and no retry applies one twice.
#[tokio::test(flavor = "multi_thread")]
async fn with_a_replica_ack_a_killed_primary_loses_no_answered_submission() {
    let f = failover_under_writes("1").await;
    eprintln!(
        "failover with one replica ack: promoted {:?} and writes back {:?} after the kill; {}",
        f.promotion, f.outage, f.refusals
    );
    assert_eq!((f.lost, f.doubled), (0, 0), "answered 2xx: lost, doubled");
    others_barely_refused(&f);
}

/// A write its replicas did not acknowledge in time is a `503` with `Retry-After` (here none can:
/// two are asked for and no primary has more than one), a board's creation as a submission; the
/// write itself stands on the primary, and a retry with the same `Idempotency-Key` applies
/// nothing twice.
#[tokio::test(flavor = "multi_thread")]
async fn a_write_short_of_its_replica_acks_answers_503_and_its_retry_applies_nothing_twice() {
    let api = start_on(
        RedisServer::start(),
        Kv::Shipped,
        &[("redis_min_replica_acks", "2")],
        HostConfig::default(),
    )
    .await;
    // A board's creation waits for replicas too: it stands on the primary all the same.
    let created = api
        .call(
            Method::POST,
            "/api/v1/boards",
            Some(&crate::api::admin()),
            Some(json!({"id": "acked", "operator": "incr"})),
            &[],
        )
        .await;
    created.assert_problem(503, "replicas");
    assert_eq!(
        api.get("/api/v1/boards/acked", Some(&service()))
            .await
            .status,
        200
    );
    let list = api.get("/api/v1/boards", Some(&service())).await;
    assert_eq!(
        list.body["boards"][0]["id"], "acked",
        "listed: {}",
        list.body
    );
    for _ in 0..2 {
        let r = api
            .call(
                Method::POST,
                "/api/v1/boards/acked/scores",
                Some(&service()),
                Some(json!({"player": "ann", "score": 1})),
                &[("idempotency-key", "once")],
            )
            .await;
        r.assert_problem(503, "replicas");
        assert!(
            !r.header("retry-after").is_empty(),
            "Retry-After on {}",
            r.body
        );
    }
    let page = api
        .get("/api/v1/boards/acked/entries", Some(&service()))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let scores: Vec<(String, u64)> = rows(&page.body)
        .into_iter()
        .map(|(player, _, score)| (player, score.as_u64().unwrap_or_default()))
        .collect();
    assert_eq!(
        scores,
        [("ann".to_string(), 1)],
        "applied once, on the primary"
    );
    api.stop().await;
}

/// With one replica's acknowledgement asked for, a write waits for the replica of its own
/// board's primary and for no other: that replica stopped (`SIGSTOP`), the write answers `503`;
/// another shard's replica stopped instead, it answers `201`.
#[tokio::test(flavor = "multi_thread")]
async fn a_write_waits_for_its_own_primarys_replica_and_no_other() {
    let api = start_on(
        RedisServer::start_cluster3(),
        Kv::Shipped,
        &[("redis_min_replica_acks", "1")],
        HostConfig::default(),
    )
    .await;
    let boards = one_board_per_primary(&api.redis);
    let (board, own) = boards[0].clone();
    let other = boards[1].1;
    api.create_board(json!({"id": board})).await;
    let submit = |player: &'static str| api.submit(&board, json!({"player": player, "score": 5}));
    let own_replica = api.redis.replica_of(own);
    api.redis.peer(own_replica).signal("STOP");
    let waited = submit("ann").await;
    api.redis.peer(own_replica).signal("CONT");
    waited.assert_problem(503, "replicas");
    let other_replica = api.redis.replica_of(other);
    api.redis.peer(other_replica).signal("STOP");
    let answered = submit("bob").await;
    api.redis.peer(other_replica).signal("CONT");
    assert_eq!(answered.status, 201, "{}", answered.body);
    api.stop().await;
}

/// A primary killed while writes wait for its stopped replica fails those `WAIT`s: that shard's
/// outage (`503`, `Retry-After`), not the region's. Counted against the region's breaker (five
/// failures open it), they refused every shard's boards; here another primary's board is
/// answered `201` right after.
#[tokio::test(flavor = "multi_thread")]
async fn a_primary_killed_mid_wait_fails_its_own_shards_writes_and_no_others() {
    let mut api = start_on(
        RedisServer::start_cluster3(),
        Kv::Shipped,
        &[("redis_min_replica_acks", "1")],
        HostConfig::default(),
    )
    .await;
    let (board, primary, other) = two_boards(&api.redis);
    for b in [&board, &other] {
        api.create_board(json!({"id": b})).await;
    }
    // The writes land on the primary, then wait (up to a second) for its stopped replica.
    let replica = api.redis.replica_of(primary);
    api.redis.peer(replica).signal("STOP");
    let waiting = futures::future::join_all((0..8).map(|i| {
        let (http, url) = (
            api.app.http.clone(),
            api.app.url(&format!("/api/v1/boards/{board}/scores")),
        );
        async move {
            let r = http
                .post(url)
                .bearer_auth(service())
                .json(&json!({"player": format!("p{i}"), "score": 1}))
                .send()
                .await
                .unwrap();
            let retry_after = r.headers().contains_key("retry-after");
            (
                r.status().as_u16(),
                retry_after,
                r.text().await.unwrap_or_default(),
            )
        }
    }));
    // Killed once all eight are blocked in their `WAIT` (an earlier kill would fail the writes
    // themselves, which is a shard's outage either way).
    let killer = async {
        let blocked = harness::eventually(Duration::from_secs(10), || {
            let info: String = redis::cmd("INFO")
                .arg("clients")
                .query(&mut api.redis.peer(primary).node_conn())
                .ok()?;
            let n: u64 = info
                .lines()
                .find_map(|l| l.strip_prefix("blocked_clients:"))?
                .trim()
                .parse()
                .ok()?;
            (n >= 8).then_some(())
        })
        .await;
        assert!(blocked.is_some(), "the writes never waited for the replica");
        api.redis.peer_mut(primary).kill();
    };
    let (failed, ()) = tokio::join!(waiting, killer);
    for (status, retry_after, body) in &failed {
        assert_eq!(*status, 503, "{body}");
        assert!(retry_after, "Retry-After on {body}");
        assert!(
            body.contains("holding this data"),
            "the shard's outage: {body}"
        );
    }
    for player in ["ann", "bob", "cy"] {
        let r = api
            .submit(&other, json!({"player": player, "score": 1}))
            .await;
        assert_eq!(r.status, 201, "another primary's board: {}", r.body);
    }
    api.redis.peer(replica).signal("CONT");
    api.stop().await;
}
