//! A tournament's players who joined it (`lb:{t/b}:joined`, a set on the board's slot): the
//! join, decided by `leaderboard::competition::tournament` on the count the script saw, and
//! the membership a `join_required` submission is checked against.

use leaderboard::{LeaderboardError, PlayerId, Result};

use super::{Keys, Repo, bin, int, uint};

const JOIN: &str = include_str!("lua/tournament_join.lua");

/// What a join's script saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinSeen {
    /// The player had joined before.
    pub already: bool,
    /// Players joined before this join (it added the player only if it was below `max_size`).
    pub before: u64,
}

impl Repo {
    /// Joins `player` to the board's tournament in one script, up to `max_size` players (none:
    /// unlimited); a join that added the player waits for the replicas
    /// `redis_min_replica_acks` asks for (one that changed nothing does not).
    pub async fn tournament_join(
        &self,
        keys: &Keys,
        player: &PlayerId,
        max_size: Option<u32>,
    ) -> Result<JoinSeen> {
        let r = self
            .eval(
                JOIN,
                &[keys.config(), keys.joined()],
                vec![bin(player.as_str()), bin(max_size.unwrap_or(0).to_string())],
            )
            .await?;
        let (Some(already), Some(before), Some(added)) = (r.first(), r.get(1), r.get(2)) else {
            return Err(super::board_deleted(keys));
        };
        let seen = JoinSeen {
            already: int(already)? == 1,
            before: uint(before)?,
        };
        if int(added)? == 1 {
            self.await_replicas(&[&keys.joined()]).await?;
        }
        Ok(seen)
    }

    /// Whether `player` joined the board's tournament.
    pub async fn tournament_joined(&self, keys: &Keys, player: &PlayerId) -> Result<bool> {
        let r = self
            .exec("SISMEMBER", vec![bin(keys.joined()), bin(player.as_str())])
            .await?;
        match r.first() {
            Some(v) => Ok(int(v)? == 1),
            None => Err(LeaderboardError::Internal(
                "SISMEMBER answered nothing".into(),
            )),
        }
    }
}
