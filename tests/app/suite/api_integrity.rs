//! Score integrity on sync boards: the rules in the board config, what each action does to a
//! submission (reject `422`, hold `202` and invisible, flag applied), and the review routes
//! (approve applies a held score with its original time, reject takes a flagged one back), on
//! both runtimes.

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, Reply, admin, player_scores, start, start_with};
use crate::receiver::Receiver;

async fn score(api: &Api, board: &str, player: &str, score: i64) -> Reply {
    api.submit(board, json!({"player": player, "score": score}))
        .await
}

async fn post(api: &Api, path: &str) -> Reply {
    api.call(Method::POST, path, Some(&admin()), None, &[])
        .await
}

/// The board's entries as `(player, score)`, best first.
async fn standings(api: &Api, board: &str) -> Vec<(String, i64)> {
    let r = api
        .get(
            &format!("/api/v1/boards/{board}/entries?limit=100"),
            Some(&admin()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    player_scores(&r.body["entries"])
}

async fn reviews(api: &Api, board: &str, status: &str) -> Vec<Value> {
    let r = api
        .get(
            &format!("/api/v1/boards/{board}/reviews?status={status}"),
            Some(&admin()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["reviews"].as_array().unwrap().clone()
}

fn pairs(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(p, s)| (p.to_string(), *s)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn velocity_rejects_and_improvement_holds_until_an_admin_approves() {
    let api = start().await;
    let rules = json!({
        "velocity": {"max": 3, "window_secs": 60, "action": "reject"},
        "improvement": {"max_abs": 1000, "window_secs": 3600, "action": "hold"}
    });
    api.create_board(json!({"id": "ig", "integrity": rules}))
        .await;
    let board = api.get("/api/v1/boards/ig", Some(&admin())).await;
    assert_eq!(
        board.body["integrity"]["velocity"]["max"], 3,
        "{}",
        board.body
    );
    assert_eq!(board.body["integrity"]["improvement"]["max_abs"], 1000);

    assert_eq!(score(&api, "ig", "ann", 100).await.status, 201);
    assert_eq!(score(&api, "ig", "ann", 500).await.status, 200);
    // +4,900 over the window's first standing: held, not applied.
    let held = score(&api, "ig", "ann", 5_000).await;
    assert_eq!(held.status, 202, "{}", held.body);
    assert_eq!(held.body["held"], true);
    assert_eq!(held.body["rules"], json!(["improvement"]));
    let id = held.body["review"].as_str().unwrap().to_string();
    assert_eq!(standings(&api, "ig").await, pairs(&[("ann", 500)]));
    let me = api
        .get("/api/v1/boards/ig/players/ann", Some(&admin()))
        .await;
    assert_eq!(me.body["score"], 500, "{}", me.body);

    // Two accepted so far (a held one does not count): a third is fine, a fourth is refused.
    assert_eq!(score(&api, "ig", "ann", 600).await.status, 200);
    let refused = score(&api, "ig", "ann", 700).await;
    refused.assert_problem(422, "velocity");
    assert_eq!(
        refused.body["type"],
        "https://leaderboard.dev/problems/integrity-rejected"
    );
    assert_eq!(refused.body["rule"], "velocity");
    assert_eq!(standings(&api, "ig").await, pairs(&[("ann", 600)]));

    // The review names the rule and its numbers.
    let open = reviews(&api, "ig", "open").await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["id"], id.as_str());
    assert_eq!(open[0]["status"], "held");
    assert_eq!(open[0]["score"], 5_000);
    assert_eq!(open[0]["triggers"][0]["rule"], "improvement");
    assert_eq!(open[0]["triggers"][0]["numbers"]["improvement"], 4_900);

    // Approval applies it as submitted; a second approval answers the same; rejecting after
    // is a conflict.
    let ok = post(&api, &format!("/api/v1/boards/ig/reviews/{id}/approve")).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["status"], "approved");
    assert_eq!(standings(&api, "ig").await, pairs(&[("ann", 5_000)]));
    let me = api
        .get("/api/v1/boards/ig/players/ann", Some(&admin()))
        .await;
    assert_eq!(
        me.body["achieved_at"], open[0]["submitted_at"],
        "the original time: {}",
        me.body
    );
    let again = post(&api, &format!("/api/v1/boards/ig/reviews/{id}/approve")).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["decided_at_ms"], ok.body["decided_at_ms"]);
    post(&api, &format!("/api/v1/boards/ig/reviews/{id}/reject"))
        .await
        .assert_problem(409, "approved");
    assert!(reviews(&api, "ig", "open").await.is_empty());
    assert_eq!(reviews(&api, "ig", "approved").await.len(), 1);

    let audit = api.get("/api/v1/audit?limit=20", Some(&admin())).await;
    assert!(
        audit.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "review.approve" && e["target"] == id.as_str()),
        "{}",
        audit.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rejecting_takes_a_flagged_score_back_and_leaves_nothing_of_a_held_one() {
    let api = start().await;
    api.create_board(json!({"id": "fl", "integrity": {
        "improvement": {"max_abs": 10, "window_secs": 3600, "action": "flag"}}}))
        .await;
    assert_eq!(score(&api, "fl", "bob", 100).await.status, 201);
    // Flagged: applied at once, and listed.
    let r = score(&api, "fl", "bob", 200).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(standings(&api, "fl").await, pairs(&[("bob", 200)]));
    let flagged = reviews(&api, "fl", "flagged").await;
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    assert_eq!(flagged[0]["held"], false);
    let id = flagged[0]["id"].as_str().unwrap();
    let r = post(&api, &format!("/api/v1/boards/fl/reviews/{id}/reject")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "rejected");
    assert_eq!(standings(&api, "fl").await, pairs(&[("bob", 100)]));

    api.create_board(json!({"id": "hd", "integrity": {
        "improvement": {"max_abs": 10, "window_secs": 3600, "action": "hold"}}}))
        .await;
    assert_eq!(score(&api, "hd", "cat", 1).await.status, 201);
    let held = score(&api, "hd", "cat", 999).await;
    assert_eq!(held.status, 202, "{}", held.body);
    let id = held.body["review"].as_str().unwrap();
    let r = post(&api, &format!("/api/v1/boards/hd/reviews/{id}/reject")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(standings(&api, "hd").await, pairs(&[("cat", 1)]));
    post(&api, &format!("/api/v1/boards/hd/reviews/{id}/approve"))
        .await
        .assert_problem(409, "rejected");
    api.get("/api/v1/boards/hd/reviews/rv_nope", Some(&admin()))
        .await
        .assert_problem(404, "rv_nope");
}

#[tokio::test(flavor = "multi_thread")]
async fn outliers_and_bursts_are_caught_and_normal_scores_pass() {
    let api = start().await;
    api.create_board(json!({"id": "ol", "integrity": {
        "outlier": {"min_players": 20, "action": "hold"},
        "burst": {"players": 3, "window_secs": 60, "action": "flag"}}}))
        .await;
    for i in 0..30 {
        let r = score(&api, "ol", &format!("p{i}"), 1_000 + i * 13).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    assert!(
        reviews(&api, "ol", "all").await.is_empty(),
        "no normal score is caught"
    );
    let cheat = score(&api, "ol", "cheater", 1_000_000).await;
    assert_eq!(cheat.status, 202, "{}", cheat.body);
    assert_eq!(cheat.body["rules"], json!(["outlier"]));
    assert_eq!(score(&api, "ol", "normal", 1_200).await.status, 201);
    // The third player with the same score within a minute completes a burst: flagged.
    for p in ["b1", "b2"] {
        assert_eq!(score(&api, "ol", p, 1_111).await.status, 201);
    }
    assert_eq!(score(&api, "ol", "b3", 1_111).await.status, 201);
    // b3 is flagged, and so are b1 and b2, applied before the burst showed.
    let flagged = reviews(&api, "ol", "flagged").await;
    let mut who: Vec<&str> = flagged
        .iter()
        .map(|r| r["player"].as_str().unwrap())
        .collect();
    who.sort_unstable();
    assert_eq!(who, ["b1", "b2", "b3"], "{flagged:?}");
    assert!(flagged.iter().all(|r| r["triggers"][0]["rule"] == "burst"));
    // A fourth player is caught on its own; the first three are not listed twice.
    assert_eq!(score(&api, "ol", "b4", 1_111).await.status, 201);
    assert_eq!(reviews(&api, "ol", "flagged").await.len(), 4);
    let held = reviews(&api, "ol", "held").await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0]["player"], "cheater");
    assert!(
        held[0]["triggers"][0]["numbers"]["z"].as_f64().unwrap() > 3.5,
        "{}",
        held[0]
    );
    // Rejecting an earlier member (flagged after it was applied: what it had before is not
    // known) takes its entry off the board.
    let b1 = flagged.iter().find(|r| r["player"] == "b1").unwrap();
    let id = b1["id"].as_str().unwrap();
    let r = post(&api, &format!("/api/v1/boards/ol/reviews/{id}/reject")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let gone = api
        .get("/api/v1/boards/ol/players/b1", Some(&admin()))
        .await;
    assert_eq!(gone.status, 404, "{}", gone.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_found_again_lists_each_member_once() {
    use std::time::{Duration, Instant};
    let api = start().await;
    api.create_board(json!({"id": "again", "integrity": {
        "burst": {"players": 3, "window_secs": 4, "action": "flag"}}}))
        .await;
    // b1, then two seconds later b2 and b3 (b3 completes the burst); once b1 has left the
    // window (4 s), b4 completes a second burst of b2, b3 and b4.
    // (Times from b1's answer: b1 was judged before it, b2 and b3 at least two seconds after.)
    assert_eq!(score(&api, "again", "b1", 777).await.status, 201);
    let t1 = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    for p in ["b2", "b3"] {
        assert_eq!(score(&api, "again", p, 777).await.status, 201);
    }
    tokio::time::sleep(Duration::from_millis(4_500).saturating_sub(t1.elapsed())).await;
    assert_eq!(score(&api, "again", "b4", 777).await.status, 201);
    // b4 judged within 4 s of b2 (which was at or after t1 + 2 s).
    assert!(
        t1.elapsed() < Duration::from_millis(5_900),
        "too slow to test"
    );
    let flagged = reviews(&api, "again", "flagged").await;
    let mut who: Vec<&str> = flagged
        .iter()
        .map(|r| r["player"].as_str().unwrap())
        .collect();
    who.sort_unstable();
    assert_eq!(who, ["b1", "b2", "b3", "b4"], "{flagged:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_rules_are_refused_with_the_reason() {
    let api = start().await;
    for (config, needle) in [
        (
            json!({"id": "b1", "integrity": {"velocity": {"max": 0, "window_secs": 60, "action": "reject"}}}),
            "velocity.max",
        ),
        (
            json!({"id": "b2", "write_mode": "async", "integrity": {"improvement": {"window_secs": 60, "action": "hold"}}}),
            "improvement needs max_abs",
        ),
    ] {
        api.post_board(config).await.assert_problem(422, needle);
    }
    let r = api
        .post_board(json!({"id": "b3", "integrity": {"burst": {"players": 5, "window_secs": 9, "action": "ban"}}}))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_submission_is_announced_to_score_flagged_subscribers() {
    let api = start_with(
        &[
            ("webhook_allow_private", "127.0.0.1"),
            ("webhook_allowed_hosts", "http://127.0.0.1:*"),
            ("webhook_retry_schedule", "1s"),
        ],
        edge_host::HostConfig::default(),
    )
    .await;
    let receiver = Receiver::start().await;
    api.create_board(json!({"id": "wh", "integrity": {
        "improvement": {"max_abs": 10, "window_secs": 3600, "action": "hold"}}}))
        .await;
    let r = api
        .call(
            Method::POST,
            "/api/v1/webhooks",
            Some(&admin()),
            Some(json!({"url": receiver.url(), "events": ["score.flagged"]})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let secret = r.body["secret"].as_str().unwrap().to_string();
    assert_eq!(score(&api, "wh", "dee", 5).await.status, 201);
    let held = score(&api, "wh", "dee", 500).await;
    assert_eq!(held.status, 202, "{}", held.body);
    let got = receiver
        .wait_for(
            20,
            |got| !got.is_empty(),
            || async {
                post(&api, "/api/v1/admin/drain").await;
            },
        )
        .await;
    let body = got[0].json();
    assert_eq!(body["type"], "score.flagged", "{body}");
    assert_eq!(body["data"]["review"], held.body["review"]);
    assert_eq!(body["data"]["status"], "held");
    assert_eq!(body["data"]["player"], "dee");
    assert_eq!(body["data"]["score"], 500);
    assert_eq!(body["data"]["triggers"][0]["rule"], "improvement");
    standardwebhooks::Webhook::new(&secret)
        .unwrap()
        .verify(&got[0].body, &got[0].headers)
        .unwrap();
}

/// A deterministic xorshift generator and normal draws (Box–Muller), so the seeded board is the
/// same on every run.
struct Draws(u64);

impl Draws {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self, mean: f64, sd: f64) -> i64 {
        let (u, v) = (self.unit(), self.unit());
        let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
        (mean + sd * z).round().max(0.0) as i64
    }
}

/// Submits `(player, score)` pairs, 8 at a time: the statuses in order.
async fn submit_all(api: &Api, board: &str, scores: &[(String, i64)]) -> Vec<u16> {
    use futures::StreamExt;
    futures::stream::iter(
        scores
            .iter()
            .map(|(p, s)| async move { score(api, board, p, *s).await.status.as_u16() }),
    )
    .buffered(8)
    .collect()
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_seeded_board_every_cheater_is_caught_by_its_rule_and_no_honest_player_is() {
    let api = start().await;
    // Thresholds for 10,000 players: with a normal spread, P(z > 3.5) puts about two honest
    // players above the textbook 3.5; 6 leaves none while impossible scores stay far above it.
    api.create_board(json!({"id": "season", "integrity": {
        "velocity": {"max": 20, "window_secs": 60, "action": "reject"},
        "improvement": {"max_abs": 300, "max_pct": 50, "window_secs": 3600, "action": "hold"},
        "outlier": {"threshold": 6, "min_players": 100, "action": "hold"},
        "burst": {"players": 25, "window_secs": 2, "action": "flag"}}}))
        .await;
    // (A burst rule must leave room for chance: 10,000 honest players sending integer scores
    // from one bell curve within seconds put a few dozen on the commonest values. Ten in ten
    // seconds happens by chance here; 25 in two seconds does not.)
    let mut draws = Draws(0x9e37_79b9_7f4a_7c15);
    let honest: Vec<(String, i64)> = (0..10_000)
        .map(|i| (format!("h{i}"), draws.normal(10_000.0, 1_500.0)))
        .collect();
    let statuses = submit_all(&api, "season", &honest).await;
    assert!(
        statuses.iter().all(|s| *s == 201),
        "every first score lands"
    );
    // A fifth of them improve a little (at most 10 %).
    let better: Vec<(String, i64)> = honest
        .iter()
        .step_by(5)
        .map(|(p, s)| (p.clone(), s + s / 10 * (draws.unit() * 0.9) as i64 + 1))
        .collect();
    let statuses = submit_all(&api, "season", &better).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let caught = reviews(&api, "season", "all").await;
    assert!(
        caught.is_empty(),
        "no honest submission is caught: {caught:?}"
    );

    // The cheaters.
    assert_eq!(score(&api, "season", "jumper", 9_000).await.status, 201);
    let jump = score(&api, "season", "jumper", 60_000).await;
    assert_eq!(jump.status, 202, "{}", jump.body);
    let far = score(&api, "season", "outlier", 1_000_000).await;
    assert_eq!(far.status, 202, "{}", far.body);
    assert_eq!(far.body["rules"], json!(["outlier"]));
    let mut spam = Vec::new();
    for i in 0..25 {
        spam.push(
            score(&api, "season", "spammer", 8_000 + i)
                .await
                .status
                .as_u16(),
        );
    }
    assert_eq!(spam.iter().filter(|s| **s == 422).count(), 5, "{spam:?}");
    // The bots' score is one no honest player sent (an honest player with that score in the
    // same ten seconds would be part of the burst as far as anyone can tell).
    let taken: std::collections::HashSet<i64> =
        honest.iter().chain(&better).map(|(_, s)| *s).collect();
    let same = (12_345..).find(|s| !taken.contains(s)).unwrap();
    let bots: Vec<(String, i64)> = (0..25).map(|i| (format!("bot{i}"), same)).collect();
    let statuses = submit_all(&api, "season", &bots).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");

    // Each caught by its rule; nobody else listed.
    let all = reviews(&api, "season", "all").await;
    let rules_of = |player: &str| -> Vec<String> {
        all.iter()
            .filter(|r| r["player"] == player)
            .flat_map(|r| r["triggers"].as_array().unwrap().clone())
            .map(|t| t["rule"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(rules_of("jumper").contains(&"improvement".to_string()));
    assert_eq!(rules_of("outlier"), ["outlier"]);
    for i in 0..25 {
        assert_eq!(rules_of(&format!("bot{i}")), ["burst"], "bot{i}");
    }
    let listed: std::collections::BTreeSet<&str> =
        all.iter().map(|r| r["player"].as_str().unwrap()).collect();
    let expected: std::collections::BTreeSet<String> = ["jumper", "outlier"]
        .into_iter()
        .map(String::from)
        .chain((0..25).map(|i| format!("bot{i}")))
        .collect();
    assert_eq!(
        listed
            .iter()
            .map(|s| s.to_string())
            .collect::<std::collections::BTreeSet<_>>(),
        expected
    );
    // The spammer's refusals are answers, not reviews; its accepted scores stand.
    let me = api
        .get("/api/v1/boards/season/players/spammer", Some(&admin()))
        .await;
    assert_eq!(me.body["score"], 8_019, "{}", me.body);

    // The board's stats count the same: 10,000 + 2,000 honest, the jumper's first, 20 of the
    // spammer's, 25 bots applied; 25 flagged (the burst), 2 held, 5 rejected; 10,028 players
    // within HyperLogLog's error (0.81 % standard error: 2 % is 2.5 of them).
    let stats = api
        .get("/api/v1/boards/season/stats?window=1h", Some(&admin()))
        .await;
    assert_eq!(stats.status, 200, "{}", stats.body);
    let totals = &stats.body["totals"];
    assert_eq!(totals["accepted"], 12_046, "{totals}");
    assert_eq!(totals["flagged"], 25, "{totals}");
    assert_eq!(totals["held"], 2, "{totals}");
    assert_eq!(totals["rejected"], 5, "{totals}");
    assert_eq!(totals["new_players"], 10_027, "{totals}");
    let unique = totals["unique_players"].as_f64().unwrap();
    assert!((unique - 10_028.0).abs() / 10_028.0 < 0.02, "{totals}");
    assert_eq!(stats.body["distribution"]["players"], 10_027);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_async_board_judges_each_entry_in_order_when_the_drain_applies_it() {
    let api = start().await;
    api.create_board(json!({"id": "aq", "write_mode": "async", "integrity": {
        "velocity": {"max": 2, "window_secs": 60, "action": "reject"},
        "improvement": {"max_abs": 100, "window_secs": 3600, "action": "hold"},
        "burst": {"players": 3, "window_secs": 60, "action": "flag"}}}))
        .await;
    // Accepted into the inbox, all of them: the rules judge at the drain.
    for (p, s) in [
        ("a", 10),
        ("a", 20),
        ("a", 30),
        ("b", 10),
        ("b", 500),
        ("c1", 777),
        ("c2", 777),
        ("c3", 777),
    ] {
        let r = score(&api, "aq", p, s).await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
    // a's third is one too many (rejected: a dead letter); b's jump is held; c3 completes a
    // burst (flagged with c1 and c2); the rest lands.
    let drained = post(&api, "/api/v1/admin/drain?board=aq&max_events=1000").await;
    assert_eq!(drained.status, 200, "{}", drained.body);
    assert_eq!(
        [
            &drained.body["applied"],
            &drained.body["held"],
            &drained.body["dead_lettered"]
        ],
        [&json!(6), &json!(1), &json!(1)],
        "{}",
        drained.body
    );
    assert_eq!(
        standings(&api, "aq").await,
        pairs(&[("c1", 777), ("c2", 777), ("c3", 777), ("a", 20), ("b", 10)])
    );
    let dead = api
        .get("/api/v1/boards/aq/dead-letters", Some(&admin()))
        .await;
    assert_eq!(dead.status, 200, "{}", dead.body);
    let dead = dead.body["dead_letters"].as_array().unwrap().clone();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(
        dead[0]["reason"].as_str().unwrap().contains("velocity"),
        "{dead:?}"
    );
    let held = reviews(&api, "aq", "held").await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(
        (held[0]["player"].as_str(), held[0]["score"].as_i64()),
        (Some("b"), Some(500))
    );
    let mut flagged: Vec<String> = reviews(&api, "aq", "flagged")
        .await
        .iter()
        .map(|r| r["player"].as_str().unwrap().to_string())
        .collect();
    flagged.sort_unstable();
    assert_eq!(flagged, ["c1", "c2", "c3"]);
    let stats = api.get("/api/v1/boards/aq/stats", Some(&admin())).await;
    let t = &stats.body["totals"];
    assert_eq!(
        [
            &t["accepted"],
            &t["flagged"],
            &t["held"],
            &t["rejected"],
            &t["unique_players"]
        ],
        [&json!(6), &json!(3), &json!(1), &json!(1), &json!(5)],
        "{t}"
    );
    // Approving the held one applies it.
    let id = held[0]["id"].as_str().unwrap();
    let r = post(&api, &format!("/api/v1/boards/aq/reviews/{id}/approve")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        standings(&api, "aq").await,
        pairs(&[("c1", 777), ("c2", 777), ("c3", 777), ("b", 500), ("a", 20)])
    );
}
