//! The host calls each hot route makes (the access log's `host_calls`), on the shipped
//! configuration: what a request costs beyond its own computation. The table in
//! docs/benchmarks.md ("What a request costs") lists the same counts; a change that adds a call
//! to a hot route fails here.

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{service, start};

/// The steady-state `host_calls` for `method` and `path`: the cheapest of the last three
/// access-log lines. The regional copies of the tenant's settings, its flag document and the
/// board's config stay fresh for 5 s, so on a slow machine one of the warm requests may be the
/// one that refreshes them (more KV reads and writes); that refresh is not what a hot request
/// costs, and at most one of three consecutive requests makes it.
fn host_calls(api: &crate::api::Api, method: &str, path: &str) -> Value {
    let total = |v: &Value| {
        v.as_object()
            .map_or(u64::MAX, |o| o.values().filter_map(Value::as_u64).sum())
    };
    api.access_log()
        .into_iter()
        .rev()
        .filter(|v| v["method"] == method && v["path"] == path)
        .take(3)
        .map(|v| v["host_calls"].clone())
        .min_by_key(total)
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread")]
async fn hot_routes_make_only_the_host_calls_they_need() {
    let api = start().await;
    api.create_board(
        json!({"id": "cached", "public_read": true, "cache": {"ttl_secs": 3600, "stale_secs": 60}}),
    )
    .await;
    api.create_board(
        json!({"id": "live", "public_read": true, "cache": {"ttl_secs": 0, "stale_secs": 0}}),
    )
    .await;
    for (i, p) in ["ann", "bob", "cid", "dan"].iter().enumerate() {
        api.submit_ok("cached", p, json!(10 * i)).await;
        api.submit_ok("live", p, json!(10 * i)).await;
    }
    let routes = [
        ("cached top-10", "/api/v1/boards/cached/entries?limit=10"),
        ("uncached top-10", "/api/v1/boards/live/entries?limit=10"),
        ("player rank", "/api/v1/boards/live/players/bob"),
        (
            "around-me",
            "/api/v1/boards/live/players/bob/around?radius=5",
        ),
    ];
    let mut table = Vec::new();
    for (name, url) in routes {
        // Warm: the board's config and the tenant's settings in the regional copy, a cached page.
        for _ in 0..3 {
            let r = api.get(url, None).await;
            assert_eq!(r.status, 200, "{name}: {}", r.body);
        }
        let path = url.split('?').next().unwrap_or(url);
        table.push((name, host_calls(&api, "GET", path)));
    }
    api.create_board(json!({"id": "ladder", "period": "daily", "cohort_size": 10,
        "league": {"tiers": ["bronze", "gold"], "promote": 1, "demote": 1}}))
        .await;
    let token = service();
    for (name, board) in [
        ("sync submit", "live"),
        ("sync submit, cached", "cached"),
        ("league submit", "ladder"),
    ] {
        let path = format!("/api/v1/boards/{board}/scores");
        for i in 0..3 {
            let r = api
                .call(
                    Method::POST,
                    &path,
                    Some(&token),
                    Some(json!({"player": "eve", "score": 100 + i})),
                    &[],
                )
                .await;
            assert!(r.status == 200 || r.status == 201, "{}", r.body);
        }
        table.push((name, host_calls(&api, "POST", &path)));
    }
    let path = "/api/v1/boards/ladder/league";
    for _ in 0..3 {
        let r = api.get(&format!("{path}?player=eve"), Some(&token)).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    table.push(("league read", host_calls(&api, "GET", path)));
    for (name, calls) in &table {
        eprintln!("host calls: {name:16} {calls}");
    }
    // One KV open and one KV read (the page, the board's config, the tenant's settings and flag
    // document and the breaker's state, read ahead in one call); Redis only when not cached. A
    // p3 instance serves many requests and keeps its store, its Redis connections and the
    // variables it read: its warm requests open nothing and read no variable (a p2 instance
    // serves one request, which does).
    let p3 = harness::p3_under_test();
    let expect = |variable: u32, redis_command: u32, kv_write: u32| {
        let opens = |n: u32| if p3 { 0 } else { n };
        json!({"variable": opens(variable), "kv_open": opens(1), "kv_read": 1, "kv_write": kv_write,
            "redis_open": opens(u32::from(redis_command > 0)),
            "redis_command": redis_command, "http": 0})
    };
    // One variable read: `http_policy`, every per-request setting (CORS, log, HSTS, metrics,
    // proxy, Redis URL, rate limits); a token adds `jwt_policy` (issuer, audience, secret).
    let expected = [
        ("cached top-10", expect(1, 0, 0)),
        ("uncached top-10", expect(1, 1, 0)),
        ("player rank", expect(1, 1, 0)),
        ("around-me", expect(1, 1, 0)),
        // A board without cached reads has no copies to drop: no KV write.
        ("sync submit", expect(2, 2, 0)),
        // One with them drops this region's (one `delete_many`) and tells the other regions
        // (one PUBLISH).
        ("sync submit, cached", expect(2, 3, 1)),
        // A league (reads cached) looks up the player's placement first (one HGET).
        ("league submit", expect(2, 4, 1)),
        // A league read before any close: the board's config, the period before frozen (it
        // was not closed: no one played it), the periods and closes read, then the player's
        // placement, tier and the closes again.
        ("league read", expect(2, 8, 0)),
    ];
    assert_eq!(table.len(), expected.len());
    // About once a second per Redis server, one request is the region's stall canary
    // (`edge::stall`): a `PING` before its own commands and two KV writes (claim, clear). A
    // measured request that went to Redis may be it.
    for ((name, calls), (_, want)) in table.iter().zip(expected.iter()) {
        let mut as_canary = want.clone();
        if want["redis_command"].as_u64().unwrap_or(0) > 0 {
            as_canary["redis_command"] = json!(want["redis_command"].as_u64().unwrap_or(0) + 1);
            as_canary["kv_write"] = json!(want["kv_write"].as_u64().unwrap_or(0) + 2);
        }
        assert!(
            calls == want || *calls == as_canary,
            "{name}: {calls}, expected {want} (or as the stall canary, {as_canary})"
        );
    }
    api.stop().await;
}
