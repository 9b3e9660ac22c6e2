//! `fermyon:spin/redis@2.0.0`: outbound Redis, restricted to `allowed_outbound_hosts`, over the
//! connections of [`crate::redis_pool`]. Replies and errors are mapped exactly as Spin 4.0.2
//! maps them: arrays flattened, maps/attributes/verbatim strings/pushes and nested error replies
//! refused as errors, every failure `other(<redis error text>)` except a `sadd` type error.

use redis::{ErrorKind, RedisError, Value};
use wasmtime::component::Resource;

use super::fermyon::spin::redis_types;
use super::fermyon::spin2_0_0::redis::{
    Error, Host, HostConnection, Payload, RedisParameter, RedisResult,
};
use crate::redis_pool::{OpenError, RedisConn, RedisConnectionMode};
use crate::state::{RedisHandle, State};

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
        conn.query(&self.shared.redis, &cmd).await.map_err(other)
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
        let conn = match self.shared.redis_mode {
            RedisConnectionMode::Pooled => match self.shared.redis.pooled(&address).await {
                Ok(c) => RedisConn::Pooled(c),
                Err(OpenError::InvalidAddress) => return Err(Error::InvalidAddress),
                Err(OpenError::Connect(e)) => return Err(other(e)),
            },
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
        let result = conn.query(&self.shared.redis, &cmd).await;
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
