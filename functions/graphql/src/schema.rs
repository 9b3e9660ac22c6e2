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
use edge::reads::{self, At};
use juniper::futures::channel::mpsc::UnboundedReceiver;
use juniper::{FieldResult, ID, graphql_object};
use leaderboard::http::i18n::Lang;
use leaderboard::http::operation::Operation;
use leaderboard::{Board, LeaderboardError, Result};

use crate::errors::field_error;

mod competitions;
mod live;
mod mutation;
mod types;
use competitions::{Attempts, LeagueStanding, Rewards, RunAwards, TournamentList};
pub use live::Subscription;
pub use mutation::Mutation;
pub use types::{
    BoardInfo, Entry, LeaderboardPage, PlayerList, ScoreInput, Standing, SubmitResult,
};
use types::{arg_u32, count, iso_text};

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
