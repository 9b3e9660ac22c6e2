//! The subscription root: `board(id)`, the board's state when the subscription opens and again
//! after each change, each time resolved from the selection set (`version`, `top`, `player`).
//!
//! The root field is the subscription's admission, once: a read call against the rate limits on
//! its board, the board config, read access as `GET …/entries` (run before the stream's head, so a
//! refusal keeps its HTTP status; the body's run takes the board admitted then). Each event reads
//! at most [`MAX_EVENT_READS`] `top` and `player` fields. Its stream is fed by the
//! transport ([`crate::sse`]), which follows the board's version the way `GET …/live` does and
//! hands over each new version; the stream turns each into a [`LiveBoard`], whose fields read the
//! board at that moment.

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use edge::reads::{self, At};
use juniper::futures::StreamExt;
use juniper::futures::stream::BoxStream;
use juniper::{FieldResult, ID, graphql_object, graphql_subscription};
use leaderboard::{Board, LeaderboardError};

use super::{DEFAULT_LIMIT, Gql, LeaderboardPage, Standing, arg_u32};

/// Most `top` and `player` fields one event may read (aliases count): a subscription costs a
/// few reads per change, as a live stream does, not hundreds.
pub const MAX_EVENT_READS: u32 = 10;

/// The board at one version, as a subscription event shows it.
pub struct LiveBoard<'r> {
    board: Arc<Board>,
    version: i64,
    /// The event's `top` and `player` fields so far.
    reads: AtomicU32,
    _context: PhantomData<&'r ()>,
}

impl LiveBoard<'_> {
    /// Counts one of the event's reads: past [`MAX_EVENT_READS`] a `400`.
    fn read(&self) -> leaderboard::Result<()> {
        if self.reads.fetch_add(1, Ordering::Relaxed) >= MAX_EVENT_READS {
            return Err(LeaderboardError::InvalidBody(format!(
                "a subscription event reads at most {MAX_EVENT_READS} top and player fields"
            )));
        }
        Ok(())
    }
}

/// The stream of a subscription's root field.
pub type LiveStream<'r> = BoxStream<'r, LiveBoard<'r>>;

#[graphql_object(context = Gql<'r>)]
#[graphql(description = "A board at one version, as a subscription event shows it.")]
impl<'r> LiveBoard<'r> {
    /// The board's id.
    fn id(&self) -> ID {
        ID::new(self.board.id.as_str())
    }

    /// The board's version (a 64-bit integer as text): it moves with every change, so a client
    /// can tell events apart and order them.
    fn version(&self) -> String {
        self.version.to_string()
    }

    /// The top `limit` (1–100) entries of `period` (`current`, `previous` or a period id), read at
    /// this event.
    async fn top(
        &self,
        context: &Gql<'r>,
        #[graphql(default = DEFAULT_LIMIT)] limit: i32,
        period: Option<String>,
    ) -> FieldResult<LeaderboardPage> {
        context
            .run(async {
                self.read()?;
                let at = now(period.as_deref());
                let page = reads::top(
                    context.ctx,
                    &self.board,
                    &at,
                    arg_u32("limit", limit)?,
                    None,
                )
                .await?;
                Ok(LeaderboardPage::of(&self.board, &page))
            })
            .await
    }

    /// One player's standing at this event; null when the player has no entry in the period.
    async fn player(
        &self,
        context: &Gql<'r>,
        id: ID,
        period: Option<String>,
    ) -> FieldResult<Option<Standing>> {
        context
            .run(async {
                self.read()?;
                let at = now(period.as_deref());
                match reads::standing(context.ctx, &self.board, &at, &id).await {
                    Ok(s) => Ok(Some(Standing::of(&self.board, &s))),
                    Err(LeaderboardError::PlayerNotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await
    }
}

/// Reads at the event's time (a period may have rolled over since the subscription opened).
fn now(period: Option<&str>) -> At<'_> {
    At {
        now_ms: edge::scope::now_ms(),
        period,
        as_of: None,
        // A player's live feed is its cohort's, like its reads.
        cohort: None,
    }
}

/// The subscription root.
#[derive(Default)]
pub struct Subscription<'r>(PhantomData<&'r ()>);

#[graphql_subscription(context = Gql<'r>)]
impl<'r> Subscription<'r> {
    /// The board's state when the subscription opens, then again after each change (a write, a
    /// removal, a period rollover read at the next change). The server ends the stream after
    /// `live_max_secs` without `complete` (graphql-sse clients then subscribe again and get the
    /// state at once); a deleted board ends it with an error and `complete`.
    async fn board(context: &Gql<'r>, id: ID) -> FieldResult<LiveStream<'r>> {
        context
            .run(async {
                let versions = context.take_feed()?;
                let board = context.follow(&id).await?;
                let stream: LiveStream<'r> = versions
                    .map(move |version| LiveBoard {
                        board: Arc::clone(&board),
                        version,
                        reads: AtomicU32::new(0),
                        _context: PhantomData,
                    })
                    .boxed();
                Ok(stream)
            })
            .await
    }
}
