//! `GET /api/{v}/boards/{board}/stats?window&step`: a board's analytics ([`leaderboard::integrity::stats`]):
//! the window's counts per step and in total, the current period's distribution and the
//! window's biggest climbers. Two round trips (the window, then the distribution's positions and
//! histogram counts); never cached (the window moves with the clock).
//!
//! Who may read them: anyone for a `public_read` board, else a tenant admin (a competitor's
//! submission counts and climbers are not for every player token).

use edge::api::Ctx;
use edge::http::Call;
use edge::repo::Keys;
use leaderboard::board::view::{ApiVersion, PeriodView};
use leaderboard::integrity::stats::{self, Counts, Window};
use leaderboard::time::iso;
use leaderboard::{Board, BoardId, Result, board::sortkey, policy::access};
use serde_json::{Value, json};
use spin_sdk::http::Response;

/// The stats document of `id` for the admitted caller, with the window the query asks for.
fn document(call: &Call<'_>, ctx: &Ctx, id: &BoardId) -> Result<Value> {
    let (board, _) = crate::cached::board(call, ctx, id)?;
    access::authorize_stats(ctx.principal.as_ref(), &board)?;
    let window = Window::parse(
        call.query.get("window").map(String::as_str),
        call.query.get("step").map(String::as_str),
        call.now_ms,
    )?;
    compute(call, ctx, &board, &window)
}

/// `GET /boards/{board}/dashboard?window&step`: the stats as one HTML page with SVG charts
/// ([`leaderboard::http::dashboard`]): no script, a strict CSP, never cached.
pub fn dashboard(call: &Call<'_>, ctx: &Ctx, id: &BoardId) -> Result<Response> {
    let page = leaderboard::http::dashboard::render(&document(call, ctx, id)?);
    Ok(Response::builder()
        .status(200)
        .header("content-type", "text/html; charset=utf-8")
        .header("content-security-policy", leaderboard::http::dashboard::CSP)
        .header("cache-control", "no-store")
        .body(page)
        .build())
}

/// The stats of `id` for the admitted caller.
pub fn serve(call: &Call<'_>, ctx: &Ctx, id: &BoardId) -> Result<Response> {
    let body = document(call, ctx, id)?;
    Ok(edge::http::json_text(
        200,
        call.version,
        body.to_string(),
        &[("cache-control", "no-store".into())],
    ))
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

/// The stats document.
pub fn compute(call: &Call<'_>, ctx: &Ctx, board: &Board, window: &Window) -> Result<Value> {
    let v: ApiVersion = call.version;
    let period = PeriodView::resolve(board, None, call.now_ms)?;
    let keys = Keys::new(&ctx.tenant, &board.id);
    let repo = ctx.repo()?;
    let raw = repo.stats(&keys, &period.id, window)?;

    let positions: Vec<u64> = stats::PERCENTILES
        .iter()
        .filter_map(|p| stats::percentile_index(raw.players, *p))
        .collect();
    let mut buckets = Vec::new();
    let mut ranges = Vec::new();
    if let Some((best, worst)) = raw.best_worst {
        let (a, _) = sortkey::decode_rank_value(board, best)?;
        let (b, _) = sortkey::decode_rank_value(board, worst)?;
        for (lo, hi) in stats::histogram_buckets(a.min(b), a.max(b), stats::HISTOGRAM_BUCKETS) {
            let (x0, x1) = sortkey::rank_value_range_for_score(board, lo)?;
            let (y0, y1) = sortkey::rank_value_range_for_score(board, hi)?;
            buckets.push((lo, hi));
            ranges.push((x0.min(y0), x1.max(y1)));
        }
    }
    let (at, counts) = if positions.is_empty() && ranges.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        repo.stats_distribution(&keys, &period.id, &positions, &ranges)?
    };
    let score = |rank_value: u64| -> Result<Value> {
        let (s, _) = sortkey::decode_rank_value(board, rank_value)?;
        Ok(v.score(board, s))
    };
    let mut percentiles = serde_json::Map::new();
    for (p, value) in stats::PERCENTILES.iter().zip(&at) {
        let shown = match value {
            Some(rv) => score(*rv)?,
            None => Value::Null,
        };
        percentiles.insert(format!("p{p}"), shown);
    }
    let histogram = buckets
        .iter()
        .zip(&counts)
        .map(|((lo, hi), n)| json!({"from": v.score(board, *lo), "to": v.score(board, *hi), "count": n}))
        .collect::<Vec<_>>();
    let (best, worst) = match raw.best_worst {
        Some((b, w)) => (score(b)?, score(w)?),
        None => (Value::Null, Value::Null),
    };

    let mut totals = raw
        .steps
        .iter()
        .fold(Counts::default(), |sum, s| sum.plus(s));
    totals.unique_players = raw.unique_players;
    let steps = raw
        .steps
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let start = window.start_ms + window.step_ms * i as i64;
            let mut step = counts_json(c);
            if let Value::Object(m) = &mut step {
                m.insert("start".into(), json!(iso(start)));
            }
            step
        })
        .collect::<Vec<_>>();
    let climbers = raw
        .climbers
        .iter()
        .map(|(player, gained, rank)| json!({"player": player, "ranks_gained": gained, "rank": rank}))
        .collect::<Vec<_>>();
    Ok(json!({
        "board": board.id.as_str(),
        "period": period.id.to_string(),
        "window": {
            "start": iso(window.start_ms),
            "end": iso(window.end_ms),
            "step_secs": window.step_ms / 1000,
            "steps": window.steps(),
        },
        "totals": counts_json(&totals),
        "steps": steps,
        "distribution": {
            "players": raw.players,
            "best": best,
            "worst": worst,
            "percentiles": percentiles,
            "histogram": histogram,
        },
        "climbers": climbers,
    }))
}
