#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::board::config::{BoardConfigInput, SortOrder};
use crate::board::test_support::{arb_board, arb_in, arb_standing};
use proptest::prelude::*;
use serde_json::{Value, json};

fn board(json: Value) -> Board {
    serde_json::from_value::<BoardConfigInput>(json)
        .unwrap()
        .validate()
        .unwrap()
}

fn sub(score: i64) -> Submission {
    Submission {
        score,
        subscore: None,
        metadata: None,
        band: None,
    }
}

fn sub_meta(score: i64, meta: Value) -> Submission {
    Submission {
        score,
        subscore: None,
        metadata: Some(meta),
        band: None,
    }
}

#[test]
fn best_keeps_better_and_tracks_achievement() {
    let b = board(json!({"id": "b", "score_max": 1000}));
    let first = apply(&b, None, &sub_meta(10, json!({"run": 1})), 100).unwrap();
    assert!(first.improved && first.changed && first.rekeyed());
    assert_eq!(first.record.achieved_at_ms, 100);
    assert_eq!(first.record.submissions, 1);

    let worse = apply(
        &b,
        Some(&first.record),
        &sub_meta(5, json!({"run": 2})),
        200,
    )
    .unwrap();
    assert!(!worse.improved && !worse.changed && !worse.rekeyed());
    assert_eq!(worse.record.score, 10);
    assert_eq!(worse.record.achieved_at_ms, 100);
    assert_eq!(worse.record.updated_at_ms, 200);
    assert_eq!(worse.record.metadata, Some(json!({"run": 1})));
    assert_eq!(worse.record.submissions, 2);

    let equal = apply(&b, Some(&worse.record), &sub(10), 300).unwrap();
    assert!(!equal.improved && !equal.changed);
    assert_eq!(equal.record.achieved_at_ms, 100);

    let better = apply(&b, Some(&equal.record), &sub(20), 400).unwrap();
    assert!(better.improved && better.changed && better.rekeyed());
    assert_eq!(better.record.achieved_at_ms, 400);
    // No metadata in the submission: kept.
    assert_eq!(better.record.metadata, Some(json!({"run": 1})));
    assert_eq!(better.previous.as_ref(), Some(&equal.record));
}

#[test]
fn best_asc_with_subscore() {
    let b = board(json!({"id": "b", "sort": "asc", "subscore": {"sort": "desc", "max": 100}}));
    let s = |score, subscore| Submission {
        score,
        subscore: Some(subscore),
        metadata: None,
        band: None,
    };
    let r = apply(&b, None, &s(50, 3), 1).unwrap().record;
    let o = apply(&b, Some(&r), &s(50, 7), 2).unwrap();
    assert!(o.improved);
    assert_eq!((o.record.score, o.record.subscore), (50, Some(7)));
    let o = apply(&b, Some(&o.record), &s(60, 100), 3).unwrap();
    assert!(!o.improved);
    assert_eq!(o.record.score, 50);
    assert!(matches!(
        apply(&b, None, &sub(1), 1),
        Err(LeaderboardError::InvalidScore(_))
    ));
}

#[test]
fn set_replaces_metadata_always() {
    let b = board(json!({"id": "b", "operator": "set"}));
    let r = apply(&b, None, &sub_meta(10, json!({"a": 1})), 1)
        .unwrap()
        .record;
    let o = apply(&b, Some(&r), &sub(10), 2).unwrap();
    assert!(o.changed && !o.improved && !o.rekeyed());
    assert_eq!(o.record.metadata, None);
    assert_eq!(o.record.achieved_at_ms, 1);
    let o = apply(&b, Some(&o.record), &sub(3), 3).unwrap();
    assert_eq!((o.record.score, o.record.achieved_at_ms), (3, 3));
    assert!(!o.improved && o.changed);
}

#[test]
fn incr_and_decr() {
    let b = board(json!({"id": "b", "operator": "incr", "score_max": 100}));
    let r = apply(&b, None, &sub(40), 1).unwrap().record;
    assert_eq!(r.score, 40);
    let r = apply(&b, Some(&r), &sub(60), 2).unwrap().record;
    assert_eq!(r.score, 100);
    assert_eq!(
        apply(&b, Some(&r), &sub(1), 3).unwrap_err(),
        LeaderboardError::ScoreOutOfRange {
            field: "resulting score".into(),
            value: "101".into(),
            min: "0".into(),
            max: "100".into()
        }
    );
    assert!(matches!(
        apply(&b, None, &sub(0), 1),
        Err(LeaderboardError::ScoreOutOfRange { .. })
    ));
    assert!(matches!(
        apply(&b, None, &sub(-5), 1),
        Err(LeaderboardError::ScoreOutOfRange { .. })
    ));
    assert!(matches!(
        apply(&b, None, &sub(101), 1),
        Err(LeaderboardError::ScoreOutOfRange { .. })
    ));

    let d = board(json!({"id": "b", "operator": "decr", "score_min": 10, "score_max": 100}));
    // Start: 0 clamped into 10..=100 → 10, floored at 10.
    let r = apply(&d, None, &sub(5), 1).unwrap().record;
    assert_eq!(r.score, 10);
    let r = Record { score: 50, ..r };
    let o = apply(&d, Some(&r), &sub(15), 2).unwrap();
    assert_eq!(o.record.score, 35);
    assert!(!o.improved, "lower is worse on a desc board");
    assert_eq!(
        apply(&d, Some(&o.record), &sub(90), 3)
            .unwrap()
            .record
            .score,
        10
    );
}

#[test]
fn decimal_errors_are_formatted() {
    let b = board(json!({"id": "b", "score_type": "decimal", "scale": 2, "score_max": 1000}));
    assert_eq!(
        apply(&b, None, &sub(1001), 0).unwrap_err().to_string(),
        "score 10.01 is out of range: allowed 0.00 ..= 10.00"
    );
    let b = board(
        json!({"id": "b", "operator": "incr", "score_type": "decimal", "scale": 2,
        "score_max": 1000, "subscore": {"max": 5}}),
    );
    let s = Submission {
        score: 1,
        subscore: Some(5),
        metadata: None,
        band: None,
    };
    let r = apply(&b, None, &s, 0).unwrap().record;
    assert_eq!((r.score, r.subscore), (1, Some(5)));
    assert_eq!(
        apply(
            &b,
            Some(&r),
            &Submission {
                score: 1,
                subscore: Some(1),
                metadata: None,
                band: None,
            },
            1
        )
        .unwrap_err()
        .to_string(),
        "resulting subscore 6 is out of range: allowed 0 ..= 5"
    );
}

#[test]
fn bad_time_and_metadata() {
    let b = board(json!({"id": "b", "metadata_max_bytes": 8}));
    assert!(matches!(
        apply(&b, None, &sub(1), -1),
        Err(LeaderboardError::InvalidTimestamp(_))
    ));
    assert!(matches!(
        apply(&b, None, &sub_meta(1, json!({"long": "xxxxxxxx"})), 0),
        Err(LeaderboardError::PayloadTooLarge { .. })
    ));
}

/// A `(score, subscore)` pair.
type Pair = (i64, Option<i64>);

fn board_and_two(op: Operator) -> impl Strategy<Value = (Board, Pair, Pair)> {
    arb_board(op).prop_flat_map(|b| {
        let s = arb_standing(&b);
        (Just(b), s.clone(), s)
    })
}

fn st(s: (i64, Option<i64>)) -> Submission {
    Submission {
        score: s.0,
        subscore: s.1,
        metadata: None,
        band: None,
    }
}

proptest! {
    #[test]
    fn best_never_worsens((b, a, c) in board_and_two(Operator::Best)) {
        let r1 = apply(&b, None, &st(a), 1).unwrap().record;
        let o = apply(&b, Some(&r1), &st(c), 2).unwrap();
        let (sa, sc) = (Standing { score: a.0, subscore: a.1 }, Standing { score: c.0, subscore: c.1 });
        let expect = if compare_standings(&b, &sc, &sa) == Ordering::Less { sc } else { sa };
        prop_assert_eq!(o.record.standing(), expect);
        prop_assert_ne!(compare_standings(&b, &o.record.standing(), &sa), Ordering::Greater);
        prop_assert_eq!(o.improved, expect != sa);
        if b.subscore.is_none() {
            match b.sort {
                SortOrder::Desc => prop_assert_eq!(o.record.score, a.0.max(c.0)),
                SortOrder::Asc => prop_assert_eq!(o.record.score, a.0.min(c.0)),
            }
        }
    }

    #[test]
    fn set_last_wins((b, a, c) in board_and_two(Operator::Set)) {
        let r1 = apply(&b, None, &st(a), 1).unwrap().record;
        let o = apply(&b, Some(&r1), &st(c), 2).unwrap();
        prop_assert_eq!((o.record.score, o.record.subscore), c);
        prop_assert_eq!(o.record.achieved_at_ms, if a == c { 1 } else { 2 });
    }

    #[test]
    fn incr_sums_exactly(b in arb_board(Operator::Incr), seeds in prop::collection::vec(any::<u64>(), 1..8)) {
        let width = u64::try_from(b.score_max - b.score_min).unwrap();
        prop_assume!(width > 0);
        let mut rec: Option<Record> = None;
        let mut expected = i128::from(0i64.clamp(b.score_min, b.score_max));
        for (i, seed) in seeds.into_iter().enumerate() {
            let d = i64::try_from(1 + seed % width.min(1 << 20)).unwrap();
            let res = apply(&b, rec.as_ref(), &sub(d), i64::try_from(i).unwrap());
            if expected + i128::from(d) > i128::from(b.score_max) {
                let is_range_err = matches!(res, Err(LeaderboardError::ScoreOutOfRange { .. }));
                prop_assert!(is_range_err);
            } else {
                expected += i128::from(d);
                rec = Some(res.unwrap().record);
                prop_assert_eq!(i128::from(rec.as_ref().unwrap().score), expected);
            }
        }
    }

    #[test]
    fn decr_never_below_min(b in arb_board(Operator::Decr), start_seed in any::<u64>(), deltas in prop::collection::vec(any::<u64>(), 1..8)) {
        let width = u64::try_from(b.score_max - b.score_min).unwrap();
        prop_assume!(width > 0);
        let start = b.score_min + i64::try_from(start_seed % (width + 1)).unwrap();
        let mut rec = Record { score: start, subscore: b.subscore.map(|s| s.min), achieved_at_ms: 0, updated_at_ms: 0, metadata: None, submissions: 1 };
        for seed in deltas {
            let d = i64::try_from(1 + seed % width).unwrap();
            let before = rec.score;
            rec = apply(&b, Some(&rec), &sub(d), 1).unwrap().record;
            prop_assert_eq!(rec.score, (before - d).max(b.score_min));
            prop_assert!(rec.score >= b.score_min);
        }
    }

    #[test]
    fn out_of_bounds_submissions_rejected(b in arb_board(Operator::Best), over in 1i64..1000, op_set in any::<bool>()) {
        let mut b = b;
        if op_set { b.operator = Operator::Set; }
        let sub_v = b.subscore.map(|s| s.min);
        for score in [b.score_max + over, b.score_min - over] {
            let s = Submission { score, subscore: sub_v, metadata: None, band: None };
            let is_range_err = matches!(apply(&b, None, &s, 0), Err(LeaderboardError::ScoreOutOfRange { .. }));
            prop_assert!(is_range_err);
        }
        if let Some(sc) = b.subscore {
            let s = Submission { score: b.score_min, subscore: Some(sc.max + over), metadata: None, band: None };
            let is_range_err = matches!(apply(&b, None, &s, 0), Err(LeaderboardError::ScoreOutOfRange { .. }));
            prop_assert!(is_range_err);
        }
    }

    #[test]
    fn incr_delta_bounds(b in arb_board(Operator::Incr), v in arb_in(-5, 0)) {
        let is_range_err = matches!(apply(&b, None, &sub(v), 0), Err(LeaderboardError::ScoreOutOfRange { .. }));
        prop_assert!(is_range_err);
        let too_big = b.score_max - b.score_min + 1;
        let is_range_err = matches!(apply(&b, None, &sub(too_big), 0), Err(LeaderboardError::ScoreOutOfRange { .. }));
        prop_assert!(is_range_err);
    }
}
