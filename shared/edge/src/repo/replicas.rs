//! Writes that must reach replicas before they are answered (`redis_min_replica_acks`): `WAIT`
//! after the write, on the connection that ran it.
//!
//! `WAIT n timeout` counts the replicas that acknowledged everything its own connection wrote
//! before it (Redis replicates each primary's writes as one ordered stream), so it goes on the
//! very connection the write went on ([`super::routed::Routed`] keeps the one of each slot's last
//! write). On a connection that wrote nothing it returns at once: a replay first renews the
//! outcome it replays ([`Repo::confirm_replicated`](super::Repo::confirm_replicated)), and a
//! write that changed nothing (a compare-and-set that lost, a deleted board) does not wait.

use leaderboard::{LeaderboardError, Result};
use spin_sdk::redis::RedisParameter;

use crate::platform::RedisExec;

use super::{Link, Repo, int};

/// How long a write waits for its replicas (`WAIT`, ms) when `redis_min_replica_acks` asks for
/// some: past it the answer is `503` and the client retries (a submission with the same
/// `Idempotency-Key`). Never 0 (`WAIT … 0` waits forever, and Spin's Redis client has no timeout
/// of its own).
pub const REPLICA_ACK_TIMEOUT_MS: i64 = 1_000;

impl Repo {
    /// After a write that must reach replicas before it is answered (a submission's, a board's
    /// creation, a replayed outcome's renewal): `WAIT` for `redis_min_replica_acks` replicas
    /// (none asked for: nothing) on the connection each key's write went on (one per primary; a
    /// single Redis has one). Fewer within [`REPLICA_ACK_TIMEOUT_MS`] is a `503`: the write
    /// stands on the primary, and may or may not survive a failover.
    pub(crate) async fn await_replicas(&self, keys: &[&str]) -> Result<()> {
        let wanted = self.min_replica_acks;
        if wanted == 0 {
            return Ok(());
        }
        let wait = [
            RedisParameter::Int64(i64::from(wanted)),
            RedisParameter::Int64(REPLICA_ACK_TIMEOUT_MS),
        ];
        match &self.link {
            Link::Single(cell) => {
                let conn = std::rc::Rc::clone(&cell.borrow());
                let acked = self
                    .report("WAIT", conn.execute("WAIT", &wait).await)
                    .await?;
                enough(&acked, wanted)?;
            }
            Link::Cluster(routed) => {
                // One `WAIT` per node written (keys of one primary share its connection).
                let mut written: Vec<(String, std::rc::Rc<dyn RedisExec>)> = Vec::new();
                for key in keys {
                    let (node, conn) = routed.wrote_on(key.as_bytes()).ok_or_else(|| {
                        LeaderboardError::Internal(format!(
                            "no write on {key}'s slot in this request to wait for"
                        ))
                    })?;
                    if !written.iter().any(|(_, c)| std::rc::Rc::ptr_eq(c, &conn)) {
                        written.push((node, conn));
                    }
                }
                for (node, conn) in written {
                    let acked = self
                        .report("WAIT", routed.wait_on(&node, &conn, &wait).await)
                        .await?;
                    enough(&acked, wanted)?;
                }
            }
        }
        Ok(())
    }
}

/// `WAIT`'s answer (`acked`, the replicas that acknowledged) against the `wanted` count: short of
/// it, a `503` the client retries.
fn enough(acked: &[spin_sdk::redis::RedisResult], wanted: u32) -> Result<()> {
    let acked = acked.first().map(int).transpose()?.unwrap_or(0);
    if acked < i64::from(wanted) {
        eprintln!("redis: a write reached {acked} of {wanted} replicas in time");
        return Err(LeaderboardError::Unavailable(format!(
            "the write reached {acked} of the {wanted} Redis replicas it needs in time, so it may \
             not survive a failover; retry (a submission with the same Idempotency-Key is \
             applied once)"
        )));
    }
    Ok(())
}
