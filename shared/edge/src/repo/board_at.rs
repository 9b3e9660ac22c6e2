//! [`BoardAt`]: one board's store at one moment, the value a board's operations take in place
//! of the repository, the tenant, the board, its keys and the time, passed one by one.

use leaderboard::{Board, TenantId};

use super::{Keys, Repo};

/// One board at one moment: the repository it is stored in, its tenant, its config, its keys
/// (the board's own, made from the tenant and the board's id, never a cohort's:
/// [`Keys::in_cohort`] makes those from them) and the time the operation acts at (Unix ms: the
/// request's, the worker's run's, or an approved submission's own, which its write is applied
/// at).
pub struct BoardAt<'a> {
    /// The store.
    pub repo: &'a Repo,
    /// Whose board it is ([`BoardAt::tenant`]).
    tenant: &'a TenantId,
    /// Its config ([`BoardAt::board`]).
    board: &'a Board,
    /// Its keys ([`BoardAt::keys`]): the tenant's and the board's, so the three are read only.
    keys: Keys,
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

    /// Whose board it is.
    pub fn tenant(&self) -> &'a TenantId {
        self.tenant
    }

    /// The board's config.
    pub fn board(&self) -> &'a Board {
        self.board
    }

    /// The board's keys.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Its five parts, for a body that names them: `(repo, tenant, board, keys, now_ms)` (each
    /// of its own type, so no two can be swapped unseen).
    pub fn parts(&self) -> (&'a Repo, &'a TenantId, &'a Board, &Keys, i64) {
        (self.repo, self.tenant, self.board, &self.keys, self.now_ms)
    }
}
