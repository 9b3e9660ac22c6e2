//! What a message says: its body (`type`, `timestamp`, `data`) and the `data` of the events
//! made from the board's log (a score applied, a tournament's start or end, a league's close),
//! with a top when the subscription asks for one.

use serde_json::{Value, json};

/// A message body: `{"type", "timestamp" (RFC 3339, ms), "data"}`.
pub fn payload(event_type: &str, at_ms: i64, data: Value) -> String {
    json!({
        "type": event_type,
        "timestamp": crate::time::iso(at_ms),
        "data": data,
    })
    .to_string()
}

/// The `data` of a `score.applied` message for a logged event, `None` for any other event.
/// Scores are JSON numbers, as v1 answers carry them (decimal boards: the exact decimal).
pub fn score_applied_data(board: &crate::Board, envelope: &crate::EventEnvelope) -> Option<Value> {
    let crate::Event::ScoreApplied(e) = &envelope.event else {
        return None;
    };
    let score = |minor: i64| board.score_type.to_json(minor);
    let mut data = json!({
        "board": board.id.as_str(),
        "period": e.period.to_string(),
        "player": e.player.as_str(),
        "score": score(e.record.score),
        "previous_score": e.previous.as_ref().map(|p| score(p.score)),
        "improved": e.improved,
        "changed": e.changed,
        "achieved_at": crate::time::iso(e.record.achieved_at_ms),
        "submissions": e.record.submissions,
        "event_id": envelope.id,
    });
    if let Value::Object(map) = &mut data {
        if let Some(s) = e.record.subscore {
            map.insert("subscore".into(), json!(s));
        }
        if let Some(m) = &e.record.metadata {
            map.insert("metadata".into(), m.clone());
        }
    }
    Some(data)
}

/// The `data` of a `tournament.started` or `tournament.ended` message for a logged event (the
/// type and the data without the final standings, which `tournament.ended` adds with
/// [`with_top`]); `None` for any other event or a board that is no tournament.
pub fn tournament_data(
    board: &crate::Board,
    envelope: &crate::EventEnvelope,
) -> Option<(&'static str, Value)> {
    let t = board.tournament.as_ref()?;
    let (kind, start_ms, end_ms, early) = match &envelope.event {
        crate::Event::TournamentStarted(e) => ("tournament.started", e.start_ms, e.end_ms, None),
        crate::Event::TournamentEnded(e) => {
            ("tournament.ended", e.start_ms, e.end_ms, Some(e.early))
        }
        _ => return None,
    };
    let mut data = json!({
        "board": board.id.as_str(),
        "title": t.title,
        "category": t.category,
        "start": crate::time::iso(start_ms),
        "end": crate::time::iso(end_ms),
    });
    if let (Some(early), Value::Object(map)) = (early, &mut data) {
        map.insert("early".into(), json!(early));
    }
    Some((kind, data))
}

/// The `data` of a `league.closed` message for a logged `league_closed` event: the period
/// closed and how many moved; `None` for any other event or a board that is no league.
pub fn league_closed_data(board: &crate::Board, envelope: &crate::EventEnvelope) -> Option<Value> {
    board.league.as_ref()?;
    let crate::Event::LeagueClosed(closed) = &envelope.event else {
        return None;
    };
    Some(json!({
        "board": board.id.as_str(),
        "period": closed.period.to_string(),
        "closed_at": crate::time::iso(envelope.at_ms),
        "promoted": closed.promoted,
        "demoted": closed.demoted,
        "stayed": closed.stayed,
    }))
}

/// `data` with a period's final standings: `period`, `top_n` and `top` (what `period.closed`
/// and `tournament.ended` carry).
pub fn with_top(mut data: Value, period: &crate::PeriodId, top_n: u32, top: Vec<Value>) -> Value {
    if let Value::Object(map) = &mut data {
        map.insert("period".into(), json!(period.to_string()));
        map.insert("top_n".into(), json!(top_n));
        map.insert("top".into(), Value::Array(top));
    }
    data
}
