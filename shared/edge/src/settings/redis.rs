//! Where the source of truth is.

use leaderboard::Result;

use super::{REDIS_MIN_REPLICA_ACKS, REDIS_MODE, REDIS_URL};
use crate::platform::Platform;

/// Where the source of truth is: `redis_url` (one URL, or a comma-separated list of a cluster's
/// seed nodes), `redis_mode` (`single`, the default, or `cluster`) and `redis_min_replica_acks`.
pub async fn redis_target(platform: &dyn Platform) -> Result<RedisTarget> {
    let urls = REDIS_URL.read(platform).await?;
    let cluster = REDIS_MODE.read(platform).await?;
    let mut target =
        RedisTarget::parse(&urls, cluster).map_err(|why| REDIS_URL.refused(&urls, &why))?;
    target.min_replica_acks = REDIS_MIN_REPLICA_ACKS.read(platform).await?;
    Ok(target)
}

/// The Redis servers the app reaches, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisTarget {
    /// The server (single), or the seed nodes the slot map is first read from (cluster).
    pub urls: Vec<String>,
    /// A Redis Cluster: each command goes to the primary that owns its key's slot.
    pub cluster: bool,
    /// How many replicas must have a submission's write (or a board's creation) before it is
    /// answered
    /// (`redis_min_replica_acks`; 0: none, the answer follows the primary's own).
    pub min_replica_acks: u32,
}

impl RedisTarget {
    /// From `redis_url`'s value: one server, or with `cluster` a cluster's seed nodes.
    pub fn parse(urls: &str, cluster: bool) -> std::result::Result<Self, String> {
        let urls: Vec<String> = urls
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        if urls.is_empty() {
            return Err("it names no server".into());
        }
        if !cluster && urls.len() > 1 {
            return Err(format!(
                "it lists {} servers: set 'redis_mode' to 'cluster' for a Redis Cluster's seed \
                 nodes, or give one URL",
                urls.len()
            ));
        }
        Ok(Self {
            urls,
            cluster,
            min_replica_acks: 0,
        })
    }

    /// The first URL: the server in single mode.
    pub fn first(&self) -> &str {
        self.urls.first().map_or("", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_url_is_single_and_a_list_needs_cluster_mode() {
        let one = RedisTarget::parse("redis://a:1", false).ok();
        assert_eq!(one.map(|t| (t.urls.len(), t.cluster)), Some((1, false)));
        let seeds = RedisTarget::parse(" redis://a:1 , redis://b:2,", true).ok();
        assert_eq!(
            seeds.map(|t| (t.urls, t.cluster)),
            Some((vec!["redis://a:1".into(), "redis://b:2".into()], true))
        );
        assert!(RedisTarget::parse("redis://a:1,redis://b:2", false).is_err());
        assert!(RedisTarget::parse(" , ", true).is_err());
    }
}
