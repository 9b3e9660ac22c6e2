//! A/B experiments through HTTP on the runtime under test: a simulated experiment (10,000
//! targeting keys evaluated over OFREP, score submissions with a known true lift for one arm and
//! none for another), the sample-ratio check, the lifecycle (declaration errors, the flag mark,
//! events and their idempotency, stop/freeze/promote, delete) and what an exposure costs in
//! Redis commands.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, Reply, admin, player, service, start};

const KEYS: u64 = 10_000;
const CLIENTS: u64 = 16;

/// A split of `reward` in three equal buckets, plus a flag without experiments.
fn document(weights: [u32; 3]) -> Value {
    json!({"flags": {
        "reward": {"state": "ENABLED",
            "variants": {"control": 1, "double": 2, "triple": 3},
            "defaultVariant": "control",
            "targeting": {"fractional": [{"var": "targetingKey"},
                ["control", weights[0]], ["double", weights[1]], ["triple", weights[2]]]}},
        "plain": {"state": "ENABLED", "variants": {"a": "a", "b": "b"}, "defaultVariant": "a",
            "targeting": {"fractional": [{"var": "targetingKey"}, ["a", 1], ["b", 1]]}}
    }})
}

async fn put_flags(api: &Api, doc: Value) -> Reply {
    api.call(Method::PUT, "/api/v1/flags", Some(&admin()), Some(doc), &[])
        .await
}

async fn declare(api: &Api, body: Value) -> Reply {
    api.call(
        Method::POST,
        "/api/v1/experiments",
        Some(&admin()),
        Some(body),
        &[],
    )
    .await
}

async fn results(api: &Api, id: &str) -> Value {
    let r = api
        .get(
            &format!("/api/v1/experiments/{id}/results"),
            Some(&service()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// A fixed pseudo-random number in [0, 1) for a key (splitmix64), so the simulation is the same
/// on every run.
fn uniform(key: &str, salt: u64) -> f64 {
    let mut z = key.bytes().fold(salt ^ 0x9e37_79b9_7f4a_7c15, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Evaluates `flag` for keys `p0..p{n}` at concurrency [`CLIENTS`]: key → (variant, metadata).
async fn evaluate_all(api: &Api, flag: &str, n: u64) -> BTreeMap<String, (String, Value)> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (http, url, tok, next) = (
            api.app.http.clone(),
            api.app.url(&format!("/ofrep/v1/evaluate/flags/{flag}")),
            player("sim"),
            Arc::clone(&next),
        );
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return seen;
                }
                let key = format!("p{i}");
                let resp = http
                    .post(&url)
                    .bearer_auth(&tok)
                    .json(&json!({"context": {"targetingKey": key}}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
                let body: Value = resp.json().await.unwrap();
                assert_eq!(body["reason"], "TARGETING_MATCH", "{body}");
                let variant = body["variant"].as_str().unwrap().to_string();
                seen.push((key, (variant, body["metadata"].clone())));
            }
        }));
    }
    let mut out = BTreeMap::new();
    for t in tasks {
        out.extend(t.await.unwrap());
    }
    out
}

/// Submits a score for each of `players` on `board` at concurrency [`CLIENTS`].
async fn submit_all(api: &Api, board: &str, players: Vec<(String, i64)>) {
    let queue = Arc::new(std::sync::Mutex::new(players));
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (http, url, tok, queue) = (
            api.app.http.clone(),
            api.app.url(&format!("/api/v1/boards/{board}/scores")),
            service(),
            Arc::clone(&queue),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let Some((p, score)) = queue.lock().unwrap().pop() else {
                    return;
                };
                let resp = http
                    .post(&url)
                    .bearer_auth(&tok)
                    .json(&json!({"player": p, "score": score}))
                    .send()
                    .await
                    .unwrap();
                assert!(resp.status().is_success(), "{}", resp.status());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// One arm's figures of a metric in a results document.
fn arm_of<'a>(r: &'a Value, metric: usize, arm: &str) -> &'a Value {
    r["metrics"][metric]["arms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["arm"] == arm)
        .unwrap_or_else(|| panic!("no figures for {arm}: {r}"))
}

fn comparison<'a>(r: &'a Value, metric: usize, arm: &str) -> &'a Value {
    r["metrics"][metric]["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["arm"] == arm)
        .unwrap_or_else(|| panic!("no comparison for {arm}: {r}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_simulated_experiment_finds_the_real_lift_and_not_the_null_one() {
    let api = start().await;
    assert_eq!(put_flags(&api, document([1, 1, 1])).await.status, 200);
    api.create_board(json!({"id": "arena"})).await;
    let r = declare(
        &api,
        json!({"id": "reward-test", "flag": "reward", "control": "control", "min_sample": 3000,
            "metrics": [{"name": "played", "kind": "conversion", "board": "arena"},
                        {"name": "points", "kind": "mean", "board": "arena"}]}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("location"), "/api/v1/experiments/reward-test");
    assert_eq!(r.body["weights"]["double"].as_f64().unwrap(), 1.0 / 3.0);
    assert_eq!(r.body["state"], "running");

    // 10,000 players see the flag; each evaluation carries the experiment in its metadata.
    let seen = evaluate_all(&api, "reward", KEYS).await;
    assert_eq!(seen.len() as u64, KEYS);
    assert!(
        seen.values()
            .all(|(_, md)| md["experiment"] == "reward-test")
    );
    let mut per_arm: BTreeMap<&str, u64> = BTreeMap::new();
    for (v, _) in seen.values() {
        *per_arm.entry(v.as_str()).or_default() += 1;
    }
    // Seeing the flag again exposes nobody twice.
    let again = evaluate_all(&api, "reward", 200).await;
    assert!(again.iter().all(|(k, (v, _))| seen[k].0 == *v));

    // True conversion rates: control 20 %, double 30 % (a real lift), triple 20 % (none).
    let mut submissions = Vec::new();
    let mut truth: BTreeMap<&str, (u64, i64)> = BTreeMap::new();
    for (key, (variant, _)) in &seen {
        let rate = if variant == "double" { 0.30 } else { 0.20 };
        if uniform(key, 7) < rate {
            let score = 100 + (uniform(key, 11) * 50.0) as i64;
            submissions.push((key.clone(), score));
            let t = truth.entry(variant.as_str()).or_default();
            t.0 += 1;
            t.1 += score;
        }
    }
    submit_all(&api, "arena", submissions).await;

    let peek = results(&api, "reward-test").await;
    assert_eq!(peek["state"], "running");
    assert_eq!(peek["conclusive"], false, "{peek}");
    assert!(peek["reasons"][0].as_str().unwrap().contains("peek"));
    assert_eq!(comparison(&peek, 0, "double")["verdict"], "inconclusive");
    for (arm, n) in &per_arm {
        assert_eq!(peek["exposures"][arm], *n, "exposures of {arm}: {peek}");
    }
    assert_eq!(peek["srm"]["mismatch"], false, "{peek}");
    for arm in ["control", "double", "triple"] {
        let a = arm_of(&peek, 0, arm);
        assert_eq!(a["conversions"], truth[arm].0, "conversions of {arm}");
        let points = arm_of(&peek, 1, arm);
        assert_eq!(
            points["sum"].as_f64().unwrap(),
            truth[arm].1 as f64,
            "points of {arm}"
        );
    }
    // What Redis holds: one assignment per key.
    let assigned: u64 = redis::cmd("HLEN")
        .arg("lb:tenant:{default}:exp:reward-test:assign")
        .query(&mut api.redis.conn())
        .unwrap();
    assert_eq!(assigned, KEYS);

    // Stop at the horizon and promote the winner.
    let r = api
        .call(
            Method::POST,
            "/api/v1/experiments/reward-test/stop",
            Some(&admin()),
            Some(json!({"promote": "winner"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let frozen = &r.body["results"];
    assert_eq!(frozen["conclusive"], true, "{frozen}");
    let double = comparison(frozen, 0, "double");
    let triple = comparison(frozen, 0, "triple");
    assert_eq!(double["verdict"], "better", "{double}");
    assert!(double["p_value"].as_f64().unwrap() < 0.001, "{double}");
    assert!(double["lift"].as_f64().unwrap() > 0.3, "{double}");
    assert_eq!(triple["verdict"], "no_significant_difference", "{triple}");
    assert!(triple["p_value"].as_f64().unwrap() > 0.025, "{triple}");
    assert_eq!(comparison(frozen, 1, "double")["verdict"], "better");
    assert_eq!(r.body["promotion"]["promoted"], "double");

    // The flag now gives everyone the winner, without the mark; nothing more is counted.
    let flags = api.get("/api/v1/flags", Some(&admin())).await.body;
    assert_eq!(flags["flags"]["reward"]["defaultVariant"], "double");
    assert!(flags["flags"]["reward"].get("targeting").is_none());
    let r = api
        .call(
            Method::POST,
            "/ofrep/v1/evaluate/flags/reward",
            Some(&player("late")),
            Some(json!({"context": {"targetingKey": "p1"}})),
            &[],
        )
        .await;
    assert_eq!(
        (r.body["variant"].as_str(), r.body["reason"].as_str()),
        (Some("double"), Some("STATIC"))
    );
    api.submit_ok("arena", "p1", json!(1000)).await;
    assert_eq!(results(&api, "reward-test").await, *frozen);
    let got = api
        .get("/api/v1/experiments/reward-test", Some(&admin()))
        .await;
    assert_eq!(got.body["state"], "stopped");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_split_is_caught_by_the_sample_ratio_check() {
    let api = start().await;
    // The flag splits 70/30 while the experiment was declared 50/50.
    let mut doc = document([7, 3, 0]);
    doc["flags"]["reward"]["targeting"] =
        json!({"fractional": [{"var": "targetingKey"}, ["control", 7], ["double", 3]]});
    assert_eq!(put_flags(&api, doc).await.status, 200);
    let r = declare(
        &api,
        json!({"id": "skewed", "flag": "reward", "control": "control", "min_sample": 100,
            "weights": {"control": 1, "double": 1},
            "metrics": [{"name": "bought", "kind": "conversion", "event": "purchase"}]}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    evaluate_all(&api, "reward", 2_000).await;
    let r = api
        .call(
            Method::POST,
            "/api/v1/experiments/skewed/stop",
            Some(&admin()),
            Some(json!({"promote": "winner"})),
            &[],
        )
        .await;
    let res = &r.body["results"];
    assert_eq!(res["srm"]["mismatch"], true, "{res}");
    assert!(res["srm"]["p_value"].as_f64().unwrap() < 0.001);
    assert_eq!(res["conclusive"], false);
    assert!(
        res["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("sample-ratio mismatch")),
        "{res}"
    );
    // No winner from a broken experiment: the flag keeps its split.
    assert_eq!(r.body["promotion"]["promoted"], Value::Null);
    let flags = api.get("/api/v1/flags", Some(&admin())).await.body;
    assert!(flags["flags"]["reward"].get("targeting").is_some());
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn declarations_marks_events_and_deletion() {
    let api = start().await;
    assert_eq!(put_flags(&api, document([1, 1, 1])).await.status, 200);
    let body = json!({"id": "buy", "flag": "reward", "control": "control", "min_sample": 10,
        "metrics": [{"name": "spend", "kind": "mean", "event": "purchase"},
                    {"name": "bought", "kind": "conversion", "event": "purchase", "threshold": 5}]});

    // Who may declare, and what is refused.
    let r = api
        .call(
            Method::POST,
            "/api/v1/experiments",
            Some(&service()),
            Some(body.clone()),
            &[],
        )
        .await;
    r.assert_problem(403, "admin");
    let mut bad = body.clone();
    bad["flag"] = json!("nope");
    declare(&api, bad)
        .await
        .assert_problem(400, "no flag 'nope'");
    let mut bad = body.clone();
    bad["control"] = json!("quadruple");
    declare(&api, bad)
        .await
        .assert_problem(400, "control 'quadruple'");
    let mut bad = body.clone();
    bad["min_sample"] = json!("ten");
    declare(&api, bad).await.assert_problem(
        400,
        "field 'min_sample': invalid type: string \"ten\", expected u64",
    );
    assert_eq!(declare(&api, body.clone()).await.status, 201);
    declare(&api, body.clone())
        .await
        .assert_problem(409, "exists");
    let mut other = body.clone();
    other["id"] = json!("buy-2");
    declare(&api, other)
        .await
        .assert_problem(409, "already has a running experiment");

    // The mark survives an admin's PUT of the document, which may not drop the flag or an arm.
    assert_eq!(put_flags(&api, document([2, 1, 1])).await.status, 200);
    let flags = api.get("/api/v1/flags", Some(&admin())).await.body;
    assert_eq!(flags["flags"]["reward"]["metadata"]["experiment"], "buy");
    let mut dropped = document([1, 1, 1]);
    dropped["flags"].as_object_mut().unwrap().remove("reward");
    put_flags(&api, dropped)
        .await
        .assert_problem(409, "stop the experiment");

    // Events: only exposed keys count, each (key, id) once, a player for itself only.
    let post = |tok: String, ev: Value| {
        let api = &api;
        async move {
            api.call(
                Method::POST,
                "/api/v1/experiments/buy/events",
                Some(&tok),
                Some(ev),
                &[],
            )
            .await
        }
    };
    let ev = json!({"key": "p1", "event": "purchase", "id": "order-1", "value": 12.5});
    let r = post(service(), ev.clone()).await;
    assert_eq!(r.body["counted"], false, "{}", r.body);
    assert!(r.body["reason"].as_str().unwrap().contains("never exposed"));
    let seen = evaluate_all(&api, "reward", 3).await;
    let arm = seen["p1"].0.clone();
    let ev = json!({"key": "p1", "event": "purchase", "id": "order-2", "value": 12.5});
    let r = post(service(), ev.clone()).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["arm"]),
        (200, &json!(arm)),
        "{}",
        r.body
    );
    let r = post(service(), ev.clone()).await;
    assert_eq!(r.body["duplicate"], true);
    let small = json!({"key": "p1", "event": "purchase", "id": "order-3", "value": 2});
    assert_eq!(post(player("p1"), small).await.body["counted"], true);
    post(
        player("p2"),
        json!({"key": "p1", "event": "purchase", "id": "x"}),
    )
    .await
    .assert_problem(403, "own key");
    post(
        service(),
        json!({"key": "p1", "event": "refund", "id": "x"}),
    )
    .await
    .assert_problem(400, "no metric");
    let res = results(&api, "buy").await;
    let spend = arm_of(&res, 0, &arm);
    assert_eq!(spend["sum"].as_f64().unwrap(), 14.5, "{res}");
    let bought = arm_of(&res, 1, &arm);
    assert_eq!(
        bought["conversions"], 1,
        "only the 12.5 purchase reached the threshold"
    );

    let list = api.get("/api/v1/experiments", Some(&admin())).await;
    assert_eq!(list.body["experiments"][0]["id"], "buy");
    assert_eq!(list.body["experiments"][0]["state"], "running");

    // Deleting stops it, removes the mark and everything counted.
    let r = api
        .call(
            Method::DELETE,
            "/api/v1/experiments/buy",
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204);
    api.get("/api/v1/experiments/buy", Some(&admin()))
        .await
        .assert_problem(404, "no experiment 'buy'");
    let flags = api.get("/api/v1/flags", Some(&admin())).await.body;
    assert!(
        flags["flags"]["reward"]["metadata"]
            .get("experiment")
            .is_none()
    );
    let left: Vec<String> = redis::cmd("KEYS")
        .arg("lb:tenant:{default}:exp:*")
        .query(&mut api.redis.conn())
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
    api.stop().await;
}

/// The commands clients sent Redis while one OFREP evaluation ran — its round trips (commands a
/// script runs inside Redis are not round trips), seen through `MONITOR`.
async fn round_trips(api: &Api, flag: &str, key: &str) -> Vec<String> {
    // One server's commands (a cluster's first primary): the suite runs this on a single Redis.
    let mut monitor = api.redis.node_conn();
    redis::cmd("MONITOR").exec(&mut monitor).unwrap();
    let r = api
        .call(
            Method::POST,
            &format!("/ofrep/v1/evaluate/flags/{flag}"),
            Some(&player("m")),
            Some(json!({"context": {"targetingKey": key}})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    monitor
        .set_read_timeout(Some(std::time::Duration::from_millis(300)))
        .unwrap();
    let mut sent = Vec::new();
    while let Ok(line) = monitor.recv_response() {
        let line = match line {
            redis::Value::SimpleString(s) => s,
            other => format!("{other:?}"),
        };
        // `<time> [<db> <client address>|lua] "<command>" ...`
        if !line.contains(" lua] ") {
            sent.push(line);
        }
    }
    sent
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exposure_adds_one_redis_command_to_a_cached_evaluation() {
    if harness::cluster_three() {
        eprintln!(
            "skipped: it watches one server with MONITOR, where a cluster spreads the commands over three"
        );
        return;
    }
    let api = start().await;
    assert_eq!(put_flags(&api, document([1, 1, 1])).await.status, 200);
    let r = declare(
        &api,
        json!({"id": "cost", "flag": "reward", "control": "control", "min_sample": 10,
            "metrics": [{"name": "bought", "kind": "conversion", "event": "purchase"}]}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Warm the region's copy of the flag document.
    round_trips(&api, "plain", "warm").await;
    let plain = round_trips(&api, "plain", "k1").await;
    let exposed = round_trips(&api, "reward", "k1").await;
    let repeat = round_trips(&api, "reward", "k1").await;
    assert!(
        plain.is_empty(),
        "a cached evaluation sends Redis nothing: {plain:?}"
    );
    for sent in [&exposed, &repeat] {
        // About once a second one request is the region's stall canary (`edge::stall`): a `PING`
        // before its own commands.
        let own: Vec<&String> = sent
            .iter()
            .skip_while(|c| c.ends_with("\"PING\""))
            .collect();
        assert_eq!(own.len(), 1, "an exposure is one script call: {sent:?}");
        assert!(own[0].contains("\"EVAL\""), "{sent:?}");
    }
    api.stop().await;
}
