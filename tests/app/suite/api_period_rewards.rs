//! Rewards at a period's close through HTTP (docs/competitions.md#rewards): a daily board with
//! cohorts pays each cohort's best once its day ended, whoever reads first; a league pays per
//! tier, awarded by the worker when its register rings at the period's end.
//!
//! As in `api_leagues`, no clock is moved: a day "ends" when the test moves its keys in Redis to
//! yesterday, as they would stand had it been played then.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::api::{Api, admin, gql, player, service};
use crate::api_connect::connect_as;
use crate::api_leagues::{await_due_at_days_end, board_key, move_board_day, ring_register};

/// The data of the board's `rewards_awarded` log entries, oldest first.
pub(crate) async fn awarded(api: &Api, board: &str) -> Vec<Value> {
    crate::api_tournament_window::log_of(api, board)
        .await
        .into_iter()
        .filter(|e| e["type"] == "rewards_awarded")
        .map(|e| e["data"].clone())
        .collect()
}

async fn today(api: &Api, board: &str) -> String {
    let r = api
        .get(&format!("/api/v1/boards/{board}"), Some(&admin()))
        .await;
    r.body["period_info"]["current"]
        .as_str()
        .unwrap_or_else(|| panic!("no current period: {}", r.body))
        .to_string()
}

fn yesterday(day: &str) -> String {
    let d: NaiveDate = day.parse().unwrap();
    (d - chrono::Days::new(1)).to_string()
}

async fn play(api: &Api, board: &str, scores: &[(&str, i64)]) -> HashMap<String, String> {
    let mut cohorts = HashMap::new();
    for (who, score) in scores {
        let r = api
            .submit(board, json!({"player": who, "score": score}))
            .await;
        assert_eq!(r.status, 201, "{who}: {}", r.body);
        cohorts.insert(who.to_string(), r.body["cohort"].as_str().unwrap().into());
    }
    cohorts
}

/// (player, rank, reward, cohort) of each award listed, in the listing's order.
fn listed(body: &Value) -> Vec<(String, u64, Value, String)> {
    body["awards"]
        .as_array()
        .unwrap_or_else(|| panic!("no awards in {body}"))
        .iter()
        .map(|a| {
            (
                a["player"].as_str().unwrap().to_string(),
                a["rank"].as_u64().unwrap(),
                a["reward"].clone(),
                a["cohort"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_daily_board_pays_each_cohorts_best_once_its_day_ended_and_a_league_pays_per_tier() {
    let (mut api, receiver, secret) = crate::receiver::subscribed(&["rewards.awarded"], 10).await;
    const PODS: &str = "pods-daily";
    api.create_board(json!({"id": PODS, "period": "daily", "cohort_size": 3,
        "rewards": [{"from": 1, "reward": {"gems": 100}}, {"from": 2, "reward": {"gems": 10}}]}))
        .await;
    let cohorts = play(
        &api,
        PODS,
        &[("p1", 10), ("p2", 20), ("p3", 30), ("p4", 40), ("p5", 50)],
    )
    .await;
    assert_eq!((cohorts["p3"].as_str(), cohorts["p4"].as_str()), ("1", "2"));
    let today = today(&api, PODS).await;
    let day = yesterday(&today);

    // Today is open: nothing is paid, and a claim says why.
    let path = format!("/api/v1/boards/{PODS}/rewards");
    let open = api
        .get(
            &format!("{path}?player=p3&period={today}"),
            Some(&player("p3")),
        )
        .await;
    assert_eq!(open.status, 200, "{}", open.body);
    assert_eq!(
        (&open.body["state"], &open.body["award"]),
        (&json!("open"), &Value::Null)
    );
    let claim = |who: &str, token: String, period: Option<&str>| {
        let (api, path) = (&api, format!("{path}/claim"));
        let mut body = json!({"player": who});
        if let Some(p) = period {
            body["period"] = json!(p);
        }
        async move {
            api.call(reqwest::Method::POST, &path, Some(&token), Some(body), &[])
                .await
        }
    };
    claim("p3", player("p3"), Some(&today))
        .await
        .assert_problem(409, "not closed");
    api.get(&format!("{path}?player=p3&period=2020-W01"), Some(&admin()))
        .await
        .assert_problem(400, "daily");

    // The day ends. The first reads pay it, once however many race, by the ranks each cohort
    // saw: cohort 1's p3 and p2, cohort 2's p5 and p4; p1, third of its cohort, gets nothing.
    move_board_day(&api, PODS, 3, &today, &day);
    let raced = futures::future::join_all((0..5).map(|_| {
        let path = format!("{path}?player=p3");
        let api = &api;
        async move { api.get(&path, Some(&player("p3"))).await }
    }))
    .await;
    for r in &raced {
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["awarded_at"], raced[0].body["awarded_at"]);
    }
    assert_eq!(
        awarded(&api, PODS).await,
        [json!({"period": day, "awarded": 4})]
    );
    let p3 = api
        .get(&format!("{path}?player=p3"), Some(&player("p3")))
        .await;
    assert_eq!(p3.status, 200, "{}", p3.body);
    assert_eq!(
        (&p3.body["state"], &p3.body["period"], &p3.body["awarded"]),
        (&json!("final"), &json!(day), &json!(4)),
        "{}",
        p3.body
    );
    assert_eq!(
        p3.body["award"],
        json!({"player": "p3", "rank": 1, "reward": {"gems": 100}, "cohort": "1",
               "claimed_at": null})
    );
    let p1 = api
        .get(&format!("{path}?player=p1&period={day}"), Some(&service()))
        .await;
    assert_eq!(p1.body["award"], Value::Null, "{}", p1.body);
    // A day no one played pays no one, and nothing is written for it.
    let empty = yesterday(&day);
    api.get(
        &format!("{path}?player=p1&period={empty}"),
        Some(&player("p1")),
    )
    .await
    .assert_problem(404, "no one played");
    let exists: i64 = redis::cmd("EXISTS")
        .arg(board_key(PODS, &format!("awards:{empty}")))
        .query(&mut api.redis.conn())
        .unwrap();
    assert_eq!(exists, 0);
    let all = api.get(&path, Some(&admin())).await;
    assert_eq!(
        listed(&all.body),
        [
            ("p3", 1, json!({"gems": 100}), "1"),
            ("p2", 2, json!({"gems": 10}), "1"),
            ("p5", 1, json!({"gems": 100}), "2"),
            ("p4", 2, json!({"gems": 10}), "2"),
        ]
        .map(|(p, r, w, c)| (p.to_string(), r, w, c.to_string()))
    );
    // Its close was begun first (no write lands in the day from then on), and the awards are
    // kept for 90 days after it, not for ever.
    let mut redis = api.redis.conn();
    let marked: bool = redis::cmd("HEXISTS")
        .arg(board_key(PODS, "league"))
        .arg(format!("closing:{day}"))
        .query(&mut redis)
        .unwrap();
    assert!(marked);
    let ttl: i64 = redis::cmd("PTTL")
        .arg(board_key(PODS, &format!("awards:{day}")))
        .query(&mut redis)
        .unwrap();
    assert!((80 * 86_400_000..=90 * 86_400_000).contains(&ttl), "{ttl}");

    // Claimed once: the second claim answers the first's time.
    let first = claim("p5", player("p5"), None).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        (
            &first.body["rank"],
            &first.body["cohort"],
            &first.body["reward"]
        ),
        (&json!(1), &json!("2"), &json!({"gems": 100}))
    );
    let again = claim("p5", service(), Some(&day)).await;
    assert_eq!(again.body, first.body);
    claim("p1", player("p1"), None)
        .await
        .assert_problem(404, "no reward");

    // GraphQL answers the same: the award, and a claim taken once.
    let got = gql(
        &api,
        player("p2"),
        format!(
            r#"{{ rewards(board: "{PODS}", player: "p2") {{ state period awarded
                award {{ rank reward cohort claimedAt }} }} }}"#
        ),
    )
    .await;
    assert_eq!(
        got["data"]["rewards"],
        json!({"state": "final", "period": day, "awarded": 4,
               "award": {"rank": 2, "reward": "{\"gems\":10}", "cohort": "1", "claimedAt": null}}),
        "{got}"
    );
    let claim_p2 = format!(
        r#"mutation {{ claimReward(board: "{PODS}", player: "p2") {{ rank claimedAt }} }}"#
    );
    let first = gql(&api, player("p2"), claim_p2.clone()).await;
    let again = gql(&api, service(), claim_p2.clone()).await;
    assert!(
        first["data"]["claimReward"]["claimedAt"].is_string(),
        "{first}"
    );
    assert_eq!(first["data"], again["data"]);
    let refused = gql(&api, player("p3"), claim_p2).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    // And Connect (`buf curl`, which encodes from the .proto): the award, a claim taken once.
    let p4 = [format!("Authorization: Bearer {}", player("p4"))];
    let connect = |method: &'static str, data: Value| {
        let (api, p4) = (&api, &p4);
        async move {
            crate::api_connect::buf_curl(api, "connect", method, data, p4)
                .await
                .unwrap_or_else(|e| panic!("{method}: {e}"))
        }
    };
    let got = connect("GetRewards", json!({"board": PODS, "player": "p4"})).await;
    assert_eq!(
        (
            &got["state"],
            &got["period"],
            &got["award"]["rank"],
            &got["award"]["cohort"]
        ),
        (&json!("final"), &json!(day), &json!("2"), &json!("2")),
        "{got}"
    );
    let first = connect("ClaimReward", json!({"board": PODS, "player": "p4"})).await;
    let again = connect(
        "ClaimReward",
        json!({"board": PODS, "player": "p4", "period": day}),
    )
    .await;
    assert!(first["award"]["claimedAt"].is_string(), "{first}");
    assert_eq!(first, again);
    // The operators' listing, as REST lists it: two a page by GraphQL, the next by Connect;
    // a player's token may not list.
    let rest_all = api.get(&path, Some(&admin())).await.body;
    let page = gql(
        &api,
        service(),
        format!(
            r#"{{ awards(board: "{PODS}", limit: 2) {{ state period awarded
                awards {{ player rank reward cohort claimedAt }} nextCursor }} }}"#
        ),
    )
    .await;
    let page = &page["data"]["awards"];
    let gql_awards: Vec<(Value, Value)> = page["awards"]
        .as_array()
        .unwrap_or_else(|| panic!("no awards in {page}"))
        .iter()
        .map(|a| (a["player"].clone(), a["claimedAt"].clone()))
        .collect();
    let rest_awards: Vec<(Value, Value)> = rest_all["awards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["player"].clone(), a["claimed_at"].clone()))
        .collect();
    assert_eq!(gql_awards, rest_awards[..2], "{page}");
    assert_eq!(
        (&page["state"], &page["awarded"]),
        (&json!("final"), &json!(4))
    );
    let rest_page = connect_as(
        &api,
        &service(),
        "ListAwards",
        json!({"board": PODS, "cursor": page["nextCursor"]}),
    )
    .await
    .unwrap_or_else(|e| panic!("ListAwards: {e}"));
    let players: Vec<&Value> = rest_page["awards"]
        .as_array()
        .unwrap_or_else(|| panic!("no awards in {rest_page}"))
        .iter()
        .map(|a| &a["player"])
        .collect();
    assert_eq!(players, [&json!("p5"), &json!("p4")], "{rest_page}");
    assert_eq!(
        rest_page["awards"][1]["claimedAt"],
        rest_all["awards"][3]["claimed_at"]
    );
    let refused = connect_as(&api, &player("p4"), "ListAwards", json!({"board": PODS}))
        .await
        .expect_err("a player does not list a run's awards");
    assert_eq!(refused["code"], "permission_denied", "{refused}");
    // Today takes scores as before.
    assert_eq!(
        api.submit(PODS, json!({"player": "p1", "score": 5}))
            .await
            .status,
        201
    );

    // A league pays per tier. Two players start in gold (as a close would have left them).
    const LADDER: &str = "paid-ladder";
    api.create_board(json!({"id": LADDER, "period": "daily", "cohort_size": 3,
        "league": {"tiers": ["bronze", "gold"], "promote": 1, "demote": 1, "rewards": {
            "gold": [{"from": 1, "reward": "gold cup"}],
            "bronze": [{"from": 1, "to": 2, "reward": "bronze pin"}]}}}))
        .await;
    for who in ["g1", "g2"] {
        let _: i64 = redis::cmd("HSET")
            .arg(board_key(LADDER, "tiers"))
            .arg(who)
            .arg("gold")
            .query(&mut redis)
            .unwrap();
    }
    let placed = play(
        &api,
        LADDER,
        &[("g1", 5), ("g2", 9), ("b1", 1), ("b2", 2), ("b3", 3)],
    )
    .await;
    assert_eq!(
        (placed["g1"].as_str(), placed["b1"].as_str()),
        ("gold.1", "bronze.1")
    );
    move_board_day(&api, LADDER, 3, &today, &day);
    // A worker stopped half-way through the close: it froze the day, and its lease ran out.
    // The worker started again closes it when the competitions' register rings (here at once,
    // as at the period's end): the league's moves, then the awards, each once.
    api.stop_worker().await;
    // Beside it, the marks of a close long ago, whose standings are no longer kept.
    let _: i64 = redis::cmd("HSET")
        .arg(board_key(LADDER, "league"))
        .arg(format!("closing:{day}"))
        .arg(1)
        .arg("closing:2020-01-01")
        .arg(1)
        .arg("closed:2020-01-01")
        .arg(1)
        .query(&mut redis)
        .unwrap();
    api.start_worker().await;
    ring_register(&api, LADDER);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let logged = loop {
        let logged = awarded(&api, LADDER).await;
        if !logged.is_empty() {
            break logged;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker did not award {day} within 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(logged, [json!({"period": day, "awarded": 3})]);
    let all = api
        .get(&format!("/api/v1/boards/{LADDER}/rewards"), Some(&admin()))
        .await;
    let mut got = listed(&all.body);
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        [
            ("b2", 2, json!("bronze pin"), "bronze.1"),
            ("b3", 1, json!("bronze pin"), "bronze.1"),
            ("g2", 1, json!("gold cup"), "gold.1"),
        ]
        .map(|(p, r, w, c)| (p.to_string(), r, w, c.to_string()))
    );
    let closes = crate::api_tournament_window::log_of(&api, LADDER)
        .await
        .into_iter()
        .filter(|e| e["type"] == "league_closed")
        .count();
    assert_eq!(closes, 1);
    // g1, last of gold, was demoted; its league standing says so, in GraphQL as in REST.
    let league = gql(
        &api,
        player("g1"),
        format!(
            r#"{{ league(board: "{LADDER}", player: "g1") {{ tier
                lastClose {{ period from move }} history {{ period }} }} }}"#
        ),
    )
    .await;
    assert_eq!(
        league["data"]["league"],
        json!({"tier": "bronze", "lastClose": {"period": day, "from": "gold", "move": "demoted"},
               "history": [{"period": day}]}),
        "{league}"
    );
    let g1 = [format!("Authorization: Bearer {}", player("g1"))];
    let league = crate::api_connect::buf_curl(
        &api,
        "connect",
        "GetLeague",
        json!({"board": LADDER, "player": "g1"}),
        &g1,
    )
    .await
    .unwrap_or_else(|e| panic!("GetLeague: {e}"));
    assert_eq!(
        (
            &league["tier"],
            &league["lastClose"]["move"],
            &league["history"][0]["from"]
        ),
        (&json!("bronze"), &json!("demoted"), &json!("gold")),
        "{league}"
    );
    // Rung again, as after a worker that stopped before noting the board anew: the worker notes
    // it for today's end, and closes and pays nothing twice.
    ring_register(&api, LADDER);
    await_due_at_days_end(&api, LADDER, &today, "the ring noted the board anew").await;
    let log = crate::api_tournament_window::log_of(&api, LADDER).await;
    let count = |kind: &str| log.iter().filter(|e| e["type"] == kind).count();
    assert_eq!((count("league_closed"), count("rewards_awarded")), (1, 1));
    // The marks kept are the retained periods': the day's, not 2020's.
    let mut marks: Vec<String> = redis::cmd("HKEYS")
        .arg(board_key(LADDER, "league"))
        .query(&mut redis)
        .unwrap();
    marks.sort();
    assert_eq!(marks, [format!("closed:{day}"), format!("closing:{day}")]);

    // Each award is one signed `rewards.awarded` webhook, with its period and awards. Should a
    // ring have gone unheard (the worker stopped above with rings still queued), the board is
    // caught up 10 s after it.
    let hook = standardwebhooks::Webhook::new(&secret).unwrap();
    let got = receiver
        .wait_for(40, |got| got.len() >= 2, || async {})
        .await;
    let mut sent: Vec<Value> = got
        .iter()
        .map(|r| {
            hook.verify(&r.body, &r.headers)
                .unwrap_or_else(|e| panic!("rewards.awarded: the signature does not verify: {e}"));
            r.json()
        })
        .collect();
    sent.sort_by_key(|m| m["data"]["board"].as_str().unwrap_or_default().to_string());
    assert_eq!(sent.len(), 2, "one message per award: {sent:?}");
    for (message, board, count) in [(&sent[0], LADDER, 3), (&sent[1], PODS, 4)] {
        let data = &message["data"];
        assert_eq!(message["type"], "rewards.awarded");
        assert_eq!(
            (&data["board"], &data["period"], &data["awarded"]),
            (&json!(board), &json!(day), &json!(count)),
            "{message}"
        );
        assert_eq!(data["awards"].as_array().map(Vec::len), Some(count));
    }

    // Still one message per award, long after they were made.
    assert_eq!(receiver.received().len(), 2);
}
