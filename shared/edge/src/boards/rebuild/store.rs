//! Projections rebuilt from the log: copies, folds, comparison and the atomic swap of a replay,
//! and the pointers of time-travel projections.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{t/b}:rp:<nonce>:…` | as above | a replay's fresh projection, until it is swapped in |
//! | `lb:{t/b}:asof:<id>` / `asof:<id>:<nonce>:…` | string / as above | a time-travel projection (minutes) |

use leaderboard::Result;
use leaderboard::events::log::Op;

use crate::repo::script::{Arg, answer, script, unexpected};
use crate::repo::{Keys, RedisResult, Repo, bin, int, text, uint};

script! {
    /// Folded events written into a projection (`lua/fold.lua`).
    mod fold = include_str!("lua/fold.lua");
    keys {
        /// The projection's periods set.
        periods,
    }
    args {
        /// The projection's key prefix.
        prefix,
        /// The lifetime of every key written (ms; `0`: none).
        ttl_ms;
        /// The ops: `S` period, `P` period player record member rank value, `D` period player.
        more ops,
    }
}

script! {
    /// A projection copied to another prefix (`lua/copy.lua`).
    mod copy = include_str!("lua/copy.lua");
    keys {
        /// The source's periods set.
        from_periods,
        /// The target's periods set.
        to_periods,
    }
    args {
        /// The source's key prefix.
        from_prefix,
        /// The target's key prefix.
        to_prefix,
        /// The copies' lifetime (ms).
        ttl_ms,
    }
}

script! {
    /// A slice of two projections' period compared (`lua/compare.lua`).
    mod compare = include_str!("lua/compare.lua");
    keys {
        /// A's sorted set of the period.
        a_ranking,
        /// A's records of the period.
        a_records,
        /// B's sorted set of the period.
        b_ranking,
        /// B's members of the period.
        b_members,
        /// B's records of the period.
        b_records,
    }
    args {
        /// The slice's first rank.
        start,
        /// How many entries it takes.
        count,
    }
}

script! {
    /// A replayed projection swapped in for the live one (`lua/swap.lua`).
    mod swap = include_str!("lua/swap.lua");
    keys {
        /// The board's log.
        events,
        /// The live periods set.
        live_periods,
        /// The replayed periods set.
        fresh_periods,
        /// The board's version counter.
        version,
    }
    args {
        /// The live projection's key prefix.
        live_prefix,
        /// The replayed projection's key prefix.
        fresh_prefix,
        /// The last event the replay folded (`""`: none).
        last;
        /// Per replayed period: its id and its expiry (Unix ms; `0`: never).
        more periods,
    }
}

/// The answer of `swap.lua`, typed: the board's new version after the swap, or the log's last
/// event id when the log moved.
fn swapped(word: &str, rest: &[RedisResult]) -> Result<std::result::Result<i64, String>> {
    match (word, rest) {
        ("swapped", [version]) => Ok(Ok(int(version)?)),
        ("moved", [last]) => Ok(Err(text(last)?)),
        _ => Err(unexpected(swap::NAME, word, rest)),
    }
}

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
        let r = copy::run(
            self,
            copy::Keys {
                from_periods: from.periods(),
                to_periods: to.periods(),
            },
            copy::Args {
                from_prefix: from.prefix().into(),
                to_prefix: to.prefix().into(),
                ttl_ms: ttl_ms.into(),
            },
        )
        .await?;
        match answer(&r)? {
            (word, [n]) if word == "copied" => uint(n),
            (word, rest) => Err(unexpected(copy::NAME, &word, rest)),
        }
    }

    /// Writes folded events into the projection under `target`, every key written living `ttl_ms`
    /// (`0`: no lifetime).
    pub async fn fold(&self, target: &Keys, ops: &[Op], ttl_ms: u64) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut more: Vec<Arg> = Vec::new();
        for op in ops {
            match op {
                Op::Start(p) => more.extend(["S".into(), p.to_string().into()]),
                Op::Put {
                    period,
                    player,
                    record,
                    member,
                    rank_value,
                } => more.extend([
                    "P".into(),
                    period.to_string().into(),
                    player.as_str().into(),
                    record.as_str().into(),
                    member.as_str().into(),
                    rank_value.to_string().into(),
                ]),
                Op::Delete { period, player } => more.extend([
                    "D".into(),
                    period
                        .map_or_else(|| "*".to_string(), |p| p.to_string())
                        .into(),
                    player.as_str().into(),
                ]),
            }
        }
        let r = fold::run(
            self,
            fold::Keys {
                periods: target.periods(),
            },
            fold::Args {
                prefix: target.prefix().into(),
                ttl_ms: ttl_ms.into(),
                ops: more,
            },
        )
        .await?;
        match answer(&r)? {
            (word, [_]) if word == "folded" => Ok(()),
            (word, rest) => Err(unexpected(fold::NAME, &word, rest)),
        }
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
        let r = compare::run(
            self,
            compare::Keys {
                a_ranking: key(a, "z"),
                a_records: key(a, "r"),
                b_ranking: key(b, "z"),
                b_members: key(b, "m"),
                b_records: key(b, "r"),
            },
            compare::Args {
                start: start.into(),
                count: count.into(),
            },
        )
        .await?;
        match answer(&r)? {
            (word, [total_a, total_b, checked, players @ ..]) if word == "compared" => {
                Ok(Compared {
                    total_a: uint(total_a)?,
                    total_b: uint(total_b)?,
                    checked: uint(checked)?,
                    differing: players.iter().map(text).collect::<Result<_>>()?,
                })
            }
            (word, rest) => Err(unexpected(compare::NAME, &word, rest)),
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
        let mut more: Vec<Arg> = Vec::with_capacity(2 * periods.len());
        for (p, expire) in periods {
            more.extend([p.as_str().into(), expire.unwrap_or(0).into()]);
        }
        let r = swap::run(
            self,
            swap::Keys {
                events: live.events(),
                live_periods: live.periods(),
                fresh_periods: fresh.periods(),
                version: live.version(),
            },
            swap::Args {
                live_prefix: live.prefix().into(),
                fresh_prefix: fresh.prefix().into(),
                last: last.into(),
                periods: more,
            },
        )
        .await?;
        let (word, rest) = answer(&r)?;
        swapped(&word, rest)
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

#[cfg(test)]
mod tests {
    use super::*;
    use leaderboard::LeaderboardError;

    #[test]
    fn the_swap_answers_by_name() {
        let bulk = |s: &str| RedisResult::Binary(s.as_bytes().to_vec());
        assert_eq!(
            swapped("swapped", &[RedisResult::Int64(7)]).ok(),
            Some(Ok(7))
        );
        assert_eq!(
            swapped("moved", &[bulk("1-0")]).ok(),
            Some(Err("1-0".to_string()))
        );
        assert_eq!(swapped("moved", &[bulk("")]).ok(), Some(Err(String::new())));
        assert!(matches!(
            swapped("swapped", &[]),
            Err(LeaderboardError::CorruptData(_))
        ));
        assert!(matches!(
            swapped("1", &[RedisResult::Int64(7)]),
            Err(LeaderboardError::CorruptData(_))
        ));
    }
}
