//! Key-value backends, each behaving exactly as Spin 4.0.2's store of the same type, so that data
//! and behaviour carry over between `edge-host` and `spin up`:
//!
//! - **SQLite** (`type = "spin"`, Spin's default): the table `spin_key_value(store, key, value)`
//!   in a file (or in memory when the config gives no `path`). `increment` keeps the counter as 8
//!   little-endian bytes of an `i64`; on a value of any other length Spin panics while holding the
//!   store's lock, which fails that request and poisons the lock: every later call on the store
//!   panics too, until the process restarts. The host traps the guest in both cases. `get_many`
//!   returns only the keys that exist. Compare-and-swap reads its snapshot at `current` and, when
//!   that snapshot was "absent", writes unconditionally.
//! - **Redis** (`type = "redis"`): `INCRBY` counters (decimal text), `MSET`/`DEL` batches,
//!   `get_many` sent as Spin sends it (`KEYS k1 k2 …`, which Redis rejects for more than one key),
//!   and compare-and-swap on a connection of its own with `WATCH`, `MULTI`/`SET`/`EXEC`, then
//!   `UNWATCH <key>` — which Redis rejects, so Spin reports every swap as failed, whether `EXEC`
//!   wrote or (after a concurrent write) did not.
//! - `type = "memory"` (a host extension) is the SQLite store in memory.
//!
//! A database file written by either runtime reads the same under the other. Dispatch is an enum:
//! the set of backends is closed and the Redis one is async.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, anyhow};
use redis::AsyncCommands;

/// A host call that Spin answers by panicking (its task dies and the request fails): the guest
/// is trapped instead of getting an error value it could handle.
#[derive(Debug, thiserror::Error)]
#[error("{0} (Spin 4.0.2 panics here; the guest is trapped)")]
pub struct SpinPanics(pub String);

/// An open SQLite database, as Spin holds it: one connection behind a lock that a panic poisons.
pub struct SqliteDb {
    conn: Mutex<rusqlite::Connection>,
    poisoned: std::sync::atomic::AtomicBool,
}

impl SqliteDb {
    /// The connection, or a [`SpinPanics`] once an earlier call poisoned the lock.
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, rusqlite::Connection>> {
        if self.poisoned.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(SpinPanics(
                "the SQLite store's lock was poisoned by an earlier panic".into(),
            )
            .into());
        }
        Ok(lock(&self.conn))
    }

    /// Records a panic Spin would have had while holding the lock.
    fn poison(&self, why: String) -> anyhow::Error {
        self.poisoned
            .store(true, std::sync::atomic::Ordering::Relaxed);
        SpinPanics(why).into()
    }
}

/// A key-value store backend.
#[derive(Clone)]
pub enum KvBackend {
    /// A table in a SQLite database, shared by all labels using the same file.
    Sqlite {
        /// The open database.
        db: Arc<SqliteDb>,
        /// The store label (rows are keyed by it).
        label: String,
    },
    /// A Redis server; keys are used as given.
    Redis {
        /// Multiplexed, reconnecting connection for plain operations.
        conn: redis::aio::ConnectionManager,
        /// The server's URL (compare-and-swap opens its own connection, as Spin does).
        url: String,
    },
}

impl std::fmt::Debug for KvBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KvBackend::Sqlite { .. } => "sqlite",
            KvBackend::Redis { .. } => "redis",
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs a SQLite commit under `block_in_place` (as Spin runs every SQLite call), so its fsync does
/// not stall the runtime's other tasks; inline on a current-thread runtime (a benchmark's). Reads
/// run inline: they are served from the page cache in microseconds, and `block_in_place` would
/// cost more than they do.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
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

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS spin_key_value (
    store TEXT NOT NULL,
    key   TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (store, key)
)";

const UPSERT: &str = "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
    ON CONFLICT(store, key) DO UPDATE SET value = excluded.value";

const SELECT: &str = "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2";

fn select(db: &rusqlite::Connection, label: &str, key: &str) -> Result<Option<Vec<u8>>> {
    let mut stmt = db.prepare_cached(SELECT)?;
    let mut rows = stmt.query((label, key))?;
    Ok(match rows.next()? {
        Some(row) => Some(row.get(0)?),
        None => None,
    })
}

impl KvBackend {
    /// Opens (creating if needed) a SQLite database as Spin does: the same table, no pragmas
    /// (Spin's files use SQLite's defaults, rollback journal included). `None` is in memory.
    pub fn open_sqlite_db(path: Option<&Path>) -> Result<Arc<SqliteDb>> {
        let conn = match path {
            Some(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                }
                rusqlite::Connection::open(path)
                    .with_context(|| format!("opening SQLite KV file {}", path.display()))?
            }
            None => rusqlite::Connection::open_in_memory()?,
        };
        conn.execute(SCHEMA, [])?;
        Ok(Arc::new(SqliteDb {
            conn: Mutex::new(conn),
            poisoned: Default::default(),
        }))
    }

    /// A store in a fresh in-memory SQLite database.
    pub fn memory(label: &str) -> Result<Self> {
        Ok(KvBackend::Sqlite {
            db: Self::open_sqlite_db(None)?,
            label: label.to_string(),
        })
    }

    /// Connects to Redis (reconnecting automatically later).
    pub async fn redis(url: &str) -> Result<Self> {
        let client =
            redis::Client::open(url).with_context(|| format!("invalid Redis URL {url}"))?;
        let conn = connection_manager(client)
            .await
            .with_context(|| format!("connecting to Redis KV at {url}"))?;
        Ok(KvBackend::Redis {
            conn,
            url: url.to_string(),
        })
    }

    /// Reads a value.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match self {
            KvBackend::Sqlite { db, label } => select(&*db.lock()?, label, key),
            KvBackend::Redis { conn, .. } => Ok(conn.clone().get(key).await?),
        }
    }

    /// Writes a value.
    pub async fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        match self {
            KvBackend::Sqlite { db, label } => blocking(|| {
                db.lock()?
                    .prepare_cached(UPSERT)?
                    .execute((label, key, value))?;
                Ok(())
            }),
            KvBackend::Redis { conn, .. } => Ok(conn.clone().set(key, value).await?),
        }
    }

    /// Deletes a key (absent keys are fine).
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self {
            KvBackend::Sqlite { db, label } => blocking(|| {
                db.lock()?
                    .prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                    .execute((label, key))?;
                Ok(())
            }),
            KvBackend::Redis { conn, .. } => Ok(conn.clone().del(key).await?),
        }
    }

    /// Whether a key exists.
    pub async fn exists(&self, key: &str) -> Result<bool> {
        match self {
            KvBackend::Redis { conn, .. } => Ok(conn.clone().exists(key).await?),
            KvBackend::Sqlite { .. } => Ok(self.get(key).await?.is_some()),
        }
    }

    /// All keys (SQLite: the store's; Redis: every key of the database, as `KEYS *`).
    pub async fn keys(&self) -> Result<Vec<String>> {
        match self {
            KvBackend::Sqlite { db, label } => {
                let db = db.lock()?;
                let mut stmt =
                    db.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")?;
                let rows = stmt.query_map([label], |r| r.get::<_, String>(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            }
            KvBackend::Redis { conn, .. } => Ok(conn.clone().keys("*").await?),
        }
    }

    /// Atomically adds `delta` to a counter (absent = 0) and returns the new value, in the
    /// backend's own format (see the module docs).
    pub async fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        match self {
            KvBackend::Redis { conn, .. } => Ok(conn.clone().incr(key, delta).await?),
            KvBackend::Sqlite { db: store, label } => blocking(|| {
                let mut db = store.lock()?;
                let tx = db.transaction()?;
                let current = match select(&tx, label, key)? {
                    None => 0,
                    Some(v) => match <[u8; 8]>::try_from(v.as_slice()) {
                        Ok(bytes) => i64::from_le_bytes(bytes),
                        Err(_) => {
                            return Err(store.poison(format!(
                                "increment of '{key}': the stored value is {} bytes, not an 8-byte counter",
                                v.len()
                            )));
                        }
                    },
                };
                // Spin adds without an overflow check (a release build wraps).
                let new = current.wrapping_add(delta);
                tx.prepare_cached(UPSERT)?
                    .execute((label.as_str(), key, new.to_le_bytes()))?;
                tx.commit()?;
                Ok(new)
            }),
        }
    }

    /// Reads several keys: SQLite returns the pairs of the keys that exist; Redis fails as Spin's
    /// store does (it sends `KEYS` with the key list).
    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<(String, Option<Vec<u8>>)>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        match self {
            KvBackend::Redis { conn, .. } => Ok(conn
                .clone()
                .keys::<_, Vec<(String, Option<Vec<u8>>)>>(keys)
                .await?),
            KvBackend::Sqlite { db, label } => {
                let db = db.lock()?;
                let mut out = Vec::new();
                for k in keys {
                    if let Some(v) = select(&db, label, k)? {
                        out.push((k.clone(), Some(v)));
                    }
                }
                Ok(out)
            }
        }
    }

    /// Writes several keys (SQLite: one transaction; Redis: `MSET`).
    pub async fn set_many(&self, pairs: &[(String, Vec<u8>)]) -> Result<()> {
        if pairs.is_empty() {
            return Ok(());
        }
        match self {
            KvBackend::Redis { conn, .. } => Ok(conn.clone().mset(pairs).await?),
            KvBackend::Sqlite { db, label } => blocking(|| {
                let mut db = db.lock()?;
                let tx = db.transaction()?;
                for (k, v) in pairs {
                    tx.prepare_cached(UPSERT)?.execute((label.as_str(), k, v))?;
                }
                tx.commit()?;
                Ok(())
            }),
        }
    }

    /// Deletes several keys.
    pub async fn delete_many(&self, keys: &[String]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        match self {
            KvBackend::Redis { conn, .. } => {
                let _: i64 = conn.clone().del(keys).await?;
                Ok(())
            }
            KvBackend::Sqlite { db, label } => blocking(|| {
                let mut db = db.lock()?;
                let tx = db.transaction()?;
                for k in keys {
                    tx.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                        .execute((label.as_str(), k))?;
                }
                tx.commit()?;
                Ok(())
            }),
        }
    }

    /// A compare-and-swap on `key` (Redis: on a connection of its own, as Spin opens one).
    pub async fn new_cas(&self, key: &str) -> Result<Cas> {
        let conn = match self {
            KvBackend::Redis { url, .. } => Some(
                redis::Client::open(url.as_str())?
                    .get_connection_manager()
                    .await?,
            ),
            KvBackend::Sqlite { .. } => None,
        };
        Ok(Cas {
            backend: self.clone(),
            key: key.to_string(),
            snapshot: None,
            conn,
        })
    }
}

/// An open compare-and-swap, with Spin's semantics per backend (see the module docs).
pub struct Cas {
    backend: KvBackend,
    /// The key.
    pub key: String,
    /// What `current` last read (`None`: never called, which Spin treats as "absent").
    snapshot: Option<Option<Vec<u8>>>,
    conn: Option<redis::aio::ConnectionManager>,
}

impl Cas {
    /// The backend the swap goes to.
    pub fn backend(&self) -> &KvBackend {
        &self.backend
    }

    /// Reads the current value (Redis: `WATCH`es the key first).
    pub async fn current(&mut self) -> Result<Option<Vec<u8>>> {
        let value = match (&self.backend, &self.conn) {
            (KvBackend::Redis { .. }, Some(conn)) => {
                redis::cmd("WATCH")
                    .arg(&self.key)
                    .exec_async(&mut conn.clone())
                    .await?;
                conn.clone().get::<_, Option<Vec<u8>>>(&self.key).await?
            }
            (KvBackend::Sqlite { db, label }, _) => select(&*db.lock()?, label, &self.key)?,
            (KvBackend::Redis { .. }, None) => return Err(anyhow!("CAS without its connection")),
        };
        self.snapshot = Some(value.clone());
        Ok(value)
    }

    /// Writes `value` if the key still holds the snapshot; whether it reported success.
    pub async fn swap(&self, value: &[u8]) -> Result<bool> {
        match (&self.backend, &self.conn) {
            (KvBackend::Redis { .. }, Some(conn)) => {
                // MULTI/SET/EXEC; an EXEC aborted by the WATCH replies nil, which parses as ()
                // and so counts as success, as in Spin.
                let written: redis::RedisResult<()> = redis::pipe()
                    .atomic()
                    .set(&self.key, value)
                    .query_async(&mut conn.clone())
                    .await;
                // Spin then sends `UNWATCH <key>`, which Redis rejects (UNWATCH takes no
                // arguments), and reports that error as a failed swap: whatever EXEC did, the
                // guest is told the swap failed.
                let unwatched = redis::cmd("UNWATCH")
                    .arg(&self.key)
                    .exec_async(&mut conn.clone())
                    .await;
                Ok(written.is_ok() && unwatched.is_ok())
            }
            (KvBackend::Sqlite { db, label }, _) => blocking(|| {
                let mut db = db.lock()?;
                let changed = match self.snapshot.clone().flatten() {
                    Some(old) => db
                        .prepare_cached(
                            "UPDATE spin_key_value SET value = ?1
                             WHERE store = ?2 AND key = ?3 AND value = ?4",
                        )?
                        .execute((value, label.as_str(), self.key.as_str(), old))?,
                    None => {
                        let tx = db.transaction()?;
                        let n = tx.prepare_cached(UPSERT)?.execute((
                            label.as_str(),
                            self.key.as_str(),
                            value,
                        ))?;
                        tx.commit()?;
                        n
                    }
                };
                Ok(changed == 1)
            }),
            (KvBackend::Redis { .. }, None) => Err(anyhow!("CAS without its connection")),
        }
    }
}

/// The KV stores of an application by label.
#[derive(Clone, Debug, Default)]
pub struct KvStores {
    stores: std::collections::BTreeMap<String, KvBackend>,
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
                anyhow::bail!(
                    "component '{component}' uses key-value store '{l}', which is not defined: add [key_value_store.{l}] to the runtime config"
                );
            }
        }
        Ok(())
    }
}
