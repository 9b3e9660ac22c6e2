//! Tenant settings: quotas, the default `public_read` of new boards, and per-tenant rate-limit
//! policies that replace the `rate_limits` variable's for that tenant. Managed by the `platform`
//! role (`PUT /api/v1/tenants/{tenant}`); absent fields mean "no quota" / "as configured".
//!
//! Quotas and how they are enforced:
//! - `max_boards`: creating one more board is `403 quota-exceeded` naming the quota.
//! - `max_players_per_board`: a submission that would add a new player to a board's current
//!   period when it already holds that many is `403 quota-exceeded` (checked when the submission
//!   is accepted; concurrent first submissions may overshoot by the number in flight).
//! - `submissions_per_sec`: a rate-limit policy named `submissions_per_sec` on the tenant's
//!   writes, counted in Redis (exact across regions): `429 rate-limited` naming it.

use serde::{Deserialize, Serialize};

use crate::error::{LeaderboardError, Result};
use crate::policy::ratelimit::{KeyKind, Policy, PolicyInput, RouteClass, Store, Unavailable};

/// The name of the policy that enforces `submissions_per_sec` (reserved).
pub const SUBMISSIONS_QUOTA: &str = "submissions_per_sec";

/// Settings as posted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettingsInput {
    /// Most boards the tenant may have (1..=100,000).
    #[serde(default)]
    pub max_boards: Option<u32>,
    /// Most players in one period of one board (1..=100,000,000).
    #[serde(default)]
    pub max_players_per_board: Option<u64>,
    /// Most score submissions per second over the whole tenant (1..=1,000,000).
    #[serde(default)]
    pub submissions_per_sec: Option<u32>,
    /// `public_read` of a board created without one (default `false`).
    #[serde(default)]
    pub default_public_read: Option<bool>,
    /// Rate-limit policies for this tenant instead of the `rate_limits` variable's (`[]`: none).
    #[serde(default)]
    pub rate_limits: Option<Vec<PolicyInput>>,
}

/// Validated settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantSettings {
    /// As posted, canonical.
    pub input: TenantSettingsInput,
    /// The tenant's own policies, if any.
    pub rate_limits: Option<Vec<Policy>>,
}

fn range<T: PartialOrd + std::fmt::Display + Copy>(
    name: &str,
    v: Option<T>,
    lo: T,
    hi: T,
) -> Result<()> {
    match v {
        Some(x) if x < lo || x > hi => Err(LeaderboardError::InvalidConfig(format!(
            "{name} {x} is out of range ({lo}..={hi})"
        ))),
        _ => Ok(()),
    }
}

impl TenantSettingsInput {
    /// Validates posted settings: the quotas within their ranges, the policies within theirs
    /// ([`PolicyInput::validate`]).
    pub fn validate(self) -> Result<TenantSettings> {
        range("max_boards", self.max_boards, 1, 100_000)?;
        range(
            "max_players_per_board",
            self.max_players_per_board,
            1,
            100_000_000,
        )?;
        range(
            "submissions_per_sec",
            self.submissions_per_sec,
            1,
            1_000_000,
        )?;
        self.settings(PolicyInput::validate)
    }

    /// The settings as stored, checked only for what enforcing them needs (quotas of at least 1:
    /// a rate of 0 divides by it; policies built as stored, [`PolicyInput::build`], none under
    /// the quota's reserved name), their maxima unchecked: checked when they were put, a maximum
    /// lowered since must not turn them into errors.
    pub fn build(self) -> Result<TenantSettings> {
        range("max_boards", self.max_boards, 1, u32::MAX)?;
        range(
            "max_players_per_board",
            self.max_players_per_board,
            1,
            u64::MAX,
        )?;
        range("submissions_per_sec", self.submissions_per_sec, 1, u32::MAX)?;
        self.settings(PolicyInput::build)
    }

    /// The settings with their policies made by `policy`.
    fn settings(self, policy: fn(&PolicyInput) -> Result<Policy>) -> Result<TenantSettings> {
        let rate_limits = match &self.rate_limits {
            None => None,
            Some(inputs) => {
                let policies = crate::policy::ratelimit::policies(inputs, policy).map_err(|e| {
                    LeaderboardError::InvalidConfig(
                        e.to_string()
                            .replace("internal error: rate_limits", "rate_limits"),
                    )
                })?;
                if policies.iter().any(|p| p.name == SUBMISSIONS_QUOTA) {
                    return Err(LeaderboardError::InvalidConfig(format!(
                        "rate_limits: the policy name '{SUBMISSIONS_QUOTA}' is reserved for the quota"
                    )));
                }
                Some(policies)
            }
        };
        Ok(TenantSettings {
            input: self,
            rate_limits,
        })
    }
}

impl TenantSettings {
    /// The policy that enforces `submissions_per_sec`, if set.
    pub fn submissions_policy(&self) -> Option<Policy> {
        self.input.submissions_per_sec.map(|n| Policy {
            name: SUBMISSIONS_QUOTA.into(),
            key: KeyKind::Tenant,
            classes: vec![RouteClass::Write],
            boards: None,
            limit: u64::from(n),
            window_secs: 1,
            burst: u64::from(n),
            store: Store::Redis,
            on_unavailable: Unavailable::Open,
            exempt_roles: vec![],
        })
    }

    /// A new board's config as posted, with the tenant's defaults for what it leaves out
    /// (`public_read`: `default_public_read`).
    pub fn board_defaults(&self, raw: &mut serde_json::Value) {
        if let (Some(default), Some(obj)) = (self.input.default_public_read, raw.as_object_mut())
            && !obj.contains_key("public_read")
        {
            obj.insert("public_read".into(), serde_json::Value::Bool(default));
        }
    }

    /// Whether admitting a board needs the tenant's board count: only under a `max_boards`
    /// quota (a count costs a Redis read).
    pub fn counts_boards(&self) -> bool {
        self.input.max_boards.is_some()
    }

    /// Whether the tenant, with `count` boards now, may create another: below its `max_boards`
    /// quota, if it has one (read the count only when [`TenantSettings::counts_boards`]).
    pub fn admit_board(&self, count: u64) -> Result<()> {
        match self.input.max_boards {
            Some(max) if count >= u64::from(max) => Err(Self::exceeded("max_boards", max)),
            _ => Ok(()),
        }
    }

    /// The error for a quota that would be exceeded.
    pub fn exceeded(quota: &str, limit: impl std::fmt::Display) -> LeaderboardError {
        LeaderboardError::QuotaExceeded {
            quota: quota.into(),
            detail: format!("the tenant's quota {quota} ({limit}) is reached"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn settings_validate_and_make_the_quota_policy() {
        let s: TenantSettingsInput = serde_json::from_str(
            r#"{"max_boards": 3, "submissions_per_sec": 50, "rate_limits": [{"name": "t", "key": "ip", "limit": 5, "window_secs": 1}]}"#,
        )
        .unwrap();
        let v = s.validate().unwrap();
        let p = v.submissions_policy().unwrap();
        assert_eq!(
            (p.name.as_str(), p.limit, p.window_secs, p.burst),
            ("submissions_per_sec", 50, 1, 50)
        );
        assert_eq!(p.key, KeyKind::Tenant);
        assert_eq!(v.rate_limits.unwrap().len(), 1);
        assert!(
            TenantSettingsInput::default()
                .validate()
                .unwrap()
                .submissions_policy()
                .is_none()
        );
        for (raw, needle) in [
            (r#"{"max_boards": 0}"#, "max_boards 0 is out of range"),
            (
                r#"{"submissions_per_sec": 2000000}"#,
                "submissions_per_sec 2000000",
            ),
            (
                r#"{"rate_limits": [{"name": "submissions_per_sec", "key": "ip", "limit": 5, "window_secs": 1}]}"#,
                "reserved",
            ),
            (
                r#"{"rate_limits": [{"name": "x", "key": "ip", "limit": 0, "window_secs": 1}]}"#,
                "limit 0",
            ),
        ] {
            let s: TenantSettingsInput = serde_json::from_str(raw).unwrap();
            let e = s.validate().unwrap_err();
            assert_eq!(e.status(), 422, "{raw}");
            assert!(e.to_string().contains(needle), "{raw}: {e}");
        }
        assert!(serde_json::from_str::<TenantSettingsInput>(r#"{"max_board": 1}"#).is_err());
        let e = TenantSettings::exceeded("max_boards", 3);
        assert_eq!(e.status(), 403);
        assert!(e.to_string().contains("max_boards (3)"));
    }

    #[test]
    fn stored_settings_past_a_maximum_read_and_keep_their_policies() {
        // As a release with higher maxima stored them: posting them now is refused, reading them
        // back is not; what enforcing needs is still checked.
        let raw = r#"{"max_boards": 500000, "rate_limits": [{"name": "t", "key": "ip", "limit": 5000000000, "window_secs": 172800}]}"#;
        let posted = serde_json::from_str::<TenantSettingsInput>(raw)
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(posted.to_string().contains("max_boards 500000"), "{posted}");
        let no_quota = r#"{"rate_limits": [{"name": "t", "key": "ip", "limit": 5000000000, "window_secs": 1}]}"#;
        let posted = serde_json::from_str::<TenantSettingsInput>(no_quota)
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(posted.to_string().contains("limit 5000000000"), "{posted}");
        // Read as the edge reads them (`edge::tenants::load`).
        let stored = crate::error::from_stored(
            "tenant settings",
            raw.as_bytes(),
            TenantSettingsInput::build,
        )
        .unwrap();
        let policies = stored.rate_limits.unwrap();
        assert_eq!(
            (policies[0].limit, policies[0].window_secs),
            (5_000_000_000, 172_800)
        );
        for (raw, needle) in [
            (
                r#"{"rate_limits": [{"name": "t", "key": "ip", "limit": 0, "window_secs": 1}]}"#,
                "limit 0",
            ),
            (
                r#"{"rate_limits": [{"name": "t", "key": "ip", "limit": 1, "window_secs": 1}, {"name": "t", "key": "ip", "limit": 1, "window_secs": 1}]}"#,
                "two policies",
            ),
            (r#"{"submissions_per_sec": 0}"#, "submissions_per_sec 0"),
            // Past what the decision's arithmetic holds (a burst that is no i64, a window whose
            // microseconds overflow one): refused, stored or not.
            (
                r#"{"rate_limits": [{"name": "t", "key": "ip", "limit": 18446744073709551615, "window_secs": 1}]}"#,
                "limit 18446744073709551615",
            ),
            (
                r#"{"rate_limits": [{"name": "t", "key": "ip", "limit": 1, "window_secs": 18446744073709551615}]}"#,
                "window_secs 18446744073709551615",
            ),
        ] {
            let e = crate::error::from_stored(
                "tenant settings",
                raw.as_bytes(),
                TenantSettingsInput::build,
            )
            .unwrap_err();
            // Damaged data naming what it is, never a 4xx the reader could mend.
            assert_eq!(e.status(), 500, "{raw}: {e}");
            assert!(
                e.to_string().contains("stored tenant settings"),
                "{raw}: {e}"
            );
            assert!(e.to_string().contains(needle), "{raw}: {e}");
        }
    }

    #[test]
    fn board_defaults_and_the_board_quota() {
        let settings = TenantSettingsInput {
            max_boards: Some(2),
            default_public_read: Some(true),
            ..Default::default()
        }
        .validate()
        .unwrap();
        let mut raw = serde_json::json!({"id": "a"});
        settings.board_defaults(&mut raw);
        assert_eq!(raw["public_read"], true);
        let mut explicit = serde_json::json!({"id": "b", "public_read": false});
        settings.board_defaults(&mut explicit);
        assert_eq!(explicit["public_read"], false, "what the board says wins");
        assert!(settings.counts_boards());
        assert!(settings.admit_board(1).is_ok());
        assert!(matches!(
            settings.admit_board(2),
            Err(LeaderboardError::QuotaExceeded { quota, .. }) if quota == "max_boards"
        ));
        let unlimited = TenantSettings::default();
        assert!(
            !unlimited.counts_boards(),
            "no quota: the count is never read"
        );
        assert!(unlimited.admit_board(u64::MAX).is_ok());
    }
}
