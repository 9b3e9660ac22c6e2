//! Key-value backends behind one small API: in-memory, SQLite file (Spin's default, in `.spin/`),
//! and Redis. Each store label maps to one backend instance (see `runtime_config`).
//!
//! Counters written by `increment` are stored as ASCII decimal (what Redis `INCRBY` stores), on every
//! backend, so a value reads back the same wherever it lives. Dispatch is an enum rather than a
//! trait object: the Redis backend is async and the set of backends is closed.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, anyhow, bail};
use redis::AsyncCommands;

/// A key-value store backend.
#[derive(Clone)]
pub enum KvBackend {
    /// Process memory; lost on restart.
    Memory(Arc<Mutex<BTreeMap<String, Vec<u8>>>>),
    /// A table in a SQLite file, shared by all labels using the file.
    Sqlite {
        /// The open database.
        db: Arc<Mutex<rusqlite::Connection>>,
        /// The store label (rows are keyed by it).
        label: String,
    },
    /// A Redis server; keys are used as given.
    Redis(redis::aio::ConnectionManager),
}

impl std::fmt::Debug for KvBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KvBackend::Memory(_) => "memory",
            KvBackend::Sqlite { .. } => "sqlite",
            KvBackend::Redis(_) => "redis",
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A multiplexed, auto-reconnecting Redis connection with bounded waits: a dead server makes
/// calls fail within seconds (the guest sees an error) instead of hanging until the deadline.
pub async fn connection_manager(
    client: redis::Client,
) -> redis::RedisResult<redis::aio::ConnectionManager> {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(std::time::Duration::from_secs(2))
        .set_response_timeout(std::time::Duration::from_secs(5))
        .set_number_of_retries(2)
        .set_factor(50)
        .set_max_delay(500);
    redis::aio::ConnectionManager::new_with_config(client, config).await
}

fn parse_counter(v: Option<&[u8]>) -> Result<i64> {
    match v {
        None => Ok(0),
        Some(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .ok_or_else(|| anyhow!("value is not an integer counter")),
    }
}

const SWAP_SCRIPT: &str = r#"
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if cur then return 0 end
else
  if (not cur) or cur ~= ARGV[2] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
"#;

impl KvBackend {
    /// A fresh in-memory store.
    pub fn memory() -> Self {
        KvBackend::Memory(Arc::default())
    }

    /// Opens (creating if needed) a SQLite file as Spin does for its default store.
    pub fn open_sqlite_db(path: &Path) -> Result<Arc<Mutex<rusqlite::Connection>>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let conn = rusqlite::Connection::open(path)
            .with_context(|| format!("opening SQLite KV file {}", path.display()))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE IF NOT EXISTS spin_key_value (
                 store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                 PRIMARY KEY (store, key));",
        )?;
        Ok(Arc::new(Mutex::new(conn)))
    }

    /// Connects to Redis (reconnecting automatically later).
    pub async fn redis(url: &str) -> Result<Self> {
        let client =
            redis::Client::open(url).with_context(|| format!("invalid Redis URL {url}"))?;
        let mgr = connection_manager(client)
            .await
            .with_context(|| format!("connecting to Redis KV at {url}"))?;
        Ok(KvBackend::Redis(mgr))
    }

    /// Reads a value.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match self {
            KvBackend::Memory(m) => Ok(lock(m).get(key).cloned()),
            KvBackend::Sqlite { db, label } => {
                let db = lock(db);
                let mut stmt = db.prepare_cached(
                    "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
                )?;
                let mut rows = stmt.query((label, key))?;
                Ok(match rows.next()? {
                    Some(row) => Some(row.get(0)?),
                    None => None,
                })
            }
            KvBackend::Redis(c) => Ok(c.clone().get(key).await?),
        }
    }

    /// Writes a value.
    pub async fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        match self {
            KvBackend::Memory(m) => {
                lock(m).insert(key.to_string(), value.to_vec());
                Ok(())
            }
            KvBackend::Sqlite { db, label } => {
                lock(db)
                    .prepare_cached(
                        "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                         ON CONFLICT(store, key) DO UPDATE SET value = excluded.value",
                    )?
                    .execute((label, key, value))?;
                Ok(())
            }
            KvBackend::Redis(c) => Ok(c.clone().set(key, value).await?),
        }
    }

    /// Deletes a key (absent keys are fine).
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self {
            KvBackend::Memory(m) => {
                lock(m).remove(key);
                Ok(())
            }
            KvBackend::Sqlite { db, label } => {
                lock(db)
                    .prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                    .execute((label, key))?;
                Ok(())
            }
            KvBackend::Redis(c) => Ok(c.clone().del(key).await?),
        }
    }

    /// Whether a key exists.
    pub async fn exists(&self, key: &str) -> Result<bool> {
        match self {
            KvBackend::Redis(c) => Ok(c.clone().exists(key).await?),
            _ => Ok(self.get(key).await?.is_some()),
        }
    }

    /// All keys, sorted.
    pub async fn keys(&self) -> Result<Vec<String>> {
        let mut keys: Vec<String> = match self {
            KvBackend::Memory(m) => lock(m).keys().cloned().collect(),
            KvBackend::Sqlite { db, label } => {
                let db = lock(db);
                let mut stmt =
                    db.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")?;
                let rows = stmt.query_map([label], |r| r.get::<_, String>(0))?;
                rows.collect::<Result<_, _>>()?
            }
            KvBackend::Redis(c) => {
                let mut conn = c.clone();
                let mut out = Vec::new();
                let mut cursor: u64 = 0;
                loop {
                    let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("COUNT")
                        .arg(1000)
                        .query_async(&mut conn)
                        .await?;
                    out.extend(batch);
                    if next == 0 {
                        break;
                    }
                    cursor = next;
                }
                out
            }
        };
        keys.sort();
        Ok(keys)
    }

    /// Read-modify-write of one key on a local backend (memory or SQLite), atomically: `decide`
    /// sees the current value and returns the value to write, or `None` to leave it. Returns what
    /// was written. The Redis backend does its atomic updates server-side instead.
    fn update_local(
        &self,
        key: &str,
        decide: impl FnOnce(Option<&[u8]>) -> Result<Option<Vec<u8>>>,
    ) -> Result<Option<Vec<u8>>> {
        match self {
            KvBackend::Memory(m) => {
                let mut map = lock(m);
                let new = decide(map.get(key).map(Vec::as_slice))?;
                if let Some(v) = &new {
                    map.insert(key.to_string(), v.clone());
                }
                Ok(new)
            }
            KvBackend::Sqlite { db, label } => {
                let mut db = lock(db);
                let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let cur: Option<Vec<u8>> = tx
                    .query_row(
                        "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
                        (label.as_str(), key),
                        |r| r.get(0),
                    )
                    .map(Some)
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        e => Err(e),
                    })?;
                let new = decide(cur.as_deref())?;
                if let Some(v) = &new {
                    tx.execute(
                        "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                         ON CONFLICT(store, key) DO UPDATE SET value = excluded.value",
                        (label.as_str(), key, v),
                    )?;
                    tx.commit()?;
                }
                Ok(new)
            }
            KvBackend::Redis(_) => Err(anyhow!("update_local is for local backends")),
        }
    }

    /// Atomically adds `delta` to an integer counter (absent = 0) and returns the new value.
    pub async fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        if let KvBackend::Redis(c) = self {
            return Ok(c.clone().incr(key, delta).await?);
        }
        let mut result = 0;
        self.update_local(key, |cur| {
            result = parse_counter(cur)?
                .checked_add(delta)
                .ok_or_else(|| anyhow!("counter overflow"))?;
            Ok(Some(result.to_string().into_bytes()))
        })?;
        Ok(result)
    }

    /// Compare-and-swap: writes `new` only if the current value still equals `expected`
    /// (`None` = the key must be absent). Returns whether it wrote.
    pub async fn swap_if(&self, key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool> {
        match self {
            KvBackend::Memory(_) | KvBackend::Sqlite { .. } => Ok(self
                .update_local(key, |cur| Ok((cur == expected).then(|| new.to_vec())))?
                .is_some()),
            KvBackend::Redis(c) => {
                let (flag, exp): (&str, &[u8]) = match expected {
                    Some(e) => ("1", e),
                    None => ("0", b""),
                };
                let wrote: i64 = redis::Script::new(SWAP_SCRIPT)
                    .key(key)
                    .arg(flag)
                    .arg(exp)
                    .arg(new)
                    .invoke_async(&mut c.clone())
                    .await?;
                Ok(wrote == 1)
            }
        }
    }

    /// Reads several keys at once.
    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<(String, Option<Vec<u8>>)>> {
        if let KvBackend::Redis(c) = self {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            let vals: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                .arg(keys)
                .query_async(&mut c.clone())
                .await?;
            return Ok(keys.iter().cloned().zip(vals).collect());
        }
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            out.push((k.clone(), self.get(k).await?));
        }
        Ok(out)
    }

    /// Writes several keys at once.
    pub async fn set_many(&self, pairs: &[(String, Vec<u8>)]) -> Result<()> {
        if let KvBackend::Redis(c) = self {
            if pairs.is_empty() {
                return Ok(());
            }
            let mut pipe = redis::pipe();
            pipe.atomic();
            for (k, v) in pairs {
                pipe.set(k, v).ignore();
            }
            let () = pipe.query_async(&mut c.clone()).await?;
            return Ok(());
        }
        for (k, v) in pairs {
            self.set(k, v).await?;
        }
        Ok(())
    }

    /// Deletes several keys at once.
    pub async fn delete_many(&self, keys: &[String]) -> Result<()> {
        if let KvBackend::Redis(c) = self {
            if keys.is_empty() {
                return Ok(());
            }
            let _: i64 = c.clone().del(keys).await?;
            return Ok(());
        }
        for k in keys {
            self.delete(k).await?;
        }
        Ok(())
    }
}

/// The KV stores of an application by label.
#[derive(Clone, Debug, Default)]
pub struct KvStores {
    stores: BTreeMap<String, KvBackend>,
}

impl KvStores {
    /// Adds a labelled store.
    pub fn insert(&mut self, label: &str, backend: KvBackend) {
        self.stores.insert(label.to_string(), backend);
    }

    /// The store with this label.
    pub fn get(&self, label: &str) -> Option<&KvBackend> {
        self.stores.get(label)
    }

    /// Fails unless every label a component names is defined (Spin does the same at start-up).
    pub fn check_labels<'a>(
        &self,
        component: &str,
        labels: impl Iterator<Item = &'a String>,
    ) -> Result<()> {
        for l in labels {
            if !self.stores.contains_key(l) {
                bail!(
                    "component '{component}' uses key-value store '{l}', which is not defined: add [key_value_store.{l}] to the runtime config"
                );
            }
        }
        Ok(())
    }
}
