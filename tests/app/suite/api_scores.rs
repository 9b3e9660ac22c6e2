//! Submissions and ranked reads: ties, around-me, paging, operators under concurrency,
//! idempotency, response shapes, and what lands in Redis.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::api::{Api, admin, player, rows, service, start};

async fn seed_ties(api: &Api) {
    api.create_board(json!({"id": "arena", "public_read": true}))
        .await;
    for (p, s) in [("ann", 50), ("bob", 70), ("cat", 50), ("dan", 10)] {
        api.submit_ok("arena", p, json!(s)).await;
        api.tick().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn competition_ranks_with_ties_and_listing_order() {
    let api = start().await;
    seed_ties(&api).await;
    let r = api.get("/api/v1/boards/arena/entries", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total"], 4);
    // 1,2,2,4; among the tie, the earlier achievement (ann) lists first.
    assert_eq!(
        rows(&r.body),
        vec![
            ("bob".into(), 1, json!(70)),
            ("ann".into(), 2, json!(50)),
            ("cat".into(), 2, json!(50)),
            ("dan".into(), 4, json!(10)),
        ]
    );
    // One player: rank, score, percentile, total.
    let r = api.get("/api/v1/boards/arena/players/cat", None).await;
    assert_eq!(
        (r.body["rank"].as_u64(), r.body["total"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(r.body["percentile"], json!(75.0));
    api.get("/api/v1/boards/arena/players/zed", None)
        .await
        .assert_problem(404, "zed");
    // Several players at once, with the missing ones named.
    let r = api
        .get("/api/v1/boards/arena/players?ids=dan,zed,bob", None)
        .await;
    assert_eq!(
        rows(&r.body),
        vec![("dan".into(), 4, json!(10)), ("bob".into(), 1, json!(70))]
    );
    assert_eq!(r.body["missing"], json!(["zed"]));

    // What is in Redis: the sorted set, the records, and one event per accepted submission.
    let mut c = api.redis.conn();
    let n: u64 = redis::cmd("ZCARD")
        .arg("lb:{default/arena}:z:all")
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 4);
    let rec: String = redis::cmd("HGET")
        .arg("lb:{default/arena}:r:all")
        .arg("bob")
        .query(&mut c)
        .unwrap();
    assert!(rec.contains("\"score\":70"), "{rec}");
    // The board's log: its creation, the period's start, then one event per accepted submission.
    let log: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg("lb:{default/arena}:events")
        .arg("-")
        .arg("+")
        .query(&mut c)
        .unwrap();
    let types: Vec<String> = log
        .iter()
        .map(|(_, fields)| {
            let event: serde_json::Value = serde_json::from_str(&fields[0].1).unwrap();
            event["type"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        types,
        ["board_created", "period_started"]
            .into_iter()
            .chain(["score_applied"; 4])
            .collect::<Vec<_>>()
    );
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn around_me_at_top_middle_and_bottom() {
    let api = start().await;
    api.create_board(json!({"id": "ladder", "public_read": true}))
        .await;
    for i in 1..=9 {
        api.submit_ok("ladder", &format!("p{i}"), json!(i * 10))
            .await;
    }
    let around = |p: &'static str| {
        let api = &api;
        async move {
            let r = api
                .get(
                    &format!("/api/v1/boards/ladder/players/{p}/around?radius=2"),
                    None,
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            rows(&r.body)
                .into_iter()
                .map(|(p, rank, _)| (p, rank))
                .collect::<Vec<_>>()
        }
    };
    let top = around("p9").await;
    assert_eq!(
        top,
        vec![("p9".into(), 1), ("p8".into(), 2), ("p7".into(), 3)]
    );
    let mid = around("p5").await;
    assert_eq!(
        mid,
        vec![
            ("p7".into(), 3),
            ("p6".into(), 4),
            ("p5".into(), 5),
            ("p4".into(), 6),
            ("p3".into(), 7)
        ]
    );
    let bottom = around("p1").await;
    assert_eq!(
        bottom,
        vec![("p3".into(), 7), ("p2".into(), 8), ("p1".into(), 9)]
    );
    api.get("/api/v1/boards/ladder/players/nobody/around", None)
        .await
        .assert_problem(404, "nobody");
    api.get("/api/v1/boards/ladder/players/p1/around?radius=500", None)
        .await
        .assert_problem(400, "radius");
    // What a request runs is the operation table's: around is read-only (405 with the path's
    // methods), and a player named like another route's last segment reads as a player.
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards/ladder/players/p1/around",
            Some(&admin()),
            None,
            &[],
        )
        .await;
    r.assert_problem(405, "POST is not allowed");
    assert_eq!(r.header("allow"), "GET");
    for name in ["stats", "entries"] {
        api.submit_ok("ladder", name, json!(5)).await;
        let r = api
            .get(&format!("/api/v1/boards/ladder/players/{name}"), None)
            .await;
        assert_eq!(r.status, 200, "{name}: {}", r.body);
        assert_eq!(r.body["rank"].as_u64(), Some(10), "{name}: {}", r.body);
    }
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cursor_paging_returns_each_entry_once_while_others_submit() {
    let api = start().await;
    api.create_board(
        json!({"id": "big", "public_read": true, "cache": {"ttl_secs": 0, "stale_secs": 0}}),
    )
    .await;
    // 1,000 players; scores repeat (ties across page boundaries).
    let mut seeds = Vec::new();
    for chunk in (0..1000).collect::<Vec<u32>>().chunks(125) {
        let chunk = chunk.to_vec();
        let http = api.app.http.clone();
        let url = api.app.url("/api/v1/boards/big/scores");
        let token = service();
        seeds.push(tokio::spawn(async move {
            for i in chunk {
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"player": format!("seed{i:04}"), "score": i % 97}))
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
            }
        }));
    }
    for s in seeds {
        s.await.unwrap();
    }
    // Other players keep submitting (new players and improving scores) while we page.
    let writer = {
        let http = api.app.http.clone();
        let url = api.app.url("/api/v1/boards/big/scores");
        let token = service();
        tokio::spawn(async move {
            for i in 0..150 {
                let _ = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"player": format!("live{}", i % 30), "score": i}))
                    .send()
                    .await;
            }
        })
    };
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    let mut last_rank = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/boards/big/entries?limit=37&cursor={c}"),
            None => "/api/v1/boards/big/entries?limit=37".to_string(),
        };
        let r = api.get(&path, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        for (p, rank, _) in rows(&r.body) {
            *seen.entry(p).or_default() += 1;
            assert!(
                rank >= last_rank || rank == 1,
                "ranks never go down within a walk"
            );
            last_rank = rank;
        }
        pages += 1;
        assert!(pages < 100, "paging terminates");
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    writer.await.unwrap();
    for i in 0..1000 {
        assert_eq!(
            seen.get(&format!("seed{i:04}")),
            Some(&1),
            "seed{i:04} exactly once"
        );
    }
    assert!(seen.values().all(|&n| n == 1), "no entry twice");

    // A cursor from another board is rejected.
    api.create_board(json!({"id": "other", "public_read": true}))
        .await;
    let r = api.get("/api/v1/boards/big/entries?limit=5", None).await;
    let c = r.body["next_cursor"].as_str().unwrap().to_string();
    api.get(&format!("/api/v1/boards/other/entries?cursor={c}"), None)
        .await
        .assert_problem(400, "cursor");
    api.stop().await;
}

async fn concurrent(api: &Api, board: &str, bodies: Vec<serde_json::Value>) {
    let mut tasks = Vec::new();
    for body in bodies {
        let http = api.app.http.clone();
        let url = api.app.url(&format!("/api/v1/boards/{board}/scores"));
        let token = service();
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().is_success());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_are_atomic_under_concurrency() {
    let api = start().await;
    api.create_board(json!({"id": "clicks", "operator": "incr", "public_read": true}))
        .await;
    concurrent(
        &api,
        "clicks",
        (0..50)
            .map(|_| json!({"player": "ann", "score": 3}))
            .collect(),
    )
    .await;
    let r = api.get("/api/v1/boards/clicks/players/ann", None).await;
    assert_eq!(r.body["score"], 150, "50 concurrent incr of 3 sum exactly");

    api.create_board(json!({"id": "best", "public_read": true}))
        .await;
    concurrent(
        &api,
        "best",
        (1..=40)
            .map(|i| json!({"player": "bob", "score": (i * 37) % 101}))
            .collect(),
    )
    .await;
    let max = (1..=40).map(|i| (i * 37) % 101).max().unwrap();
    let r = api.get("/api/v1/boards/best/players/bob", None).await;
    assert_eq!(r.body["score"], max, "best keeps the maximum");
    // A lower score later does not lower it, and says so.
    let r = api
        .submit("best", json!({"player": "bob", "score": 1}))
        .await;
    assert_eq!(r.body["improved"], false);
    assert_eq!(r.body["score"], max);
    assert_eq!(r.body["previous_score"], max);

    api.create_board(json!({"id": "lives", "operator": "decr", "score_min": 0, "score_max": 10}))
        .await;
    api.submit_ok("lives", "cat", json!(4)).await;
    let r = api.submit_ok("lives", "cat", json!(4)).await;
    assert_eq!(r.body["score"], 0, "decr floors at the minimum");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn submit_response_validation_and_authorization() {
    let api = start().await;
    api.create_board(
        json!({"id": "laps", "sort": "asc", "score_type": "decimal", "scale": 3,
        "score_min": 0, "score_max": 600000}),
    )
    .await;
    let r = api
        .submit(
            "laps",
            json!({"player": "ann", "score": "71.250", "metadata": {"car": "red"}}),
        )
        .await;
    assert_eq!(
        r.status, 201,
        "first submission creates the entry: {}",
        r.body
    );
    assert_eq!(r.body["score"], json!(71.25));
    assert_eq!(r.body["rank"], 1);
    assert_eq!(r.body["improved"], true);
    assert_eq!(r.body["previous_score"], json!(null));
    let r = api
        .submit("laps", json!({"player": "ann", "score": 70.5}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        (r.body["score"].clone(), r.body["previous_score"].clone()),
        (json!(70.5), json!(71.25))
    );

    api.submit("laps", json!({"player": "ann", "score": 1.2345}))
        .await
        .assert_problem(400, "fractional");
    api.submit("laps", json!({"player": "ann", "score": 700}))
        .await
        .assert_problem(422, "out of range");
    api.submit("laps", json!({"player": "ann", "score": 1, "bonus": 2}))
        .await
        .assert_problem(400, "unknown field");
    // Each detail says what is wrong once, names the field, and echoes what was sent.
    let details = [
        (
            r#"{"player":"ann"}"#,
            "invalid request body: missing field `score`",
        ),
        (
            r#"{"player":"ann","#,
            "invalid request body: the JSON ends before it is complete (line 1 column ",
        ),
        (
            r#"{"player":"ann"]"#,
            "invalid request body: the body is not valid JSON: expected `,` or `}`",
        ),
        (
            r#"{"player":"ann","score":99999999999999999999999}"#,
            "invalid score: the number is too large to be stored as a 64-bit score",
        ),
        (
            r#"{"player":"ann","score":"99999999999999999999999"}"#,
            "invalid score: 99999999999999999999999 is too large to be stored as a 64-bit score",
        ),
        (
            r#"{"player":"ann","score":1,"subscore":"x"}"#,
            "invalid request body: field 'subscore': invalid type",
        ),
    ];
    for (body, detail) in details {
        let r = api
            .call_text(Method::POST, "/api/v1/boards/laps/scores", &service(), body)
            .await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        let got = r.body["detail"].as_str().unwrap_or("");
        assert!(
            got.starts_with(detail),
            "{body}: {got:?} should start {detail:?}"
        );
    }
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards",
            Some(&admin()),
            Some(json!({"id": "asc-typo", "sort": "ascending"})),
            &[],
        )
        .await;
    r.assert_problem(
        400,
        "invalid request body: field 'sort': unknown variant `ascending`, expected `desc` or `asc`",
    );
    api.submit("laps", json!({"player": "a b", "score": 1}))
        .await
        .assert_problem(400, "player id");
    api.submit("nope", json!({"player": "ann", "score": 1}))
        .await
        .assert_problem(404, "nope");

    // v2: decimal scores as exact strings.
    let r = api.get("/api/v2/boards/laps/entries", Some(&admin())).await;
    assert_eq!(r.body["data"][0]["score"], "70.500");
    assert_eq!(r.body["page"]["total"], 1);
    let r = api
        .call(
            Method::GET,
            "/api/v1/boards/laps/players/ann",
            Some(&admin()),
            None,
            &[("accept", "application/vnd.leaderboard.v2+json")],
        )
        .await;
    assert_eq!(
        r.header("content-type"),
        "application/vnd.leaderboard.v2+json"
    );
    assert_eq!(r.body["score"], "70.500");

    // A player may submit only for itself.
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards/laps/scores",
            Some(&player("bob")),
            Some(json!({"player": "ann", "score": 1})),
            &[],
        )
        .await;
    r.assert_problem(403, "own subject");
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards/laps/scores",
            Some(&player("bob")),
            Some(json!({"player": "bob", "score": 80})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn idempotent_retry_returns_the_first_response_and_applies_once() {
    let api = start().await;
    api.create_board(json!({"id": "clicks", "operator": "incr"}))
        .await;
    let send = |key: &'static str, score: i64| {
        let api = &api;
        async move {
            api.call(
                Method::POST,
                "/api/v1/boards/clicks/scores",
                Some(&service()),
                Some(json!({"player": "ann", "score": score})),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    let first = send("order-1", 5).await;
    assert_eq!(first.status, 201);
    let retry = send("order-1", 5).await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.header("idempotent-replayed"), "true");
    assert_eq!(retry.body, first.body, "the first response, byte for byte");
    let other = send("order-2", 5).await;
    assert_eq!(other.body["score"], 10, "applied exactly once per key");
    let r = send("order-1", 6).await;
    r.assert_problem(422, "different request");
    assert_eq!(
        r.body["type"],
        "https://leaderboard.dev/problems/idempotency-mismatch"
    );
    // The same key on another API version is another request, not a replay in the wrong shape.
    let v2 = api
        .call(
            Method::POST,
            "/api/v2/boards/clicks/scores",
            Some(&service()),
            Some(json!({"player": "ann", "score": 5})),
            &[("idempotency-key", "order-1")],
        )
        .await;
    v2.assert_problem(422, "different request");

    // Deleting the board forgets its keys: a new board with the same id applies again.
    let r = api
        .call(
            Method::DELETE,
            "/api/v1/boards/clicks",
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204);
    api.create_board(json!({"id": "clicks", "operator": "incr"}))
        .await;
    let again = send("order-1", 5).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), "");
    assert_eq!(again.body["score"], 5);
    api.stop().await;
}

/// Exact under failure: a reservation left by an attempt that died blocks retries only for its
/// short lease (409 with Retry-After, never for a submission that was applied), then the retry
/// applies once; a refused submission frees its key; an async acceptance replays too.
#[tokio::test(flavor = "multi_thread")]
async fn idempotency_keys_recover_from_a_dead_attempt_and_replay_every_outcome() {
    let api = start().await;
    api.create_board(json!({"id": "laps", "score_max": 100}))
        .await;
    let submit = |key: &'static str, body: serde_json::Value| {
        let api = &api;
        async move {
            api.call(
                Method::POST,
                "/api/v1/boards/laps/scores",
                Some(&service()),
                Some(body),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    // An attempt reserved "dead-1" and died before writing (its lease: 1.5 s here).
    let body = json!({"player": "ann", "score": 7});
    let fp = leaderboard::events::idempotency::fingerprint(
        leaderboard::board::view::ApiVersion::V1,
        &leaderboard::PlayerId::new("ann").unwrap(),
        body.to_string().as_bytes(),
    );
    let mut c = api.redis.conn();
    let _: () = redis::cmd("SET")
        .arg("lb:{default/laps}:idem:dead-1")
        .arg(leaderboard::events::idempotency::pending(
            &fp,
            "dead-attempt",
        ))
        .arg("PX")
        .arg(1500)
        .query(&mut c)
        .unwrap();
    let busy = submit("dead-1", body.clone()).await;
    busy.assert_problem(409, "retry");
    assert_eq!(busy.header("retry-after"), "1");
    assert_eq!(
        busy.body["type"],
        "https://leaderboard.dev/problems/idempotency-in-progress"
    );
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    let applied = submit("dead-1", body.clone()).await;
    assert_eq!(applied.status, 201, "{}", applied.body);
    let replay = submit("dead-1", body.clone()).await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.header("idempotent-replayed"), "true");
    assert_eq!(replay.body, applied.body);
    let entries: u64 = redis::cmd("ZCARD")
        .arg("lb:{default/laps}:z:all")
        .query(&mut c)
        .unwrap();
    assert_eq!(entries, 1, "applied once");

    // A refused submission applies nothing and frees its key for a corrected retry.
    submit("fix-1", json!({"player": "bob", "score": 500}))
        .await
        .assert_problem(422, "out of range");
    let fixed = submit("fix-1", json!({"player": "bob", "score": 50})).await;
    assert_eq!(fixed.status, 201, "{}", fixed.body);
    assert_eq!(fixed.body["rank"], 1);

    // Async boards: the 202 is replayed with its stream id, and the event is queued once.
    api.create_board(json!({"id": "bulk", "write_mode": "async"}))
        .await;
    let token = service();
    let send_async = || {
        api.call(
            Method::POST,
            "/api/v1/boards/bulk/scores",
            Some(&token),
            Some(json!({"player": "ann", "score": 3})),
            &[("idempotency-key", "async-1")],
        )
    };
    let accepted = send_async().await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let again = send_async().await;
    assert_eq!(again.status, 202);
    assert_eq!(again.header("idempotent-replayed"), "true");
    assert_eq!(again.body, accepted.body);
    let queued: u64 = redis::cmd("XLEN")
        .arg("lb:{default/bulk}:inbox")
        .query(&mut c)
        .unwrap();
    assert_eq!(queued, 1, "accepted once");
    api.stop().await;
}
