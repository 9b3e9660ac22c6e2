//! Publishing boards to the push tier (nginx + nchan, `deploy/push/`; docs/api.md › The push
//! tier) from the worker: when a write announces a board (`lb:invalidate`), its whole live state
//! — the version and the first [`push::TOP_N`] entries of the current period, as
//! `GET /api/v1/boards/{board}/live?limit=100` renders it — is `POST`ed to the board's channel,
//! at most once per board per `live_publish_interval_ms` ([`push::due`]): a change within the
//! interval waits it out here, then publishes the newest state, and the changes queued behind it
//! find that version published and send nothing.
//!
//! What was last published is kept beside the board in Redis ([`crate::repo::Keys::pushed`]), so
//! every worker replica sees it (two replicas may each publish a state once; a state is whole, so
//! a second copy changes nothing for a viewer). A publish that fails is logged and counted
//! (`lb_push_publish_failures_total`) and not noted, so the board's next change publishes again;
//! it never touches the write, which was answered before its announcement.
//!
//! Only boards anyone may read (`public_read`) are published: the tier does not yet ask the app
//! who may subscribe.

use leaderboard::board::view::{self, ApiVersion};
use leaderboard::http::live;
use leaderboard::http::metrics::counter_key;
use leaderboard::http::push::{self, Due, PushSettings, Pushed};
use leaderboard::{BoardId, LeaderboardError, Result, TenantId};

use crate::outbound::{self, Answer, Post};
use crate::platform::Platform;
use crate::repo::{Keys, Repo};

/// How long one publish may take (connect, answer).
const PUBLISH_TIMEOUT_MS: u64 = 2_000;

/// How long the record of the last publish is kept: a board idle for longer publishes its next
/// change at once.
const PUSHED_TTL_MS: u64 = 86_400_000;

/// The worker's publishing settings (`push_publish_url`, `live_publish_interval_ms`): `None`
/// when publishing is off. A bad value is logged and turns publishing off (the worker's other
/// work goes on).
pub async fn settings(platform: &dyn Platform) -> Option<PushSettings> {
    // Off (the default): one variable read per message.
    let url = platform.variable("push_publish_url").await?;
    let interval = platform.variable("live_publish_interval_ms").await;
    match PushSettings::parse(Some(&url), interval.as_deref()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("push: publishing is off: {e}");
            None
        }
    }
}

/// What [`publish_change`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The state at this version went out.
    Published(i64),
    /// The push tier had this version already (a change queued behind a publish).
    UpToDate,
    /// The board is gone, or not public: nothing is published.
    Skipped,
}

/// Publishes the board's state if the push tier does not have it yet, waiting out the interval
/// since the last publish first. An error is the push tier's or Redis's: logged and counted by
/// the caller's [`publish_and_count`].
pub async fn publish_change(
    repo: &Repo,
    settings: &PushSettings,
    tenant: &TenantId,
    id: &BoardId,
    now_ms: &dyn Fn() -> i64,
) -> Result<Outcome> {
    let keys = Keys::new(tenant, id);
    let last = repo
        .get(&keys.pushed())
        .await?
        .as_deref()
        .and_then(Pushed::parse);
    let Some(version) = repo.board_version(&keys).await? else {
        return Ok(Outcome::Skipped);
    };
    match push::due(last, version, now_ms(), settings.interval_ms) {
        Due::Nothing => return Ok(Outcome::UpToDate),
        Due::Now => {}
        Due::After(ms) => crate::scope::sleep(ms.unsigned_abs()).await,
    }
    let board = match repo.board(tenant, id).await {
        Ok(board) => board,
        Err(LeaderboardError::BoardNotFound(_)) => return Ok(Outcome::Skipped),
        Err(e) => return Err(e),
    };
    if !board.public_read {
        return Ok(Outcome::Skipped);
    }
    // The newest version, then the page: a write between the two is published with the next
    // change (its version is newer than the one noted).
    let Some(version) = repo.board_version(&keys).await? else {
        return Ok(Outcome::Skipped);
    };
    let at_ms = now_ms();
    let top = crate::reads::current_top(repo, tenant, &board, at_ms, push::TOP_N).await?;
    let page = view::page(
        ApiVersion::V1,
        &board,
        &top.period,
        top.total,
        &top.entries,
        top.next_cursor.as_deref(),
        Some(push::TOP_N),
    );
    let body = live::body(version, page, None).to_string();
    let url = settings.channel_url(tenant.as_str(), id.as_str());
    let sent = outbound::post_all(
        &[Post {
            url: &url,
            headers: vec![("content-type", "application/json".into())],
            body: body.as_bytes(),
        }],
        PUBLISH_TIMEOUT_MS,
    )
    .await;
    match sent.first().map(|s| &s.answer) {
        // nchan: 201 delivered to viewers, 202 none connected (kept for the next).
        Some(Answer::Status(201 | 202, _)) => {}
        Some(other) => {
            return Err(LeaderboardError::Unavailable(format!(
                "the push tier did not take {url}: {other:?}"
            )));
        }
        None => {
            return Err(LeaderboardError::Internal(
                "outbound HTTP answered no post".into(),
            ));
        }
    }
    let pushed = Pushed { version, at_ms };
    repo.set_px(&keys.pushed(), &pushed.encode(), PUSHED_TTL_MS)
        .await?;
    Ok(Outcome::Published(version))
}

/// [`publish_change`], its outcome counted in `/metrics` (`lb_push_published_total`,
/// `lb_push_publish_failures_total`) and a failure logged: publishing never fails the message
/// that announced the write.
pub async fn publish_and_count(
    platform: &dyn Platform,
    repo: &Repo,
    settings: &PushSettings,
    tenant: &TenantId,
    id: &BoardId,
    now_ms: &dyn Fn() -> i64,
) {
    match publish_change(repo, settings, tenant, id, now_ms).await {
        Ok(Outcome::Published(_)) => {
            crate::metrics::add_now(platform, &counter_key("push_published"), 1).await;
        }
        Ok(Outcome::UpToDate | Outcome::Skipped) => {}
        Err(e) => {
            eprintln!("push: publishing {tenant}/{id}: {e}");
            crate::metrics::add_now(platform, &counter_key("push_publish_failures"), 1).await;
        }
    }
}
