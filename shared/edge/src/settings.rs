//! Typed component settings from the platform's variables.

use leaderboard::{LeaderboardError, Result};

use crate::platform::Platform;

/// A required variable.
pub async fn required(platform: &dyn Platform, name: &str) -> Result<String> {
    platform.variable(name).await.ok_or_else(|| {
        LeaderboardError::Internal(format!(
            "the '{name}' variable is not configured for this component"
        ))
    })
}

/// Where the source of truth is: `redis_url` (one URL, or a comma-separated list of a cluster's
/// seed nodes) and `redis_mode` (`single`, the default, or `cluster`).
pub async fn redis_target(platform: &dyn Platform) -> Result<RedisTarget> {
    let urls = required(platform, "redis_url").await?;
    let mode = platform.variable("redis_mode").await;
    let mut target = RedisTarget::parse(&urls, mode.as_deref())?;
    if let Some(acks) = platform.variable("redis_min_replica_acks").await {
        target.min_replica_acks = acks.trim().parse().map_err(|_| {
            LeaderboardError::Internal(format!(
                "the 'redis_min_replica_acks' variable is '{acks}': use a number of replicas \
                 (0: none)"
            ))
        })?;
    }
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
    /// From the variables' values (`mode` unset: single).
    pub fn parse(urls: &str, mode: Option<&str>) -> Result<Self> {
        let bad = |why: String| LeaderboardError::Internal(why);
        let cluster = match mode.map(str::trim) {
            None | Some("" | "single") => false,
            Some("cluster") => true,
            Some(other) => {
                return Err(bad(format!(
                    "the 'redis_mode' variable is '{other}': use 'single' or 'cluster'"
                )));
            }
        };
        let urls: Vec<String> = urls
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        if urls.is_empty() {
            return Err(bad("the 'redis_url' variable names no server".into()));
        }
        if !cluster && urls.len() > 1 {
            return Err(bad(format!(
                "the 'redis_url' variable lists {} servers: set 'redis_mode' to 'cluster' for a \
                 Redis Cluster's seed nodes, or give one URL",
                urls.len()
            )));
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
        let one = RedisTarget::parse("redis://a:1", None).ok();
        assert_eq!(one.map(|t| (t.urls.len(), t.cluster)), Some((1, false)));
        let seeds = RedisTarget::parse(" redis://a:1 , redis://b:2,", Some("cluster")).ok();
        assert_eq!(
            seeds.map(|t| (t.urls, t.cluster)),
            Some((vec!["redis://a:1".into(), "redis://b:2".into()], true))
        );
        assert!(RedisTarget::parse("redis://a:1,redis://b:2", Some("single")).is_err());
        assert!(RedisTarget::parse("redis://a:1", Some("sentinel")).is_err());
        assert!(RedisTarget::parse(" , ", Some("cluster")).is_err());
    }
}
