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

mod kv;
mod redis;
mod variables;

pub use kv::begin_request;
use kv::shared_store;
#[cfg(feature = "p3")]
pub use redis::REDIS_REPLY_TIMEOUT_MS;
use redis::SpinRedis;
#[cfg(feature = "p3")]
pub use variables::VARIABLE_TTL_MS;
pub use variables::{BUNDLES, bundle};
use variables::{bundle_parts, read_variable};

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
