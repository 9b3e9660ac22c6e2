//! The host calls each hot route makes (the access log's `host_calls`), on the shipped
//! configuration but the sampled metrics: what a request costs beyond its own computation. The table in
//! docs/benchmarks.md ("What a request costs") lists the same counts; a change that adds a call
//! to a hot route fails here.

use edge_host::HostConfig;
use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, Reply, service, start_with};

/// How many requests a route is sent at most while each one did upkeep for its region.
const TRIES: u32 = 20;

/// What a hot request to a route costs: the `host_calls` of the first request `send` makes
/// (its argument: how many it made before) that did no upkeep for its region. A request that
/// found a regional copy stale (they stay fresh for 5 s), took the stall canary (due about once
/// a second per Redis server) or read the cluster's slot map lists it in the log (`upkeep`), and
/// its host calls include that work; on a loaded machine several in a row may.
async fn hot_calls(api: &Api, name: &str, mut send: impl AsyncFnMut(u32) -> Reply) -> Value {
    let mut seen = Vec::new();
    for i in 0..TRIES {
        let r = send(i).await;
        let line = api.log_line(r.header("x-request-id")).await;
        if line.get("upkeep").is_none() {
            return line["host_calls"].clone();
        }
        seen.push(line["upkeep"].clone());
    }
    panic!("{name}: each of {TRIES} requests did upkeep: {seen:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn hot_routes_make_only_the_host_calls_they_need() {
    // Without the sampled metrics: one request in 100 (the shipped `1/100`) adds its two KV
    // increments (docs/benchmarks.md).
    let api = start_with(&[("metrics", "off")], HostConfig::default()).await;
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
    // The first read of a board in a region fetches its config for the region's copy: upkeep,
    // and named so in the log.
    let r = api
        .get("/api/v1/boards/cached/entries?limit=10", None)
        .await;
    let first = api.log_line(r.header("x-request-id")).await;
    assert!(
        first["upkeep"]
            .as_array()
            .is_some_and(|u| u.contains(&json!("board config"))),
        "{first}"
    );
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
        let r = api.get(url, None).await;
        assert_eq!(r.status, 200, "{name}: {}", r.body);
        let calls = hot_calls(&api, name, async |_| {
            let r = api.get(url, None).await;
            assert_eq!(r.status, 200, "{name}: {}", r.body);
            r
        })
        .await;
        table.push((name, calls));
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
        let submit = async |i: u32| {
            let r = api
                .call(
                    Method::POST,
                    &path,
                    Some(&token),
                    Some(json!({"player": "eve", "score": 100 + i})),
                    &[],
                )
                .await;
            assert!(r.status == 200 || r.status == 201, "{name}: {}", r.body);
            r
        };
        // Warm: the player's first submission creates its entry (and places it in a cohort).
        submit(0).await;
        let calls = hot_calls(&api, name, async |i| submit(i + 1).await).await;
        table.push((name, calls));
    }
    let path = "/api/v1/boards/ladder/league?player=eve";
    let read = async |_| {
        let r = api.get(path, Some(&token)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r
    };
    read(0).await;
    table.push(("league read", hot_calls(&api, "league read", read).await));
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
    for ((name, calls), (_, want)) in table.iter().zip(expected.iter()) {
        assert_eq!(calls, want, "{name}");
    }
    api.stop().await;
}
