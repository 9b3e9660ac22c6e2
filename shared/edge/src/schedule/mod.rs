//! Due work: one alarm, and the registers of what is due at a time (sorted sets of items by
//! when each is due, Unix ms). The alarm is a key set to expire when the earliest item of any
//! register is due; its `expired` keyspace event rings the worker, which leases what is due and
//! serves each item by its kind (`functions/projector`).
//!
//! An item ([`Item`], of a [`Kind`]) names its work and what it is about: a competition's next
//! edge (a tournament's start or end, a period's close, awards owed: `crate::competitions`), a
//! board whose drain may have left inbox entries claimed (the inbox sweep:
//! `crate::submissions::pipeline::sweep`), what the webhook deliverer owes (a board's log no
//! fan-out may have read, a tenant's messages falling due: `crate::webhooks::due`), and, in a
//! push tier's register ([`tier_register`]), the end of a period the tier was sent
//! (`crate::live::push`). Every kind is in the schedule's register ([`REGISTER`]) but the
//! last: only one region's worker can publish to its tier, and in a shared register a tier
//! whose worker is down would keep its items due, and ring every other worker at once, forever.
//!
//! One protocol for all: a note sets an item's due time ([`NoteMode`]) and stamps it with a
//! number never given before; a lease takes the items due, each with its stamp, and makes each
//! due again a lease later ([`Kind::lease_ms`]), so a worker that dies holding one leaves it
//! due; the worker then says what it did ([`Repo::due_next`]: due again at its next time, or
//! forgotten) — which, for an item noted since the lease (its stamp or its due time changed: a
//! note of the previous release stamps nothing), keeps that note's time: no note is lost to a
//! worker that read before it.
//!
//! The previous release kept the inbox sweep's and the webhook deliverer's registers apart
//! (`lb:{claims}`, `lb:{claims}:webhooks`, on the same alarm): the worker moves what they still
//! hold in on each alarm ([`Repo::due_adopt`]), so the instances of a rolling deploy that
//! still run it lose nothing. The shim goes with the next release.
//!
//! Every register and the alarm are on the `{claims}` slot, so that on a cluster the worker's
//! trigger node, the owner of that slot, hears the alarm.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{claims}:alarm` | string | [`ALARM`]: expires when the earliest item of any register is due (its keyspace event rings the worker) |
//! | `lb:{claims}:due` | sorted set | [`REGISTER`]: `<kind>:<tenant>/<board>` or `<kind>:<tenant>/*` ([`Item`]) → when due, ms |
//! | `lb:{claims}:due:<tier>` | sorted set | [`tier_register`]: `rollover:<tenant>/<board>` → when the period the tier was sent ends, ms |
//! | `<register>:stamps` | hash | each item of the register → its last note's number ([`Register::stamps`]) |
//! | `lb:{claims}:due:notes` | string | [`NOTES`]: how many notes were ever made (where the numbers come from) |
//! | `lb:{claims}:nudged` | string | [`NUDGED`]: set for [`NUDGE_AFTER_MS`] when `/health/ready` rang for due work no alarm rang (at most one ring per that time) |

mod item;
mod overdue;
mod previous;

pub use item::{AlarmEvent, Item, Kind, Unparsed, board_ref};
pub use overdue::{NUDGE_AFTER_MS, OVERDUE_SCANNED, Overdue};
pub use previous::{PREVIOUS_INBOX, PREVIOUS_WEBHOOK_STAMPS, PREVIOUS_WEBHOOKS};

use leaderboard::Result;

use crate::repo::script::{Arg, answer, script, unexpected};
use crate::repo::{RedisResult, Repo, int, text};

/// The alarm of every register: expires when the earliest item of any is due.
pub const ALARM: &str = "lb:{claims}:alarm";
/// Where Redis announces [`ALARM`]'s expiry (database 0: the only one on a cluster), a trigger
/// channel of the worker.
pub const ALARM_CHANNEL: &str = "__keyspace@0__:lb:{claims}:alarm";

/// The schedule's register: what any worker may serve, by kind ([`Item`]).
pub const REGISTER: &str = "lb:{claims}:due";

/// How many notes were ever made, in every register: where the stamps come from.
pub const NOTES: &str = "lb:{claims}:due:notes";

/// Set for [`NUDGE_AFTER_MS`] when [`Repo::due_nudge`] rang: however many instances are asked
/// `/health/ready`, one ring per that time.
pub const NUDGED: &str = "lb:{claims}:nudged";

/// The register of what only the worker of the push tier `tier` serves ([`Item::Rollover`]).
pub fn tier_register(tier: &str) -> String {
    format!("lb:{{claims}}:due:{tier}")
}

/// How long a lease holds an item, but the webhook deliverer's ([`Kind::lease_ms`]): one whose
/// work failed is due again after this.
pub const LEASE_MS: i64 = 30_000;

/// Items one lease takes from a register, at most (the alarm rings again at once for the rest).
pub const PER_LEASE: usize = 16;

/// How long the alarm waits at least for what a lease of some kinds only leaves due (a drain's
/// message leases competitions and inbox items): a burst of such messages rings it once.
pub const FILTERED_LEASE_DEFER_MS: i64 = 2_000;

/// How long a member this release does not serve ([`Unparsed::Unknown`]) is set aside: it rings
/// the alarm no more often than this.
pub const SET_ASIDE_MS: i64 = 600_000;

/// A register of the schedule: the one any worker may serve, or a push tier's, which only
/// that region's worker serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Register {
    /// [`REGISTER`]: every kind but rollovers.
    Shared,
    /// [`tier_register`]: the tier's rollovers.
    Tier(String),
}

impl Register {
    /// Its key.
    pub fn key(&self) -> String {
        match self {
            Self::Shared => REGISTER.to_string(),
            Self::Tier(tier) => tier_register(tier),
        }
    }

    /// The key of its items' stamps (hash: item → its last note's number).
    pub fn stamps(&self) -> String {
        format!("{}:stamps", self.key())
    }
}

/// What a lease (or a note) gave an item: its stamp and due time then, which what the worker
/// says it did holds to ([`Repo::due_next`], [`Repo::due_forget`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    stamp: String,
    due_ms: i64,
}

/// What a worker says it did with an item (`done.lua`): what its lease gave it (`None`: whatever
/// was noted since), its next due time (`None`: forgotten), and whether an item noted since is
/// left as it is.
struct Done<'a> {
    held: Option<&'a Held>,
    next: Option<i64>,
    only_held: bool,
}

/// How [`Repo::due_note`] notes an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteMode {
    /// Whatever it was due at.
    Always,
    /// Only if that is earlier than it is due already.
    Earlier,
    /// Only if it is not noted at all: the due time of a note made already stands (an acceptance
    /// whose doorbell no worker heard leaves a drain's time as it is: the drain may still be at
    /// work, and the sweep takes over what is claimed). It is stamped all the same, so a worker
    /// that leased the item before does not take it for served.
    Absent,
}

/// A script of a register that shares [`ALARM`], after the alarm's prelude
/// (`lua/alarm_arm.lua`): `with_alarm_arm!(include_str!(…))`. The prelude's path is the
/// crate's own (a relative `include_str!` inside a macro resolves from the file that calls it).
macro_rules! with_alarm_arm {
    ($script:expr) => {
        concat!(
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/schedule/lua/alarm_arm.lua"
            )),
            $script
        )
    };
}
pub(crate) use with_alarm_arm;

script! {
    /// An item's note (`lua/note.lua`).
    mod note = with_alarm_arm!(include_str!("lua/note.lua"));
    keys {
        /// The register.
        register,
        /// [`ALARM`].
        alarm,
        /// [`Register::stamps`].
        stamps,
        /// [`NOTES`].
        notes,
    }
    args {
        /// The item ([`Item::member`]).
        item,
        /// When it is due (ms).
        due_ms,
        /// The caller's clock (ms).
        now_ms,
        /// `always`, `earlier` or `absent` ([`NoteMode`]).
        mode,
    }
}

script! {
    /// A lease of the items due (`lua/lease.lua`).
    mod lease = with_alarm_arm!(include_str!("lua/lease.lua"));
    keys {
        /// The register.
        register,
        /// [`ALARM`].
        alarm,
        /// [`Register::stamps`].
        stamps,
    }
    args {
        /// The caller's clock (ms).
        now_ms,
        /// How long an item of a kind not in `leases` stays leased (ms).
        lease_ms,
        /// `<kind>=<ms>` words: how long an item of each kind stays leased ([`Kind::lease_ms`]).
        leases,
        /// The kinds taken (words; `''`: every kind).
        kinds,
        /// With `kinds`: how long the alarm waits at least for what the lease leaves (ms).
        defer_ms,
        /// Items taken at most.
        max,
    }
}

script! {
    /// What a worker did with an item it leased (`lua/done.lua`).
    mod done = with_alarm_arm!(include_str!("lua/done.lua"));
    keys {
        /// The register.
        register,
        /// [`ALARM`].
        alarm,
        /// [`Register::stamps`].
        stamps,
    }
    args {
        /// The item ([`Item::member`]).
        item,
        /// Its stamp when leased ([`Held`]), or `''`: whatever was noted since.
        stamp,
        /// Its due time when leased ([`Held`]).
        held_ms,
        /// When it is due next (ms), or `''`: forgotten.
        next_ms,
        /// `'1'`: only while the caller holds it (an item noted since is left as it is).
        only_held,
        /// The caller's clock (ms).
        now_ms,
    }
}

impl Repo {
    /// Notes `item` as due at `due_ms` as `mode` says, stamping it, and arms the alarm for the
    /// earliest item of its register (at once for one due already), unless it expires sooner
    /// already. Times are the caller's clock (`now_ms`). The note's stamp: a caller that serves
    /// the item itself says what it did holding it ([`Repo::due_next`]), as a lease's holder.
    pub async fn due_note(
        &self,
        item: &Item,
        due_ms: i64,
        now_ms: i64,
        mode: NoteMode,
    ) -> Result<Held> {
        let register = item.register();
        let keys = note::Keys {
            register: register.key(),
            alarm: ALARM.to_string(),
            stamps: register.stamps(),
            notes: NOTES.to_string(),
        };
        let mode = match mode {
            NoteMode::Always => "always",
            NoteMode::Earlier => "earlier",
            NoteMode::Absent => "absent",
        };
        let args = note::Args {
            item: item.member().into(),
            due_ms: due_ms.into(),
            now_ms: now_ms.into(),
            mode: mode.into(),
        };
        let reply = note::run(self, keys, args).await?;
        match answer(&reply)? {
            (word, [stamp, due]) if word == "noted" => Ok(Held {
                stamp: int(stamp)?.to_string(),
                due_ms: score(due)?,
            }),
            (word, rest) => Err(unexpected(note::NAME, &word, rest)),
        }
    }

    /// Leases up to [`PER_LEASE`] items of `register` due by `now_ms` of `kinds` (none named:
    /// every kind; each due again its kind's lease later unless noted meanwhile), and arms the
    /// alarm for the earliest. A member that is no item is logged: one this release does not
    /// serve is set aside ([`Unparsed::Unknown`]), one that is no item of any release is
    /// forgotten ([`Unparsed::Broken`]; a member that is no UTF-8 too), each only while the
    /// lease holds it.
    pub async fn due_lease(
        &self,
        register: &Register,
        kinds: &[Kind],
        now_ms: i64,
    ) -> Result<Vec<(Item, Held)>> {
        let reply = self.lease_run(register, kinds, PER_LEASE, now_ms).await?;
        let (word, members) = answer(&reply)?;
        if word != "leased" || members.len() % 3 != 0 {
            return Err(unexpected(lease::NAME, &word, members));
        }
        let mut items = Vec::with_capacity(members.len() / 3);
        for triple in members.chunks(3) {
            let [RedisResult::Binary(raw), stamp, due] = triple else {
                return Err(unexpected(lease::NAME, &word, triple));
            };
            let held = Held {
                stamp: text(stamp)?,
                due_ms: score(due)?,
            };
            match std::str::from_utf8(raw)
                .map_err(|_| Unparsed::Broken(format!("{raw:?} is no UTF-8")))
                .and_then(|member| Item::parse(member, register))
            {
                Ok(item) => items.push((item, held)),
                Err(unparsed) => self.put_aside(register, raw, unparsed, &held, now_ms).await,
            }
        }
        Ok(items)
    }

    /// Arms the alarm for `register`'s earliest item (at once for one due), leasing none: a
    /// worker out of time before the register's turn leaves its items to the next ring.
    pub async fn due_rearm(&self, register: &Register, now_ms: i64) -> Result<()> {
        self.lease_run(register, &[], 0, now_ms).await.map(|_| ())
    }

    /// `lease.lua`: up to `max` items of `kinds` (none named: every kind).
    async fn lease_run(
        &self,
        register: &Register,
        kinds: &[Kind],
        max: usize,
        now_ms: i64,
    ) -> Result<Vec<RedisResult>> {
        let leases: Vec<String> = Kind::ALL
            .iter()
            .map(|k| format!("{}={}", k.name(), k.lease_ms()))
            .collect();
        let kinds: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
        let keys = lease::Keys {
            register: register.key(),
            alarm: ALARM.to_string(),
            stamps: register.stamps(),
        };
        let args = lease::Args {
            now_ms: now_ms.into(),
            lease_ms: LEASE_MS.into(),
            leases: leases.join(" ").into(),
            kinds: kinds.join(" ").into(),
            defer_ms: FILTERED_LEASE_DEFER_MS.into(),
            max: max.into(),
        };
        lease::run(self, keys, args).await
    }

    /// A leased member that is no item: set aside for [`SET_ASIDE_MS`] when a later release may
    /// serve it, else forgotten; logged either way, and left leased should that fail.
    async fn put_aside(
        &self,
        register: &Register,
        member: &[u8],
        unparsed: Unparsed,
        held: &Held,
        now_ms: i64,
    ) {
        let next = match unparsed {
            Unparsed::Unknown(why) => {
                eprintln!("schedule: {why} (set aside for a worker that serves it)");
                Some(now_ms + SET_ASIDE_MS)
            }
            Unparsed::Broken(why) => {
                eprintln!("schedule: {why} (forgotten: no worker could serve it)");
                None
            }
        };
        let done = Done {
            held: Some(held),
            next,
            only_held: true,
        };
        if let Err(e) = self.done_member(register, member, done, now_ms).await {
            eprintln!(
                "schedule: a member of {} that is no item stays leased: {e}",
                register.key()
            );
        }
    }

    /// What a worker does with an item it served under a lease that gave it `held`: noted due
    /// at `next` (its next time), or forgotten when it has none; an item noted since the lease
    /// keeps that note's time (the earlier of it and `next`).
    pub async fn due_next(
        &self,
        item: &Item,
        next: Option<i64>,
        now_ms: i64,
        held: &Held,
    ) -> Result<()> {
        let member = item.member();
        let done = Done {
            held: Some(held),
            next,
            only_held: false,
        };
        self.done_member(&item.register(), member.as_bytes(), done, now_ms)
            .await
    }

    /// Gives back an item leased (by `held`) and not served: due again at `due_ms`, only while
    /// no one noted it since (another worker may hold it now, its lease since this one ended).
    pub async fn due_give_back(
        &self,
        item: &Item,
        due_ms: i64,
        now_ms: i64,
        held: &Held,
    ) -> Result<()> {
        let member = item.member();
        let done = Done {
            held: Some(held),
            next: Some(due_ms),
            only_held: true,
        };
        self.done_member(&item.register(), member.as_bytes(), done, now_ms)
            .await
    }

    /// Forgets `item` — nothing more is due, or its board is gone — or, with `held` (the
    /// caller's lease), only while it was not noted since.
    pub async fn due_forget(&self, item: &Item, held: Option<&Held>, now_ms: i64) -> Result<()> {
        let member = item.member();
        let done = Done {
            held,
            next: None,
            only_held: false,
        };
        self.done_member(&item.register(), member.as_bytes(), done, now_ms)
            .await
    }

    /// `done.lua` for `member` of `register`.
    async fn done_member(
        &self,
        register: &Register,
        member: &[u8],
        done: Done<'_>,
        now_ms: i64,
    ) -> Result<()> {
        let Done {
            held,
            next,
            only_held,
        } = done;
        let keys = done::Keys {
            register: register.key(),
            alarm: ALARM.to_string(),
            stamps: register.stamps(),
        };
        let args = done::Args {
            item: member.into(),
            stamp: held.map(|h| h.stamp.as_str()).unwrap_or_default().into(),
            held_ms: held.map(|h| Arg::from(h.due_ms)).unwrap_or_default(),
            next_ms: next.map(Arg::from).unwrap_or_default(),
            only_held: Arg::flag(only_held),
            now_ms: now_ms.into(),
        };
        let reply = done::run(self, keys, args).await?;
        match answer(&reply)? {
            (word, []) if ["removed", "due", "kept"].contains(&word.as_str()) => Ok(()),
            (word, rest) => Err(unexpected(done::NAME, &word, rest)),
        }
    }
}

/// The schedule's scripts as an integration test runs them itself on a Redis (feature
/// `testing`): `note`, `lease`, `done`, `adopt`, `overdue` and `nudge`.
///
/// # Panics
/// On another name (a test's mistake).
#[cfg(feature = "testing")]
pub fn script_for_tests(name: &str) -> crate::repo::script::Named {
    match name {
        "note" => note::named(),
        "lease" => lease::named(),
        "done" => done::named(),
        "adopt" => previous::adopt::named(),
        "overdue" => overdue::overdue::named(),
        "nudge" => overdue::nudge::named(),
        other => panic!("the schedule has no script {other}"),
    }
}

/// A sorted set's score, as a script returns it: text, which Redis may write as a float.
pub(crate) fn score(value: &RedisResult) -> Result<i64> {
    let text = text(value)?;
    text.parse::<f64>()
        .map(|ms| ms as i64)
        .map_err(|_| leaderboard::LeaderboardError::CorruptData(format!("a due time '{text}'")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_due_time_is_read_as_redis_writes_a_score() {
        let bin = |s: &str| RedisResult::Binary(s.as_bytes().to_vec());
        assert_eq!(score(&bin("1800000031500")).unwrap(), 1_800_000_031_500);
        // Lua's tostring of a large number, and a float Redis may write.
        assert_eq!(score(&bin("1.8000000315e+12")).unwrap(), 1_800_000_031_500);
        assert_eq!(score(&RedisResult::Int64(42)).unwrap(), 42);
        for bad in [bin(""), bin("soon"), RedisResult::Nil] {
            assert!(
                matches!(
                    score(&bad),
                    Err(leaderboard::LeaderboardError::CorruptData(_))
                ),
                "{bad:?}"
            );
        }
    }
}
