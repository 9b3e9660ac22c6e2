//! The fire-and-forget ingest channel and the doorbell's payload, as the worker reads them.

use leaderboard::{BoardId, Result, TenantId};

use crate::repo::{Keys, Repo};

/// The fire-and-forget ingest channel: a JSON message `{"tenant"?, "board", "player", "score",
/// "subscore"?, "metadata"?, "idempotency_key"?}`. Pub/sub is at-most-once: a message published
/// while no handler is subscribed is gone; use the inbox (durable) form when that matters.
pub const INGEST: &str = "lb:ingest";

/// Puts a fire-and-forget ingest message into its board's inbox (the ingest layout), where the
/// drain validates it like any other entry. A message that names no valid board is kept in
/// [`crate::submissions::pipeline::store::INGEST_DEAD`] with the reason; `None` then.
pub async fn ingest(
    repo: &Repo,
    payload: &[u8],
    now_ms: i64,
) -> Result<Option<(TenantId, BoardId)>> {
    match ingest_fields(payload) {
        Ok((tenant, board, fields)) => {
            repo.inbox_add(&Keys::new(&tenant, &board), &fields).await?;
            Ok(Some((tenant, board)))
        }
        Err(reason) => {
            eprintln!("ingest: message kept in the ingest dead letters: {reason}");
            repo.ingest_dead(payload, &reason, now_ms).await?;
            Ok(None)
        }
    }
}

type Fields = Vec<(String, String)>;

fn ingest_fields(payload: &[u8]) -> std::result::Result<(TenantId, BoardId, Fields), String> {
    use serde_json::Value;
    let mut message: serde_json::Map<String, Value> = serde_json::from_slice(payload)
        .map_err(|e| format!("the message is not a JSON object: {e}"))?;
    let tenant = match message.remove("tenant") {
        None => TenantId::default(),
        Some(Value::String(t)) => TenantId::new(&t).map_err(|e| e.to_string())?,
        Some(other) => return Err(format!("'tenant' must be a string, got {other}")),
    };
    let board = match message.remove("board") {
        Some(Value::String(b)) => BoardId::new(&b).map_err(|e| e.to_string())?,
        Some(other) => return Err(format!("'board' must be a string, got {other}")),
        None => return Err("the message names no 'board'".into()),
    };
    let fields: Fields = message
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect();
    if fields.is_empty() {
        return Err(format!(
            "the message for {tenant}/{board} carries no submission"
        ));
    }
    Ok((tenant, board, fields))
}
