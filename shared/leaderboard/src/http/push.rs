//! Publishing boards to the push tier (nginx + nchan, `deploy/push/`): the settings and the
//! rules, free of I/O. The worker (`edge::live::push`) publishes a board's whole live state when a
//! write announces it, at most once per board per interval (the newest state always goes out).

use sha2::{Digest, Sha256};

/// How many entries a published state carries: the first page of the current period, as
/// `GET …/live?limit=100` renders it.
pub const TOP_N: u32 = 100;

/// The default of `live_publish_interval_ms`: the Spin-native `/live` polls at this cadence too.
pub const DEFAULT_INTERVAL_MS: i64 = 250;

/// The longest interval an operator may set: a change within it waits in the worker, and Spin
/// hands a Redis trigger's messages over one at a time.
pub const MAX_INTERVAL_MS: i64 = 2_000;

/// The publishing settings, from the worker's variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSettings {
    /// The publisher's base URL (`http://127.0.0.1:8091/pub`): a board's channel is
    /// `<base>/<tenant>/<board>`.
    pub base_url: String,
    /// At most one publish per board per this many milliseconds.
    pub interval_ms: i64,
}

/// `push_publish_url`: the publisher's base URL without a trailing `/` (empty: `None`, publishing
/// is off); one that is not `http(s)` is an error.
pub fn parse_url(url: &str) -> Result<Option<String>, String> {
    let url = url.trim();
    if url.is_empty() {
        return Ok(None);
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "push_publish_url must be an http or https URL, got '{url}'"
        ));
    }
    Ok(Some(url.trim_end_matches('/').to_string()))
}

/// `live_publish_interval_ms`: a whole number of milliseconds in `0..=`[`MAX_INTERVAL_MS`].
pub fn parse_interval(raw: &str) -> Result<i64, String> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|ms| (0..=MAX_INTERVAL_MS).contains(ms))
        .ok_or_else(|| {
            format!(
                "live_publish_interval_ms must be an integer in 0..={MAX_INTERVAL_MS}, got '{raw}'"
            )
        })
}

impl PushSettings {
    /// The publisher's URL of a board's channel.
    pub fn channel_url(&self, tenant: &str, board: &str) -> String {
        format!("{}/{tenant}/{board}", self.base_url)
    }

    /// A short name of this tier (16 hex digits of the SHA-256 of its URL), for what is kept per
    /// tier beside a board: every region's worker hears every write, and each region's tier
    /// needs its own copy of the board's state.
    pub fn tier_id(&self) -> String {
        Sha256::digest(self.base_url.as_bytes())
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Whether a push tier is ever sent this board: not one with cohorts, whose standings are per
/// cohort, where the tier serves one channel per board to every viewer the board's reads admit
/// (its players read `live`). A tier sent such a board before it had cohorts has its channel
/// closed, and its rollovers leave the schedule.
pub fn is_pushed(board: &crate::Board) -> bool {
    board.cohort_size.is_none()
}

/// What is kept of a publish: the board's version and the period whose page it carried
/// (`<version>@<period>`), read back by [`needs_publish`].
pub fn sent_marker(version: i64, period: &str) -> String {
    format!("{version}@{period}")
}

/// Whether a publish of the board at `version` in `period` (the current one) is needed,
/// `published` being what the tier was last sent ([`sent_marker`]): nothing, an older version,
/// or another period (one that ended since: its new page goes out at the same version). Anything
/// else read back counts as nothing sent.
pub fn needs_publish(published: Option<&str>, version: i64, period: &str) -> bool {
    let sent = published.and_then(|raw| {
        let (v, p) = raw.split_once('@')?;
        Some((v.parse::<i64>().ok()?, p))
    });
    sent.is_none_or(|(v, p)| v < version || p != period)
}

/// How long a change waits for the publish under way (`gate_ttl_ms`: what is left of its
/// interval, as Redis's `PTTL` answers it) before it looks again: at least 1 ms, at most the
/// interval (a gate without expiry, `-1`, or gone, `-2`, is not waited on).
pub fn wait_for_gate(gate_ttl_ms: i64, interval_ms: i64) -> i64 {
    gate_ttl_ms.clamp(1, interval_ms.max(1))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tier(url: &str) -> PushSettings {
        PushSettings {
            base_url: parse_url(url).unwrap().unwrap(),
            interval_ms: DEFAULT_INTERVAL_MS,
        }
    }

    #[test]
    fn settings_are_off_without_a_url_and_checked_with_one() {
        assert_eq!(parse_url(" "), Ok(None));
        assert_eq!(
            parse_url("http://push:8091/pub/"),
            Ok(Some("http://push:8091/pub".into()))
        );
        assert_eq!(parse_interval("0"), Ok(0));
        assert_eq!(
            tier("https://p/pub").channel_url("default", "cup"),
            "https://p/pub/default/cup"
        );
        for bad in ["-1", "2001", "abc", "1.5"] {
            let e = parse_interval(bad).unwrap_err();
            assert!(e.contains("live_publish_interval_ms"), "{e}");
        }
        let e = parse_url("redis://p").unwrap_err();
        assert!(e.contains("push_publish_url"), "{e}");
    }

    #[test]
    fn each_tier_has_its_own_id() {
        let (a, b) = (tier("http://a/pub"), tier("http://b/pub"));
        assert_eq!(a.tier_id().len(), 16);
        assert_eq!(a.tier_id(), a.clone().tier_id());
        assert_ne!(a.tier_id(), b.tier_id());
    }

    #[test]
    fn a_newer_version_or_another_period_needs_a_publish() {
        let day = "2026-11-26";
        assert!(needs_publish(None, 0, day));
        assert!(needs_publish(Some(&sent_marker(4, day)), 5, day));
        assert!(!needs_publish(Some(&sent_marker(5, day)), 5, day));
        assert!(!needs_publish(Some(&sent_marker(9, day)), 5, day));
        // The period ended: its successor's page goes out at the same version.
        assert!(needs_publish(Some(&sent_marker(5, day)), 5, "2026-11-27"));
        // Garbage, or the bare version kept before periods were, reads as nothing sent.
        for raw in ["x", "5", "@", "x@2026-11-26", ""] {
            assert!(needs_publish(Some(raw), 5, day), "{raw}");
        }
    }

    #[test]
    fn a_change_waits_at_most_an_interval_for_the_publish_under_way() {
        assert_eq!(wait_for_gate(120, 250), 120);
        assert_eq!(wait_for_gate(9_000, 250), 250);
        assert_eq!(wait_for_gate(-2, 250), 1);
        assert_eq!(wait_for_gate(-1, 250), 1);
        assert_eq!(wait_for_gate(0, 0), 1);
    }
}
