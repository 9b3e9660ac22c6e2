//! A tournament of many runs through HTTP (docs/competitions.md#rewards): a daily tournament
//! pays each day inside its window once that day ended, as a daily board pays its periods; a
//! day outside the window is none of its runs; the worker is due at each run's close, and pays
//! the run then.
//!
//! As in `api_period_rewards`, no clock is moved: a day "ends" when the test moves its keys in
//! Redis to yesterday, as they would stand had it been played then.

use chrono::NaiveDate;
use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, admin, player, service, start_with_worker};
use crate::api_competitions::moment;
use crate::api_leagues::{await_due_at_days_end, board_key, ring_register};
use crate::api_period_rewards::awarded;

const CUP: &str = "daily-cup";

/// Moves the keys of `today`'s standings to `day` (those the board has), and the period in
/// the board's set of periods.
fn move_day(api: &Api, today: &str, day: &str) {
    let mut redis = api.redis.conn();
    for kind in ["z", "r", "m"] {
        let from = board_key(CUP, &format!("{kind}:{today}"));
        let exists: bool = redis::cmd("EXISTS").arg(&from).query(&mut redis).unwrap();
        if exists {
            let to = board_key(CUP, &format!("{kind}:{day}"));
            let () = redis::cmd("RENAME")
                .arg(&from)
                .arg(&to)
                .query(&mut redis)
                .unwrap();
        }
    }
    let _: i64 = redis::cmd("SREM")
        .arg(board_key(CUP, "periods"))
        .arg(today)
        .query(&mut redis)
        .unwrap();
    let _: i64 = redis::cmd("SADD")
        .arg(board_key(CUP, "periods"))
        .arg(day)
        .query(&mut redis)
        .unwrap();
}

fn days_before(day: &str, n: u64) -> String {
    let d: NaiveDate = day.parse().unwrap();
    (d - chrono::Days::new(n)).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_daily_tournament_pays_each_run_inside_its_window_once_it_ended() {
    let api = start_with_worker().await;
    let config = |retain: u32| {
        json!({"id": CUP, "period": "daily", "retain_periods": retain,
            "tournament": {"title": "Daily cup", "start": moment(-2 * 86_400),
                           "duration_secs": 4 * 86_400},
            "rewards": [{"from": 1, "reward": "gold"}]})
    };
    // A run's award may wait a day for open reviews: a daily one keeps two days' standings.
    api.post_board(config(1))
        .await
        .assert_problem(422, "retain_periods");
    let mut with_cohorts = config(3);
    with_cohorts["cohort_size"] = json!(10);
    api.post_board(with_cohorts)
        .await
        .assert_problem(422, "cohorts");
    let created = api.create_board(config(3)).await;
    let today = created.body["period_info"]["current"]
        .as_str()
        .unwrap_or_else(|| panic!("no current period: {}", created.body))
        .to_string();
    let day = days_before(&today, 1);

    // The worker announces its start at once (it began two days ago), then is due at today's
    // end, the close of today's run (the window ends later).
    await_due_at_days_end(&api, CUP, &today, "the start's announcement").await;

    for (who, score) in [("ann", 10), ("bob", 20)] {
        let r = api
            .submit(CUP, json!({"player": who, "score": score}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let path = format!("/api/v1/boards/{CUP}/rewards");
    // Today's run is open; yesterday's, the last that ended, was played by no one; a day
    // before the window is none of its runs.
    let open = api
        .get(
            &format!("{path}?player=bob&period={today}"),
            Some(&player("bob")),
        )
        .await;
    assert_eq!(open.status, 200, "{}", open.body);
    assert_eq!(
        (&open.body["state"], &open.body["award"]),
        (&json!("open"), &Value::Null)
    );
    api.get(&format!("{path}?player=bob"), Some(&player("bob")))
        .await
        .assert_problem(404, "no one played");
    let before = days_before(&today, 3);
    api.get(
        &format!("{path}?player=bob&period={before}"),
        Some(&admin()),
    )
    .await
    .assert_problem(404, "none of the runs");

    // Today is played as the window's first day (cut by its start): that run ended, and its
    // first reader pays it.
    let first_day = days_before(&today, 2);
    move_day(&api, &today, &first_day);
    let first = api
        .get(
            &format!("{path}?player=bob&period={first_day}"),
            Some(&player("bob")),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        (
            &first.body["state"],
            &first.body["awarded"],
            &first.body["award"]["reward"]
        ),
        (&json!("final"), &json!(1), &json!("gold")),
        "{}",
        first.body
    );

    // Played again today, as yesterday: that run ended too, and the worker pays it when the
    // competitions' register rings at the run's close (rung here at once), before anyone
    // reads it; the first day stays paid once.
    for (who, score) in [("ann", 10), ("bob", 20)] {
        let r = api
            .submit(CUP, json!({"player": who, "score": score}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    move_day(&api, &today, &day);
    ring_register(&api, CUP);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let logged = loop {
        let logged = awarded(&api, CUP).await;
        if logged.len() > 1 {
            break logged;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker did not pay {day} within 30 s: {logged:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let periods: Vec<&Value> = logged.iter().map(|d| &d["period"]).collect();
    assert_eq!(periods, [&json!(first_day), &json!(day)], "{logged:?}");
    let paid = api
        .get(&format!("{path}?player=bob"), Some(&player("bob")))
        .await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    assert_eq!(
        (
            &paid.body["state"],
            &paid.body["period"],
            &paid.body["awarded"]
        ),
        (&json!("final"), &json!(day), &json!(1)),
        "{}",
        paid.body
    );
    assert_eq!(
        (&paid.body["award"]["rank"], &paid.body["award"]["reward"]),
        (&json!(1), &json!("gold"))
    );
    let ann = api
        .get(
            &format!("{path}?player=ann&period={day}"),
            Some(&player("ann")),
        )
        .await;
    assert_eq!(ann.body["award"], Value::Null, "{}", ann.body);
    let claimed = api
        .call(
            Method::POST,
            &format!("{path}/claim"),
            Some(&service()),
            Some(json!({"player": "bob", "period": day})),
            &[],
        )
        .await;
    assert_eq!(claimed.status, 200, "{}", claimed.body);
    assert!(claimed.body["claimed_at"].is_string(), "{}", claimed.body);
    // A run's awards are kept as a period's (90 days), not for as long as the board.
    let ttl: i64 = redis::cmd("TTL")
        .arg(board_key(CUP, &format!("awards:{day}")))
        .query(&mut api.redis.conn())
        .unwrap();
    assert!(ttl > 80 * 86_400, "awards kept for {ttl} s");
    // The run closed: its close mark is set, so no write lands in it any more.
    let closing: bool = redis::cmd("HEXISTS")
        .arg(board_key(CUP, "league"))
        .arg(format!("closing:{day}"))
        .query(&mut api.redis.conn())
        .unwrap();
    assert!(closing);
    // Read, claimed and rung again: once the worker has noted the tournament anew (for
    // today's end), each run is still paid once.
    ring_register(&api, CUP);
    await_due_at_days_end(&api, CUP, &today, "the worker did not handle the ring").await;
    let again: Vec<Value> = awarded(&api, CUP)
        .await
        .iter()
        .map(|d| d["period"].clone())
        .collect();
    assert_eq!(again, [json!(first_day), json!(day)]);
}
