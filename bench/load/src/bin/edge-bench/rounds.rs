//! A row measured in several rounds (the floors, the target rows and the sync submit) becomes
//! one: the result of its median round by req/s, every round's req/s, and as ratios the median
//! of the rounds' paired ratios, each a row over the floor measured in the same round (for an
//! even number of rounds, the lower of the middle two: always a measured value). A paired ratio
//! is not skewed by the machine's drift over minutes, as a ratio of two medians would be. And
//! `find`, the lookup by runtime, name and concurrency that the table and the targets use.

use std::cmp::Ordering;

use crate::py;
use crate::records::{HTTP, RowRecord};
use crate::rows::HELLO_FLOOR;

/// The first row of `rt` named `name` at concurrency `c`.
pub fn find<'a>(rows: &'a [RowRecord], rt: &str, name: &str, c: u64) -> Option<&'a RowRecord> {
    rows.iter()
        .find(|r| r.runtime == rt && r.row == name && r.result.concurrency == c)
}

/// `r`'s req/s over that of the row `name` measured in the same round (same runtime and
/// concurrency), when there is one with a rate.
fn paired(rows: &[RowRecord], r: &RowRecord, name: Option<&str>) -> Option<f64> {
    let name = name?;
    let floor = rows.iter().find(|x| {
        x.runtime == r.runtime
            && x.row == name
            && x.result.concurrency == r.result.concurrency
            && x.round.unwrap_or(1) == r.round.unwrap_or(1)
    })?;
    let base = floor.result.req_per_s.filter(|v| *v != 0.0)?;
    r.result.req_per_s.map(|v| v / base)
}

/// The rows of one runtime, name and concurrency, in measurement order.
struct Members<'a> {
    runtime: &'a str,
    row: &'a str,
    concurrency: u64,
    of: Vec<&'a RowRecord>,
}

/// Pairs every row with its hello floor and bounding floor of the same round, then makes one
/// row of each runtime, name and concurrency.
pub fn merge_rounds(mut raw: Vec<RowRecord>) -> Vec<RowRecord> {
    let pairs: Vec<(Option<f64>, Option<f64>)> = raw
        .iter()
        .map(|r| {
            let hello = if r.kind == HTTP {
                paired(&raw, r, Some(HELLO_FLOOR))
            } else {
                None
            };
            (hello, paired(&raw, r, r.floor))
        })
        .collect();
    for (r, (hello, floor)) in raw.iter_mut().zip(pairs) {
        r.pair_hello = hello;
        r.pair_floor = floor;
    }
    let mut groups: Vec<Members<'_>> = Vec::new();
    for r in &raw {
        let at = groups.iter().position(|g| {
            g.runtime == r.runtime && g.row == r.row && g.concurrency == r.result.concurrency
        });
        match at {
            Some(i) => groups[i].of.push(r),
            None => groups.push(Members {
                runtime: &r.runtime,
                row: &r.row,
                concurrency: r.result.concurrency,
                of: vec![r],
            }),
        }
    }
    groups.iter().filter_map(|g| merge(&g.of)).collect()
}

/// One row of a group: its median round by req/s, with every round's req/s and the median of
/// the paired ratios.
fn merge(members: &[&RowRecord]) -> Option<RowRecord> {
    let mut by_speed = members.to_vec();
    by_speed.sort_by(|a, b| {
        a.result
            .req_per_s
            .partial_cmp(&b.result.req_per_s)
            .unwrap_or(Ordering::Equal)
    });
    let middle: &RowRecord = by_speed.get(by_speed.len().checked_sub(1)? / 2).copied()?;
    let mut r = middle.clone();
    r.rounds = members.iter().map(|x| x.result.req_per_s).collect();
    // Unrounded: a target is judged on the ratio itself (0.8985 is not 0.9); tables and target
    // lines round it for display.
    r.ratio_to_hello = py::median_low(members.iter().filter_map(|x| x.pair_hello).collect());
    r.ratio_to_floor = py::median_low(members.iter().filter_map(|x| x.pair_floor).collect());
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::LoadResult;

    fn row(name: &str, c: u64, round: u32, req: f64) -> RowRecord {
        RowRecord {
            runtime: "edge-host".into(),
            row: name.into(),
            route: "GET /".into(),
            kind: HTTP,
            note: String::new(),
            round: Some(round),
            result: LoadResult {
                label: name.into(),
                concurrency: c,
                requests: 10,
                errors: 0,
                non_2xx: 0,
                req_per_s: Some(req),
                p50_ms: Some(1.0),
                p99_ms: Some(2.0),
                max_ms: Some(3.0),
                elapsed_s: Some(1.0),
            },
            drain: None,
            floor: if name == "cached top-10" {
                Some("KV floor")
            } else {
                None
            },
            pair_hello: None,
            pair_floor: None,
            rounds: Vec::new(),
            ratio_to_hello: None,
            ratio_to_floor: None,
        }
    }

    #[test]
    fn rounds_merge_into_the_median_round_and_the_median_paired_ratio() {
        let raw = vec![
            row("KV floor", 1, 1, 100.0),
            row("cached top-10", 1, 1, 80.0),
            row("cached top-10", 1, 2, 60.0),
            row("KV floor", 1, 2, 50.0),
            row("KV floor", 1, 3, 200.0),
            row("cached top-10", 1, 3, 90.0),
        ];
        let merged = merge_rounds(raw);
        assert_eq!(merged.len(), 2);
        let cached = find(&merged, "edge-host", "cached top-10", 1);
        // req/s: the median round (80); ratios 0.8, 1.2, 0.45 → median 0.8.
        assert_eq!(cached.and_then(|r| r.result.req_per_s), Some(80.0));
        assert_eq!(cached.and_then(|r| r.ratio_to_floor), Some(0.8));
        assert_eq!(cached.map(|r| r.rounds.len()), Some(3));
    }

    #[test]
    fn a_row_compared_with_another_row_pairs_them_by_round() {
        let cluster = |round, req| RowRecord {
            floor: Some("uncached top-10"),
            ..row("uncached top-10, Redis Cluster", 1, round, req)
        };
        // Round 2 in the other order; round 3 has no single-Redis row to pair with.
        let raw = vec![
            row("uncached top-10", 1, 1, 100.0),
            cluster(1, 90.0),
            cluster(2, 50.0),
            row("uncached top-10", 1, 2, 50.0),
            cluster(3, 10.0),
        ];
        let merged = merge_rounds(raw);
        let r = find(&merged, "edge-host", "uncached top-10, Redis Cluster", 1);
        // Paired ratios 0.9 and 1.0: the lower middle one.
        assert_eq!(r.and_then(|r| r.ratio_to_floor), Some(0.9));
    }

    #[test]
    fn a_paired_ratio_is_kept_unrounded() {
        let cluster = RowRecord {
            floor: Some("uncached top-10"),
            ..row("uncached top-10, Redis Cluster", 1, 1, 89.85)
        };
        let merged = merge_rounds(vec![row("uncached top-10", 1, 1, 100.0), cluster]);
        let r = find(&merged, "edge-host", "uncached top-10, Redis Cluster", 1);
        // 0.8985, not 0.9 rounded: the target judges the ratio itself.
        let ratio = r.and_then(|r| r.ratio_to_floor).unwrap_or_default();
        assert!(ratio > 0.898 && ratio < 0.899, "{ratio}");
    }
}
