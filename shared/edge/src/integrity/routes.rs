//! Reviews of submissions a board's integrity rules held or flagged (`leaderboard::integrity::review`),
//! tenant admin only:
//!
//! ```text
//! GET  /api/{v}/boards/{board}/reviews?status=open|held|flagged|approved|rejected|all&limit=
//!                                                   newest first (default: open, 50; at most 500)
//! GET  /api/{v}/boards/{board}/reviews/{id}         one
//! POST /api/{v}/boards/{board}/reviews/{id}/approve a held one is applied as submitted (its
//!                                                   original time); a flagged one is closed
//! POST /api/{v}/boards/{board}/reviews/{id}/reject  a held one leaves nothing; a flagged one is
//!                                                   taken back (409 if the record changed since)
//! ```
//!
//! Deciding twice the same way answers the same; each decision goes to the audit log
//! (`review.approve`, `review.reject`).

use crate::api::Ctx;
use crate::http::{self, Call, Method, Response};
use crate::repo::{BoardAt, Keys, Repo};
use crate::submissions::submit::{self, Decided, Judging};
use leaderboard::integrity::review::{self, Effect, Review};
use leaderboard::{Board, BoardId, LeaderboardError, Result, policy::access};
use serde_json::json;

/// Reviews one listing reads at most.
const SCAN: u64 = 2_000;

/// Serves `/api/{v}/boards/{board}/reviews[/…]` (`rest`: the segments after `reviews`).
pub async fn route(
    call: &Call<'_>,
    ctx: &Ctx<'_>,
    board: &BoardId,
    rest: &[&str],
) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    let board = ctx.repo().await?.board(&ctx.tenant, board).await?;
    match (call.method(), rest) {
        (&Method::GET, []) => list(call, ctx, &board).await,
        (_, []) => Err(call.method_not_allowed("GET")),
        (&Method::GET, [id]) => {
            let r = load(ctx, &board, id).await?;
            Ok(http::json(200, call.version, &r.view(&board)))
        }
        (_, [_]) => Err(call.method_not_allowed("GET")),
        (&Method::POST, [id, "approve"]) => decide(call, ctx, &board, id, true).await,
        (&Method::POST, [id, "reject"]) => decide(call, ctx, &board, id, false).await,
        (_, [_, "approve" | "reject"]) => Err(call.method_not_allowed("POST")),
        _ => Err(call.not_found()),
    }
}

async fn list(call: &Call<'_>, ctx: &Ctx<'_>, board: &Board) -> Result<Response> {
    let wanted = review::parse_filter(call.query.get("status").map(String::as_str))?;
    let limit =
        u64::from(call.query_u32("limit", 50, 1, leaderboard::integrity::review::MAX_PAGE)?);
    let keys = Keys::new(&ctx.tenant, &board.id);
    let repo = ctx.repo().await?;
    let mut out = Vec::new();
    let mut offset = 0;
    'scan: while offset < SCAN {
        let page = repo.reviews(&keys, offset, 200).await?;
        if page.is_empty() {
            break;
        }
        offset += 200;
        for raw in page {
            let r = crate::integrity::decode(&raw)?;
            if wanted.as_ref().is_none_or(|w| w.contains(&r.status)) {
                out.push(r.view(board));
                if out.len() as u64 == limit {
                    break 'scan;
                }
            }
        }
    }
    Ok(http::json(
        200,
        call.version,
        &json!({"board": board.id.as_str(), "reviews": out}),
    ))
}

async fn load(ctx: &Ctx<'_>, board: &Board, id: &str) -> Result<Review> {
    let keys = Keys::new(&ctx.tenant, &board.id);
    let raw = ctx.repo().await?.review(&keys, id).await?.ok_or_else(|| {
        LeaderboardError::NotFound(format!("no review '{id}' on board '{}'", board.id))
    })?;
    crate::integrity::decode(&raw)
}

async fn decide(
    call: &Call<'_>,
    ctx: &Ctx<'_>,
    board: &Board,
    id: &str,
    approve: bool,
) -> Result<Response> {
    let principal = ctx.require_principal()?;
    let mut r = load(ctx, board, id).await?;
    let by = principal.subject.clone();
    let was = r.status;
    let effect = if approve {
        r.approve(call.now_ms, &by)?
    } else {
        r.reject(call.now_ms, &by)?
    };
    let repo = ctx.repo().await?;
    let json = crate::integrity::encode(&r)?;
    carry_out(ctx, repo, board, &r, &json, effect, call.now_ms).await?;
    if r.status != was && board.pays_rewards() {
        // The last open review of an ended run lets its rewards be awarded now (on a periodic
        // board, the run of the review's period).
        let period = r.period.to_string();
        crate::competitions::rewards::settle_logged(
            repo,
            &ctx.tenant,
            &board.id,
            Some(&period),
            call.now_ms,
        )
        .await;
    }
    if r.status != was {
        crate::audit::record(
            ctx,
            call,
            if approve {
                "review.approve"
            } else {
                "review.reject"
            },
            &r.id,
            r.view(board),
        )
        .await;
    }
    Ok(http::json(200, call.version, &r.view(board)))
}

/// What a decision does to the board (`json`: the decided review): nothing but the review
/// stored, the held submission applied (the decision stored by the same write, so a retried
/// approval applies nothing), or a flagged one reverted; the reads of a changed board dropped.
async fn carry_out(
    ctx: &Ctx<'_>,
    repo: &Repo,
    board: &Board,
    r: &Review,
    json: &str,
    effect: Effect,
    now_ms: i64,
) -> Result<()> {
    let at = BoardAt::new(repo, &ctx.tenant, board, now_ms);
    match effect {
        Effect::None => {
            repo.put_review(at.keys(), &r.id, json, r.submitted_at_ms)
                .await?
        }
        Effect::Apply => {
            // As the original submission: its time decides ties and the period it counts in.
            // The decision is stored by the same write, so a retried approval applies nothing.
            let approved = Judging::Approved {
                review_id: &r.id,
                review_json: json,
            };
            match submit::apply(
                &BoardAt::new(repo, &ctx.tenant, board, r.submitted_at_ms),
                &r.player,
                &r.submission,
                None,
                None,
                approved,
            )
            .await?
            {
                Decided::Applied(_) => {}
                Decided::Held(_) => {
                    return Err(LeaderboardError::Internal(
                        "an approved submission was held again".into(),
                    ));
                }
            }
            ctx.cache()
                .await
                .invalidate_everywhere(repo, ctx.tenant.as_str(), board.id.as_str(), false)
                .await;
        }
        Effect::Revert => {
            crate::integrity::revert(&at, r).await?;
            repo.put_review(at.keys(), &r.id, json, r.submitted_at_ms)
                .await?;
            ctx.cache()
                .await
                .invalidate_everywhere(repo, ctx.tenant.as_str(), board.id.as_str(), false)
                .await;
        }
    }
    Ok(())
}
