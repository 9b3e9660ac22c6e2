//! Rate limits through HTTP on the runtime under test: exactness of the Redis store under
//! concurrency (and the KV store's overshoot, measured), independence of the IP, subject and
//! tenant keys, fail-open and fail-closed with Redis stopped, the shipped defaults, and a
//! malformed policy variable.

use edge_host::HostConfig;
use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, admin, player, service, start_with, token};

/// `n` concurrent GETs of `path` (with extra headers): the replies' (status, headers).
async fn burst(
    api: &Api,
    path: &str,
    n: usize,
    headers: &[(&str, &str)],
) -> Vec<(u16, reqwest::header::HeaderMap, Value)> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (http, url) = (api.app.http.clone(), api.app.url(path));
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut req = http.get(url);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            (status, headers, r.json().await.unwrap_or(Value::Null))
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn h<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn public(id: &str) -> Value {
    json!({"id": id, "public_read": true, "cache": {"ttl_secs": 600, "stale_secs": 600}})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_limit_of_50_lets_exactly_50_of_200_concurrent_requests_through() {
    let policies = json!([
        {"name": "fifty", "key": "ip", "classes": ["read"], "boards": ["exact"],
         "limit": 50, "window_secs": 3600, "store": "redis"},
        {"name": "fifty-kv", "key": "ip", "classes": ["read"], "boards": ["approx"],
         "limit": 50, "window_secs": 3600, "store": "kv"}
    ])
    .to_string();
    let api = start_with(&[("rate_limits", &policies)], HostConfig::default()).await;
    api.create_board(public("exact")).await;
    api.create_board(public("approx")).await;

    let replies = burst(&api, "/api/v1/boards/exact/entries", 200, &[]).await;
    let ok: Vec<_> = replies.iter().filter(|r| r.0 == 200).collect();
    let limited: Vec<_> = replies.iter().filter(|r| r.0 == 429).collect();
    assert_eq!(
        (ok.len(), limited.len()),
        (50, 150),
        "exactly the limit passes; others: {:?}",
        replies
            .iter()
            .filter(|r| r.0 != 200 && r.0 != 429)
            .map(|r| (r.0, r.2.clone()))
            .take(3)
            .collect::<Vec<_>>()
    );
    for (_, headers, _) in &ok {
        assert_eq!(h(headers, "ratelimit-policy"), r#""fifty";q=50;w=3600"#);
        let state = h(headers, "ratelimit");
        assert!(state.starts_with(r#""fifty";r="#), "{state}");
        assert!(
            state.ends_with(";t=3600") || state.contains(";t="),
            "{state}"
        );
    }
    let mut remaining: Vec<u64> = ok
        .iter()
        .map(|(_, hd, _)| {
            let s = h(hd, "ratelimit");
            s.split(";r=")
                .nth(1)
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    // Each pass saw what was left after it (clocks of concurrent requests differ by a few ms,
    // so neighbours may round alike).
    remaining.sort_unstable();
    assert_eq!(remaining.last(), Some(&49), "{remaining:?}");
    assert!(remaining[0] <= 1, "{remaining:?}");
    for (_, headers, body) in &limited {
        assert_eq!(h(headers, "content-type"), "application/problem+json");
        assert_eq!(
            body["type"],
            "https://leaderboard.dev/problems/rate-limited"
        );
        assert_eq!(body["policy"], "fifty");
        assert!(
            body["detail"].as_str().unwrap().contains("'fifty'"),
            "{body}"
        );
        let retry: u64 = h(headers, "retry-after").parse().unwrap();
        assert!(
            (1..=73).contains(&retry),
            "one more after T = 72 s (+1 s for the clocks of concurrent requests): {retry}"
        );
        assert_eq!(body["retry_after_secs"], retry);
        assert!(h(headers, "ratelimit").contains(";r=0;"), "{headers:?}");
    }
    // The board itself is still served to others: a limit on one board leaves the other alone.
    let replies = burst(&api, "/api/v1/boards/approx/entries", 200, &[]).await;
    let passed = replies.iter().filter(|r| r.0 == 200).count();
    let limited = replies.iter().filter(|r| r.0 == 429).count();
    assert_eq!(passed + limited, 200);
    assert!(
        passed >= 50,
        "the KV store never lets fewer through: {passed}"
    );
    eprintln!(
        "{}: KV-stored limit of 50 under 200 concurrent requests let {passed} through (overshoot {})",
        api.app.runtime_name(),
        passed - 50
    );
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ip_subject_and_tenant_limits_are_independent() {
    let policies = json!([
        {"name": "per-ip", "key": "ip", "classes": ["read"], "limit": 3, "window_secs": 3600},
        {"name": "per-sub", "key": "subject", "classes": ["write"], "limit": 2, "window_secs": 3600},
        {"name": "per-tenant", "key": "tenant", "classes": ["admin"], "limit": 3, "window_secs": 3600}
    ])
    .to_string();
    let api = start_with(
        &[("rate_limits", &policies), ("behind_trusted_proxy", "true")],
        HostConfig::default(),
    )
    .await;
    api.create_board(public("ind")).await; // admin request 1 of the default tenant

    // Per IP: the X-Forwarded-For hop the trusted proxy appended (the rightmost); the client
    // forges a new first hop each time and is still counted as itself.
    let read = |forged: u32, ip: &'static str| {
        let api = &api;
        async move {
            api.call(
                Method::GET,
                "/api/v1/boards/ind/entries",
                None,
                None,
                &[("x-forwarded-for", &format!("198.18.0.{forged}, {ip}"))],
            )
            .await
        }
    };
    for forged in 0..3 {
        assert_eq!(read(forged, "203.0.113.7").await.status, 200);
    }
    let r = read(99, "203.0.113.7").await;
    r.assert_problem(429, "per-ip");
    assert_eq!(
        read(100, "198.51.100.9").await.status,
        200,
        "another IP is not limited"
    );

    // Per subject: ann's third submission is limited, bob's are not; a write is not a read.
    let submit = |who: &'static str| {
        let api = &api;
        async move {
            api.call(
                Method::POST,
                "/api/v1/boards/ind/scores",
                Some(&player(who)),
                Some(json!({"player": who, "score": 1})),
                &[("x-forwarded-for", "203.0.113.7")],
            )
            .await
        }
    };
    assert!(submit("ann").await.status.is_success());
    let second = submit("ann").await;
    assert!(second.status.is_success(), "{}", second.body);
    assert_eq!(second.header("ratelimit-policy"), r#""per-sub";q=2;w=3600"#);
    submit("ann").await.assert_problem(429, "per-sub");
    assert!(submit("bob").await.status.is_success());

    // Per tenant: the default tenant's admin requests run out; another tenant's do not.
    let list = |tenant: Option<&'static str>| {
        let api = &api;
        async move {
            api.call(
                Method::POST,
                "/api/v1/boards",
                Some(&token("ops", &["admin"], tenant)),
                Some(json!({"id": format!("b{}", rand_suffix())})),
                &[],
            )
            .await
        }
    };
    assert_eq!(list(None).await.status, 201);
    assert_eq!(list(None).await.status, 201);
    list(None).await.assert_problem(429, "per-tenant");
    assert_eq!(
        list(Some("acme")).await.status,
        201,
        "another tenant is not limited"
    );
    api.stop().await;
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[tokio::test(flavor = "multi_thread")]
async fn with_redis_stopped_policies_fail_open_or_closed_and_say_so() {
    if harness::cluster_three() {
        eprintln!(
            "skipped: it stops Redis, one node of six on a cluster (the cluster's failover: api_cluster)"
        );
        return;
    }
    let policies = json!([
        {"name": "reads-open", "key": "ip", "classes": ["read"], "limit": 1000,
         "window_secs": 60, "on_unavailable": "open"},
        {"name": "writes-closed", "key": "ip", "classes": ["write"], "limit": 1000,
         "window_secs": 60, "on_unavailable": "closed"}
    ])
    .to_string();
    let mut api = start_with(&[("rate_limits", &policies)], HostConfig::default()).await;
    api.create_board(public("fo")).await;
    api.submit_ok("fo", "ann", json!(5)).await;
    let warm = api.get("/api/v1/boards/fo/entries", None).await;
    assert_eq!(warm.status, 200);
    assert_eq!(
        warm.header("ratelimit-policy"),
        r#""reads-open";q=1000;w=60"#
    );
    assert_eq!(warm.header("edge-ratelimit-outcome"), "");

    api.redis.kill();
    let r = api.get("/api/v1/boards/fo/entries", None).await;
    assert_eq!(r.status, 200, "the cached page is still served: {}", r.body);
    assert_eq!(r.header("edge-ratelimit-outcome"), "fail-open");
    assert_eq!(r.header("ratelimit"), "", "nothing was counted");
    let w = api.submit("fo", json!({"player": "bob", "score": 1})).await;
    w.assert_problem(503, "writes-closed");
    assert_eq!(w.header("edge-ratelimit-outcome"), "fail-closed");
    assert_eq!(w.header("retry-after"), "1");
    api.redis.restart();
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shipped_defaults_protect_a_fresh_app() {
    // An empty variable means "the defaults", as in a fresh `spin up`.
    let api = start_with(&[("rate_limits", "")], HostConfig::default()).await;
    api.create_board(json!({"id": "d", "public_read": true, "operator": "incr"}))
        .await;
    // ip-read: a burst of 300 from one address, counted in Redis, then one per 50 ms.
    let started = std::time::Instant::now();
    let mut passed = 0u128;
    let denied = loop {
        let r = api.get("/api/v1/boards/d/entries", None).await;
        if r.status != 200 {
            break r;
        }
        if passed == 0 {
            assert_eq!(r.header("ratelimit-policy"), r#""ip-read";q=1200;w=60"#);
        }
        passed += 1;
        assert!(passed < 3000, "ip-read never denied");
    };
    denied.assert_problem(429, "ip-read");
    let refill = started.elapsed().as_millis() / 50 + 1;
    assert!(
        (300..=300 + refill).contains(&passed),
        "{passed} reads passed in {:?}",
        started.elapsed()
    );
    // subject-write: a player submits a burst of 30, then one per 500 ms; service tokens are
    // exempt.
    let started = std::time::Instant::now();
    let mut passed = 0u128;
    let denied = loop {
        let r = api
            .call(
                Method::POST,
                "/api/v1/boards/d/scores",
                Some(&player("ann")),
                Some(json!({"player": "ann", "score": 1})),
                &[],
            )
            .await;
        if !r.status.is_success() {
            break r;
        }
        assert!(
            r.header("ratelimit-policy")
                .contains(r#""subject-write";q=120;w=60"#)
        );
        passed += 1;
        assert!(passed < 500, "subject-write never denied");
    };
    denied.assert_problem(429, "subject-write");
    let refill = started.elapsed().as_millis() / 500 + 1;
    assert!(
        (30..=30 + refill).contains(&passed),
        "{passed} submissions passed in {:?}",
        started.elapsed()
    );
    for _ in 0..40 {
        let r = api.submit("d", json!({"player": "srv", "score": 1})).await;
        assert!(r.status.is_success(), "{}", r.body);
        assert_eq!(
            r.header("ratelimit-policy"),
            "",
            "service tokens are exempt"
        );
    }
    let admin_call = api.get("/api/v1/boards", Some(&admin())).await;
    assert_eq!(admin_call.status, 200);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_policy_variable_is_a_500_misconfigured_naming_it_and_the_log_says_why() {
    let api = start_with(
        &[(
            "rate_limits",
            r#"[{"name":"x","key":"ip","limit":0,"window_secs":1}]"#,
        )],
        HostConfig::default(),
    )
    .await;
    let r = api
        .get("/api/v1/boards/any/entries", Some(&service()))
        .await;
    r.assert_problem(500, "'rate_limits'");
    assert_eq!(
        r.body["type"], "https://leaderboard.dev/problems/misconfigured",
        "{}",
        r.body
    );
    // Why is for the operator's log, never for a caller, who may be anyone.
    assert!(
        !r.body["detail"].as_str().unwrap().contains("limit 0"),
        "{}",
        r.body
    );
    let log = api.app.guest_log();
    assert!(
        log.lines()
            .any(|l| l.contains("'rate_limits' variable") && l.contains("limit 0")),
        "the component's log names the variable and why: {log}"
    );
    // Every request of the component reads it (the http_policy bundle): readiness too, so a
    // deploy with the bad value never takes traffic.
    let ready = api.get("/health/ready", None).await;
    ready.assert_problem(500, "'rate_limits'");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kv_limit_on_spins_redis_store_overshoots_and_the_run_says_by_how_much() {
    if harness::cluster_three() {
        eprintln!("skipped: Spin's Redis KV store here is on database 1, which a cluster has not");
        return;
    }
    let policies = json!([{"name": "fifty-kv", "key": "ip", "classes": ["read"], "limit": 50,
        "window_secs": 3600, "store": "kv"}])
    .to_string();
    let api = crate::api::start_on_kv(
        crate::api::Kv::Redis,
        &[("rate_limits", &policies)],
        HostConfig::default(),
    )
    .await;
    api.create_board(public("approx")).await;
    let replies = burst(&api, "/api/v1/boards/approx/entries", 200, &[]).await;
    let passed = replies.iter().filter(|r| r.0 == 200).count();
    assert_eq!(passed + replies.iter().filter(|r| r.0 == 429).count(), 200);
    assert!(passed >= 50, "{passed}");
    let failed_open = replies
        .iter()
        .filter(|r| h(&r.1, "edge-ratelimit-outcome") == "fail-open")
        .count();
    eprintln!(
        "{}: KV-stored limit of 50 on the Redis KV store under 200 concurrent requests let {passed} through (overshoot {}; {failed_open} failed open after losing every compare-and-swap)",
        api.app.runtime_name(),
        passed - 50
    );
    // One at a time, the same store counts exactly.
    let api2 = crate::api::start_on_kv(
        crate::api::Kv::Redis,
        &[("rate_limits", &policies)],
        HostConfig::default(),
    )
    .await;
    api2.create_board(public("approx")).await;
    let mut statuses = Vec::new();
    for _ in 0..51 {
        statuses.push(
            api2.get("/api/v1/boards/approx/entries", None)
                .await
                .status
                .as_u16(),
        );
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        50,
        "{statuses:?}"
    );
    assert_eq!(statuses[50], 429);
    api2.stop().await;
    api.stop().await;
}
