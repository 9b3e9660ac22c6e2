//! The board dashboard (`GET /boards/{board}/dashboard`): one HTML page drawn from a stats
//! document ([`crate::integrity::stats`], as `GET …/stats` answers it in v1), with its charts as
//! server-rendered SVG — no script, so it runs under the same strict CSP as `/docs`
//! (`default-src 'none'; style-src 'unsafe-inline'`) — laid out for a phone first.
//!
//! The page shows the window's totals as tiles, submissions per step as stacked bars (accepted,
//! flagged, held, rejected), unique players per step as a line, the current period's histogram
//! with its p50/p90/p99 marked, and the climbers as a table. It refreshes itself every minute
//! (`<meta http-equiv="refresh">`, which needs no script).

use std::fmt::Write as _;

use serde_json::Value;

/// The page's Content-Security-Policy: nothing may load or run; inline styles only (the
/// `/docs` page's too).
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
                       form-action 'none'; frame-ancestors 'none'";

/// The chart area's width and height in SVG user units (scaled to the page's width).
const W: f64 = 600.0;
const H: f64 = 180.0;
/// Room for the axis labels.
const LEFT: f64 = 64.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 18.0;

/// The colours of the series (also the legend's).
pub const ACCEPTED: &str = "#2563eb";
/// Flagged submissions.
pub const FLAGGED: &str = "#f59e0b";
/// Held submissions.
pub const HELD: &str = "#7c3aed";
/// Rejected submissions.
pub const REJECTED: &str = "#dc2626";
/// Unique players.
pub const PLAYERS: &str = "#059669";
/// Histogram bars.
pub const HISTOGRAM: &str = "#0891b2";

/// Escapes text for HTML and SVG.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

fn shown(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => escape(s),
        _ => "–".into(),
    }
}

/// `HH:MM` of an RFC 3339 time (its text: the stats document's times are UTC).
fn clock(v: &Value) -> String {
    v.as_str()
        .and_then(|s| s.get(11..16))
        .unwrap_or("")
        .to_string()
}

/// A round upper bound for an axis: 1, 2 or 5 × 10ⁿ at least `max` (1 for nothing).
fn nice_max(max: f64) -> f64 {
    if max <= 1.0 {
        return 1.0;
    }
    let mut unit = 1.0;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if unit * m >= max {
                return unit * m;
            }
        }
        unit *= 10.0;
    }
}

fn svg_open(out: &mut String, label: &str) {
    let _ = write!(
        out,
        r#"<svg viewBox="0 0 {w} {h}" role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">"#,
        w = LEFT + W,
        h = TOP + H + BOTTOM,
        label = escape(label)
    );
}

/// The y axis (0 and `max`) and the x labels.
fn axes(out: &mut String, max: f64, first: &str, last: &str) {
    let base = TOP + H;
    let _ = write!(
        out,
        r##"<line x1="{LEFT}" y1="{base}" x2="{x2}" y2="{base}" stroke="#999"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}" stroke="#999"/><text x="{tx}" y="{ty}" font-size="18" text-anchor="end" fill="#555">{max}</text><text x="{tx}" y="{base}" font-size="18" text-anchor="end" fill="#555">0</text><text x="{LEFT}" y="{lab}" font-size="18" fill="#555">{first}</text><text x="{x2}" y="{lab}" font-size="18" text-anchor="end" fill="#555">{last}</text>"##,
        x2 = LEFT + W,
        tx = LEFT - 4.0,
        ty = TOP + 6.0,
        lab = base + 22.0,
        first = escape(first),
        last = escape(last),
    );
}

fn empty(out: &mut String, text: &str) {
    let _ = write!(
        out,
        r##"<text x="{x}" y="{y}" font-size="22" text-anchor="middle" fill="#777">{t}</text>"##,
        x = LEFT + W / 2.0,
        y = TOP + H / 2.0,
        t = escape(text)
    );
}

/// Submissions per step, stacked: accepted (not flagged), flagged, held, rejected.
fn submissions_chart(out: &mut String, steps: &[Value], first: &str, last: &str) {
    svg_open(out, "submissions per step");
    let totals: Vec<[f64; 4]> = steps
        .iter()
        .map(|s| {
            let flagged = num(&s["flagged"]);
            [
                (num(&s["accepted"]) - flagged).max(0.0),
                flagged,
                num(&s["held"]),
                num(&s["rejected"]),
            ]
        })
        .collect();
    let max = nice_max(
        totals
            .iter()
            .map(|t| t.iter().sum::<f64>())
            .fold(0.0, f64::max),
    );
    axes(out, max, first, last);
    if totals.iter().all(|t| t.iter().sum::<f64>() == 0.0) {
        empty(out, "no submissions in this window");
    }
    let slot = W / steps.len().max(1) as f64;
    let width = (slot * 0.8).max(1.0);
    for (i, parts) in totals.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - width) / 2.0;
        let mut y = TOP + H;
        for (value, colour) in parts.iter().zip([ACCEPTED, FLAGGED, HELD, REJECTED]) {
            if *value <= 0.0 {
                continue;
            }
            let h = value / max * H;
            y -= h;
            let _ = write!(
                out,
                r#"<rect class="bar" x="{x:.2}" y="{y:.2}" width="{width:.2}" height="{h:.2}" fill="{colour}"/>"#
            );
        }
    }
    out.push_str("</svg>");
}

/// Unique players per step, as a line.
fn players_chart(out: &mut String, steps: &[Value], first: &str, last: &str) {
    svg_open(out, "unique players per step");
    let values: Vec<f64> = steps.iter().map(|s| num(&s["unique_players"])).collect();
    let max = nice_max(values.iter().copied().fold(0.0, f64::max));
    axes(out, max, first, last);
    if values.iter().all(|v| *v == 0.0) {
        empty(out, "no players in this window");
    }
    let slot = W / values.len().max(1) as f64;
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{:.2},{:.2}",
                LEFT + slot * (i as f64 + 0.5),
                TOP + H - v / max * H
            )
        })
        .collect();
    if !points.is_empty() {
        let _ = write!(
            out,
            r#"<polyline class="line" points="{}" fill="none" stroke="{PLAYERS}" stroke-width="2.5"/>"#,
            points.join(" ")
        );
    }
    out.push_str("</svg>");
}

/// The histogram of the standings, with the percentiles marked.
fn histogram_chart(out: &mut String, distribution: &Value) {
    svg_open(out, "distribution of the standings");
    let buckets = distribution["histogram"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let max = nice_max(buckets.iter().map(|b| num(&b["count"])).fold(0.0, f64::max));
    let (lo, hi) = match (buckets.first(), buckets.last()) {
        (Some(f), Some(l)) => (num(&f["from"]), num(&l["to"])),
        _ => (0.0, 0.0),
    };
    let first = buckets
        .first()
        .map(|b| shown(&b["from"]))
        .unwrap_or_default();
    let last = buckets.last().map(|b| shown(&b["to"])).unwrap_or_default();
    axes(out, max, &first, &last);
    if buckets.is_empty() {
        empty(out, "no standings yet");
    }
    let slot = W / buckets.len().max(1) as f64;
    for (i, b) in buckets.iter().enumerate() {
        let h = num(&b["count"]) / max * H;
        let _ = write!(
            out,
            r#"<rect class="bucket" x="{x:.2}" y="{y:.2}" width="{w:.2}" height="{h:.2}" fill="{HISTOGRAM}"><title>{from}–{to}: {n}</title></rect>"#,
            x = LEFT + slot * i as f64 + 1.0,
            y = TOP + H - h,
            w = (slot - 2.0).max(1.0),
            from = shown(&b["from"]),
            to = shown(&b["to"]),
            n = num(&b["count"]),
        );
    }
    if hi > lo {
        let marks: Vec<(&str, f64)> = ["p50", "p90", "p99"]
            .into_iter()
            .filter_map(|p| {
                let v = &distribution["percentiles"][p];
                (!v.is_null()).then(|| (p, LEFT + (num(v) - lo) / (hi - lo) * W))
            })
            .collect();
        // Each label's left edge, its anchor's x and the anchor; near the right edge a label
        // goes on its line's left.
        let labels: Vec<(f64, f64, &str)> = marks
            .iter()
            .map(|&(_, x)| {
                if x > LEFT + W - PCT_LABEL_W {
                    (x - 3.0 - PCT_LABEL_W, x - 3.0, "end")
                } else {
                    (x + 3.0, x + 3.0, "start")
                }
            })
            .collect();
        let rows = label_rows(&labels.iter().map(|l| l.0).collect::<Vec<_>>());
        for ((&(p, x), &(_, tx, anchor)), row) in marks.iter().zip(&labels).zip(rows) {
            let _ = write!(
                out,
                r##"<line class="pct" x1="{x:.2}" y1="{TOP}" x2="{x:.2}" y2="{b}" stroke="#111" stroke-dasharray="4 3"/><text class="pct-label" x="{tx:.2}" y="{ty}" font-size="16" text-anchor="{anchor}" fill="#111" stroke="#fff" stroke-width="4" paint-order="stroke">{p}</text>"##,
                b = TOP + H,
                ty = TOP - 4.0 + PCT_ROW_H * row as f64,
            );
        }
    }
    out.push_str("</svg>");
}

/// The width a percentile's label takes (`p99` at 16 units, with room to spare) and the height
/// of a row of labels.
const PCT_LABEL_W: f64 = 30.0;
const PCT_ROW_H: f64 = 18.0;

/// A row for each label (its left edge; each is [`PCT_LABEL_W`] wide) so that no two labels of
/// one row overlap: each takes the first row free of the labels before it (row 0 above the
/// chart, the next ones below it, over the bars on a white halo). p50, p90 and p99 in one bucket
/// stack in three rows.
fn label_rows(lefts: &[f64]) -> Vec<usize> {
    let mut rows: Vec<usize> = Vec::with_capacity(lefts.len());
    for (i, &from) in lefts.iter().enumerate() {
        let taken = |row: usize| {
            lefts[..i]
                .iter()
                .zip(&rows)
                .any(|(&f, &r)| r == row && (from - f).abs() < PCT_LABEL_W + 2.0)
        };
        let row = (0..).find(|&r| !taken(r)).unwrap_or(0);
        rows.push(row);
    }
    rows
}

fn legend(out: &mut String, items: &[(&str, &str)]) {
    out.push_str(r#"<p class="legend">"#);
    for (colour, name) in items {
        let _ = write!(
            out,
            r#"<span><i class="sw" style="background:{colour}"></i>{name}</span>"#
        );
    }
    out.push_str("</p>");
}

const STYLE: &str = "body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;\
margin:0 auto;padding:12px;max-width:960px;background:#f4f5f7;color:#111}\
h1{font-size:1.35em;margin:.2em 0}h2{font-size:1.05em;margin:.1em 0 .4em}\
.sub{color:#555;font-size:.9em;margin:0}\
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(110px,1fr));gap:8px;margin:12px 0}\
.tile{background:#fff;border-radius:8px;padding:8px 10px;box-shadow:0 1px 2px #0002}\
.tile b{display:block;font-size:1.45em}\
section{background:#fff;border-radius:8px;padding:10px 12px;margin:10px 0;box-shadow:0 1px 2px #0002}\
svg{width:100%;height:auto;display:block}\
.legend{margin:.3em 0 0;font-size:.85em;color:#333}.legend span{margin-right:12px;white-space:nowrap}\
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}\
table{border-collapse:collapse;width:100%}td,th{padding:5px 6px;text-align:left;border-bottom:1px solid #eee}\
th{font-weight:600;color:#444}td.n,th.n{text-align:right}";

/// The page for a stats document.
pub fn render(stats: &Value) -> String {
    let board = stats["board"].as_str().unwrap_or("");
    let window = &stats["window"];
    let steps = stats["steps"].as_array().cloned().unwrap_or_default();
    let (first, last) = (clock(&window["start"]), clock(&window["end"]));
    let totals = &stats["totals"];
    let distribution = &stats["distribution"];
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta http-equiv="refresh" content="60"><title>{b} · dashboard</title><style>{STYLE}</style></head><body><h1>{b}</h1><p class="sub">period {period} · the last {steps} steps of {step} min, {first}–{last} UTC · refreshed every minute</p>"#,
        b = escape(board),
        period = escape(stats["period"].as_str().unwrap_or("")),
        steps = steps.len(),
        step = num(&window["step_secs"]) / 60.0,
    );
    out.push_str(r#"<div class="tiles">"#);
    for (key, name) in [
        ("accepted", "accepted"),
        ("unique_players", "players"),
        ("personal_bests", "personal bests"),
        ("new_players", "new players"),
        ("flagged", "flagged"),
        ("held", "held"),
        ("rejected", "rejected"),
    ] {
        let _ = write!(
            out,
            r#"<div class="tile"><b>{}</b>{name}</div>"#,
            shown(&totals[key])
        );
    }
    let _ = write!(
        out,
        r#"<div class="tile"><b>{}</b>standings</div></div>"#,
        shown(&distribution["players"])
    );
    out.push_str("<section><h2>Submissions per step</h2>");
    submissions_chart(&mut out, &steps, &first, &last);
    legend(
        &mut out,
        &[
            (ACCEPTED, "accepted"),
            (FLAGGED, "flagged"),
            (HELD, "held"),
            (REJECTED, "rejected"),
        ],
    );
    out.push_str("</section><section><h2>Unique players per step</h2>");
    players_chart(&mut out, &steps, &first, &last);
    out.push_str("</section><section><h2>Distribution of the standings</h2>");
    histogram_chart(&mut out, distribution);
    let _ = write!(
        out,
        r#"<p class="legend">best {} · p99 {} · p90 {} · p50 {} · worst {}</p></section>"#,
        shown(&distribution["best"]),
        shown(&distribution["percentiles"]["p99"]),
        shown(&distribution["percentiles"]["p90"]),
        shown(&distribution["percentiles"]["p50"]),
        shown(&distribution["worst"]),
    );
    out.push_str("<section><h2>Climbers</h2>");
    let climbers = stats["climbers"].as_array().cloned().unwrap_or_default();
    if climbers.is_empty() {
        out.push_str(r#"<p class="sub">nobody climbed in this window</p>"#);
    } else {
        out.push_str(
            r#"<table><tr><th>player</th><th class="n">ranks gained</th><th class="n">rank now</th></tr>"#,
        );
        for c in &climbers {
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
                escape(c["player"].as_str().unwrap_or("")),
                shown(&c["ranks_gained"]),
                shown(&c["rank"]),
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</section></body></html>");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stats() -> Value {
        json!({
            "board": "arena<x>", "period": "all",
            "window": {"start": "2026-11-24T03:00:00.000Z", "end": "2026-11-24T04:00:00.000Z",
                       "step_secs": 60, "steps": 3},
            "totals": {"accepted": 7, "flagged": 1, "held": 1, "rejected": 1,
                       "personal_bests": 7, "new_players": 5, "unique_players": 5},
            "steps": [
                {"start": "2026-11-24T03:00:00.000Z", "accepted": 0, "flagged": 0, "held": 0,
                 "rejected": 0, "personal_bests": 0, "new_players": 0, "unique_players": 0},
                {"start": "2026-11-24T03:01:00.000Z", "accepted": 5, "flagged": 1, "held": 1,
                 "rejected": 0, "personal_bests": 5, "new_players": 5, "unique_players": 5},
                {"start": "2026-11-24T03:02:00.000Z", "accepted": 2, "flagged": 0, "held": 0,
                 "rejected": 1, "personal_bests": 2, "new_players": 0, "unique_players": 2}],
            "distribution": {"players": 5, "best": 90, "worst": 10,
                "percentiles": {"p50": 50, "p90": 90, "p99": 90},
                "histogram": [{"from": 10, "to": 49, "count": 2}, {"from": 50, "to": 90, "count": 3}]},
            "climbers": [{"player": "ann", "ranks_gained": 3, "rank": 1}]
        })
    }

    #[test]
    fn the_page_draws_every_series_and_escapes_names() {
        let html = render(&stats());
        assert!(!html.contains("<script"));
        assert!(html.contains("arena&lt;x&gt;") && !html.contains("arena<x>"));
        assert_eq!(html.matches("<svg").count(), 3);
        // Step 2: accepted-not-flagged, flagged, held; step 3: accepted, rejected.
        assert_eq!(html.matches(r#"class="bar""#).count(), 5);
        assert_eq!(html.matches(r#"class="bucket""#).count(), 2);
        assert_eq!(html.matches(r#"class="pct""#).count(), 3);
        assert!(html.contains(r#"class="line""#));
        assert!(html.contains("<td>ann</td>"));
        assert!(html.contains("03:00–04:00 UTC"));
    }

    #[test]
    fn an_empty_board_says_so_instead_of_drawing() {
        let mut s = stats();
        for step in s["steps"].as_array_mut().unwrap() {
            for k in ["accepted", "flagged", "held", "rejected", "unique_players"] {
                step[k] = json!(0);
            }
        }
        s["distribution"] = json!({"players": 0, "best": null, "worst": null,
            "percentiles": {"p50": null, "p90": null, "p99": null}, "histogram": []});
        s["climbers"] = json!([]);
        let html = render(&s);
        assert!(html.contains("no submissions in this window"));
        assert!(html.contains("no players in this window"));
        assert!(html.contains("no standings yet"));
        assert!(html.contains("nobody climbed"));
        assert_eq!(html.matches(r#"class="bar""#).count(), 0);
    }

    /// The percentile labels' boxes (`x` from its anchor, `y`) as the page draws them.
    fn pct_labels(html: &str) -> Vec<(f64, f64, String)> {
        html.split(r#"<text class="pct-label" "#)
            .skip(1)
            .map(|t| {
                let attr = |name: &str| -> f64 {
                    let at = t.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                    t[at..].split('"').next().unwrap().parse().unwrap()
                };
                let x = attr("x");
                let from = if t.contains(r#"text-anchor="end""#) {
                    x - PCT_LABEL_W
                } else {
                    x
                };
                let name = t
                    .split('>')
                    .nth(1)
                    .unwrap()
                    .trim_end_matches("</text")
                    .to_string();
                (from, attr("y"), name)
            })
            .collect()
    }

    #[test]
    fn percentile_labels_never_overlap_even_in_one_bucket() {
        for (p50, p90, p99) in [
            (68.001, 68.001, 68.001),
            (50.0, 68.0, 68.001),
            (89.0, 90.0, 90.0),
        ] {
            let mut s = stats();
            s["distribution"]["percentiles"] = json!({"p50": p50, "p90": p90, "p99": p99});
            let labels = pct_labels(&render(&s));
            assert_eq!(labels.len(), 3, "{labels:?}");
            for (i, a) in labels.iter().enumerate() {
                for b in &labels[i + 1..] {
                    let apart = a.1 != b.1 || (a.0 - b.0).abs() >= PCT_LABEL_W;
                    assert!(apart, "{} and {} overlap: {labels:?}", a.2, b.2);
                }
            }
        }
        // Apart, they all stay on the row above the chart.
        let mut s = stats();
        s["distribution"]["percentiles"] = json!({"p50": 15, "p90": 50, "p99": 85});
        let labels = pct_labels(&render(&s));
        assert!(labels.iter().all(|l| l.1 == TOP - 4.0), "{labels:?}");
    }

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(10.0), 10.0);
        assert_eq!(nice_max(11.0), 20.0);
        assert_eq!(nice_max(4200.0), 5000.0);
    }
}
