//! Snapshots of a board's projection, and trimming of its log behind them.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{t/b}:snapshots` | sorted set | snapshot ids (the last event each covers), by time |
//! | `lb:{t/b}:snapmeta` | hash | snapshot id → entries ever added to the log when taken |
//! | `lb:{t/b}:snap:<id>:…` | as above | a snapshot: `periods`, `r:`/`m:`/`z:<period>` copies |

use leaderboard::Result;
use leaderboard::board::retention::LogConfig;

use spin_sdk::redis::RedisResult;

use crate::repo::script::{Arg, answer, script, unexpected};
use crate::repo::{Keys, Repo, bin, text, uint};

script! {
    /// A snapshot taken when due, the oldest dropped, the log trimmed (`lua/snapshot.lua`):
    /// `taken` (its id, log entries trimmed), or none taken: `no_log`, `not_due` or `covered`.
    mod snapshot = include_str!("lua/snapshot.lua");
    keys {
        /// The board's log ([`Keys::events`]).
        events,
        /// The board's periods ([`Keys::periods`]).
        periods,
        /// The snapshots by time ([`Keys::snapshots`]).
        index,
        /// The log's count at each snapshot ([`Keys::snapshot_meta`]).
        meta,
    }
    args {
        /// The board's key prefix (the periods' and snapshots' keys are built from it).
        prefix,
        /// Events between snapshots.
        every,
        /// Snapshots kept.
        keep,
        /// `'1'`: take one even if not due.
        force,
    }
}

/// A snapshot taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The last event it covers.
    pub id: String,
    /// Log entries trimmed behind the oldest snapshot kept.
    pub trimmed: u64,
}

impl Keys {
    /// Snapshots of the projection (sorted set: score = ms, member = the last event id covered).
    pub fn snapshots(&self) -> String {
        self.k("snapshots")
    }
    /// Entries ever added to the log when each snapshot was taken (hash: snapshot id → count).
    pub fn snapshot_meta(&self) -> String {
        self.k("snapmeta")
    }
}

impl Repo {
    /// Takes a snapshot if `log.snapshot_every` events were added since the newest one (or always
    /// with `force`), keeps `log.keep_snapshots`, trims the log behind the oldest kept.
    pub async fn snapshot(
        &self,
        keys: &Keys,
        log: &LogConfig,
        force: bool,
    ) -> Result<Option<Snapshot>> {
        let r = snapshot::run(
            self,
            snapshot::Keys {
                events: keys.events(),
                periods: keys.periods(),
                index: keys.snapshots(),
                meta: keys.snapshot_meta(),
            },
            snapshot::Args {
                prefix: keys.prefix().into(),
                every: log.snapshot_every.into(),
                keep: log.keep_snapshots.into(),
                force: Arg::flag(force),
            },
        )
        .await?;
        let (word, rest) = answer(&r)?;
        taken(&word, rest)
    }

    /// The board's snapshot ids, oldest first.
    pub async fn snapshot_ids(&self, keys: &Keys) -> Result<Vec<String>> {
        let r = self
            .exec("ZRANGE", vec![bin(keys.snapshots()), bin("0"), bin("-1")])
            .await?;
        r.iter().map(text).collect()
    }
}

/// The snapshot `snapshot.lua` answered it took (`None`: none was due).
fn taken(word: &str, rest: &[RedisResult]) -> Result<Option<Snapshot>> {
    match (word, rest) {
        ("taken", [id, trimmed]) => Ok(Some(Snapshot {
            id: text(id)?,
            trimmed: uint(trimmed)?,
        })),
        ("no_log" | "not_due" | "covered", []) => Ok(None),
        _ => Err(unexpected(snapshot::NAME, word, rest)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_is_taken_or_none_was_due() {
        let id = RedisResult::Binary(b"17-0".to_vec());
        assert_eq!(
            taken("taken", &[id.clone(), RedisResult::Int64(4)]).ok(),
            Some(Some(Snapshot {
                id: "17-0".into(),
                trimmed: 4
            }))
        );
        for word in ["no_log", "not_due", "covered"] {
            assert_eq!(taken(word, &[]).ok(), Some(None));
        }
        // The previous release's codes, and a word no release answers.
        assert!(taken("0", &[]).is_err());
        assert!(taken("1", &[id.clone(), RedisResult::Int64(4)]).is_err());
        assert!(taken("taken", &[id]).is_err());
    }
}
