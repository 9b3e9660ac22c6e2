//! A player's stored [`Record`], an incoming [`Submission`] and its JSON body [`SubmissionInput`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::board::config::Board;
use crate::board::score::json_kind;
use crate::board::sortkey::{self, SortKey, Standing};
use crate::error::{LeaderboardError, Result};
use crate::ids::PlayerId;

/// A player's current entry on a board (per period), as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Score in minor units.
    pub score: i64,
    /// Subscore, when the board has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscore: Option<i64>,
    /// When the current standing was first reached (Unix ms). Earlier wins ties.
    pub achieved_at_ms: i64,
    /// When the record last accepted a submission (Unix ms).
    pub updated_at_ms: i64,
    /// Free-form JSON object attached to the standing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Number of accepted submissions.
    pub submissions: u64,
}

impl Record {
    /// The record's `(score, subscore)`.
    pub fn standing(&self) -> Standing {
        Standing {
            score: self.score,
            subscore: self.subscore,
        }
    }

    /// The sorted-set key of this record for `player`.
    pub fn sort_key(&self, board: &Board, player: &PlayerId) -> Result<SortKey> {
        sortkey::encode(
            board,
            self.score,
            self.subscore,
            self.achieved_at_ms,
            player,
        )
    }
}

/// A validated submission in minor units. For `incr`/`decr` boards `score` (and `subscore`) are
/// deltas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// Score (or delta) in minor units.
    pub score: i64,
    /// Subscore (or subscore delta).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscore: Option<i64>,
    /// Metadata object to attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// The skill band a first submission of a period is placed by, on a board with cohorts
    /// ([`crate::competition::cohort`]; checked, `None`: no band).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<String>,
}

/// The JSON body of `POST /boards/{board}/scores`: `{player, score, subscore?, metadata?}`.
///
/// `score` is a JSON number or a decimal string (see [`crate::board::score`]); `subscore` an integer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmissionInput {
    /// Who scored.
    pub player: PlayerId,
    /// The score as written by the client.
    pub score: Value,
    /// Optional integer subscore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscore: Option<i64>,
    /// Optional metadata object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// On a board with cohorts, the skill band that places the player's first submission of a
    /// period ([`crate::competition::cohort`]): named by a `service` or `admin` caller only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<String>,
}

impl SubmissionInput {
    /// Parses the score at the board's scale and checks the metadata; range checks happen in
    /// [`crate::board::operator::apply`], which knows the operator.
    pub fn into_submission(self, board: &Board) -> Result<(PlayerId, Submission)> {
        let score = board.score_type.parse_value(&self.score)?;
        if let Some(m) = &self.metadata {
            check_metadata(board, m)?;
        }
        let band = match (&self.band, board.cohort_size) {
            (None, _) => None,
            (Some(_), _) if board.league.is_some() => {
                return Err(LeaderboardError::InvalidBody(format!(
                    "board '{}' is a league: a player's cohorts are its tier's, which its \
                     standings decide, so 'band' is not taken",
                    board.id
                )));
            }
            (Some(band), Some(_)) => Some(crate::competition::cohort::band_of(band)?),
            (Some(_), None) => {
                return Err(LeaderboardError::InvalidBody(format!(
                    "board '{}' has no cohorts: 'band' places a player in a cohort",
                    board.id
                )));
            }
        };
        Ok((
            self.player,
            Submission {
                score,
                subscore: self.subscore,
                metadata: self.metadata,
                band,
            },
        ))
    }
}

/// Checks that metadata is a JSON object of at most `board.metadata_max_bytes` serialised bytes.
pub fn check_metadata(board: &Board, metadata: &Value) -> Result<()> {
    if !metadata.is_object() {
        return Err(LeaderboardError::InvalidBody(format!(
            "metadata must be a JSON object, got {}",
            json_kind(metadata)
        )));
    }
    let size = serde_json::to_string(metadata)
        .map_err(|e| LeaderboardError::InvalidBody(format!("metadata: {e}")))?
        .len();
    let limit = usize::try_from(board.metadata_max_bytes).unwrap_or(usize::MAX);
    if size > limit {
        return Err(LeaderboardError::PayloadTooLarge {
            what: "metadata".into(),
            size,
            limit,
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::board::config::BoardConfigInput;
    use serde_json::json;

    fn board(json: Value) -> Board {
        serde_json::from_value::<BoardConfigInput>(json)
            .unwrap()
            .validate()
            .unwrap()
    }

    #[test]
    fn a_band_is_a_label_taken_on_a_board_with_cohorts_only() {
        let input = |band: &str| -> SubmissionInput {
            serde_json::from_value(json!({"player": "p1", "score": 5, "band": band})).unwrap()
        };
        let cohorts = board(json!({"id": "b", "cohort_size": 10}));
        let (_, s) = input("gold-2").into_submission(&cohorts).unwrap();
        assert_eq!(s.band.as_deref(), Some("gold-2"));
        // Kept with the submission (an async inbox entry, a held review) and read back.
        let stored = serde_json::to_value(&s).unwrap();
        assert_eq!(stored["band"], "gold-2");
        assert_eq!(serde_json::from_value::<Submission>(stored).unwrap(), s);
        assert!(matches!(
            input("Gold").into_submission(&cohorts),
            Err(LeaderboardError::InvalidBody(m)) if m.contains("band")
        ));
        let plain = board(json!({"id": "b"}));
        assert!(matches!(
            input("gold").into_submission(&plain),
            Err(LeaderboardError::InvalidBody(m)) if m.contains("no cohorts")
        ));
        // A league's cohorts are its tiers': no caller names one.
        let league = board(json!({"id": "b", "period": "daily", "cohort_size": 10,
            "league": {"tiers": ["low", "high"], "promote": 1, "demote": 1}}));
        assert!(matches!(
            input("high").into_submission(&league),
            Err(LeaderboardError::InvalidBody(m)) if m.contains("league")
        ));
        // None: nothing is written for it.
        let (_, s) = serde_json::from_value::<SubmissionInput>(json!({"player": "p", "score": 1}))
            .unwrap()
            .into_submission(&cohorts)
            .unwrap();
        assert_eq!(serde_json::to_value(&s).unwrap().get("band"), None);
    }

    #[test]
    fn submission_input_parses_at_scale() {
        let b = board(json!({"id": "b", "score_type": "decimal", "scale": 2}));
        let input: SubmissionInput = serde_json::from_value(
            json!({"player": "p1", "score": "12.5", "metadata": {"lvl": 3}}),
        )
        .unwrap();
        let (p, s) = input.into_submission(&b).unwrap();
        assert_eq!(p.as_str(), "p1");
        assert_eq!(s.score, 1250);
        assert!(
            serde_json::from_value::<SubmissionInput>(json!({"player": "p", "score": 1, "x": 1}))
                .is_err()
        );
        assert!(
            serde_json::from_value::<SubmissionInput>(json!({"player": "p q", "score": 1}))
                .is_err()
        );
    }

    #[test]
    fn metadata_rules() {
        let b = board(json!({"id": "b", "metadata_max_bytes": 16}));
        assert!(check_metadata(&b, &json!({"a": 1})).is_ok());
        assert_eq!(
            check_metadata(&b, &json!("x")).unwrap_err(),
            LeaderboardError::InvalidBody("metadata must be a JSON object, got a string".into())
        );
        assert_eq!(
            check_metadata(&b, &json!({"name": "abcdefghij"})).unwrap_err(),
            LeaderboardError::PayloadTooLarge {
                what: "metadata".into(),
                size: 21,
                limit: 16
            }
        );
    }

    #[test]
    fn record_serde_round_trip() {
        let r = Record {
            score: 5,
            subscore: None,
            achieved_at_ms: 1,
            updated_at_ms: 2,
            metadata: Some(json!({"k": "v"})),
            submissions: 3,
        };
        let s = serde_json::to_string(&r).unwrap();
        assert!(!s.contains("subscore"));
        assert_eq!(serde_json::from_str::<Record>(&s).unwrap(), r);
    }
}
