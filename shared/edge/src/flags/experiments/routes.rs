//! A/B experiments on the tenant's flags (`leaderboard::policy::experiment`, `crate::flags::experiments`).
//!
//! ```text
//! POST   /api/{v}/experiments                 admin: declare one on a flag (201, Location)
//! GET    /api/{v}/experiments                 admin: all of the tenant's, with their state
//! GET    /api/{v}/experiments/{id}            admin: one, with its state
//! DELETE /api/{v}/experiments/{id}            admin: stop it and delete everything counted (204)
//! POST   /api/{v}/experiments/{id}/stop       admin: stop, freeze the results, optionally
//!                                             promote {"promote": "winner" | "<variant>"}
//! GET    /api/{v}/experiments/{id}/results    admin or service: live, or frozen once stopped
//! POST   /api/{v}/experiments/{id}/events     service/admin for any unit, a player for itself:
//!                                             {key, event, id, value?}, idempotent per (key, id)
//! ```

use crate::api::Ctx;
use crate::flags::experiments::store::{Converted, Refused, Stored};
use crate::http::{self, Call, Response, ResponseBuilder};
use leaderboard::Conflict;
use leaderboard::policy::access::{self, Role};
use leaderboard::policy::experiment::{self, ExperimentInput, State};
use leaderboard::{LeaderboardError, Result};
use serde::Deserialize;
use serde_json::{Value, json};

fn not_found(id: &str) -> LeaderboardError {
    LeaderboardError::NotFound(format!("no experiment '{id}'"))
}

async fn load(ctx: &Ctx<'_>, id: &str) -> Result<Stored> {
    experiment::check_name("id", id).map_err(|_| not_found(id))?;
    ctx.repo()
        .await?
        .exp_get(&ctx.tenant, id)
        .await?
        .ok_or_else(|| not_found(id))
}

fn state_name(s: &Stored, now_ms: i64) -> &'static str {
    State {
        stopped_ms: s.stopped_ms,
        now_ms,
    }
    .phase(&s.def)
    .as_str()
}

fn view(s: &Stored, now_ms: i64) -> Value {
    let mut v = serde_json::to_value(&s.def).unwrap_or(Value::Null);
    v["state"] = json!(state_name(s, now_ms));
    v["stopped_ms"] = json!(s.stopped_ms);
    v["links"] = json!({
        "results": format!("/api/v1/experiments/{}/results", s.def.id),
        "events": format!("/api/v1/experiments/{}/events", s.def.id),
    });
    v
}

/// `POST /api/{v}/experiments` (admin): declares one on a flag (`201`, `Location`).
pub async fn create(call: &Call<'_>, ctx: &Ctx<'_>) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    let input: ExperimentInput = call.json()?;
    let repo = ctx.repo().await?;
    let stored = repo.flags_get(&ctx.tenant).await?;
    let doc =
        leaderboard::policy::flags::stored_document(stored.as_ref().map(|(_, raw)| raw.as_str()))?;
    let flag = leaderboard::policy::flags::resolved_flag(&doc, &input.flag)?;
    let generated = format!("exp-{}", crate::scope::nonce(call.now_ms));
    let exp = input.validate(flag.as_ref(), call.now_ms, generated)?;
    match repo.exp_create(&ctx.tenant, &exp).await? {
        Ok(()) => {}
        Err(Refused::Exists) => {
            return Err(Conflict::ExperimentExists { id: exp.id }.into());
        }
        Err(Refused::FlagBusy) => {
            return Err(Conflict::FlagHasExperiment { flag: exp.flag }.into());
        }
        Err(Refused::Quota) => {
            return Err(LeaderboardError::QuotaExceeded {
                quota: "max_experiments".into(),
                detail: format!(
                    "a tenant keeps at most {} experiments; DELETE old ones",
                    crate::flags::experiments::store::MAX_EXPERIMENTS
                ),
            });
        }
    }
    // Mark the flag, so evaluations count exposures and submissions find the experiment.
    if let Err(e) =
        crate::flags::experiments::update_flags(ctx, |d| experiment::stamp(d, &exp)).await
    {
        if let Err(undo) = repo.exp_delete(&ctx.tenant, &exp.id).await {
            eprintln!("experiments: could not undo '{}': {undo}", exp.id);
        }
        return Err(e);
    }
    crate::audit::record(
        ctx,
        call,
        "experiment.create",
        &exp.id,
        json!({"flag": exp.flag}),
    )
    .await;
    let stored = Stored {
        def: exp,
        stopped_ms: None,
        frozen: None,
    };
    let location = format!("/api/v1/experiments/{}", stored.def.id);
    Ok(http::json_text(
        201,
        call.version,
        view(&stored, call.now_ms).to_string(),
        &[("location", location)],
    ))
}

/// `GET /api/{v}/experiments` (admin): all of the tenant's, with their state.
pub async fn list(call: &Call<'_>, ctx: &Ctx<'_>) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    let repo = ctx.repo().await?;
    let running: Vec<String> = repo
        .exp_running(&ctx.tenant)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let items: Vec<Value> = repo
        .exp_list(&ctx.tenant)
        .await?
        .into_iter()
        .map(|def| {
            let stopped = !running.contains(&def.id);
            let s = Stored {
                def,
                // The list does not read each stop time; GET one for it.
                stopped_ms: stopped.then_some(0),
                frozen: None,
            };
            let mut v = view(&s, call.now_ms);
            v.as_object_mut().map(|o| o.remove("stopped_ms"));
            v
        })
        .collect();
    Ok(http::json(
        200,
        call.version,
        &json!({"experiments": items}),
    ))
}

/// `GET /api/{v}/experiments/{id}` (admin): one, with its state.
pub async fn get(call: &Call<'_>, ctx: &Ctx<'_>, id: &str) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    let s = load(ctx, id).await?;
    Ok(http::json(200, call.version, &view(&s, call.now_ms)))
}

async fn live_results(ctx: &Ctx<'_>, s: &Stored, now_ms: i64) -> Result<Value> {
    let counters = ctx
        .repo()
        .await?
        .exp_counters(&ctx.tenant, &s.def.id)
        .await?;
    Ok(experiment::results(
        &s.def,
        &counters,
        State {
            stopped_ms: s.stopped_ms,
            now_ms,
        },
    ))
}

/// `GET /api/{v}/experiments/{id}/results` (admin or service): live, or frozen once stopped.
pub async fn results(call: &Call<'_>, ctx: &Ctx<'_>, id: &str) -> Result<Response> {
    let p = ctx.require_principal()?;
    if !(p.has(Role::Admin) || p.has(Role::Service)) {
        return Err(LeaderboardError::Forbidden(format!(
            "experiment results need the 'admin' or 'service' role; the token has roles {}",
            p.roles_list()
        )));
    }
    let s = load(ctx, id).await?;
    if let Some(frozen) = &s.frozen {
        return Ok(http::json_text(200, call.version, frozen.clone(), &[]));
    }
    Ok(http::json(
        200,
        call.version,
        &live_results(ctx, &s, call.now_ms).await?,
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StopInput {
    /// `"winner"` or a variant name.
    #[serde(default)]
    promote: Option<String>,
}

/// Stops the experiment (nothing is counted after this), freezes its results, removes the mark
/// from the flag and, when asked, makes a variant the flag's default for everyone.
pub async fn stop(call: &Call<'_>, ctx: &Ctx<'_>, id: &str) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    let input: StopInput = if call.req.body().is_empty() {
        StopInput::default()
    } else {
        call.json()?
    };
    let s = load(ctx, id).await?;
    let repo = ctx.repo().await?;
    let (_, stopped_ms) = repo
        .exp_stop(&ctx.tenant, id, call.now_ms)
        .await?
        .ok_or_else(|| not_found(id))?;
    let frozen: Value = match repo.exp_get(&ctx.tenant, id).await?.and_then(|s| s.frozen) {
        Some(raw) => serde_json::from_slice(raw.as_bytes())
            .map_err(|e| LeaderboardError::CorruptData(format!("frozen results: {e}")))?,
        None => {
            let stopped = Stored {
                stopped_ms: Some(stopped_ms),
                ..s.clone()
            };
            let r = live_results(ctx, &stopped, stopped_ms).await?;
            repo.exp_freeze(&ctx.tenant, id, &r.to_string()).await?;
            r
        }
    };
    let (promote, promotion) = match input.promote.as_deref() {
        None => (None, Value::Null),
        Some("winner") => match experiment::winner(&frozen) {
            Some(arm) => (Some(arm.clone()), json!({"promoted": arm})),
            None => (
                None,
                json!({"promoted": null, "reason": "no arm conclusively beat control on the primary metric; the flag keeps its split rule (promote a variant by name to end it anyway)"}),
            ),
        },
        Some(arm) => (Some(arm.to_string()), json!({"promoted": arm})),
    };
    crate::flags::experiments::update_flags(ctx, |d| {
        experiment::unstamp(d, &s.def.flag, id, promote.as_deref())
    })
    .await?;
    crate::audit::record(
        ctx,
        call,
        "experiment.stop",
        id,
        json!({"promotion": promotion}),
    )
    .await;
    Ok(http::json(
        200,
        call.version,
        &json!({"experiment": id, "state": experiment::Phase::Stopped.as_str(), "promotion": promotion, "results": frozen}),
    ))
}

/// `DELETE /api/{v}/experiments/{id}` (admin): stops it and deletes everything counted (`204`).
pub async fn delete(call: &Call<'_>, ctx: &Ctx<'_>, id: &str) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    let s = load(ctx, id).await?;
    let repo = ctx.repo().await?;
    repo.exp_stop(&ctx.tenant, id, call.now_ms).await?;
    crate::flags::experiments::update_flags(ctx, |d| experiment::unstamp(d, &s.def.flag, id, None))
        .await?;
    repo.exp_delete(&ctx.tenant, id).await?;
    crate::audit::record(
        ctx,
        call,
        "experiment.delete",
        id,
        json!({"flag": s.def.flag}),
    )
    .await;
    Ok(ResponseBuilder::new(204).empty())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventInput {
    /// The unit (targeting key) that did it.
    key: String,
    /// The event's name (a metric's `event`).
    event: String,
    /// The client's id for this occurrence: a retry with the same `(key, id)` counts once.
    id: String,
    /// The value for `mean` metrics (default 1).
    #[serde(default)]
    value: Option<f64>,
}

/// `POST /api/{v}/experiments/{id}/events`: records a unit's event (service or admin for any
/// unit, a player for itself), idempotent per (key, id).
pub async fn event(call: &Call<'_>, ctx: &Ctx<'_>, id: &str) -> Result<Response> {
    let p = ctx.require_principal()?;
    let input: EventInput = call.json()?;
    let trusted = p.has(Role::Admin) || p.has(Role::Service);
    let for_itself = p.has(Role::Player) && p.subject == input.key;
    if !(trusted || for_itself) {
        return Err(LeaderboardError::Forbidden(
            "a player token may post events for its own key (its subject) only".into(),
        ));
    }
    if input.key.is_empty() || input.key.len() > 256 {
        return Err(LeaderboardError::InvalidBody(
            "key must be 1..=256 bytes".into(),
        ));
    }
    if input.id.is_empty() || input.id.len() > 128 {
        return Err(LeaderboardError::InvalidBody(
            "id must be 1..=128 bytes".into(),
        ));
    }
    let value = input.value.unwrap_or(1.0);
    if !value.is_finite() {
        return Err(LeaderboardError::InvalidBody(
            "value must be a finite number".into(),
        ));
    }
    let s = load(ctx, id).await?;
    if s.def.metrics_for_event(&input.event).next().is_none() {
        return Err(LeaderboardError::InvalidBody(format!(
            "no metric of experiment '{id}' counts event '{}' (events: {})",
            input.event,
            s.def
                .metrics
                .iter()
                .filter_map(|m| m.event.as_deref())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let outcome = ctx
        .repo()
        .await?
        .exp_convert(
            &ctx.tenant,
            id,
            &input.key,
            ("event", &input.event),
            value,
            Some(&input.id),
            call.now_ms,
        )
        .await?;
    let body = match outcome {
        Converted::Counted(arm) => json!({"counted": true, "arm": arm}),
        Converted::Duplicate => json!({"counted": false, "duplicate": true}),
        Converted::Unexposed => {
            json!({"counted": false, "reason": "this key was never exposed to the experiment"})
        }
        Converted::NotRunning => {
            return Err(Conflict::NotCounting {
                id: id.to_string(),
                state: state_name(&s, call.now_ms),
            }
            .into());
        }
    };
    Ok(http::json(200, call.version, &body))
}
