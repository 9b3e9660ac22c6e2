//! `/metrics` on the runtime under test: only for the scrape token or an allowed address; the
//! counters (kept in the region's KV store) move by exactly the traffic the test sends. The
//! scraped text is also written to `$EDGE_METRICS_DUMP/<runtime>-<n>.prom` when that is set, and
//! `scripts/test.sh` checks those files with the Prometheus client library's parser.

use std::collections::BTreeMap;

use edge_host::HostConfig;
use reqwest::Method;
use serde_json::json;

use crate::api::{Api, service, start_with};

const TOKEN: &str = "scrape-0123456789";

/// Scrapes and parses `name{labels} value` lines (what the assertions need; the full format is
/// checked by the real parser in scripts/test.sh).
async fn scrape(api: &Api, n: u32) -> BTreeMap<String, f64> {
    let r = api
        .call(Method::GET, "/metrics", Some(TOKEN), None, &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = r.body.as_str().unwrap_or_default().to_string();
    if let Some(dir) = std::env::var_os("EDGE_METRICS_DUMP") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            // The p3 build's run goes beside the p2 one on Spin: files of its own.
            dir.join(format!(
                "{}{}-{n}.prom",
                api.app.runtime_name(),
                if harness::p3_under_test() { "-p3" } else { "" }
            )),
            &text,
        )
        .unwrap();
    }
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_string(), value.parse::<f64>().unwrap())
        })
        .collect()
}

fn delta(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, series: &str) -> f64 {
    after.get(series).copied().unwrap_or(0.0) - before.get(series).copied().unwrap_or(0.0)
}

const ENTRIES: &str = "/api/:v/boards/:board/entries";
const SCORES: &str = "/api/:v/boards/:board/scores";

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_exactly_the_traffic_sent_and_only_the_scraper_reads_them() {
    let api = start_with(
        &[("metrics_token", TOKEN), ("metrics", "on")],
        HostConfig::default(),
    )
    .await;
    // Only the scraper.
    let anon = api.get("/metrics", None).await;
    anon.assert_problem(403, "metrics token");
    let wrong = api.get("/metrics", Some("not-the-token")).await;
    wrong.assert_problem(403, "metrics token");

    api.create_board(json!({"id": "m", "public_read": true, "cache": {"ttl_secs": 600}}))
        .await;
    api.create_board(json!({"id": "mq", "write_mode": "async"}))
        .await;
    let before = scrape(&api, 1).await;

    // The traffic: 2 new players, 1 improvement, 1 unchanged, 1 async, 1 bad request; 3 reads of
    // one page (MISS, HIT, HIT), 1 read of a missing board. The improvement stores metadata that
    // says `improved`, which the unchanged submission's answer then shows: the outcome is counted
    // from what happened, not from the words in the body.
    for (player, score, metadata) in [
        ("ann", 10, json!(null)),
        ("bob", 20, json!(null)),
        ("ann", 30, json!({"improved": true, "held": true})),
        ("ann", 5, json!(null)),
    ] {
        let mut body = json!({"player": player, "score": score});
        if !metadata.is_null() {
            body["metadata"] = metadata;
        }
        let r = api.submit("m", body).await;
        assert!(r.status.is_success(), "{}", r.body);
    }
    let queued = api.submit("mq", json!({"player": "cat", "score": 1})).await;
    assert_eq!(queued.status, 202, "{}", queued.body);
    let bad = api.submit("m", json!({"player": "dan"})).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        outcomes.push(
            api.get("/api/v1/boards/m/entries", None)
                .await
                .header("x-cache")
                .to_string(),
        );
    }
    assert_eq!(outcomes, ["MISS", "HIT", "HIT"]);
    let missing = api
        .get("/api/v1/boards/nope/entries", Some(&service()))
        .await;
    assert_eq!(missing.status, 404);

    let after = scrape(&api, 2).await;
    let d = |s: &str| delta(&before, &after, s);
    let req = |route: &str, method: &str, status: u16| {
        format!(
            "lb_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}}"
        )
    };
    assert_eq!(d(&req(SCORES, "POST", 201)), 2.0);
    assert_eq!(d(&req(SCORES, "POST", 200)), 2.0);
    assert_eq!(d(&req(SCORES, "POST", 202)), 1.0);
    assert_eq!(d(&req(SCORES, "POST", 400)), 1.0);
    assert_eq!(d(&req(ENTRIES, "GET", 200)), 3.0);
    assert_eq!(d(&req(ENTRIES, "GET", 404)), 1.0);
    assert_eq!(
        d(&format!(
            "lb_cache_requests_total{{route=\"{ENTRIES}\",outcome=\"HIT\"}}"
        )),
        2.0
    );
    assert_eq!(
        d(&format!(
            "lb_cache_requests_total{{route=\"{ENTRIES}\",outcome=\"MISS\"}}"
        )),
        1.0
    );
    for (outcome, n) in [
        ("created", 2.0),
        ("improved", 1.0),
        ("unchanged", 1.0),
        ("accepted", 1.0),
    ] {
        assert_eq!(
            d(&format!(
                "lb_score_submissions_total{{outcome=\"{outcome}\"}}"
            )),
            n,
            "{outcome}"
        );
    }
    assert_eq!(
        d(&format!(
            "lb_http_request_duration_seconds_count{{route=\"{ENTRIES}\"}}"
        )),
        4.0
    );
    assert_eq!(
        d(&format!(
            "lb_http_request_duration_seconds_bucket{{route=\"{ENTRIES}\",le=\"+Inf\"}}"
        )),
        4.0
    );
    assert!(
        d(&format!(
            "lb_http_request_duration_seconds_sum{{route=\"{ENTRIES}\"}}"
        )) > 0.0
    );
    assert_eq!(
        d("lb_async_submissions_total{tenant=\"default\",board=\"mq\"}"),
        1.0
    );
    // The queued submission waits in the inbox (no worker runs in this test).
    assert_eq!(
        after.get("lb_inbox_entries{tenant=\"default\",board=\"mq\"}"),
        Some(&1.0)
    );
    assert_eq!(
        after.get("lb_dead_letters{tenant=\"default\",board=\"mq\"}"),
        Some(&0.0)
    );
    // The drain route applies it: one event.
    let drained = api
        .call(
            Method::POST,
            "/api/v1/admin/drain",
            Some(&crate::api::admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(drained.status, 200, "{}", drained.body);
    let drained_after = scrape(&api, 3).await;
    assert_eq!(
        delta(&after, &drained_after, "lb_events_applied_total"),
        1.0
    );
    assert_eq!(
        drained_after.get("lb_inbox_entries{tenant=\"default\",board=\"mq\"}"),
        Some(&0.0)
    );
    assert_eq!(
        drained_after.get("lb_redis_circuit_state{state=\"closed\"}"),
        Some(&1.0)
    );
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_allowed_address_scrapes_without_a_token() {
    let api = start_with(
        &[("metrics_allow_from", "127.0.0.0/8, ::1")],
        HostConfig::default(),
    )
    .await;
    let r = api.get("/metrics", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .as_str()
            .unwrap_or_default()
            .contains("# TYPE lb_http_requests_total counter")
    );
    api.stop().await;
    // Neither variable: off.
    let api = start_with(&[], HostConfig::default()).await;
    api.get("/metrics", None)
        .await
        .assert_problem(403, "/metrics is off");
    api.stop().await;
}
