//! A drained batch as the core decided it ([`Batch`]), and as `lua/apply_batch.lua` reads it
//! ([`Wire`], its `A.batch`): every part by name. A key is its index in `KEYS` (the script's
//! named keys, then [`Batch::keys`]); a number the script hands to Redis (a rank value, a time)
//! is a string, which no Lua number rounds.

use serde::Serialize;

/// A decided write of a drained entry.
#[derive(Debug, Clone)]
pub struct Put {
    /// Indexes into [`Batch::keys`] of the period's record hash, member hash and sorted set.
    pub period_keys: [usize; 3],
    /// The player.
    pub player: String,
    /// The new record (JSON).
    pub record: String,
    /// Its sorted-set member.
    pub member: String,
    /// Its rank value.
    pub rank_value: u64,
    /// When the period's keys expire.
    pub expire_at_ms: Option<i64>,
    /// The `score_applied` event.
    pub event: String,
    /// How it counts in the board's stats: indexes into [`Batch::keys`] of its minute's keys
    /// and the note (`None`: the board keeps no stats).
    pub stats: Option<([usize; 3], crate::integrity::stats::StatsNote)>,
    /// The period written.
    pub period: leaderboard::PeriodId,
    /// The band its submission names, placing its player on a board with cohorts.
    pub band: Option<String>,
    /// Index into [`Batch::keys`] of its player's cohort's sorted set, which keeps the entry
    /// too (`None`: the board has no cohorts). Set once the players are placed.
    pub cohort: Option<usize>,
}

/// An entry moved to the dead letters.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Its inbox id.
    pub id: String,
    /// Why it cannot be applied.
    pub reason: String,
    /// How many times it was delivered.
    pub deliveries: u64,
    /// Its fields (JSON object), for a redrive.
    pub entry: String,
}

/// A decided batch.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Keys beyond the board's own (records/members/sorted set per period, dedupe keys, stats).
    pub keys: Vec<String>,
    /// What the decisions were based on, with the values seen: `(index into keys, field,
    /// value)`; an empty field means the key had to be absent.
    pub checks: Vec<(usize, String, String)>,
    /// Every entry of the batch (all are acknowledged).
    pub ids: Vec<String>,
    /// New periods: id and its `period_started` event.
    pub starts: Vec<(String, String)>,
    /// Writes, in order.
    pub puts: Vec<Put>,
    /// Dead letters.
    pub dead: Vec<DeadLetter>,
    /// Indexes into keys of ingest idempotency keys to remember.
    pub dedupe: Vec<usize>,
    /// Integrity states to store: index into keys of the period's state hash, player, state
    /// JSON, when the period's keys expire.
    pub states: Vec<(usize, String, String, Option<i64>)>,
    /// Reviews to store (held and flagged submissions): id, JSON, submission time.
    pub reviews: Vec<(String, String, i64)>,
    /// Held and rejected submissions to count in the stats: indexes into keys of the minute's
    /// counters, players and climbers, the counter, the player.
    pub notes: Vec<([usize; 3], String, String)>,
}

impl Batch {
    /// Adds a key (or finds it): its index into [`Batch::keys`].
    pub fn key(&mut self, key: String) -> usize {
        match self.keys.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                self.keys.push(key);
                self.keys.len() - 1
            }
        }
    }
}

/// The batch as the script reads it.
#[derive(Serialize)]
pub(super) struct Wire<'a> {
    checks: Vec<Check<'a>>,
    ids: &'a [String],
    starts: Vec<Start<'a>>,
    puts: Vec<WirePut<'a>>,
    dead: Vec<Dead<'a>>,
    dedupe: Vec<usize>,
    states: Vec<State<'a>>,
    reviews: Vec<Review<'a>>,
    notes: Vec<Note<'a>>,
}

/// A value the batch was decided on: `field` of `key` is `value` (`field` empty: the key is
/// absent).
#[derive(Serialize)]
struct Check<'a> {
    key: usize,
    field: &'a str,
    value: &'a str,
}

/// A period the batch starts, with its `period_started` event.
#[derive(Serialize)]
struct Start<'a> {
    period: &'a str,
    event: &'a str,
}

/// A record written: its period's records, members and ranks, the `score_applied` event.
#[derive(Serialize)]
struct WirePut<'a> {
    records: usize,
    members: usize,
    ranks: usize,
    player: &'a str,
    record: &'a str,
    member: &'a str,
    rank: String,
    /// `"0"`: never.
    expire_at_ms: String,
    event: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    stats: Option<Stats>,
    /// Its player's cohort's sorted set.
    #[serde(skip_serializing_if = "Option::is_none")]
    cohort: Option<usize>,
}

/// How a put counts in its minute's stats.
#[derive(Serialize)]
struct Stats {
    counters: usize,
    players: usize,
    climbers: usize,
    fields: String,
    improved: bool,
}

/// An entry moved to the dead letters.
#[derive(Serialize)]
struct Dead<'a> {
    id: &'a str,
    reason: &'a str,
    deliveries: String,
    entry: &'a str,
}

/// An integrity state stored.
#[derive(Serialize)]
struct State<'a> {
    key: usize,
    player: &'a str,
    state: &'a str,
    /// `"0"`: never.
    expire_at_ms: String,
}

/// A review stored (a held or flagged submission).
#[derive(Serialize)]
struct Review<'a> {
    id: &'a str,
    review: &'a str,
    at_ms: String,
}

/// A held or rejected submission counted in its minute's stats.
#[derive(Serialize)]
struct Note<'a> {
    counters: usize,
    players: usize,
    climbers: usize,
    counter: &'a str,
    player: &'a str,
}

impl<'a> Wire<'a> {
    /// `batch` as the script reads it, after its `fixed` named keys.
    pub(super) fn of(batch: &'a Batch, fixed: usize) -> Self {
        // A batch key's index in `KEYS` (Lua counts from 1).
        let key = |i: usize| fixed + i + 1;
        let time = |t: Option<i64>| t.unwrap_or(0).to_string();
        Self {
            checks: batch
                .checks
                .iter()
                .map(|(k, field, value)| Check {
                    key: key(*k),
                    field,
                    value,
                })
                .collect(),
            ids: &batch.ids,
            starts: batch
                .starts
                .iter()
                .map(|(period, event)| Start { period, event })
                .collect(),
            puts: batch.puts.iter().map(|p| WirePut::of(p, key)).collect(),
            dead: batch
                .dead
                .iter()
                .map(|d| Dead {
                    id: &d.id,
                    reason: &d.reason,
                    deliveries: d.deliveries.to_string(),
                    entry: &d.entry,
                })
                .collect(),
            dedupe: batch.dedupe.iter().map(|k| key(*k)).collect(),
            states: batch
                .states
                .iter()
                .map(|(k, player, state, expire)| State {
                    key: key(*k),
                    player,
                    state,
                    expire_at_ms: time(*expire),
                })
                .collect(),
            reviews: batch
                .reviews
                .iter()
                .map(|(id, review, at)| Review {
                    id,
                    review,
                    at_ms: at.to_string(),
                })
                .collect(),
            notes: batch
                .notes
                .iter()
                .map(|([h, u, c], counter, player)| Note {
                    counters: key(*h),
                    players: key(*u),
                    climbers: key(*c),
                    counter,
                    player,
                })
                .collect(),
        }
    }
}

impl<'a> WirePut<'a> {
    /// A decided put as the script reads it (`key`: a batch key's index in `KEYS`).
    fn of(p: &'a Put, key: impl Fn(usize) -> usize) -> Self {
        WirePut {
            records: key(p.period_keys[0]),
            members: key(p.period_keys[1]),
            ranks: key(p.period_keys[2]),
            player: &p.player,
            record: &p.record,
            member: &p.member,
            rank: p.rank_value.to_string(),
            expire_at_ms: p.expire_at_ms.unwrap_or(0).to_string(),
            event: &p.event,
            stats: p.stats.as_ref().map(|([h, u, c], note)| Stats {
                counters: key(*h),
                players: key(*u),
                climbers: key(*c),
                fields: note.fields(),
                improved: note.improved,
            }),
            cohort: p.cohort.map(key),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::integrity::stats::StatsNote;

    fn put(stats: Option<([usize; 3], StatsNote)>, cohort: Option<usize>) -> Put {
        Put {
            period_keys: [0, 1, 2],
            player: "ann".into(),
            record: "{}".into(),
            member: "m".into(),
            rank_value: u64::MAX,
            expire_at_ms: None,
            event: "{}".into(),
            stats,
            period: leaderboard::PeriodId::AllTime,
            band: None,
            cohort,
        }
    }

    #[test]
    fn the_wire_batch_names_its_parts_counts_keys_after_the_named_and_sends_no_null() {
        let note = StatsNote {
            minute: 1,
            counters: vec![],
            count_player: true,
            improved: true,
        };
        let batch = Batch {
            keys: vec!["a".into(), "b".into(), "c".into(), "d".into()],
            puts: vec![put(None, None), put(Some(([3, 2, 1], note)), Some(3))],
            dedupe: vec![3],
            states: vec![(2, "ann".into(), "{}".into(), Some(5))],
            ..Batch::default()
        };
        let wire = serde_json::to_value(Wire::of(&batch, 8)).unwrap();
        assert!(!wire.to_string().contains("null"), "{wire}");
        let (plain, full) = (&wire["puts"][0], &wire["puts"][1]);
        // Lua counts from 1, after the script's 8 named keys.
        assert_eq!(
            (&plain["records"], &plain["members"], &plain["ranks"]),
            (&9.into(), &10.into(), &11.into())
        );
        // What Redis is handed is a string: no Lua number rounds it.
        assert_eq!(plain["rank"], u64::MAX.to_string());
        assert_eq!(plain["expire_at_ms"], "0");
        assert!(plain.get("stats").is_none() && plain.get("cohort").is_none());
        assert_eq!(full["stats"]["counters"], 12);
        assert_eq!(full["stats"]["climbers"], 10);
        assert_eq!(full["stats"]["improved"], true);
        assert_eq!(full["cohort"], 12);
        assert_eq!(wire["dedupe"], serde_json::json!([12]));
        assert_eq!(wire["states"][0]["expire_at_ms"], "5");
        for part in ["checks", "ids", "starts", "dead", "reviews", "notes"] {
            assert_eq!(wire[part], serde_json::json!([]), "{part}");
        }
    }
}
