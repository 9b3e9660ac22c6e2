//! The messages of `proto/leaderboard/v1/leaderboard.proto`, written by hand: prost's derive for
//! the binary codec (`application/proto`, gRPC-Web) and serde for the JSON codec
//! (`application/json`) following the protobuf JSON mapping — lowerCamelCase names (the proto
//! names are accepted too), 64-bit integers as strings, enums by name, default values left out,
//! unknown fields refused. prost-build would need `protoc` at build time; the suite checks these
//! against the `.proto` by calling every method with `buf curl`, which encodes from the file.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::json::{int32, int64, opt_int32, opt_int64};

pub(crate) fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

fn is_zero_f64(v: &f64) -> bool {
    *v == 0.0
}

pub(crate) fn is_false(v: &bool) -> bool {
    !*v
}

/// One ranked row.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Entry {
    /// Competition rank.
    #[prost(uint64, tag = "1")]
    #[serde(default, with = "int64", skip_serializing_if = "is_zero_u64")]
    pub rank: u64,
    /// The player.
    #[prost(string, tag = "2")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub player: String,
    /// A decimal in the board's scale.
    #[prost(string, tag = "3")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub score: String,
    /// The subscore.
    #[prost(int64, optional, tag = "4")]
    #[serde(default, with = "opt_int64", skip_serializing_if = "Option::is_none")]
    pub subscore: Option<i64>,
    /// When the standing was reached (RFC 3339).
    #[prost(string, tag = "5")]
    #[serde(
        default,
        alias = "achieved_at",
        skip_serializing_if = "String::is_empty"
    )]
    pub achieved_at: String,
    /// The metadata object as JSON text.
    #[prost(string, tag = "6")]
    #[serde(
        default,
        alias = "metadata_json",
        skip_serializing_if = "String::is_empty"
    )]
    pub metadata_json: String,
}

/// Which period a read looks at, and when.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadAt {
    /// `current` (empty), `previous` or a period id.
    #[prost(string, tag = "1")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub period: String,
    /// An RFC 3339 time or an event id.
    #[prost(string, tag = "2")]
    #[serde(default, alias = "as_of", skip_serializing_if = "String::is_empty")]
    pub as_of: String,
    /// On a board with cohorts, the cohort to read (empty: the reader's default).
    #[prost(string, tag = "3")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cohort: String,
}

/// The period an answer speaks about.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Period {
    /// The period read.
    #[prost(string, tag = "1")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The current period.
    #[prost(string, tag = "2")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub current: String,
    /// When the current period ends (RFC 3339); empty for all-time.
    #[prost(string, tag = "3")]
    #[serde(
        default,
        alias = "next_reset",
        skip_serializing_if = "String::is_empty"
    )]
    pub next_reset: String,
}

/// `GetLeaderboard`'s request.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetLeaderboardRequest {
    /// The board.
    #[prost(string, tag = "1")]
    #[serde(default)]
    pub board: String,
    /// 1–100; 0 means 10.
    #[prost(uint32, tag = "2")]
    #[serde(default, with = "int32")]
    pub limit: u32,
    /// A previous answer's `next_cursor`.
    #[prost(string, tag = "3")]
    #[serde(default)]
    pub cursor: String,
    /// Which period, and when.
    #[prost(message, optional, tag = "4")]
    #[serde(default)]
    pub at: Option<ReadAt>,
}

/// `GetLeaderboard`'s response.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetLeaderboardResponse {
    /// The board.
    #[prost(string, tag = "1")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub board: String,
    /// The rows, best first.
    #[prost(message, repeated, tag = "2")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<Entry>,
    /// Entries in the period.
    #[prost(uint64, tag = "3")]
    #[serde(
        default,
        alias = "total_count",
        with = "int64",
        skip_serializing_if = "is_zero_u64"
    )]
    pub total_count: u64,
    /// Empty on the last page.
    #[prost(string, tag = "4")]
    #[serde(
        default,
        alias = "next_cursor",
        skip_serializing_if = "String::is_empty"
    )]
    pub next_cursor: String,
    /// The period.
    #[prost(message, optional, tag = "5")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// On a board with cohorts, the cohort read (empty: the whole board, or no cohorts).
    #[prost(string, tag = "6")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cohort: String,
}

/// `GetPlayer`'s request.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetPlayerRequest {
    /// The board.
    #[prost(string, tag = "1")]
    #[serde(default)]
    pub board: String,
    /// The player.
    #[prost(string, tag = "2")]
    #[serde(default)]
    pub player: String,
    /// Which period, and when.
    #[prost(message, optional, tag = "3")]
    #[serde(default)]
    pub at: Option<ReadAt>,
}

/// `GetPlayer`'s response.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetPlayerResponse {
    /// The player's row.
    #[prost(message, optional, tag = "1")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<Entry>,
    /// The share of entries ranked below the player, in percent.
    #[prost(double, tag = "2")]
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub percentile: f64,
    /// Entries in the period.
    #[prost(uint64, tag = "3")]
    #[serde(
        default,
        alias = "total_count",
        with = "int64",
        skip_serializing_if = "is_zero_u64"
    )]
    pub total_count: u64,
    /// The period.
    #[prost(message, optional, tag = "4")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// On a board with cohorts, the cohort read (empty: the whole board, or no cohorts).
    #[prost(string, tag = "5")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cohort: String,
}

/// `GetAround`'s request.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetAroundRequest {
    /// The board.
    #[prost(string, tag = "1")]
    #[serde(default)]
    pub board: String,
    /// The player.
    #[prost(string, tag = "2")]
    #[serde(default)]
    pub player: String,
    /// 0–50; unset means 5.
    #[prost(uint32, optional, tag = "3")]
    #[serde(default, with = "opt_int32")]
    pub radius: Option<u32>,
    /// Which period, and when.
    #[prost(message, optional, tag = "4")]
    #[serde(default)]
    pub at: Option<ReadAt>,
}

/// `GetAround`'s response.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetAroundResponse {
    /// The board.
    #[prost(string, tag = "1")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub board: String,
    /// The rows, best first.
    #[prost(message, repeated, tag = "2")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<Entry>,
    /// Entries in the period.
    #[prost(uint64, tag = "3")]
    #[serde(
        default,
        alias = "total_count",
        with = "int64",
        skip_serializing_if = "is_zero_u64"
    )]
    pub total_count: u64,
    /// The period.
    #[prost(message, optional, tag = "4")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// On a board with cohorts, the cohort read (empty: the whole board, or no cohorts).
    #[prost(string, tag = "5")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cohort: String,
}

/// `SubmitScore`'s request.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitScoreRequest {
    /// The board.
    #[prost(string, tag = "1")]
    #[serde(default)]
    pub board: String,
    /// Who scored.
    #[prost(string, tag = "2")]
    #[serde(default)]
    pub player: String,
    /// A decimal in the board's scale.
    #[prost(string, tag = "3")]
    #[serde(default)]
    pub score: String,
    /// The subscore.
    #[prost(int64, optional, tag = "4")]
    #[serde(default, with = "opt_int64")]
    pub subscore: Option<i64>,
    /// A metadata object as JSON text.
    #[prost(string, tag = "5")]
    #[serde(default, alias = "metadata_json")]
    pub metadata_json: String,
    /// The Idempotency-Key.
    #[prost(string, tag = "6")]
    #[serde(default, alias = "idempotency_key")]
    pub idempotency_key: String,
}

/// What became of a submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum SubmitStatus {
    /// Not set.
    Unspecified = 0,
    /// Applied now.
    Applied = 1,
    /// Accepted into the inbox.
    Accepted = 2,
    /// Held for review.
    Held = 3,
}

/// The enum field as the JSON mapping writes it: by its proto name.
mod submit_status {
    use super::*;

    const NAMES: [&str; 4] = [
        "SUBMIT_STATUS_UNSPECIFIED",
        "SUBMIT_STATUS_APPLIED",
        "SUBMIT_STATUS_ACCEPTED",
        "SUBMIT_STATUS_HELD",
    ];

    pub fn serialize<S: Serializer>(v: &i32, s: S) -> Result<S::Ok, S::Error> {
        match usize::try_from(*v).ok().and_then(|i| NAMES.get(i)) {
            Some(name) => s.serialize_str(name),
            None => s.serialize_i32(*v),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(name) => NAMES
                .iter()
                .position(|n| *n == name)
                .and_then(|i| i32::try_from(i).ok())
                .ok_or_else(|| serde::de::Error::custom(format!("unknown SubmitStatus {name}"))),
            serde_json::Value::Number(n) => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| serde::de::Error::custom("SubmitStatus out of range")),
            _ => Err(serde::de::Error::custom("expected a SubmitStatus name")),
        }
    }
}

fn is_unspecified(v: &i32) -> bool {
    *v == 0
}

/// `SubmitScore`'s response.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitScoreResponse {
    /// What became of it.
    #[prost(enumeration = "SubmitStatus", tag = "1")]
    #[serde(
        default,
        with = "submit_status",
        skip_serializing_if = "is_unspecified"
    )]
    pub status: i32,
    /// The HTTP status REST answers for the same submission.
    #[prost(uint32, tag = "2")]
    #[serde(
        default,
        alias = "http_status",
        with = "int32",
        skip_serializing_if = "is_zero_u32"
    )]
    pub http_status: u32,
    /// The stored outcome of an earlier request with the same key.
    #[prost(bool, tag = "3")]
    #[serde(default, skip_serializing_if = "is_false")]
    pub replayed: bool,
    /// The player.
    #[prost(string, tag = "4")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub player: String,
    /// The entry after the write (applied).
    #[prost(message, optional, tag = "5")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<Entry>,
    /// Entries in the period after the write (applied).
    #[prost(uint64, tag = "6")]
    #[serde(
        default,
        alias = "total_count",
        with = "int64",
        skip_serializing_if = "is_zero_u64"
    )]
    pub total_count: u64,
    /// The score before (applied, when the player had an entry).
    #[prost(string, tag = "7")]
    #[serde(
        default,
        alias = "previous_score",
        skip_serializing_if = "String::is_empty"
    )]
    pub previous_score: String,
    /// Whether the standing improved (applied).
    #[prost(bool, tag = "8")]
    #[serde(default, skip_serializing_if = "is_false")]
    pub improved: bool,
    /// The inbox event id (accepted).
    #[prost(string, tag = "9")]
    #[serde(default, alias = "event_id", skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The review (held).
    #[prost(string, tag = "10")]
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub review: String,
}

/// `StreamUpdates`' request.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StreamUpdatesRequest {
    /// The board.
    #[prost(string, tag = "1")]
    #[serde(default)]
    pub board: String,
    /// 1–100; 0 means 10.
    #[prost(uint32, tag = "2")]
    #[serde(default, with = "int32")]
    pub limit: u32,
    /// A player whose standing each update carries.
    #[prost(string, tag = "3")]
    #[serde(default)]
    pub player: String,
    /// The period.
    #[prost(string, tag = "4")]
    #[serde(default)]
    pub period: String,
}

/// One message of `StreamUpdates`.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StreamUpdatesResponse {
    /// The board's version shown.
    #[prost(uint64, tag = "1")]
    #[serde(default, with = "int64", skip_serializing_if = "is_zero_u64")]
    pub version: u64,
    /// The stream's first message.
    #[prost(bool, tag = "2")]
    #[serde(default, skip_serializing_if = "is_false")]
    pub snapshot: bool,
    /// The leaderboard.
    #[prost(message, optional, tag = "3")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaderboard: Option<GetLeaderboardResponse>,
    /// The player's standing.
    #[prost(message, optional, tag = "4")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub player: Option<GetPlayerResponse>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use prost::Message as _;

    #[test]
    fn json_follows_the_protobuf_mapping() {
        let r = GetLeaderboardResponse {
            board: "b".into(),
            entries: vec![Entry {
                rank: 1,
                player: "ann".into(),
                score: "10".into(),
                subscore: Some(-3),
                achieved_at: "2026-01-01T00:00:00.000Z".into(),
                metadata_json: String::new(),
            }],
            total_count: 12,
            next_cursor: String::new(),
            period: None,
            cohort: String::new(),
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "board": "b",
                "entries": [{ "rank": "1", "player": "ann", "score": "10", "subscore": "-3",
                              "achievedAt": "2026-01-01T00:00:00.000Z" }],
                "totalCount": "12"
            })
        );
        let back: GetLeaderboardResponse = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
        let by_proto_names: GetLeaderboardRequest =
            serde_json::from_str(r#"{"board":"b","limit":3,"at":{"as_of":"x"}}"#).unwrap();
        assert_eq!(by_proto_names.at.unwrap().as_of, "x");
        assert!(serde_json::from_str::<GetLeaderboardRequest>(r#"{"bored":"b"}"#).is_err());
        let s = SubmitScoreResponse {
            status: SubmitStatus::Held as i32,
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({ "status": "SUBMIT_STATUS_HELD" })
        );
    }

    #[test]
    fn binary_round_trips() {
        let req = GetAroundRequest {
            board: "b".into(),
            player: "p".into(),
            radius: Some(0),
            at: Some(ReadAt {
                period: "previous".into(),
                as_of: String::new(),
                cohort: "gold.2".into(),
            }),
        };
        let bytes = req.encode_to_vec();
        assert_eq!(GetAroundRequest::decode(bytes.as_slice()).unwrap(), req);
    }
}
