//! `rank.top_changed`: a board's top-N changed, announced at most once per subscription and
//! board per `webhook_debounce`, each message carrying the top-N as it stands when it is first
//! sent (so the last one carries the final top-N).
//!
//! The fan-out ([`crate::webhooks::delivery::fan_out`]) compares, after each batch of log entries
//! with scores, the board's current top-N with the last one announced (per subscription:
//! `lb:tenant:{t}:wh:top:<sub>:<board>`, `{"last": [...], "sent_ms", "pending"}`). When it
//! differs and no announcement is waiting, it stores a message due when the debounce allows,
//! with an empty body: the body (the top-N of that moment) is made and kept at its first attempt
//! ([`freeze`]), and every retry sends those same bytes.

use leaderboard::board::view::PeriodView;
use leaderboard::outbound::webhook::{self, Subscription};
use leaderboard::outbound::webhook_delivery::Message;
use leaderboard::{
    Board, BoardId, LeaderboardError, PeriodId, Result, TenantId, board::rank, board::sortkey,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::repo::{BoardAt, Keys, Repo};

/// The announcement state of one subscription and board.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    /// The top-N last announced (`[{rank, player, score}]`).
    last: Vec<Value>,
    /// When it was (Unix ms).
    sent_ms: i64,
    /// A stored announcement not sent yet.
    pending: Option<String>,
}

fn state_key(tenant: &TenantId, sub: &str, board: &str) -> String {
    format!("lb:tenant:{{{}}}:wh:top:{sub}:{board}", tenant.as_str())
}

async fn read_state(repo: &Repo, key: &str) -> Result<State> {
    Ok(repo
        .get(key)
        .await?
        .and_then(|raw| serde_json::from_slice(raw.as_bytes()).ok())
        .unwrap_or_default())
}

async fn write_state(repo: &Repo, key: &str, state: &State) -> Result<()> {
    let raw =
        serde_json::to_string(state).map_err(|e| LeaderboardError::Internal(e.to_string()))?;
    repo.set(key, &raw).await
}

/// The board's current period and its top `n` entries.
pub async fn current_top(at: &BoardAt<'_>, n: u32) -> Result<(String, Vec<Value>)> {
    let period = PeriodView::resolve(at.board(), None, at.now_ms)?.id;
    Ok((
        period.to_string(),
        top_of(at.repo, at.tenant(), at.board(), &period, n).await?,
    ))
}

/// The top `n` entries of one period of the board (`[{rank, player, score, subscore?}]`).
pub async fn top_of(
    repo: &Repo,
    tenant: &TenantId,
    board: &Board,
    period: &PeriodId,
    n: u32,
) -> Result<Vec<Value>> {
    let page = repo
        .page(&Keys::new(tenant, &board.id), period, 0, n, None)
        .await?;
    let values: Vec<u64> = page.rows.iter().map(|r| r.rank_value).collect();
    let ranks = rank::assign_ranks(
        rank::rank_from_better(page.first_better),
        page.start,
        &values,
    );
    let mut top = Vec::with_capacity(page.rows.len());
    for (row, r) in page.rows.iter().zip(ranks) {
        let (_, player) = sortkey::decode_member(&row.member)?;
        let (score, subscore) = sortkey::decode_rank_value(board, row.rank_value)?;
        let mut entry =
            json!({"rank": r, "player": player.as_str(), "score": board.score_type.to_json(score)});
        if let (Some(s), Value::Object(map)) = (subscore, &mut entry) {
            map.insert("subscore".into(), json!(s));
        }
        top.push(entry);
    }
    Ok(top)
}

/// After a batch of scores on `board`: stores an announcement for each subscription in `subs`
/// (those wanting `rank.top_changed` there) whose top-N differs from the last announced and
/// has none waiting. Returns how many it stored.
pub async fn check(
    at: &BoardAt<'_>,
    subs: &[&Subscription],
    debounce_ms: i64,
    store: impl AsyncFn(&Subscription, i64) -> Result<Message>,
) -> Result<u64> {
    let (repo, tenant, board, _, now_ms) = at.parts();
    let Some(n) = subs.iter().map(|s| s.top_n).max() else {
        return Ok(0);
    };
    let (_, top) = current_top(at, n).await?;
    let mut made = 0;
    for sub in subs {
        let key = state_key(tenant, &sub.id, board.id.as_str());
        let mut state = read_state(repo, &key).await?;
        let mine: Vec<Value> = top.iter().take(sub.top_n as usize).cloned().collect();
        if mine == state.last || state.pending.is_some() {
            continue;
        }
        let due = now_ms.max(state.sent_ms.saturating_add(debounce_ms));
        let message = store(*sub, due).await?;
        state.pending = Some(message.id);
        write_state(repo, &key, &state).await?;
        made += 1;
    }
    Ok(made)
}

/// Before the first attempt of an announcement: its body, the top-N of now, made once and
/// recorded as the last announced. `board` is the board's id in the message's `data`.
pub async fn freeze(
    repo: &Repo,
    tenant: &TenantId,
    sub: &Subscription,
    m: &mut Message,
    now_ms: i64,
) -> Result<()> {
    if !m.body.is_empty() {
        return Ok(());
    }
    let board_id = m.board.clone().unwrap_or_default();
    let key = state_key(tenant, &sub.id, &board_id);
    let mut state = read_state(repo, &key).await?;
    let board = repo
        .board(tenant, &BoardId::new(board_id.as_str())?)
        .await?;
    let (period, top) = current_top(&BoardAt::new(repo, tenant, &board, now_ms), sub.top_n).await?;
    m.body = webhook::payload(
        "rank.top_changed",
        now_ms,
        json!({"board": board_id, "period": period, "top_n": sub.top_n, "top": top}),
    );
    state.last = top;
    state.sent_ms = now_ms;
    state.pending = None;
    write_state(repo, &key, &state).await
}

/// An announcement failed before it was made (its subscription is gone or disabled): the next
/// change may store another.
pub async fn abandon(repo: &Repo, tenant: &TenantId, sub: &str, m: &Message) -> Result<()> {
    let Some(board) = &m.board else { return Ok(()) };
    let key = state_key(tenant, sub, board);
    let mut state = read_state(repo, &key).await?;
    if state.pending.as_deref() == Some(m.id.as_str()) {
        state.pending = None;
        write_state(repo, &key, &state).await?;
    }
    Ok(())
}
