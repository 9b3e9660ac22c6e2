//! `edge-host`: a small Spin-compatible host on wasmtime.
//!
//! It runs the same `.wasm` files and `spin.toml` as Spin 3.x/4.x: HTTP trigger with Spin's
//! routing and `spin-*` headers, Redis trigger, Spin key-value/redis/variables and
//! `wasi:keyvalue`, outbound HTTP restricted to `allowed_outbound_hosts`, a fresh instance per
//! request from a pooling allocator with an epoch deadline and a memory cap. It exists because Spin
//! cannot be installed from a package registry; tests, benchmarks and `scripts/up.sh` use it.
//!
//! # The map
//!
//! Bottom first; a module uses only its own layer or lower ones, never in a circle
//! (`scripts/layers.py` checks it in CI):
//!
//! 1. Parts: [`manifest`], [`variables`], [`runtime_config`], [`kv`] (the KV backends),
//!    [`redis_pool`] (outbound Redis connections), [`allowed_hosts`], [`grants`] (what a
//!    component may use), [`routing`], [`problem`] (host-made responses), [`compiled`]
//!    (compiled components, in memory and on disk), [`config`] (the host's settings).
//! 2. [`outbound`]: outbound HTTP and service chaining (through the [`outbound::Chain`] the app
//!    implements).
//! 3. [`state`]: one instance's store state, and what every instance shares ([`state::Shared`]).
//! 4. [`interfaces`]: the Spin and `wasi:keyvalue` imports, implemented on that state.
//! 5. [`app`]: the loaded application ([`Runtime`]) and its HTTP dispatch.
//! 6. [`server`] (the HTTP listener) and [`redis_trigger`].

pub mod allowed_hosts;
pub mod app;
pub mod compiled;
pub mod config;
pub mod grants;
pub mod interfaces;
pub mod kv;
pub mod manifest;
pub mod outbound;
pub mod problem;
pub mod redis_pool;
pub mod redis_trigger;
pub mod routing;
pub mod runtime_config;
pub mod server;
pub mod state;
pub mod variables;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

pub use app::{HostConfig, Runtime, TriggerFailure};
pub use redis_pool::RedisConnectionMode;

/// A running host: the HTTP server and the Redis trigger.
pub struct Host {
    /// The application.
    pub runtime: Arc<Runtime>,
    /// The HTTP server.
    pub server: server::Server,
    redis: Option<redis_trigger::RedisTrigger>,
    ended: tokio::sync::watch::Receiver<Option<String>>,
}

impl Host {
    /// Loads the manifest and starts serving.
    pub async fn start(
        manifest: &Path,
        listen: SocketAddr,
        config: HostConfig,
    ) -> anyhow::Result<Self> {
        let runtime = Runtime::load(manifest, config).await?;
        // In-flight requests end within their own deadline, so shutdown waits that long at most.
        let grace = runtime.config.shutdown_grace();
        let server = server::Server::start(Arc::clone(&runtime), listen, grace).await?;
        let redis = if runtime.manifest.redis_triggers.is_empty() {
            None
        } else {
            Some(redis_trigger::RedisTrigger::start(Arc::clone(&runtime))?)
        };
        let ended = match &redis {
            Some(r) => r.ended(),
            None => tokio::sync::watch::channel(None).1,
        };
        // A trigger that ends the app (Spin's behaviour) stops the HTTP server too.
        let mut watch = ended.clone();
        let stop = server.stopper();
        tokio::spawn(async move {
            if watch.wait_for(Option::is_some).await.is_ok() {
                stop();
            }
        });
        Ok(Self {
            runtime,
            server,
            redis,
            ended,
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Why the app ended on its own (a trigger failure in Spin-faithful mode), if it has.
    pub fn ended(&self) -> Option<String> {
        self.ended.borrow().clone()
    }

    /// Waits until the app ends on its own; the reason.
    pub async fn wait_ended(&self) -> String {
        let mut ended = self.ended.clone();
        match ended.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone().unwrap_or_default(),
            // No trigger can end it: wait forever.
            Err(_) => std::future::pending().await,
        }
    }

    /// Stops everything.
    pub async fn shutdown(self) {
        if let Some(r) = self.redis {
            r.shutdown().await;
        }
        self.server.shutdown().await;
    }
}
