//! A Redis server that stops answering without refusing (`SIGSTOP`): Spin's outbound Redis has no
//! timeouts, so requests that reached it wait; new ones must fail fast with a `503` problem once
//! the region's canary to it has gone unanswered (`edge::stall`: within 4 s of the stop), and
//! everything answers again when it resumes (`SIGCONT`). On a cluster only the stopped primary's
//! boards wait, and they answer again once its replica has taken over, before it resumes.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::task::JoinHandle;

use crate::api::{Api, service};
use harness::RedisServer;

/// When a stopped server's new requests fail fast at the latest (`StallPolicy::default`: a canary
/// every 1 s, silent for 3 s), with a second to spare for a loaded machine.
const FAIL_FAST_AFTER: Duration = Duration::from_millis(5_000);

/// A submission of `player` (its `Idempotency-Key` too) sent on its own: its status,
/// `Retry-After` and body, and when it was sent and answered.
struct Sent {
    at: Instant,
    answer: JoinHandle<(u16, String, String, Instant)>,
}

fn send(api: &Api, board: &str, player: &str) -> Sent {
    let http = api.app.http.clone();
    let url = format!("{}/api/v1/boards/{board}/scores", api.app.base);
    let body = json!({"player": player, "score": 1});
    let key = player.to_string();
    Sent {
        at: Instant::now(),
        answer: tokio::spawn(async move {
            let sent = http
                .post(&url)
                .bearer_auth(service())
                .header("idempotency-key", key)
                .json(&body)
                .timeout(Duration::from_secs(60))
                .send()
                .await;
            let (status, retry_after, body) = match sent {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let retry_after = r
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    (status, retry_after, r.text().await.unwrap_or_default())
                }
                Err(e) => (0, String::new(), e.to_string()),
            };
            (status, retry_after, body, Instant::now())
        }),
    }
}

/// Submissions to `board`, one every 100 ms for `span`.
async fn trickle(api: &Api, board: &str, span: Duration) -> Vec<Sent> {
    let start = Instant::now();
    let mut sent = Vec::new();
    while start.elapsed() < span {
        sent.push(send(api, board, &format!("p{}", sent.len())));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sent
}

/// The late submissions (sent `FAIL_FAST_AFTER` after `stopped` or later) that were answered at
/// once, within 2 s of being sent: refused (`503` with `Retry-After`), or with `served` (a
/// replica took over) applied (`201`). Each is taken out of `sent`; a late one still waiting is a
/// reprobe (one per 2 s) and stays. How many were refused.
async fn refused_fast(sent: &mut Vec<Sent>, stopped: Instant, served: bool) -> usize {
    let mut refused = 0;
    let mut kept = Vec::new();
    for s in sent.drain(..) {
        if s.at < stopped + FAIL_FAST_AFTER {
            kept.push(s);
            continue;
        }
        let waited = (s.at + Duration::from_secs(2)).saturating_duration_since(Instant::now());
        tokio::time::sleep(waited).await;
        if !s.answer.is_finished() {
            kept.push(s);
            continue;
        }
        let (status, retry_after, body, answered) = s.answer.await.unwrap();
        assert!(answered - s.at < Duration::from_secs(2));
        if served && status == 201 {
            continue;
        }
        assert_eq!(status, 503, "a late submission was not refused: {body}");
        assert!(!retry_after.is_empty(), "a 503 without Retry-After");
        refused += 1;
    }
    *sent = kept;
    refused
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_that_stops_answering_fails_new_requests_fast_and_all_answer_once_it_resumes() {
    if harness::cluster_three() {
        eprintln!(
            "skipped: it stops Redis, one node of six on a cluster (the cluster's case: below)"
        );
        return;
    }
    let api = crate::api::start().await;
    api.create_board(json!({"id": "still", "operator": "incr"}))
        .await;
    api.submit_ok("still", "warm", json!(1)).await;
    api.redis.signal("STOP");
    let stopped = Instant::now();
    let mut sent = trickle(&api, "still", Duration::from_secs(8)).await;
    let total = sent.len();
    let refused = refused_fast(&mut sent, stopped, false).await;
    // About 30 late ones, of which a reprobe every 2 s waits.
    assert!(refused >= 15, "only {refused} of {total} refused fast");
    let health = api.get("/health/detailed", None).await;
    assert_eq!(
        health.body["redis_stalled"]["servers"], 1,
        "{}",
        health.body
    );
    assert_eq!(
        health.body["dependencies"]["redis"]["status"], "down",
        "{}",
        health.body
    );
    api.redis.signal("CONT");
    // Every submission that waited is answered now: applied, or refused (`503`: on the WASIp3
    // build, whose guests bound a Redis reply at 5 s). Each refused one, retried with its
    // `Idempotency-Key` as a client does, is applied exactly once.
    for s in sent {
        let (status, _, body, _) = tokio::time::timeout(Duration::from_secs(15), s.answer)
            .await
            .expect("a waiting submission was not answered after the server resumed")
            .unwrap();
        assert!(
            matches!(status, 201 | 503),
            "a submission that waited: {status} {body}"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in 0..total {
        let player = format!("p{i}");
        loop {
            let retried = api
                .call(
                    reqwest::Method::POST,
                    "/api/v1/boards/still/scores",
                    Some(&service()),
                    Some(json!({"player": player, "score": 1})),
                    &[("idempotency-key", player.as_str())],
                )
                .await;
            if matches!(retried.status.as_u16(), 200 | 201) {
                break;
            }
            // A `409`: an attempt that died holding the key (its reservation lapses).
            assert!(
                matches!(retried.status.as_u16(), 409 | 503) && Instant::now() < deadline,
                "{player}: {} {}",
                retried.status,
                retried.body
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let after = api
        .submit("still", json!({"player": "after", "score": 1}))
        .await;
    assert_eq!(after.status, 201, "{}", after.body);
    let page = api
        .get("/api/v1/boards/still/entries?limit=100", Some(&service()))
        .await;
    assert_eq!(page.body["total"], total + 2, "{}", page.body);
    let rows = crate::api::rows(&page.body);
    assert!(
        rows.iter().all(|(_, _, score)| *score == json!(1)),
        "a submission applied twice: {}",
        page.body
    );
    let health = api.get("/health/detailed", None).await;
    assert_eq!(
        health.body["redis_stalled"]["servers"], 0,
        "{}",
        health.body
    );
    api.stop().await;
}

/// The primary of one board is stopped (`SIGSTOP`) on a cluster of three primaries and three
/// replicas: a board on another primary keeps answering `201` throughout; the stopped one's
/// board refuses fast, then answers `201` again once the replica has taken over its slots (the
/// cluster's failover, `cluster-node-timeout` 2 s), before the node resumes.
#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_primary_holds_only_its_own_boards_and_they_answer_again_on_its_replica() {
    let api = crate::api::start_on(
        RedisServer::start_cluster3(),
        crate::api::Kv::Shipped,
        &[],
        edge_host::HostConfig::default(),
    )
    .await;
    // A board on a primary the test does not read the cluster through (it is stopped), and one
    // on another primary.
    let stopped_board = api.redis.board_where("s", |port| port != api.redis.port);
    let primary = api.redis.board_owner(&stopped_board);
    let other_board = api.redis.board_where("s", |port| port != primary);
    for board in [&stopped_board, &other_board] {
        api.create_board(json!({"id": board, "operator": "incr"}))
            .await;
        api.submit_ok(board, "warm", json!(1)).await;
    }
    let replica = api.redis.replica_of(primary);
    api.redis.peer(primary).signal("STOP");
    let stopped = Instant::now();
    let (others, mut sent) = tokio::join!(
        trickle(&api, &other_board, Duration::from_secs(5)),
        trickle(&api, &stopped_board, Duration::from_secs(5)),
    );
    // The other primary's board answered throughout.
    for s in others {
        let (status, _, _, answered) = tokio::time::timeout(Duration::from_secs(10), s.answer)
            .await
            .expect("a submission to another primary waited on the stopped one")
            .unwrap();
        assert_eq!(status, 201);
        assert!(answered - s.at < Duration::from_secs(2));
    }
    let refused = refused_fast(&mut sent, stopped, true).await;
    // The replica takes over: the stopped board answers 201 again, the node still stopped.
    let promoted = harness::eventually(Duration::from_secs(30), || {
        let role: Vec<redis::Value> = redis::cmd("ROLE")
            .query(&mut api.redis.peer(replica).node_conn())
            .ok()?;
        matches!(role.first(), Some(redis::Value::BulkString(r)) if r == b"master").then_some(())
    })
    .await;
    assert!(promoted.is_some(), "the replica was not promoted");
    // Each try on its own, bounded: one may be a reprobe of the stopped node, which waits.
    let deadline = Instant::now() + Duration::from_secs(10);
    for n in 0.. {
        let attempt = send(&api, &stopped_board, &format!("back{n}"));
        if let Ok(Ok((201, _, _, _))) =
            tokio::time::timeout(Duration::from_secs(2), attempt.answer).await
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the stopped primary's board did not answer on its replica ({refused} refused fast)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    api.redis.peer(primary).signal("CONT");
    for s in sent {
        let (status, _, body, _) = tokio::time::timeout(Duration::from_secs(15), s.answer)
            .await
            .expect("a waiting submission was not answered after the node resumed")
            .unwrap();
        assert!(
            matches!(status, 201 | 503),
            "a submission that waited: {status} {body}"
        );
    }
    api.stop().await;
}
