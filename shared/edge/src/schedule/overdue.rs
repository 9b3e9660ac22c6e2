//! What waits for a worker: the items of a kind whose time has passed and that no worker holds
//! (`/health/detailed`).

use leaderboard::Result;

use super::{Item, Kind, Register, score};
use crate::repo::script::{answer, script, unexpected};
use crate::repo::{Repo, int, text};

script! {
    /// The items of a kind overdue, read only (`lua/overdue.lua`).
    mod overdue = include_str!("lua/overdue.lua");
    keys {
        /// The register.
        register,
    }
    args {
        /// The caller's clock (ms).
        now_ms,
        /// The kind ([`Kind::name`]).
        kind,
        /// Items due looked at, at most.
        scan,
        /// Items answered, at most.
        max,
    }
}

/// Items of a kind overdue ([`Repo::due_overdue`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overdue {
    /// How many, among the first items due of the register (at most [`OVERDUE_SCANNED`]).
    pub count: u64,
    /// The earliest of them, with when each fell due (ms).
    pub first: Vec<(Item, i64)>,
}

/// Items due that [`Repo::due_overdue`] looks at, at most: what one read costs Redis stays small.
pub const OVERDUE_SCANNED: usize = 1_000;

impl Repo {
    /// The items of `kind` in `register` whose time has passed and that no worker holds (the
    /// first `max` of them, with when each fell due), read only: what waits for a worker.
    pub async fn due_overdue(
        &self,
        register: &Register,
        kind: Kind,
        now_ms: i64,
        max: usize,
    ) -> Result<Overdue> {
        let keys = overdue::Keys {
            register: register.key(),
        };
        let args = overdue::Args {
            now_ms: now_ms.into(),
            kind: kind.name().into(),
            scan: OVERDUE_SCANNED.into(),
            max: max.into(),
        };
        let reply = overdue::run(self, keys, args).await?;
        let (word, rest) = answer(&reply)?;
        let Some((count, pairs)) = rest.split_first().filter(|_| word == "overdue") else {
            return Err(unexpected(overdue::NAME, &word, rest));
        };
        let mut overdue = Overdue {
            count: u64::try_from(int(count)?).unwrap_or(0),
            first: Vec::with_capacity(pairs.len() / 2),
        };
        for pair in pairs.chunks(2) {
            let [member, due] = pair else {
                return Err(unexpected(overdue::NAME, &word, pair));
            };
            let member = text(member)?;
            let due_ms = score(due)?;
            // A member no release serves is not counted as work waiting.
            if let Ok(item) = Item::parse(&member, register) {
                overdue.first.push((item, due_ms));
            }
        }
        Ok(overdue)
    }
}
