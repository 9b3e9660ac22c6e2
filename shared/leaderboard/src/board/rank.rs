//! Competition ranking ("1224"): equal standings share a rank, the next distinct standing gets its
//! position + 1 — `1, 1, 3`.
//!
//! Equal standing ⇔ equal rank value (see [`crate::board::sortkey`]); the member (achievement time, player)
//! orders ties for listing only, never for rank.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::board::config::Board;
use crate::ids::PlayerId;

/// Competition rank of an entry with `count_strictly_better` entries ahead of it (`+ 1`).
pub fn rank_from_better(count_strictly_better: u64) -> u64 {
    count_strictly_better.saturating_add(1)
}

/// Percentile of `rank` among `total` entries: `100 × (total − rank + 1) / total`, rounded half-up
/// to 2 decimals. The top entry gets 100.0, the last `100 / total`. `rank` is clamped into
/// `1..=total`; `total == 0` gives 0.0.
pub fn percentile(rank: u64, total: u64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    let rank = rank.clamp(1, total);
    let n = u128::from(total - rank + 1);
    let t = u128::from(total);
    // Hundredths of a percent, rounded half-up, computed exactly in integers.
    let hundredths = (n * 10_000 * 2 + t) / (2 * t);
    hundredths as f64 / 100.0
}

/// Assigns competition ranks to a page of rank values ordered best-first (ascending).
///
/// - `first_rank`: competition rank of the page's first entry (strictly-better count + 1, e.g.
///   `ZCOUNT key -inf (rv` + 1).
/// - `first_position`: 0-based position of the first entry in the whole board order (`ZRANK`).
///   It differs from `first_rank − 1` when the page starts inside a group of ties.
///
/// Entry `i` shares the previous entry's rank when their rank values are equal, otherwise its rank
/// is `first_position + i + 1`. (If `first_rank` and `first_position` are inconsistent because of a
/// concurrent write, ranks are still non-decreasing.)
pub fn assign_ranks(first_rank: u64, first_position: u64, rank_values: &[u64]) -> Vec<u64> {
    let mut ranks: Vec<u64> = Vec::with_capacity(rank_values.len());
    for (i, rv) in rank_values.iter().enumerate() {
        let rank = match (i, ranks.last()) {
            (0, _) | (_, None) => first_rank.max(1),
            (_, Some(&prev)) if rank_values[i - 1] == *rv => prev,
            (_, Some(&prev)) => first_position
                .saturating_add(i as u64)
                .saturating_add(1)
                .max(prev.saturating_add(1)),
        };
        ranks.push(rank);
    }
    ranks
}

/// One ranked row as rendered in responses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RankedEntry {
    /// Competition rank (1-based).
    pub rank: u64,
    /// The player.
    pub player: PlayerId,
    /// Score rendered for the board ([`crate::ScoreType::to_json`]): a JSON number.
    pub score: Value,
    /// Subscore, when the board has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscore: Option<i64>,
    /// When the standing was reached (Unix ms).
    pub achieved_at_ms: i64,
    /// The record's metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

impl RankedEntry {
    /// Builds an entry, rendering the `score` (minor units) for `board`.
    pub fn new(
        board: &Board,
        rank: u64,
        player: PlayerId,
        score: i64,
        subscore: Option<i64>,
        achieved_at_ms: i64,
        metadata: Option<Value>,
    ) -> Self {
        Self {
            rank,
            player,
            score: board.score_type.to_json(score),
            subscore,
            achieved_at_ms,
            metadata,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn competition_ranking() {
        assert_eq!(rank_from_better(0), 1);
        assert_eq!(
            assign_ranks(1, 0, &[5, 5, 7, 8, 8, 8, 9]),
            vec![1, 1, 3, 4, 4, 4, 7]
        );
        // A page starting in the middle of a tie group: positions 3.. with ranks starting at 2.
        assert_eq!(assign_ranks(2, 3, &[5, 5, 6]), vec![2, 2, 6]);
        assert!(assign_ranks(1, 0, &[]).is_empty());
    }

    #[test]
    fn percentiles() {
        assert_eq!(percentile(1, 1), 100.0);
        assert_eq!(percentile(1, 4), 100.0);
        assert_eq!(percentile(4, 4), 25.0);
        assert_eq!(percentile(2, 3), 66.67);
        assert_eq!(percentile(3, 3), 33.33);
        assert_eq!(percentile(1, 0), 0.0);
        assert_eq!(percentile(9, 4), 25.0);
        assert_eq!(percentile(8, 8), 12.5);
    }

    #[test]
    fn ranked_entry_serde() {
        let board = crate::board::config::BoardConfigInput {
            score_type: crate::board::config::ScoreKind::Decimal,
            scale: Some(3),
            ..crate::board::config::BoardConfigInput::new(crate::BoardId::new("b").unwrap())
        }
        .validate()
        .unwrap();
        let e = RankedEntry::new(&board, 1, PlayerId::new("p").unwrap(), 12345, None, 7, None);
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"rank":1,"player":"p","score":12.345,"achieved_at_ms":7}"#
        );
    }

    proptest! {
        #[test]
        fn ranks_follow_competition_rules(mut values in prop::collection::vec(0u64..20, 0..60)) {
            values.sort_unstable();
            // Whole board as one page.
            let ranks = assign_ranks(1, 0, &values);
            for (i, r) in ranks.iter().enumerate() {
                let better = values.iter().filter(|v| **v < values[i]).count() as u64;
                prop_assert_eq!(*r, rank_from_better(better));
                if i > 0 {
                    prop_assert!(ranks[i - 1] <= *r);
                    prop_assert_eq!(values[i - 1] == values[i], ranks[i - 1] == *r);
                }
            }
        }

        #[test]
        fn any_page_agrees_with_the_whole(mut values in prop::collection::vec(0u64..10, 1..60), a in any::<usize>(), len in 1usize..20) {
            values.sort_unstable();
            let whole = assign_ranks(1, 0, &values);
            let start = a % values.len();
            let end = (start + len).min(values.len());
            let better = values.iter().filter(|v| **v < values[start]).count() as u64;
            let page = assign_ranks(rank_from_better(better), start as u64, &values[start..end]);
            prop_assert_eq!(&page[..], &whole[start..end]);
        }

        #[test]
        fn percentile_bounds(total in 1u64..1_000_000, r in any::<u64>()) {
            let rank = 1 + r % total;
            let p = percentile(rank, total);
            prop_assert!((0.0..=100.0).contains(&p));
            prop_assert_eq!(percentile(1, total), 100.0);
            if rank > 1 { prop_assert!(percentile(rank - 1, total) >= p); }
        }
    }
}
