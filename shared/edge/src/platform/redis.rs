//! [`Spin`]'s outbound Redis: a connection per request (kept between a p3 instance's requests),
//! spin-sdk's errors as [`RedisError`]s.

use spin_sdk::redis::{RedisParameter, RedisResult};

use super::{RedisConnector, RedisError, RedisExec, Spin};

/// A spin-sdk outbound Redis connection and the address it was opened with, used by one request
/// at a time.
///
/// On p3 an instance keeps its connections between requests ([`KEPT`]): a request takes an
/// idle one (or opens one) for itself alone, so two requests never interleave commands on one
/// connection, and gives it back when it is done with it. Never given back: a connection on
/// which Redis could not be reached ([`RedisError::Transport`]: it may be broken), or whose
/// command was still waiting on its reply when the request was dropped (that reply was not
/// read); a command's own error reply leaves it reusable. Such a failure also drops every idle
/// connection to that address (a Redis restart breaks them all): after a restart only the
/// requests that had already taken a kept connection meet a broken one.
pub(super) struct SpinRedis {
    conn: Option<spin_sdk::redis::Connection>,
    url: String,
    /// Commands waiting on their replies: a connection given back must have none.
    in_flight: std::cell::Cell<u32>,
    /// A command failed on it (it may be broken): never given back.
    failed: std::cell::Cell<bool>,
}

/// How long a p3 request waits for a Redis reply or a new connection (ms) before it gives up as
/// on a transport failure (the breaker counts it, the client gets a `503` problem with `Retry-After`,
/// the connection is not reused). Spin's Redis client has no timeout of its own: a Redis that
/// stopped answering would hold the request until Spin's `--request-timeout` (p3 only), which
/// answers a bare `500`. No command the app sends blocks on purpose (no `BLOCK`; a `WAIT` for
/// replicas waits at most [`crate::repo::REPLICA_ACK_TIMEOUT_MS`], less than this), and the
/// longest scripts take milliseconds on a million-player board. A p2 request waits as long
/// as the host does.
#[cfg(feature = "p3")]
pub const REDIS_REPLY_TIMEOUT_MS: u64 = 5_000;

/// The most idle connections an instance keeps per address: one per request it may serve at
/// once (Spin 4's default for p3).
#[cfg(feature = "p3")]
const MAX_KEPT: usize = 16;

#[cfg(feature = "p3")]
thread_local! {
    /// The idle Redis connections this instance keeps, by address ([`SpinRedis`]).
    static KEPT: std::cell::RefCell<Vec<(String, spin_sdk::redis::Connection)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

impl SpinRedis {
    /// An idle connection the instance kept for `url` (p3), else a new one.
    pub(super) async fn take(url: &str) -> Result<Box<dyn RedisExec>, RedisError> {
        #[cfg(feature = "p3")]
        {
            let kept = KEPT.with_borrow_mut(|kept| {
                let at = kept.iter().rposition(|(u, _)| u == url)?;
                Some(kept.swap_remove(at).1)
            });
            if let Some(conn) = kept {
                return Ok(Self::boxed(conn, url));
            }
        }
        Self::open(url).await
    }

    /// A new connection.
    async fn open(url: &str) -> Result<Box<dyn RedisExec>, RedisError> {
        crate::scope::count(crate::scope::HostCall::RedisOpen);
        #[cfg(feature = "p2")]
        let opened = spin_sdk::redis::Connection::open(url);
        #[cfg(feature = "p3")]
        let opened =
            within_reply_timeout(spin_sdk::redis::Connection::open(url), "a connection").await?;
        opened
            .map(|conn| Self::boxed(conn, url))
            // Not the address: it may carry a password.
            .map_err(|e| RedisError::Transport(format!("{e:?}")))
    }

    fn boxed(conn: spin_sdk::redis::Connection, url: &str) -> Box<dyn RedisExec> {
        Box::new(SpinRedis {
            conn: Some(conn),
            url: url.to_string(),
            in_flight: std::cell::Cell::new(0),
            failed: std::cell::Cell::new(false),
        })
    }
}

impl Drop for SpinRedis {
    /// Gives a reusable connection back to the instance (p3; a p2 instance serves one request).
    fn drop(&mut self) {
        #[cfg(feature = "p3")]
        if self.in_flight.get() == 0
            && !self.failed.get()
            && let Some(conn) = self.conn.take()
        {
            KEPT.with_borrow_mut(|kept| {
                if kept.iter().filter(|(u, _)| *u == self.url).count() < MAX_KEPT {
                    kept.push((std::mem::take(&mut self.url), conn));
                }
            });
        }
    }
}

#[async_trait::async_trait(?Send)]
impl RedisExec for SpinRedis {
    async fn execute(
        &self,
        command: &str,
        args: &[RedisParameter],
    ) -> Result<Vec<RedisResult>, RedisError> {
        crate::scope::count(crate::scope::HostCall::RedisCommand);
        let conn = self
            .conn
            .as_ref()
            .ok_or_else(|| RedisError::Transport("the connection was given back".into()))?;
        // Until the reply is read: a request dropped meanwhile leaves it unread.
        self.in_flight.set(self.in_flight.get().saturating_add(1));
        #[cfg(feature = "p2")]
        let replied = conn.execute(command, args).map_err(sdk_error);
        #[cfg(feature = "p3")]
        let replied = within_reply_timeout(conn.execute(command, args.iter().cloned()), command)
            .await
            .and_then(|replied| replied.map_err(sdk_error));
        self.in_flight.set(self.in_flight.get().saturating_sub(1));
        if let Err(RedisError::Transport(_)) = &replied {
            self.failed.set(true);
            forget_kept(&self.url);
        }
        replied
    }

    async fn reconnect(&self) -> Option<Result<Box<dyn RedisExec>, RedisError>> {
        Some(Self::open(&self.url).await)
    }
}

/// `waiting` (for `what`: a command, a connection), or a transport failure when Redis has not
/// answered within [`REDIS_REPLY_TIMEOUT_MS`]. Dropping the wait leaves its reply unread: the
/// caller does not reuse that connection.
#[cfg(feature = "p3")]
async fn within_reply_timeout<T>(
    waiting: impl Future<Output = T>,
    what: &str,
) -> Result<T, RedisError> {
    use futures::future::{Either, select};
    let waiting = std::pin::pin!(waiting);
    let deadline = std::pin::pin!(crate::scope::sleep(REDIS_REPLY_TIMEOUT_MS));
    match select(waiting, deadline).await {
        Either::Left((answer, _)) => Ok(answer),
        Either::Right(((), _)) => Err(RedisError::Transport(format!(
            "no answer to {what} within {REDIS_REPLY_TIMEOUT_MS} ms"
        ))),
    }
}

/// spin-sdk's Redis error as ours.
fn sdk_error(e: spin_sdk::redis::Error) -> RedisError {
    use spin_sdk::redis::Error;
    match e {
        Error::Other(text) => crate::redis_error::classify(&text),
        // Spin's `execute` reports a reply it cannot convert as `other` text (classified
        // above); `type-error` would say the same.
        Error::TypeError => RedisError::Reply(format!("{e:?}")),
        Error::InvalidAddress | Error::TooManyConnections => {
            RedisError::Transport(format!("{e:?}"))
        }
    }
}

/// Drops the idle connections kept for `url` (p3): one failed, the others likely broke with it.
fn forget_kept(url: &str) {
    #[cfg(feature = "p3")]
    KEPT.with_borrow_mut(|kept| kept.retain(|(u, _)| u != url));
    #[cfg(not(feature = "p3"))]
    let _ = url;
}

#[async_trait::async_trait(?Send)]
impl RedisConnector for Spin {
    async fn open(&self, url: &str) -> Result<Box<dyn RedisExec>, RedisError> {
        SpinRedis::take(url).await
    }
}
