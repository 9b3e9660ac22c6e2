//! A board's key names ([`Keys`]: every key of a board shares the hash tag `{tenant/board}`) and
//! the tenant's list of boards.

use leaderboard::competition::cohort::CohortId;
use leaderboard::{BoardId, LeaderboardError, PeriodId, TenantId};

/// Board-scoped key names.
pub struct Keys {
    prefix: String,
    /// `tenant/board`: what the board's rings name.
    board: String,
    /// A cohort's reads ([`Keys::in_cohort`]): its id, so [`Keys::zset`] names the cohort's
    /// sorted set of a period (records and members stay the board's).
    cohort: Option<String>,
}

impl Keys {
    /// `tenant/board`: what the board's rings and registers name.
    pub fn board_ref(&self) -> &str {
        &self.board
    }
    /// Keys of one board.
    pub fn new(tenant: &TenantId, board: &BoardId) -> Self {
        let board = format!("{}/{}", tenant.as_str(), board.as_str());
        Self {
            prefix: format!("lb:{{{board}}}:"),
            board,
            cohort: None,
        }
    }
    /// Key prefix (`lb:{t/b}:`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
    /// The same layout under a sub-prefix of the board (`lb:{t/b}:<part>:`): a snapshot, a
    /// replay's fresh keys, a time-travel projection.
    pub fn within(&self, part: &str) -> Self {
        Self {
            prefix: format!("{}{part}:", self.prefix),
            board: self.board.clone(),
            cohort: None,
        }
    }
    pub(crate) fn k(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }
    /// The board's version: a counter bumped by every write in the write's own script.
    pub fn version(&self) -> String {
        self.k("version")
    }
    /// The board config key.
    pub fn config(&self) -> String {
        self.k("config")
    }
    /// Sorted set of a period (of the cohort, for [`Keys::in_cohort`]'s keys).
    pub fn zset(&self, p: &PeriodId) -> String {
        match &self.cohort {
            Some(c) => self.k(&format!("z:{p}:c:{c}")),
            None => self.k(&format!("z:{p}")),
        }
    }
    /// Record hash of a period.
    pub fn records(&self, p: &PeriodId) -> String {
        self.k(&format!("r:{p}"))
    }
    /// Member hash of a period.
    pub fn members(&self, p: &PeriodId) -> String {
        self.k(&format!("m:{p}"))
    }
    /// Event stream.
    pub fn events(&self) -> String {
        self.k("events")
    }
    /// Set of periods with data.
    pub fn periods(&self) -> String {
        self.k("periods")
    }
    /// A key of the board's slot that is never written: what a script gets in the place of an
    /// optional key it does not use (Redis Cluster needs every key a script touches declared, and
    /// on the board's slot).
    pub fn unused(&self) -> String {
        self.k("unused")
    }
    /// A tournament's creation in progress (noted in the schedule and indexed for the listing
    /// before its board is stored): set for a while by the creating request, so the worker and
    /// the listing, finding no board yet, wait for it rather than forgetting its item or entry.
    /// The board's creation clears it (`create_board.lua`).
    pub fn creating(&self) -> String {
        self.k("creating")
    }
    /// Dead letters: inbox entries that cannot be applied, with the reason.
    pub fn dead(&self) -> String {
        self.k("dead")
    }
    /// The same keys for reads of one cohort: [`Keys::zset`] is the cohort's sorted set of a
    /// period, the rest the board's. Only reads take these keys: a write names the cohort's
    /// set itself ([`Keys::cohort`]).
    pub fn in_cohort(&self, cohort: &CohortId) -> Self {
        Self {
            prefix: self.prefix.clone(),
            board: self.board.clone(),
            cohort: Some(cohort.to_string()),
        }
    }
    /// Inbox stream of accepted asynchronous submissions.
    pub fn inbox(&self) -> String {
        self.k("inbox")
    }
}

pub(crate) fn tenant_boards(tenant: &TenantId) -> String {
    format!("lb:tenant:{{{}}}:boards", tenant.as_str())
}

/// A write that found its board deleted since it read it (the write scripts check the config
/// key, so such a write stores nothing).
pub(crate) fn board_deleted(keys: &Keys) -> LeaderboardError {
    let id = keys
        .board
        .split_once('/')
        .map_or(keys.board.as_str(), |(_, id)| id);
    LeaderboardError::BoardNotFound(format!("board '{id}' was deleted"))
}
