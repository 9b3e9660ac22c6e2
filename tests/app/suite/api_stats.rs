//! Board analytics (`GET /api/{v}/boards/{board}/stats`), on both runtimes: each outcome counted
//! in the step it happened, unique players, the distribution of the standings (percentiles and a
//! histogram that add up to what the test submitted) and the climbers; who may read them and the
//! errors for a bad window.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::api::{Api, admin, player, start};
use crate::browser::{chromium, pixels_of, screenshot};

/// Milliseconds since the Unix epoch on this machine (the guests' clock, without an offset).
fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// Waits, when less than `needed` is left of the current minute, for the next one: what
/// follows then happens within one minute bucket.
async fn within_one_minute(needed: Duration) {
    let into = now_ms().rem_euclid(60_000);
    let left = 60_000 - into;
    if left < i64::try_from(needed.as_millis()).unwrap() {
        tokio::time::sleep(Duration::from_millis(u64::try_from(left).unwrap() + 200)).await;
    }
}

async fn stats(api: &Api, board: &str, query: &str) -> Value {
    let r = api
        .get(
            &format!("/api/v1/boards/{board}/stats{query}"),
            Some(&admin()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), "no-store");
    r.body
}

/// The steps that counted anything, by their minute bucket.
fn active_steps(body: &Value) -> BTreeMap<i64, Value> {
    body["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["unique_players"].as_u64().unwrap() > 0)
        .map(|s| {
            let start = chrono::DateTime::parse_from_rfc3339(s["start"].as_str().unwrap())
                .unwrap()
                .timestamp_millis();
            (leaderboard::integrity::stats::minute(start), s.clone())
        })
        .collect()
}

fn counts(step: &Value) -> [u64; 7] {
    [
        "accepted",
        "flagged",
        "held",
        "rejected",
        "personal_bests",
        "new_players",
        "unique_players",
    ]
    .map(|k| step[k].as_u64().unwrap())
}

/// Nearest-rank percentile from the worst of `scores` (higher is better).
fn percentile(scores: &[i64], pct: u64) -> i64 {
    let mut sorted = scores.to_vec();
    sorted.sort_unstable();
    let k = (pct * sorted.len() as u64).div_ceil(100).max(1);
    sorted[usize::try_from(k).unwrap() - 1]
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_count_every_outcome_in_its_step_and_describe_the_standings() {
    let api = start().await;
    api.create_board(json!({"id": "arena", "integrity": {
        "velocity": {"max": 3, "window_secs": 60, "action": "reject"},
        "improvement": {"max_abs": 1000, "window_secs": 3600, "action": "hold"},
        "burst": {"players": 3, "window_secs": 10, "action": "flag"}}}))
        .await;
    let mut finals: BTreeMap<String, i64> = BTreeMap::new();
    within_one_minute(Duration::from_secs(25)).await;
    let first_minute = leaderboard::integrity::stats::minute(now_ms());
    // 100 players, scores 0, 10, …, 990: accepted, new, a personal best each.
    for i in 0..100 {
        let p = format!("p{i:02}");
        api.submit_ok("arena", &p, json!(i * 10)).await;
        finals.insert(p, i * 10);
    }
    // The worst two climb to the top: p00 from rank 100 to 1 (99 ranks), then p01 from rank 100
    // (p00 left it) to 3 (97 ranks).
    api.submit_ok("arena", "p00", json!(995)).await;
    api.submit_ok("arena", "p01", json!(985)).await;
    finals.insert("p00".into(), 995);
    finals.insert("p01".into(), 985);
    // Held (an improvement past 1000), then rejected (a fourth submission within 60 s).
    let held = api
        .submit("arena", json!({"player": "p50", "score": 2000}))
        .await;
    assert_eq!(held.status, 202, "{}", held.body);
    api.submit_ok("arena", "p60", json!(601)).await;
    api.submit_ok("arena", "p60", json!(602)).await;
    finals.insert("p60".into(), 602);
    let rejected = api
        .submit("arena", json!({"player": "p60", "score": 603}))
        .await;
    rejected.assert_problem(422, "velocity");
    // Three bots with one score: the third completes a burst and is flagged, and so are the
    // first two, when it does.
    for b in ["bot1", "bot2", "bot3"] {
        api.submit_ok("arena", b, json!(777)).await;
        finals.insert(b.into(), 777);
    }
    assert_eq!(
        leaderboard::integrity::stats::minute(now_ms()),
        first_minute,
        "the test keeps to one minute"
    );

    let body = stats(&api, "arena", "?window=1h&step=1m").await;
    assert_eq!(body["window"]["steps"], 60, "{body}");
    assert_eq!(body["window"]["step_secs"], 60);
    let active = active_steps(&body);
    assert_eq!(active.keys().copied().collect::<Vec<_>>(), [first_minute]);
    // accepted: 100 + 2 climbs + 2 of p60 + 3 bots; flagged: the 3 bots; personal bests like
    // accepted (a first score is one); new players: 100 + 3 bots; unique players: 103.
    let expected = [107, 3, 1, 1, 107, 103, 103];
    assert_eq!(
        counts(&active[&first_minute]),
        expected,
        "{}",
        body["totals"]
    );
    assert_eq!(counts(&body["totals"]), expected);

    // The distribution of the standings the test left (the held score is not among them).
    let scores: Vec<i64> = finals.values().copied().collect();
    let d = &body["distribution"];
    assert_eq!(d["players"], scores.len() as u64);
    assert_eq!(d["best"], 995);
    assert_eq!(d["worst"], 20);
    for pct in [50, 90, 99] {
        assert_eq!(
            d["percentiles"][format!("p{pct}")],
            percentile(&scores, pct),
            "p{pct}: {d}"
        );
    }
    let histogram = d["histogram"].as_array().unwrap();
    assert!(!histogram.is_empty() && histogram.len() <= 21, "{d}");
    assert_eq!(histogram[0]["from"], 20);
    assert_eq!(histogram.last().unwrap()["to"], 995);
    for bucket in histogram {
        let (from, to) = (
            bucket["from"].as_i64().unwrap(),
            bucket["to"].as_i64().unwrap(),
        );
        let inside = scores.iter().filter(|s| (from..=to).contains(*s)).count();
        assert_eq!(bucket["count"], inside as u64, "{bucket}");
    }
    // The climbers: the two who climbed, most ranks first, with their ranks now.
    let climbers = body["climbers"].as_array().unwrap();
    assert_eq!(
        climbers[0],
        json!({"player": "p00", "ranks_gained": 99, "rank": 1})
    );
    assert_eq!(
        climbers[1],
        json!({"player": "p01", "ranks_gained": 97, "rank": 3})
    );

    // A later minute is its own step: three minutes on with edge-host's test clock; on Spin,
    // which has none, the next minute of the wall clock (a wait of under a minute).
    let later = if api.app.set_clock_offset(Duration::from_secs(180), true) {
        leaderboard::integrity::stats::minute(now_ms() + 180_000)
    } else {
        let wait = 60_000 - now_ms().rem_euclid(60_000) + 200;
        tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap())).await;
        leaderboard::integrity::stats::minute(now_ms())
    };
    assert!(later > first_minute);
    api.submit_ok("arena", "late", json!(5)).await;
    let body = stats(&api, "arena", "?window=10m&step=1m").await;
    let active = active_steps(&body);
    assert_eq!(
        active.keys().copied().collect::<Vec<_>>(),
        [first_minute, later]
    );
    assert_eq!(counts(&active[&later]), [1, 0, 0, 0, 1, 1, 1]);
    assert_eq!(body["totals"]["accepted"], 108);
    assert_eq!(body["totals"]["unique_players"], 104);
    // Steps of five minutes: the sum of the steps is the total whichever steps they fall in.
    let body = stats(&api, "arena", "?window=1h&step=5m").await;
    assert_eq!(body["window"]["steps"], 12);
    assert_eq!(body["totals"]["accepted"], 108);
    let sum: u64 = body["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["accepted"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, 108);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_are_for_admins_unless_the_board_is_public_and_refuse_a_bad_window() {
    let api = start().await;
    api.create_board(json!({"id": "closed"})).await;
    api.create_board(json!({"id": "open", "public_read": true}))
        .await;
    let anonymous = api.get("/api/v1/boards/closed/stats", None).await;
    anonymous.assert_problem(401, "admin");
    let mine = api
        .get("/api/v1/boards/closed/stats", Some(&player("ann")))
        .await;
    assert_eq!(mine.status, 403, "{}", mine.body);
    let open = api.get("/api/v1/boards/open/stats", None).await;
    assert_eq!(open.status, 200, "{}", open.body);
    // Defaults: an hour of one-minute steps; an empty board has no distribution yet.
    assert_eq!(open.body["window"]["steps"], 60);
    assert_eq!(open.body["distribution"]["players"], 0);
    assert_eq!(open.body["distribution"]["best"], Value::Null);
    assert_eq!(open.body["climbers"], json!([]));
    for (query, needle) in [
        ("?window=2d", "at most 1d"),
        ("?step=90s", "whole number of minutes"),
        ("?window=1h&step=7m", "whole number of steps"),
        ("?window=soon", "duration"),
    ] {
        let r = api
            .get(&format!("/api/v1/boards/open/stats{query}"), None)
            .await;
        r.assert_problem(400, needle);
    }
    let missing = api
        .get("/api/v1/boards/nowhere/stats", Some(&admin()))
        .await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    // A board can keep no stats: nothing is counted.
    api.create_board(json!({"id": "quiet", "stats": false}))
        .await;
    api.submit_ok("quiet", "ann", json!(5)).await;
    let body = stats(&api, "quiet", "").await;
    assert_eq!(body["totals"]["accepted"], 0, "{body}");
    assert_eq!(body["distribution"]["players"], 1);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_async_board_counts_what_the_projector_applies() {
    let api = start().await;
    api.create_board(json!({"id": "queue", "write_mode": "async"}))
        .await;
    within_one_minute(Duration::from_secs(20)).await;
    for i in 0..30 {
        let r = api
            .submit(
                "queue",
                json!({"player": format!("q{}", i % 20), "score": i}),
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
    // Counted when applied, not when accepted into the inbox.
    assert_eq!(
        stats(&api, "queue", "").await["totals"]["accepted"],
        0,
        "nothing applied yet"
    );
    assert_eq!(api.drain_all("queue").await, 30);
    let body = stats(&api, "queue", "").await;
    // 30 applied; 20 players, each new once; every later score of a player is higher, so a
    // personal best.
    assert_eq!(counts(&body["totals"]), [30, 0, 0, 0, 30, 20, 20], "{body}");
    assert_eq!(active_steps(&body).len(), 1);
    assert_eq!(body["distribution"]["players"], 20);
    assert_eq!(body["distribution"]["best"], 29);
    // The ten who scored again each climbed from the last place (20th) to the top, applied in
    // order by the drain, which counts climbers as a sync write does.
    let climbers = body["climbers"].as_array().unwrap();
    assert_eq!(
        climbers.len(),
        leaderboard::integrity::stats::CLIMBERS_SHOWN,
        "{body}"
    );
    for climber in climbers {
        assert_eq!(climber["ranks_gained"], 19, "{body}");
    }
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_draws_the_stats_as_svg_under_a_strict_csp_and_chromium_shows_them() {
    let api = start().await;
    api.create_board(json!({"id": "show", "public_read": true}))
        .await;
    api.create_board(json!({"id": "hidden"})).await;
    for i in 0..40 {
        api.submit_ok("show", &format!("s{i}"), json!(i * 25 % 997))
            .await;
    }
    api.submit_ok("hidden", "ann", json!(1)).await;

    let page = api.get("/boards/show/dashboard", None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(
        page.header("content-security-policy"),
        leaderboard::http::dashboard::CSP
    );
    assert_eq!(page.header("cache-control"), "no-store");
    let html = page.body.as_str().unwrap().to_string();
    assert!(!html.contains("<script"), "no script");
    assert_eq!(html.matches("<svg").count(), 3);
    assert!(html.contains(r#"class="bar""#) && html.contains(r#"class="line""#));
    let stats = stats(&api, "show", "").await;
    assert_eq!(
        html.matches(r#"class="bucket""#).count(),
        stats["distribution"]["histogram"].as_array().unwrap().len()
    );
    assert!(html.contains(&format!("<b>{}</b>accepted", 40)));
    // Not public: an admin's page only.
    api.get("/boards/hidden/dashboard", None)
        .await
        .assert_problem(401, "admin");
    let hidden = api.get("/boards/hidden/dashboard", Some(&admin())).await;
    assert_eq!(hidden.status, 200);
    api.get("/boards/show/dashboard?window=3d", None)
        .await
        .assert_problem(400, "at most 1d");

    // The page in a browser: the bars, the line and the histogram are drawn.
    match chromium() {
        Some(chromium) => {
            let runtime = std::env::var("EDGE_TEST_RUNTIME").unwrap_or_else(|_| "edge-host".into());
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
            std::fs::create_dir_all(&dir).unwrap();
            let out = dir.join(format!("dashboard-{runtime}.png"));
            let _ = std::fs::remove_file(&out);
            let (rgba, width) = screenshot(
                &chromium,
                &api.app.url("/boards/show/dashboard"),
                &out,
                "412,1800",
            )
            .await;
            assert!(width >= 400, "{width}");
            for (name, colour, at_least) in [
                ("accepted bars", leaderboard::http::dashboard::ACCEPTED, 200),
                ("players line", leaderboard::http::dashboard::PLAYERS, 50),
                (
                    "histogram bars",
                    leaderboard::http::dashboard::HISTOGRAM,
                    500,
                ),
            ] {
                let n = pixels_of(&rgba, colour);
                assert!(
                    n >= at_least,
                    "{name}: {n} pixels of {colour} in {}",
                    out.display()
                );
            }
        }
        None => eprintln!("skipped: no chromium (scripts/setup.sh installs Debian's)"),
    }
    api.stop().await;
}
