//! What a function needs from the platform it runs on: variables, Redis and the KV store.
//!
//! On Spin (and our host) that is [`Spin`]: spin-sdk's variables and outbound Redis and
//! `wasi:keyvalue`. The same handler code also runs natively behind a plain HTTP server for the
//! Wasm-vs-native benchmark, with native implementations of these traits.

use spin_sdk::redis::{RedisParameter, RedisResult};

pub use crate::kv::KvError;
pub use crate::redis_error::RedisError;

/// What the platform could not do, beside Redis ([`RedisError`]) and a KV store ([`KvError`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// The cryptographic random source gave no bytes.
    #[error("the random source failed: {0}")]
    Random(String),
    /// A request to another component of the app (service chaining) got no answer.
    #[error("service chaining: {0}")]
    Chain(String),
}

impl From<PlatformError> for leaderboard::LeaderboardError {
    /// No random bytes is this instance's fault (`500`); a component that did not answer may
    /// answer a retry (`503`). A caller whose client must not see the host's text (it names
    /// internal routes) logs it and answers its own detail instead (`auth::delegate`).
    fn from(e: PlatformError) -> Self {
        match e {
            PlatformError::Random(_) => Self::Internal(e.to_string()),
            PlatformError::Chain(_) => Self::Unavailable(e.to_string()),
        }
    }
}

/// Whether this build's components reach each other over Spin's service chaining
/// (`http://<id>.spin.internal`, [`Platform::post_internal`]). Spin 4.0.2 chains only p2
/// components: it prepares its pooled p3 instances without the outbound interceptor that routes
/// `*.spin.internal` (its `trigger-http` `new_store`), so a p3 component's chained request fails
/// its DNS lookup. The p3 build therefore does in process what the p2 build asks another
/// component for: verifying a JWKS-signed token ([`crate::auth::delegate`]) and evaluating a
/// targeted flag ([`crate::flags`]), linking that code into the components that need it.
pub const SERVICE_CHAINING: bool = cfg!(not(feature = "p3"));

/// Runs Redis commands (`execute` semantics: nested replies flattened, as Spin does).
///
/// The host-call traits ([`RedisExec`], [`KvStore`], [`Platform`]) are `async`. On a WASIp2
/// component the Redis, KV and variable calls complete before they return (the host blocks);
/// only [`Platform::post_internal`] (an outgoing HTTP request) waits in spin-sdk's executor. On a
/// WASIp3 one they all yield to the instance's other requests while the host works. Their
/// futures are not `Send`: a component is single-threaded.
#[async_trait::async_trait(?Send)]
pub trait RedisExec {
    /// One command: its reply, or whether Redis is unreachable or refused this command.
    async fn execute(
        &self,
        command: &str,
        args: &[RedisParameter],
    ) -> Result<Vec<RedisResult>, RedisError>;

    /// A new connection to the same server (what a retry uses after a failure broke this one);
    /// `None` when the platform cannot make one.
    async fn reconnect(&self) -> Option<Result<Box<dyn RedisExec>, RedisError>> {
        None
    }
}

/// Opens Redis connections without borrowing the platform: what a repository that reaches several
/// servers (the primaries of a Redis Cluster, [`crate::repo::Repo`]) keeps for the whole request.
#[async_trait::async_trait(?Send)]
pub trait RedisConnector {
    /// A connection to the server at `url` (the platform's rules: p3 hands out a kept one).
    async fn open(&self, url: &str) -> Result<Box<dyn RedisExec>, RedisError>;
}

/// The update function of [`KvStore::update`]: the current value in, the value to write out.
pub type Update<'a> = dyn FnMut(Option<&[u8]>) -> Option<Vec<u8>> + 'a;

/// The subset of a key-value store the edge cache uses.
#[async_trait::async_trait(?Send)]
pub trait KvStore {
    /// Reads a value.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    /// Writes a value.
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError>;
    /// Deletes several keys in one call (`wasi:keyvalue/batch`; absent keys are fine).
    async fn delete_many(&self, keys: &[String]) -> Result<(), KvError>;
    /// Compare-and-swap: `f` sees the current value (`None`: absent) and returns the value to
    /// write, or `None` to write nothing; a lost race calls `f` again, up to `retries` times.
    /// Only as atomic as the host's store (see [`crate::kv::Bucket::compare_and_swap`]).
    async fn update(&self, key: &str, f: &mut Update<'_>, retries: u32) -> Result<(), KvError>;
    /// `wasi:keyvalue/atomics.increment`: adds `delta` (absent: 0) and returns the new value;
    /// `increment(key, 0)` is the portable read of a counter.
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError>;
}

/// Variables, Redis connections and KV stores.
#[async_trait::async_trait(?Send)]
pub trait Platform {
    /// A variable; undefined or empty → `None`.
    async fn variable(&self, name: &str) -> Option<String>;
    /// A Redis connection.
    async fn redis(&self, url: &str) -> Result<Box<dyn RedisExec>, RedisError>;
    /// What opens connections to other Redis servers later in the request (the nodes of a
    /// cluster); `None` when the platform can reach only the servers it is asked for one by one.
    fn redis_connector(&self) -> Option<std::rc::Rc<dyn RedisConnector>> {
        None
    }
    /// A KV store by label (`None` if it cannot be opened).
    async fn kv(&self, label: &str) -> Option<Box<dyn KvStore>>;
    /// POSTs a JSON body to another component of the app (`http://<id>.spin.internal/…`, service
    /// chaining): `(status, body)`.
    async fn post_internal(&self, url: &str, body: &[u8]) -> Result<(u16, Vec<u8>), PlatformError>;
    /// `n` bytes from the platform's cryptographic random source, for secrets and ids that must
    /// not be guessed (API keys, signing and webhook secrets). An error, never weaker bytes, when
    /// there is none.
    fn random_bytes(&self, n: usize) -> Result<Vec<u8>, PlatformError>;
    /// Reads `keys` of the store `label` in one call, ahead of the request's own reads, which
    /// then need no call of their own (a write to a key forgets its copy). A hint: a platform
    /// may ignore it, and a failure only means the reads go to the store one by one.
    async fn prefetch(&self, _label: &str, _keys: &[String]) {}
}

/// The Spin platform (spin-sdk 5.2 imports).
pub struct Spin;

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
struct SpinRedis {
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
    async fn take(url: &str) -> Result<Box<dyn RedisExec>, RedisError> {
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

/// A store the instance opened once and every part of every request uses ([`Spin::kv`]), with
/// the values the request being served read ahead ([`Platform::prefetch`]; kept in its
/// [`crate::scope::Locals`], so a request only ever sees its own): a read of such a key is
/// answered without a host call, and the request's own write to it forgets its copy (another
/// request's copy is a snapshot of its own start, as any read it made would be).
struct SharedStore {
    label: String,
    bucket: crate::kv::Bucket,
}

impl SharedStore {
    fn read_ahead(&self, keys: &[String]) {
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
fn shared_store(label: &str) -> Option<std::rc::Rc<SharedStore>> {
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

/// Component variables that join several app variables with `|` (templates in the manifest), so
/// a request reads them all with one host call: `(bundle, its parts in order)`. The last part
/// takes the rest of the value, so it alone may contain `|` (a rate-limit policy, a secret); the
/// others must not. A component that does not define a bundle reads its parts one by one.
pub const BUNDLES: &[(&str, &[&str])] = &[
    (
        "http_policy",
        &[
            "cors_allowed_origins",
            "request_log",
            "hsts_max_age_secs",
            "metrics",
            "behind_trusted_proxy",
            "redis_url",
            "redis_mode",
            "redis_min_replica_acks",
            "rate_limits",
        ],
    ),
    (
        "jwt_policy",
        &["jwt_issuer", "jwt_audience", "jwt_hs256_secret"],
    ),
];

/// How long a p3 instance keeps a variable it read (ms): a changed value (a variable provider's
/// rotated secret) applies within this time, and at once in a new instance (Spin 4 replaces a
/// p3 instance after 128 requests or 1 s idle). A p2 instance serves one request, which reads
/// each variable once.
#[cfg(feature = "p3")]
pub const VARIABLE_TTL_MS: u64 = 10_000;

#[cfg(feature = "p3")]
thread_local! {
    /// The variables this instance read (`None`: undefined) and when.
    static VARIABLES: std::cell::RefCell<Vec<(String, Option<String>, std::time::Instant)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// One host read of a variable (undefined → `None`); on p3 the instance's copy while it is
/// younger than [`VARIABLE_TTL_MS`]. A read the host could not answer (a variable provider's
/// error) is logged, counts as unset for this request, and is not kept.
async fn read_variable(name: &str) -> Option<String> {
    #[cfg(feature = "p3")]
    if let Some(kept) = VARIABLES.with_borrow(|vars| {
        vars.iter()
            .find(|(n, _, at)| n == name && at.elapsed().as_millis() < u128::from(VARIABLE_TTL_MS))
            .map(|(_, v, _)| v.clone())
    }) {
        return kept;
    }
    crate::scope::count(crate::scope::HostCall::Variable);
    #[cfg(feature = "p2")]
    let read = spin_sdk::variables::get(name);
    #[cfg(feature = "p3")]
    let read = spin_sdk::variables::get(name).await;
    let value = match read {
        Ok(value) => Some(value),
        Err(spin_sdk::variables::Error::Undefined(_)) => None,
        Err(e) => {
            eprintln!("variables: {name} could not be read: {e:?}");
            return None;
        }
    };
    #[cfg(feature = "p3")]
    VARIABLES.with_borrow_mut(|vars| {
        vars.retain(|(n, _, _)| n != name);
        vars.push((name.to_owned(), value.clone(), std::time::Instant::now()));
    });
    value
}

/// A bundle's raw value, read at most once per request (`None`: not defined here).
pub async fn bundle(name: &'static str) -> Option<String> {
    bundle_parts(name).await.map(|parts| parts.join("|"))
}

async fn bundle_parts(name: &'static str) -> Option<Vec<String>> {
    // The bundles this request read (`None`: the component does not define it) and their parts.
    if let Some(read) = crate::scope::with(|l| {
        l.bundles_read
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, parts)| parts.clone())
    }) {
        return read;
    }
    let arity = BUNDLES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(1, |(_, parts)| parts.len());
    let parts = read_variable(name)
        .await
        .map(|v| v.splitn(arity, '|').map(str::to_owned).collect());
    crate::scope::with(|l| l.bundles_read.push((name, parts.clone())));
    parts
}

#[async_trait::async_trait(?Send)]
impl Platform for Spin {
    fn random_bytes(&self, n: usize) -> Result<Vec<u8>, PlatformError> {
        crate::scope::random_bytes(n).map_err(PlatformError::Random)
    }

    async fn variable(&self, name: &str) -> Option<String> {
        let bundled = BUNDLES
            .iter()
            .find_map(|(bundle, parts)| Some((*bundle, parts.iter().position(|p| *p == name)?)));
        let value = match bundled {
            // A bundle this component defines answers for its parts (a missing part: unset).
            Some((bundle, at)) => match bundle_parts(bundle).await {
                Some(values) => Some(values.get(at).cloned().unwrap_or_default()),
                None => read_variable(name).await,
            },
            None => read_variable(name).await,
        };
        value.filter(|v| !v.is_empty())
    }

    async fn redis(&self, url: &str) -> Result<Box<dyn RedisExec>, RedisError> {
        SpinRedis::take(url).await
    }

    fn redis_connector(&self) -> Option<std::rc::Rc<dyn RedisConnector>> {
        Some(std::rc::Rc::new(Spin))
    }

    async fn kv(&self, label: &str) -> Option<Box<dyn KvStore>> {
        shared_store(label).map(|store| Box::new(store) as Box<dyn KvStore>)
    }

    async fn prefetch(&self, label: &str, keys: &[String]) {
        if let Some(store) = shared_store(label)
            && !keys.is_empty()
        {
            store.read_ahead(keys);
        }
    }

    async fn post_internal(&self, url: &str, body: &[u8]) -> Result<(u16, Vec<u8>), PlatformError> {
        crate::scope::count(crate::scope::HostCall::Http);
        post_json(url, body, crate::scope::traceparent()).await
    }
}

/// POSTs a JSON body with spin-sdk 5.2's outbound HTTP; `traceparent` makes the request a child
/// span of this one.
#[cfg(feature = "p2")]
async fn post_json(
    url: &str,
    body: &[u8],
    traceparent: Option<String>,
) -> Result<(u16, Vec<u8>), PlatformError> {
    let mut builder = spin_sdk::http::Request::builder();
    builder
        .method(spin_sdk::http::Method::Post)
        .uri(url)
        .header("content-type", "application/json");
    if let Some(traceparent) = traceparent {
        builder.header("traceparent", traceparent);
    }
    let request = builder.body(body.to_vec()).build();
    let response: spin_sdk::http::Response = spin_sdk::http::send(request)
        .await
        .map_err(|e| PlatformError::Chain(e.to_string()))?;
    Ok((*response.status(), response.body().to_vec()))
}

/// [`post_json`] with spin-sdk 6.0's (`wasi:http@0.3` client): the response body read whole.
#[cfg(feature = "p3")]
async fn post_json(
    url: &str,
    body: &[u8],
    traceparent: Option<String>,
) -> Result<(u16, Vec<u8>), PlatformError> {
    use spin_sdk::http::body::IncomingBodyExt;

    let mut request = http::Request::builder()
        .method(http::Method::POST)
        .uri(url)
        .header("content-type", "application/json")
        .header("content-length", body.len());
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    let request = request
        .body(crate::message::StreamedBody::Whole(Some(
            body.to_vec().into(),
        )))
        .map_err(|e| PlatformError::Chain(e.to_string()))?;
    let response = spin_sdk::http::send(request)
        .await
        .map_err(|e| PlatformError::Chain(format!("{e:?}")))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .bytes()
        .await
        .map_err(|e| PlatformError::Chain(format!("reading the answer: {e:?}")))?;
    Ok((status, body.to_vec()))
}

/// A platform for unit tests of what draws randomness: its random source hands out distinct
/// bytes and keeps everything it handed out, so a test sees each secret come from it.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct RecordedRandom {
    /// Every draw, in order.
    pub drawn: std::cell::RefCell<Vec<Vec<u8>>>,
    /// A source that fails every draw.
    pub failing: bool,
}

#[cfg(test)]
#[async_trait::async_trait(?Send)]
impl Platform for RecordedRandom {
    fn random_bytes(&self, n: usize) -> Result<Vec<u8>, PlatformError> {
        if self.failing {
            return Err(PlatformError::Random("no entropy".into()));
        }
        let mut drawn = self.drawn.borrow_mut();
        let seed = drawn.len();
        let bytes: Vec<u8> = (0..n)
            .map(|i| u8::try_from((seed * 131 + i * 7 + 1) % 251).unwrap_or(0))
            .collect();
        drawn.push(bytes.clone());
        Ok(bytes)
    }
    async fn variable(&self, _: &str) -> Option<String> {
        None
    }
    async fn redis(&self, _: &str) -> Result<Box<dyn RedisExec>, RedisError> {
        Err(RedisError::Transport("no redis here".into()))
    }
    async fn kv(&self, _: &str) -> Option<Box<dyn KvStore>> {
        None
    }
    async fn post_internal(&self, _: &str, _: &[u8]) -> Result<(u16, Vec<u8>), PlatformError> {
        Err(PlatformError::Chain("no components here".into()))
    }
}

/// A platform for unit tests of what uses only a KV store: `S` is the store, no Redis, no other
/// component, the host's random source.
#[cfg(test)]
pub(crate) struct OnlyKv<S>(pub S);

#[cfg(test)]
#[async_trait::async_trait(?Send)]
impl<S: KvStore + Clone + 'static> Platform for OnlyKv<S> {
    fn random_bytes(&self, n: usize) -> Result<Vec<u8>, PlatformError> {
        crate::scope::random_bytes(n).map_err(PlatformError::Random)
    }
    async fn variable(&self, _: &str) -> Option<String> {
        None
    }
    async fn redis(&self, _: &str) -> Result<Box<dyn RedisExec>, RedisError> {
        Err(RedisError::Transport("no redis here".into()))
    }
    async fn kv(&self, _: &str) -> Option<Box<dyn KvStore>> {
        Some(Box::new(self.0.clone()))
    }
    async fn post_internal(&self, _: &str, _: &[u8]) -> Result<(u16, Vec<u8>), PlatformError> {
        Err(PlatformError::Chain("no components here".into()))
    }
}
