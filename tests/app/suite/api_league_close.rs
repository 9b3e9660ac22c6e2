//! A league close of more than a thousand moves through HTTP (docs/competitions.md#leagues):
//! the close's script stores its moves a thousand players a call, and a close past that many
//! stores every move and every tier once, as the log counts them.
//!
//! As in `api_leagues`, no clock is moved: the day "ends" when the test moves its keys to
//! yesterday.

use futures::StreamExt;
use serde_json::json;

use crate::api::{admin, start};
use crate::api_leagues::{board_key, move_board_day};

const BOARD: &str = "crowd";
/// Players in the lowest tier's one cohort: half of them, 1,001, move up (more than the
/// script's 1,000 a call).
const PLAYERS: u64 = 2_002;
const COHORT: u64 = 5_000;

#[tokio::test(flavor = "multi_thread")]
async fn a_close_of_more_than_a_thousand_moves_stores_each_once() {
    let api = start().await;
    let created = api
        .create_board(
            json!({"id": BOARD, "period": "daily", "cohort_size": COHORT,
            "league": {"tiers": ["bronze", "silver"], "promote": "50%", "demote": 0}}),
        )
        .await;
    let today = created.body["period_info"]["current"]
        .as_str()
        .unwrap_or_else(|| panic!("no current period: {}", created.body))
        .to_string();
    let statuses: Vec<_> = futures::stream::iter(0..PLAYERS)
        .map(|i| {
            let api = &api;
            async move {
                api.submit(BOARD, json!({"player": format!("c{i}"), "score": i}))
                    .await
                    .status
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let day = (today.parse::<chrono::NaiveDate>().unwrap() - chrono::Days::new(1)).to_string();
    move_board_day(&api, BOARD, COHORT, &today, &day);

    // The standing read closes the day first.
    let best = api
        .get(
            &format!("/api/v1/boards/{BOARD}/league?player=c{}", PLAYERS - 1),
            Some(&admin()),
        )
        .await;
    assert_eq!(best.status, 200, "{}", best.body);
    assert_eq!(best.body["tier"], "silver", "{}", best.body);
    assert_eq!(best.body["last_close"]["move"], "promoted", "{}", best.body);
    let middle = api
        .get(
            &format!("/api/v1/boards/{BOARD}/league?player=c{}", PLAYERS / 2 - 1),
            Some(&admin()),
        )
        .await;
    assert_eq!(middle.body["tier"], "bronze", "{}", middle.body);
    assert_eq!(
        middle.body["last_close"]["move"], "stayed",
        "{}",
        middle.body
    );

    // The log's last entries (its 2,002 scores come first): one close.
    let mut redis = api.redis.conn();
    let tail: Vec<(String, Vec<(String, String)>)> = redis::cmd("XREVRANGE")
        .arg(board_key(BOARD, "events"))
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(10)
        .query(&mut redis)
        .unwrap();
    let closes: Vec<serde_json::Value> = tail
        .iter()
        .flat_map(|(_, fields)| fields.iter().map(|(_, event)| event))
        .map(|event| serde_json::from_str::<serde_json::Value>(event).unwrap())
        .filter(|e| e["type"] == "league_closed")
        .map(|e| e["data"].clone())
        .collect();
    assert_eq!(closes.len(), 1, "{tail:?}");
    assert_eq!(
        (&closes[0]["promoted"], &closes[0]["stayed"]),
        (&json!(PLAYERS / 2), &json!(PLAYERS / 2)),
        "{closes:?}"
    );
    let hlen = |redis: &mut harness::Conn, key: String| -> u64 {
        redis::cmd("HLEN").arg(key).query(redis).unwrap()
    };
    // Each moved player once in the moves (beside `:at`) and in the tiers, each to silver.
    assert_eq!(
        hlen(&mut redis, board_key(BOARD, &format!("moves:{day}"))),
        PLAYERS / 2 + 1
    );
    assert_eq!(hlen(&mut redis, board_key(BOARD, "tiers")), PLAYERS / 2);
    let tiers: Vec<String> = redis::cmd("HVALS")
        .arg(board_key(BOARD, "tiers"))
        .query(&mut redis)
        .unwrap();
    assert!(tiers.iter().all(|t| t == "silver"), "{tiers:?}");
    let last: Option<String> = redis::cmd("HGET")
        .arg(board_key(BOARD, "tiers"))
        .arg(format!("c{}", PLAYERS / 2))
        .query(&mut redis)
        .unwrap();
    assert_eq!(last.as_deref(), Some("silver"), "the last one promoted");
}
