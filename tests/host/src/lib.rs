//! `edge-host`: a small Spin-compatible host on wasmtime.
//!
//! It runs the same `.wasm` files and `spin.toml` as Spin 3.x/4.x: HTTP trigger with Spin's
//! routing and `spin-*` headers, Redis trigger, Spin key-value/redis/variables and
//! `wasi:keyvalue`, outbound HTTP restricted to `allowed_outbound_hosts`, a fresh instance per
//! request from a pooling allocator with an epoch deadline and a memory cap. It exists because Spin
//! cannot be installed from a package registry; tests, benchmarks and `scripts/up.sh` use it.

pub mod allowed_hosts;
pub mod app;
pub mod interfaces;
pub mod kv;
pub mod manifest;
pub mod outbound;
pub mod problem;
pub mod redis_trigger;
pub mod routing;
pub mod runtime_config;
pub mod server;
pub mod state;
pub mod variables;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

pub use app::{HostConfig, Runtime};

/// A running host: the HTTP server and the Redis trigger.
pub struct Host {
    /// The application.
    pub runtime: Arc<Runtime>,
    /// The HTTP server.
    pub server: server::Server,
    redis: Option<redis_trigger::RedisTrigger>,
}

impl Host {
    /// Loads the manifest and starts serving.
    pub async fn start(
        manifest: &Path,
        listen: SocketAddr,
        config: HostConfig,
    ) -> anyhow::Result<Self> {
        let runtime = Runtime::load(manifest, config).await?;
        let server = server::Server::start(Arc::clone(&runtime), listen).await?;
        let redis = if runtime.manifest.redis_triggers.is_empty() {
            None
        } else {
            Some(redis_trigger::RedisTrigger::start(Arc::clone(&runtime))?)
        };
        Ok(Self {
            runtime,
            server,
            redis,
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Stops everything.
    pub async fn shutdown(self) {
        if let Some(r) = self.redis {
            r.shutdown().await;
        }
        self.server.shutdown().await;
    }
}
