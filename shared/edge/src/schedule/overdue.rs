//! What waits for a worker: the items of a kind whose time has passed and that no worker holds
//! (`/health/detailed`), and the ring for such work that no alarm will ring any more
//! (`/health/ready`).

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

script! {
    /// The alarm armed again for due work no worker heard of (`lua/nudge.lua`).
    mod nudge = crate::schedule::with_alarm_arm!(include_str!("lua/nudge.lua"));
    keys {
        /// The register.
        register,
        /// The alarm ([`super::ALARM`]).
        alarm,
        /// Set while a ring holds ([`super::NUDGED`]).
        nudged,
    }
    args {
        /// The caller's clock (ms).
        now_ms,
        /// How long past its time the earliest item must be.
        grace_ms,
    }
}

/// How long past its time the register's earliest item must be for [`Repo::due_nudge`] to ring (longer than a worker at work takes to lease what its alarm rang
/// for: a lease makes each item due again later), and the least time between two of its rings.
pub const NUDGE_AFTER_MS: i64 = 5_000;

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

    /// Rings the worker again for work of the schedule's register ([`super::REGISTER`]; a push
    /// tier's is its own worker's) that no alarm will ring any more: when its earliest item fell
    /// due more than `grace_ms` before `now_ms` (the alarm expired while no worker listened: a
    /// worker restarting, which pub/sub keeps no message for; or a push tier's note set it for
    /// later), arms the alarm to expire at once, at most once per `grace_ms`
    /// ([`super::NUDGED`]). Returns that item's due
    /// time when it rang. `/health/ready` calls it, so whatever asks that route (a monitor's
    /// prober) rings a worker that started after its alarm; `scripts/up.sh` rings each worker it
    /// starts itself.
    pub async fn due_nudge(&self, now_ms: i64, grace_ms: i64) -> Result<Option<i64>> {
        let keys = nudge::Keys {
            register: super::REGISTER.to_string(),
            alarm: super::ALARM.to_string(),
            nudged: super::NUDGED.to_string(),
        };
        let args = nudge::Args {
            now_ms: now_ms.into(),
            grace_ms: grace_ms.into(),
        };
        let reply = nudge::run(self, keys, args).await?;
        match answer(&reply)? {
            (word, []) if word == "quiet" => Ok(None),
            (word, [_, due]) if word == "rung" => Ok(Some(score(due)?)),
            (word, rest) => Err(unexpected(nudge::NAME, &word, rest)),
        }
    }
}
