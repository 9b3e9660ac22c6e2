//! Rate-limit state in Redis: one script per request for every Redis-stored policy.

use leaderboard::{LeaderboardError, Result};

use crate::repo::{Repo, bin, int};

const RATELIMIT: &str = include_str!("lua/ratelimit.lua");

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
        let names: Vec<String> = keys.iter().map(|k| k.key.clone()).collect();
        let mut args = Vec::with_capacity(2 * keys.len());
        for k in keys {
            args.push(bin(k.interval_us.to_string()));
            args.push(bin(k.tolerance_us.to_string()));
        }
        let r = self.eval(RATELIMIT, &names, args).await?;
        let bad = || LeaderboardError::CorruptData("unexpected rate-limit script reply".into());
        let [first, now, rest @ ..] = r.as_slice() else {
            return Err(bad());
        };
        if rest.len() != 2 * keys.len() {
            return Err(bad());
        }
        let states = rest
            .chunks(2)
            .map(|pair| {
                let stored = int(&pair[0])?;
                Ok(LimitState {
                    stored_tat_us: (stored >= 0).then_some(stored),
                    allowed: int(&pair[1])? == 1,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((int(first)? == 1, int(now)? / 1000, states))
    }
}
