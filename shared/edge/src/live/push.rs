//! Publishing boards to the push tier (nginx + nchan, `deploy/push/`; docs/api.md › The push
//! tier) from the worker: when a write announces a board (`lb:invalidate`), its whole live state
//! — the version and the first [`push::TOP_N`] entries of the current period, as
//! `GET /api/v1/boards/{board}/live?limit=100` renders it — is `POST`ed to the board's channel.
//!
//! **At most once per board per `live_publish_interval_ms`**: a publish takes the board's gate
//! (`SET … NX PX <interval>` beside the board, per tier) and sends the newest state it reads then.
//! A change that finds the gate taken waits out what is left of it (at most the interval, in the
//! worker) and looks again: the newest state went out meanwhile (the version the tier was sent
//! is kept beside the board), or it takes the gate and sends it. So the last state always goes
//! out, once several worker messages (or replicas) meet on one board too. A burst's changes
//! queued behind a publish find their version sent and cost one Redis read each.
//!
//! Every board is published, private ones too: the tier asks the app who may watch a board
//! before each subscription (`nchan_authorize_request`, with the rules of `entries`). A board
//! that is gone has its channel closed (`DELETE`: its viewers are disconnected, its last state
//! dropped), and their reconnections are refused (`404`). A board's creation or deletion
//! (`config`) that finds a board not readable by everyone closes its channel first: its viewers
//! may have been let in for an earlier board of that id (deleted and made again private before
//! the deletion's message was handled), and those the app allows come back.
//!
//! **A period that ends is published too**, with no write: the version sent is kept with the
//! period its page was of, so a new period needs a publish at the same version; each publish of
//! a board whose period resets notes when that period ends in the tier's register of the
//! schedule ([`crate::schedule::Item::Rollover`]), whose alarm rings the worker then
//! ([`on_rollover`]), which publishes the new period's state.
//!
//! Publishing never touches the write, which was answered before its announcement: a failure
//! (the tier down or refusing, Redis) is logged and counted (`lb_push_publish_failures_total`),
//! and the board's next change publishes again. The version sent is kept per tier (each
//! region's tier needs its own copy; every region's worker hears every write).
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `lb:{t/b}:push:<tier>:sent`, `…:gate` | string | the board version a push tier was sent; held while a publish's interval runs (`crate::live::push`) |

use leaderboard::board::period;
use leaderboard::board::view::{self, ApiVersion, PeriodView};
use leaderboard::http::live;
use leaderboard::http::metrics::counter_key;
use leaderboard::http::push::{self, PushSettings};
use leaderboard::policy::access;
use leaderboard::{Board, BoardId, LeaderboardError, Result, TenantId};

use crate::outbound::{self, Answer, Post, Verb};
use crate::platform::Platform;
use crate::repo::{BoardAt, Keys, Repo};
use crate::schedule::{Held, Item, NoteMode};

/// How long one publish may take (connect, answer).
const PUBLISH_TIMEOUT_MS: u64 = 2_000;

/// How long the version sent is kept: a board idle for longer publishes its next change however
/// recent the tier's copy.
const SENT_TTL_MS: u64 = 86_400_000;

/// How many times a change looks for its state to be out (each look after waiting out a gate):
/// the publish under way sends a state at least as new as the change's, so the second look finds
/// it sent unless that publish failed.
const LOOKS: u32 = 3;

/// What [`publish_change`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The state at this version went out.
    Published(i64),
    /// The tier was sent this version or a newer one already.
    UpToDate,
    /// The board is gone: its channel was closed.
    Closed,
}

/// The worker's handling of a board's announcement (`config`: its creation or deletion): with
/// `push_publish_url` set, [`publish_change`], its outcome counted in `/metrics`
/// (`lb_push_published_total`, `lb_push_publish_failures_total`) and a failure logged. Never
/// fails: publishing is not the message's job.
pub async fn on_change(
    platform: &dyn Platform,
    tenant: &str,
    board: &str,
    config: bool,
    now_ms: &dyn Fn() -> i64,
) {
    let Some(settings) = settings(platform).await else {
        return;
    };
    let published = async {
        let (tenant, id) = (TenantId::new(tenant)?, BoardId::new(board)?);
        let repo = Repo::open(platform, &crate::settings::redis_target(platform).await?).await?;
        publish_change(&repo, &settings, &tenant, &id, config, now_ms).await
    };
    count(platform, &format!("{tenant}/{board}"), published.await).await;
}

/// The push settings ([`crate::settings::push`]), `None` when publishing is off (the default:
/// one variable read) or its settings are misconfigured (logged and counted as a failure:
/// nothing can be published). The worker
/// reads them once per alarm: with them, this region's tier's register of the schedule
/// (`crate::schedule::Register::Tier` of `PushSettings::tier_id`) is served beside its own.
pub async fn settings(platform: &dyn Platform) -> Option<PushSettings> {
    match crate::settings::push(platform).await {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("push: nothing is published: {e}");
            count_failure(platform).await;
            None
        }
    }
}

/// A publish's outcome for `board` (`tenant/board`) in `/metrics`; a failure logged too.
async fn count(platform: &dyn Platform, board: &str, outcome: Result<Outcome>) {
    match outcome {
        Ok(Outcome::Published(_) | Outcome::Closed) => {
            crate::metrics::add_now(platform, &counter_key("push_published"), 1).await;
        }
        Ok(Outcome::UpToDate) => {}
        Err(e) => {
            eprintln!("push: publishing {board}: {e}");
            count_failure(platform).await;
        }
    }
}

/// Publishes the board's state unless the tier was sent it already, at most once per interval
/// (the module's doc says how); closes the channel of a board that is gone, and first that of a
/// board not readable by everyone on its creation or deletion (`config`).
pub async fn publish_change(
    repo: &Repo,
    settings: &PushSettings,
    tenant: &TenantId,
    id: &BoardId,
    config: bool,
    now_ms: &dyn Fn() -> i64,
) -> Result<Outcome> {
    let sent_key = Keys::new(tenant, id).push_sent(&settings.tier_id());
    let board = match repo.board(tenant, id).await {
        Ok(board) => board,
        Err(LeaderboardError::BoardNotFound(_)) => {
            return close_gone(repo, settings, tenant, id, &sent_key, now_ms()).await;
        }
        Err(e) => return Err(e),
    };
    if !push::is_pushed(&board) {
        if config {
            close(repo, settings, tenant, id, &sent_key).await?;
        }
        return Ok(Outcome::UpToDate);
    }
    if config && access::authorize_read(None, &board).is_err() {
        close(repo, settings, tenant, id, &sent_key).await?;
    }
    publish_gated(repo, settings, &board, tenant, now_ms).await
}

/// The board's state sent, at most once per interval, unless the tier was sent its version in
/// the current period already ([`push::needs_publish`]); the callers send only a board the tier
/// is sent at all ([`push::is_pushed`]).
async fn publish_gated(
    repo: &Repo,
    settings: &PushSettings,
    board: &Board,
    tenant: &TenantId,
    now_ms: &dyn Fn() -> i64,
) -> Result<Outcome> {
    let id = &board.id;
    let keys = Keys::new(tenant, id);
    let tier = settings.tier_id();
    let (sent_key, gate_key) = (keys.push_sent(&tier), keys.push_gate(&tier));
    for _ in 0..LOOKS {
        let Some(version) = repo.board_version(&keys).await? else {
            return close_gone(repo, settings, tenant, id, &sent_key, now_ms()).await;
        };
        let period = PeriodView::resolve(board, None, now_ms())?
            .current
            .to_string();
        let sent = repo.get(&sent_key).await?;
        if !push::needs_publish(sent.as_deref(), version, &period) {
            return Ok(Outcome::UpToDate);
        }
        let interval = settings.interval_ms.unsigned_abs();
        if interval == 0 || repo.set_nx_px(&gate_key, "1", interval).await? {
            return publish_now(repo, settings, board, tenant, &sent_key, now_ms).await;
        }
        let left = repo.pttl(&gate_key).await?;
        let wait = push::wait_for_gate(left, settings.interval_ms);
        crate::scope::sleep(wait.unsigned_abs()).await;
    }
    Err(LeaderboardError::Unavailable(format!(
        "the state of {tenant}/{id} was still not sent after {LOOKS} looks (the publishes \
         under way failed)"
    )))
}

/// Sends the board's newest state (its gate taken), and notes the version sent.
async fn publish_now(
    repo: &Repo,
    settings: &PushSettings,
    board: &Board,
    tenant: &TenantId,
    sent_key: &str,
    now_ms: &dyn Fn() -> i64,
) -> Result<Outcome> {
    let id = &board.id;
    // The version, then the page: a write between the two is in the page, and its own
    // announcement finds its version newer than the one noted, so it is published again.
    let Some(version) = repo.board_version(&Keys::new(tenant, id)).await? else {
        return close_gone(repo, settings, tenant, id, sent_key, now_ms()).await;
    };
    let top = crate::reads::current_top(&BoardAt::new(repo, tenant, board, now_ms()), push::TOP_N)
        .await?;
    let page = view::page(
        ApiVersion::V1,
        board,
        &top.period,
        top.total,
        &top.entries,
        top.next_cursor.as_deref(),
        Some(push::TOP_N),
    );
    let body = live::body(version, page, None).to_string();
    // nchan: 201 delivered to viewers, 202 none connected (kept for the next).
    send(
        settings,
        tenant,
        id,
        Verb::Post,
        body.as_bytes(),
        &[201, 202],
    )
    .await?;
    let sent = push::sent_marker(version, &top.period.id.to_string());
    repo.set_px(sent_key, &sent, SENT_TTL_MS).await?;
    if let Some(ends_ms) = top.period.next_reset_ms {
        let item = rollover(settings, tenant, id);
        repo.due_note(&item, ends_ms, now_ms(), NoteMode::Always)
            .await?;
    }
    Ok(Outcome::Published(version))
}

/// The schedule's item for the end of the period the tier was sent of `tenant/id`.
fn rollover(settings: &PushSettings, tenant: &TenantId, id: &BoardId) -> Item {
    Item::Rollover {
        tier: settings.tier_id(),
        tenant: tenant.clone(),
        board: id.clone(),
    }
}

/// The counter of the tier's publishes that failed (`lb_push_publish_failures_total`).
const FAILURES: &str = "push_publish_failures";

/// Counts a failure of the tier's publishing (`lb_push_publish_failures_total`): a board's, the
/// settings', or its register's lease.
pub async fn count_failure(platform: &dyn Platform) {
    crate::metrics::add_now(platform, &counter_key(FAILURES), 1).await;
}

/// The worker's handling of a rollover the schedule leased (`item`, an [`Item::Rollover`] of the
/// tier of `settings`: the period the tier was sent of its board has ended; `held`, what the
/// lease gave it): the board's new
/// period's state is published ([`publish_gated`]: the state sent was of the period before),
/// which notes its next end as any publish does; the outcome counted as [`on_change`]'s. A state
/// sent already (by another worker, or by a publish whose note failed) has its next end noted
/// here, and a board the tier is never sent (one with cohorts) leaves the register; these hold
/// to the lease (a note made since stays). Never fails: a board whose publish failed stays
/// leased and is due again when the lease ends; a board gone since leaves the register.
pub async fn on_rollover(
    platform: &dyn Platform,
    repo: &Repo,
    settings: &PushSettings,
    item: &Item,
    held: &Held,
    now_ms: &dyn Fn() -> i64,
) {
    let Item::Rollover {
        tenant, board: id, ..
    } = item
    else {
        // The worker hands over only its tier's rollovers.
        return;
    };
    let published = async {
        match repo.board(tenant, id).await {
            // Never published: nothing to roll over.
            Ok(found) if !push::is_pushed(&found) => {
                repo.due_forget(item, Some(held), now_ms()).await?;
                Ok(Outcome::UpToDate)
            }
            Ok(found) => {
                let outcome = publish_gated(repo, settings, &found, tenant, now_ms).await?;
                if outcome == Outcome::UpToDate {
                    let now = now_ms();
                    let next = period::next_reset_ms(found.period, now)?;
                    repo.due_next(item, next, now, held).await?;
                }
                Ok(outcome)
            }
            // Gone since (its deletion's own message closed its channel): forgotten.
            Err(LeaderboardError::BoardNotFound(_)) => {
                repo.due_forget(item, Some(held), now_ms()).await?;
                Ok(Outcome::UpToDate)
            }
            Err(e) => Err(e),
        }
    };
    count(platform, &format!("{tenant}/{id}"), published.await).await;
}

/// Closes the board's channel (nchan: `200`, or `404` when it had none) and forgets the version
/// sent.
async fn close(
    repo: &Repo,
    settings: &PushSettings,
    tenant: &TenantId,
    id: &BoardId,
    sent_key: &str,
) -> Result<Outcome> {
    send(settings, tenant, id, Verb::Delete, b"", &[200, 404]).await?;
    repo.del(sent_key).await?;
    Ok(Outcome::Closed)
}

/// [`close`] for a board that is gone, which also leaves the tier's register (else its period's
/// end would still ring the alarm, to find the board gone and forget it then).
async fn close_gone(
    repo: &Repo,
    settings: &PushSettings,
    tenant: &TenantId,
    id: &BoardId,
    sent_key: &str,
    now_ms: i64,
) -> Result<Outcome> {
    let closed = close(repo, settings, tenant, id, sent_key).await?;
    repo.due_forget(&rollover(settings, tenant, id), None, now_ms)
        .await?;
    Ok(closed)
}

/// One request to the board's channel; an answer outside `ok` is an error naming it.
async fn send(
    settings: &PushSettings,
    tenant: &TenantId,
    id: &BoardId,
    verb: Verb,
    body: &[u8],
    ok: &[u16],
) -> Result<()> {
    let url = settings.channel_url(tenant.as_str(), id.as_str());
    let sent = outbound::post_all(
        &[Post {
            verb,
            url: &url,
            headers: vec![("content-type", "application/json".into())],
            body,
        }],
        PUBLISH_TIMEOUT_MS,
    )
    .await;
    match sent.first().map(|s| &s.answer) {
        Some(Answer::Status(status, _)) if ok.contains(status) => Ok(()),
        Some(other) => Err(LeaderboardError::Unavailable(format!(
            "the push tier did not take {verb:?} {url}: {other:?}"
        ))),
        None => Err(LeaderboardError::Internal(
            "outbound HTTP answered no request".into(),
        )),
    }
}

impl Keys {
    /// The board version the push tier `tier` was last sent (`crate::live::push`).
    pub fn push_sent(&self, tier: &str) -> String {
        self.k(&format!("push:{tier}:sent"))
    }
    /// Held (`SET NX PX <interval>`) while a publish of the board to the push tier `tier` is
    /// under way and for the rest of its interval (`crate::live::push`).
    pub fn push_gate(&self, tier: &str) -> String {
        self.k(&format!("push:{tier}:gate"))
    }
}
