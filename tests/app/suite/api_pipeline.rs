//! The event pipeline: Redis ingest (durable inbox form and fire-and-forget channel) through the
//! trigger, dead letters (list, redrive, purge), the HTTP drain for lost doorbells and hosts
//! without a Redis trigger, and the board's log.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, admin, player, rows, service, start, start_with_worker};
use harness::eventually;

/// `XADD lb:{default/<board>}:inbox * <fields>` as a trusted backend does; the entry id.
pub fn xadd(api: &Api, board: &str, fields: &[(&str, &str)]) -> String {
    let mut cmd = redis::cmd("XADD");
    cmd.arg(format!("lb:{{default/{board}}}:inbox")).arg("*");
    for (k, v) in fields {
        cmd.arg(*k).arg(*v);
    }
    cmd.query(&mut api.redis.conn()).unwrap()
}

pub fn publish(api: &Api, channel: &str, payload: &str) {
    let _: i64 = redis::cmd("PUBLISH")
        .arg(channel)
        .arg(payload)
        .query(&mut api.redis.conn())
        .unwrap();
}

fn xlen(api: &Api, key: &str) -> u64 {
    redis::cmd("XLEN")
        .arg(key)
        .query(&mut api.redis.conn())
        .unwrap_or(0)
}

async fn page(api: &Api, board: &str) -> Value {
    api.get(&format!("/api/v1/boards/{board}/entries?limit=100"), None)
        .await
        .body
}

/// Waits until the board lists `total` entries.
async fn wait_total(api: &Api, board: &str, total: u64) -> Value {
    for _ in 0..400 {
        let body = page(api, board).await;
        if body["total"] == total {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{board} never reached {total}: {}", page(api, board).await);
}

async fn wait_len(api: &Api, key: &str, n: u64) {
    let ok = eventually(Duration::from_secs(10), || {
        (xlen(api, key) == n).then_some(())
    })
    .await;
    assert!(
        ok.is_some(),
        "{key} has {} entries, expected {n}",
        xlen(api, key)
    );
}

fn async_board(id: &str) -> Value {
    json!({"id": id, "operator": "incr", "score_max": 100, "write_mode": "async",
        "public_read": true, "cache": {"ttl_secs": 0, "stale_secs": 0}})
}

async fn dead_letters(api: &Api, board: &str) -> Vec<Value> {
    let r = api
        .get(
            &format!("/api/v1/boards/{board}/dead-letters"),
            Some(&admin()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["dead_letters"].as_array().unwrap().clone()
}

async fn post(api: &Api, path: &str, token: &str, body: Option<Value>) -> crate::api::Reply {
    api.call(Method::POST, path, Some(token), body, &[]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn poison_entries_go_to_dead_letters_without_blocking_and_redrive_applies_them_once() {
    let api = start_with_worker().await;
    api.create_board(async_board("cup")).await;
    // The durable ingest form: append to the inbox, then ring the doorbell.
    xadd(&api, "cup", &[("player", "ann"), ("score", "5")]);
    xadd(&api, "cup", &[("player", "bob"), ("score", "abc")]);
    xadd(&api, "cup", &[("player", "cat"), ("score", "500")]);
    xadd(
        &api,
        "cup",
        &[("player", "dan"), ("score", "1"), ("level", "3")],
    );
    xadd(&api, "cup", &[("player", "eve"), ("score", "7")]);
    publish(&api, "lb:doorbell", "default/cup");
    let body = wait_total(&api, "cup", 2).await;
    assert_eq!(
        rows(&body),
        [("eve".into(), 1, json!(7)), ("ann".into(), 2, json!(5))]
    );
    wait_len(&api, "lb:{default/cup}:dead", 3).await;
    let dead = dead_letters(&api, "cup").await;
    let reasons: Vec<&str> = dead.iter().map(|d| d["reason"].as_str().unwrap()).collect();
    assert!(reasons[0].contains("score"), "{reasons:?}");
    assert!(reasons[1].contains("range"), "{reasons:?}");
    assert!(
        reasons[2].contains("unknown inbox field 'level'"),
        "{reasons:?}"
    );
    assert_eq!(dead[0]["deliveries"], 1);
    assert_eq!(dead[0]["entry"], json!({"player": "bob", "score": "abc"}));
    assert_eq!(
        xlen(&api, "lb:{default/cup}:inbox"),
        0,
        "nothing left pending"
    );

    // An entry for a board that does not exist yet: dead-lettered, then applied once the board
    // exists and the letter is redriven; a second redrive finds nothing.
    xadd(&api, "later", &[("player", "zoe"), ("score", "9")]);
    publish(&api, "lb:doorbell", "default/later");
    wait_len(&api, "lb:{default/later}:dead", 1).await;
    let dead = dead_letters(&api, "later").await;
    assert!(
        dead[0]["reason"]
            .as_str()
            .unwrap()
            .contains("does not exist")
    );
    api.create_board(async_board("later")).await;
    let r = post(
        &api,
        "/api/v1/boards/later/dead-letters/redrive",
        &admin(),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"redriven": 1, "more": false}));
    let body = wait_total(&api, "later", 1).await;
    assert_eq!(rows(&body), [("zoe".into(), 1, json!(9))]);
    let r = post(
        &api,
        "/api/v1/boards/later/dead-letters/redrive",
        &admin(),
        None,
    )
    .await;
    assert_eq!(r.body["redriven"], 0);
    // Still applied once, with its original acceptance time as the achievement time.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let zoe = api.get("/api/v1/boards/later/players/zoe", None).await;
    assert_eq!(zoe.body["score"], 9, "{}", zoe.body);

    // Redrive of one letter by id: still bad, so it comes back with the new delivery count 1.
    let id = dead_letters(&api, "cup").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = post(
        &api,
        "/api/v1/boards/cup/dead-letters/redrive",
        &admin(),
        Some(json!({"ids": [id]})),
    )
    .await;
    assert_eq!(r.body["redriven"], 1, "{}", r.body);
    wait_len(&api, "lb:{default/cup}:inbox", 0).await;
    wait_len(&api, "lb:{default/cup}:dead", 3).await;
    // Purge one, then the rest; only admins manage dead letters.
    api.call(
        Method::DELETE,
        "/api/v1/boards/cup/dead-letters",
        Some(&service()),
        None,
        &[],
    )
    .await
    .assert_problem(403, "admin");
    let first = dead_letters(&api, "cup").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/v1/boards/cup/dead-letters?ids={first}"),
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.body, json!({"purged": 1, "more": true}), "{}", r.body);
    let r = api
        .call(
            Method::DELETE,
            "/api/v1/boards/cup/dead-letters",
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.body, json!({"purged": 2, "more": false}), "{}", r.body);
    assert_eq!(page(&api, "cup").await["total"], 2);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_doorbell_is_caught_up_by_the_http_drain_and_by_the_next_doorbell() {
    let api = start_with_worker().await;
    api.create_board(async_board("quiet")).await;
    // Appended without a doorbell: nothing happens on its own.
    for p in ["a", "b", "c"] {
        xadd(&api, "quiet", &[("player", p), ("score", "1")]);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(page(&api, "quiet").await["total"], 0);
    // The HTTP drain: service or admin only.
    post(&api, "/api/v1/admin/drain", &player("a"), None)
        .await
        .assert_problem(403, "service");
    api.call(Method::POST, "/api/v1/admin/drain", None, None, &[])
        .await
        .assert_problem(401, "bearer");
    let r = post(&api, "/api/v1/admin/drain", &service(), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["applied"], 3, "{}", r.body);
    assert_eq!(r.body["more"], false);
    assert_eq!(
        r.body["boards"],
        json!([{"board": "quiet", "applied": 3, "duplicates": 0,
        "dead_lettered": 0, "pending": 0, "more": false}])
    );
    assert_eq!(page(&api, "quiet").await["total"], 3);

    // Lost again; the next doorbell (an HTTP async submission rings one) drains everything.
    for p in ["d", "e"] {
        xadd(&api, "quiet", &[("player", p), ("score", "1")]);
    }
    let r = api
        .submit("quiet", json!({"player": "f", "score": 1}))
        .await;
    assert_eq!(r.status, 202);
    wait_total(&api, "quiet", 6).await;
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_trigger_the_http_drain_applies_async_boards_in_bounded_calls() {
    let api = start().await;
    api.create_board(async_board("cron")).await;
    for i in 0..5 {
        let r = api
            .submit("cron", json!({"player": format!("p{i}"), "score": i + 1}))
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
    assert_eq!(page(&api, "cron").await["total"], 0, "no trigger runs here");
    let r = post(
        &api,
        "/api/v1/admin/drain?board=cron&max_events=2",
        &admin(),
        None,
    )
    .await;
    assert_eq!(
        (r.body["applied"].clone(), r.body["more"].clone()),
        (json!(2), json!(true))
    );
    assert_eq!(r.body["pending"], 3);
    let r = post(&api, "/api/v1/admin/drain", &admin(), None).await;
    assert_eq!(
        (r.body["applied"].clone(), r.body["more"].clone()),
        (json!(3), json!(false))
    );
    let body = page(&api, "cron").await;
    assert_eq!(body["total"], 5);
    assert_eq!(rows(&body)[0], ("p4".into(), 1, json!(5)));
    let r = post(&api, "/api/v1/admin/drain", &admin(), None).await;
    assert_eq!(r.body["applied"], 0);
    post(&api, "/api/v1/admin/drain?max_events=0", &admin(), None)
        .await
        .assert_problem(400, "max_events");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fire_and_forget_ingest_is_validated_deduplicated_and_never_silently_dropped() {
    let api = start_with_worker().await;
    api.create_board(
        json!({"id": "laps", "sort": "asc", "score_type": "decimal", "scale": 2,
        "public_read": true, "cache": {"ttl_secs": 0, "stale_secs": 0}}),
    )
    .await;
    let msg = |player: &str, score: Value, key: &str| {
        json!({"board": "laps", "player": player, "score": score, "metadata": {"car": "red"},
            "idempotency_key": key})
        .to_string()
    };
    publish(&api, "lb:ingest", &msg("ann", json!(61.25), "k1"));
    publish(&api, "lb:ingest", &msg("ann", json!(10), "k1"));
    publish(&api, "lb:ingest", &msg("bob", json!("59.5"), "k2"));
    let body = wait_total(&api, "laps", 2).await;
    assert_eq!(
        rows(&body),
        [
            ("bob".into(), 1, json!(59.5)),
            ("ann".into(), 2, json!(61.25))
        ],
        "the resend of k1 is not applied"
    );
    let ann = api.get("/api/v1/boards/laps/players/ann", None).await;
    assert_eq!(ann.body["metadata"], json!({"car": "red"}), "{}", ann.body);
    // Bad messages are kept with the reason: no board named → the ingest dead letters; a bad
    // submission → the board's own.
    publish(&api, "lb:ingest", "{not json");
    publish(
        &api,
        "lb:ingest",
        &json!({"player": "x", "score": 1}).to_string(),
    );
    publish(&api, "lb:ingest", &msg("cat", json!("fast"), "k3"));
    wait_len(&api, "lb:ingest:dead", 2).await;
    wait_len(&api, "lb:{default/laps}:dead", 1).await;
    let dead = dead_letters(&api, "laps").await;
    assert_eq!(dead[0]["entry"]["player"], "cat");
    let reasons: Vec<(String, String)> = redis::cmd("XRANGE")
        .arg("lb:ingest:dead")
        .arg("-")
        .arg("+")
        .query::<Vec<(String, Vec<(String, String)>)>>(&mut api.redis.conn())
        .unwrap()
        .into_iter()
        .map(|(_, f)| (f[0].1.clone(), f[1].1.clone()))
        .collect();
    assert_eq!(reasons[0].0, "{not json");
    assert!(reasons[0].1.contains("not a JSON object"), "{reasons:?}");
    assert!(reasons[1].1.contains("no 'board'"), "{reasons:?}");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_log_pages_every_change_in_order_upcast_to_the_current_schema() {
    let api = start().await;
    api.create_board(json!({"id": "log", "public_read": true}))
        .await;
    api.submit_ok("log", "ann", json!(10)).await;
    api.submit_ok("log", "bob", json!(20)).await;
    let r = api
        .call(
            Method::DELETE,
            "/api/v1/boards/log/players/ann",
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    // An event written by an older version of the service (score_submitted v1).
    let v1 = json!({"type": "score_submitted", "version": 1, "id": "old", "tenant": "default",
        "board": "log", "at_ms": 1, "data": {"player": "cat", "score": 3}});
    let _: String = redis::cmd("XADD")
        .arg("lb:{default/log}:events")
        .arg("*")
        .arg("event")
        .arg(v1.to_string())
        .query(&mut api.redis.conn())
        .unwrap();

    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let r = api
            .get(
                &format!("/api/v1/boards/log/events?limit=2&after={after}"),
                Some(&service()),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let events = r.body["events"].as_array().unwrap().clone();
        seen.extend(events);
        match r.body["next_after"].as_str() {
            Some(next) => after = next.to_string(),
            None => break,
        }
    }
    let types: Vec<&str> = seen.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "board_created",
            "period_started",
            "score_applied",
            "score_applied",
            "record_deleted",
            "score_submitted"
        ]
    );
    assert_eq!(seen[0]["data"]["board"]["id"], "log");
    assert_eq!(seen[2]["data"]["record"]["score"], 10);
    let upcast = &seen[5];
    assert_eq!(
        (
            upcast["version"].clone(),
            upcast["data"]["subscore"].clone()
        ),
        (json!(2), Value::Null)
    );
    let ids: Vec<&str> = seen
        .iter()
        .map(|e| e["stream_id"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_by_key(|id| {
        let (ms, seq) = id.split_once('-').unwrap();
        (ms.parse::<u64>().unwrap(), seq.parse::<u64>().unwrap())
    });
    assert_eq!(ids, sorted, "in log order");

    // v2: the position is the event's `id` (what `after` takes), its own id is `source_id`.
    let r = api.get("/api/v2/boards/log/events", Some(&service())).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v2 = r.body["events"].as_array().unwrap().clone();
    let v2_ids: Vec<&str> = v2.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(v2_ids, ids);
    for (v1, v2) in seen.iter().zip(&v2) {
        assert_eq!(v2["source_id"], v1["id"]);
        assert!(v2.get("stream_id").is_none(), "{v2}");
    }
    let r = api
        .get(
            &format!("/api/v2/boards/log/events?after={}", v2_ids[3]),
            Some(&service()),
        )
        .await;
    let after: Vec<&str> = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(after, &v2_ids[4..]);

    api.get("/api/v1/boards/log/events", Some(&player("ann")))
        .await
        .assert_problem(403, "service");
    api.get(
        "/api/v1/boards/log/events?after=yesterday",
        Some(&service()),
    )
    .await
    .assert_problem(400, "event id");
    api.get("/api/v1/boards/nope/events", Some(&service()))
        .await
        .assert_problem(404, "nope");
    api.stop().await;
}
