//! Rate-limit state in Redis: one script per request for every Redis-stored policy.

use leaderboard::{LeaderboardError, Result};

use crate::repo::script::{answer, script, unexpected};
use crate::repo::{Repo, int, text};

script! {
    /// GCRA for every Redis-stored policy of one request, all or nothing (`lua/ratelimit.lua`).
    mod ratelimit = include_str!("lua/ratelimit.lua");
    keys {
        ;
        /// Each policy's state key.
        more states,
    }
    args {
        ;
        /// Per key: its emission interval and tolerance (µs).
        more limits,
    }
}

/// One key to check: its state key, emission interval and tolerance (µs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitKey {
    /// The state key.
    pub key: String,
    /// Emission interval `T` (µs).
    pub interval_us: i64,
    /// `T × (burst − 1)` (µs).
    pub tolerance_us: i64,
}

/// What the script saw and decided for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitState {
    /// The TAT stored before the request (µs), if any.
    pub stored_tat_us: Option<i64>,
    /// Whether this key allowed the request.
    pub allowed: bool,
}

impl Repo {
    /// Runs GCRA for `keys` on Redis's clock, all or nothing: `(allowed, the time it decided at
    /// in ms, per key)`.
    pub async fn rate_limit(&self, keys: &[LimitKey]) -> Result<(bool, i64, Vec<LimitState>)> {
        let r = ratelimit::run(
            self,
            ratelimit::Keys {
                states: keys.iter().map(|k| k.key.clone()).collect(),
            },
            ratelimit::Args {
                limits: keys
                    .iter()
                    .flat_map(|k| [k.interval_us.into(), k.tolerance_us.into()])
                    .collect(),
            },
        )
        .await?;
        let (word, rest) = answer(&r)?;
        let allowed = match word.as_str() {
            "allowed" => true,
            "limited" => false,
            _ => return Err(unexpected(ratelimit::NAME, &word, rest)),
        };
        let [now, pairs @ ..] = rest else {
            return Err(unexpected(ratelimit::NAME, &word, rest));
        };
        if pairs.len() != 2 * keys.len() {
            return Err(unexpected(ratelimit::NAME, &word, rest));
        }
        let states = pairs
            .chunks_exact(2)
            .map(|pair| {
                let [stored, by_key] = pair else {
                    return Err(unexpected(ratelimit::NAME, &word, rest));
                };
                let stored = text(stored)?;
                Ok(LimitState {
                    stored_tat_us: if stored.is_empty() {
                        None
                    } else {
                        Some(stored.parse().map_err(|_| {
                            LeaderboardError::CorruptData(format!("a stored TAT '{stored}'"))
                        })?)
                    },
                    allowed: int(by_key)? == 1,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((allowed, int(now)? / 1000, states))
    }
}
