//! Board configuration: [`BoardConfigInput`] (what an admin POSTs) and the [`Board`] it builds.
//!
//! Defaults (all documented on the fields): `sort: "desc"`, `operator: "best"`,
//! `score_type: "integer"`, `score_min: 0`, `score_max: 2^53−1` for integers / `10^15−1` minor units
//! for decimals (or less, see below), no subscore, `period: "all_time"`, `retain_periods: 3`
//! (0 for `all_time`), `public_read: false`, `write_mode: "sync"`, `require_service_role: false`,
//! `cache: {ttl_secs: 5, stale_secs: 30}`, `metadata_max_bytes: 1024`,
//! `log: {snapshot_every: 50000, keep_snapshots: 2}`.
//!
//! Score bounds are given in **minor units** (for `scale: 3`, `score_max: 100000` means 100.000).
//! With a subscore and no explicit `score_max`, the default maximum shrinks to the largest value the
//! sort-key encoding can hold (`score_min + 2^53 / subscore_width − 1`).
//!
//! A posted board is checked once ([`BoardConfigInput::validate`]: [`BoardConfigInput::build`]
//! then [`Board::check`]); a stored one is only built ([`crate::board::stored`]): it serialises
//! as its canonical, fully-populated [`BoardConfigInput`] and reads back without the checks.

use crate::Conflict;
use serde::{Deserialize, Serialize};

use crate::board::period::PeriodKind;
use crate::board::retention::{LogConfig, LogConfigInput};
use crate::board::score::ScoreType;
use crate::competition::rewards::{RewardRangeInput, RewardTable};
use crate::competition::tournament::{Tournament, TournamentInput};
use crate::error::{LeaderboardError, Result};
use crate::ids::BoardId;

/// Default `retain_periods` for periodic boards.
pub const DEFAULT_RETAIN_PERIODS: u32 = 3;
/// Maximum `retain_periods`.
pub const MAX_RETAIN_PERIODS: u32 = 366;
/// Default `metadata_max_bytes`.
pub const DEFAULT_METADATA_MAX_BYTES: u32 = 1024;
/// Maximum `metadata_max_bytes`.
pub const MAX_METADATA_MAX_BYTES: u32 = 4096;
/// Default subscore maximum when a subscore is configured without `max` (2^20 − 1).
pub const DEFAULT_SUBSCORE_MAX: i64 = (1 << 20) - 1;
/// Maximum cache `ttl_secs`.
pub const MAX_TTL_SECS: u32 = 3600;
/// Maximum cache `stale_secs`.
pub const MAX_STALE_SECS: u32 = 86_400;

/// Ranking direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Higher is better.
    #[default]
    Desc,
    /// Lower is better (times, golf).
    Asc,
}

impl SortOrder {
    /// `"desc"` or `"asc"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Desc => "desc",
            Self::Asc => "asc",
        }
    }
}

/// How a submission combines with a player's existing record (see [`crate::board::operator`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operator {
    /// Keep the better standing; never worsens.
    #[default]
    Best,
    /// Replace with the submission.
    Set,
    /// Add the submitted (positive) delta.
    Incr,
    /// Subtract the submitted (positive) delta, flooring at `score_min`.
    Decr,
}

/// Whether a submission is applied before the response (`sync`) or by the event projector (`async`,
/// answered with 202).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteMode {
    /// Apply, then acknowledge.
    #[default]
    Sync,
    /// Append to the event stream, acknowledge with 202; the projector applies it.
    Async,
}

/// Subscore (tie-breaker) configuration as posted. Subscores are always integers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscoreConfigInput {
    /// Direction of the subscore (default `desc`).
    #[serde(default)]
    pub sort: SortOrder,
    /// Lowest subscore (default 0).
    #[serde(default)]
    pub min: Option<i64>,
    /// Highest subscore (default 2^20 − 1).
    #[serde(default)]
    pub max: Option<i64>,
}

/// Validated subscore configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscoreConfig {
    /// Direction of the subscore.
    pub sort: SortOrder,
    /// Lowest subscore.
    pub min: i64,
    /// Highest subscore.
    pub max: i64,
}

impl SubscoreConfig {
    /// Number of distinct subscores, `max − min + 1` (saturating; `min <= max` after validation).
    pub fn width(&self) -> u64 {
        let w = i128::from(self.max) - i128::from(self.min) + 1;
        u64::try_from(w.max(1)).unwrap_or(u64::MAX)
    }
}

/// Score kind as posted: `"integer"` or `"decimal"` (with `scale`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoreKind {
    /// Whole numbers.
    #[default]
    Integer,
    /// Fixed-scale decimals; `scale` is required.
    Decimal,
}

/// Cache settings as posted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheTtlInput {
    /// Fresh lifetime in seconds (default 5, 0..=3600).
    #[serde(default)]
    pub ttl_secs: Option<u32>,
    /// `stale-while-revalidate` window in seconds (default 30, 0..=86400).
    #[serde(default)]
    pub stale_secs: Option<u32>,
}

/// Validated cache settings for reads (`Cache-Control: s-maxage=ttl, stale-while-revalidate=stale`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheTtl {
    /// Fresh lifetime in seconds.
    pub ttl_secs: u32,
    /// Stale-while-revalidate window in seconds.
    pub stale_secs: u32,
}

impl CacheTtl {
    /// Whether reads of the board are worth storing at all (a zero TTL and zero stale window
    /// means every read goes to the source of truth).
    pub fn enabled(&self) -> bool {
        self.ttl_secs > 0 || self.stale_secs > 0
    }
}

impl Default for CacheTtl {
    fn default() -> Self {
        Self {
            ttl_secs: 5,
            stale_secs: 30,
        }
    }
}

/// A board configuration as an admin posts it. Only `id` is required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardConfigInput {
    /// Board id.
    pub id: BoardId,
    /// Ranking direction (default `desc`).
    #[serde(default)]
    pub sort: SortOrder,
    /// Submission operator (default `best`).
    #[serde(default)]
    pub operator: Operator,
    /// `integer` (default) or `decimal`.
    #[serde(default)]
    pub score_type: ScoreKind,
    /// Fractional digits for `decimal` (0..=6, required there; must be absent for `integer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<u8>,
    /// Lowest score in minor units (default 0).
    #[serde(default)]
    pub score_min: Option<i64>,
    /// Highest score in minor units (default: see module docs).
    #[serde(default)]
    pub score_max: Option<i64>,
    /// Optional integer tie-breaker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscore: Option<SubscoreConfigInput>,
    /// Reset cadence (default `all_time`).
    #[serde(default)]
    pub period: PeriodKind,
    /// How many past periods stay readable (default 3, max 366). Must be 0 or absent for `all_time`.
    #[serde(default)]
    pub retain_periods: Option<u32>,
    /// Whether reads need no token (default false).
    #[serde(default)]
    pub public_read: bool,
    /// `sync` (default) or `async`.
    #[serde(default)]
    pub write_mode: WriteMode,
    /// When true only `service`/`admin` tokens may submit scores (default false).
    #[serde(default)]
    pub require_service_role: bool,
    /// Read caching.
    #[serde(default)]
    pub cache: CacheTtlInput,
    /// Largest serialised metadata object per record (default 1024, max 4096).
    #[serde(default)]
    pub metadata_max_bytes: Option<u32>,
    /// Log retention: snapshots and trimming (see [`crate::events::log`]).
    #[serde(default)]
    pub log: LogConfigInput,
    /// Score integrity rules (see [`crate::board::rules`]); none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<crate::board::rules::IntegrityInput>,
    /// Whether the board keeps analytics (`crate::integrity::stats`; default true). Off saves the few
    /// Redis commands each submission spends on its minute's counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<bool>,
    /// Makes the board a tournament ([`crate::competition::tournament`]); none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tournament: Option<TournamentInput>,
    /// Rewards by rank range, awarded once when the run closes
    /// ([`crate::competition::rewards`]); none by default. Paid at a tournament's end (a
    /// tournament of one run, `period: "all_time"`) or at each period's end on a daily, weekly
    /// or monthly board (per cohort on a board with cohorts), on a `sync` board; a league pays
    /// per tier instead (`league.rewards`). Elsewhere it is refused rather than taken and not
    /// paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewards: Option<Vec<RewardRangeInput>>,
    /// Splits each period's standings into cohorts of this many players, placed by their first
    /// submission of the period ([`crate::competition::cohort`]); none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cohort_size: Option<u32>,
    /// Makes the board a league: its cohorts are per tier, and when a period closes the best of
    /// each cohort move up a tier and the worst down ([`crate::competition::league`]); none by
    /// default. Needs a period that resets, `cohort_size` and `write_mode` sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub league: Option<crate::competition::league::LeagueInput>,
}

impl BoardConfigInput {
    /// A configuration with every default and the given id.
    pub fn new(id: BoardId) -> Self {
        Self {
            id,
            sort: SortOrder::default(),
            operator: Operator::default(),
            score_type: ScoreKind::default(),
            scale: None,
            score_min: None,
            score_max: None,
            subscore: None,
            period: PeriodKind::default(),
            retain_periods: None,
            public_read: false,
            write_mode: WriteMode::default(),
            require_service_role: false,
            cache: CacheTtlInput::default(),
            metadata_max_bytes: None,
            log: LogConfigInput::default(),
            integrity: None,
            stats: None,
            tournament: None,
            rewards: None,
            cohort_size: None,
            league: None,
        }
    }

    /// Applies defaults and checks every constraint, including sort-key capacity: what a posted
    /// board goes through, once ([`BoardConfigInput::build`], then [`Board::check`]).
    pub fn validate(&self) -> Result<Board> {
        let board = self.build()?;
        board.check()?;
        if let Some(league) = &self.league {
            league.check_posted()?;
        }
        Ok(board)
    }
}

/// A board's configuration, defaults filled: posted through [`BoardConfigInput::validate`],
/// read back as stored through [`Board::from_stored`] (`crate::board::stored`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "BoardConfigInput", try_from = "BoardConfigInput")]
pub struct Board {
    /// Board id.
    pub id: BoardId,
    /// Ranking direction.
    pub sort: SortOrder,
    /// Submission operator.
    pub operator: Operator,
    /// Integer or decimal scores.
    pub score_type: ScoreType,
    /// Lowest score (minor units).
    pub score_min: i64,
    /// Highest score (minor units).
    pub score_max: i64,
    /// Optional tie-breaker.
    pub subscore: Option<SubscoreConfig>,
    /// Reset cadence.
    pub period: PeriodKind,
    /// Past periods that stay readable (0 for `all_time`).
    pub retain_periods: u32,
    /// Whether reads need no token.
    pub public_read: bool,
    /// Sync or async application of submissions.
    pub write_mode: WriteMode,
    /// Only `service`/`admin` tokens may submit.
    pub require_service_role: bool,
    /// Read caching.
    pub cache: CacheTtl,
    /// Largest serialised metadata object per record, in bytes.
    pub metadata_max_bytes: u32,
    /// Log retention.
    pub log: LogConfig,
    /// Score integrity rules (empty: none).
    pub integrity: crate::board::rules::Integrity,
    /// Whether submissions are counted in the board's stats (`crate::integrity::stats`).
    pub stats: bool,
    /// The tournament the board is, if it is one.
    pub tournament: Option<Tournament>,
    /// What the board's runs award by rank, if anything.
    pub rewards: Option<RewardTable>,
    /// How many players each cohort of a period holds, if the board splits its standings.
    pub cohort_size: Option<u32>,
    /// The league the board is, if it is one.
    pub league: Option<crate::competition::league::League>,
}

impl Board {
    /// Whether the board closes each period that ends (`edge::closes`): a league (its moves)
    /// or a periodic board with rewards (its awards). From a period's close on, no write lands
    /// in it.
    pub fn closes_periods(&self) -> bool {
        self.period != PeriodKind::AllTime && (self.league.is_some() || self.rewards.is_some())
    }

    /// The tables the board's runs pay by: its `rewards`, or its league's per tier (`None`:
    /// the board pays nothing).
    pub fn reward_tables(&self) -> Option<crate::competition::rewards::Tables> {
        use crate::competition::rewards::Tables;
        match (&self.rewards, &self.league) {
            (Some(table), _) => Some(Tables::One(table.clone())),
            (None, Some(league)) if !league.rewards.is_empty() => {
                Some(Tables::PerTier(league.rewards.clone()))
            }
            _ => None,
        }
    }

    /// The canonical input form of this board (every field explicit).
    pub fn to_input(&self) -> BoardConfigInput {
        let (score_type, scale) = match self.score_type {
            ScoreType::Integer => (ScoreKind::Integer, None),
            ScoreType::Decimal { scale } => (ScoreKind::Decimal, Some(scale)),
        };
        BoardConfigInput {
            id: self.id.clone(),
            sort: self.sort,
            operator: self.operator,
            score_type,
            scale,
            score_min: Some(self.score_min),
            score_max: Some(self.score_max),
            subscore: self.subscore.map(|s| SubscoreConfigInput {
                sort: s.sort,
                min: Some(s.min),
                max: Some(s.max),
            }),
            period: self.period,
            retain_periods: Some(self.retain_periods),
            public_read: self.public_read,
            write_mode: self.write_mode,
            require_service_role: self.require_service_role,
            cache: CacheTtlInput {
                ttl_secs: Some(self.cache.ttl_secs),
                stale_secs: Some(self.cache.stale_secs),
            },
            metadata_max_bytes: Some(self.metadata_max_bytes),
            log: self.log.into(),
            integrity: (!self.integrity.is_empty())
                .then(|| self.integrity.to_input(self.score_type)),
            // Canonical form: absent while on (the default), so existing configs read the same.
            stats: (!self.stats).then_some(false),
            tournament: self.tournament.as_ref().map(Tournament::to_input),
            rewards: self.rewards.as_ref().map(RewardTable::to_input),
            cohort_size: self.cohort_size,
            league: self
                .league
                .as_ref()
                .map(crate::competition::league::League::to_input),
        }
    }

    /// The cohort a read of this board names (`raw`; `None` or empty: the reader's default,
    /// [`crate::competition::cohort::scope`]): a board without cohorts has none to name.
    pub fn cohort_asked(
        &self,
        raw: Option<&str>,
    ) -> Result<Option<crate::competition::cohort::CohortId>> {
        match (raw.filter(|c| !c.is_empty()), self.cohort_size) {
            (None, _) => Ok(None),
            (Some(raw), Some(_)) => crate::competition::cohort::CohortId::parse(raw).map(Some),
            (Some(_), None) => Err(LeaderboardError::InvalidBody(format!(
                "board '{}' has no cohorts: 'cohort' names one",
                self.id
            ))),
        }
    }

    /// Whether the board's projection may be rebuilt from its log (`POST …/replay`): not a board
    /// with cohorts, whose cohorts' sorted sets the log does not rebuild (`409`).
    pub fn replayable(&self) -> Result<()> {
        if self.cohort_size.is_some() {
            return Err(Conflict::ReplayOfCohorts {
                board: self.id.to_string(),
            }
            .into());
        }
        Ok(())
    }

    /// Whether the board takes a submission at `now_ms`: a tournament only inside its window
    /// (`409` `tournament-closed`, with the window); any other board always.
    pub fn admits_submission(&self, now_ms: i64) -> Result<()> {
        match &self.tournament {
            Some(t) => t.window.admits(now_ms).map_err(LeaderboardError::from),
            None => Ok(()),
        }
    }

    /// The tournament the board is, if it counts attempts (`max_attempts`); `409` otherwise.
    pub fn counting_attempts(&self) -> Result<&crate::competition::tournament::Tournament> {
        match &self.tournament {
            Some(t) if t.max_attempts.is_some() => Ok(t),
            _ => Err(Conflict::NoAttempts {
                board: self.id.to_string(),
            }
            .into()),
        }
    }

    /// The board with its tournament's window changed to `window` (ended early or extended:
    /// [`crate::competition::tournament::Window`]); a board that is no tournament stays as it is.
    pub fn with_window(&self, window: crate::competition::tournament::Window) -> Self {
        let mut board = self.clone();
        if let Some(t) = &mut board.tournament {
            t.window = window;
        }
        board
    }

    /// Formats a score (minor units) for messages and string renderings.
    pub fn format_score(&self, minor: i64) -> String {
        self.score_type.format(minor)
    }
}

impl From<Board> for BoardConfigInput {
    fn from(board: Board) -> Self {
        board.to_input()
    }
}

/// Read as stored ([`BoardConfigInput::build`]): a board inside an event or a cached envelope
/// was checked when it was posted.
impl TryFrom<BoardConfigInput> for Board {
    type Error = LeaderboardError;
    fn try_from(input: BoardConfigInput) -> Result<Self> {
        input.build()
    }
}

/// Exclusive upper bound of rank values: 2^53.
pub const RANK_VALUE_LIMIT: u64 = 1 << 53;

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
