//! The GraphQL schema (`api/schema.graphql` is its printed form, checked in CI) and its resolvers.
//!
//! Every root field is one call into the same code the REST API runs: it passes the rate limits
//! as a call of its operation on its board ([`edge::ratelimit::enforce_as`]: the class of
//! `leaderboard::http::operation`'s row, as its REST route), loads the board config
//! cache-aside ([`edge::reads::board`]), checks read access like `GET …/entries`, and reads with
//! [`edge::reads`] or submits with [`edge::submissions::submit::submit_input`]. A failure becomes a GraphQL
//! error of that field ([`crate::errors`]) and the field is null; the other fields still answer
//! (every root field is nullable for that reason).
//!
//! Numbers that must stay exact are strings: `score` (a decimal in the board's scale, as API v2
//! writes it) and `subscore` (a 64-bit integer). `metadata` is the entry's metadata object as JSON
//! text (GraphQL has no object scalar; a client parses it where it shows it).

use std::cell::RefCell;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use edge::api::Ctx;
use edge::http::Call;
use edge::reads::{self, At, Ranked};
use juniper::futures::channel::mpsc::UnboundedReceiver;
use juniper::{FieldResult, GraphQLInputObject, GraphQLObject, ID, graphql_object};
use leaderboard::board::view::{EntryView, PeriodView};
use leaderboard::events::outcome::Fate;
use leaderboard::http::i18n::Lang;
use leaderboard::http::operation::Operation;
use leaderboard::{Board, LeaderboardError, PlayerId, Result, SubmissionInput};
use serde_json::Value;

use crate::errors::field_error;

mod competitions;
mod live;
use competitions::{
    Attempts, Award, JoinResult, LeagueStanding, Rewards, RunAwards, TournamentList,
};
pub use live::Subscription;

/// Entries on one page when `limit` is not given.
const DEFAULT_LIMIT: i32 = 10;
/// Neighbours either side when `radius` is not given.
const DEFAULT_RADIUS: i32 = 5;
/// Tournaments on one page when `limit` is not given (as REST).
const DEFAULT_LIST: i32 = 20;
/// Awards on one page when `limit` is not given (as REST).
const DEFAULT_AWARDS: i32 = 100;

/// What the resolvers share for one request: the admitted caller and the request, the language
/// errors are written in, and what the answer's caching may promise.
pub struct Gql<'r> {
    /// The admitted caller.
    ctx: &'r Ctx<'r>,
    /// The request.
    call: &'r Call<'r>,
    /// The language of error messages (`Accept-Language`).
    lang: Lang,
    caching: RefCell<Caching>,
    board_fields: std::cell::Cell<u32>,
    /// A subscription's board versions, handed over by the transport ([`crate::sse`]); taken by
    /// the subscription's root field.
    feed: RefCell<Option<UnboundedReceiver<i64>>>,
    /// The board the subscription's root field admitted, which the transport follows.
    followed: RefCell<Option<Arc<Board>>>,
    /// A board admitted earlier for this request (the subscription's admission before its head),
    /// which the root field takes instead of admitting it again.
    admitted: Option<Arc<Board>>,
    /// Why the subscription's root field was refused, for the transport to answer with its status.
    refused: RefCell<Option<LeaderboardError>>,
}

/// What a GET answer's `Cache-Control` may say: public only when every board read is
/// `public_read` and cached, for the shortest TTL among them.
#[derive(Debug, Clone, Copy)]
pub struct Caching {
    /// Every board read allows a shared cache.
    pub public: bool,
    /// The shortest `cache.ttl_secs` of the boards read.
    pub ttl_secs: Option<u32>,
    /// The shortest `cache.stale_secs` of the boards read.
    pub stale_secs: Option<u32>,
}

impl juniper::Context for Gql<'_> {}

// SAFETY: juniper's async resolvers demand a `Sync` context; this one holds the request's
// single-threaded handles (`Ctx`'s lazily opened connections, the `Call`'s response headers) and
// cells. It is only ever used by `ValidatedOperation::execute` and `resolve_into_stream` on the
// thread that built it (`crate::route`, `crate::sse`), whose resolvers and streams run as
// `OnThisThread` futures polled on that thread, and no
// reference to it crosses a thread (the component is a single-threaded Wasm instance serving one
// request). Nothing outside this crate can reach one: the module is private and its fields too.
unsafe impl Sync for Gql<'_> {}

/// A resolver's work, as juniper's async executor takes it: that executor boxes every field's
/// future as `Send`, and the work waits on the request's single-threaded handles (`Ctx`'s
/// connections, the KV store, `Gql`'s cells), which are not.
struct OnThisThread<'a, T>(Pin<Box<dyn Future<Output = T> + 'a>>);

// SAFETY: the work is made and polled only on the thread that serves the request: the component
// is a single-threaded Wasm instance, whose executor (spin-sdk's, running `crate::route`) polls
// the request's futures, juniper's among them, on that thread; juniper polls the futures it
// boxes where it is polled itself and never hands one to another thread.
unsafe impl<T> Send for OnThisThread<'_, T> {}

impl<T> Future for OnThisThread<'_, T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<T> {
        self.0.as_mut().poll(cx)
    }
}

impl<'r> Gql<'r> {
    /// The context of one request.
    pub fn new(ctx: &'r Ctx<'r>, call: &'r Call<'r>, lang: Lang) -> Self {
        Self {
            ctx,
            call,
            lang,
            caching: RefCell::new(Caching {
                public: true,
                ttl_secs: None,
                stale_secs: None,
            }),
            board_fields: std::cell::Cell::new(0),
            feed: RefCell::new(None),
            followed: RefCell::new(None),
            admitted: None,
            refused: RefCell::new(None),
        }
    }

    /// The context of a subscription whose board was admitted before its head: the root field
    /// takes `board` (when it names it) without a second rate-limit call.
    pub fn admitted(mut self, board: Arc<Board>) -> Self {
        self.admitted = Some(board);
        self
    }

    /// Why the subscription's root field was refused, if it was.
    pub fn refusal(&self) -> Option<LeaderboardError> {
        self.refused.borrow().clone()
    }

    /// The context of a subscription, whose root field takes `versions`: the board versions the
    /// transport hands over as it sees them.
    pub fn subscribing(mut self, versions: UnboundedReceiver<i64>) -> Self {
        self.feed = RefCell::new(Some(versions));
        self
    }

    /// The board the subscription follows, once its root field has admitted it.
    pub fn followed(&self) -> Option<Arc<Board>> {
        self.followed.borrow().clone()
    }

    /// The subscription's feed, for its root field (a subscription has one root field: a second
    /// finds the feed taken).
    fn take_feed(&self) -> Result<UnboundedReceiver<i64>> {
        self.feed.borrow_mut().take().ok_or_else(|| {
            LeaderboardError::InvalidBody("a subscription selects exactly one root field".into())
        })
    }

    /// The subscription's admission of board `id`: the board admitted before the head, or a read
    /// call against the rate limits with read access ([`Gql::readable`]); a refusal is kept for
    /// the transport. The board is the one the transport follows.
    async fn follow(&self, id: &str) -> Result<Arc<Board>> {
        let board = match &self.admitted {
            Some(board) if board.id.as_str() == id => Arc::clone(board),
            _ => match self.readable(Operation::StreamUpdates, id).await {
                Ok(board) => Arc::new(board),
                Err(e) => {
                    *self.refused.borrow_mut() = Some(e.clone());
                    return Err(e);
                }
            },
        };
        *self.followed.borrow_mut() = Some(Arc::clone(&board));
        Ok(board)
    }

    /// What the answer's caching may promise, after execution.
    pub fn caching(&self) -> Caching {
        *self.caching.borrow()
    }

    fn at<'a>(
        &self,
        period: Option<&'a str>,
        as_of: Option<&'a str>,
        cohort: Option<&'a str>,
    ) -> At<'a> {
        At {
            now_ms: self.call.now_ms,
            period,
            as_of,
            cohort,
        }
    }

    /// One root field's admission: at most [`crate::MAX_BOARD_FIELDS`] per request, then
    /// [`edge::reads::board_for_call`] (rate limits, board config, read access for a read).
    async fn board(&self, operation: Operation, id: &str) -> Result<Board> {
        self.count_field()?;
        reads::board_for_call(self.ctx, self.call, operation, id).await
    }

    /// Counts one root field that reads or writes boards: at most [`crate::MAX_BOARD_FIELDS`].
    fn count_field(&self) -> Result<()> {
        let n = self.board_fields.get() + 1;
        self.board_fields.set(n);
        if n > crate::MAX_BOARD_FIELDS {
            return Err(LeaderboardError::InvalidBody(format!(
                "at most {} root fields of one request may read or write a board",
                crate::MAX_BOARD_FIELDS
            )));
        }
        Ok(())
    }

    async fn readable(&self, operation: Operation, id: &str) -> Result<Board> {
        let board = self.board(operation, id).await?;
        let mut caching = self.caching.borrow_mut();
        caching.public &= board.public_read && board.cache.enabled();
        caching.ttl_secs = Some(
            caching
                .ttl_secs
                .map_or(board.cache.ttl_secs, |t| t.min(board.cache.ttl_secs)),
        );
        caching.stale_secs = Some(
            caching
                .stale_secs
                .map_or(board.cache.stale_secs, |t| t.min(board.cache.stale_secs)),
        );
        Ok(board)
    }

    fn fail<T>(&self, r: Result<T>) -> FieldResult<T> {
        r.map_err(|e| field_error(&e, self.lang))
    }

    /// Runs a field's `work` (as an [`OnThisThread`] future), its failure as the field's error.
    fn run<'a, T: 'a>(
        &'a self,
        work: impl Future<Output = Result<T>> + 'a,
    ) -> OnThisThread<'a, FieldResult<T>> {
        OnThisThread(Box::pin(async move { self.fail(work.await) }))
    }
}

fn count(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn arg_u32(name: &str, v: i32) -> Result<u32> {
    u32::try_from(v).map_err(|_| {
        LeaderboardError::InvalidBody(format!("'{name}' must not be negative, got {v}"))
    })
}

/// One ranked row.
#[derive(GraphQLObject)]
#[graphql(description = "One ranked row of a board.")]
pub struct Entry {
    /// Competition rank (ties share a rank).
    rank: i32,
    /// The player.
    player: ID,
    /// The score, a decimal in the board's scale.
    score: String,
    /// The subscore (a 64-bit integer as text), when the board has one.
    subscore: Option<String>,
    /// When the standing was reached (RFC 3339).
    achieved_at: String,
    /// The entry's metadata object as JSON text.
    metadata: Option<String>,
}

impl Entry {
    fn of(board: &Board, e: &EntryView) -> Self {
        Self {
            rank: count(e.rank),
            player: ID::new(e.player.as_str()),
            score: board.format_score(e.score),
            subscore: e.subscore.map(|s| s.to_string()),
            achieved_at: iso_text(e.achieved_at_ms),
            metadata: e.metadata.as_ref().map(Value::to_string),
        }
    }
}

fn iso_text(ms: i64) -> String {
    leaderboard::time::iso_text(ms)
}

/// A page of entries.
#[derive(GraphQLObject)]
#[graphql(description = "A page of ranked entries of one period.")]
pub struct LeaderboardPage {
    /// The board.
    board: ID,
    /// The rows, best first.
    entries: Vec<Entry>,
    /// Entries in the period.
    total_count: i32,
    /// The cursor of the next page (`leaderboard` only), null on the last page.
    next_cursor: Option<String>,
    /// The period read.
    period: String,
    /// The current period.
    current_period: String,
    /// When the current period ends (RFC 3339), null for an all-time board.
    next_reset: Option<String>,
    /// On a board with cohorts, the cohort read (null: the whole board, or a board without
    /// cohorts); the ranks and `totalCount` are its.
    cohort: Option<String>,
}

impl LeaderboardPage {
    fn of(board: &Board, r: &Ranked) -> Self {
        Self {
            board: ID::new(board.id.as_str()),
            entries: r.entries.iter().map(|e| Entry::of(board, e)).collect(),
            total_count: count(r.total),
            next_cursor: r.next_cursor.clone(),
            period: r.period.id.to_string(),
            current_period: r.period.current.to_string(),
            next_reset: r.period.next_reset_ms.map(iso_text),
            cohort: r.cohort.as_ref().map(ToString::to_string),
        }
    }
}

/// Several players' standings.
#[derive(GraphQLObject)]
#[graphql(description = "The standings of several players, in the order asked.")]
pub struct PlayerList {
    /// The board.
    board: ID,
    /// The players found, in the order asked.
    entries: Vec<Entry>,
    /// The players asked for that have no entry in the period.
    missing: Vec<ID>,
    /// Entries in the period.
    total_count: i32,
    /// The period read.
    period: String,
    /// When the current period ends (RFC 3339), null for an all-time board.
    next_reset: Option<String>,
    /// On a board with cohorts, the cohort read (null: the whole board, or a board without
    /// cohorts); the ranks and `totalCount` are its.
    cohort: Option<String>,
}

/// One player's standing.
#[derive(GraphQLObject)]
#[graphql(description = "One player's standing.")]
pub struct Standing {
    /// The player's row.
    entry: Entry,
    /// The share of entries ranked below the player, in percent.
    percentile: f64,
    /// Entries in the period.
    total_count: i32,
    /// The period read.
    period: String,
    /// When the current period ends (RFC 3339), null for an all-time board.
    next_reset: Option<String>,
    /// On a board with cohorts, the cohort read (null: the whole board, or a board without
    /// cohorts); the ranks and `totalCount` are its.
    cohort: Option<String>,
}

impl Standing {
    fn of(board: &Board, s: &reads::Standing) -> Self {
        Self {
            entry: Entry::of(board, &s.entry),
            percentile: leaderboard::board::rank::percentile(s.entry.rank, s.total),
            total_count: count(s.total),
            period: s.period.id.to_string(),
            next_reset: s.period.next_reset_ms.map(iso_text),
            cohort: s.cohort.as_ref().map(ToString::to_string),
        }
    }
}

/// A board.
#[derive(GraphQLObject)]
#[graphql(
    name = "Board",
    description = "A board's configuration and its current period."
)]
pub struct BoardInfo {
    /// The board's id.
    id: ID,
    /// `desc` (higher is better) or `asc`.
    sort: String,
    /// How a submission combines with the entry: `best`, `latest`, `sum`, …
    operator: String,
    /// `integer` or `decimal`.
    score_type: String,
    /// `all_time`, `daily`, `weekly` or `monthly`.
    period_kind: String,
    /// `sync` (applied before the answer) or `async` (accepted into the inbox).
    write_mode: String,
    /// Whether anyone may read the rankings.
    public_read: bool,
    /// The current period.
    current_period: String,
    /// When the current period ends (RFC 3339), null for an all-time board.
    next_reset: Option<String>,
    /// The whole configuration as JSON text (the body `GET /api/v1/boards/{board}` answers).
    config: String,
}

impl BoardInfo {
    /// The board as it is at `now_ms`.
    fn of(board: &Board, now_ms: i64) -> Result<Self> {
        let period = PeriodView::resolve(board, None, now_ms)?;
        Ok(Self {
            id: ID::new(board.id.as_str()),
            sort: enum_text(&board.sort),
            operator: enum_text(&board.to_input().operator),
            score_type: enum_text(&board.to_input().score_type),
            period_kind: enum_text(&board.period),
            write_mode: enum_text(&board.write_mode),
            public_read: board.public_read,
            current_period: period.current.to_string(),
            next_reset: period.next_reset_ms.map(iso_text),
            config: serde_json::to_string(&board.to_input())
                .map_err(|e| LeaderboardError::Internal(e.to_string()))?,
        })
    }
}

fn enum_text<T: juniper::serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A score to submit.
#[derive(GraphQLInputObject)]
#[graphql(description = "A score to submit.")]
pub struct ScoreInput {
    /// Who scored.
    player: ID,
    /// The score, a decimal (e.g. "1234" or "98.25") in the board's scale.
    score: String,
    /// The subscore, a 64-bit integer as text, on boards with a subscore.
    subscore: Option<String>,
    /// A metadata object as JSON text.
    metadata: Option<String>,
}

/// What became of a submission.
#[derive(GraphQLObject)]
#[graphql(description = "What became of a submission.")]
pub struct SubmitResult {
    /// `APPLIED` (sync boards), `ACCEPTED` (async boards: in the inbox) or `HELD` (for review).
    status: String,
    /// The HTTP status the REST API answers for the same submission (201, 200 or 202).
    http_status: i32,
    /// Whether this is the stored outcome of an earlier request with the same idempotency key.
    replayed: bool,
    /// The player.
    player: ID,
    /// The player's row after the write (`APPLIED` only).
    entry: Option<Entry>,
    /// Entries in the period after the write (`APPLIED` only).
    total_count: Option<i32>,
    /// The score before, if the player had an entry (`APPLIED` only).
    previous_score: Option<String>,
    /// Whether the standing improved (`APPLIED` only).
    improved: Option<bool>,
    /// The inbox event id (`ACCEPTED` only).
    event_id: Option<String>,
    /// The review holding the submission (`HELD` only).
    review: Option<String>,
}

impl SubmitResult {
    /// The submission's answer as every door shows it (`leaderboard::events::outcome::SubmitSummary`).
    fn of(
        board: &Board,
        player: &PlayerId,
        done: &edge::submissions::submit::Submitted,
    ) -> Result<Self> {
        let summary = done.outcome.summary(board, player);
        let player = player.as_str();
        Ok(Self {
            status: match summary.fate {
                Fate::Applied => "APPLIED",
                Fate::Accepted => "ACCEPTED",
                Fate::Held => "HELD",
            }
            .to_string(),
            http_status: i32::from(done.status),
            replayed: done.replayed,
            player: ID::new(player),
            entry: summary.entry.map(|e| Entry {
                rank: count(e.rank),
                player: ID::new(player),
                score: e.score,
                subscore: e.subscore.map(|s| s.to_string()),
                achieved_at: e.achieved_at,
                metadata: e.metadata.as_ref().map(Value::to_string),
            }),
            total_count: summary.total.map(count),
            previous_score: summary.previous_score,
            improved: summary.improved,
            event_id: summary.event_id,
            review: summary.review,
        })
    }
}

/// The query root.
#[derive(Default)]
pub struct Query<'r>(PhantomData<&'r ()>);

#[graphql_object(context = Gql<'r>)]
impl<'r> Query<'r> {
    /// A board's configuration and current period.
    async fn board(context: &Gql<'r>, id: ID) -> FieldResult<Option<BoardInfo>> {
        context
            .run(async {
                let board = context.readable(Operation::GetBoard, &id).await?;
                BoardInfo::of(&board, context.call.now_ms).map(Some)
            })
            .await
    }

    /// The top of a board: `limit` (1–100) entries after `cursor` (a page's `nextCursor`), in
    /// `period` (`current`, `previous` or a period id), or as the board stood at `asOf` (an
    /// RFC 3339 time or an event id).
    async fn leaderboard(
        context: &Gql<'r>,
        board: ID,
        #[graphql(default = DEFAULT_LIMIT)] limit: i32,
        cursor: Option<String>,
        period: Option<String>,
        as_of: Option<String>,
        cohort: Option<String>,
    ) -> FieldResult<Option<LeaderboardPage>> {
        context
            .run(async {
                let b = context.readable(Operation::GetLeaderboard, &board).await?;
                let at = context.at(period.as_deref(), as_of.as_deref(), cohort.as_deref());
                let page = reads::top(
                    context.ctx,
                    &b,
                    &at,
                    arg_u32("limit", limit)?,
                    cursor.as_deref(),
                )
                .await?;
                Ok(Some(LeaderboardPage::of(&b, &page)))
            })
            .await
    }

    /// Where a player stands in a league, exactly like `GET /api/v1/boards/{board}/league`: the
    /// player's own token, or a service or admin one.
    async fn league(
        context: &Gql<'r>,
        board: ID,
        player: ID,
    ) -> FieldResult<Option<LeagueStanding>> {
        context
            .run(competitions::league(context, &board, &player))
            .await
    }

    /// A player's award in a run, exactly like `GET /api/v1/boards/{board}/rewards?player=`:
    /// `period` names the run on a periodic board (by default the last that ended); the
    /// player's own token, or a service or admin one.
    async fn rewards(
        context: &Gql<'r>,
        board: ID,
        player: ID,
        period: Option<String>,
    ) -> FieldResult<Option<Rewards>> {
        context
            .run(competitions::rewards(
                context,
                &board,
                &player,
                period.as_deref(),
            ))
            .await
    }

    /// A run's awards in rank order, exactly like `GET /api/v1/boards/{board}/rewards` without
    /// `player` (service or admin): `limit` (1–500) after `cursor` (a page's `nextCursor`).
    async fn awards(
        context: &Gql<'r>,
        board: ID,
        period: Option<String>,
        #[graphql(default = DEFAULT_AWARDS)] limit: i32,
        cursor: Option<String>,
    ) -> FieldResult<Option<RunAwards>> {
        context
            .run(competitions::awards(
                context,
                &board,
                period.as_deref(),
                limit,
                cursor.as_deref(),
            ))
            .await
    }

    /// The tenant's tournaments in one `state` (`open` by default; `upcoming`, `ended`), of one
    /// `category` if given, soonest end first (latest first once ended), exactly like
    /// `GET /api/v1/tournaments`: `limit` (1–100) after `cursor` (a page's `nextCursor`; a
    /// filtered page may hold fewer, even none, and still have one). Any token of the tenant.
    async fn tournaments(
        context: &Gql<'r>,
        state: Option<String>,
        category: Option<String>,
        #[graphql(default = DEFAULT_LIST)] limit: i32,
        cursor: Option<String>,
    ) -> FieldResult<Option<TournamentList>> {
        context
            .run(competitions::tournaments(
                context,
                state.as_deref(),
                category.as_deref(),
                limit,
                cursor.as_deref(),
            ))
            .await
    }

    /// The tournaments a player joined, the newest joined first, each with the player's
    /// standing in its run, exactly like `GET /api/v1/players/{player}/tournaments`: the
    /// player's own token, or a service or admin one.
    async fn player_tournaments(
        context: &Gql<'r>,
        player: ID,
        #[graphql(default = DEFAULT_LIST)] limit: i32,
        cursor: Option<String>,
    ) -> FieldResult<Option<TournamentList>> {
        context
            .run(competitions::joined(
                context,
                &player,
                limit,
                cursor.as_deref(),
            ))
            .await
    }

    /// A player's attempts in a tournament's current run, exactly like
    /// `GET /api/v1/boards/{board}/attempts?player=`.
    async fn attempts(context: &Gql<'r>, board: ID, player: ID) -> FieldResult<Option<Attempts>> {
        context
            .run(competitions::attempts(context, &board, &player))
            .await
    }

    /// One player's standing; null when the player has no entry in the period.
    async fn player(
        context: &Gql<'r>,
        board: ID,
        id: ID,
        period: Option<String>,
        as_of: Option<String>,
        cohort: Option<String>,
    ) -> FieldResult<Option<Standing>> {
        context
            .run(async {
                let b = context.readable(Operation::GetPlayer, &board).await?;
                let at = context.at(period.as_deref(), as_of.as_deref(), cohort.as_deref());
                let s = match reads::standing(context.ctx, &b, &at, &id).await {
                    Ok(s) => s,
                    Err(LeaderboardError::PlayerNotFound(_)) => return Ok(None),
                    Err(e) => return Err(e),
                };
                Ok(Some(Standing::of(&b, &s)))
            })
            .await
    }

    /// The `radius` (0–50) entries either side of a player, the player included; null when the
    /// player has no entry in the period.
    async fn around(
        context: &Gql<'r>,
        board: ID,
        player: ID,
        #[graphql(default = DEFAULT_RADIUS)] radius: i32,
        period: Option<String>,
        as_of: Option<String>,
        cohort: Option<String>,
    ) -> FieldResult<Option<LeaderboardPage>> {
        context
            .run(async {
                let b = context.readable(Operation::GetAround, &board).await?;
                let at = context.at(period.as_deref(), as_of.as_deref(), cohort.as_deref());
                let radius = arg_u32("radius", radius)?;
                match reads::around(context.ctx, &b, &at, &player, radius).await {
                    Ok(page) => Ok(Some(LeaderboardPage::of(&b, &page))),
                    Err(LeaderboardError::PlayerNotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await
    }

    /// Several players (1–100) at once, in the order asked, and the ones without an entry.
    async fn players(
        context: &Gql<'r>,
        board: ID,
        ids: Vec<ID>,
        period: Option<String>,
        as_of: Option<String>,
        cohort: Option<String>,
    ) -> FieldResult<Option<PlayerList>> {
        context
            .run(async {
                let b = context.readable(Operation::ListPlayers, &board).await?;
                let at = context.at(period.as_deref(), as_of.as_deref(), cohort.as_deref());
                let ids: Vec<&str> = ids.iter().map(|i| &**i).collect();
                let found = reads::players(context.ctx, &b, &at, &ids).await?;
                Ok(Some(PlayerList {
                    board: ID::new(b.id.as_str()),
                    entries: found.entries.iter().map(|e| Entry::of(&b, e)).collect(),
                    missing: found.missing.iter().map(|m| ID::new(m.as_str())).collect(),
                    total_count: count(found.total),
                    period: found.period.id.to_string(),
                    next_reset: found.period.next_reset_ms.map(iso_text),
                    cohort: found.cohort.as_ref().map(ToString::to_string),
                }))
            })
            .await
    }
}

/// The mutation root.
#[derive(Default)]
pub struct Mutation<'r>(PhantomData<&'r ()>);

#[graphql_object(context = Gql<'r>)]
impl<'r> Mutation<'r> {
    /// Submits a score, exactly like `POST /api/v1/boards/{board}/scores`: the same
    /// authorization, rules, quotas and idempotency (`idempotencyKey` is the `Idempotency-Key`).
    async fn submit_score(
        context: &Gql<'r>,
        board: ID,
        input: ScoreInput,
        idempotency_key: Option<String>,
    ) -> FieldResult<Option<SubmitResult>> {
        context
            .run(async {
                context.ctx.require_principal()?;
                let b = context.board(Operation::SubmitScore, &board).await?;
                let metadata = input
                    .metadata
                    .as_deref()
                    .map(serde_json::from_str::<Value>)
                    .transpose()
                    .map_err(|e| {
                        LeaderboardError::InvalidBody(format!("'metadata' is not JSON: {e}"))
                    })?;
                let subscore = input
                    .subscore
                    .as_deref()
                    .map(str::parse::<i64>)
                    .transpose()
                    .map_err(|_| {
                        LeaderboardError::InvalidBody(
                            "'subscore' must be a 64-bit integer written as text".into(),
                        )
                    })?;
                let submission_player = PlayerId::new(&*input.player)?;
                let submission = SubmissionInput {
                    player: submission_player.clone(),
                    score: Value::String(input.score.clone()),
                    subscore,
                    metadata,
                    band: None,
                };
                // What a replay under the same key must match: the input, as JSON.
                let fingerprinted = serde_json::to_vec(&submission)
                    .map_err(|e| LeaderboardError::Internal(e.to_string()))?;
                let done = edge::submissions::submit::submit_input(
                    context.ctx,
                    context.call,
                    &b.id,
                    submission,
                    idempotency_key.as_deref(),
                    &fingerprinted,
                )
                .await?;
                SubmitResult::of(&b, &submission_player, &done).map(Some)
            })
            .await
    }

    /// Claims a player's award once, exactly like `POST /api/v1/boards/{board}/rewards/claim`:
    /// a claim made again answers the first claim's time and takes nothing more.
    async fn claim_reward(
        context: &Gql<'r>,
        board: ID,
        player: ID,
        period: Option<String>,
    ) -> FieldResult<Option<Award>> {
        context
            .run(competitions::claim(
                context,
                &board,
                &player,
                period.as_deref(),
            ))
            .await
    }

    /// Joins a player to a tournament, exactly like `POST /api/v1/boards/{board}/join`: a join
    /// made again answers `joinedNow: false` and changes nothing.
    async fn join_tournament(
        context: &Gql<'r>,
        board: ID,
        player: ID,
    ) -> FieldResult<Option<JoinResult>> {
        context
            .run(competitions::join(context, &board, &player))
            .await
    }

    /// Grants a player `extra` (1–1,000) more attempts in the current run, exactly like
    /// `POST /api/v1/boards/{board}/attempts` (service or admin; not idempotent: a grant adds).
    async fn grant_attempts(
        context: &Gql<'r>,
        board: ID,
        player: ID,
        extra: i32,
    ) -> FieldResult<Option<Attempts>> {
        context
            .run(competitions::grant(context, &board, &player, extra))
            .await
    }

    /// Ends an open tournament now, exactly like `POST /api/v1/boards/{board}/tournament/end`
    /// (admin): the board with its window as it is now.
    async fn end_tournament(context: &Gql<'r>, board: ID) -> FieldResult<Option<BoardInfo>> {
        context.run(competitions::end(context, &board)).await
    }

    /// Moves a tournament's end later, to `end` (RFC 3339), exactly like
    /// `POST /api/v1/boards/{board}/tournament/extend` (admin).
    async fn extend_tournament(
        context: &Gql<'r>,
        board: ID,
        end: String,
    ) -> FieldResult<Option<BoardInfo>> {
        context
            .run(competitions::extend(context, &board, &end))
            .await
    }
}
