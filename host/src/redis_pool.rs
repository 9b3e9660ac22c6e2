//! Outbound Redis connections, as the `fermyon:spin/redis` interface opens them.
//!
//! Two connection modes ([`RedisConnectionMode`]): `PerOpen`, Spin's own behaviour — every
//! `connection.open` makes a new multiplexed connection without timeouts, so each request that
//! uses Redis pays a connect — and `Pooled`, one multiplexed connection per address shared by all
//! instances (faster; like Spin it waits as long as Redis takes, unless
//! [`crate::HostConfig::redis_timeouts`] bounds the waits: 2 s to connect, 5 s for a reply). A
//! pooled connection that fails (an I/O error, a dropped connection, a timeout) is dropped from
//! the pool, and the next `open` connects anew: while Redis is down, commands and connects fail
//! at once, as they do on Spin, instead of waiting for a background reconnect — so the guest's
//! circuit breaker sees an outage, and its end, when Spin's would.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisError};

/// Why a pooled connection could not be had.
#[derive(Debug)]
pub enum OpenError {
    /// The address is not a Redis URL.
    InvalidAddress,
    /// Connecting failed.
    Connect(RedisError),
}

/// How outbound Redis connections are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RedisConnectionMode {
    /// One shared connection per address, replaced when it fails (the host's fast mode).
    #[default]
    Pooled,
    /// A new connection for every `open`, as Spin does.
    PerOpen,
}

/// How long a pooled connect may take, when the waits are bounded.
const POOLED_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a pooled connection waits for a reply, when the waits are bounded.
const POOLED_RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection of the pool: the address it serves and which connection it was.
#[derive(Clone)]
pub struct PooledConn {
    conn: MultiplexedConnection,
    address: String,
    id: u64,
}

/// Shared connection pool: one connection per address.
#[derive(Default)]
pub struct RedisConnections {
    by_address: Mutex<HashMap<String, PooledConn>>,
    next_id: AtomicU64,
    /// Pooled connects and replies give up after [`POOLED_CONNECT_TIMEOUT`] and
    /// [`POOLED_RESPONSE_TIMEOUT`] (Spin's never do).
    timeouts: bool,
}

impl RedisConnections {
    /// An empty pool; with `timeouts`, its connects and replies have bounded waits.
    pub fn new(timeouts: bool) -> Self {
        Self {
            timeouts,
            ..Self::default()
        }
    }

    /// The pooled connection for an address, connecting when there is none (first use, or the
    /// last one failed).
    pub async fn pooled(&self, address: &str) -> Result<PooledConn, OpenError> {
        if let Some(c) = self.lock().get(address) {
            return Ok(c.clone());
        }
        let client = redis::Client::open(address).map_err(|_| OpenError::InvalidAddress)?;
        let config = if self.timeouts {
            AsyncConnectionConfig::new()
                .set_connection_timeout(POOLED_CONNECT_TIMEOUT)
                .set_response_timeout(POOLED_RESPONSE_TIMEOUT)
        } else {
            AsyncConnectionConfig::new()
        };
        let conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(OpenError::Connect)?;
        let pooled = PooledConn {
            conn,
            address: address.to_string(),
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
        };
        self.lock().insert(address.to_string(), pooled.clone());
        Ok(pooled)
    }

    /// Drops a connection that failed from the pool (unless another already replaced it).
    fn evict(&self, failed: &PooledConn) {
        let mut pool = self.lock();
        if pool.get(&failed.address).is_some_and(|c| c.id == failed.id) {
            pool.remove(&failed.address);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PooledConn>> {
        self.by_address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An open outbound connection.
#[derive(Clone)]
pub enum RedisConn {
    /// From the pool.
    Pooled(PooledConn),
    /// This instance's own.
    Own(MultiplexedConnection),
}

impl RedisConn {
    /// Runs `cmd`; a pooled connection that fails is dropped from `pool`.
    pub async fn query<T: redis::FromRedisValue>(
        &mut self,
        pool: &RedisConnections,
        cmd: &redis::Cmd,
    ) -> Result<T, RedisError> {
        match self {
            RedisConn::Pooled(c) => {
                let result = cmd.query_async(&mut c.conn).await;
                if let Err(e) = &result
                    && (e.is_unrecoverable_error()
                        || e.is_io_error()
                        || e.is_connection_dropped()
                        || e.is_timeout())
                {
                    pool.evict(c);
                }
                result
            }
            RedisConn::Own(c) => cmd.query_async(c).await,
        }
    }
}
