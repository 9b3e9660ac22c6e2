//! The native platform: Spin variables from `SPIN_VARIABLE_*` (then manifest defaults), a pool of
//! synchronous Redis connections, and an in-process key-value map — the same backends the local
//! host gives the components (its `memory` KV store), without Wasm in between.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use edge::platform::{KvError, KvStore, Platform, PlatformError, RedisError, RedisExec};
use spin_sdk::redis::{RedisParameter, RedisResult};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Shared state of the native "platform".
#[derive(Clone, Default)]
pub struct Native {
    /// Resolved variables.
    pub variables: Arc<BTreeMap<String, String>>,
    pool: Arc<Mutex<HashMap<String, Vec<redis::Connection>>>>,
    kv: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

impl Native {
    /// A platform with these variables.
    pub fn new(variables: BTreeMap<String, String>) -> Self {
        Self {
            variables: Arc::new(variables),
            ..Self::default()
        }
    }
}

/// A pooled connection, returned to the pool on drop.
struct Pooled {
    conn: RefCell<Option<redis::Connection>>,
    url: String,
    pool: Arc<Mutex<HashMap<String, Vec<redis::Connection>>>>,
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(c) = self.conn.get_mut().take() {
            lock(&self.pool)
                .entry(self.url.clone())
                .or_default()
                .push(c);
        }
    }
}

/// Flattens a reply like Spin's `execute` (arrays become their elements).
fn flatten(value: redis::Value, out: &mut Vec<RedisResult>) -> Result<(), String> {
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
        V::ServerError(e) => return Err(format!("{e:?}")),
        other => return Err(format!("unsupported reply {other:?}")),
    }
    Ok(())
}

#[async_trait::async_trait(?Send)]
impl RedisExec for Pooled {
    async fn execute(
        &self,
        command: &str,
        args: &[RedisParameter],
    ) -> Result<Vec<RedisResult>, RedisError> {
        let mut cmd = redis::cmd(command);
        for a in args {
            match a {
                RedisParameter::Int64(i) => cmd.arg(*i),
                RedisParameter::Binary(b) => cmd.arg(b.as_slice()),
            };
        }
        let mut slot = self.conn.borrow_mut();
        let conn = slot
            .as_mut()
            .ok_or_else(|| RedisError::Transport("connection already returned".into()))?;
        // The same text Spin's host hands a guest, told apart the same way.
        let value: redis::Value = cmd
            .query(conn)
            .map_err(|e| edge::redis_error::classify(&e.to_string()))?;
        let mut out = Vec::new();
        flatten(value, &mut out).map_err(RedisError::Reply)?;
        Ok(out)
    }
}

#[async_trait::async_trait(?Send)]
impl Platform for Native {
    fn random_bytes(&self, n: usize) -> Result<Vec<u8>, PlatformError> {
        edge::scope::random_bytes(n).map_err(PlatformError::Random)
    }

    async fn variable(&self, name: &str) -> Option<String> {
        self.variables.get(name).filter(|v| !v.is_empty()).cloned()
    }

    async fn redis(&self, url: &str) -> Result<Box<dyn RedisExec>, RedisError> {
        let existing = lock(&self.pool).get_mut(url).and_then(Vec::pop);
        let conn = match existing {
            Some(c) => c,
            None => redis::Client::open(url)
                .and_then(|c| c.get_connection())
                // Not the address: it may carry a password.
                .map_err(|e| RedisError::Transport(e.to_string()))?,
        };
        Ok(Box::new(Pooled {
            conn: RefCell::new(Some(conn)),
            url: url.to_string(),
            pool: Arc::clone(&self.pool),
        }))
    }

    async fn kv(&self, _label: &str) -> Option<Box<dyn KvStore>> {
        Some(Box::new(MemoryKv(Arc::clone(&self.kv))))
    }

    async fn post_internal(
        &self,
        url: &str,
        _body: &[u8],
    ) -> Result<(u16, Vec<u8>), PlatformError> {
        Err(PlatformError::Chain(format!(
            "{url}: service chaining is not served natively"
        )))
    }
}

struct MemoryKv(Arc<Mutex<HashMap<String, Vec<u8>>>>);

#[async_trait::async_trait(?Send)]
impl KvStore for MemoryKv {
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        let mut map = lock(&self.0);
        let current = map
            .get(key)
            .and_then(|v| std::str::from_utf8(v).ok()?.parse::<i64>().ok())
            .unwrap_or(0);
        let next = current + delta;
        map.insert(key.to_string(), next.to_string().into_bytes());
        Ok(next)
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(lock(&self.0).get(key).cloned())
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        lock(&self.0).insert(key.to_string(), value.to_vec());
        Ok(())
    }
    async fn delete_many(&self, keys: &[String]) -> Result<(), KvError> {
        let mut map = lock(&self.0);
        for k in keys {
            map.remove(k);
        }
        Ok(())
    }
    async fn update(
        &self,
        key: &str,
        f: &mut edge::platform::Update<'_>,
        _retries: u32,
    ) -> Result<(), KvError> {
        let mut map = lock(&self.0);
        if let Some(next) = f(map.get(key).map(Vec::as_slice)) {
            map.insert(key.to_string(), next);
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn flatten_matches_spin() {
        let mut out = Vec::new();
        let v = redis::Value::Array(vec![
            redis::Value::BulkString(b"a".to_vec()),
            redis::Value::Int(1),
            redis::Value::Nil,
        ]);
        flatten(v, &mut out).unwrap();
        assert_eq!(out.len(), 3);
        assert!(matches!(out[1], RedisResult::Int64(1)));
        assert!(matches!(out[2], RedisResult::Nil));
    }

    #[test]
    fn kv_shared_across_handles() {
        futures::executor::block_on(async {
            let p = Native::default();
            p.kv("default").await.unwrap().set("v", b"5").await.unwrap();
            assert_eq!(
                p.kv("default").await.unwrap().get("v").await.unwrap(),
                Some(b"5".to_vec())
            );
        });
    }
}
