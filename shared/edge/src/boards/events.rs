//! `GET …/events`: the board's log in order, every event upcast to the current schema.

use crate::api::Ctx;
use crate::http::{self, Call, Response};
use crate::repo::Keys;
use leaderboard::board::view::ApiVersion;
use leaderboard::{BoardId, EventEnvelope, Result, policy::access};
use serde_json::{Value, json};

/// One page of the log after `after` (exclusive).
pub async fn page(call: &Call<'_>, ctx: &Ctx<'_>, board: &BoardId) -> Result<Response> {
    access::authorize_operator(ctx.require_principal()?, "reading a board's log")?;
    let limit = call.query_u32("limit", 100, 1, leaderboard::events::log::MAX_PAGE)?;
    let after = call.query.get("after").filter(|a| !a.is_empty());
    if let Some(a) = after {
        crate::repo::check_stream_id(a)?;
    }
    let repo = ctx.repo().await?;
    let keys = Keys::new(&ctx.tenant, board);
    if after.is_none() {
        // Distinguish an empty log from no board (a deleted board's log is gone with it).
        repo.board(&ctx.tenant, board).await?;
    }
    let entries = repo
        .stream_page(&keys.events(), after.map(String::as_str), limit)
        .await?;
    let next = entries.last().map(|(id, _)| id.clone());
    let events: Vec<Value> = entries
        .into_iter()
        .map(|(id, fields)| render(call.version, id, &fields))
        .collect();
    let first = repo.stream_first(&keys.events()).await?;
    let body = json!({
        "events": events,
        "next_after": if events.len() == limit as usize { next.map(Value::String) } else { None },
        "first_retained": first,
    });
    Ok(http::json(200, call.version, &body))
}

/// An event as the client sees it: the envelope at the current version and its position in the
/// log (what `after` and `as_of` take). v1 shows the position as `stream_id` beside the envelope's
/// own `id` (a nonce such as `period-all`, or what produced the event); v2 makes the position the
/// `id` and keeps the envelope's as `source_id`. An entry this service cannot read is shown with
/// the reason, never skipped.
fn render(version: ApiVersion, id: String, fields: &[(String, String)]) -> Value {
    let raw = fields
        .iter()
        .find(|(k, _)| k == "event")
        .map(|(_, v)| v.as_str());
    let parsed = raw
        .ok_or_else(|| "the entry has no 'event' field".to_string())
        .and_then(|json| EventEnvelope::from_json(json).map_err(|e| e.to_string()))
        .and_then(|e| e.to_json().map_err(|e| e.to_string()))
        .and_then(|json| {
            serde_json::from_slice::<Value>(json.as_bytes()).map_err(|e| e.to_string())
        });
    let position = match version {
        ApiVersion::V1 => "stream_id",
        ApiVersion::V2 => "id",
    };
    match parsed {
        Ok(mut event) => {
            if version == ApiVersion::V2
                && let Some(source) = event.get("id").cloned()
            {
                event["source_id"] = source;
            }
            event[position] = Value::String(id);
            event
        }
        Err(reason) => json!({ position: id, "error": reason }),
    }
}
