//! [`BoardAt`]: one board's store at one moment, the value a board's operations take in place
//! of the repository, the tenant, the board, its keys and the time, passed one by one.

use leaderboard::{Board, TenantId};

use super::{Keys, Repo};

/// One board at one moment: the repository it is stored in, its tenant, its config, its keys
/// (the board's own, never a cohort's: [`Keys::in_cohort`] makes those from them) and the time
/// the operation acts at (Unix ms: the request's, or the worker's run's).
pub struct BoardAt<'a> {
    /// The store.
    pub repo: &'a Repo,
    /// Whose board it is.
    pub tenant: &'a TenantId,
    /// Its config.
    pub board: &'a Board,
    /// Its keys.
    pub keys: Keys,
    /// The time (Unix ms).
    pub now_ms: i64,
}

impl<'a> BoardAt<'a> {
    /// `board` of `tenant` in `repo` at `now_ms`.
    pub fn new(repo: &'a Repo, tenant: &'a TenantId, board: &'a Board, now_ms: i64) -> Self {
        Self {
            repo,
            tenant,
            board,
            keys: Keys::new(tenant, &board.id),
            now_ms,
        }
    }
}
