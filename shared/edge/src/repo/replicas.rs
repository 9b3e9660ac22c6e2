//! Writes that must reach replicas before they are answered (`redis_min_replica_acks`): `WAIT`
//! after the write, on the connection that ran it.
//!
//! `WAIT n timeout` counts the replicas that acknowledged everything its own connection wrote
//! before it (Redis replicates each primary's writes as one ordered stream), so it goes on the
//! connection of the key's primary that the write went to ([`super::routed::Routed`] keeps one per
//! node and remembers where each slot's last command ran). On a connection that wrote nothing it
//! returns at once: a replay first renews the outcome it replays
//! ([`Repo::confirm_replicated`](super::Repo::confirm_replicated)).

use leaderboard::{LeaderboardError, Result};
use spin_sdk::redis::{RedisParameter, RedisResult};

use super::{Link, Repo, int};

/// How long a write waits for its replicas (`WAIT`, ms) when `redis_min_replica_acks` asks for
/// some: past it the answer is `503` and the client retries (a submission with the same
/// `Idempotency-Key`). Never 0 (`WAIT … 0` waits forever, and Spin's Redis client has no timeout
/// of its own).
pub const REPLICA_ACK_TIMEOUT_MS: i64 = 1_000;

impl Repo {
    /// [`Repo::eval`] for a submission's write, then, when `redis_min_replica_acks` asks for
    /// replicas, `WAIT` for them ([`Repo::await_replicas`] on the script's first key).
    pub(super) async fn eval_durable(
        &self,
        script: &str,
        keys: &[String],
        args: Vec<RedisParameter>,
    ) -> Result<Vec<RedisResult>> {
        let reply = self.eval(script, keys, args).await?;
        if let Some(key) = keys.first() {
            self.await_replicas(&[key.as_str()]).await?;
        }
        Ok(reply)
    }

    /// `WAIT` for `redis_min_replica_acks` replicas (none asked for: nothing) on the connection
    /// each key's write went to (one per primary; a single Redis has one). Fewer within
    /// [`REPLICA_ACK_TIMEOUT_MS`] is a `503`: the write stands on the primary, and may or may
    /// not survive a failover.
    pub(super) async fn await_replicas(&self, keys: &[&str]) -> Result<()> {
        let wanted = self.min_replica_acks;
        if wanted == 0 {
            return Ok(());
        }
        let wait = [
            RedisParameter::Int64(i64::from(wanted)),
            RedisParameter::Int64(REPLICA_ACK_TIMEOUT_MS),
        ];
        let answers = match &self.link {
            Link::Single(cell) => {
                let conn = std::rc::Rc::clone(&cell.borrow());
                vec![conn.execute("WAIT", &wait).await]
            }
            Link::Cluster(routed) => {
                let mut nodes: Vec<String> = Vec::new();
                for key in keys {
                    let node = routed.writer_of(key.as_bytes()).await;
                    let node = self.report("WAIT", node).await?;
                    if !nodes.contains(&node) {
                        nodes.push(node);
                    }
                }
                let mut answers = Vec::with_capacity(nodes.len());
                for node in &nodes {
                    answers.push(routed.on(node, "WAIT", &wait).await);
                }
                answers
            }
        };
        for acked in answers {
            let acked = self.report("WAIT", acked).await?;
            let acked = acked.first().map(int).transpose()?.unwrap_or(0);
            if acked < i64::from(wanted) {
                eprintln!("redis: a write reached {acked} of {wanted} replicas in time");
                return Err(LeaderboardError::Unavailable(format!(
                    "the write reached {acked} of the {wanted} Redis replicas it needs in time, \
                     so it may not survive a failover; retry (a submission with the same \
                     Idempotency-Key is applied once)"
                )));
            }
        }
        Ok(())
    }
}
