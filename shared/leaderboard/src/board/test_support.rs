//! Shared proptest strategies (test builds only).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use crate::board::config::RANK_VALUE_LIMIT;
use crate::board::config::{
    Board, BoardConfigInput, Operator, ScoreKind, SortOrder, SubscoreConfigInput,
};
use crate::board::score::ScoreType;
use crate::ids::{BoardId, PlayerId};

/// A sort direction.
pub fn arb_sort() -> impl Strategy<Value = SortOrder> {
    prop_oneof![Just(SortOrder::Desc), Just(SortOrder::Asc)]
}

/// A valid board of any shape: both directions, integer or decimal, with or without subscore, tiny
/// to maximal ranges.
pub fn arb_board(operator: Operator) -> impl Strategy<Value = Board> {
    (
        arb_sort(),
        prop::option::of((arb_sort(), -1000i64..1000, 0u32..=24, any::<u64>())),
        prop::option::of(0u8..=6),
        prop_oneof![Just(0i64), -1_000_000i64..1_000_000, Just(-(1i64 << 40))],
        0u32..=53,
        any::<u64>(),
    )
        .prop_map(move |(sort, sub, scale, score_min, width_log, seed)| {
            let score_type = scale.map_or(ScoreType::Integer, |scale| ScoreType::Decimal { scale });
            let subscore = sub.map(|(sort, min, log, seed)| {
                let width = 1 + (seed % (1u64 << log));
                SubscoreConfigInput {
                    sort,
                    min: Some(min),
                    max: Some(min + i64::try_from(width).unwrap() - 1),
                }
            });
            let sub_width = subscore.as_ref().map_or(1, |s| {
                u64::try_from(s.max.unwrap() - s.min.unwrap() + 1).unwrap()
            });
            let type_room = u64::try_from(score_type.max_magnitude() - score_min + 1).unwrap();
            let max_width = (RANK_VALUE_LIMIT / sub_width)
                .min(type_room)
                .min(1u64 << width_log);
            let width = 1 + seed % max_width;
            let mut input = BoardConfigInput::new(BoardId::new("b").unwrap());
            input.sort = sort;
            input.operator = operator;
            (input.score_type, input.scale) = match score_type {
                ScoreType::Integer => (ScoreKind::Integer, None),
                ScoreType::Decimal { scale } => (ScoreKind::Decimal, Some(scale)),
            };
            input.score_min = Some(score_min);
            input.score_max = Some(score_min + i64::try_from(width).unwrap() - 1);
            input.subscore = subscore;
            input.validate().unwrap()
        })
}

/// A value in `min..=max`, biased towards the ends.
pub fn arb_in(min: i64, max: i64) -> impl Strategy<Value = i64> {
    prop_oneof![Just(min), Just(max), min..=max]
}

/// A valid standing `(score, subscore)` for `board`.
pub fn arb_standing(board: &Board) -> BoxedStrategy<(i64, Option<i64>)> {
    let sub = match board.subscore {
        Some(s) => arb_in(s.min, s.max).prop_map(Some).boxed(),
        None => Just(None).boxed(),
    };
    (arb_in(board.score_min, board.score_max), sub).boxed()
}

/// A short player id from a small alphabet (so ties on player id happen).
pub fn arb_player() -> impl Strategy<Value = PlayerId> {
    "[a-cA-C0-9._~-]{1,4}".prop_map(|s| PlayerId::new(s).unwrap())
}

/// A decimal board (`laps`, scale 2, scores 0..=1000000 minor units).
pub fn decimal_board() -> Board {
    let mut input = BoardConfigInput::new(BoardId::new("laps").unwrap());
    input.score_type = ScoreKind::Decimal;
    input.scale = Some(2);
    input.score_max = Some(1_000_000);
    input.validate().unwrap()
}
