//! Projections rebuilt from the log: copies, folds, comparison and the atomic swap of a replay,
//! and the pointers of time-travel projections.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{t/b}:rp:<nonce>:…` | as above | a replay's fresh projection, until it is swapped in |
//! | `lb:{t/b}:asof:<id>` / `asof:<id>:<nonce>:…` | string / as above | a time-travel projection (minutes) |

use leaderboard::events::log::Op;
use leaderboard::{LeaderboardError, Result};

use crate::repo::{Keys, Repo, bin, int, text, uint};

const FOLD: &str = include_str!("lua/fold.lua");
const COPY: &str = include_str!("lua/copy.lua");
const COMPARE: &str = include_str!("lua/compare.lua");
const SWAP: &str = include_str!("lua/swap.lua");

/// A slice of a comparison of two projections' period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compared {
    /// Entries in the first projection's period.
    pub total_a: u64,
    /// Entries in the second's.
    pub total_b: u64,
    /// Entries of the first checked in this slice.
    pub checked: u64,
    /// Players whose entry differs (absent from the second, other standing or record).
    pub differing: Vec<String>,
}

impl Keys {
    /// Which time-travel projection holds the board as it stood at `event` (its nonce).
    pub fn as_of_pointer(&self, event: &str) -> String {
        self.k(&format!("asof:{event}"))
    }
}

impl Repo {
    /// Copies a projection's periods and keys from `from` to `to` (replacing), each copy living
    /// `ttl_ms`; the number of periods.
    pub async fn copy_projection(&self, from: &Keys, to: &Keys, ttl_ms: u64) -> Result<u64> {
        let r = self
            .eval(
                COPY,
                &[from.periods(), to.periods()],
                vec![
                    bin(from.prefix()),
                    bin(to.prefix()),
                    bin(ttl_ms.to_string()),
                ],
            )
            .await?;
        r.first()
            .map(uint)
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Writes folded events into the projection under `target`, every key written living `ttl_ms`
    /// (`0`: no lifetime).
    pub async fn fold(&self, target: &Keys, ops: &[Op], ttl_ms: u64) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut args = vec![bin(target.prefix()), bin(ttl_ms.to_string())];
        for op in ops {
            match op {
                Op::Start(p) => args.extend([bin("S"), bin(p.to_string())]),
                Op::Put {
                    period,
                    player,
                    record,
                    member,
                    rank_value,
                } => args.extend([
                    bin("P"),
                    bin(period.to_string()),
                    bin(player.as_str()),
                    bin(record.as_str()),
                    bin(member.as_str()),
                    bin(rank_value.to_string()),
                ]),
                Op::Delete { period, player } => args.extend([
                    bin("D"),
                    bin(period.map_or_else(|| "*".to_string(), |p| p.to_string())),
                    bin(player.as_str()),
                ]),
            }
        }
        self.eval(FOLD, &[target.periods()], args).await?;
        Ok(())
    }

    /// Compares entries `[start, start + count)` of `a`'s `period` with `b`.
    pub async fn compare(
        &self,
        a: &Keys,
        b: &Keys,
        period: &str,
        start: u64,
        count: u64,
    ) -> Result<Compared> {
        let key = |k: &Keys, part: &str| format!("{}{part}:{period}", k.prefix());
        let r = self
            .eval(
                COMPARE,
                &[
                    key(a, "z"),
                    key(a, "r"),
                    key(b, "z"),
                    key(b, "m"),
                    key(b, "r"),
                ],
                vec![bin(start.to_string()), bin(count.to_string())],
            )
            .await?;
        match r.as_slice() {
            [total_a, total_b, checked, players @ ..] => Ok(Compared {
                total_a: uint(total_a)?,
                total_b: uint(total_b)?,
                checked: uint(checked)?,
                differing: players.iter().map(text).collect::<Result<_>>()?,
            }),
            other => Err(LeaderboardError::CorruptData(format!(
                "unexpected comparison reply {other:?}"
            ))),
        }
    }

    /// Swaps `fresh` in for `live` if the log's last event is still `last` (`""`: empty log),
    /// giving each period its expiry: `Ok(version)` after the swap, `Err(new last id)` when the
    /// log moved.
    pub async fn swap(
        &self,
        live: &Keys,
        fresh: &Keys,
        last: &str,
        periods: &[(String, Option<i64>)],
    ) -> Result<std::result::Result<i64, String>> {
        let mut args = vec![bin(live.prefix()), bin(fresh.prefix()), bin(last)];
        for (p, expire) in periods {
            args.extend([bin(p.as_str()), bin(expire.unwrap_or(0).to_string())]);
        }
        let r = self
            .eval(
                SWAP,
                &[
                    live.events(),
                    live.periods(),
                    fresh.periods(),
                    live.version(),
                ],
                args,
            )
            .await?;
        match r.as_slice() {
            [ok, version] if int(ok)? == 1 => Ok(Ok(int(version)?)),
            [_, last] => Ok(Err(text(last)?)),
            other => Err(LeaderboardError::CorruptData(format!(
                "unexpected swap reply {other:?}"
            ))),
        }
    }

    /// The periods of a projection.
    pub async fn periods_of(&self, keys: &Keys) -> Result<Vec<String>> {
        let r = self.exec("SMEMBERS", vec![bin(keys.periods())]).await?;
        r.iter().map(text).collect()
    }

    /// The id of the last event at or before `upto` (the log's last with `None`).
    pub async fn last_event(&self, keys: &Keys, upto: Option<&str>) -> Result<Option<String>> {
        let page = self
            .range_rev(&keys.events(), upto.unwrap_or("+"), 1)
            .await?;
        Ok(page.into_iter().next())
    }

    /// Ids of up to `count` entries of a stream from `end` backwards.
    async fn range_rev(&self, key: &str, end: &str, count: u32) -> Result<Vec<String>> {
        // Flattened reply: id, then the entry's fields; the first element is the newest id.
        let r = self
            .exec(
                "XREVRANGE",
                vec![
                    bin(key),
                    bin(end),
                    bin("-"),
                    bin("COUNT"),
                    bin(count.to_string()),
                ],
            )
            .await?;
        Ok(r.first().map(text).transpose()?.into_iter().collect())
    }
}
