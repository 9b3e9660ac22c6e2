//! Typed access to `wasi:keyvalue@0.2.0-draft2`.
//!
//! [`Bucket::open`] a store by its label, then use plain get/set/delete/exists, the atomic
//! [`Bucket::increment`] and [`Bucket::compare_and_swap`], and the batch `*_many` calls. Every host
//! error becomes a [`KvError`].

use crate::bindings::wasi::keyvalue::{atomics, batch, store};
use crate::scope::{HostCall, count};

/// The label of the region's KV store (`default`): the edge cache, the rate-limit state, the
/// circuit breaker, the metrics counters and the cached flag documents and tenant settings.
pub const STORE: &str = "default";

/// What can go wrong talking to a key-value store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    /// The host does not know the store label.
    #[error("no such key-value store")]
    NoSuchStore,
    /// The component may not use this store.
    #[error("access to the key-value store denied")]
    AccessDenied,
    /// The store's backend was busy: SQLite's lock, held by another process's transaction on
    /// the same file, failed this one at once (Spin's store says "database is locked"). Nothing
    /// was written; the same call may pass after a pause.
    #[error("key-value store busy: {0}")]
    Busy(String),
    /// Any other host-side failure (I/O, backend).
    #[error("key-value store error: {0}")]
    Other(String),
    /// The store could not be opened (on Spin, the reason was logged when it was tried).
    #[error("the key-value store cannot be opened")]
    NotOpen,
    /// A compare-and-swap lost the race more often than allowed.
    #[error("compare-and-swap gave up after {0} retries")]
    CasRetriesExhausted(u32),
}

impl From<store::Error> for KvError {
    fn from(e: store::Error) -> Self {
        match e {
            store::Error::NoSuchStore => Self::NoSuchStore,
            store::Error::AccessDenied => Self::AccessDenied,
            // The host passes the backend's failure on as text only: SQLite's `SQLITE_BUSY`
            // is told by its message.
            store::Error::Other(msg) if msg.contains(SQLITE_BUSY) => Self::Busy(msg),
            store::Error::Other(msg) => Self::Other(msg),
        }
    }
}

/// SQLite's message for a transaction that met another's lock (`SQLITE_BUSY`), as Spin's store
/// passes it on.
const SQLITE_BUSY: &str = "database is locked";

/// Result of a key-value operation.
pub type Result<T> = std::result::Result<T, KvError>;

/// How many times [`retry_busy`] tries a call that met a busy store, in all.
pub const BUSY_TRIES: u32 = 6;

/// The pause before [`retry_busy`]'s second try (ms), doubled before each further one: 10, 20,
/// 40, 80 and 160 ms, 310 ms in all. The transaction that holds SQLite's lock holds it until it
/// commits; on a loaded machine its process may be descheduled for tens of milliseconds
/// meanwhile, and tries without a pause all meet it (three did: a count was lost).
pub const BUSY_PAUSE_MS: u64 = 10;

/// A busy store's answer slower than this (ms) waited out the store's own busy timeout (rusqlite
/// waits up to 5 s for a lock), and is not tried again.
pub const BUSY_AT_ONCE_MS: i64 = 50;

/// Runs `op`, and again after a pause that doubles ([`BUSY_PAUSE_MS`]) while it fails at once
/// with [`KvError::Busy`], [`BUSY_TRIES`] times at most. The HTTP app and the worker share Spin's
/// SQLite file (the shipped runtime-config.toml); when an increment's transaction (a read, then
/// a write) meets the other process's, SQLite fails it at once, its deadlock case, where its busy
/// timeout does not wait, having written nothing (the transaction is rolled back), so the call
/// is made whole once the other has committed. A busy answer that came after
/// [`BUSY_AT_ONCE_MS`] already waited for the lock (a plain write waits up to the store's busy
/// timeout) and is returned as it is, as is any other outcome.
pub async fn retry_busy<T>(op: impl AsyncFnMut() -> Result<T>) -> Result<T> {
    retry_busy_within(BUSY_AT_ONCE_MS, op).await
}

/// [`retry_busy`], a busy answer counting as at once within `at_once_ms`.
pub(crate) async fn retry_busy_within<T>(
    at_once_ms: i64,
    mut op: impl AsyncFnMut() -> Result<T>,
) -> Result<T> {
    let mut tries = 1;
    loop {
        let started = std::time::Instant::now();
        match op().await {
            Err(KvError::Busy(_))
                if tries < BUSY_TRIES
                    && i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
                        < at_once_ms =>
            {
                crate::scope::sleep(BUSY_PAUSE_MS << (tries - 1)).await;
                tries += 1;
            }
            other => return other,
        }
    }
}

/// An open key-value store.
pub struct Bucket(store::Bucket);

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bucket")
    }
}

impl Bucket {
    /// Opens the store the host knows as `label` (e.g. `"default"`).
    pub fn open(label: &str) -> Result<Self> {
        count(HostCall::KvOpen);
        Ok(Self(store::open(label)?))
    }

    /// The value at `key`, if any.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        count(HostCall::KvRead);
        Ok(self.0.get(key)?)
    }

    /// Stores `value` at `key`, replacing any previous value.
    pub fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        count(HostCall::KvWrite);
        Ok(self.0.set(key, value)?)
    }

    /// Removes `key`; removing an absent key is not an error.
    pub fn delete(&self, key: &str) -> Result<()> {
        count(HostCall::KvWrite);
        Ok(self.0.delete(key)?)
    }

    /// Whether `key` holds a value.
    pub fn exists(&self, key: &str) -> Result<bool> {
        count(HostCall::KvRead);
        Ok(self.0.exists(key)?)
    }

    /// Atomically adds `delta` to the integer at `key` (absent counts as 0) and returns the new value.
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        count(HostCall::KvWrite);
        Ok(atomics::increment(&self.0, key, delta)?)
    }

    /// Starts a compare-and-swap on `key` (see [`Cas`]).
    pub fn cas(&self, key: &str) -> Result<Cas> {
        count(HostCall::KvRead);
        Ok(Cas(atomics::Cas::new(&self.0, key)?))
    }

    /// Atomically replaces the value at `key` with `f(current)`.
    ///
    /// `f` is called with the current value (`None` when absent) and may be called again when
    /// another writer wins the race; after `max_retries` lost races this gives up with
    /// [`KvError::CasRetriesExhausted`]. Returns the value written and how many retries it took.
    ///
    /// Only as atomic as the host's store: on Spin 4.0.2 a swap from "absent" on the SQLite store
    /// overwrites unconditionally, and on the Redis store a lost race is reported as a success
    /// (nothing is written), so callers there must tolerate lost updates.
    pub fn compare_and_swap(
        &self,
        key: &str,
        mut f: impl FnMut(Option<&[u8]>) -> Vec<u8>,
        max_retries: u32,
    ) -> Result<(Vec<u8>, u32)> {
        let mut cas = self.cas(key)?;
        let mut retries = 0;
        loop {
            let current = cas.current()?;
            let next = f(current.as_deref());
            match cas.swap(&next)? {
                Ok(()) => return Ok((next, retries)),
                Err(fresh) => {
                    if retries >= max_retries {
                        return Err(KvError::CasRetriesExhausted(retries));
                    }
                    retries += 1;
                    cas = fresh;
                }
            }
        }
    }

    /// The values at `keys`, in order, `None` where absent.
    pub fn get_many(&self, keys: &[String]) -> Result<Vec<(String, Option<Vec<u8>>)>> {
        count(HostCall::KvRead);
        Ok(batch::get_many(&self.0, keys)?)
    }

    /// Stores every `(key, value)` pair.
    pub fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<()> {
        count(HostCall::KvWrite);
        Ok(batch::set_many(&self.0, entries)?)
    }

    /// Removes every key in `keys`.
    pub fn delete_many(&self, keys: &[String]) -> Result<()> {
        count(HostCall::KvWrite);
        Ok(batch::delete_many(&self.0, keys)?)
    }
}

/// One compare-and-swap on a key: read [`Cas::current`], then [`Cas::swap`].
pub struct Cas(atomics::Cas);

impl Cas {
    /// The value the swap is conditional on (`None` when absent).
    pub fn current(&self) -> Result<Option<Vec<u8>>> {
        count(HostCall::KvRead);
        Ok(self.0.current()?)
    }

    /// Writes `value` if the key still holds what [`Cas::current`] read. `Ok(Err(fresh))` when
    /// another writer got there first: `fresh` is a new CAS on the same key, to read and try again.
    pub fn swap(self, value: &[u8]) -> Result<std::result::Result<(), Cas>> {
        count(HostCall::KvWrite);
        match atomics::swap(self.0, value) {
            Ok(()) => Ok(Ok(())),
            Err(atomics::CasError::CasFailed(fresh)) => Ok(Err(Cas(fresh))),
            Err(atomics::CasError::StoreError(e)) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_one_to_one() {
        assert_eq!(
            KvError::from(store::Error::NoSuchStore),
            KvError::NoSuchStore
        );
        assert_eq!(
            KvError::from(store::Error::AccessDenied),
            KvError::AccessDenied
        );
        assert_eq!(
            KvError::from(store::Error::Other("io".into())),
            KvError::Other("io".into())
        );
        assert_eq!(
            KvError::from(store::Error::Other("database is locked".into())),
            KvError::Busy("database is locked".into())
        );
    }

    /// A store that answers `script`'s outcomes in turn (then `Ok`: how many calls it took).
    fn scripted(
        script: Vec<KvError>,
    ) -> (
        std::rc::Rc<std::cell::Cell<u32>>,
        impl AsyncFnMut() -> Result<u32>,
    ) {
        let calls = std::rc::Rc::new(std::cell::Cell::new(0));
        let answers = std::cell::RefCell::new(script.into_iter());
        let c = std::rc::Rc::clone(&calls);
        (calls, async move || {
            c.set(c.get() + 1);
            answers.borrow_mut().next().map_or(Ok(c.get()), Err)
        })
    }

    #[test]
    fn a_store_busy_at_once_is_tried_again_until_it_answers_or_six_times() {
        let busy = || KvError::Busy("database is locked".into());
        // "At once" within an hour: a loaded test machine is no busy store.
        let hour = 3_600_000;
        let (calls, op) = scripted(vec![busy(), busy()]);
        assert_eq!(
            futures::executor::block_on(retry_busy_within(hour, op)),
            Ok(3)
        );
        assert_eq!(calls.get(), 3);
        let (calls, op) = scripted((0..BUSY_TRIES).map(|_| busy()).collect());
        assert_eq!(
            futures::executor::block_on(retry_busy_within(hour, op)),
            Err(busy())
        );
        assert_eq!(calls.get(), BUSY_TRIES);
    }

    #[test]
    fn another_failure_or_a_busy_that_waited_is_returned_as_it_is() {
        let (calls, op) = scripted(vec![KvError::Other("io".into())]);
        assert_eq!(
            futures::executor::block_on(retry_busy_within(3_600_000, op)),
            Err(KvError::Other("io".into()))
        );
        assert_eq!(calls.get(), 1);
        // A busy answer after the bound (0 ms: any) waited already.
        let (calls, op) = scripted(vec![KvError::Busy("database is locked".into())]);
        assert!(matches!(
            futures::executor::block_on(retry_busy_within(0, op)),
            Err(KvError::Busy(_))
        ));
        assert_eq!(calls.get(), 1, "it waited out the store's own busy timeout");
    }
}
