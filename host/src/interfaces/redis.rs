//! `fermyon:spin/redis@2.0.0`: outbound Redis, restricted to `allowed_outbound_hosts`.
//!
//! Two connection modes ([`RedisConnectionMode`]): `PerOpen`, Spin's own behaviour — every
//! `connection.open` makes a new multiplexed connection without timeouts, so each request that
//! uses Redis pays a connect — and `Pooled`, one multiplexed connection per address shared by all
//! instances (faster; like Spin it waits as long as Redis takes, unless
//! [`crate::HostConfig::redis_timeouts`] bounds the waits: 2 s to connect, 5 s for a reply). A
//! pooled connection that fails (an I/O error, a dropped connection, a timeout) is dropped from
//! the pool, and the next
//! `open` connects anew: while Redis is down, commands and connects fail at once, as they do on
//! Spin, instead of waiting for a background reconnect — so the guest's circuit breaker sees an
//! outage, and its end, when Spin's would. Replies and errors are mapped exactly as Spin 4.0.2
//! maps them: arrays flattened, maps/attributes/verbatim strings/pushes and nested error replies
//! refused as errors, every failure `other(<redis error text>)` except a `sadd` type error.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ErrorKind, RedisError, Value};
use wasmtime::component::Resource;

use super::fermyon::spin::redis_types;
use super::fermyon::spin2_0_0::redis::{
    Error, Host, HostConnection, Payload, RedisParameter, RedisResult,
};
use crate::state::{RedisHandle, State};

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
    pub async fn pooled(&self, address: &str) -> Result<PooledConn, Error> {
        if let Some(c) = self.lock().get(address) {
            return Ok(c.clone());
        }
        let client = redis::Client::open(address).map_err(|_| Error::InvalidAddress)?;
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
            .map_err(other)?;
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
    async fn query<T: redis::FromRedisValue>(
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

fn other(e: RedisError) -> Error {
    Error::Other(e.to_string())
}

/// Spin's reply conversion for `execute`: arrays and sets flattened in order; the reply kinds it
/// does not support fail the call.
fn flatten(value: &Value, out: &mut Vec<RedisResult>) -> Result<(), RedisError> {
    let unsupported = |what: &str| {
        Err(RedisError::from((
            ErrorKind::TypeError,
            "Could not convert Redis response",
            format!("Redis {what} is not supported"),
        )))
    };
    match value {
        Value::Nil => out.push(RedisResult::Nil),
        Value::Int(i) => out.push(RedisResult::Int64(*i)),
        Value::BulkString(b) => out.push(RedisResult::Binary(b.clone())),
        Value::SimpleString(s) => out.push(RedisResult::Status(s.clone())),
        Value::Okay => out.push(RedisResult::Status("OK".into())),
        Value::Array(items) | Value::Set(items) => {
            for v in items {
                flatten(v, out)?;
            }
        }
        Value::Double(d) => out.push(RedisResult::Binary(d.to_string().into_bytes())),
        Value::Boolean(b) => out.push(RedisResult::Int64(i64::from(*b))),
        Value::BigNumber(n) => out.push(RedisResult::Binary(n.to_string().into_bytes())),
        Value::Map(_) => return unsupported("Map type"),
        Value::Attribute { .. } => return unsupported("Attribute type"),
        Value::VerbatimString { .. } => return unsupported("string with format attribute"),
        Value::Push { .. } => return unsupported("Pub/Sub types"),
        Value::ServerError(err) => {
            return Err(RedisError::from((
                ErrorKind::ResponseError,
                "Server error",
                format!("{err:?}"),
            )));
        }
        #[allow(unreachable_patterns)]
        _ => return unsupported("reply type"),
    }
    Ok(())
}

impl State {
    fn redis_conn(&mut self, h: &Resource<RedisHandle>) -> Result<RedisConn, Error> {
        Ok(self
            .table()
            .get(h)
            .map_err(|e| Error::Other(e.to_string()))?
            .conn
            .clone())
    }

    async fn run<T: redis::FromRedisValue>(
        &mut self,
        h: &Resource<RedisHandle>,
        cmd: redis::Cmd,
    ) -> Result<T, Error> {
        let mut conn = self.redis_conn(h)?;
        conn.query(&self.runtime.redis, &cmd).await.map_err(other)
    }
}

impl Host for State {}
impl redis_types::Host for State {}

impl HostConnection for State {
    async fn open(&mut self, address: String) -> Result<Resource<RedisHandle>, Error> {
        if !self.component.allowed_hosts.allows_url(&address) {
            tracing::warn!(component = %self.component.id, "outbound Redis to {address} denied: not in allowed_outbound_hosts");
            return Err(Error::InvalidAddress);
        }
        let conn = match self.runtime.config.redis_connections {
            RedisConnectionMode::Pooled => {
                RedisConn::Pooled(self.runtime.redis.pooled(&address).await?)
            }
            RedisConnectionMode::PerOpen => RedisConn::Own(
                redis::Client::open(address.as_str())
                    .map_err(|_| Error::InvalidAddress)?
                    .get_multiplexed_async_connection()
                    .await
                    .map_err(other)?,
            ),
        };
        self.table()
            .push(RedisHandle { conn })
            .map_err(|e| Error::Other(e.to_string()))
    }

    async fn publish(
        &mut self,
        h: Resource<RedisHandle>,
        channel: String,
        payload: Payload,
    ) -> Result<(), Error> {
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(channel).arg(payload);
        self.run::<()>(&h, cmd).await
    }

    async fn get(
        &mut self,
        h: Resource<RedisHandle>,
        key: String,
    ) -> Result<Option<Payload>, Error> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(key);
        self.run(&h, cmd).await
    }

    async fn set(
        &mut self,
        h: Resource<RedisHandle>,
        key: String,
        value: Payload,
    ) -> Result<(), Error> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(key).arg(value);
        self.run::<()>(&h, cmd).await
    }

    async fn incr(&mut self, h: Resource<RedisHandle>, key: String) -> Result<i64, Error> {
        let mut cmd = redis::cmd("INCRBY");
        cmd.arg(key).arg(1);
        self.run(&h, cmd).await
    }

    async fn del(&mut self, h: Resource<RedisHandle>, keys: Vec<String>) -> Result<u32, Error> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(keys);
        self.run(&h, cmd).await
    }

    async fn sadd(
        &mut self,
        h: Resource<RedisHandle>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, Error> {
        let mut cmd = redis::cmd("SADD");
        cmd.arg(key).arg(values);
        let mut conn = self.redis_conn(&h)?;
        let result = conn.query(&self.runtime.redis, &cmd).await;
        result.map_err(|e| match e.kind() {
            ErrorKind::TypeError => Error::TypeError,
            _ => Error::Other(e.to_string()),
        })
    }

    async fn smembers(
        &mut self,
        h: Resource<RedisHandle>,
        key: String,
    ) -> Result<Vec<String>, Error> {
        let mut cmd = redis::cmd("SMEMBERS");
        cmd.arg(key);
        self.run(&h, cmd).await
    }

    async fn srem(
        &mut self,
        h: Resource<RedisHandle>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, Error> {
        let mut cmd = redis::cmd("SREM");
        cmd.arg(key).arg(values);
        self.run(&h, cmd).await
    }

    async fn execute(
        &mut self,
        h: Resource<RedisHandle>,
        command: String,
        arguments: Vec<RedisParameter>,
    ) -> Result<Vec<RedisResult>, Error> {
        let mut cmd = redis::cmd(&command);
        for a in arguments {
            match a {
                RedisParameter::Int64(i) => cmd.arg(i),
                RedisParameter::Binary(b) => cmd.arg(b),
            };
        }
        let value: Value = self.run(&h, cmd).await?;
        let mut out = Vec::new();
        flatten(&value, &mut out).map_err(other)?;
        Ok(out)
    }

    async fn drop(&mut self, h: Resource<RedisHandle>) -> wasmtime::Result<()> {
        self.table().delete(h)?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn replies_flatten_and_unsupported_kinds_fail_as_in_spin() {
        let mut out = Vec::new();
        let v = Value::Array(vec![
            Value::BulkString(b"a".to_vec()),
            Value::Array(vec![Value::Int(1), Value::Nil]),
            Value::Okay,
        ]);
        flatten(&v, &mut out).unwrap();
        assert_eq!(out.len(), 4);
        assert!(matches!(out[1], RedisResult::Int64(1)));
        assert!(matches!(&out[3], RedisResult::Status(s) if s == "OK"));
        let map = Value::Map(vec![(Value::Int(1), Value::Int(2))]);
        let e = flatten(&map, &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("Map type is not supported"), "{e}");
    }
}
