//! Messages a request makes itself, not from the board's log: a deleted board's
//! `board.deleted` (stored before the deletion is answered) and held or flagged submissions'
//! `score.flagged`.

use leaderboard::outbound::webhook::Subscription;
use leaderboard::{BoardId, Result, TenantId};
use serde_json::Value;

use super::fanout::event_message_id;
use super::{TENANTS, new_message_id, ring, store};
use crate::repo::{BoardAt, Repo};
use crate::webhooks;

/// Makes the `board.deleted` messages of a deleted board (stored before the deletion is
/// answered) and rings the worker.
pub async fn board_deleted(
    repo: &Repo,
    tenant: &TenantId,
    board: &BoardId,
    now_ms: i64,
) -> Result<()> {
    let mut any = false;
    for sub in webhooks::list(repo, tenant).await? {
        if sub.wants("board.deleted", board.as_str()) {
            let data = serde_json::json!({"board": board.as_str()});
            store(
                repo,
                tenant,
                &sub,
                new_message_id()?,
                "board.deleted",
                data,
                now_ms,
            )
            .await?;
            any = true;
        }
    }
    if any {
        repo.sadd(TENANTS, tenant.as_str()).await?;
        ring(repo, tenant).await;
    }
    Ok(())
}

/// Makes the `score.flagged` messages of held and flagged submissions (`reviews`) for the
/// subscriptions that want them on `board`, and rings the worker. A message's id derives from
/// the subscription and the review, so announcing a review again stores nothing.
pub async fn score_flagged(
    at: &BoardAt<'_>,
    reviews: &[leaderboard::integrity::review::Review],
) -> Result<()> {
    let (repo, tenant, board, _, now_ms) = at.parts();
    let subs: Vec<Subscription> = webhooks::list(repo, tenant)
        .await?
        .into_iter()
        .filter(|s| s.wants("score.flagged", board.id.as_str()))
        .collect();
    if subs.is_empty() {
        return Ok(());
    }
    for review in reviews {
        let mut data = review.view(board);
        if let Value::Object(map) = &mut data {
            map.insert("board".into(), Value::from(board.id.as_str()));
            map.insert("review".into(), Value::from(review.id.as_str()));
            map.remove("id");
        }
        for sub in &subs {
            let id = event_message_id(&sub.id, &board.id, &format!("flagged:{}", review.id));
            store(repo, tenant, sub, id, "score.flagged", data.clone(), now_ms).await?;
        }
    }
    repo.sadd(TENANTS, tenant.as_str()).await?;
    ring(repo, tenant).await;
    Ok(())
}
