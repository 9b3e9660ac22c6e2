//! Snapshots of a board's projection, and trimming of its log behind them.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{t/b}:snapshots` | sorted set | snapshot ids (the last event each covers), by time |
//! | `lb:{t/b}:snapmeta` | hash | snapshot id → entries ever added to the log when taken |
//! | `lb:{t/b}:snap:<id>:…` | as above | a snapshot: `periods`, `r:`/`m:`/`z:<period>` copies |

use leaderboard::Result;
use leaderboard::board::retention::LogConfig;

use crate::repo::{Keys, Repo, bin, int, text};

const SNAPSHOT: &str = include_str!("lua/snapshot.lua");

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
        let r = self
            .eval(
                SNAPSHOT,
                &[
                    keys.events(),
                    keys.periods(),
                    keys.snapshots(),
                    keys.snapshot_meta(),
                ],
                vec![
                    bin(keys.prefix()),
                    bin(log.snapshot_every.to_string()),
                    bin(log.keep_snapshots.to_string()),
                    bin(if force { "1" } else { "0" }),
                ],
            )
            .await?;
        match r.as_slice() {
            [_, id, trimmed] => Ok(Some(Snapshot {
                id: text(id)?,
                trimmed: u64::try_from(int(trimmed)?).unwrap_or(0),
            })),
            _ => Ok(None),
        }
    }

    /// The board's snapshot ids, oldest first.
    pub async fn snapshot_ids(&self, keys: &Keys) -> Result<Vec<String>> {
        let r = self
            .exec("ZRANGE", vec![bin(keys.snapshots()), bin("0"), bin("-1")])
            .await?;
        r.iter().map(text).collect()
    }
}
