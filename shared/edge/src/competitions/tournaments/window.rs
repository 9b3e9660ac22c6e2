//! A tournament's window after it was created: an admin ends it early or extends it (`POST
//! /api/{v}/boards/{board}/tournament/end`, `…/extend`), and its announcements,
//! `tournament_started` and `tournament_ended` in the board's log (and so the
//! `tournament.started` and `tournament.ended` webhooks), each made once: by the worker when
//! the schedule's item for it ([`crate::schedule::Item::Competition`]) is due at the window's
//! start and end, or by the request that ended it early.

use leaderboard::Conflict;
use leaderboard::board::view::{self, PeriodView};
use leaderboard::competition::tournament::{Phase, Refusal, Tournament, Window};
use leaderboard::{
    Board, BoardId, EventEnvelope, LeaderboardError, Result, TenantId, policy::access,
};
use serde::Deserialize;
use serde_json::json;

use crate::api::Ctx;
use crate::competitions::tournaments::store::{Announce, WindowWrite};
use crate::http::{Call, Response};
use crate::repo::{BoardAt, Keys, Repo};
use crate::schedule::{Held, Item, NoteMode};

/// Times a window change or an announcement decides again on a config that changed meanwhile
/// before it gives up (`409`, or left to the next alarm).
const DECIDE_ATTEMPTS: usize = 8;

/// How long a creation's mark ([`Keys::creating`]) says a board noted in the schedule may still
/// be on its way to being stored: longer than any creation request takes; a request that died
/// between the note and the store leaves a mark that ends with it.
pub const CREATING_MS: u64 = 60_000;

/// When the worker looks again for a board whose creation is on its way (ms from then).
pub const CREATING_RECHECK_MS: i64 = 1_000;

/// Notes a new tournament in the register, due when its window opens (at once if it has), or
/// earlier if it is noted already (a creation refused because the id is taken must not
/// postpone the existing board's); a new board that closes its periods (a league, a periodic
/// board with rewards), due when its first period ends (its close,
/// [`crate::competitions::closes::on_due`]). Called before the board is stored, so no tournament or league
/// is ever stored without its note. A tournament already open is due at once, so its creation
/// is marked first ([`Keys::creating`]): and the worker may serve it before the request has
/// stored the board; finding none but the mark, it looks again a second later (without the mark,
/// a note whose board was never created is forgotten).
pub async fn note_created(at: &BoardAt<'_>) -> Result<()> {
    let (repo, tenant, board, _, now_ms) = at.parts();
    let due = match &board.tournament {
        Some(_) => board.tournament_due_ms(false, false, now_ms)?,
        // A board that closes its periods (a league, a periodic board with rewards) is due when
        // its first period ends: its close (`crate::competitions::closes::on_due`).
        None if board.closes_periods() => {
            leaderboard::board::period::next_reset_ms(board.period, now_ms)?
        }
        None => None,
    };
    // Every tournament's creation is marked: one already open is due before the board is stored
    // (the worker waits for it), and any is indexed for the listing before (which keeps it).
    if board.tournament.is_some() {
        repo.set_px(&at.keys().creating(), &now_ms.to_string(), CREATING_MS)
            .await?;
    }
    match due {
        Some(due) => {
            let item = Item::Competition(tenant.clone(), board.id.clone());
            repo.due_note(&item, due, now_ms, NoteMode::Earlier)
                .await
                .map(|_| ())
        }
        None => Ok(()),
    }
}

/// Makes the announcements the tournament `id` owes at `now_ms`, in order, each once (the
/// script appends it only if it was not made, and only while the board's config is the one the
/// decision read), then notes when the next is due, or forgets the tournament when nothing
/// more is (or the board is gone) — holding to what the caller's lease gave it, `held`: an
/// entry noted again meanwhile (a new board of the id, a changed window) keeps its own time.
pub async fn announce(
    repo: &Repo,
    tenant: &TenantId,
    id: &BoardId,
    now_ms: i64,
    held: &Held,
) -> Result<()> {
    let keys = Keys::new(tenant, id);
    let item = Item::Competition(tenant.clone(), id.clone());
    'decide: for _ in 0..DECIDE_ATTEMPTS {
        let (raw, board) = match repo.board_raw(tenant, id).await {
            Ok(found) => found,
            // Its creation may be on its way (noted before it is stored): looked at again soon.
            Err(LeaderboardError::BoardNotFound(_)) if repo.creation_on_its_way(&keys).await? => {
                return repo
                    .due_give_back(&item, now_ms + CREATING_RECHECK_MS, now_ms, held)
                    .await;
            }
            Err(LeaderboardError::BoardNotFound(_)) => {
                return repo.due_forget(&item, Some(held), now_ms).await;
            }
            Err(e) => return Err(e),
        };
        let at = BoardAt::new(repo, tenant, &board, now_ms);
        if board.closes_periods() && board.tournament.is_none() {
            return crate::competitions::closes::on_due(&at, held).await;
        }
        let Some(t) = &board.tournament else {
            return repo.due_forget(&item, Some(held), now_ms).await;
        };
        let made = repo.tournament_announced(&keys).await?;
        let window = t.window;
        let owed = window.owed(made.started, made.ended, now_ms);
        let mut due = Vec::new();
        if owed.started {
            due.push((
                "started",
                EventEnvelope::tournament_started(tenant, id, window),
            ));
        }
        if owed.ended {
            let ended = EventEnvelope::tournament_ended(tenant, id, window, made.early);
            due.push(("ended", ended));
        }
        for (which, event) in due {
            let json = event.to_json()?;
            if repo
                .tournament_announce(&keys, which, &raw, &json, now_ms)
                .await?
                == Announce::ConfigChanged
            {
                continue 'decide;
            }
        }
        let ended = owed.ended || made.ended;
        let rewards_due = rewards_due(&at, ended).await;
        let next_ms = [owed.next_ms, rewards_due, board.next_run_close_ms(now_ms)?]
            .into_iter()
            .flatten()
            .min();
        return repo.due_next(&item, next_ms, now_ms, held).await;
    }
    Err(Conflict::AnnounceRaced {
        board: id.to_string(),
        attempts: DECIDE_ATTEMPTS,
    }
    .into())
}

/// The tournament's rewards, awarded once its end is announced (`ended`: the standings are
/// final then), and when it is due again for them (`None`: not for them). While they wait for
/// open reviews the tournament stays noted until the grace ends, when they are awarded whatever
/// is open (a review's decision, a read or a claim may do it sooner); an award that failed is
/// tried again like a failed announcement.
async fn rewards_due(at: &BoardAt<'_>, ended: bool) -> Option<i64> {
    let (repo, tenant, board, _, now_ms) = at.parts();
    let id = &board.id;
    if board.closes_periods() {
        // A tournament of many runs: every run that closed is paid, each as a period's
        // close (its last with the window's end), as a periodic board's are.
        match crate::competitions::closes::after_runs_closed(at).await {
            Ok(again) => again,
            Err(e) => {
                eprintln!("tournaments: awarding the runs of {tenant}/{id} (again soon): {e}");
                Some(now_ms.saturating_add(crate::schedule::LEASE_MS))
            }
        }
    } else if board.rewards.is_some() && ended {
        match crate::competitions::rewards::settle(repo, tenant, id, None, now_ms).await {
            Ok((_, _, rewards)) => rewards.due_again_ms(),
            // An outage passes: tried again like a failed announcement.
            Err(e) if e.is_outage() => {
                eprintln!("tournaments: awarding the rewards of {tenant}/{id} (again soon): {e}");
                Some(now_ms.saturating_add(crate::schedule::LEASE_MS))
            }
            // Anything else (a damaged table, a config that kept changing) would fail the
            // same way every time: left to the next read, claim or review decision.
            Err(e) => {
                eprintln!(
                    "tournaments: awarding the rewards of {tenant}/{id} (left to readers): {e}"
                );
                None
            }
        }
    } else {
        None
    }
}

/// An extension's body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtendInput {
    /// The new end (RFC 3339), later than the window's and than now.
    end: String,
}

/// Changes the tournament's window to what `decide` makes of it (a compare-and-set of the
/// board's config; `early`: an admin ended it), then — the change made, so each step only
/// logs a failure — notes the register for its next announcement (due at once for an early
/// end), indexes its new end and drops the regions' cached copies. `409` for a board that is no
/// tournament, or one whose end was announced. The board, and for an early end what its note
/// gave the item (`None` when the note failed: the worker announces at its old end).
async fn change_window(
    ctx: &Ctx<'_>,
    board_id: &BoardId,
    now_ms: i64,
    early: bool,
    decide: impl Fn(&Tournament) -> std::result::Result<Window, Refusal>,
) -> Result<(Board, Option<Held>)> {
    let repo = ctx.repo().await?;
    let keys = Keys::new(&ctx.tenant, board_id);
    for _ in 0..DECIDE_ATTEMPTS {
        let (raw, board) = repo.board_raw(&ctx.tenant, board_id).await?;
        let Some(t) = &board.tournament else {
            return Err(Conflict::NotATournament {
                board: board_id.to_string(),
                why: "it has no window to change",
            }
            .into());
        };
        let window = decide(t)?;
        let changed = board.with_window(window);
        let json = changed.to_stored()?;
        match repo
            .tournament_window(&keys, &raw, &json, window.end_ms, early)
            .await?
        {
            WindowWrite::Changed => {
                let held = after_change(ctx, repo, board_id, &changed, early, now_ms).await;
                return Ok((changed, held));
            }
            WindowWrite::Stale => {}
            WindowWrite::Ended => {
                return Err(Refusal::Closed {
                    phase: Phase::Ended,
                    window: t.window,
                }
                .into());
            }
        }
    }
    Err(Conflict::WindowChangeRaced {
        board: board_id.to_string(),
        attempts: DECIDE_ATTEMPTS,
    }
    .into())
}

/// What follows a window's change (each failure logged: the change was made): the register's
/// note for the next announcement (`early`: an admin ended it, due now; what the note gave the
/// item is answered, for the caller's announcement), the index's end, the regions' cached copies
/// dropped.
async fn after_change(
    ctx: &Ctx<'_>,
    repo: &Repo,
    board_id: &BoardId,
    changed: &Board,
    early: bool,
    now_ms: i64,
) -> Option<Held> {
    let tenant = &ctx.tenant;
    let noted = async {
        if changed.tournament.is_none() {
            return Ok(None);
        }
        let made = repo
            .tournament_announced(&Keys::new(tenant, board_id))
            .await?;
        let item = Item::Competition(tenant.clone(), board_id.clone());
        match changed.tournament_due_ms(made.started, made.ended, now_ms)? {
            // Due now: the caller announces the end at once, holding the entry by this note.
            Some(due) if early => repo
                .due_note(&item, due, now_ms, NoteMode::Always)
                .await
                .map(Some),
            // An extension notes earlier only: an entry due sooner (a run's close, an award
            // waiting for reviews) rings first, and its handling notes the next due time then.
            Some(due) => repo
                .due_note(&item, due, now_ms, NoteMode::Earlier)
                .await
                .map(|_| None),
            None => Ok(None),
        }
    };
    let held = noted.await.unwrap_or_else(|e| {
        eprintln!(
            "tournaments: noting {tenant}/{board_id} after its window changed (the alarm of its old end takes it): {e}"
        );
        None
    });
    if let Err(e) = super::index(repo, tenant, changed).await {
        eprintln!(
            "tournaments: indexing {tenant}/{board_id}'s new end (listed by its old one): {e}"
        );
    }
    if let Err(e) = ctx.invalidate_everywhere(board_id.as_str(), true).await {
        eprintln!("tournaments: dropping the cached copies of {tenant}/{board_id}: {e}");
    }
    held
}

/// The board as `GET /api/{v}/boards/{board}` answers it.
fn board_answer(call: &Call<'_>, board: &Board) -> Result<Response> {
    let period = PeriodView::resolve(board, None, call.now_ms)?;
    Ok(crate::http::json(
        200,
        call.version,
        &view::board(call.version, board, &period),
    ))
}

/// `POST /api/{v}/boards/{board}/tournament/end` (`admin`): ends an open tournament now
/// (`409` `tournament-closed` for one upcoming, which is deleted instead, or ended) and
/// announces its end (`tournament_ended` with `early`, and so the `tournament.ended` webhook)
/// before answering the board with its window as it is now. If the announcement fails, the
/// worker makes it (the register holds it due at once). Audited (`tournament.end`).
pub async fn end_early(ctx: &Ctx<'_>, call: &Call<'_>, board_id: &BoardId) -> Result<Response> {
    let board = end_now(ctx, call, board_id).await?;
    board_answer(call, &board)
}

/// Ends the open tournament `board_id` now, as [`end_early`] does (REST, GraphQL, Connect): the
/// board with its window as it is now.
pub async fn end_now(ctx: &Ctx<'_>, call: &Call<'_>, board_id: &BoardId) -> Result<Board> {
    access::authorize_admin(ctx.require_principal()?)?;
    let now_ms = call.now_ms;
    let (board, held) =
        change_window(ctx, board_id, now_ms, true, |t| t.window.end_early(now_ms)).await?;
    let end = board.tournament.as_ref().map(|t| t.to_input().end);
    crate::audit::record(
        ctx,
        call,
        "tournament.end",
        board_id.as_str(),
        json!({ "end": end }),
    )
    .await;
    let repo = ctx.repo().await?;
    // The register holds it due now (`after_change`): announced here, else by the worker.
    if let Some(held) = held
        && let Err(e) = announce(repo, &ctx.tenant, board_id, now_ms, &held).await
    {
        eprintln!("tournaments: announcing the early end of {board_id} (left to the worker): {e}");
    }
    Ok(board)
}

/// `POST /api/{v}/boards/{board}/tournament/extend` `{"end"}` (`admin`): moves an upcoming or
/// open tournament's end later (`409` `tournament-closed` once it has ended; `409` `conflict`
/// for an end that is not later than the window's and now), and answers the board with its
/// window as it is now. Audited (`tournament.extend`).
pub async fn extend(ctx: &Ctx<'_>, call: &Call<'_>, board_id: &BoardId) -> Result<Response> {
    access::authorize_admin(ctx.require_principal()?)?;
    let input: ExtendInput = call.json()?;
    let board = extend_to(ctx, call, board_id, &input.end).await?;
    board_answer(call, &board)
}

/// Moves the tournament `board_id`'s end to `end` (RFC 3339), as [`extend`] does (REST,
/// GraphQL, Connect): the board with its window as it is now.
pub async fn extend_to(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    board_id: &BoardId,
    end: &str,
) -> Result<Board> {
    access::authorize_admin(ctx.require_principal()?)?;
    let end_ms = leaderboard::time::parse(end).ok_or_else(|| {
        LeaderboardError::InvalidBody(format!("end '{end}' is not an RFC 3339 timestamp"))
    })?;
    let now_ms = call.now_ms;
    let (board, _) = change_window(ctx, board_id, now_ms, false, |t| {
        t.window.extend(end_ms, now_ms)
    })
    .await?;
    let end = board.tournament.as_ref().map(|t| t.to_input().end);
    crate::audit::record(
        ctx,
        call,
        "tournament.extend",
        board_id.as_str(),
        json!({ "end": end }),
    )
    .await;
    Ok(board)
}
