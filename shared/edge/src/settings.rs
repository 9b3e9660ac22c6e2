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

/// The Redis URL (`redis_url`).
pub async fn redis_url(platform: &dyn Platform) -> Result<String> {
    required(platform, "redis_url").await
}
