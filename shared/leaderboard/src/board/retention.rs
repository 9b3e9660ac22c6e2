//! A board's log retention (`"log": {...}` in its config): how often the drain snapshots the
//! projection and how many snapshots it keeps. What the settings do is [`crate::events::log`].

use serde::{Deserialize, Serialize};

use crate::error::{LeaderboardError, Result};

/// Default events between two snapshots.
pub const DEFAULT_SNAPSHOT_EVERY: u32 = 50_000;
/// Default snapshots kept.
pub const DEFAULT_KEEP_SNAPSHOTS: u32 = 2;
/// The range `snapshot_every` may take.
pub const SNAPSHOT_EVERY: std::ops::RangeInclusive<u32> = 100..=10_000_000;
/// The range `keep_snapshots` may take.
pub const KEEP_SNAPSHOTS: std::ops::RangeInclusive<u32> = 1..=100;

/// Log retention as posted in a board config (`"log": {...}`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfigInput {
    /// Events between two snapshots (default 50,000, 100..=10,000,000).
    #[serde(default)]
    pub snapshot_every: Option<u32>,
    /// Snapshots kept; the log is trimmed behind the oldest (default 2, 1..=100).
    #[serde(default)]
    pub keep_snapshots: Option<u32>,
}

/// Validated log retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogConfig {
    /// Events between two snapshots.
    pub snapshot_every: u32,
    /// Snapshots kept.
    pub keep_snapshots: u32,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            snapshot_every: DEFAULT_SNAPSHOT_EVERY,
            keep_snapshots: DEFAULT_KEEP_SNAPSHOTS,
        }
    }
}

impl LogConfigInput {
    /// Validates, filling defaults: [`LogConfigInput::build`], then [`LogConfig::check`].
    pub fn validate(&self) -> Result<LogConfig> {
        let c = self.build()?;
        c.check()?;
        Ok(c)
    }

    /// The settings as posted or stored, defaults filled, checked only for what the drain
    /// needs (neither is 0: a snapshot it kept none of, or took on every drain): how stored
    /// settings are read.
    pub fn build(&self) -> Result<LogConfig> {
        let d = LogConfig::default();
        let c = LogConfig {
            snapshot_every: self.snapshot_every.unwrap_or(d.snapshot_every),
            keep_snapshots: self.keep_snapshots.unwrap_or(d.keep_snapshots),
        };
        for (name, value, range) in c.settings() {
            if value == 0 {
                return Err(out_of_range(name, value, &range));
            }
        }
        Ok(c)
    }
}

fn out_of_range(name: &str, value: u32, range: &std::ops::RangeInclusive<u32>) -> LeaderboardError {
    LeaderboardError::InvalidConfig(format!(
        "log.{name} {value} is out of range ({}..={})",
        range.start(),
        range.end()
    ))
}

impl LogConfig {
    /// What posted settings must hold: each within its range ([`SNAPSHOT_EVERY`],
    /// [`KEEP_SNAPSHOTS`]).
    pub fn check(&self) -> Result<()> {
        for (name, value, range) in self.settings() {
            if !range.contains(&value) {
                return Err(out_of_range(name, value, &range));
            }
        }
        Ok(())
    }

    /// Each setting's name, value and the range a posted one may take.
    fn settings(&self) -> [(&'static str, u32, std::ops::RangeInclusive<u32>); 2] {
        [
            ("snapshot_every", self.snapshot_every, SNAPSHOT_EVERY),
            ("keep_snapshots", self.keep_snapshots, KEEP_SNAPSHOTS),
        ]
    }
}

impl From<LogConfig> for LogConfigInput {
    fn from(c: LogConfig) -> Self {
        Self {
            snapshot_every: Some(c.snapshot_every),
            keep_snapshots: Some(c.keep_snapshots),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn retention_defaults_and_bounds() {
        assert_eq!(
            LogConfigInput::default().validate().unwrap(),
            LogConfig::default()
        );
        let c = LogConfigInput {
            snapshot_every: Some(1000),
            keep_snapshots: Some(3),
        };
        assert_eq!(LogConfigInput::from(c.validate().unwrap()), c);
        for (every, keep) in [(Some(99), None), (None, Some(0)), (None, Some(101))] {
            let e = LogConfigInput {
                snapshot_every: every,
                keep_snapshots: keep,
            }
            .validate()
            .unwrap_err();
            assert!(e.to_string().contains("log."), "{e}");
        }
    }
}
