#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::board::config::{BoardConfigInput, Operator, SubscoreConfigInput};
use crate::board::test_support::{arb_board, arb_player, arb_standing};
use crate::ids::BoardId;
use proptest::prelude::*;

fn board(json: serde_json::Value) -> Board {
    serde_json::from_value::<BoardConfigInput>(json)
        .unwrap()
        .validate()
        .unwrap()
}

fn player(s: &str) -> PlayerId {
    PlayerId::new(s).unwrap()
}

#[test]
fn desc_board_orders_higher_first() {
    let b = board(serde_json::json!({"id": "b", "score_max": 1000}));
    let high = encode(&b, 900, None, 5, &player("a")).unwrap();
    let low = encode(&b, 100, None, 1, &player("a")).unwrap();
    assert!(high < low);
    assert_eq!(high.rank_value, 100);
    assert_eq!(high.member, "0000000000005a");
    assert_eq!(decode_member(&high.member).unwrap(), (5, player("a")));
}

#[test]
fn asc_board_with_subscore() {
    let b = board(serde_json::json!({
        "id": "golf", "sort": "asc", "score_min": -10, "score_max": 10,
        "subscore": {"sort": "desc", "min": 0, "max": 9}
    }));
    // score -10 (best), subscore 9 (best) → 0.
    assert_eq!(
        encode(&b, -10, Some(9), 0, &player("p"))
            .unwrap()
            .rank_value,
        0
    );
    assert_eq!(
        encode(&b, -10, Some(0), 0, &player("p"))
            .unwrap()
            .rank_value,
        9
    );
    assert_eq!(
        encode(&b, -9, Some(9), 0, &player("p")).unwrap().rank_value,
        10
    );
    assert_eq!(decode_rank_value(&b, 10).unwrap(), (-9, Some(9)));
    assert_eq!(rank_value_count(&b), 21 * 10);
    assert!(decode_rank_value(&b, 210).is_err());
    assert_eq!(rank_value_range_for_score(&b, -9).unwrap(), (10, 19));
}

#[test]
fn encode_rejects_bad_input() {
    let b = board(serde_json::json!({"id": "b", "score_max": 10}));
    assert_eq!(
        encode(&b, 11, None, 0, &player("p")).unwrap_err(),
        LeaderboardError::ScoreOutOfRange {
            field: "score".into(),
            value: "11".into(),
            min: "0".into(),
            max: "10".into()
        }
    );
    assert!(encode(&b, 1, Some(1), 0, &player("p")).is_err());
    assert!(matches!(
        encode(&b, 1, None, -1, &player("p")),
        Err(LeaderboardError::InvalidTimestamp(_))
    ));
    assert!(encode(&b, 1, None, MAX_MEMBER_TIME_MS + 1, &player("p")).is_err());
    let k = encode(&b, 1, None, MAX_MEMBER_TIME_MS, &player("p")).unwrap();
    assert_eq!(k.member, "fffffffffffffp");
    let sub = board(serde_json::json!({"id": "b", "subscore": {}}));
    assert!(matches!(
        encode(&sub, 1, None, 0, &player("p")),
        Err(LeaderboardError::InvalidScore(_))
    ));
}

#[test]
fn decode_member_rejects_non_canonical() {
    for bad in [
        "",
        "0000000000005",
        "000000000000Ga",
        "000000000000Aa",
        "+00000000000aa",
        "0000000000000a/b",
        "0000000000000é",
    ] {
        assert!(
            matches!(decode_member(bad), Err(LeaderboardError::CorruptData(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn redis_scores() {
    assert_eq!(parse_redis_score("123"), Ok(123));
    assert_eq!(parse_redis_score("1.2e+15"), Ok(1_200_000_000_000_000));
    assert_eq!(parse_redis_score("9007199254740991"), Ok((1 << 53) - 1));
    for bad in [
        "9007199254740992",
        "-1",
        "1.5",
        "inf",
        "-inf",
        "nan",
        "",
        "1e16",
    ] {
        assert!(parse_redis_score(bad).is_err(), "{bad}");
    }
}

#[test]
fn maximal_board_fits_exactly() {
    let mut input = BoardConfigInput::new(BoardId::new("b").unwrap());
    input.score_min = Some(0);
    input.score_max = Some((1 << 43) - 1);
    input.subscore = Some(SubscoreConfigInput {
        min: Some(0),
        max: Some(1023),
        ..Default::default()
    });
    let b = input.validate().unwrap();
    assert_eq!(rank_value_count(&b), RANK_VALUE_LIMIT);
    let worst = encode(&b, 0, Some(0), 0, &player("p")).unwrap();
    assert_eq!(worst.rank_value, RANK_VALUE_LIMIT - 1);
    input.score_max = Some(1 << 43);
    assert_eq!(
        input.validate().unwrap_err(),
        LeaderboardError::EncodingCapacity {
            needed: (1 << 53) + 1024,
            available: 1 << 53
        }
    );
}

/// The intended domain order: better standing, then earlier achievement, then player id.
fn domain_cmp(b: &Board, x: &Entry, y: &Entry) -> Ordering {
    compare_standings(
        b,
        &Standing {
            score: x.0,
            subscore: x.1,
        },
        &Standing {
            score: y.0,
            subscore: y.1,
        },
    )
    .then(x.2.cmp(&y.2))
    .then_with(|| x.3.as_str().as_bytes().cmp(y.3.as_str().as_bytes()))
}

/// `(score, subscore, achieved_at_ms, player)`.
type Entry = (i64, Option<i64>, i64, PlayerId);

fn arb_case() -> impl Strategy<Value = (Board, Vec<Entry>)> {
    arb_board(Operator::Best).prop_flat_map(|b| {
        let entry = (
            arb_standing(&b),
            prop_oneof![0i64..3, 0..=MAX_MEMBER_TIME_MS],
            arb_player(),
        )
            .prop_map(|((s, sub), t, p)| (s, sub, t, p));
        (Just(b), prop::collection::vec(entry, 2..6))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn order_matches_domain_and_is_injective((b, entries) in arb_case()) {
        // Make ties likely: copy parts of the first entry into the second.
        let mut entries = entries;
        let first = entries[0].clone();
        entries[1].0 = first.0;
        if entries.len() > 2 { entries[2].1 = first.1; entries[2].0 = first.0; }
        let keys: Vec<SortKey> = entries.iter().map(|e| encode(&b, e.0, e.1, e.2, &e.3).unwrap()).collect();
        for i in 0..entries.len() {
            for j in 0..entries.len() {
                let redis = (keys[i].rank_value, keys[i].member.as_bytes())
                    .cmp(&(keys[j].rank_value, keys[j].member.as_bytes()));
                prop_assert_eq!(redis, domain_cmp(&b, &entries[i], &entries[j]), "{:?} vs {:?}", entries[i], entries[j]);
            }
        }
    }

    #[test]
    fn decode_inverts_encode_and_f64_is_exact((b, entries) in arb_case()) {
        for (score, sub, t, p) in entries {
            let key = encode(&b, score, sub, t, &p).unwrap();
            prop_assert!(key.rank_value < RANK_VALUE_LIMIT);
            prop_assert!(key.rank_value < rank_value_count(&b));
            prop_assert_eq!(decode_rank_value(&b, key.rank_value).unwrap(), (score, sub));
            prop_assert_eq!(decode_member(&key.member).unwrap(), (t, p));
            let f = rank_value_as_f64(key.rank_value);
            prop_assert_eq!(f as u64, key.rank_value);
            // As Redis may print it: plain, shortest round-trip, or with an exponent.
            prop_assert_eq!(parse_redis_score(&format!("{f}")).unwrap(), key.rank_value);
            let exp = format!("{f:e}").replace('e', "e+").replace("e+-", "e-");
            prop_assert_eq!(parse_redis_score(&exp).unwrap(), key.rank_value);
            let (lo, hi) = rank_value_range_for_score(&b, score).unwrap();
            prop_assert!(lo <= key.rank_value && key.rank_value <= hi);
        }
    }

    #[test]
    fn boards_beyond_capacity_are_rejected(
        score_log in 0u32..=53,
        sub_log in 0u32..=30,
        extra in 1u64..1000,
    ) {
        let sub_width: u64 = 1 << sub_log;
        let score_width = (RANK_VALUE_LIMIT / sub_width).saturating_add(extra >> score_log.min(9));
        let mut input = BoardConfigInput::new(BoardId::new("b").unwrap());
        input.score_min = Some(-(1 << 52));
        input.score_max = Some(-(1 << 52) + i64::try_from(score_width).unwrap() - 1);
        input.subscore = Some(SubscoreConfigInput {
            min: Some(0),
            max: Some(i64::try_from(sub_width).unwrap() - 1),
            ..Default::default()
        });
        let needed = u128::from(score_width) * u128::from(sub_width);
        let result = input.validate();
        if needed > u128::from(RANK_VALUE_LIMIT) {
            prop_assert_eq!(result.unwrap_err(), LeaderboardError::EncodingCapacity { needed, available: RANK_VALUE_LIMIT });
        } else {
            prop_assert!(result.is_ok());
        }
    }

    #[test]
    fn garbage_members_and_scores_never_panic(s in ".{0,90}") {
        if let Ok((t, p)) = decode_member(&s) {
            prop_assert_eq!(encode_member(t, &p).unwrap(), s.clone());
        }
        if let Ok(v) = parse_redis_score(&s) {
            prop_assert!(v < RANK_VALUE_LIMIT);
        }
    }
}
