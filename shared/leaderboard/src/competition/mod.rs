//! Competitions: what live-ops teams run on top of a board — tournaments, cohorts, leagues and
//! rewards — as pure rules over the board's own standings and periods.
//!
//! A competition is a board with more rules, not a second system: the same scores, reads,
//! periods, event log, webhooks and integrity rules, with these decisions on top.
//!
//! - [`tournament`]: a window (`start`, `end` or a duration; each run is a period of the board
//!   clipped to it) that admits submissions only while open, ending early and extending it,
//!   joining (`join_required`, `max_size`) and attempts per player per run (`max_attempts`, plus
//!   what an admin or service grants).
//! - [`cohort`]: buckets of a fixed size a player is placed in by its first submission of a
//!   period, in order of arrival, optionally within a skill band the caller names.
//! - [`league`]: ordered tiers on a periodic board; when a period closes the best of each group
//!   move up and the worst move down.
//! - [`rewards`]: a table from rank ranges to an opaque payload the game interprets, awarded
//!   once from a run's final standings, and claimed once.
//!
//! Everything here takes plain values (time is an argument, Unix milliseconds). Where a count
//! must be atomic (a tournament's joiners, a player's attempts, a cohort's arrivals) the adapter
//! keeps it in Redis and checks and counts in one script, by the rule stated here: a join or an
//! attempt is decided on the count **before** it and counted only when admitted (a refusal
//! counts nothing), and a cohort placement takes the arrival's own number (the counter after
//! it, from 1).

pub mod cohort;
pub mod league;
pub mod rewards;
pub mod tournament;

use crate::error::{LeaderboardError, Result};

/// Checks a short label an admin or caller names (a category, a skill band, a tier):
/// [`crate::ids::is_label`].
pub(crate) fn label(field: &str, raw: &str) -> Result<String> {
    if crate::ids::is_label(raw) {
        Ok(raw.to_string())
    } else {
        Err(LeaderboardError::InvalidConfig(format!(
            "{field} '{raw}' must be 1 to 32 of a-z, 0-9, '_' and '-', starting with a letter or \
             digit"
        )))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_label_is_short_lowercase_and_starts_with_a_letter_or_digit() {
        assert_eq!(label("category", "weekly-cup_2").unwrap(), "weekly-cup_2");
        assert_eq!(label("band", "9").unwrap(), "9");
        for bad in ["", "-a", "_a", "Gold", "a b", "é", &"a".repeat(33)] {
            assert!(
                matches!(label("band", bad), Err(LeaderboardError::InvalidConfig(m)) if m.contains("band")),
                "{bad:?}"
            );
        }
        assert!(label("band", &"a".repeat(32)).is_ok());
    }
}
