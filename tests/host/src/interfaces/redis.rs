//! `fermyon:spin/redis@2.0.0`: outbound Redis, restricted to `allowed_outbound_hosts`.
//! Connections are pooled per address across instances (auto-reconnecting multiplexed
//! connections), so a request does not pay a TCP handshake.

use std::collections::HashMap;
use std::sync::Mutex;

use redis::AsyncCommands;
use wasmtime::component::Resource;

use super::fermyon::spin::redis_types;
use super::fermyon::spin2_0_0::redis::{
    Error, Host, HostConnection, Payload, RedisParameter, RedisResult,
};
use crate::state::{RedisHandle, State};

/// Shared connection pool: one connection manager per address.
#[derive(Default)]
pub struct RedisConnections {
    by_address: Mutex<HashMap<String, redis::aio::ConnectionManager>>,
}

impl RedisConnections {
    /// The connection for an address, connecting on first use.
    pub async fn get(&self, address: &str) -> Result<redis::aio::ConnectionManager, Error> {
        if let Some(c) = self
            .by_address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(address)
        {
            return Ok(c.clone());
        }
        let client = redis::Client::open(address).map_err(|_| Error::InvalidAddress)?;
        let conn = crate::kv::connection_manager(client).await.map_err(other)?;
        self.by_address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(address.to_string(), conn.clone());
        Ok(conn)
    }
}

fn other(e: redis::RedisError) -> Error {
    if e.kind() == redis::ErrorKind::TypeError {
        return Error::TypeError;
    }
    Error::Other(e.to_string())
}

/// Flattens a reply the way Spin does: arrays (and maps/sets) become their elements in order.
fn flatten(value: redis::Value, out: &mut Vec<RedisResult>) -> Result<(), Error> {
    use redis::Value as V;
    match value {
        V::Nil => out.push(RedisResult::Nil),
        V::Int(i) => out.push(RedisResult::Int64(i)),
        V::BulkString(b) => out.push(RedisResult::Binary(b)),
        V::SimpleString(s) => out.push(RedisResult::Status(s)),
        V::Okay => out.push(RedisResult::Status("OK".into())),
        V::Array(items) | V::Set(items) => {
            for v in items {
                flatten(v, out)?;
            }
        }
        V::Map(pairs) => {
            for (k, v) in pairs {
                flatten(k, out)?;
                flatten(v, out)?;
            }
        }
        V::Double(d) => out.push(RedisResult::Binary(d.to_string().into_bytes())),
        V::Boolean(b) => out.push(RedisResult::Int64(i64::from(b))),
        V::VerbatimString { text, .. } => out.push(RedisResult::Binary(text.into_bytes())),
        V::BigNumber(n) => out.push(RedisResult::Binary(n.to_string().into_bytes())),
        V::ServerError(e) => return Err(Error::Other(format!("{e:?}"))),
        other => return Err(Error::Other(format!("unsupported reply {other:?}"))),
    }
    Ok(())
}

impl State {
    fn redis_conn(
        &mut self,
        h: &Resource<RedisHandle>,
    ) -> Result<redis::aio::ConnectionManager, Error> {
        Ok(self
            .table()
            .get(h)
            .map_err(|e| Error::Other(e.to_string()))?
            .conn
            .clone())
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
        let conn = self.runtime.redis.get(&address).await?;
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
        let mut c = self.redis_conn(&h)?;
        let _: i64 = c.publish(channel, payload).await.map_err(other)?;
        Ok(())
    }

    async fn get(
        &mut self,
        h: Resource<RedisHandle>,
        key: String,
    ) -> Result<Option<Payload>, Error> {
        let mut c = self.redis_conn(&h)?;
        c.get(key).await.map_err(other)
    }

    async fn set(
        &mut self,
        h: Resource<RedisHandle>,
        key: String,
        value: Payload,
    ) -> Result<(), Error> {
        let mut c = self.redis_conn(&h)?;
        c.set(key, value).await.map_err(other)
    }

    async fn incr(&mut self, h: Resource<RedisHandle>, key: String) -> Result<i64, Error> {
        let mut c = self.redis_conn(&h)?;
        c.incr(key, 1).await.map_err(other)
    }

    async fn del(&mut self, h: Resource<RedisHandle>, keys: Vec<String>) -> Result<u32, Error> {
        let mut c = self.redis_conn(&h)?;
        c.del(keys).await.map_err(other)
    }

    async fn sadd(
        &mut self,
        h: Resource<RedisHandle>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, Error> {
        let mut c = self.redis_conn(&h)?;
        c.sadd(key, values).await.map_err(other)
    }

    async fn smembers(
        &mut self,
        h: Resource<RedisHandle>,
        key: String,
    ) -> Result<Vec<String>, Error> {
        let mut c = self.redis_conn(&h)?;
        c.smembers(key).await.map_err(other)
    }

    async fn srem(
        &mut self,
        h: Resource<RedisHandle>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, Error> {
        let mut c = self.redis_conn(&h)?;
        c.srem(key, values).await.map_err(other)
    }

    async fn execute(
        &mut self,
        h: Resource<RedisHandle>,
        command: String,
        arguments: Vec<RedisParameter>,
    ) -> Result<Vec<RedisResult>, Error> {
        let mut c = self.redis_conn(&h)?;
        let mut cmd = redis::cmd(&command);
        for a in arguments {
            match a {
                RedisParameter::Int64(i) => cmd.arg(i),
                RedisParameter::Binary(b) => cmd.arg(b),
            };
        }
        let value: redis::Value = cmd.query_async(&mut c).await.map_err(other)?;
        let mut out = Vec::new();
        flatten(value, &mut out)?;
        Ok(out)
    }

    async fn drop(&mut self, h: Resource<RedisHandle>) -> wasmtime::Result<()> {
        self.table().delete(h)?;
        Ok(())
    }
}
