//! What the API returns, for each API version. Handlers pass plain values; the wire shapes live
//! here so v1 and v2 stay consistent across components.
//!
//! v2 differs from v1 in two ways: scores are strings in the board's exact decimal form
//! (`"12.50"`) instead of JSON numbers, and lists are `{"data": [...], "page": {...}}` with the
//! paging fields grouped in `page`. Board configurations are the same in both (bounds in minor
//! units), so a configuration read from either can be posted back.

use serde_json::{Value, json};

use crate::board::config::Board;
use crate::board::period::PeriodId;
use crate::board::rank::percentile;
use crate::error::{LeaderboardError, Result};
use crate::ids::PlayerId;
use crate::time::iso;

/// The vendor media type that selects v2 on any path.
pub const V2_MEDIA_TYPE: &str = "application/vnd.leaderboard.v2+json";

/// API version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    /// `/api/v1`.
    V1,
    /// `/api/v2`, or `Accept: application/vnd.leaderboard.v2+json`.
    V2,
}

impl ApiVersion {
    /// From the path segment (`v1`/`v2`) and the `Accept` header (the vendor type, named with a
    /// weight above 0, wins).
    pub fn negotiate(path_segment: &str, accept: Option<&str>) -> Result<Self> {
        if crate::negotiate::names_media_type(accept, V2_MEDIA_TYPE) {
            return Ok(Self::V2);
        }
        match path_segment {
            "v1" => Ok(Self::V1),
            "v2" => Ok(Self::V2),
            other => Err(LeaderboardError::NotFound(format!(
                "API version '{other}' does not exist; use v1 or v2"
            ))),
        }
    }

    /// The response content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::V1 => "application/json",
            Self::V2 => V2_MEDIA_TYPE,
        }
    }

    /// A score (minor units) as this version renders it: a JSON number in v1, the exact
    /// decimal string in v2.
    pub fn score(self, board: &Board, minor: i64) -> Value {
        match self {
            Self::V1 => board.score_type.to_json(minor),
            Self::V2 => Value::String(board.format_score(minor)),
        }
    }
}

/// One ranked row.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryView {
    /// Competition rank.
    pub rank: u64,
    /// Player.
    pub player: PlayerId,
    /// Score in minor units.
    pub score: i64,
    /// Subscore.
    pub subscore: Option<i64>,
    /// When the standing was reached (Unix ms).
    pub achieved_at_ms: i64,
    /// Metadata object.
    pub metadata: Option<Value>,
}

/// The period a response speaks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodView {
    /// The period read.
    pub id: PeriodId,
    /// The current period at the time of the request.
    pub current: PeriodId,
    /// When the current period ends (None for all_time).
    pub next_reset_ms: Option<i64>,
}

impl PeriodView {
    /// The period a read asks for (`None`/`current`, `previous`, or an id of the board's kind),
    /// checked against retention, with the current period and its reset time.
    pub fn resolve(board: &Board, requested: Option<&str>, now_ms: i64) -> Result<Self> {
        Ok(Self {
            id: crate::board::period::resolve(
                board.period,
                requested,
                now_ms,
                board.retain_periods,
            )?,
            current: crate::board::period::period_id(board.period, now_ms)?,
            next_reset_ms: crate::board::period::next_reset_ms(board.period, now_ms)?,
        })
    }
}

fn period_json(p: &PeriodView) -> Value {
    json!({
        "id": p.id.to_string(),
        "current": p.current.to_string(),
        "next_reset": p.next_reset_ms.map(iso).unwrap_or(Value::Null),
        "next_reset_ms": p.next_reset_ms,
    })
}

/// A board's configuration plus its current period. The configuration has the same shape in
/// both versions (bounds in minor units), so what a GET returns can be posted back.
pub fn board(_v: ApiVersion, board: &Board, period: &PeriodView) -> Value {
    let mut config = serde_json::to_value(board.to_input()).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut config {
        map.insert("period_info".into(), period_json(period));
    }
    config
}

/// One entry.
pub fn entry(v: ApiVersion, board: &Board, e: &EntryView) -> Value {
    let mut obj = json!({
        "rank": e.rank,
        "player": e.player.as_str(),
        "score": v.score(board, e.score),
        "achieved_at": iso(e.achieved_at_ms),
    });
    if let Value::Object(map) = &mut obj {
        if let Some(s) = e.subscore {
            map.insert("subscore".into(), json!(s));
        }
        if let Some(m) = &e.metadata {
            map.insert("metadata".into(), m.clone());
        }
    }
    obj
}

/// A page of entries (top-N, around-me, or several players).
pub fn page(
    v: ApiVersion,
    board: &Board,
    period: &PeriodView,
    total: u64,
    entries: &[EntryView],
    next_cursor: Option<&str>,
    limit: Option<u32>,
) -> Value {
    let rows: Vec<Value> = entries.iter().map(|e| entry(v, board, e)).collect();
    match v {
        ApiVersion::V1 => json!({
            "board": board.id.as_str(),
            "period": period_json(period),
            "total": total,
            "entries": rows,
            "next_cursor": next_cursor,
        }),
        ApiVersion::V2 => json!({
            "board": board.id.as_str(),
            "period": period_json(period),
            "data": rows,
            "page": { "total": total, "limit": limit, "next_cursor": next_cursor },
        }),
    }
}

/// One player's standing.
pub fn standing(
    v: ApiVersion,
    board: &Board,
    period: &PeriodView,
    e: &EntryView,
    total: u64,
) -> Value {
    let mut obj = entry(v, board, e);
    if let Value::Object(map) = &mut obj {
        map.insert("percentile".into(), json!(percentile(e.rank, total)));
        map.insert("total".into(), json!(total));
        map.insert("period".into(), period_json(period));
    }
    obj
}

/// Adds the cohort a read of a board with cohorts shows (`null`: the whole board's standings)
/// to its answer `obj`; a board without cohorts answers as it always has.
pub fn with_cohort(obj: &mut Value, board: &Board, cohort: Option<&str>) {
    if board.cohort_size.is_some()
        && let Value::Object(map) = obj
    {
        map.insert("cohort".into(), json!(cohort));
    }
}

/// The result of a synchronous submission.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmitView {
    /// The player's entry after the submission.
    pub entry: EntryView,
    /// Players on the board (period).
    pub total: u64,
    /// The previous score, if any.
    pub previous_score: Option<i64>,
    /// Whether the standing improved.
    pub improved: bool,
    /// Whether anything a reader sees changed.
    pub changed: bool,
    /// The player's cohort on a board with cohorts: `entry`'s rank and `total` are the cohort's.
    pub cohort: Option<String>,
}

/// Renders a submission result.
pub fn submit(v: ApiVersion, board: &Board, period: &PeriodView, s: &SubmitView) -> Value {
    let mut obj = standing(v, board, period, &s.entry, s.total);
    if let Value::Object(map) = &mut obj {
        map.insert(
            "previous_score".into(),
            s.previous_score
                .map(|p| v.score(board, p))
                .unwrap_or(Value::Null),
        );
        map.insert("improved".into(), json!(s.improved));
        map.insert("changed".into(), json!(s.changed));
    }
    with_cohort(&mut obj, board, s.cohort.as_deref());
    obj
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::board::period::PeriodKind;
    use crate::board::test_support::decimal_board;

    fn period() -> PeriodView {
        let id = crate::board::period::period_id(PeriodKind::AllTime, 0).unwrap();
        PeriodView {
            id,
            current: id,
            next_reset_ms: None,
        }
    }

    fn row() -> EntryView {
        EntryView {
            rank: 1,
            player: PlayerId::new("ann").unwrap(),
            score: 1250,
            subscore: None,
            achieved_at_ms: 0,
            metadata: None,
        }
    }

    #[test]
    fn versions_negotiate() {
        assert_eq!(ApiVersion::negotiate("v1", None).unwrap(), ApiVersion::V1);
        assert_eq!(ApiVersion::negotiate("v2", None).unwrap(), ApiVersion::V2);
        assert_eq!(
            ApiVersion::negotiate("v1", Some(V2_MEDIA_TYPE)).unwrap(),
            ApiVersion::V2
        );
        assert_eq!(
            ApiVersion::negotiate(
                "v1",
                Some("application/json, application/vnd.leaderboard.v2+json;q=0.5")
            )
            .unwrap(),
            ApiVersion::V2
        );
        // Refused (q=0) or only through a wildcard, the vendor type is not asked for.
        assert_eq!(
            ApiVersion::negotiate("v1", Some("application/vnd.leaderboard.v2+json;q=0")).unwrap(),
            ApiVersion::V1
        );
        assert_eq!(
            ApiVersion::negotiate("v1", Some("application/*")).unwrap(),
            ApiVersion::V1
        );
        assert_eq!(ApiVersion::negotiate("v9", None).unwrap_err().status(), 404);
    }

    #[test]
    fn v1_numbers_v2_strings_and_page_shape() {
        let b = decimal_board();
        let p = period();
        let v1 = page(ApiVersion::V1, &b, &p, 1, &[row()], None, Some(10));
        assert_eq!(v1["entries"][0]["score"], json!(12.5));
        assert_eq!(v1["total"], 1);
        let v2 = page(ApiVersion::V2, &b, &p, 1, &[row()], Some("abc"), Some(10));
        assert_eq!(v2["data"][0]["score"], "12.50");
        assert_eq!(v2["page"]["next_cursor"], "abc");
        assert_eq!(v2["page"]["total"], 1);
        assert_eq!(v2["period"]["id"], "all");
    }

    #[test]
    fn submit_view_has_rank_previous_and_improved() {
        let b = decimal_board();
        let s = SubmitView {
            entry: row(),
            total: 4,
            previous_score: Some(1000),
            improved: true,
            changed: true,
            cohort: None,
        };
        let v = submit(ApiVersion::V1, &b, &period(), &s);
        assert_eq!(v["rank"], 1);
        assert_eq!(v["previous_score"], json!(10.0));
        assert_eq!(v["improved"], true);
        assert_eq!(v["percentile"], json!(100.0));
        assert!(v.get("cohort").is_none());
    }

    #[test]
    fn a_board_with_cohorts_says_which_cohort_an_answer_shows() {
        let mut input = decimal_board().to_input();
        input.cohort_size = Some(10);
        let b = input.validate().unwrap();
        let s = SubmitView {
            entry: row(),
            total: 4,
            previous_score: None,
            improved: true,
            changed: true,
            cohort: Some("gold.2".into()),
        };
        assert_eq!(
            submit(ApiVersion::V1, &b, &period(), &s)["cohort"],
            "gold.2"
        );
        let mut page = page(ApiVersion::V2, &b, &period(), 1, &[row()], None, Some(10));
        with_cohort(&mut page, &b, None);
        assert_eq!(page["cohort"], Value::Null);
        let mut plain = page.clone();
        plain.as_object_mut().unwrap().remove("cohort");
        with_cohort(&mut plain, &decimal_board(), Some("1"));
        assert!(plain.get("cohort").is_none());
    }
}
