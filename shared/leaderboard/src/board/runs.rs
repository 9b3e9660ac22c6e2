//! The runs a board's rewards pay (`crate::competition::rewards`): a tournament's one run, each
//! period of a daily, weekly or monthly tournament inside its window (its first and last cut by
//! the window's ends), or each period of a daily, weekly or monthly board, and how long a run's
//! awards are kept.

use crate::Conflict;
use crate::board::config::Board;
use crate::board::period::{self, PeriodId, PeriodKind};
use crate::competition::tournament::Window;
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
    /// A tournament's one run (closed once its end is announced), not a period (closed once it
    /// ended, its close begun first: a periodic board's, or a run of a tournament of many runs,
    /// the last of which ends with the window).
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
            return Err(Conflict::NoRewards {
                board: self.id.to_string(),
            }
            .into());
        }
        if let Some(t) = &self.tournament
            && self.period != PeriodKind::AllTime
        {
            return self.run_in_window(t.window, asked, now_ms);
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
                Err(Conflict::NoPeriodRuns {
                    board: self.id.to_string(),
                }
                .into())
            }
            (_, Some(start_ms), Some(end_ms)) => Ok(RewardRun {
                period: run,
                start_ms,
                end_ms,
                tournament: false,
            }),
        }
    }

    /// When the worker is next due for the tournament (`None`: never again, or no tournament):
    /// its next announcement, or — on a tournament of many runs that pays rewards — its current
    /// run's close when that comes first ([`Board::next_run_close_ms`]).
    pub fn tournament_due_ms(
        &self,
        started: bool,
        ended: bool,
        now_ms: i64,
    ) -> Result<Option<i64>> {
        let Some(t) = &self.tournament else {
            return Ok(None);
        };
        let announced = t.window.next_due(started, ended, now_ms);
        Ok(match (announced, self.next_run_close_ms(now_ms)?) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// The close of a tournament of many runs' current run (its period's end), on one that
    /// pays rewards, while that comes before the window's end (its last run closes with the
    /// window, whose end is announced); `None` for any other board.
    pub fn next_run_close_ms(&self, now_ms: i64) -> Result<Option<i64>> {
        let Some(t) = &self.tournament else {
            return Ok(None);
        };
        if self.period == PeriodKind::AllTime || !self.pays_rewards() {
            return Ok(None);
        }
        let from = now_ms.max(t.window.start_ms);
        Ok(period::next_reset_ms(self.period, from)?.filter(|end| *end < t.window.end_ms))
    }

    /// A run of a tournament of many runs: the period `asked` names, or by default the last
    /// that ended at `now_ms` (the current one while none has, the first while it is upcoming:
    /// it answers `open`), cut by the window's ends. `404` for a period outside the window.
    fn run_in_window(&self, window: Window, asked: Option<&str>, now_ms: i64) -> Result<RewardRun> {
        let cut = |run: PeriodId| -> Option<RewardRun> {
            let start_ms = run.start_ms()?.max(window.start_ms);
            let end_ms = run.end_ms()?.min(window.end_ms);
            (start_ms < end_ms).then_some(RewardRun {
                period: run,
                start_ms,
                end_ms,
                tournament: false,
            })
        };
        let run = match asked {
            Some(raw) => period::parse_period_id(self.period, raw)?,
            None if now_ms >= window.end_ms => period::run_ending_at(self.period, window.end_ms)?,
            // Upcoming: its first run (it answers open).
            None if now_ms < window.start_ms => period::period_id(self.period, window.start_ms)?,
            None => {
                let current = period::period_id(self.period, now_ms)?;
                match current.previous().and_then(cut) {
                    Some(ended) => return Ok(ended),
                    None => current,
                }
            }
        };
        cut(run).ok_or_else(|| {
            LeaderboardError::NotFound(format!(
                "period {run} is none of the runs of tournament '{}' (each a {} period inside \
                 its window)",
                self.id,
                self.period.as_str()
            ))
        })
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
    fn a_daily_tournament_has_a_run_per_day_inside_its_window_cut_by_its_ends() {
        // From Nov 24 16:00 to Nov 27 04:00: runs Nov 24 (8 h), 25, 26 and 27 (4 h).
        let t = json!({"title": "Cup", "start": "2026-11-24T16:00:00Z",
            "end": "2026-11-27T04:00:00Z"});
        let b = board(json!({"id": "cup", "period": "daily", "retain_periods": 3,
            "tournament": t, "rewards": [{"from": 1, "reward": 1}]}));
        let first = b.reward_run(Some("2026-11-24"), NOV_26_NOON).unwrap();
        assert!(!first.tournament, "closed as a period");
        assert_eq!(first.end_ms - first.start_ms, 8 * 3_600_000);
        // By default the last run that ended: the day before today.
        let run = b.reward_run(None, NOV_26_NOON).unwrap();
        assert_eq!(run.period.to_string(), "2026-11-25");
        assert_eq!(run.end_ms - run.start_ms, 86_400_000);
        // Once the window ended, its last run, which ends with it.
        let later = NOV_26_NOON + 3 * 86_400_000;
        let last = b.reward_run(None, later).unwrap();
        assert_eq!(last.period.to_string(), "2026-11-27");
        assert_eq!(last.end_ms - last.start_ms, 4 * 3_600_000);
        // In its first run, that run (it answers open): none ended yet.
        let opening = NOV_26_NOON - 2 * 86_400_000 + 6 * 3_600_000;
        let run = b.reward_run(None, opening).unwrap();
        assert_eq!(run.period.to_string(), "2026-11-24");
        assert!(run.end_ms > opening);
        // Upcoming: its first run.
        let run = b.reward_run(None, opening - 3 * 86_400_000).unwrap();
        assert_eq!(
            (run.period.to_string(), run.start_ms),
            ("2026-11-24".into(), first.start_ms)
        );
        // Ended early (the window cut on Nov 25 at 06:00): the last run ends then.
        let early = board(json!({"id": "cup", "period": "daily", "retain_periods": 3,
            "tournament": {"title": "Cup", "start": "2026-11-24T16:00:00Z",
                "end": "2026-11-25T06:00:00Z"}, "rewards": [{"from": 1, "reward": 1}]}));
        let last = early.reward_run(None, NOV_26_NOON).unwrap();
        assert_eq!(last.period.to_string(), "2026-11-25");
        assert_eq!(last.end_ms - last.start_ms, 6 * 3_600_000);
        assert!(matches!(
            early.reward_run(Some("2026-11-26"), NOV_26_NOON),
            Err(LeaderboardError::NotFound(_))
        ));
        // A day outside the window is none of its runs.
        for outside in ["2026-11-23", "2026-11-28"] {
            assert!(matches!(
                b.reward_run(Some(outside), NOV_26_NOON),
                Err(LeaderboardError::NotFound(_))
            ));
        }
        // The worker is due at each run's close before the window's end, then at the end.
        assert_eq!(
            b.tournament_due_ms(true, false, NOV_26_NOON).unwrap(),
            Some(NOV_26_NOON + 12 * 3_600_000)
        );
        let last_day = NOV_26_NOON + 13 * 3_600_000;
        assert_eq!(
            b.tournament_due_ms(true, false, last_day).unwrap(),
            Some(NOV_26_NOON + 16 * 3_600_000),
            "its last run closes with the window's end"
        );
        // A tournament of one run is due at its announcements only.
        let one = board(json!({"id": "one", "tournament": t,
            "rewards": [{"from": 1, "reward": 1}]}));
        assert_eq!(one.next_run_close_ms(NOV_26_NOON).unwrap(), None);
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
            Err(LeaderboardError::Conflict(Conflict::NoRewards { board })) if board == "p"
        ));
    }
}
