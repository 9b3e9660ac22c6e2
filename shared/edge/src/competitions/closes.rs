//! A periodic board's closes (`Board::closes_periods`: a league, or a daily, weekly or monthly
//! board with rewards), as the worker makes them when the board's item in the schedule
//! (`crate::schedule::Item::Competition`, as a tournament's) is due at a period's end. Readers
//! and writers make the same closes when they find them due first (`crate::competitions::leagues`,
//! `crate::competitions::rewards`); each is made once whoever makes it.

use leaderboard::Result;
use leaderboard::board::period;

use crate::repo::BoardAt;
use crate::schedule::{Held, Item};

/// What follows the close of a board's runs (a periodic board's periods, a tournament of many
/// runs' runs), for the worker: the rewards of every run that ended are awarded when due
/// ([`crate::competitions::rewards::settle_ended`]), and the close marks of runs no longer kept are dropped
/// (`Repo::trim_closes`: read by nothing, so the closes hash stays as small as the retention).
/// Answers when to look again (awards waiting for reviews). An outage is returned, to be tried
/// again; anything else would fail the same way every time (a damaged table, a mark that does
/// not parse): it is logged and left, the awards to their readers.
pub async fn after_runs_closed(at: &BoardAt<'_>) -> Result<Option<i64>> {
    let (repo, tenant, board, _, now_ms) = at.parts();
    let awards_again = match crate::competitions::rewards::settle_ended(at).await {
        Ok(again) => again,
        Err(e) if e.is_outage() => return Err(e),
        Err(e) => {
            eprintln!(
                "closes: the rewards of {tenant}/{} (left to readers): {e}",
                board.id
            );
            None
        }
    };
    match repo
        .trim_closes(at.keys(), board.period, board.retain_periods, now_ms)
        .await
    {
        Ok(_) => {}
        Err(e) if e.is_outage() => return Err(e),
        Err(e) => eprintln!("closes: the marks of {tenant}/{} (left): {e}", board.id),
    }
    Ok(awards_again)
}

/// The worker's close of the board whose schedule item was due, a board that closes its periods
/// (`Board::closes_periods`): on a league every period that ended is closed
/// ([`crate::competitions::leagues::close_due`]), the rewards of every period that ended are awarded when due
/// ([`crate::competitions::rewards::settle_ended`]) and the close marks of periods no longer kept are dropped
/// (`Repo::trim_closes`); then the entry is noted again for the current period's end, or
/// sooner for awards waiting for reviews — holding to what the caller's lease gave it,
/// `held` (a note made since keeps its time). A close or an award that fails for an outage returns its
/// error with the entry leased: it is due again when the lease ends. An award that would fail
/// every time (a damaged table) is logged and left to its readers.
pub async fn on_due(at: &BoardAt<'_>, held: &Held) -> Result<()> {
    crate::competitions::leagues::close_due(at).await?;
    let awards_again = after_runs_closed(at).await?;
    let item = Item::Competition(at.tenant().clone(), at.board().id.clone());
    let next = [
        period::next_reset_ms(at.board().period, at.now_ms)?,
        awards_again,
    ]
    .into_iter()
    .flatten()
    .min();
    at.repo.due_next(&item, next, at.now_ms, held).await
}
