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

/// Which release's drain dies.
#[derive(Clone, Copy)]
enum Drain {
    /// This release's: it notes the board in the schedule.
    This,
    /// The previous release's (a rolling deploy): it noted the board in its own register
    /// (`edge::schedule::PREVIOUS_INBOX`, board → when noted) and armed the alarm for the
    /// reclaim time later.
    Previous,
}

/// What a drain does before it dies holding a claim, with the drain's own scripts: it notes the
/// board for the inbox sweep, due the reclaim time later, then claims up to 256 of its inbox
/// entries (consumer `drain`). The number of entries claimed, and when the note was made (ms).
fn claim_as_a_dying_drain(
    c: &mut harness::Conn,
    board: &str,
    reclaim_ms: u64,
    drain: Drain,
) -> (usize, i64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    match drain {
        Drain::This => {
            let item = format!("inbox:default/{board}");
            crate::schedule::note(c, &item, now + reclaim_ms as i64, now, "always");
        }
        Drain::Previous => {
            let () = redis::pipe()
                .cmd("ZADD")
                .arg(edge::schedule::PREVIOUS_INBOX)
                .arg(now)
                .arg(format!("default/{board}"))
                .ignore()
                .cmd("SET")
                .arg(edge::schedule::ALARM)
                .arg(format!("default/{board}"))
                .arg("PX")
                .arg(reclaim_ms)
                .ignore()
                .query(c)
                .unwrap();
        }
    }
    let script = edge::submissions::pipeline::store::claim_for_tests();
    let keys = [
        ("inbox", format!("lb:{{default/{board}}}:inbox")),
        ("bell", format!("lb:{{default/{board}}}:bell")),
    ];
    let args = [
        ("group", "projector".to_string()),
        ("consumer", "drain".to_string()),
        ("count", "256".to_string()),
        ("min_idle_ms", reclaim_ms.to_string()),
    ];
    let claimed: Vec<redis::Value> = redis::cmd("EVAL")
        .arg(script.lua)
        .arg(script.params(&keys, "unused", &args))
        .query(c)
        .unwrap();
    // Its word, then per entry: its id, deliveries, field count, then the fields.
    let word: String = redis::from_redis_value(&claimed[0]).unwrap();
    assert_eq!(word, "claimed");
    let mut n = 0;
    let mut i = 1;
    while i + 2 < claimed.len() {
        let fields: usize = redis::from_redis_value(&claimed[i + 2]).unwrap();
        i += 3 + fields;
        n += 1;
    }
    (n, now)
}

/// Appends accepted submissions to a board's inbox as a trusted backend does (the durable ingest
/// form), without ringing the doorbell.
fn append(c: &mut harness::Conn, board: &str, scores: &[(&str, i64)]) {
    for (player, score) in scores {
        let _: String = redis::cmd("XADD")
            .arg(format!("lb:{{default/{board}}}:inbox"))
            .arg("*")
            .arg("player")
            .arg(player)
            .arg("score")
            .arg(score)
            .query(c)
            .unwrap();
    }
}

async fn inbox_empty(api: &Api, board: &str, within: Duration) -> bool {
    let inbox = format!("lb:{{default/{board}}}:inbox");
    eventually(within, || {
        let n: u64 = redis::cmd("XLEN")
            .arg(&inbox)
            .query(&mut api.redis.conn())
            .unwrap_or(1);
        (n == 0).then_some(())
    })
    .await
    .is_some()
}

#[tokio::test(flavor = "multi_thread")]
/// Entries a drain claimed and never applied (it died), on a board that gets no more traffic: no
/// doorbell, no submission. With no worker running, `/health/detailed` counts them once the
/// reclaim time has passed; a worker that starts applies them at once (its start rings the sweep,
/// as scripts/up.sh does). With the worker running, the register's alarm rings it: a second dead
/// drain's entries are applied within the reclaim time + 2 s, again with no other message.
async fn a_quiet_boards_entries_left_claimed_by_a_dead_drain_are_applied_without_more_traffic() {
    assert_eq!(harness::ALARM_KEY, edge::schedule::ALARM);
    const RECLAIM_MS: u64 = 1_000;
    let mut api = crate::api::start_with(
        &[("inbox_reclaim_after_ms", "1000")],
        edge_host::HostConfig::default(),
    )
    .await;
    api.create_board(
        json!({"id": "quiet", "operator": "best", "write_mode": "async", "public_read": true,
        "cache": {"ttl_secs": 0, "stale_secs": 0}}),
    )
    .await;
    let mut c = api.redis.conn();
    append(&mut c, "quiet", &[("ann", 10), ("bob", 20), ("cy", 30)]);
    let (claimed, noted_at) = claim_as_a_dying_drain(&mut c, "quiet", RECLAIM_MS, Drain::This);
    assert_eq!(claimed, 3);
    tokio::time::sleep(Duration::from_millis(RECLAIM_MS + 300)).await;
    let health = api.get("/health/detailed", None).await;
    assert_eq!(health.status, 200);
    let inbox = &health.body["inbox"];
    assert_eq!(inbox["stranded_entries"], 3, "{inbox}");
    assert_eq!(inbox["boards_with_stranded_entries"], 1, "{inbox}");
    assert_eq!(inbox["boards_overdue"], 1, "{inbox}");
    // Fell due the reclaim time after the drain's note.
    assert_eq!(
        inbox["oldest_overdue_at_ms"],
        noted_at + RECLAIM_MS as i64,
        "{inbox}"
    );
    assert_eq!(inbox["reclaim_after_ms"], RECLAIM_MS, "{inbox}");
    assert_eq!(entries(&api, "quiet").await["total"], 0);

    api.start_worker().await;
    assert!(
        inbox_empty(&api, "quiet", Duration::from_secs(2)).await,
        "the worker's start did not sweep the board"
    );
    let body = wait_total(&api, "quiet", 3).await;
    let got: Vec<(String, u64, serde_json::Value)> = rows(&body);
    assert_eq!(
        got,
        vec![
            ("cy".to_string(), 1, json!(30)),
            ("bob".to_string(), 2, json!(20)),
            ("ann".to_string(), 3, json!(10)),
        ]
    );
    let health = api.get("/health/detailed", None).await;
    assert_eq!(
        health.body["inbox"]["stranded_entries"], 0,
        "{}",
        health.body
    );

    // The worker is up: the alarm alone rings it.
    append(&mut c, "quiet", &[("dee", 40), ("ann", 50)]);
    assert_eq!(
        claim_as_a_dying_drain(&mut c, "quiet", RECLAIM_MS, Drain::This).0,
        2
    );
    assert!(
        inbox_empty(&api, "quiet", Duration::from_millis(RECLAIM_MS + 2_000)).await,
        "entries left claimed were not applied within the reclaim time + 2 s"
    );
    let body = wait_total(&api, "quiet", 4).await;
    assert_eq!(rows(&body)[0], ("ann".to_string(), 1, json!(50)));
    assert_eq!(rows(&body)[1], ("dee".to_string(), 2, json!(40)));

    // A drain of the previous release dies (a rolling deploy): the alarm it armed rings the
    // worker, which moves the board from that release's register into the schedule and sweeps it.
    // The sweep forgot the board once its inbox was empty: only the move can bring it back.
    let settled = eventually(Duration::from_secs(5), || {
        sweep_due(&mut c, "quiet").is_none().then_some(())
    })
    .await;
    assert!(
        settled.is_some(),
        "the swept board is still in the schedule"
    );
    append(&mut c, "quiet", &[("eve", 60)]);
    assert_eq!(
        claim_as_a_dying_drain(&mut c, "quiet", RECLAIM_MS, Drain::Previous).0,
        1
    );
    assert!(
        inbox_empty(&api, "quiet", Duration::from_millis(RECLAIM_MS + 2_000)).await,
        "entries a previous release's drain left claimed were not applied within the reclaim \
         time + 2 s"
    );
    let body = wait_total(&api, "quiet", 5).await;
    assert_eq!(rows(&body)[0], ("eve".to_string(), 1, json!(60)));
    let left: i64 = redis::cmd("ZCARD")
        .arg(edge::schedule::PREVIOUS_INBOX)
        .query(&mut c)
        .unwrap();
    assert_eq!(left, 0, "the previous release's register is emptied");
    api.stop().await;
}

/// When `inbox:default/<board>` is due in the schedule (ms), if it is noted.
fn sweep_due(c: &mut harness::Conn, board: &str) -> Option<i64> {
    let due: Option<f64> = redis::cmd("ZSCORE")
        .arg(edge::schedule::REGISTER)
        .arg(format!("inbox:default/{board}"))
        .query(c)
        .unwrap();
    due.map(|d| d as i64)
}

async fn submit_accepted(api: &Api, board: &str, scores: &[(&str, i64)]) {
    for (player, score) in scores {
        let r = api
            .submit(board, json!({"player": player, "score": score}))
            .await;
        assert_eq!(r.status, 202, "{player}: {}", r.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
/// Scores accepted while no worker listens (one restarting: pub/sub keeps no doorbell for a
/// subscriber that is not there), on a board no drain has noted: the acceptance whose doorbell no
/// one heard notes the board for the inbox sweep, due the reclaim time later, as a drain would.
/// A worker started as scripts/up.sh starts one (its start rings the alarm) applies them; one
/// started by a platform that rings nothing, after the alarm rang unheard, is rung by the next
/// readiness probe of the HTTP app. No other write, no drain call.
async fn scores_accepted_while_no_worker_listened_are_applied_once_one_starts() {
    const RECLAIM_MS: i64 = 1_000;
    let mut api = crate::api::start_with(
        &[("inbox_reclaim_after_ms", "1000")],
        edge_host::HostConfig::default(),
    )
    .await;
    api.create_board(
        json!({"id": "night", "operator": "best", "write_mode": "async", "public_read": true,
        "cache": {"ttl_secs": 0, "stale_secs": 0}}),
    )
    .await;
    let mut c = api.redis.conn();
    assert_eq!(sweep_due(&mut c, "night"), None);
    let before = crate::api::now_secs() * 1000;
    submit_accepted(&api, "night", &[("ann", 10), ("bob", 20), ("cy", 30)]).await;
    let after = (crate::api::now_secs() + 1) * 1000;
    let due = sweep_due(&mut c, "night").expect("the unheard acceptance noted its board");
    assert!(
        (before + RECLAIM_MS..=after + RECLAIM_MS).contains(&due),
        "noted due at {due}, not the reclaim time after the acceptance ({before}..{after})"
    );

    // As scripts/up.sh starts it: the alarm, or the ring at its start, brings the sweep.
    api.start_worker().await;
    assert!(
        inbox_empty(
            &api,
            "night",
            Duration::from_millis(RECLAIM_MS as u64 + 5_000)
        )
        .await,
        "the accepted entries were not applied within the reclaim time + 5 s of the worker's start"
    );
    let got: Vec<(String, u64, serde_json::Value)> = rows(&wait_total(&api, "night", 3).await);
    assert_eq!(got[0], ("cy".to_string(), 1, json!(30)));

    // The sweep forgot the board (its inbox empty): it is over, and what follows starts anew.
    let forgotten = eventually(Duration::from_secs(5), || {
        sweep_due(&mut c, "night").is_none().then_some(())
    })
    .await;
    assert!(
        forgotten.is_some(),
        "the sweep never forgot the board: due at {:?}",
        sweep_due(&mut c, "night")
    );
    // A worker that starts after the alarm rang for nobody, and whose start rings nothing.
    api.stop_worker().await;
    submit_accepted(&api, "night", &[("dee", 40), ("ann", 50)]).await;
    let rang_unheard = eventually(Duration::from_millis(RECLAIM_MS as u64 + 3_000), || {
        let due = sweep_due(&mut c, "night")?;
        let alarm: bool = redis::cmd("EXISTS")
            .arg(edge::schedule::ALARM)
            .query(&mut c)
            .unwrap();
        (due <= crate::api::now_secs() * 1000 && !alarm).then_some(())
    })
    .await;
    assert!(
        rang_unheard.is_some(),
        "the board's note never fell due with the alarm gone: {:?}",
        sweep_due(&mut c, "night")
    );
    api.start_worker_unrung().await;
    // A monitor's prober asks `/health/ready`, every 250 ms here: the first call that finds the
    // note past its time by the nudge's grace rings the worker.
    let bound = Duration::from_millis(edge::schedule::NUDGE_AFTER_MS as u64 + 5_000);
    let started = std::time::Instant::now();
    let mut probes = 0;
    while !inbox_empty(&api, "night", Duration::ZERO).await {
        assert!(
            started.elapsed() < bound,
            "{probes} readiness probes in {bound:?} never rang the worker for the board due at \
             {:?}",
            sweep_due(&mut c, "night")
        );
        let ready = api.get("/health/ready", None).await;
        assert_eq!(ready.status, 200, "{}", ready.body);
        probes += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let body = wait_total(&api, "night", 4).await;
    assert_eq!(rows(&body)[0], ("ann".to_string(), 1, json!(50)));
    assert_eq!(rows(&body)[1], ("dee".to_string(), 2, json!(40)));
    api.stop().await;
}
