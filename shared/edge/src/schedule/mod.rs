//! Due work: one alarm, and the registers of what is due at a time (sorted sets of items by
//! when each is due, Unix ms). The alarm is a key set to expire when the earliest item of any
//! register is due; its `expired` keyspace event rings the worker, which serves every register
//! and, for the schedule's own, dispatches each item by its kind (`functions/projector`).
//!
//! The schedule's register ([`REGISTER`]) holds what any worker may serve, each item named by its
//! kind ([`Item`]): a competition's next edge (a tournament's start or end, a period's close,
//! awards owed: `crate::competitions`). What only one region's worker can serve, the end of a
//! period published to its push tier (`crate::live::push`), is in that tier's register
//! ([`tier_register`]), by the same protocol: were it in the shared one, a tier whose worker is
//! down would keep its items due there, and ring every other worker at once, forever. A note
//! sets an item's due time ([`NoteMode`]); a lease takes the items due and makes each due again
//! a lease later unless noted meanwhile, so a worker that dies holding one leaves it due; a
//! forget removes one, or only while it is due when the caller's lease or note left it.
//!
//! The inbox sweep's register (`crate::submissions::pipeline::claims`) and what the webhook
//! deliverer owes (`crate::webhooks::due`) have registers and scripts of their own yet, on the
//! same alarm, arming it through its prelude (`lua/alarm_arm.lua`).
//!
//! The previous release kept a competition register and a push tier's in keys of their own
//! (`lb:{claims}:tournaments`, `lb:{claims}:push:<tier>:rollovers`) with alarms of their own:
//! a lease moves what they still hold into the registers here first ([`PREVIOUS_COMPETITIONS`],
//! [`previous_rollovers`]), and the worker still listens to their alarms
//! ([`PREVIOUS_ALARM_CHANNELS`]), so the instances of a rolling deploy that still run the
//! previous release lose nothing. Both go with the next release.
//!
//! Every register and alarm is on the `{claims}` slot, so that on a cluster the worker's trigger
//! node, the owner of that slot, hears the alarm.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{claims}:alarm` | string | [`ALARM`]: expires when the earliest item of any register is due (its keyspace event rings the worker) |
//! | `lb:{claims}:due` | sorted set | [`REGISTER`]: `<kind>:<tenant>/<board>` ([`Item`]) → when due, ms |
//! | `lb:{claims}:due:<tier>` | sorted set | [`tier_register`]: `rollover:<tenant>/<board>` → when the period the tier was sent ends, ms |

use leaderboard::{BoardId, Result, TenantId};

use crate::repo::Repo;
use crate::repo::script::{answer, script, unexpected};

/// The alarm of every register: expires when the earliest item of any is due.
pub const ALARM: &str = "lb:{claims}:alarm";
/// Where Redis announces [`ALARM`]'s expiry (database 0: the only one on a cluster), a trigger
/// channel of the worker.
pub const ALARM_CHANNEL: &str = "__keyspace@0__:lb:{claims}:alarm";

/// The schedule's register: what any worker may serve, by kind ([`Item`]).
pub const REGISTER: &str = "lb:{claims}:due";

/// The register of what only the worker of the push tier `tier` serves ([`Item::Rollover`]).
pub fn tier_register(tier: &str) -> String {
    format!("lb:{{claims}}:due:{tier}")
}

/// How long a leased item stays leased: one whose work failed is due again after this.
pub const LEASE_MS: i64 = 30_000;

/// Items one lease takes from a register, at most (the alarm rings again at once for the rest).
pub const PER_LEASE: usize = 16;

/// The previous release's competition register (moved into [`REGISTER`] by each lease).
pub const PREVIOUS_COMPETITIONS: &str = "lb:{claims}:tournaments";

/// The previous release's register of the push tier `tier` (moved into its [`tier_register`]).
pub fn previous_rollovers(tier: &str) -> String {
    format!("lb:{{claims}}:push:{tier}:rollovers")
}

/// The previous release's own alarms' channels, which the worker still hears
/// (`spin-worker.toml`) while a rolling deploy's old instances may arm them.
pub const PREVIOUS_ALARM_CHANNELS: [&str; 2] = [
    "__keyspace@0__:lb:{claims}:push-alarm",
    "__keyspace@0__:lb:{claims}:tournament-alarm",
];

/// A register of the schedule: the one any worker may serve, or a push tier's, which only
/// that region's worker serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Register {
    /// [`REGISTER`]: competitions' items.
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

    /// The kind of item it holds.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Shared => COMPETITION,
            Self::Tier(_) => ROLLOVER,
        }
    }

    /// The previous release's register of the same items (moved in by each lease).
    pub fn previous(&self) -> String {
        match self {
            Self::Shared => PREVIOUS_COMPETITIONS.to_string(),
            Self::Tier(tier) => previous_rollovers(tier),
        }
    }
}

/// [`Item::Competition`]'s kind.
const COMPETITION: &str = "competition";
/// [`Item::Rollover`]'s kind.
const ROLLOVER: &str = "rollover";

/// A member a register holds that is no item this release serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unparsed {
    /// `<kind>:<tenant>/<board>`, but of a kind this release does not know, or with ids it does
    /// not take (a later release's, in a rolling deploy or after a rollback): set aside, due
    /// again [`SET_ASIDE_MS`] later, for a worker that serves it.
    Unknown(String),
    /// No item of any release (no kind, no `tenant/board`, a kind that belongs in another
    /// register): forgotten.
    Broken(String),
}

/// How long a member this release does not serve ([`Unparsed::Unknown`]) is set aside: it rings
/// the alarm no more often than this.
pub const SET_ASIDE_MS: i64 = 600_000;

/// What a lease took: the items, and the due time it gave each (held while it stands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leased {
    /// The items due, at most [`PER_LEASE`].
    pub items: Vec<Item>,
    /// Their due time since the lease (Unix ms): a note or a forget made with it
    /// ([`NoteMode::IfHeld`], [`Repo::due_forget`]) acts only while no one noted them since.
    pub held_ms: i64,
}

/// Something due at a time, by kind: what a register's member names (`<kind>:<tenant>/<board>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A competition's next edge (`crate::competitions`): a tournament's start or end, a
    /// periodic board's close, awards owed. In [`REGISTER`].
    Competition(TenantId, BoardId),
    /// The end of the period the push tier `tier` was sent of the board (`crate::live::push`).
    /// In the tier's register ([`tier_register`]).
    Rollover {
        /// The push tier's id (`PushSettings::tier_id`).
        tier: String,
        /// The board's tenant.
        tenant: TenantId,
        /// The board.
        board: BoardId,
    },
}

impl Item {
    /// The item's kind, as its member starts.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Competition(..) => COMPETITION,
            Self::Rollover { .. } => ROLLOVER,
        }
    }

    /// The board it is about.
    pub fn board(&self) -> (&TenantId, &BoardId) {
        match self {
            Self::Competition(tenant, board) | Self::Rollover { tenant, board, .. } => {
                (tenant, board)
            }
        }
    }

    /// The register's member: `<kind>:<tenant>/<board>` (a rollover's tier is its register's).
    pub fn member(&self) -> String {
        let (tenant, board) = self.board();
        format!("{}:{tenant}/{board}", self.kind())
    }

    /// The item a member of `register` names.
    pub fn parse(member: &str, register: &Register) -> std::result::Result<Self, Unparsed> {
        let Some((kind, board)) = member
            .split_once(':')
            .filter(|(_, board)| board.contains('/'))
        else {
            return Err(Unparsed::Broken(format!(
                "'{member}' is no <kind>:<tenant>/<board>"
            )));
        };
        if kind != register.kind() {
            let why = format!("'{member}': {} holds no {kind}", register.key());
            return Err(if [COMPETITION, ROLLOVER].contains(&kind) {
                Unparsed::Broken(why)
            } else {
                Unparsed::Unknown(why)
            });
        }
        let (tenant, id) = board_ref(board.as_bytes())
            .map_err(|e| Unparsed::Unknown(format!("'{member}': {e}")))?;
        Ok(match register {
            Register::Shared => Self::Competition(tenant, id),
            Register::Tier(tier) => Self::Rollover {
                tier: tier.clone(),
                tenant,
                board: id,
            },
        })
    }

    /// The register it is kept in.
    pub fn register(&self) -> Register {
        match self {
            Self::Competition(..) => Register::Shared,
            Self::Rollover { tier, .. } => Register::Tier(tier.clone()),
        }
    }
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
    }
    args {
        /// The item ([`Item::member`]).
        item,
        /// When it is due (ms).
        due_ms,
        /// The caller's clock (ms).
        now_ms,
        /// `always`, `earlier` or `if_held` ([`NoteMode`]).
        mode,
        /// With `if_held`: the due time the caller holds (ms).
        held_ms,
    }
}

script! {
    /// A lease of the items due (`lua/lease.lua`), after what the previous release's register
    /// still holds is moved in.
    mod lease = with_alarm_arm!(include_str!("lua/lease.lua"));
    keys {
        /// The register.
        register,
        /// [`ALARM`].
        alarm,
        /// The previous release's register of the same items.
        previous,
    }
    args {
        /// The caller's clock (ms).
        now_ms,
        /// How long each item taken stays leased (ms).
        lease_ms,
        /// Items taken at most.
        max,
        /// The kind of the items the previous register holds.
        kind,
        /// Items moved from the previous register at most.
        adopt_max,
    }
}

/// Items a lease moves from a previous release's register, at most.
const ADOPTED_PER_LEASE: usize = 1_000;

/// A board named in a register or a doorbell (`tenant/board`).
pub fn board_ref(entry: &[u8]) -> std::result::Result<(TenantId, BoardId), String> {
    let text = std::str::from_utf8(entry).map_err(|_| "the payload is not UTF-8".to_string())?;
    let (tenant, board) = text
        .split_once('/')
        .ok_or_else(|| format!("'{text}' is no tenant/board"))?;
    Ok((
        TenantId::new(tenant).map_err(|e| e.to_string())?,
        BoardId::new(board).map_err(|e| e.to_string())?,
    ))
}

/// How [`Repo::due_note`] notes an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteMode {
    /// Whatever it was due at.
    Always,
    /// Only if that is earlier than it is due already.
    Earlier,
    /// Only while it is due at this time still (the caller's lease or note).
    IfHeld(i64),
}

impl Repo {
    /// Notes `item` as due at `due_ms` as `mode` says, and arms the alarm for the earliest item
    /// of its register (at once for one due already), unless it expires sooner already. Times
    /// are the caller's clock (`now_ms`).
    pub async fn due_note(
        &self,
        item: &Item,
        due_ms: i64,
        now_ms: i64,
        mode: NoteMode,
    ) -> Result<()> {
        let (key, member) = (item.register().key(), item.member());
        self.note_member(&key, member.as_bytes(), due_ms, now_ms, mode)
            .await
    }

    /// [`Repo::due_note`] of the member `member` of the register `key`.
    async fn note_member(
        &self,
        key: &str,
        member: &[u8],
        due_ms: i64,
        now_ms: i64,
        mode: NoteMode,
    ) -> Result<()> {
        let (mode, held_ms) = match mode {
            NoteMode::Always => ("always", String::new()),
            NoteMode::Earlier => ("earlier", String::new()),
            NoteMode::IfHeld(held_ms) => ("if_held", held_ms.to_string()),
        };
        let keys = note::Keys {
            register: key.to_string(),
            alarm: ALARM.to_string(),
        };
        let args = note::Args {
            item: member.into(),
            due_ms: due_ms.into(),
            now_ms: now_ms.into(),
            mode: mode.into(),
            held_ms: held_ms.into(),
        };
        let reply = note::run(self, keys, args).await?;
        match answer(&reply)? {
            (word, []) if word == "noted" || word == "held_elsewhere" => Ok(()),
            (word, rest) => Err(unexpected(note::NAME, &word, rest)),
        }
    }

    /// Leases up to [`PER_LEASE`] items of `register` due by `now_ms` (each due again
    /// [`LEASE_MS`] later unless noted meanwhile), and arms the alarm for the earliest; what the
    /// previous release's register still holds is moved in first. A member that is no item is
    /// logged: one this release does not serve is set aside ([`Unparsed::Unknown`]), one that is
    /// no item of any release is forgotten ([`Unparsed::Broken`]; a member that is no UTF-8 too),
    /// each only while the lease holds it.
    pub async fn due_lease(&self, register: &Register, now_ms: i64) -> Result<Leased> {
        let key = register.key();
        let keys = lease::Keys {
            register: key.clone(),
            alarm: ALARM.to_string(),
            previous: register.previous(),
        };
        let args = lease::Args {
            now_ms: now_ms.into(),
            lease_ms: LEASE_MS.into(),
            max: PER_LEASE.into(),
            kind: register.kind().into(),
            adopt_max: ADOPTED_PER_LEASE.into(),
        };
        let reply = lease::run(self, keys, args).await?;
        let (word, members) = answer(&reply)?;
        if word != "leased" {
            return Err(unexpected(lease::NAME, &word, members));
        }
        let held_ms = now_ms + LEASE_MS;
        let mut items = Vec::with_capacity(members.len());
        for member in members {
            let raw = match member {
                crate::repo::RedisResult::Binary(raw) => raw.as_slice(),
                other => return Err(unexpected(lease::NAME, &word, std::slice::from_ref(other))),
            };
            let parsed = std::str::from_utf8(raw)
                .map_err(|_| Unparsed::Broken(format!("{raw:?} is no UTF-8")))
                .and_then(|member| Item::parse(member, register));
            let kept = match parsed {
                Ok(item) => {
                    items.push(item);
                    continue;
                }
                Err(Unparsed::Unknown(why)) => {
                    eprintln!("schedule: {why} (set aside for a worker that serves it)");
                    self.set_aside(&key, raw, now_ms, held_ms).await
                }
                Err(Unparsed::Broken(why)) => {
                    eprintln!("schedule: {why} (forgotten: no worker could serve it)");
                    self.zrem_if(&key, raw, Some(held_ms)).await
                }
            };
            if let Err(e) = kept {
                eprintln!("schedule: a member of {key} that is no item stays leased: {e}");
            }
        }
        Ok(Leased { items, held_ms })
    }

    /// Notes `member` of `key` due [`SET_ASIDE_MS`] from now, while the lease holds it.
    async fn set_aside(&self, key: &str, member: &[u8], now_ms: i64, held_ms: i64) -> Result<()> {
        let (due_ms, mode) = (now_ms + SET_ASIDE_MS, NoteMode::IfHeld(held_ms));
        self.note_member(key, member, due_ms, now_ms, mode).await
    }

    /// Forgets `item` — nothing more is due, or its board is gone — or, with `held_ms`, only
    /// while it is due at that time (the caller's lease or note): one noted again meanwhile
    /// stays.
    pub async fn due_forget(&self, item: &Item, held_ms: Option<i64>) -> Result<()> {
        self.zrem_if(&item.register().key(), item.member().as_bytes(), held_ms)
            .await
    }

    /// What a worker does with an item it served under a lease that holds it at `held_ms`: noted
    /// due at `next` (its next time), or forgotten when it has none; either only while the lease
    /// still holds it (a note made meanwhile stands).
    pub async fn due_next(
        &self,
        item: &Item,
        next: Option<i64>,
        now_ms: i64,
        held_ms: i64,
    ) -> Result<()> {
        match next {
            Some(next) => {
                self.due_note(item, next, now_ms, NoteMode::IfHeld(held_ms))
                    .await
            }
            None => self.due_forget(item, Some(held_ms)).await,
        }
    }
}

/// The schedule's scripts as an integration test runs them itself on a Redis (feature
/// `testing`): `note`, `lease` and `forget` (an item removed while the caller holds it).
///
/// # Panics
/// On another name (a test's mistake).
#[cfg(feature = "testing")]
pub fn script_for_tests(name: &str) -> crate::repo::script::Named {
    match name {
        "note" => note::named(),
        "lease" => lease::named(),
        "forget" => crate::repo::zrem_if::named(),
        other => panic!("the schedule has no script {other}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ids(tenant: &str, board: &str) -> (TenantId, BoardId) {
        (TenantId::new(tenant).unwrap(), BoardId::new(board).unwrap())
    }

    #[test]
    fn an_item_is_read_back_from_its_member_in_its_register() {
        let (t, b) = ids("acme", "daily-1");
        let competition = Item::Competition(t.clone(), b.clone());
        assert_eq!(competition.member(), "competition:acme/daily-1");
        assert_eq!(competition.register(), Register::Shared);
        assert_eq!(Register::Shared.key(), REGISTER);
        let member = competition.member();
        assert_eq!(Item::parse(&member, &Register::Shared), Ok(competition));
        let tier = Register::Tier("0123456789abcdef".into());
        let rollover = Item::Rollover {
            tier: "0123456789abcdef".into(),
            tenant: t,
            board: b,
        };
        assert_eq!(rollover.member(), "rollover:acme/daily-1");
        assert_eq!(rollover.register(), tier);
        assert_eq!(tier.key(), "lb:{claims}:due:0123456789abcdef");
        assert_eq!(Item::parse(&rollover.member(), &tier), Ok(rollover));
    }

    #[test]
    fn a_member_of_another_release_is_set_aside_and_one_of_none_is_broken() {
        let tier = Register::Tier("ab".into());
        let parsed = |member: &str, register: &Register| Item::parse(member, register);
        let unknown = |why: &str, member: &str| matches!(parsed(member, &Register::Shared), Err(Unparsed::Unknown(w)) if w.contains(why));
        let broken = |why: &str, member: &str, register: &Register| matches!(parsed(member, register), Err(Unparsed::Broken(w)) if w.contains(why));
        // A later release's kind, or ids this release does not take: set aside.
        assert!(unknown("holds no award", "award:acme/b"));
        assert!(unknown("'competition:acme/B@d'", "competition:acme/B@d"));
        // No item of any release: broken.
        assert!(broken(
            "holds no rollover",
            "rollover:acme/b",
            &Register::Shared
        ));
        assert!(broken(
            "lb:{claims}:due:ab holds no competition",
            "competition:acme/b",
            &tier
        ));
        assert!(broken(
            "is no <kind>:<tenant>/<board>",
            "acme/b",
            &Register::Shared
        ));
        assert!(broken(
            "is no <kind>:<tenant>/<board>",
            "competition:acme",
            &Register::Shared
        ));
        assert!(broken(
            "is no <kind>:<tenant>/<board>",
            "",
            &Register::Shared
        ));
    }
}
