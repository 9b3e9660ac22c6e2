//! [`super::Spin`]'s key-value stores: each opened once per instance, with a request's values read
//! ahead; `wasi:keyvalue` as a [`KvStore`].

use super::{KvError, KvStore, Update};

/// A store the instance opened once and every part of every request uses ([`super::Spin::kv`]),
/// with the values the request being served read ahead ([`super::Platform::prefetch`]; kept in its
/// [`crate::scope::Locals`], so a request only ever sees its own): a read of such a key is
/// answered without a host call, and the request's own write to it forgets its copy (another
/// request's copy is a snapshot of its own start, as any read it made would be).
pub(super) struct SharedStore {
    label: String,
    bucket: crate::kv::Bucket,
}

impl SharedStore {
    pub(super) fn read_ahead(&self, keys: &[String]) {
        match self.bucket.get_many(keys) {
            Ok(values) => crate::scope::with(|l| {
                // A key the answer leaves out is absent (the hosts list only the keys found).
                for key in keys {
                    let value = values
                        .iter()
                        .find(|(k, _)| k == key)
                        .and_then(|(_, v)| v.clone());
                    l.read_ahead
                        .retain(|(label, k, _)| !(*label == self.label && k == key));
                    l.read_ahead.push((self.label.clone(), key.clone(), value));
                }
            }),
            // The reads then go to the store one by one.
            Err(e) => eprintln!("kv: reading ahead: {e}"),
        }
    }

    /// The value read ahead for `key`, if it was (`Some(None)`: read ahead, absent).
    fn ahead(&self, key: &str) -> Option<Option<Vec<u8>>> {
        crate::scope::with(|l| {
            l.read_ahead
                .iter()
                .find(|(label, k, _)| *label == self.label && k == key)
                .map(|(_, _, v)| v.clone())
        })
    }

    fn forget(&self, key: &str) {
        crate::scope::with(|l| {
            l.read_ahead
                .retain(|(label, k, _)| !(*label == self.label && k == key));
        });
    }
}

#[async_trait::async_trait(?Send)]
impl KvStore for std::rc::Rc<SharedStore> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        match self.ahead(key) {
            Some(value) => Ok(value),
            None => KvStore::get(&self.bucket, key).await,
        }
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.forget(key);
        KvStore::set(&self.bucket, key, value).await
    }
    async fn delete_many(&self, keys: &[String]) -> Result<(), KvError> {
        for key in keys {
            self.forget(key);
        }
        KvStore::delete_many(&self.bucket, keys).await
    }
    async fn update(&self, key: &str, f: &mut Update<'_>, retries: u32) -> Result<(), KvError> {
        self.forget(key);
        KvStore::update(&self.bucket, key, f, retries).await
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        self.forget(key);
        KvStore::increment(&self.bucket, key, delta).await
    }
}

thread_local! {
    /// The stores this instance opened, by label: one open per store, however many requests
    /// and parts of them read or write there.
    static OPEN_STORES: std::cell::RefCell<Vec<(String, std::rc::Rc<SharedStore>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The instance's handle on a store, opened on first use.
pub(super) fn shared_store(label: &str) -> Option<std::rc::Rc<SharedStore>> {
    let open = OPEN_STORES.with_borrow(|stores| {
        stores
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, b)| std::rc::Rc::clone(b))
    });
    if open.is_some() {
        return open;
    }
    let bucket = crate::kv::Bucket::open(label)
        .inspect_err(|e| eprintln!("kv: the store '{label}' could not be opened: {e}"))
        .ok()?;
    let store = std::rc::Rc::new(SharedStore {
        label: label.to_owned(),
        bucket,
    });
    OPEN_STORES
        .with_borrow_mut(|stores| stores.push((label.to_owned(), std::rc::Rc::clone(&store))));
    Some(store)
}

/// Starts a request's variables and read-ahead values afresh (a store stays open).
pub fn begin_request() {
    crate::scope::with(|l| {
        l.bundles_read.clear();
        l.read_ahead.clear();
    });
}

/// `wasi:keyvalue@0.2.0-draft2` is synchronous: each call completes before it returns.
#[async_trait::async_trait(?Send)]
impl KvStore for crate::kv::Bucket {
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        crate::kv::Bucket::increment(self, key, delta)
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        crate::kv::Bucket::get(self, key)
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        crate::kv::Bucket::set(self, key, value)
    }
    async fn delete_many(&self, keys: &[String]) -> Result<(), KvError> {
        crate::kv::Bucket::delete_many(self, keys)
    }
    async fn update(&self, key: &str, f: &mut Update<'_>, retries: u32) -> Result<(), KvError> {
        let mut cas = self.cas(key)?;
        let mut written: Option<Vec<u8>> = None;
        for _ in 0..=retries {
            let current = cas.current()?;
            // Spin 4.0.2's Redis store reports every swap as failed, also one that wrote (its
            // `UNWATCH <key>` is a Redis error): a "failed" swap whose value is now there landed.
            // Callers whose writes must be told apart make each value unique.
            if written.is_some() && current == written {
                return Ok(());
            }
            let Some(next) = f(current.as_deref()) else {
                return Ok(());
            };
            match cas.swap(&next)? {
                Ok(()) => return Ok(()),
                Err(fresh) => {
                    written = Some(next);
                    cas = fresh;
                }
            }
        }
        Err(KvError::CasRetriesExhausted(retries))
    }
}
