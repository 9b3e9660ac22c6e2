//! `async` boards: 202 Accepted, the Redis-triggered projector applies from the inbox stream,
//! exactly once, including entries a previous projector run left unacknowledged.

use std::time::Duration;

use serde_json::json;

use crate::api::{Api, rows, service, start_with_worker};
use harness::eventually;

async fn entries(api: &Api, board: &str) -> serde_json::Value {
    api.get(&format!("/api/v1/boards/{board}/entries?limit=100"), None)
        .await
        .body
}

async fn wait_total(api: &Api, board: &str, total: u64) -> serde_json::Value {
    for _ in 0..200 {
        let body = entries(api, board).await;
        if body["total"] == total {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "{board} never reached {total} entries: {}",
        entries(api, board).await
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn async_submissions_are_accepted_then_projected_exactly_once() {
    let api = start_with_worker().await;
    api.create_board(
        json!({"id": "bulk", "operator": "incr", "write_mode": "async",
        "public_read": true, "cache": {"ttl_secs": 0, "stale_secs": 0}}),
    )
    .await;
    let r = api
        .submit("bulk", json!({"player": "ann", "score": 2}))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["accepted"], true);
    assert!(r.body["event_id"].as_str().unwrap().contains('-'));
    // Bounds are still checked at the door.
    api.submit("bulk", json!({"player": "ann", "score": -1}))
        .await
        .assert_problem(422, "out of range");

    // 30 concurrent increments from several players.
    let mut tasks = Vec::new();
    for i in 0..30 {
        let http = api.app.http.clone();
        let url = api.app.url("/api/v1/boards/bulk/scores");
        let token = service();
        tasks.push(tokio::spawn(async move {
            let body = json!({"player": format!("p{}", i % 3), "score": 1});
            http.post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 202);
    }
    let body = wait_total(&api, "bulk", 4).await;
    let mut got = rows(&body);
    for _ in 0..200 {
        if got
            .iter()
            .filter(|(p, _, _)| p.starts_with('p'))
            .all(|(_, _, s)| *s == json!(10))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        got = rows(&entries(&api, "bulk").await);
    }
    for p in ["p0", "p1", "p2"] {
        let (_, _, score) = got.iter().find(|(n, _, _)| n == p).cloned().unwrap();
        assert_eq!(
            score,
            json!(10),
            "{p}: every accepted increment applied once"
        );
    }
    // The inbox is drained and acknowledged.
    let mut c = api.redis.conn();
    let inbox: u64 = redis::cmd("XLEN")
        .arg("lb:{default/bulk}:inbox")
        .query(&mut c)
        .unwrap();
    assert_eq!(inbox, 0);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn entries_left_pending_by_a_dead_projector_are_applied_once() {
    // Reclaim entries another drain took after 200 ms of silence (default 30 s).
    let mut api = crate::api::start_with(
        &[("inbox_reclaim_after_ms", "200")],
        edge_host::HostConfig::default(),
    )
    .await;
    api.start_worker().await;
    api.create_board(
        json!({"id": "resume", "operator": "incr", "write_mode": "async", "public_read": true,
        "cache": {"ttl_secs": 0, "stale_secs": 0}}),
    )
    .await;
    let mut c = api.redis.conn();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let event = json!({"type": "score_submitted", "version": 2, "id": "e1", "tenant": "default",
        "board": "resume", "at_ms": now, "data": {"player": "zoe", "score": 7}})
    .to_string();
    let _: String = redis::cmd("XADD")
        .arg("lb:{default/resume}:inbox")
        .arg("*")
        .arg("event")
        .arg(&event)
        .query(&mut c)
        .unwrap();
    // A projector run that read the entry and died before acknowledging it.
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg("lb:{default/resume}:inbox")
        .arg("projector")
        .arg("0")
        .query(&mut c)
        .unwrap();
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("projector")
        .arg("projector")
        .arg("COUNT")
        .arg(10)
        .arg("STREAMS")
        .arg("lb:{default/resume}:inbox")
        .arg(">")
        .query(&mut c)
        .unwrap();
    // The next doorbell after the reclaim time picks it up; a second one does not apply it again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..2 {
        let _: i64 = redis::cmd("PUBLISH")
            .arg("lb:doorbell")
            .arg("default/resume")
            .query(&mut c)
            .unwrap();
        let seen = eventually(Duration::from_secs(10), || {
            let n: u64 = redis::cmd("XLEN")
                .arg("lb:{default/resume}:inbox")
                .query(&mut api.redis.conn())
                .unwrap_or(1);
            (n == 0).then_some(())
        })
        .await;
        assert!(seen.is_some(), "pending entry processed");
    }
    let body = wait_total(&api, "resume", 1).await;
    assert_eq!(rows(&body)[0], ("zoe".to_string(), 1, json!(7)));
    api.stop().await;
}
