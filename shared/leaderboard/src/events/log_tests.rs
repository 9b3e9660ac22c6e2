#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use super::*;
use crate::board::config::BoardConfigInput;
use crate::board::record::Record;
use crate::events::event::{PeriodStarted, RecordDeleted, ScoreApplied};
use crate::ids::{BoardId, TenantId};

fn board(config: serde_json::Value) -> Board {
    serde_json::from_value::<BoardConfigInput>(config)
        .unwrap()
        .validate()
        .unwrap()
}

fn envelope(event: Event) -> EventEnvelope {
    EventEnvelope {
        id: "1-0".into(),
        tenant: TenantId::default(),
        board: BoardId::new("b").unwrap(),
        at_ms: 1_700_000_000_000,
        event,
    }
}

fn record(score: i64) -> Record {
    Record {
        score,
        subscore: None,
        achieved_at_ms: 1_700_000_000_000,
        updated_at_ms: 1_700_000_000_000,
        metadata: Some(json!({"k": 1})),
        submissions: 2,
    }
}

#[test]
fn a_score_applied_folds_to_exactly_what_the_write_stored() {
    let b = board(json!({"id": "b"}));
    let player = PlayerId::new("ann").unwrap();
    let rec = record(42);
    let e = envelope(Event::ScoreApplied(ScoreApplied {
        player: player.clone(),
        period: PeriodId::AllTime,
        record: rec.clone(),
        previous: None,
        improved: true,
        changed: true,
    }));
    let ops = fold(&b, &e, &|_| false).unwrap();
    let key = rec.sort_key(&b, &player).unwrap();
    assert_eq!(
        ops,
        [
            Op::Start(PeriodId::AllTime),
            Op::Put {
                period: PeriodId::AllTime,
                player,
                record: serde_json::to_string(&rec).unwrap(),
                member: key.member,
                rank_value: key.rank_value,
            }
        ]
    );
    assert!(
        fold(&b, &e, &|_| true).unwrap().is_empty(),
        "an expired period is skipped"
    );
}

#[test]
fn deletes_and_period_starts_fold_others_do_not() {
    let b = board(json!({"id": "b", "period": "daily"}));
    let day: PeriodId = "2026-11-21".parse().unwrap();
    let ann = PlayerId::new("ann").unwrap();
    let del = envelope(Event::RecordDeleted(RecordDeleted {
        player: ann.clone(),
        period: None,
    }));
    assert_eq!(
        fold(&b, &del, &|_| true).unwrap(),
        [Op::Delete {
            period: None,
            player: ann
        }],
        "a delete of every period is kept whatever expired"
    );
    let start = envelope(Event::PeriodStarted(PeriodStarted { period: day }));
    assert_eq!(fold(&b, &start, &|_| false).unwrap(), [Op::Start(day)]);
    let created = envelope(Event::BoardCreated(crate::events::event::BoardCreated {
        board: b.clone(),
    }));
    assert!(fold(&b, &created, &|_| false).unwrap().is_empty());
}

#[test]
fn expiry_follows_retention() {
    let b = board(json!({"id": "b", "period": "daily", "retain_periods": 1}));
    let day: PeriodId = "2026-11-20".parse().unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
        .unwrap()
        .timestamp_millis();
    assert!(!expired(&b, &day, now));
    assert!(expired(&b, &day, now + 86_400_000));
    assert!(!expired(
        &board(json!({"id": "b"})),
        &PeriodId::AllTime,
        i64::MAX
    ));
}

#[test]
fn as_of_is_a_time_or_an_event_id() {
    assert_eq!(
        parse_as_of("1700000000000-7").unwrap(),
        AsOf {
            upto: "1700000000000-7".into(),
            at_ms: 1_700_000_000_000
        }
    );
    let t = parse_as_of("2023-11-14T22:13:20Z").unwrap();
    assert_eq!(t.at_ms, 1_700_000_000_000);
    assert_eq!(t.upto, format!("1700000000000-{}", u64::MAX));
    assert_eq!(parse_as_of("2023-11-14T23:13:20+01:00").unwrap(), t);
    for bad in [
        "",
        "yesterday",
        "17-",
        "-3",
        "1700000000000",
        "1969-12-31T00:00:00Z",
        "a-1",
    ] {
        let e = parse_as_of(bad).unwrap_err();
        assert!(e.to_string().contains("as_of"), "{bad}: {e}");
    }
}
