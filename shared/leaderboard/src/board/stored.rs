//! Stored formats: what a release writes of a board and reads back.
//!
//! A board is checked once, when it is created or changed ([`BoardConfigInput::validate`]), and
//! stored in **format 1**: its canonical input form ([`Board::to_input`]), every field explicit
//! but those that are absent when off (`scale`, `subscore`, `integrity`, `stats` while on,
//! `tournament`, `rewards`, `cohort_size`, `league`). The same form goes into the board's
//! `board_created` event and the edge cache's copy. Reading decodes that shape and builds the
//! board ([`BoardConfigInput::build`]) without the input's checks ([`Board::check`]): a check
//! tightened in a later release (a lower maximum, a new refusal) never turns a board stored
//! before it into an error, and in a rolling deploy the old and the new release read the same
//! boards. What the build does check is what the encoding needs (see its doc); a stored board
//! that fails it, or does not decode, is `corrupt-data`.
//!
//! Changing the format: a field is added in two releases, the first reading it (absent meaning
//! the old behaviour) and the second writing it, since the release before reads a board
//! strictly (an unknown field does not decode: a rule it cannot see is never ignored). A change
//! that is not an addition takes a format 2, which carries `"format": 2` and is written only
//! once every running release reads it; format 1 carries no `format` field, as every release
//! before this module wrote it.

use crate::board::config::{Board, BoardConfigInput};
use crate::error::{LeaderboardError, Result};

/// The stored format of a board this release writes (and the newest it reads).
pub const BOARD_FORMAT: u32 = 1;

impl Board {
    /// The board in its stored form (format [`BOARD_FORMAT`]), as JSON.
    pub fn to_stored(&self) -> Result<String> {
        serde_json::to_string(&self.to_input())
            .map_err(|e| LeaderboardError::Internal(format!("a board does not encode: {e}")))
    }

    /// A board as stored (`raw`, format 1), read without the input's checks (module doc);
    /// `corrupt-data` naming `what` (say, `board 'b'`) if it does not decode or cannot be
    /// encoded.
    pub fn from_stored(what: &str, raw: &[u8]) -> Result<Self> {
        crate::error::from_stored(what, raw, |input: BoardConfigInput| input.build())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;
    use crate::board::config::{MAX_METADATA_MAX_BYTES, MAX_RETAIN_PERIODS, MAX_TTL_SECS};

    /// A weekly board with rewards as a release wrote it that took more than this one does:
    /// a longer retention, a longer cache lifetime, larger metadata, a longer tournament title
    /// and a reward table past this release's deepest rank.
    fn stored_by_an_earlier_release() -> serde_json::Value {
        json!({
            "id": "cup", "sort": "desc", "operator": "best", "score_type": "integer",
            "score_min": 0, "score_max": 1000, "period": "weekly",
            "retain_periods": MAX_RETAIN_PERIODS + 34, "public_read": true, "write_mode": "sync",
            "require_service_role": false, "cache": {"ttl_secs": MAX_TTL_SECS * 2, "stale_secs": 30},
            "metadata_max_bytes": MAX_METADATA_MAX_BYTES * 2,
            "log": {"snapshot_every": 50000, "keep_snapshots": 2},
            "rewards": [{"from": 1, "to": 20000, "reward": "medal"}],
            "integrity": {"velocity": {"max": 5000, "window_secs": 60, "action": "reject"}}
        })
    }

    #[test]
    fn a_board_stored_before_a_check_was_tightened_still_reads() {
        let raw = stored_by_an_earlier_release();
        // This release refuses it as input…
        let posted = serde_json::from_value::<BoardConfigInput>(raw.clone()).unwrap();
        let refused = posted.validate().unwrap_err();
        assert!(
            matches!(&refused, LeaderboardError::InvalidConfig(m) if m.contains("retain_periods")),
            "{refused:?}"
        );
        // …and reads it as stored, every value as it was written.
        let board = Board::from_stored("board 'cup'", raw.to_string().as_bytes()).unwrap();
        assert_eq!(board.retain_periods, MAX_RETAIN_PERIODS + 34);
        assert_eq!(board.cache.ttl_secs, MAX_TTL_SECS * 2);
        assert_eq!(board.metadata_max_bytes, MAX_METADATA_MAX_BYTES * 2);
        assert_eq!(board.rewards.as_ref().unwrap().last_rank(), 20_000);
        assert_eq!(board.integrity.velocity.unwrap().max, 5000);
        // It writes back as it was read.
        let again: serde_json::Value = serde_json::from_str(&board.to_stored().unwrap()).unwrap();
        assert_eq!(again, raw);
        // The board inside an event reads the same way.
        let in_event: Board = serde_json::from_value(raw).unwrap();
        assert_eq!(in_event, board);
    }

    #[test]
    fn a_stored_board_the_encoding_cannot_hold_is_corrupt_data() {
        for (raw, says) in [
            (
                json!({"id": "b", "score_type": "decimal"}),
                "requires a scale",
            ),
            (
                json!({"id": "b", "score_min": 5, "score_max": 1}),
                "greater than",
            ),
            (json!({"id": "b", "format": 2}), "unknown field `format`"),
            (
                json!({"id": "b", "subscore": {"max": 1_000_000_000}, "score_max": 1_000_000_000}),
                "sort-key",
            ),
            (
                json!({"id": "b", "period": "daily", "cohort_size": 0}),
                "cohort_size 0",
            ),
            (
                json!({"id": "b", "log": {"keep_snapshots": 0}}),
                "log.keep_snapshots 0",
            ),
            (
                json!({"id": "b", "period": "daily", "rewards": [
                    {"from": 3, "to": 5, "reward": 1}, {"from": 5, "reward": 2}
                ]}),
                "overlap",
            ),
            (
                json!({"id": "b", "period": "daily", "cohort_size": 5,
                    "league": {"tiers": [], "promote": 1, "demote": 1}}),
                "league.tiers",
            ),
            (
                json!({"id": "b", "league": {"tiers": ["a", "b"], "promote": "x", "demote": 1}}),
                "promote",
            ),
        ] {
            match Board::from_stored("board 'b'", raw.to_string().as_bytes()) {
                Err(LeaderboardError::CorruptData(m)) => {
                    assert!(
                        m.starts_with("stored board 'b': ") && m.contains(says),
                        "{m}"
                    );
                }
                other => panic!("{raw}: {other:?}"),
            }
        }
    }
}
