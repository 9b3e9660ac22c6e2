//! RFC 9457 problem details, the body of every error response.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::LeaderboardError;

/// Content type of a problem-details body.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An error's short, constant title (RFC 9457 `title`) in English, from the message catalogue
/// ([`crate::http::i18n`], which has it in every language it speaks).
pub fn title(err: &LeaderboardError) -> &'static str {
    crate::http::i18n::title(err.slug(), crate::http::i18n::Lang::En).unwrap_or("Error")
}

/// An RFC 9457 problem-details object.
///
/// `extensions` holds extension members (flattened into the object), e.g. `retry_after_secs` for
/// [`LeaderboardError::RateLimited`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Problem type URI.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short constant summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// Human explanation of this occurrence.
    pub detail: String,
    /// URI reference of this occurrence (usually the request path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Extension members.
    #[serde(flatten)]
    pub extensions: BTreeMap<String, Value>,
}

impl Problem {
    /// Sets `instance` (typically the request path).
    #[must_use]
    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// Serialises to a JSON string; never fails (falls back to a fixed 500 body).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            String::from(
                r#"{"type":"https://leaderboard.dev/problems/internal","title":"Internal error","status":500,"detail":"problem could not be serialised"}"#,
            )
        })
    }
}

impl From<&LeaderboardError> for Problem {
    fn from(err: &LeaderboardError) -> Self {
        let mut extensions = BTreeMap::new();
        match err {
            LeaderboardError::RateLimited {
                policy,
                retry_after_secs,
            } => {
                extensions.insert("policy".into(), Value::from(policy.clone()));
                extensions.insert("retry_after_secs".into(), Value::from(*retry_after_secs));
            }
            LeaderboardError::IntegrityRejected { rule, .. } => {
                extensions.insert("rule".into(), Value::from(rule.clone()));
            }
            LeaderboardError::QuotaExceeded { quota, .. } => {
                extensions.insert("quota".into(), Value::from(quota.clone()));
            }
            LeaderboardError::InvalidId { kind, .. } => {
                extensions.insert("id_kind".into(), Value::from(kind.to_string()));
            }
            LeaderboardError::PayloadTooLarge { limit, .. } => {
                extensions.insert("limit_bytes".into(), Value::from(*limit));
            }
            LeaderboardError::TournamentClosed {
                upcoming,
                start_ms,
                end_ms,
            } => {
                let phase = if *upcoming { "upcoming" } else { "ended" };
                extensions.insert("phase".into(), Value::from(phase));
                extensions.insert("start".into(), crate::time::iso(*start_ms));
                extensions.insert("end".into(), crate::time::iso(*end_ms));
            }
            LeaderboardError::TournamentFull { max_size } => {
                extensions.insert("max_size".into(), Value::from(*max_size));
            }
            LeaderboardError::TournamentAttemptsUsed { allowed } => {
                extensions.insert("allowed".into(), Value::from(*allowed));
            }
            _ => {}
        }
        Self {
            problem_type: err.problem_type().to_owned(),
            title: title(err).to_owned(),
            status: err.status(),
            detail: err.to_string(),
            instance: None,
            extensions,
        }
    }
}

impl Problem {
    /// The problem of `err` with its title and detail in `lang` ([`crate::http::i18n`]; the
    /// occurrence's own English detail as `detail_en` then); every other member as
    /// [`Problem::from`] gives it.
    pub fn localized(err: &LeaderboardError, lang: crate::http::i18n::Lang) -> Self {
        let mut p = Self::from(err);
        if let Some(title) = crate::http::i18n::title(err.slug(), lang) {
            p.title = title.to_owned();
        }
        if let Some(detail) = crate::http::i18n::detail_of(err, lang) {
            let own = std::mem::replace(&mut p.detail, detail.to_owned());
            p.extensions.insert("detail_en".into(), Value::from(own));
        }
        p
    }
}

impl From<LeaderboardError> for Problem {
    fn from(err: LeaderboardError) -> Self {
        Self::from(&err)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn problem_json_shape() {
        let err = LeaderboardError::InvalidScore("\"abc\" is not a number".into());
        let p = Problem::from(&err).with_instance("/api/v1/boards/b/scores");
        let v: Value = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(v["type"], "https://leaderboard.dev/problems/invalid-score");
        assert_eq!(v["title"], "Invalid score");
        assert_eq!(v["status"], 400);
        assert_eq!(v["detail"], "invalid score: \"abc\" is not a number");
        assert_eq!(v["instance"], "/api/v1/boards/b/scores");
        assert_eq!(v.as_object().unwrap().len(), 5);
    }

    #[test]
    fn a_localized_problem_changes_its_title_and_detail_and_keeps_the_rest() {
        let err = LeaderboardError::BoardNotFound("board 'x' does not exist".into());
        let en = Problem::from(&err);
        let de = Problem::localized(&err, crate::http::i18n::Lang::De);
        assert_eq!(de.title, "Bestenliste nicht gefunden");
        assert_eq!(de.detail, "Diese Bestenliste existiert nicht.");
        assert_eq!(de.extensions["detail_en"], en.detail.as_str());
        assert_eq!((&de.problem_type, de.status), (&en.problem_type, en.status));
        assert_eq!(
            Problem::localized(&err, crate::http::i18n::Lang::En),
            en,
            "English is the occurrence's own problem"
        );
    }

    #[test]
    fn a_closed_tournaments_problem_carries_its_window_and_phase() {
        let p = Problem::from(LeaderboardError::TournamentClosed {
            upcoming: false,
            start_ms: 1_764_000_000_000,
            end_ms: 1_764_003_600_000,
        });
        let v: Value = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(v["status"], 409);
        assert_eq!(
            v["type"],
            "https://leaderboard.dev/problems/tournament-closed"
        );
        assert_eq!(v["phase"], "ended");
        assert_eq!(v["start"], "2025-11-24T16:00:00.000Z");
        assert_eq!(v["end"], "2025-11-24T17:00:00.000Z");
        assert_eq!(
            v["detail"],
            "the tournament has ended: its window runs from 2025-11-24T16:00:00.000Z until \
             2025-11-24T17:00:00.000Z"
        );
    }

    #[test]
    fn extensions_are_flattened_and_round_trip() {
        let p = Problem::from(LeaderboardError::RateLimited {
            policy: "ip-read".into(),
            retry_after_secs: 7,
        });
        let json = p.to_json();
        assert!(!json.contains("instance"));
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["retry_after_secs"], 7);
        assert_eq!(v["status"], 429);
        let back: Problem = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
    }
}
