//! Leagues through HTTP (docs/competitions.md#leagues): a daily league of three tiers closed
//! twice, checked player by player — in the answers' cohorts, in the tiers Redis keeps and in
//! the log — with racing first submissions closing a period once, and the configurations a
//! league refuses.
//!
//! Neither runtime's clock is moved (Spin has no test clock): a period "ends" when the test
//! moves its keys in Redis to an earlier day, as they would stand had it been played then. The
//! app then finds that day ended and not closed, as it would the morning after.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::api::{Api, admin, player};
use crate::api_cohorts::arrivals;

const BOARD: &str = "ladder";

fn key(suffix: &str) -> String {
    board_key(BOARD, suffix)
}

/// A key of `board` (of the default tenant).
pub(crate) fn board_key(board: &str, suffix: &str) -> String {
    format!("lb:{{default/{board}}}:{suffix}")
}

/// The schedule's item for `board`'s competition (of the default tenant), as its register
/// holds it.
pub(crate) fn competition_item(board: &str) -> String {
    format!("competition:default/{board}")
}

/// Rings the schedule for `board` at once, as at its period's end: the board's competition due
/// now, and the schedule's alarm expiring, which wakes the worker.
pub(crate) fn ring_register(api: &Api, board: &str) {
    let mut redis = api.redis.conn();
    let _: i64 = redis::cmd("ZADD")
        .arg(edge::schedule::REGISTER)
        .arg(0)
        .arg(competition_item(board))
        .query(&mut redis)
        .unwrap();
    let () = redis::cmd("SET")
        .arg(edge::schedule::ALARM)
        .arg(1)
        .arg("PX")
        .arg(1)
        .query(&mut redis)
        .unwrap();
}

/// Waits (up to 30 s) until the schedule's register holds `board` as due at the end of
/// `today` (UTC): how the worker notes a daily board or tournament once it has served the day
/// before. `what` says what the wait was for, should it fail.
pub(crate) async fn await_due_at_days_end(api: &Api, board: &str, today: &str, what: &str) {
    let midnight = (today.parse::<NaiveDate>().unwrap() + chrono::Days::new(1))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis() as f64;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let due: Option<f64> = redis::cmd("ZSCORE")
            .arg(edge::schedule::REGISTER)
            .arg(competition_item(board))
            .query(&mut api.redis.conn())
            .unwrap();
        if due == Some(midnight) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: {board} is due at {due:?}, not at today's end"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn move_day(api: &Api, today: &str, day: &str) {
    move_board_day(api, BOARD, 3, today, day);
}

/// Moves the keys of `today`'s standings of `board` (cohorts of `size`) to `day`, as if it had
/// been played then: the board's sorted set, records and members, the cohorts' arrivals,
/// placements and sets, and the period in the board's set of periods.
pub(crate) fn move_board_day(api: &Api, board: &str, size: u64, today: &str, day: &str) {
    let key = |suffix: &str| board_key(board, suffix);
    let mut redis = api.redis.conn();
    let counted = arrivals(api, board, today);
    let mut moved = vec![
        format!("z:{today}"),
        format!("r:{today}"),
        format!("m:{today}"),
        format!("cohorts:{today}"),
        format!("placed:{today}"),
    ];
    for (field, count) in &counted {
        let band = field.strip_prefix("n:").map(|b| format!("{b}."));
        let band = band.as_deref().unwrap_or_default();
        let cohorts = count.parse::<u64>().unwrap().div_ceil(size);
        moved.extend((1..=cohorts).map(|c| format!("z:{today}:c:{band}{c}")));
    }
    for from in moved {
        let to = from.replacen(today, day, 1);
        let () = redis::cmd("RENAME")
            .arg(key(&from))
            .arg(key(&to))
            .query(&mut redis)
            .unwrap_or_else(|e| panic!("RENAME {from} {to}: {e}"));
    }
    let _: i64 = redis::cmd("SREM")
        .arg(key("periods"))
        .arg(today)
        .query(&mut redis)
        .unwrap();
    let _: i64 = redis::cmd("SADD")
        .arg(key("periods"))
        .arg(day)
        .query(&mut redis)
        .unwrap();
}

/// Each player's first score of the period (at once when `together`), answering its cohort.
async fn play(api: &Api, scores: &[(&str, i64)], together: bool) -> HashMap<String, String> {
    if together {
        futures::future::join_all(scores.iter().map(|(who, score)| first(api, who, *score)))
            .await
            .into_iter()
            .collect()
    } else {
        let mut got = HashMap::new();
        for (who, score) in scores {
            let (who, cohort) = first(api, who, *score).await;
            got.insert(who, cohort);
        }
        got
    }
}

/// A player's score, answering its cohort.
async fn first(api: &Api, who: &str, score: i64) -> (String, String) {
    let r = api
        .submit(BOARD, json!({"player": who, "score": score}))
        .await;
    assert_eq!(r.status, 201, "{who}: {}", r.body);
    (
        who.to_string(),
        r.body["cohort"].as_str().unwrap().to_string(),
    )
}

fn tiers(api: &Api) -> HashMap<String, String> {
    redis::cmd("HGETALL")
        .arg(key("tiers"))
        .query(&mut api.redis.conn())
        .unwrap()
}

/// The board's `league_closed` events' data, oldest first.
async fn closes(api: &Api) -> Vec<Value> {
    crate::api_tournament_window::log_of(api, BOARD)
        .await
        .into_iter()
        .filter(|e| e["type"] == "league_closed")
        .map(|e| e["data"].clone())
        .collect()
}

fn day_before(day: &str, n: u64) -> String {
    let d: NaiveDate = day.parse().unwrap();
    (d - chrono::Days::new(n)).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_league_closes_each_period_once_moving_each_cohorts_best_up_and_worst_down() {
    let (api, receiver, secret) = crate::receiver::subscribed(&["league.closed"], 1).await;
    api.create_board(json!({"id": BOARD, "period": "daily", "cohort_size": 3,
        "league": {"tiers": ["bronze", "silver", "gold"], "promote": 1, "demote": 1}}))
        .await;

    // Day one: six new players, all in the lowest tier, two cohorts by arrival.
    let day_one = play(
        &api,
        &[
            ("a1", 10),
            ("a2", 20),
            ("a3", 30),
            ("a4", 40),
            ("a5", 50),
            ("a6", 60),
        ],
        false,
    )
    .await;
    let today = {
        let r = api
            .get(&format!("/api/v1/boards/{BOARD}"), Some(&admin()))
            .await;
        r.body["period_info"]["current"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for (who, cohort) in [("a1", "bronze.1"), ("a3", "bronze.1"), ("a4", "bronze.2")] {
        assert_eq!(day_one[who], cohort, "{who}");
    }
    assert!(tiers(&api).is_empty());
    let (day1, day2, day3) = (
        day_before(&today, 3),
        day_before(&today, 2),
        day_before(&today, 1),
    );
    move_day(&api, &today, &day1);

    // Day two: five first scores at once. Each finds day one ended and not closed; it is closed
    // once: each bronze cohort's best (a3, a6) moves up, and no one down from the lowest.
    let second = play(
        &api,
        &[("a3", 5), ("a6", 7), ("a1", 9), ("a4", 3), ("a7", 6)],
        true,
    )
    .await;
    for (who, cohort) in [
        ("a3", "silver.1"),
        ("a6", "silver.1"),
        ("a1", "bronze.1"),
        ("a4", "bronze.1"),
        ("a7", "bronze.1"),
    ] {
        assert_eq!(second[who], cohort, "{who}");
    }
    let after_one = tiers(&api);
    assert_eq!(after_one.len(), 2, "{after_one:?}");
    assert_eq!(after_one["a3"], "silver");
    assert_eq!(after_one["a6"], "silver");
    let logged = closes(&api).await;
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(
        logged[0],
        json!({"period": day1, "promoted": 2, "demoted": 0, "stayed": 4})
    );
    move_day(&api, &today, &day2);

    // Day three: silver's best (a6) moves up to gold and its worst (a3) down; bronze's best (a1)
    // up. a2 and a5 did not play day two: they keep their tier, as do a4 and a7.
    let third = play(
        &api,
        &[
            ("a1", 1),
            ("a2", 1),
            ("a3", 1),
            ("a4", 1),
            ("a5", 1),
            ("a6", 1),
            ("a7", 1),
        ],
        false,
    )
    .await;
    let expected = [
        ("a1", "silver.1"),
        ("a2", "bronze.1"),
        ("a3", "bronze.1"),
        ("a4", "bronze.1"),
        ("a5", "bronze.2"),
        ("a6", "gold.1"),
        ("a7", "bronze.2"),
    ];
    for (who, cohort) in expected {
        assert_eq!(third[who], cohort, "{who}");
    }
    let after_two = tiers(&api);
    assert_eq!(
        after_two,
        HashMap::from([
            ("a1".to_string(), "silver".to_string()),
            ("a3".to_string(), "bronze".to_string()),
            ("a6".to_string(), "gold".to_string()),
        ])
    );
    let logged = closes(&api).await;
    assert_eq!(logged.len(), 2, "{logged:?}");
    assert_eq!(
        logged[1],
        json!({"period": day2, "promoted": 2, "demoted": 1, "stayed": 2})
    );
    // Both closes are marked in Redis; today's is not.
    let marks: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(key("league"))
        .query(&mut api.redis.conn())
        .unwrap();
    for day in [&day1, &day2] {
        assert!(marks.contains_key(&format!("closing:{day}")), "{marks:?}");
        assert!(marks.contains_key(&format!("closed:{day}")), "{marks:?}");
    }
    // Yesterday is frozen too, by today's first placement: no write still under way lands in
    // it once players are placed by the tiers the closes left.
    assert!(marks.contains_key(&format!("closing:{day3}")), "{marks:?}");
    assert_eq!(marks.len(), 5, "{marks:?}");

    // Once a period's close has begun, nothing more is written in it: a submission decided as
    // it ended is refused, to be sent again (into the next period). The mark is set here as a
    // close of today would set it.
    let _: i64 = redis::cmd("HSET")
        .arg(key("league"))
        .arg(format!("closing:{today}"))
        .arg("1")
        .query(&mut api.redis.conn())
        .unwrap();
    api.submit(BOARD, json!({"player": "a1", "score": 99}))
        .await
        .assert_problem(409, "send it again");
    let standing = api
        .get(
            &format!("/api/v1/boards/{BOARD}/players/a1"),
            Some(&admin()),
        )
        .await;
    assert_eq!(standing.body["score"], 1, "{}", standing.body);
    // The mark is taken back: no close of today was begun.
    let _: i64 = redis::cmd("HDEL")
        .arg(key("league"))
        .arg(format!("closing:{today}"))
        .query(&mut api.redis.conn())
        .unwrap();

    // Day three ends and no one plays the next: the worker closes it when the competitions'
    // register rings (here rung at once, as at the period's end). Each cohort's best moves up:
    // a1 alone in silver; a2 and a5, first of their tied cohorts (the earlier achievement
    // first); a6, alone in the top tier, moves down.
    move_day(&api, &today, &day3);
    ring_register(&api, BOARD);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let logged = loop {
        let logged = closes(&api).await;
        if logged.len() == 3 {
            break logged;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker did not close {day3} within 30 s: {logged:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(
        logged[2],
        json!({"period": day3, "promoted": 3, "demoted": 1, "stayed": 3})
    );
    assert_eq!(
        tiers(&api),
        HashMap::from([
            ("a1".to_string(), "gold".to_string()),
            ("a2".to_string(), "silver".to_string()),
            ("a3".to_string(), "bronze".to_string()),
            ("a5".to_string(), "silver".to_string()),
            ("a6".to_string(), "silver".to_string()),
        ])
    );
    // The board is noted again for today's end.
    await_due_at_days_end(&api, BOARD, &today, "the close noted the board anew").await;

    // Each close is one signed `league.closed` webhook (Standard Webhooks), with the log's
    // counts.
    let hook = standardwebhooks::Webhook::new(&secret).unwrap();
    let got = receiver
        .wait_for(30, |got| got.len() >= 3, || async {})
        .await;
    let mut sent: Vec<Value> = got
        .iter()
        .map(|r| {
            hook.verify(&r.body, &r.headers)
                .unwrap_or_else(|e| panic!("league.closed: the signature does not verify: {e}"));
            r.json()
        })
        .collect();
    sent.sort_by_key(|m| m["data"]["period"].as_str().unwrap_or_default().to_string());
    assert_eq!(sent.len(), 3, "one message per close: {sent:?}");
    for (message, logged) in sent.iter().zip(&logged) {
        assert_eq!(message["type"], "league.closed");
        let data = &message["data"];
        assert_eq!(data["board"], BOARD);
        for field in ["period", "promoted", "demoted", "stayed"] {
            assert_eq!(data[field], logged[field], "{field}: {message}");
        }
    }

    // A player reads where it stands: its tier for today, and how the last close moved it.
    let standing = |who: &str, token: String| {
        let api = &api;
        let path = format!("/api/v1/boards/{BOARD}/league?player={who}");
        async move { api.get(&path, Some(&token)).await }
    };
    let a1 = standing("a1", player("a1")).await;
    assert_eq!(a1.status, 200, "{}", a1.body);
    assert_eq!(a1.body["tier"], "gold", "{}", a1.body);
    assert_eq!(a1.body["tiers"], json!(["bronze", "silver", "gold"]));
    assert_eq!(a1.body["cohort"], Value::Null, "not placed today yet");
    assert_eq!(a1.body["period"], today.as_str());
    let last = &a1.body["last_close"];
    assert_eq!(
        (
            &last["period"],
            &last["played"],
            &last["from"],
            &last["move"]
        ),
        (
            &json!(day3),
            &json!(true),
            &json!("silver"),
            &json!("promoted")
        ),
        "{last}"
    );
    // Its history: each close kept, newest first, with the tier it played and how it moved.
    let history = |body: &Value| -> Vec<(String, Value, Value)> {
        body["history"]
            .as_array()
            .unwrap_or_else(|| panic!("no history in {body}"))
            .iter()
            .map(|h| {
                (
                    h["period"].as_str().unwrap().to_string(),
                    h["from"].clone(),
                    h["move"].clone(),
                )
            })
            .collect()
    };
    let step = |day: &str, from: &str, moved: &str| (day.to_string(), json!(from), json!(moved));
    assert_eq!(
        history(&a1.body),
        [
            step(&day3, "silver", "promoted"),
            step(&day2, "bronze", "promoted"),
            step(&day1, "bronze", "stayed"),
        ]
    );
    let a6 = standing("a6", crate::api::service()).await;
    assert_eq!(a6.body["tier"], "silver");
    assert_eq!(a6.body["last_close"]["move"], "demoted");
    assert_eq!(
        history(&a6.body),
        [
            step(&day3, "gold", "demoted"),
            step(&day2, "silver", "promoted"),
            step(&day1, "bronze", "promoted"),
        ]
    );
    let a4 = standing("a4", admin()).await;
    assert_eq!(a4.body["tier"], "bronze");
    assert_eq!(a4.body["last_close"]["move"], "stayed");
    let new = standing("z9", player("z9")).await;
    assert_eq!(new.body["tier"], "bronze");
    assert_eq!(
        (
            &new.body["last_close"]["played"],
            &new.body["last_close"]["move"]
        ),
        (&json!(false), &Value::Null)
    );
    assert_eq!(
        history(&new.body),
        [&day3, &day2, &day1].map(|d| (d.to_string(), Value::Null, Value::Null))
    );
    // Once placed today, its cohort says so.
    first(&api, "a1", 3).await;
    assert_eq!(standing("a1", player("a1")).await.body["cohort"], "gold.1");
    standing("a1", player("a2"))
        .await
        .assert_problem(403, "its own subject");
    api.get(&format!("/api/v1/boards/{BOARD}/league"), Some(&admin()))
        .await
        .assert_problem(400, "player");
    api.create_board(json!({"id": "flat"})).await;
    api.get("/api/v1/boards/flat/league?player=a1", Some(&admin()))
        .await
        .assert_problem(409, "not a league");

    // A league's cohorts are its tiers': no caller names a band.
    api.submit(BOARD, json!({"player": "a8", "score": 1, "band": "gold"}))
        .await
        .assert_problem(400, "league");
    // What a league needs.
    let league = json!({"tiers": ["low", "high"], "promote": 1, "demote": "10%"});
    for (config, why) in [
        (
            json!({"id": "l1", "cohort_size": 3, "league": league}),
            "period that resets",
        ),
        (
            json!({"id": "l2", "period": "daily", "league": league}),
            "cohort_size",
        ),
        (
            json!({"id": "l3", "period": "daily", "cohort_size": 3, "write_mode": "async",
                "league": league}),
            "write_mode sync",
        ),
        (
            json!({"id": "l6", "period": "daily", "cohort_size": 3, "retain_periods": 0,
                "league": league}),
            "retain_periods",
        ),
        (
            json!({"id": "l7", "period": "daily", "cohort_size": 3, "league": league,
                "integrity": {"velocity": {"max": 5, "window_secs": 60, "action": "hold"}}}),
            "hold",
        ),
        (
            json!({"id": "l4", "period": "daily", "cohort_size": 3,
                "league": {"tiers": ["low", "low"], "promote": 1, "demote": 1}}),
            "twice",
        ),
        (
            json!({"id": "l5", "period": "daily", "cohort_size": 3,
                "league": {"tiers": ["low", "high"], "promote": "101%", "demote": 1}}),
            "percentage",
        ),
    ] {
        api.call(
            reqwest::Method::POST,
            "/api/v1/boards",
            Some(&admin()),
            Some(config),
            &[],
        )
        .await
        .assert_problem(422, why);
    }

    // Still one message per close, long after they were made.
    assert_eq!(receiver.received().len(), 3);

    // Deleting the board takes its closes and tiers along.
    let r = api
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/boards/{BOARD}"),
            Some(&admin()),
            None,
            &[],
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let left: i64 = redis::cmd("EXISTS")
        .arg(key("league"))
        .query(&mut api.redis.conn())
        .unwrap();
    let tiers_left: i64 = redis::cmd("EXISTS")
        .arg(key("tiers"))
        .query(&mut api.redis.conn())
        .unwrap();
    assert_eq!((left, tiers_left), (0, 0));
}
