//! A/B experiments at the edge (`leaderboard::policy::experiment` for the model and the statistics,
//! `store` for the Redis layout).
//!
//! - **Exposure**: the flags component calls [`expose`] after an OFREP (or internal)
//!   evaluation: every resolution whose flag carries the experiment mark and that went through
//!   the targeting rule (`TARGETING_MATCH`) is one exposure of the context's `targetingKey` —
//!   all of one evaluation's in a single script call, the only Redis round trip it adds (the
//!   flag document itself comes from the regional KV store). An evaluation without a
//!   targeting key, a disabled flag or a default resolution exposes nobody.
//! - **Conversions**: a score submission the scores component accepted calls
//!   [`record_submission`]; it finds the experiments fed by the board in the flag document the
//!   request has already loaded (the mark lists the boards), so a submission on a board without
//!   experiments costs nothing more. Posted events go through `POST
//!   /api/v1/experiments/{id}/events`.
//! - Failures to count are logged and never fail the evaluation or the submission: the answer
//!   the caller gets matters more than one count.

pub mod routes;
pub mod store;

use leaderboard::Conflict;
use leaderboard::Result;
use leaderboard::policy::flags::{Reason, Resolution};
use serde_json::{Map, Value};

use crate::api::Ctx;
use crate::flags::store::Put;
use crate::repo::Repo;

/// The `(experiment, arm)` exposures among `resolutions`.
pub fn exposures<'a>(
    resolutions: impl IntoIterator<Item = &'a Resolution>,
) -> Vec<(String, String)> {
    resolutions
        .into_iter()
        .filter(|r| r.reason == Reason::TargetingMatch && r.error.is_none())
        .filter_map(|r| {
            let id = r
                .metadata
                .get(leaderboard::policy::experiment::STAMP)?
                .as_str()?;
            Some((id.to_string(), r.variant.clone()?))
        })
        .collect()
}

/// Counts the exposures of one evaluation for the context's targeting key (one Redis call when
/// there are any).
pub async fn expose<'a>(
    repo: impl AsyncFnOnce() -> Result<&'a Repo>,
    tenant: &leaderboard::TenantId,
    context: &Map<String, Value>,
    resolutions: &[&Resolution],
    now_ms: i64,
) {
    let Some(unit) = context.get("targetingKey").and_then(Value::as_str) else {
        return;
    };
    let list = exposures(resolutions.iter().copied());
    if list.is_empty() {
        return;
    }
    let counted = match repo().await {
        Ok(r) => r.exp_expose(tenant, unit, &list, now_ms).await,
        Err(e) => Err(e),
    };
    if let Err(e) = counted {
        eprintln!("experiments: exposure of {list:?} not counted: {e}");
    }
}

/// Counts an accepted score submission (`value` in the board's units) for the experiments fed
/// by `board`.
pub async fn record_submission(ctx: &Ctx<'_>, board: &str, player: &str, value: f64, now_ms: i64) {
    // Parsed once per request: the submission's `submissions-enabled` check parsed it already.
    let parsed = match ctx.flag_doc_value().await {
        Ok(Some(doc)) => doc,
        Ok(None) => return,
        Err(e) => {
            eprintln!("experiments: flag document unavailable, submission not counted: {e}");
            return;
        }
    };
    for id in leaderboard::policy::experiment::fed_by_board(parsed, board) {
        let counted = match ctx.repo().await {
            Ok(repo) => {
                let source = ("board", board);
                repo.exp_convert(&ctx.tenant, &id, player, source, value, None, now_ms)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = counted {
            eprintln!("experiments: submission on '{board}' not counted for '{id}': {e}");
        }
    }
}

/// Applies `change` to the tenant's stored flag document with compare-and-set (a few retries
/// when another writer got there first), then drops this region's cached copy.
pub async fn update_flags(
    ctx: &Ctx<'_>,
    mut change: impl FnMut(&mut Value) -> Result<()>,
) -> Result<u64> {
    let repo = ctx.repo().await?;
    for _ in 0..5 {
        let stored = repo.flags_get(&ctx.tenant).await?;
        let version = stored.as_ref().map_or(0, |(v, _)| *v);
        let mut doc = leaderboard::policy::flags::stored_document(
            stored.as_ref().map(|(_, raw)| raw.as_str()),
        )?;
        change(&mut doc)?;
        leaderboard::policy::flags::FlagSet::parse(&doc)?;
        if let Put::Written(v) = repo
            .flags_put(&ctx.tenant, Some(version), &doc.to_string())
            .await?
        {
            crate::flags::doc::forget(ctx.platform(), &ctx.tenant).await;
            return Ok(v);
        }
    }
    Err(Conflict::FlagsRaced.into())
}

/// Marks every running experiment's flag in a flag document about to be stored (a `PUT` of the
/// document keeps the marks without the admin copying them); `409` when the document dropped
/// an experiment's flag or arm.
pub async fn restamp(repo: &Repo, tenant: &leaderboard::TenantId, doc: &mut Value) -> Result<()> {
    for (id, _) in repo.exp_running(tenant).await? {
        if let Some(stored) = repo.exp_get(tenant, &id).await? {
            leaderboard::policy::experiment::stamp(doc, &stored.def)?;
        }
    }
    Ok(())
}
