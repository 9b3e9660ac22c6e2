//! Dead letters: inbox entries the drain could not apply, with the reason and delivery count.
//! Admins list them, send them back into the inbox once the cause is fixed (a board created or
//! reconfigured, a producer corrected), or purge them.

use crate::api::Ctx;
use crate::http::{self, Call, Response};
use crate::repo::{Keys, StreamEntry};
use crate::submissions::submit::DOORBELL;
use leaderboard::events::inbox::{fields_from_json, redrive_fields};
use leaderboard::{BoardId, LeaderboardError, Result, policy::access};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::repo::check_stream_id;

/// Letters one redrive or purge call moves at most (`more` says whether some are left).
const MAX_PER_CALL: u32 = 1000;

/// `GET …/dead-letters?after&limit`.
pub async fn list(call: &Call<'_>, ctx: &Ctx<'_>, board: &BoardId) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    let limit = call.query_u32("limit", 100, 1, leaderboard::events::log::MAX_PAGE)?;
    let after = call.query.get("after").filter(|a| !a.is_empty());
    if let Some(a) = after {
        check_stream_id(a)?;
    }
    let keys = Keys::new(&ctx.tenant, board);
    let letters = ctx
        .repo()
        .await?
        .stream_page(&keys.dead(), after.map(String::as_str), limit)
        .await?;
    let next = (letters.len() == limit as usize)
        .then(|| letters.last().map(|(id, _)| id.clone()))
        .flatten();
    let rendered: Vec<Value> = letters.iter().map(render).collect();
    Ok(http::json(
        200,
        call.version,
        &json!({ "dead_letters": rendered, "next_after": next }),
    ))
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

fn render((id, fields): &StreamEntry) -> Value {
    let entry = serde_json::from_slice::<Map<String, Value>>(field(fields, "entry").as_bytes())
        .map(Value::Object)
        .unwrap_or(Value::Null);
    json!({
        "id": id,
        "entry_id": field(fields, "id"),
        "reason": field(fields, "reason"),
        "deliveries": field(fields, "deliveries").parse::<u64>().unwrap_or(0),
        "dead_at_ms": field(fields, "dead_at_ms").parse::<i64>().unwrap_or(0),
        "entry": entry,
    })
}

/// Which letters a redrive or purge concerns.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Selection {
    /// Dead-letter ids; all (up to [`MAX_PER_CALL`]) when absent.
    #[serde(default)]
    ids: Option<Vec<String>>,
}

async fn selected(
    ctx: &Ctx<'_>,
    keys: &Keys,
    ids: Option<Vec<String>>,
) -> Result<Vec<StreamEntry>> {
    let repo = ctx.repo().await?;
    match ids {
        None => repo.stream_page(&keys.dead(), None, MAX_PER_CALL).await,
        Some(ids) => {
            if ids.len() > MAX_PER_CALL as usize {
                return Err(LeaderboardError::InvalidBody(format!(
                    "at most {MAX_PER_CALL} ids per call"
                )));
            }
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                check_stream_id(&id)?;
                out.extend(repo.range(&keys.dead(), &id, &id, 1).await?);
            }
            Ok(out)
        }
    }
}

/// `POST …/dead-letters/redrive` with an optional `{"ids": [...]}`: the letters go back into the
/// inbox (with their original acceptance time) and the doorbell rings; the drain applies them once
/// or dead-letters them again with the new reason.
pub async fn redrive(call: &Call<'_>, ctx: &Ctx<'_>, board: &BoardId) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    let selection: Selection = if call.req.body().is_empty() {
        Selection::default()
    } else {
        call.json()?
    };
    let keys = Keys::new(&ctx.tenant, board);
    let letters = selected(ctx, &keys, selection.ids).await?;
    let mut moves = Vec::with_capacity(letters.len());
    for (id, fields) in &letters {
        let entry = fields_from_json(field(fields, "entry"))?;
        moves.push((id.clone(), redrive_fields(field(fields, "id"), entry)));
    }
    let board_ref = format!("{}/{board}", ctx.tenant);
    let repo = ctx.repo().await?;
    let moved = repo.redrive(&keys, &moves, DOORBELL, &board_ref).await?;
    let left = repo.stream_first(&keys.dead()).await?.is_some();
    crate::audit::record(
        ctx,
        call,
        "dead_letters.redrive",
        board.as_str(),
        json!({ "redriven": moved }),
    )
    .await;
    Ok(http::json(
        200,
        call.version,
        &json!({ "redriven": moved, "more": left }),
    ))
}

/// `DELETE …/dead-letters?ids=a,b`: deletes the given letters, or all of them (up to
/// [`MAX_PER_CALL`] per call).
pub async fn purge(call: &Call<'_>, ctx: &Ctx<'_>, board: &BoardId) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    let ids = call.query.get("ids").filter(|v| !v.is_empty()).map(|v| {
        v.split(',')
            .map(str::trim)
            .map(str::to_owned)
            .collect::<Vec<_>>()
    });
    let keys = Keys::new(&ctx.tenant, board);
    let ids: Vec<String> = selected(ctx, &keys, ids)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let repo = ctx.repo().await?;
    let purged = repo.purge(&keys, &ids).await?;
    let left = repo.stream_first(&keys.dead()).await?.is_some();
    crate::audit::record(
        ctx,
        call,
        "dead_letters.purge",
        board.as_str(),
        json!({ "purged": purged }),
    )
    .await;
    Ok(http::json(
        200,
        call.version,
        &json!({ "purged": purged, "more": left }),
    ))
}
