//! A board from its configuration: what every board goes through, posted or stored
//! ([`BoardConfigInput::build`]: defaults filled, the encoding's limits held), and what a posted
//! one must hold besides ([`Board::check`], run once, when it is created or changed;
//! `crate::board::stored` says why a read never runs it).

use crate::board::config::{
    Board, BoardConfigInput, CacheTtl, DEFAULT_METADATA_MAX_BYTES, DEFAULT_RETAIN_PERIODS,
    DEFAULT_SUBSCORE_MAX, MAX_METADATA_MAX_BYTES, MAX_RETAIN_PERIODS, MAX_STALE_SECS, MAX_TTL_SECS,
    RANK_VALUE_LIMIT, ScoreKind, SubscoreConfig, WriteMode,
};
use crate::board::period::PeriodKind;
use crate::board::score::{MAX_SCALE, ScoreType};
use crate::competition::rewards::RewardTable;
use crate::competition::tournament::TournamentInput;
use crate::error::{LeaderboardError, Result};

fn bad<T>(m: String) -> Result<T> {
    Err(LeaderboardError::InvalidConfig(m))
}

/// A cohort size as built: at least one player per cohort (placing divides by it); its range
/// is [`Board::check`]'s.
fn cohort_size(size: u32) -> Result<u32> {
    if size == 0 {
        crate::competition::cohort::size(size)
    } else {
        Ok(size)
    }
}

impl BoardConfigInput {
    /// The board this configuration describes, defaults filled, checked only for what its
    /// encoding needs (a score type and scale that exist, scores and subscores the sort key
    /// can hold, a tournament's window, a league's amounts): how a stored board is read
    /// ([`crate::board::stored`]), where the checks of [`Board::check`] ran when it was
    /// posted and must not run again.
    pub fn build(&self) -> Result<Board> {
        let score_type = self.score_type()?;
        let (score_min, score_max, subscore) = self.score_range(score_type)?;
        let retain_periods = match (self.period, self.retain_periods) {
            (_, Some(n)) => n,
            (PeriodKind::AllTime, None) => 0,
            (_, None) => DEFAULT_RETAIN_PERIODS,
        };
        let defaults = CacheTtl::default();
        Ok(Board {
            id: self.id.clone(),
            sort: self.sort,
            operator: self.operator,
            score_type,
            score_min,
            score_max,
            subscore,
            period: self.period,
            retain_periods,
            public_read: self.public_read,
            write_mode: self.write_mode,
            require_service_role: self.require_service_role,
            cache: CacheTtl {
                ttl_secs: self.cache.ttl_secs.unwrap_or(defaults.ttl_secs),
                stale_secs: self.cache.stale_secs.unwrap_or(defaults.stale_secs),
            },
            metadata_max_bytes: self
                .metadata_max_bytes
                .unwrap_or(DEFAULT_METADATA_MAX_BYTES),
            log: self.log.build()?,
            integrity: self
                .integrity
                .as_ref()
                .map(|i| i.build(score_type))
                .transpose()?
                .unwrap_or_default(),
            stats: self.stats.unwrap_or(true),
            tournament: self
                .tournament
                .as_ref()
                .map(TournamentInput::build)
                .transpose()?,
            rewards: self
                .rewards
                .as_deref()
                .map(RewardTable::build)
                .transpose()?,
            cohort_size: self.cohort_size.map(cohort_size).transpose()?,
            league: self
                .league
                .as_ref()
                .map(crate::competition::league::LeagueInput::build)
                .transpose()?,
        })
    }

    /// The score type: `integer` without a scale, or `decimal` with one of 0..=[`MAX_SCALE`].
    fn score_type(&self) -> Result<ScoreType> {
        match (self.score_type, self.scale) {
            (ScoreKind::Integer, None) => Ok(ScoreType::Integer),
            (ScoreKind::Integer, Some(_)) => {
                bad("scale is only allowed with score_type \"decimal\"".into())
            }
            (ScoreKind::Decimal, None) => {
                bad("score_type \"decimal\" requires a scale (0..=6)".into())
            }
            (ScoreKind::Decimal, Some(scale)) if scale > MAX_SCALE => {
                bad(format!("scale {scale} is too large (0..={MAX_SCALE})"))
            }
            (ScoreKind::Decimal, Some(scale)) => Ok(ScoreType::Decimal { scale }),
        }
    }

    /// The score range and subscore, defaults filled (see the module doc), each within what
    /// the sort-key encoding holds together (below 2^53).
    fn score_range(&self, score_type: ScoreType) -> Result<(i64, i64, Option<SubscoreConfig>)> {
        let limit = score_type.max_magnitude();
        let check_magnitude = |name: &str, v: i64, lim: i64| -> Result<()> {
            if v.unsigned_abs() > lim.unsigned_abs() {
                bad(format!(
                    "{name} {v} is outside the representable range -{lim}..={lim}"
                ))
            } else {
                Ok(())
            }
        };
        let subscore = match &self.subscore {
            None => None,
            Some(s) => {
                let min = s.min.unwrap_or(0);
                let max = s.max.unwrap_or(DEFAULT_SUBSCORE_MAX);
                check_magnitude("subscore.min", min, crate::board::score::MAX_SAFE_INTEGER)?;
                check_magnitude("subscore.max", max, crate::board::score::MAX_SAFE_INTEGER)?;
                if min > max {
                    return bad(format!(
                        "subscore.min ({min}) is greater than subscore.max ({max})"
                    ));
                }
                Some(SubscoreConfig {
                    sort: s.sort,
                    min,
                    max,
                })
            }
        };
        let sub_width = subscore.map_or(1, |s| s.width());
        let score_min = self.score_min.unwrap_or(0);
        check_magnitude("score_min", score_min, limit)?;
        let score_max = match self.score_max {
            Some(v) => v,
            None => {
                // Largest range the encoding allows with this subscore width.
                let span = i128::from(RANK_VALUE_LIMIT / sub_width) - 1;
                let fit = i128::from(score_min) + span;
                i64::try_from(fit.min(i128::from(limit))).unwrap_or(limit)
            }
        };
        check_magnitude("score_max", score_max, limit)?;
        if score_min > score_max {
            return bad(format!(
                "score_min ({score_min}) is greater than score_max ({score_max})"
            ));
        }
        check_capacity(score_min, score_max, subscore.as_ref())?;
        Ok((score_min, score_max, subscore))
    }
}

impl Board {
    /// What a posted board must hold beyond its encoding ([`BoardConfigInput::build`]):
    /// `retain_periods` 0 on an all-time board and at most [`MAX_RETAIN_PERIODS`], cache
    /// windows and `metadata_max_bytes` within their maxima, valid integrity rules and
    /// competition parts that go together, log settings within their ranges. Run once, when
    /// the board is created or changed; never on a read (a check tightened since must not
    /// turn a stored board into an error).
    pub fn check(&self) -> Result<()> {
        match (self.period, self.retain_periods) {
            (PeriodKind::AllTime, 0) => {}
            (PeriodKind::AllTime, n) => {
                return bad(format!(
                    "retain_periods ({n}) must be 0 or absent for period \"all_time\""
                ));
            }
            (_, n) if n > MAX_RETAIN_PERIODS => {
                return bad(format!(
                    "retain_periods {n} is too large (0..={MAX_RETAIN_PERIODS})"
                ));
            }
            _ => {}
        }
        if self.cache.ttl_secs > MAX_TTL_SECS {
            return bad(format!(
                "cache.ttl_secs {} is too large (0..={MAX_TTL_SECS})",
                self.cache.ttl_secs
            ));
        }
        if self.cache.stale_secs > MAX_STALE_SECS {
            return bad(format!(
                "cache.stale_secs {} is too large (0..={MAX_STALE_SECS})",
                self.cache.stale_secs
            ));
        }
        if self.metadata_max_bytes > MAX_METADATA_MAX_BYTES {
            return bad(format!(
                "metadata_max_bytes {} is too large (0..={MAX_METADATA_MAX_BYTES})",
                self.metadata_max_bytes
            ));
        }
        self.integrity.check()?;
        crate::board::competition::check(&crate::board::competition::Competition {
            tournament: &self.tournament,
            rewards: &self.rewards,
            cohort_size: self.cohort_size.map(cohort_size).transpose()?,
            league: &self.league,
            period: self.period,
            async_writes: self.write_mode == WriteMode::Async,
            retain_periods: self.retain_periods,
            integrity: &self.integrity,
        })?;
        self.log.check()
    }
}

/// Checks that `score_min..=score_max` × the subscore range fits below 2^53.
pub fn check_capacity(
    score_min: i64,
    score_max: i64,
    subscore: Option<&SubscoreConfig>,
) -> Result<()> {
    let score_width = i128::from(score_max) - i128::from(score_min) + 1;
    if score_width < 1 {
        return Err(LeaderboardError::InvalidConfig(format!(
            "score_min ({score_min}) is greater than score_max ({score_max})"
        )));
    }
    let sub_width = subscore.map_or(1, SubscoreConfig::width);
    // Both factors are below 2^65, so the u128 product cannot overflow.
    let needed = score_width.unsigned_abs() * u128::from(sub_width);
    if needed > u128::from(RANK_VALUE_LIMIT) {
        return Err(LeaderboardError::EncodingCapacity {
            needed,
            available: RANK_VALUE_LIMIT,
        });
    }
    Ok(())
}
