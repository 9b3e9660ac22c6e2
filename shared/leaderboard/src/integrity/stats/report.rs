//! The stats document a read answers (and the dashboard draws), from the two round trips that
//! read it: [`WindowStats`], then the [`DistributionQuery`] it implies.

use serde_json::{Value, json};

use super::{Counts, HISTOGRAM_BUCKETS, PERCENTILES, Window, histogram_buckets, percentile_index};
use crate::board::config::Board;
use crate::board::period::PeriodId;
use crate::board::sortkey;
use crate::board::view::ApiVersion;
use crate::error::Result;
use crate::time::iso;

/// What the first round trip reads of a board's stats: the window's counts and the current
/// period's size, extremes and climbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowStats {
    /// Standings in the period.
    pub players: u64,
    /// The best and worst standings' rank values.
    pub best_worst: Option<(u64, u64)>,
    /// Distinct players of the window.
    pub unique_players: u64,
    /// Per step, oldest first.
    pub steps: Vec<Counts>,
    /// Climbers: player, ranks gained, current rank (`None`: no standing now).
    pub climbers: Vec<(String, u64, Option<u64>)>,
}

/// What the second round trip reads: the standings at the percentiles' positions and the number
/// of standings in each histogram bucket's rank-value range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DistributionQuery {
    /// Zero-based positions (best first) of [`PERCENTILES`]' standings.
    pub positions: Vec<u64>,
    /// The histogram's buckets, as scores (minor units, lowest first).
    pub buckets: Vec<(i64, i64)>,
    /// Each bucket's rank-value range, for `ZCOUNT`.
    pub ranges: Vec<(u64, u64)>,
}

impl DistributionQuery {
    /// What to read for `board`'s distribution, given the first round trip.
    pub fn of(board: &Board, stats: &WindowStats) -> Result<Self> {
        let positions = PERCENTILES
            .iter()
            .filter_map(|p| percentile_index(stats.players, *p))
            .collect();
        let mut buckets = Vec::new();
        let mut ranges = Vec::new();
        if let Some((best, worst)) = stats.best_worst {
            let (a, _) = sortkey::decode_rank_value(board, best)?;
            let (b, _) = sortkey::decode_rank_value(board, worst)?;
            for (lo, hi) in histogram_buckets(a.min(b), a.max(b), HISTOGRAM_BUCKETS) {
                let (x0, x1) = sortkey::rank_value_range_for_score(board, lo)?;
                let (y0, y1) = sortkey::rank_value_range_for_score(board, hi)?;
                buckets.push((lo, hi));
                ranges.push((x0.min(y0), x1.max(y1)));
            }
        }
        Ok(Self {
            positions,
            buckets,
            ranges,
        })
    }

    /// Whether there is nothing to read (an empty period).
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty() && self.ranges.is_empty()
    }
}

/// The second round trip's answers to a [`DistributionQuery`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Distribution {
    /// What was asked.
    pub query: DistributionQuery,
    /// The rank value at each of the query's positions (`None` past the end).
    pub at: Vec<Option<u64>>,
    /// The standings in each of the query's ranges.
    pub counts: Vec<u64>,
}

fn counts_json(c: &Counts) -> Value {
    json!({
        "accepted": c.accepted,
        "flagged": c.flagged,
        "held": c.held,
        "rejected": c.rejected,
        "personal_bests": c.personal_bests,
        "new_players": c.new_players,
        "unique_players": c.unique_players,
    })
}

/// The stats document (what `GET …/stats` answers and the dashboard draws) of `board`'s
/// `period` over `window`, from both round trips.
pub fn document(
    board: &Board,
    version: ApiVersion,
    period: &PeriodId,
    window: &Window,
    stats: &WindowStats,
    distribution: &Distribution,
) -> Result<Value> {
    let Distribution { query, at, counts } = distribution;
    let score = |rank_value: u64| -> Result<Value> {
        let (s, _) = sortkey::decode_rank_value(board, rank_value)?;
        Ok(version.score(board, s))
    };
    let mut percentiles = serde_json::Map::new();
    for (p, value) in PERCENTILES.iter().zip(at.iter()) {
        let shown = match value {
            Some(rv) => score(*rv)?,
            None => Value::Null,
        };
        percentiles.insert(format!("p{p}"), shown);
    }
    let histogram = query
        .buckets
        .iter()
        .zip(counts.iter())
        .map(|((lo, hi), n)| {
            json!({"from": version.score(board, *lo), "to": version.score(board, *hi), "count": n})
        })
        .collect::<Vec<_>>();
    let (best, worst) = match stats.best_worst {
        Some((b, w)) => (score(b)?, score(w)?),
        None => (Value::Null, Value::Null),
    };
    let mut totals = stats
        .steps
        .iter()
        .fold(Counts::default(), |sum, s| sum.plus(s));
    totals.unique_players = stats.unique_players;
    let steps = stats
        .steps
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let start = window.start_ms + window.step_ms * i as i64;
            let mut step = counts_json(c);
            if let Value::Object(m) = &mut step {
                m.insert("start".into(), iso(start));
            }
            step
        })
        .collect::<Vec<_>>();
    let climbers = stats
        .climbers
        .iter()
        .map(|(player, gained, rank)| json!({"player": player, "ranks_gained": gained, "rank": rank}))
        .collect::<Vec<_>>();
    Ok(json!({
        "board": board.id.as_str(),
        "period": period.to_string(),
        "window": {
            "start": iso(window.start_ms),
            "end": iso(window.end_ms),
            "step_secs": window.step_ms / 1000,
            "steps": window.steps(),
        },
        "totals": counts_json(&totals),
        "steps": steps,
        "distribution": {
            "players": stats.players,
            "best": best,
            "worst": worst,
            "percentiles": percentiles,
            "histogram": histogram,
        },
        "climbers": climbers,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_document_renders_both_round_trips() {
        use crate::board::sortkey::{Standing, encode_rank_value};
        let board = {
            let mut input = crate::BoardConfigInput::new(crate::BoardId::new("b").unwrap());
            input.score_max = Some(1_000);
            input.validate().unwrap()
        };
        let rv = |score| {
            encode_rank_value(
                &board,
                &Standing {
                    score,
                    subscore: None,
                },
            )
            .unwrap()
        };
        let window = Window::parse(Some("2m"), Some("1m"), 180_000).unwrap();
        let step = |accepted| Counts {
            accepted,
            ..Counts::default()
        };
        let stats = WindowStats {
            players: 3,
            best_worst: Some((rv(900), rv(100))),
            unique_players: 3,
            steps: vec![step(1), step(2)],
            climbers: vec![("ann".into(), 2, Some(1))],
        };
        let query = DistributionQuery::of(&board, &stats).unwrap();
        assert_eq!(query.positions.len(), PERCENTILES.len());
        assert_eq!(query.buckets.len(), query.ranges.len());
        assert_eq!(
            query.buckets.first().map(|b| b.0),
            Some(100),
            "from the lowest score"
        );
        let n = query.ranges.len();
        let distribution = Distribution {
            at: vec![Some(rv(500)), Some(rv(900)), None],
            counts: (0..n as u64).map(|i| u64::from(i == 0)).collect(),
            query,
        };
        let period = crate::board::period::PeriodId::AllTime;
        let doc = document(
            &board,
            ApiVersion::V1,
            &period,
            &window,
            &stats,
            &distribution,
        )
        .unwrap();
        assert_eq!(doc["board"], "b");
        assert_eq!(doc["totals"]["accepted"], 3, "{doc}");
        assert_eq!(doc["totals"]["unique_players"], 3);
        assert_eq!(doc["steps"][1]["accepted"], 2);
        assert_eq!(doc["steps"][0]["start"], iso(window.start_ms));
        assert_eq!(doc["steps"][1]["start"], iso(window.start_ms + 60_000));
        assert_eq!(doc["distribution"]["best"], 900);
        assert_eq!(doc["distribution"]["worst"], 100);
        assert_eq!(doc["distribution"]["percentiles"]["p50"], 500);
        assert_eq!(
            doc["distribution"]["percentiles"]["p99"],
            serde_json::Value::Null
        );
        assert_eq!(doc["distribution"]["histogram"][0]["count"], 1);
        assert_eq!(doc["climbers"][0]["ranks_gained"], 2);
        assert_eq!(doc["window"]["step_secs"], 60);
    }
}
