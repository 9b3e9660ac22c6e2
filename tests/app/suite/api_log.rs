//! The log as a source of truth: replay (from the board's creation, and from a snapshot after the
//! log was trimmed), time travel (`as_of`), and the audit log.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, admin, rows, service, start};

/// The sorted set and records of a board's `all` period, straight from Redis.
type Dump = (Vec<(String, f64)>, BTreeMap<String, String>);

fn dump(api: &Api, board: &str) -> Dump {
    let mut c = api.redis.conn();
    let z: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg(format!("lb:{{default/{board}}}:z:all"))
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut c)
        .unwrap();
    let r: BTreeMap<String, String> = redis::cmd("HGETALL")
        .arg(format!("lb:{{default/{board}}}:r:all"))
        .query(&mut c)
        .unwrap();
    (z, r)
}

/// Appends `n` ingest entries (player `q{i % players}`, score `i % 50 + 1`) to a board's inbox.
fn fill(api: &Api, board: &str, n: u64, players: u64) {
    let mut c = api.redis.conn();
    let mut i = 0;
    while i < n {
        let mut pipe = redis::pipe();
        for k in i..n.min(i + 5000) {
            pipe.cmd("XADD")
                .arg(format!("lb:{{default/{board}}}:inbox"))
                .arg("*")
                .arg("player")
                .arg(format!("q{:05}", k % players))
                .arg("score")
                .arg(k % 50 + 1)
                .ignore();
        }
        pipe.exec(&mut c).unwrap();
        i += 5000;
    }
}

async fn replay(api: &Api, board: &str) -> Value {
    let r = api
        .call(
            Method::POST,
            &format!("/api/v1/boards/{board}/replay"),
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn xlen(api: &Api, key: &str) -> u64 {
    redis::cmd("XLEN")
        .arg(key)
        .query(&mut api.redis.conn())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_of_100k_events_reproduces_the_board_exactly_and_repairs_a_damaged_one() {
    let api = start().await;
    // No snapshot in this test: the replay starts at the board's creation.
    api.create_board(
        json!({"id": "long", "operator": "incr", "public_read": true,
        "log": {"snapshot_every": 10000000}}),
    )
    .await;
    fill(&api, "long", 100_000, 5_000);
    assert_eq!(api.drain_all("long").await, 100_000);
    for p in ["q00007", "q04999"] {
        let r = api
            .call(
                Method::DELETE,
                &format!("/api/v1/boards/long/players/{p}"),
                Some(&admin()),
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }
    let live = dump(&api, "long");
    assert_eq!(live.0.len(), 4_998);
    let log_len = xlen(&api, "lb:{default/long}:events");
    assert!(log_len >= 100_003, "{log_len}");

    let report = replay(&api, "long").await;
    assert_eq!(report["from_snapshot"], Value::Null);
    assert_eq!(report["events"], log_len);
    assert_eq!(report["differences"], 0, "{report}");
    assert_eq!(report["swapped"], true);
    assert_eq!(
        report["periods"],
        json!([{"period": "all", "live": 4998, "replayed": 4998, "differences": 0,
            "examples": []}])
    );
    assert_eq!(
        dump(&api, "long"),
        live,
        "member by member, record by record"
    );

    // Damage the live projection: a record rewritten behind the log's back, an entry gone, a
    // member that should not be there. The replay names them and puts the board back.
    let mut c = api.redis.conn();
    let (z, r) = ("lb:{default/long}:z:all", "lb:{default/long}:r:all");
    let _: () = redis::cmd("HSET")
        .arg(r)
        .arg("q00100")
        .arg("{\"score\":1}")
        .query(&mut c)
        .unwrap();
    let victim = live.0[10].0.clone();
    let _: () = redis::cmd("ZREM")
        .arg(z)
        .arg(&victim)
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("ZADD")
        .arg(z)
        .arg(5)
        .arg("0000000000001ghost")
        .query(&mut c)
        .unwrap();
    let report = replay(&api, "long").await;
    assert_eq!(report["differences"], 3, "{report}");
    let examples = report["periods"][0]["examples"].to_string();
    for p in ["q00100", &victim[13..], "ghost"] {
        assert!(examples.contains(p), "{p} in {examples}");
    }
    assert_eq!(dump(&api, "long"), live, "repaired");
    let top = api.get("/api/v1/boards/long/entries?limit=3", None).await;
    assert_eq!(top.status, 200);
    assert_eq!(rows(&top.body).len(), 3);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn after_the_log_is_trimmed_replay_starts_from_a_snapshot_and_still_matches() {
    let api = start().await;
    api.create_board(
        json!({"id": "trim", "operator": "incr", "public_read": true,
        "log": {"snapshot_every": 20000, "keep_snapshots": 1}}),
    )
    .await;
    fill(&api, "trim", 100_000, 3_000);
    assert_eq!(api.drain_all("trim").await, 100_000);
    let live = dump(&api, "trim");
    let mut c = api.redis.conn();
    let snapshots: Vec<String> = redis::cmd("ZRANGE")
        .arg("lb:{default/trim}:snapshots")
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .unwrap();
    assert_eq!(snapshots.len(), 1, "keep_snapshots: 1");
    let log_len = xlen(&api, "lb:{default/trim}:events");
    assert!(
        log_len < 100_000,
        "the log was trimmed behind the snapshot: {log_len}"
    );
    let first: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg("lb:{default/trim}:events")
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query(&mut c)
        .unwrap();
    assert_eq!(
        first[0].0, snapshots[0],
        "trimmed up to the snapshot's event"
    );

    let report = replay(&api, "trim").await;
    assert_eq!(report["from_snapshot"], snapshots[0].as_str());
    assert_eq!(report["events"], log_len - 1, "the tail after the snapshot");
    assert_eq!(report["differences"], 0, "{report}");
    assert_eq!(dump(&api, "trim"), live);
    api.stop().await;
}

/// Competition ranks of an independently kept table (higher is better), as (player, rank, score).
fn expected_ranks(table: &BTreeMap<String, i64>) -> Vec<(String, u64, i64)> {
    let mut v: Vec<(String, i64)> = table.iter().map(|(p, s)| (p.clone(), *s)).collect();
    v.sort_by_key(|e| std::cmp::Reverse(e.1));
    v.iter()
        .map(|(p, s)| {
            let better = v.iter().filter(|(_, o)| o > s).count() as u64;
            (p.clone(), better + 1, *s)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn as_of_answers_as_the_board_stood_then_from_snapshot_and_log() {
    let api = start().await;
    api.create_board(json!({"id": "tt", "operator": "incr", "public_read": true,
        "log": {"snapshot_every": 100, "keep_snapshots": 2}}))
        .await;
    let created_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // 450 entries in 5 drains: snapshots after the drains pass 100, 200, … events; two kept.
    let mut table: BTreeMap<String, i64> = BTreeMap::new();
    let mut moments: Vec<(String, BTreeMap<String, i64>)> = Vec::new();
    let mut k = 0u64;
    for _ in 0..5 {
        fill(&api, "tt", 90, 7);
        api.drain_all("tt").await;
        // The log's score_applied events, in order, are the entries in order.
        let log: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
            .arg("lb:{default/tt}:events")
            .arg(
                moments
                    .last()
                    .map_or("-".to_string(), |(id, _)| format!("({id}")),
            )
            .arg("+")
            .query(&mut api.redis.conn())
            .unwrap();
        for (id, fields) in log {
            let event: Value = serde_json::from_str(&fields[0].1).unwrap();
            if event["type"] == "score_applied" {
                *table.entry(format!("q{:05}", k % 7)).or_default() += (k % 50 + 1) as i64;
                k = (k + 1) % 90;
                moments.push((id, table.clone()));
            }
        }
    }
    assert_eq!(moments.len(), 450);
    let snapshots: Vec<String> = redis::cmd("ZRANGE")
        .arg("lb:{default/tt}:snapshots")
        .arg(0)
        .arg(-1)
        .query(&mut api.redis.conn())
        .unwrap();
    assert_eq!(snapshots.len(), 2, "{snapshots:?}");
    let live_before = dump(&api, "tt");

    // Moments after the oldest snapshot: from a snapshot plus the log's tail.
    for i in [200, 260, 333, 449] {
        let (id, table) = &moments[i];
        assert!(
            crate::api_log::newer_or_same(id, &snapshots[0]),
            "moment {i} is kept"
        );
        let r = api
            .get(
                &format!("/api/v1/boards/tt/entries?limit=100&as_of={id}"),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let got: Vec<(String, u64, i64)> = rows(&r.body)
            .into_iter()
            .map(|(p, rank, s)| (p, rank, s.as_i64().unwrap()))
            .collect();
        let mut want = expected_ranks(table);
        // Ties list the earliest achievement first; compare as sets of (player, rank, score).
        let mut got_sorted = got.clone();
        got_sorted.sort();
        want.sort();
        assert_eq!(got_sorted, want, "as_of {id} (moment {i})");
        let p = api
            .get(
                &format!("/api/v1/boards/tt/players/q00003?as_of={id}"),
                None,
            )
            .await;
        assert_eq!(p.body["score"], table["q00003"], "{}", p.body);
        let around = api
            .get(
                &format!("/api/v1/boards/tt/players/q00003/around?radius=1&as_of={id}"),
                None,
            )
            .await;
        assert_eq!(around.status, 200, "{}", around.body);
    }
    // A time works too: just after the last moment is the board as it is now.
    let now = chrono_like_rfc3339(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    let r = api
        .get(
            &format!("/api/v1/boards/tt/entries?limit=100&as_of={now}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total"], 7);

    // Before the oldest snapshot the log is trimmed; before the board existed it had nothing.
    let r = api
        .get(
            &format!("/api/v1/boards/tt/entries?as_of={}", moments[10].0),
            None,
        )
        .await;
    r.assert_problem(404, "no longer reach back");
    let r = api
        .get(
            &format!(
                "/api/v1/boards/tt/entries?as_of={}",
                chrono_like_rfc3339(created_ms - 60_000)
            ),
            None,
        )
        .await;
    r.assert_problem(404, "no longer reach back");
    api.get("/api/v1/boards/tt/entries?as_of=yesterday", None)
        .await
        .assert_problem(400, "as_of");
    assert_eq!(
        dump(&api, "tt"),
        live_before,
        "time travel never touches the live board"
    );
    api.stop().await;
}

/// Whether stream id `a` is at or after `b`.
pub fn newer_or_same(a: &str, b: &str) -> bool {
    let parse = |id: &str| {
        let (ms, seq) = id.split_once('-').unwrap();
        (ms.parse::<u64>().unwrap(), seq.parse::<u64>().unwrap())
    };
    parse(a) >= parse(b)
}

/// Unix ms as an RFC 3339 UTC time with milliseconds.
fn chrono_like_rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_actions_are_in_the_tenant_audit_log() {
    let api = start().await;
    let headers = [("x-request-id", "req-create-1")];
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards",
            Some(&admin()),
            Some(json!({"id": "au", "public_read": true})),
            &headers,
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("x-request-id"), "req-create-1");
    api.submit_ok("au", "ann", json!(3)).await;
    let r = api
        .call(
            Method::DELETE,
            "/api/v1/boards/au/players/ann",
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204);
    assert!(!r.header("x-request-id").is_empty(), "a generated id");
    replay(&api, "au").await;
    let r = api
        .call(
            Method::DELETE,
            "/api/v1/boards/au",
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204);

    api.get("/api/v1/audit", Some(&service()))
        .await
        .assert_problem(403, "admin");
    let r = api.get("/api/v1/audit?limit=10", Some(&admin())).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let entries = r.body["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "board.create",
            "entry.delete",
            "board.replay",
            "board.delete"
        ]
    );
    let first = &entries[0];
    assert_eq!(first["actor"], "ops");
    assert_eq!(first["roles"], json!(["admin"]));
    assert_eq!(first["target"], "au");
    assert_eq!(first["request_id"], "req-create-1");
    assert!(
        first["client_addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1"),
        "{first}"
    );
    assert_eq!(first["detail"]["config"]["id"], "au");
    assert_eq!(
        entries[1]["detail"],
        json!({"player": "ann", "period": "all"})
    );
    assert!(entries.iter().all(|e| e["at_ms"].as_i64().unwrap() > 0));
    api.stop().await;
}
