//! Typed component settings from Spin variables.

use leaderboard::{LeaderboardError, Result};

/// Reads a Spin variable; undefined or empty → `None`.
pub fn optional(name: &str) -> Option<String> {
    spin_sdk::variables::get(name)
        .ok()
        .filter(|v| !v.is_empty())
}

/// Reads a required Spin variable.
pub fn required(name: &str) -> Result<String> {
    optional(name).ok_or_else(|| {
        LeaderboardError::Internal(format!(
            "the '{name}' variable is not configured for this component"
        ))
    })
}

/// The Redis URL (`redis_url`).
pub fn redis_url() -> Result<String> {
    required("redis_url")
}
