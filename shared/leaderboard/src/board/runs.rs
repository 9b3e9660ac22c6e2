//! The runs a board's rewards pay (`crate::competition::rewards`): a tournament's one run, or
//! each period of a daily, weekly or monthly board, and how long a run's awards are kept.

use crate::board::config::Board;
use crate::board::period::{self, PeriodId, PeriodKind};
use crate::error::{LeaderboardError, Result};

/// How long a period's awards are kept after its end at least, to be claimed: 90 days (longer
/// when the period's standings are kept longer, [`Board::awards_kept_until_ms`]).
pub const PERIOD_AWARDS_KEPT_MS: i64 = 90 * 24 * 3_600_000;

/// A run a board's rewards are paid for ([`Board::reward_run`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RewardRun {
    /// The run: a tournament's one, or a period of the board.
    pub period: PeriodId,
    /// When it opened (Unix ms).
    pub start_ms: i64,
    /// When it closes (Unix ms).
    pub end_ms: i64,
    /// A tournament's run (closed once its end is announced), not a period (closed once it
    /// ended, its close begun first).
    pub tournament: bool,
}

impl Board {
    /// Whether the board pays rewards: its own table, or its league's per tier.
    pub fn pays_rewards(&self) -> bool {
        self.rewards.is_some() || self.league.as_ref().is_some_and(|l| !l.rewards.is_empty())
    }

    /// The run of the board's rewards that `asked` names (a period id of the board's kind):
    /// a tournament's one run (`asked`, if given, must name it: `404` otherwise), or a period of
    /// a periodic board, by default the last that ended at `now_ms`. `409` for a board that
    /// pays no rewards, `400` for a period of another kind.
    pub fn reward_run(&self, asked: Option<&str>, now_ms: i64) -> Result<RewardRun> {
        if !self.pays_rewards() {
            return Err(LeaderboardError::Conflict(format!(
                "board '{}' has no rewards",
                self.id
            )));
        }
        if let Some(t) = &self.tournament {
            let run = period::run_ending_at(self.period, t.window.end_ms)?;
            if let Some(raw) = asked.filter(|raw| *raw != run.to_string()) {
                return Err(LeaderboardError::NotFound(format!(
                    "tournament '{}' has one run, '{run}', not '{raw}'",
                    self.id
                )));
            }
            return Ok(RewardRun {
                period: run,
                start_ms: t.window.start_ms,
                end_ms: t.window.end_ms,
                tournament: true,
            });
        }
        let run = match asked {
            Some(raw) => period::parse_period_id(self.period, raw)?,
            None => period::period_id(self.period, now_ms)?
                .previous()
                .unwrap_or(PeriodId::AllTime),
        };
        match (self.period, run.start_ms(), run.end_ms()) {
            (PeriodKind::AllTime, _, _) | (_, None, _) | (_, _, None) => {
                Err(LeaderboardError::Conflict(format!(
                    "board '{}' closes no period: its rewards are a tournament's",
                    self.id
                )))
            }
            (_, Some(start_ms), Some(end_ms)) => Ok(RewardRun {
                period: run,
                start_ms,
                end_ms,
                tournament: false,
            }),
        }
    }

    /// Until when a run's awards are kept (Unix ms; `None`: with the board, a tournament's): a
    /// period's for [`PERIOD_AWARDS_KEPT_MS`] after its end, or as long as its standings if
    /// longer — never shorter than the standings, so a period is never awarded twice.
    pub fn awards_kept_until_ms(&self, run: &RewardRun) -> Option<i64> {
        if run.tournament {
            return None;
        }
        let kept = run.end_ms.saturating_add(PERIOD_AWARDS_KEPT_MS);
        Some(
            period::expire_at_ms(&run.period, self.retain_periods)
                .map_or(kept, |standings| standings.max(kept)),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;
    use crate::board::config::BoardConfigInput;

    fn board(v: serde_json::Value) -> Board {
        serde_json::from_value::<BoardConfigInput>(v)
            .unwrap()
            .validate()
            .unwrap()
    }

    const NOV_26_NOON: i64 = 1_795_694_400_000;

    #[test]
    fn a_periodic_boards_run_is_the_last_period_that_ended_unless_one_is_named() {
        let b = board(json!({"id": "d", "period": "daily", "retain_periods": 200,
            "rewards": [{"from": 1, "reward": 1}]}));
        let run = b.reward_run(None, NOV_26_NOON).unwrap();
        assert_eq!(run.period.to_string(), "2026-11-25");
        assert!(!run.tournament);
        assert_eq!(run.end_ms - run.start_ms, 86_400_000);
        assert_eq!(
            b.reward_run(Some("2026-11-20"), NOV_26_NOON)
                .unwrap()
                .period
                .to_string(),
            "2026-11-20"
        );
        assert!(matches!(
            b.reward_run(Some("2026-W47"), NOV_26_NOON),
            Err(LeaderboardError::InvalidPeriod(_))
        ));
        // Kept 90 days, or as long as the standings when longer.
        let short = board(json!({"id": "d", "period": "daily",
            "rewards": [{"from": 1, "reward": 1}]}));
        let run = short.reward_run(None, NOV_26_NOON).unwrap();
        assert_eq!(
            short.awards_kept_until_ms(&run),
            Some(run.end_ms + PERIOD_AWARDS_KEPT_MS)
        );
        let run = b.reward_run(None, NOV_26_NOON).unwrap();
        assert_eq!(
            b.awards_kept_until_ms(&run),
            period::expire_at_ms(&run.period, 200)
        );
        assert!(b.awards_kept_until_ms(&run) > Some(run.end_ms + PERIOD_AWARDS_KEPT_MS));
    }

    #[test]
    fn a_tournament_has_one_run_and_a_board_without_rewards_none() {
        let t = json!({"title": "Cup", "start": "2026-11-24T16:00:00Z", "duration_secs": 3600});
        let b = board(json!({"id": "cup", "tournament": t, "rewards": [{"from": 1, "reward": 1}]}));
        let run = b.reward_run(None, NOV_26_NOON).unwrap();
        assert!(run.tournament);
        assert_eq!(run.period.to_string(), "all");
        assert_eq!(b.reward_run(Some("all"), NOV_26_NOON).unwrap(), run);
        assert!(matches!(
            b.reward_run(Some("2026-11-25"), NOV_26_NOON),
            Err(LeaderboardError::NotFound(_))
        ));
        assert_eq!(b.awards_kept_until_ms(&run), None);
        let plain = board(json!({"id": "p", "period": "daily"}));
        assert!(!plain.pays_rewards());
        assert!(matches!(
            plain.reward_run(None, NOV_26_NOON),
            Err(LeaderboardError::Conflict(_))
        ));
    }
}
