//! Rewards through HTTP (docs/competitions.md#rewards): a tournament's whole life from upcoming
//! to claimed rewards (its `tournament.ended` and `rewards.awarded` verified with the Standard
//! Webhooks library), rewards that wait for the run's open reviews, and the tables refused.

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, admin, player, service, start};
use crate::api_competitions::moment;

/// One player's rewards as its own token reads them.
async fn rewards_of(api: &Api, board: &str, who: &str) -> crate::api::Reply {
    api.get(
        &format!("/api/v1/boards/{board}/rewards?player={who}"),
        Some(&player(who)),
    )
    .await
}

async fn claim(api: &Api, board: &str, who: &str, token: &str) -> crate::api::Reply {
    api.call(
        Method::POST,
        &format!("/api/v1/boards/{board}/rewards/claim"),
        Some(token),
        Some(json!({"player": who})),
        &[],
    )
    .await
}

/// `(player, rank, reward)` of a list of awards.
fn awards(list: &Value) -> Vec<(String, u64, Value)> {
    list.as_array()
        .unwrap_or_else(|| panic!("no awards in {list}"))
        .iter()
        .map(|a| {
            (
                a["player"].as_str().unwrap().to_string(),
                a["rank"].as_u64().unwrap(),
                a["reward"].clone(),
            )
        })
        .collect()
}

/// The log entries of `kind` on the board.
async fn logged(api: &Api, board: &str, kind: &str) -> usize {
    crate::api_tournament_window::logged(api, board)
        .await
        .iter()
        .filter(|t| *t == kind)
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tournament_lives_from_upcoming_through_its_end_to_rewards_claimed_once() {
    let (api, receiver, secret) =
        crate::receiver::subscribed(&["tournament.ended", "rewards.awarded"], 2).await;
    let hook = standardwebhooks::Webhook::new(&secret).unwrap();
    let verified = |kind: &str| -> Vec<Value> {
        receiver
            .received()
            .iter()
            .filter_map(|r| {
                let body = r.json();
                (body["type"] == kind).then(|| {
                    hook.verify(&r.body, &r.headers)
                        .unwrap_or_else(|e| panic!("{kind}: the signature does not verify: {e}"));
                    body
                })
            })
            .collect()
    };

    // Upcoming: opens in three seconds; players join, two attempts each; ranks 1 to 3 rewarded.
    let table = json!([
        {"from": 1, "reward": {"gems": 100, "badge": "champion"}},
        {"from": 2, "to": 3, "reward": {"gems": 10}}
    ]);
    let created = api
        .create_board(json!({"id": "cup", "tournament": {
            "title": "Cup", "start": moment(3), "duration_secs": 3600,
            "join_required": true, "max_attempts": 2},
            "rewards": table}))
        .await;
    assert_eq!(created.body["rewards"], table, "{}", created.body);
    for who in ["ann", "bob", "cat", "dan"] {
        let r = api
            .call(
                Method::POST,
                "/api/v1/boards/cup/join",
                Some(&player(who)),
                Some(json!({"player": who})),
                &[],
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let early = rewards_of(&api, "cup", "ann").await;
    assert_eq!(early.status, 200, "{}", early.body);
    assert_eq!(early.body["state"], "open");
    assert_eq!(early.body["award"], Value::Null);
    claim(&api, "cup", "ann", &player("ann"))
        .await
        .assert_problem(409, "has not closed");
    api.submit("cup", json!({"player": "ann", "score": 1}))
        .await
        .assert_problem(409, "not started");

    // Open: attempts counted, the third refused. Bob and cat tie at 30: both rank 2.
    let mut opened = false;
    for _ in 0..100 {
        let r = api
            .submit("cup", json!({"player": "ann", "score": 10}))
            .await;
        if r.status == 201 {
            opened = true;
            break;
        }
        r.assert_problem(409, "not started");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(opened, "the tournament did not open");
    for (who, score) in [("ann", 50), ("bob", 30), ("cat", 30), ("dan", 5)] {
        let r = api
            .submit("cup", json!({"player": who, "score": score}))
            .await;
        assert!(r.status == 200 || r.status == 201, "{}", r.body);
    }
    api.submit("cup", json!({"player": "ann", "score": 60}))
        .await
        .assert_problem(409, "2 allowed");

    // Ended early: announced, and the rewards awarded from the final standings.
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards/cup/tournament/end",
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    receiver
        .wait_for(
            30,
            |got| {
                let of = |kind: &str| got.iter().filter(|r| r.json()["type"] == kind).count();
                of("tournament.ended") == 1 && of("rewards.awarded") == 1
            },
            || async {},
        )
        .await;
    let want = vec![
        (
            "ann".to_string(),
            1,
            json!({"gems": 100, "badge": "champion"}),
        ),
        ("bob".to_string(), 2, json!({"gems": 10})),
        ("cat".to_string(), 2, json!({"gems": 10})),
    ];
    let ended = &verified("tournament.ended")[0];
    assert_eq!(ended["data"]["early"], true, "{ended}");
    let rewards = &ended["data"]["rewards"];
    assert_eq!(rewards["state"], "final", "{ended}");
    assert_eq!(rewards["awarded"], 3, "{ended}");
    assert_eq!(awards(&rewards["awards"]), want[..2], "top_n 2: {ended}");
    let awarded = &verified("rewards.awarded")[0];
    assert_eq!(awarded["data"]["board"], "cup");
    assert_eq!(awarded["data"]["period"], "all");
    assert_eq!(awarded["data"]["awarded"], 3);
    assert_eq!(awarded["data"]["awarded_at"], rewards["awarded_at"]);
    assert_eq!(awards(&awarded["data"]["awards"]), want[..2]);

    // Readable per player; the whole list by a service, page by page.
    let bob = rewards_of(&api, "cup", "bob").await;
    assert_eq!(bob.status, 200, "{}", bob.body);
    assert_eq!(bob.body["state"], "final");
    assert_eq!(bob.body["award"]["rank"], 2);
    assert_eq!(bob.body["award"]["reward"], json!({"gems": 10}));
    assert_eq!(bob.body["award"]["claimed_at"], Value::Null);
    let dan = rewards_of(&api, "cup", "dan").await;
    assert_eq!(dan.body["state"], "final");
    assert_eq!(dan.body["award"], Value::Null, "rank 4 is not rewarded");
    api.get(
        "/api/v1/boards/cup/rewards?player=bob",
        Some(&player("ann")),
    )
    .await
    .assert_problem(403, "own subject");
    api.get("/api/v1/boards/cup/rewards", Some(&player("ann")))
        .await
        .assert_problem(403, "service");
    let first = api
        .get("/api/v1/boards/cup/rewards?limit=2", Some(&service()))
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["awarded"], 3);
    assert_eq!(first.body["next_cursor"], "2");
    let rest = api
        .get(
            "/api/v1/boards/cup/rewards?limit=2&cursor=2",
            Some(&service()),
        )
        .await;
    assert_eq!(rest.body["next_cursor"], Value::Null);
    let mut all = awards(&first.body["awards"]);
    all.extend(awards(&rest.body["awards"]));
    assert_eq!(all, want);
    for bad in ["4", "x", "+1", "18446744073709551615"] {
        api.get(
            &format!("/api/v1/boards/cup/rewards?cursor={bad}"),
            Some(&service()),
        )
        .await
        .assert_problem(400, "cursor");
    }
    api.get("/api/v1/boards/cup/rewards?limit=501", Some(&service()))
        .await
        .assert_problem(400, "limit");

    // Claimed once: the second claim answers the first; no award, no claim.
    let once = claim(&api, "cup", "ann", &player("ann")).await;
    assert_eq!(once.status, 200, "{}", once.body);
    assert_eq!(once.body["rank"], 1);
    assert_eq!(once.body["reward"]["badge"], "champion");
    let twice = claim(&api, "cup", "ann", &player("ann")).await;
    assert_eq!(twice.status, 200, "{}", twice.body);
    assert_eq!(twice.body, once.body);
    claim(&api, "cup", "dan", &player("dan"))
        .await
        .assert_problem(404, "no reward");
    claim(&api, "cup", "bob", &player("ann"))
        .await
        .assert_problem(403, "own subject");
    let by_service = claim(&api, "cup", "cat", &service()).await;
    assert_eq!(by_service.status, 200, "{}", by_service.body);
    let ann = rewards_of(&api, "cup", "ann").await;
    assert_eq!(ann.body["award"]["claimed_at"], once.body["claimed_at"]);
    let stored: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
        .arg("lb:{default/cup}:awards:all")
        .query(&mut api.redis.conn())
        .unwrap();
    assert_eq!(stored.get("p:ann").map(String::as_str), Some("1"));
    assert_eq!(stored.get("p:cat").map(String::as_str), Some("2"));
    assert!(stored.contains_key("c:ann") && stored.contains_key("c:cat"));
    assert!(!stored.contains_key("c:bob") && !stored.contains_key("p:dan"));

    // Awarded once however often it was read and claimed: one entry in the log, one message.
    assert_eq!(logged(&api, "cup", "rewards_awarded").await, 1);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(verified("rewards.awarded").len(), 1);
    assert_eq!(verified("tournament.ended").len(), 1);
}

/// The final standings are read a page one entry longer than the ranks paid: a tie at the last
/// rank paid that runs past it reads on, and every tied player is paid.
#[tokio::test(flavor = "multi_thread")]
async fn a_tie_at_the_last_rank_paid_pays_every_tied_player() {
    let api = start().await;
    api.create_board(json!({"id": "tied", "tournament": {
        "title": "Tied", "start": moment(-1), "duration_secs": 3600},
        "rewards": [{"from": 1, "to": 2, "reward": {"xp": 1}}]}))
        .await;
    for (who, score) in [
        ("ann", 50),
        ("bob", 50),
        ("cat", 50),
        ("dan", 50),
        ("eve", 40),
    ] {
        let r = api
            .submit("tied", json!({"player": who, "score": score}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards/tied/tournament/end",
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let listed = api
        .get("/api/v1/boards/tied/rewards", Some(&service()))
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["state"], "final", "{}", listed.body);
    let paid = |who: &str| (who.to_string(), 1, json!({"xp": 1}));
    assert_eq!(
        awards(&listed.body["awards"]),
        [paid("ann"), paid("bob"), paid("cat"), paid("dan")],
        "eve, rank 5, is not paid"
    );
}

/// What the worker left of `board`'s run, for a test that waited for it in vain: the schedule's
/// register, the board's announced end and awards, the webhook outbox's length, and the worker's
/// log's end.
fn worker_state(api: &Api, board: &str) -> String {
    let mut c = api.redis.conn();
    let mut read = |args: &[&str]| -> String {
        redis::cmd(args[0])
            .arg(&args[1..])
            .query::<redis::Value>(&mut c)
            .map_or_else(|e| format!("({e})"), |v| format!("{v:?}"))
    };
    let register = read(&["ZRANGE", edge::schedule::REGISTER, "0", "-1", "WITHSCORES"]);
    let keys = read(&["KEYS", &format!("lb:{{default/{board}}}:*")]);
    let log = api
        .worker
        .as_ref()
        .map(harness::TestApp::guest_log)
        .unwrap_or_default();
    let cut = (log.len().saturating_sub(3000)..log.len())
        .find(|&i| log.is_char_boundary(i))
        .unwrap_or(log.len());
    format!(
        "the schedule's register {register}; the board's keys {keys}; the worker's log ends:\n{}",
        &log[cut..]
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tournament_that_ends_by_itself_is_awarded_by_the_worker_and_announced_once() {
    let (api, receiver, secret) = crate::receiver::subscribed(&["rewards.awarded"], 5).await;
    let hook = standardwebhooks::Webhook::new(&secret).unwrap();
    // Open for a few seconds; nobody ends it, reads its rewards or claims from it.
    api.create_board(json!({"id": "dash", "tournament": {
        "title": "Dash", "start": moment(-1), "duration_secs": 5},
        "rewards": [{"from": 1, "to": 2, "reward": {"xp": 5}}]}))
        .await;
    for (who, score) in [("ann", 3), ("bob", 9), ("cat", 1)] {
        let r = api
            .submit("dash", json!({"player": who, "score": score}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    // The worker awards the run once its end is due (4 s from now), and the deliverer sends it
    // at once; a worker's step that failed leaves its item leased, due again a lease later, and
    // a delivery that failed is sent again on the retry schedule (1 s, 1 s, 1 s): the bound
    // allows one of each, and as much again for a machine under load.
    let bound = 2 * (4 + edge::schedule::LEASE_MS.unsigned_abs() / 1000 + 3);
    let Some(got) = receiver.try_wait_for(bound, |got| !got.is_empty()).await else {
        panic!(
            "no rewards.awarded within {bound} s: {}",
            worker_state(&api, "dash")
        );
    };
    let body = got[0].json();
    hook.verify(&got[0].body, &got[0].headers)
        .unwrap_or_else(|e| panic!("rewards.awarded: the signature does not verify: {e}"));
    assert_eq!(body["type"], "rewards.awarded", "{body}");
    assert_eq!(body["data"]["board"], "dash");
    assert_eq!(body["data"]["state"], "final");
    assert_eq!(
        awards(&body["data"]["awards"]),
        [
            ("bob".to_string(), 1, json!({"xp": 5})),
            ("ann".to_string(), 2, json!({"xp": 5}))
        ]
    );
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), 1, "announced once");
    assert_eq!(logged(&api, "dash", "rewards_awarded").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn rewards_wait_for_the_runs_open_reviews_then_pay_the_standings_they_leave() {
    let api = start().await;
    let r = api
        .create_board(json!({"id": "held", "tournament": {
            "title": "Held", "start": moment(-5), "duration_secs": 3600},
            "integrity": {"improvement": {"max_abs": 1000, "window_secs": 3600, "action": "hold"}},
            "rewards": [{"from": 1, "reward": "trophy"}]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    for (who, score, status) in [("ann", 900, 201), ("bob", 100, 201), ("bob", 5000, 202)] {
        let r = api
            .submit("held", json!({"player": who, "score": score}))
            .await;
        assert_eq!(r.status, status, "{}", r.body);
    }
    let review = api
        .get("/api/v1/boards/held/reviews?status=open", Some(&admin()))
        .await;
    let id = review.body["reviews"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no open review: {}", review.body))
        .to_string();
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards/held/tournament/end",
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The worker's register keeps the run until its grace ends, when it awards it whatever is
    // open then.
    let end_ms =
        chrono::DateTime::parse_from_rfc3339(r.body["tournament"]["end"].as_str().unwrap())
            .unwrap()
            .timestamp_millis();
    let due: Option<f64> = redis::cmd("ZSCORE")
        .arg(edge::schedule::REGISTER)
        .arg(crate::api_leagues::competition_item("held"))
        .query(&mut api.redis.conn())
        .unwrap();
    assert_eq!(due, Some((end_ms + 24 * 3_600_000) as f64));

    // Ended with a review open: not final, so nothing is claimed yet (ann leads for now).
    let ann = rewards_of(&api, "held", "ann").await;
    assert_eq!(ann.status, 200, "{}", ann.body);
    assert_eq!(ann.body["state"], "pending", "{}", ann.body);
    assert!(ann.body["pending_until"].is_string(), "{}", ann.body);
    assert_eq!(ann.body["award"], Value::Null);
    claim(&api, "held", "ann", &player("ann"))
        .await
        .assert_problem(409, "not final");

    // The approval applies bob's 5,000 and lets the run be awarded: bob wins, not ann. Readers
    // race the approval: each sees the rewards pending or final, and the run is awarded once.
    let approve = format!("/api/v1/boards/held/reviews/{id}/approve");
    let admin_token = admin();
    let approval = api.call(Method::POST, &approve, Some(&admin_token), None, &[]);
    let readers = futures::future::join_all((0..12).map(|_| rewards_of(&api, "held", "bob")));
    let (r, read) = futures::join!(approval, readers);
    assert_eq!(r.status, 200, "{}", r.body);
    for seen in &read {
        assert_eq!(seen.status, 200, "{}", seen.body);
        let state = seen.body["state"].as_str().unwrap();
        assert!(state == "pending" || state == "final", "{}", seen.body);
        if state == "final" {
            assert_eq!(seen.body["award"]["rank"], 1, "{}", seen.body);
        }
    }
    let bob = rewards_of(&api, "held", "bob").await;
    assert_eq!(bob.body["state"], "final", "{}", bob.body);
    let finals: std::collections::HashSet<String> = read
        .iter()
        .filter(|r| r.body["state"] == "final")
        .map(|r| r.body["awarded_at"].to_string())
        .chain([bob.body["awarded_at"].to_string()])
        .collect();
    assert_eq!(finals.len(), 1, "awarded once: {finals:?}");
    assert_eq!(bob.body["award"]["rank"], 1);
    assert_eq!(bob.body["award"]["reward"], "trophy");
    let ann = rewards_of(&api, "held", "ann").await;
    assert_eq!(ann.body["award"], Value::Null, "{}", ann.body);
    claim(&api, "held", "ann", &player("ann"))
        .await
        .assert_problem(404, "no reward");
    assert_eq!(claim(&api, "held", "bob", &player("bob")).await.status, 200);
    assert_eq!(logged(&api, "held", "rewards_awarded").await, 1);

    // The decision of a run's last open review awards it by itself, before anyone reads it.
    let r = api
        .create_board(json!({"id": "held-2", "tournament": {
            "title": "Held 2", "start": moment(-5), "duration_secs": 3600},
            "integrity": {"improvement": {"max_abs": 1000, "window_secs": 3600, "action": "hold"}},
            "rewards": [{"from": 1, "reward": "trophy"}]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    for (score, status) in [(100, 201), (5000, 202)] {
        let r = api
            .submit("held-2", json!({"player": "dan", "score": score}))
            .await;
        assert_eq!(r.status, status, "{}", r.body);
    }
    let open = api
        .get("/api/v1/boards/held-2/reviews?status=open", Some(&admin()))
        .await;
    let id = open.body["reviews"][0]["id"].as_str().unwrap().to_string();
    for path in [
        "/api/v1/boards/held-2/tournament/end".to_string(),
        format!("/api/v1/boards/held-2/reviews/{id}/approve"),
    ] {
        let r = api
            .call(Method::POST, &path, Some(&admin()), None, &[])
            .await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
    }
    let awards: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
        .arg("lb:{default/held-2}:awards:all")
        .query(&mut api.redis.conn())
        .unwrap();
    assert_eq!(
        awards.get("p:dan").map(String::as_str),
        Some("1"),
        "{awards:?}"
    );
    assert_eq!(logged(&api, "held-2", "rewards_awarded").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reward_table_is_checked_and_served_where_a_run_closes() {
    let api = start().await;
    let t = json!({"title": "T", "start": moment(60), "duration_secs": 60});
    for (config, needle) in [
        (
            json!({"id": "plain", "rewards": [{"from": 1, "reward": 1}]}),
            "never closes",
        ),
        (
            json!({"id": "overlap", "tournament": t,
                   "rewards": [{"from": 1, "to": 3, "reward": 1}, {"from": 3, "reward": 2}]}),
            "overlap",
        ),
        (
            json!({"id": "null", "tournament": t, "rewards": [{"from": 1, "reward": null}]}),
            "null",
        ),
        (
            json!({"id": "far", "tournament": t, "rewards": [{"from": 1, "to": 10001, "reward": 1}]}),
            "10000",
        ),
        (
            json!({"id": "none", "tournament": t, "rewards": []}),
            "1 to 100",
        ),
        (
            json!({"id": "later", "write_mode": "async", "tournament": t,
                   "rewards": [{"from": 1, "reward": 1}]}),
            "write_mode sync",
        ),
    ] {
        api.post_board(config).await.assert_problem(422, needle);
    }
    // Nothing was stored by a refusal; a board without rewards has none to read or claim.
    let r = api.get("/api/v1/boards/plain", Some(&admin())).await;
    assert_eq!(r.status, 404, "{}", r.body);
    api.create_board(json!({"id": "bare", "tournament": t}))
        .await;
    api.get(
        "/api/v1/boards/bare/rewards?player=ann",
        Some(&player("ann")),
    )
    .await
    .assert_problem(409, "no rewards");
    claim(&api, "bare", "ann", &player("ann"))
        .await
        .assert_problem(409, "no rewards");
    claim(&api, "missing", "ann", &player("ann"))
        .await
        .assert_problem(404, "missing");
}
