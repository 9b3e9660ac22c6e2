//! Which cohort a read of a board with cohorts shows its caller
//! (`leaderboard::competition::cohort::scope`): the rule is the core's; this looks the reader's
//! placement up.

pub mod store;

use leaderboard::competition::cohort::{self, CohortId, Scope};
use leaderboard::{Board, PeriodId, PlayerId, Result, policy::access};

use crate::api::Ctx;
use crate::repo::Keys;

/// The cohort a read of `period` on `board` shows (`None`: the whole board's standings, or a
/// board without cohorts), by [`cohort::scope`]: a caller who may read any cohort
/// ([`access::reads_any_cohort`]) reads the one it `asked` for or the whole board; a player
/// reads its own cohort (the one its first submission of the period placed it in).
pub async fn scope(
    ctx: &Ctx<'_>,
    board: &Board,
    period: &PeriodId,
    asked: Option<&str>,
) -> Result<Option<CohortId>> {
    let asked = board.cohort_asked(asked)?;
    let Some(size) = board.cohort_size else {
        return Ok(None);
    };
    let any = access::reads_any_cohort(ctx.principal.as_ref(), board);
    let own = match &ctx.principal {
        Some(reader) if !any => match PlayerId::new(reader.subject.as_str()) {
            Ok(player) => {
                let keys = Keys::new(&ctx.tenant, &board.id);
                ctx.repo()
                    .await?
                    .placement(&keys, period, size, &player)
                    .await?
            }
            // A subject that is no player id was never placed.
            Err(_) => None,
        },
        _ => None,
    };
    Ok(match cohort::scope(asked, own, any)? {
        Scope::Cohort(c) => Some(c),
        Scope::Board => None,
    })
}
