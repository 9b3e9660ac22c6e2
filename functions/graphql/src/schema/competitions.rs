//! The competition fields (docs/competitions.md): a league player's standing, a run's rewards
//! and their claim, and tournaments (listed, a player's own, joined, attempts and grants, ended
//! early and extended). Each calls the edge function its REST route calls, so the rules, the
//! checks and the answers are the same.

use juniper::{GraphQLObject, ID};
use leaderboard::http::operation::Operation;
use leaderboard::policy::access;
use leaderboard::{BoardId, LeaderboardError, PlayerId, Result};

use super::{BoardInfo, Gql, arg_u32, count};

#[derive(GraphQLObject)]
#[graphql(description = "A league's close as a player's standing shows it.")]
pub(super) struct LeagueClose {
    /// The period closed.
    period: String,
    /// When it closed (RFC 3339).
    closed_at: String,
    /// Whether the player has an entry in the period's standings.
    played: bool,
    /// The tier it played the period in.
    from: Option<String>,
    /// How the close moved it: `promoted`, `demoted` or `stayed` (null: it did not play).
    #[graphql(name = "move")]
    moved: Option<String>,
}

impl LeagueClose {
    fn of(c: &edge::competitions::leagues::PastClose) -> Self {
        Self {
            period: c.period.clone(),
            closed_at: c.closed_at.clone(),
            played: c.played,
            from: c.from.clone(),
            moved: c.moved.map(|m| m.as_str().to_string()),
        }
    }
}

#[derive(GraphQLObject)]
#[graphql(description = "Where a player stands in a league.")]
pub(super) struct LeagueStanding {
    board: String,
    player: String,
    /// The league's tiers, lowest first.
    tiers: Vec<String>,
    /// The tier the player plays the current period in.
    tier: String,
    /// Its cohort in the current period (`silver.2`), null before its first submission of it.
    cohort: Option<String>,
    /// The current period.
    period: String,
    /// The league's last close still kept, null before its first (or when none is kept).
    last_close: Option<LeagueClose>,
    /// Each close whose period's standings are still kept, newest first, at most 8.
    history: Vec<LeagueClose>,
}

#[derive(GraphQLObject)]
#[graphql(description = "A player's award in a run.")]
pub(super) struct Award {
    player: String,
    /// Its final rank (in its cohort, on a board with cohorts).
    rank: i32,
    /// The reward of its rank, as JSON text (the game interprets it).
    reward: String,
    /// When it was claimed (RFC 3339), null while unclaimed.
    claimed_at: Option<String>,
    /// Its cohort, on a board with cohorts.
    cohort: Option<String>,
}

impl Award {
    fn of(a: &edge::competitions::rewards::AwardShown) -> Result<Self> {
        Ok(Self {
            player: a.player.clone(),
            rank: count(a.rank),
            reward: serde_json::to_string(&a.reward)
                .map_err(|e| LeaderboardError::Internal(e.to_string()))?,
            claimed_at: a.claimed_at.clone(),
            cohort: a.cohort.clone(),
        })
    }
}

#[derive(GraphQLObject)]
#[graphql(description = "Where a run's rewards stand, and a player's award.")]
pub(super) struct Rewards {
    board: String,
    /// The run: `all` for a tournament of one run, else a period id (a periodic board's, or one of
    /// a tournament of many runs).
    period: String,
    /// `open` (the run has not closed), `pending` (open reviews) or `final`.
    state: String,
    /// When the run was awarded (final only).
    awarded_at: Option<String>,
    /// How many players were awarded (final only).
    awarded: Option<i32>,
    /// When the run is awarded whatever reviews are open (pending only).
    pending_until: Option<String>,
    player: String,
    /// The player's award; null while not final, or for a player awarded nothing.
    award: Option<Award>,
}

#[derive(GraphQLObject)]
#[graphql(description = "A tournament as listed, with a player's standing in a player's list.")]
pub(super) struct Tournament {
    board: ID,
    /// What players see.
    title: String,
    /// The label it is listed by.
    category: Option<String>,
    /// `upcoming`, `open` or `ended`, now.
    phase: String,
    /// When its window opens (RFC 3339).
    start: String,
    /// When it closes (RFC 3339), as it is now (ended early or extended).
    end: Option<String>,
    /// Only players who joined may submit.
    join_required: bool,
    /// Most players who may join; null: unlimited.
    max_size: Option<i32>,
    /// Submissions per player per run, before grants; null: unlimited.
    max_attempts: Option<i32>,
    /// Whether anyone may read its standings.
    public_read: bool,
    /// In a player's list: the run its standing is of (the current one, the last once ended).
    period: Option<String>,
    /// In a player's list: its rank (ties share one), null before its first score.
    rank: Option<i32>,
    /// In a player's list: its score, a decimal in the board's scale, null before its first.
    score: Option<String>,
}

impl Tournament {
    fn of(t: &edge::competitions::tournaments::TournamentShown) -> Self {
        let standing = t.standing.as_ref();
        Self {
            board: ID::new(t.board.as_str()),
            title: t.title.clone(),
            category: t.category.clone(),
            phase: t.phase.to_string(),
            start: t.start.clone(),
            end: t.end.clone(),
            join_required: t.join_required,
            max_size: t.max_size.map(|n| count(u64::from(n))),
            max_attempts: t.max_attempts.map(|n| count(u64::from(n))),
            public_read: t.public_read,
            period: standing.map(|s| s.period.clone()),
            rank: standing.and_then(|s| s.rank).map(count),
            score: standing.and_then(edge::competitions::tournaments::RunStanding::score_text),
        }
    }
}

#[derive(GraphQLObject)]
#[graphql(description = "A page of tournaments.")]
pub(super) struct TournamentList {
    /// The player, for a player's list.
    player: Option<ID>,
    tournaments: Vec<Tournament>,
    /// The cursor of the next page, null on the last.
    next_cursor: Option<String>,
}

impl TournamentList {
    fn of(
        player: Option<&PlayerId>,
        page: &edge::competitions::tournaments::TournamentPage,
    ) -> Self {
        Self {
            player: player.map(|p| ID::new(p.as_str())),
            tournaments: page.tournaments.iter().map(Tournament::of).collect(),
            next_cursor: page.next_cursor.clone(),
        }
    }
}

#[derive(GraphQLObject)]
#[graphql(description = "A player's attempts in a tournament's current run.")]
pub(super) struct Attempts {
    board: ID,
    player: ID,
    /// The run.
    period: String,
    /// Submissions per player per run, before grants; null: unlimited.
    max_attempts: Option<i32>,
    /// Attempts granted to the player in this run.
    granted: i32,
    /// `maxAttempts` plus the grants; null: unlimited.
    allowed: Option<i32>,
    /// Submissions the player made in this run.
    used: i32,
    /// What is left; null: unlimited.
    left: Option<i32>,
}

impl Attempts {
    fn of(a: &edge::competitions::tournaments::AttemptsShown) -> Self {
        Self {
            board: ID::new(a.board.as_str()),
            player: ID::new(a.player.as_str()),
            period: a.period.clone(),
            max_attempts: a.max_attempts.map(|n| count(u64::from(n))),
            granted: count(a.granted),
            allowed: a.allowed.map(count),
            used: count(a.used),
            left: a.left.map(count),
        }
    }
}

#[derive(GraphQLObject)]
#[graphql(description = "A player in a tournament.")]
pub(super) struct JoinResult {
    board: ID,
    player: ID,
    /// How many players joined, this one included.
    players: i32,
    /// Whether it joined now (false: it had joined before, and nothing changed).
    joined_now: bool,
}

#[derive(GraphQLObject)]
#[graphql(
    description = "A run's awards, in rank order (cohort by cohort on a board with cohorts)."
)]
pub(super) struct RunAwards {
    board: String,
    /// The run: `all` for a tournament of one run, else a period id (a periodic board's, or one of
    /// a tournament of many runs).
    period: String,
    /// `open` (the run has not closed), `pending` (open reviews) or `final`.
    state: String,
    /// When the run was awarded (final only).
    awarded_at: Option<String>,
    /// How many players were awarded (final only).
    awarded: Option<i32>,
    /// When the run is awarded whatever reviews are open (pending only).
    pending_until: Option<String>,
    /// The page of awards (none while not final).
    awards: Vec<Award>,
    /// The cursor of the next page, null on the last.
    next_cursor: Option<String>,
}

/// The player a competition field is about, checked against the caller: its own token, or a
/// service or admin one.
fn own_player(context: &Gql<'_>, player: &str) -> Result<PlayerId> {
    let player = PlayerId::new(player)?;
    access::authorize_own(context.ctx.require_principal()?, &player)?;
    Ok(player)
}

/// A root field admitted as its REST route is, before any other check: it counts towards the
/// request's root fields and passes the rate limits as a call of `operation` on `board`, or on
/// none for a listing.
async fn admit(context: &Gql<'_>, operation: Operation, board: Option<&str>) -> Result<()> {
    context.count_field()?;
    edge::ratelimit::enforce_as(context.ctx, context.call, operation, board).await
}

/// [`admit`] for a field about one board: its id.
async fn admit_board(context: &Gql<'_>, operation: Operation, board: &str) -> Result<BoardId> {
    context.count_field()?;
    edge::reads::admit(context.ctx, context.call, operation, board).await
}

/// A listing's page: `limit` and `cursor` as the GraphQL arguments give them.
fn page_asked(
    limit: i32,
    cursor: Option<&str>,
) -> Result<edge::competitions::tournaments::PageAsked<'_>> {
    edge::competitions::tournaments::PageAsked::new(Some(i64::from(limit)), cursor)
}

pub(super) async fn league(
    context: &Gql<'_>,
    board: &str,
    player: &str,
) -> Result<Option<LeagueStanding>> {
    let id = admit_board(context, Operation::GetLeague, board).await?;
    let p = own_player(context, player)?;
    let (b, _) = edge::reads::board(context.ctx, &id, context.call.now_ms).await?;
    let repo = context.ctx.repo().await?;
    let at = edge::repo::BoardAt::new(repo, &context.ctx.tenant, &b, context.call.now_ms);
    let s = edge::competitions::leagues::standing(&at, &p).await?;
    Ok(Some(LeagueStanding {
        board: s.board.clone(),
        player: s.player.clone(),
        tiers: s.tiers.clone(),
        tier: s.tier.clone(),
        cohort: s.cohort.clone(),
        period: s.period.clone(),
        last_close: s.last_close.as_ref().map(LeagueClose::of),
        history: s.history.iter().map(LeagueClose::of).collect(),
    }))
}

pub(super) async fn rewards(
    context: &Gql<'_>,
    board: &str,
    player: &str,
    period: Option<&str>,
) -> Result<Option<Rewards>> {
    let id = admit_board(context, Operation::GetRewards, board).await?;
    let p = own_player(context, player)?;
    let repo = context.ctx.repo().await?;
    let (run, rewards, award) = edge::competitions::rewards::of_player(
        repo,
        &context.ctx.tenant,
        &id,
        period,
        &p,
        context.call.now_ms,
    )
    .await?;
    let shown = edge::competitions::rewards::RewardsShown::of(&id, &run, &rewards);
    Ok(Some(Rewards {
        board: shown.board,
        period: shown.period,
        state: shown.state.to_string(),
        awarded_at: shown.awarded_at,
        awarded: shown.awarded.map(count),
        pending_until: shown.pending_until,
        player: p.to_string(),
        award: award.as_ref().map(Award::of).transpose()?,
    }))
}

pub(super) async fn awards(
    context: &Gql<'_>,
    board: &str,
    period: Option<&str>,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Option<RunAwards>> {
    let id = admit_board(context, Operation::GetRewards, board).await?;
    access::authorize_operator(context.ctx.require_principal()?, "listing a run's awards")?;
    let repo = context.ctx.repo().await?;
    let listed = edge::competitions::rewards::awards_listed(
        repo,
        &context.ctx.tenant,
        &id,
        period,
        arg_u32("limit", limit)?,
        cursor,
        context.call.now_ms,
    )
    .await?;
    let shown = listed.rewards;
    Ok(Some(RunAwards {
        board: shown.board,
        period: shown.period,
        state: shown.state.to_string(),
        awarded_at: shown.awarded_at,
        awarded: shown.awarded.map(count),
        pending_until: shown.pending_until,
        awards: listed.awards.iter().map(Award::of).collect::<Result<_>>()?,
        next_cursor: listed.next_cursor,
    }))
}

pub(super) async fn claim(
    context: &Gql<'_>,
    board: &str,
    player: &str,
    period: Option<&str>,
) -> Result<Option<Award>> {
    let id = admit_board(context, Operation::ClaimReward, board).await?;
    let p = own_player(context, player)?;
    let repo = context.ctx.repo().await?;
    let (_, award) = edge::competitions::rewards::claim_award(
        repo,
        &context.ctx.tenant,
        &id,
        period,
        &p,
        context.call.now_ms,
    )
    .await?;
    Award::of(&award).map(Some)
}

pub(super) async fn tournaments(
    context: &Gql<'_>,
    state: Option<&str>,
    category: Option<&str>,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Option<TournamentList>> {
    admit(context, Operation::ListTournaments, None).await?;
    let page = edge::competitions::tournaments::listed(
        context.ctx,
        context.call.now_ms,
        state,
        category,
        page_asked(limit, cursor)?,
    )
    .await?;
    Ok(Some(TournamentList::of(None, &page)))
}

pub(super) async fn joined(
    context: &Gql<'_>,
    player: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Option<TournamentList>> {
    admit(context, Operation::ListPlayerTournaments, None).await?;
    let p = own_player(context, player)?;
    let page = edge::competitions::tournaments::joined_by(
        context.ctx,
        context.call.now_ms,
        &p,
        page_asked(limit, cursor)?,
    )
    .await?;
    Ok(Some(TournamentList::of(Some(&p), &page)))
}

pub(super) async fn attempts(
    context: &Gql<'_>,
    board: &str,
    player: &str,
) -> Result<Option<Attempts>> {
    let id = admit_board(context, Operation::GetAttempts, board).await?;
    let p = PlayerId::new(player)?;
    let shown =
        edge::competitions::tournaments::attempts_of(context.ctx, context.call.now_ms, &id, &p)
            .await?;
    Ok(Some(Attempts::of(&shown)))
}

pub(super) async fn join(
    context: &Gql<'_>,
    board: &str,
    player: &str,
) -> Result<Option<JoinResult>> {
    let id = admit_board(context, Operation::JoinTournament, board).await?;
    let p = PlayerId::new(player)?;
    let joined =
        edge::competitions::tournaments::join_player(context.ctx, context.call, &id, &p).await?;
    Ok(Some(JoinResult {
        board: ID::new(joined.board.as_str()),
        player: ID::new(joined.player.as_str()),
        players: count(joined.players),
        joined_now: joined.now,
    }))
}

pub(super) async fn grant(
    context: &Gql<'_>,
    board: &str,
    player: &str,
    extra: i32,
) -> Result<Option<Attempts>> {
    let id = admit_board(context, Operation::GrantAttempts, board).await?;
    let p = PlayerId::new(player)?;
    let extra = u64::from(arg_u32("extra", extra)?);
    let shown =
        edge::competitions::tournaments::grant_more(context.ctx, context.call, &id, &p, extra)
            .await?;
    Ok(Some(Attempts::of(&shown)))
}

pub(super) async fn end(context: &Gql<'_>, board: &str) -> Result<Option<BoardInfo>> {
    let id = admit_board(context, Operation::EndTournament, board).await?;
    let b = edge::competitions::tournaments::end_now(context.ctx, context.call, &id).await?;
    BoardInfo::of(&b, context.call.now_ms).map(Some)
}

pub(super) async fn extend(context: &Gql<'_>, board: &str, end: &str) -> Result<Option<BoardInfo>> {
    let id = admit_board(context, Operation::ExtendTournament, board).await?;
    let b = edge::competitions::tournaments::extend_to(context.ctx, context.call, &id, end).await?;
    BoardInfo::of(&b, context.call.now_ms).map(Some)
}
