//! `GET /api/{v}/audit?after&limit` (admin): the tenant's audit log, oldest first.

use crate::api::Ctx;
use crate::audit;
use crate::http::{self, Call, Response};
use leaderboard::{Result, policy::access};
use serde_json::{Value, json};

use crate::repo::check_stream_id;

/// One page of the audit log after `after` (exclusive).
pub async fn page(call: &Call<'_>, ctx: &Ctx<'_>) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    let limit = call.query_u32("limit", 100, 1, leaderboard::events::log::MAX_PAGE)?;
    let after = call.query.get("after").filter(|a| !a.is_empty());
    if let Some(a) = after {
        check_stream_id(a)?;
    }
    let entries = ctx
        .repo()
        .await?
        .stream_page(&audit::key(&ctx.tenant), after.map(String::as_str), limit)
        .await?;
    let next = (entries.len() == limit as usize)
        .then(|| entries.last().map(|(id, _)| id.clone()))
        .flatten();
    let rendered: Vec<Value> = entries
        .into_iter()
        .map(|(id, fields)| {
            let mut entry = fields
                .iter()
                .find(|(k, _)| k == "entry")
                .and_then(|(_, v)| serde_json::from_slice::<Value>(v.as_bytes()).ok())
                .unwrap_or(Value::Null);
            if let Value::Object(map) = &mut entry {
                map.insert("id".into(), Value::String(id));
            }
            entry
        })
        .collect();
    Ok(http::json(
        200,
        call.version,
        &json!({ "entries": rendered, "next_after": next }),
    ))
}
