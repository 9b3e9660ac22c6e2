//! A board's sweep: what a delete left under the board's prefix, removed step by step
//! (`SCAN` of [`SWEEP_STEP`] keys a step, `lua/sweep_step.lua`), while the board's tombstone holds
//! the sweep's token.

use leaderboard::{LeaderboardError, Result};

use crate::repo::script::{Arg, answer, script, unexpected};
use crate::repo::{Keys, RedisParameter, Repo, bin, text, uint};

script! {
    /// One step of a deleted board's sweep (`lua/sweep_step.lua`).
    mod sweep_step = include_str!("lua/sweep_step.lua");
    keys {
        /// The board's tombstone, holding the sweep's token.
        tombstone;
        /// The keys the step found under the board's prefix.
        more found,
    }
    args {
        /// The sweep's token.
        token,
        /// `'1'` on the last step (the tombstone goes too).
        last,
    }
}

/// A sweep step's script as an integration test runs it itself (feature `testing`).
#[cfg(feature = "testing")]
pub fn sweep_step_for_tests() -> crate::repo::script::Named {
    sweep_step::named()
}

impl Keys {
    /// Present from a board's delete until every key under its prefix is swept
    /// ([`Repo::sweep_board`]), holding the sweep's token: a board of the same id is created
    /// only after the sweep.
    pub fn tombstone(&self) -> String {
        self.k("deleting")
    }
}

impl Repo {
    /// Deletes every key under a deleted board's prefix, then its tombstone, while the tombstone
    /// holds `token` (a later delete or creation of the id takes the sweep over by writing its
    /// own): `SCAN … MATCH` steps of [`SWEEP_STEP`] keys each, and a short script per step that
    /// checks the token and `UNLINK`s what the step found (`sweep_step.lua`), so Redis
    /// serves everyone else between them however large its keyspace.
    ///
    /// (A `SCAN` inside the delete script, as before, held Redis for the whole keyspace's walk:
    /// measured in docs/benchmarks.md › Deleting a board. On Redis Cluster a board's keys share
    /// one slot, and `CLUSTER GETKEYSINSLOT` can replace the walk.)
    pub async fn sweep_board(&self, keys: &Keys, token: &str) -> Result<Swept> {
        let tombstone = keys.tombstone();
        // A creation that takes the sweep over marks itself first (`Keys::creating`, for the
        // schedule's worker): the mark is kept, and ends by itself.
        let creating = keys.creating();
        let pattern = format!("{}*", glob_escape(keys.prefix()));
        let mut cursor = "0".to_string();
        let mut swept = 0u64;
        loop {
            let r = self
                .exec(
                    "SCAN",
                    vec![
                        bin(cursor.as_str()),
                        bin("MATCH"),
                        bin(pattern.as_str()),
                        bin("COUNT"),
                        RedisParameter::Int64(SWEEP_STEP),
                    ],
                )
                .await?;
            // The reply, flattened: the next cursor, then the keys found.
            let Some((next, found)) = r.split_first() else {
                return Err(LeaderboardError::CorruptData(
                    "SCAN answered without a cursor".into(),
                ));
            };
            cursor = text(next)?;
            let last = cursor == "0";
            let mut step_keys = Vec::with_capacity(found.len());
            for k in found {
                let k = text(k)?;
                if k != tombstone && k != creating {
                    step_keys.push(k);
                }
            }
            if !step_keys.is_empty() || last {
                let r = sweep_step::run(
                    self,
                    sweep_step::Keys {
                        tombstone: tombstone.clone(),
                        found: step_keys,
                    },
                    sweep_step::Args {
                        token: token.into(),
                        last: Arg::flag(last),
                    },
                )
                .await?;
                match answer(&r)? {
                    (word, [n]) if word == "swept" => swept += uint(n)?,
                    (word, []) if word == "taken_over" => return Ok(Swept::TakenOver),
                    (word, rest) => return Err(unexpected(sweep_step::NAME, &word, rest)),
                }
            }
            if last {
                return Ok(Swept::Done(swept));
            }
        }
    }
}

/// How a sweep ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swept {
    /// Every key under the prefix is gone, and the tombstone: this many keys were deleted.
    Done(u64),
    /// A later delete or creation of the id took the sweep over (it finishes it).
    TakenOver,
}

/// A fresh sweep token: which sweep the tombstone belongs to.
pub(crate) fn sweep_token() -> String {
    format!("{:016x}", crate::scope::random_u64())
}

/// How many keys one sweep step looks at (`SCAN`'s `COUNT`): measured in docs/benchmarks.md ›
/// Deleting a board.
const SWEEP_STEP: i64 = 1_000;

/// `s` as a `SCAN … MATCH` pattern that matches only itself (`*`, `?`, `[`, `]` and `\`
/// escaped).
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_matches_only_itself() {
        assert_eq!(glob_escape("lb:{t/b}:"), "lb:{t/b}:");
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
