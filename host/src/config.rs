//! The host's settings ([`HostConfig`]): limits, timeouts, how Redis connections and a lost
//! trigger connection are handled, and what makes the host behave as Spin 4.0.2 does.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::redis_pool::RedisConnectionMode;

/// How long shutdown waits for requests in flight when they have no deadline: the app's longest
/// long-poll by default (`live_max_secs`, 55 s) and a margin. A deployment that raises
/// `live_max_secs` gets its longer polls cut at shutdown (their clients poll again).
pub const SHUTDOWN_GRACE_WITHOUT_DEADLINE: Duration = Duration::from_secs(61);

/// Host settings.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Linear-memory cap per instance.
    pub memory_limit_bytes: usize,
    /// Wall-clock budget of one request or message until its response's head is sent (guest
    /// CPU is interrupted by epoch; the client gets a `504` problem). Spin has none, so `None`
    /// (the default) sets none either; `edge-host up --timeout-secs N` asks for one, which must
    /// stay above the app's longest long-poll (`live_max_secs`, 55 s).
    pub request_timeout: Option<Duration>,
    /// `TCP_NODELAY` on accepted connections. Spin's server does not set it (the app works
    /// around Nagle itself, `edge::serve`), so it is off by default; `--tcp-nodelay` sets it.
    pub tcp_nodelay: bool,
    /// In the pooled Redis mode, give up on a connect or a reply after 5 s (the connection is
    /// then dropped from the pool). Spin's outbound Redis waits as long as Redis takes, so this
    /// is off by default; `--redis-timeouts` turns it on.
    pub redis_timeouts: bool,
    /// How long a response whose head was sent may go on writing its body (an event stream).
    /// Spin sets no limit; this one only stops a guest that never ends its body.
    pub stream_timeout: Duration,
    /// Redis-trigger messages handled at once per trigger.
    pub redis_concurrency: usize,
    /// Variable values that beat manifest defaults (the environment still wins, as in Spin).
    pub variables: BTreeMap<String, String>,
    /// Spin-format runtime config.
    pub runtime_config: Option<PathBuf>,
    /// Initial offset of the guests' wall clock, in ms (test clock).
    pub clock_offset_ms: i64,
    /// How outbound Redis connections are made.
    pub redis_connections: RedisConnectionMode,
    /// What a Redis trigger does when its connection is lost.
    pub trigger_failure: TriggerFailure,
    /// Where the guests' stdout and stderr go: appended to this file, or the host's own
    /// (Spin writes them to its console and its log folder).
    pub guest_output: Option<PathBuf>,
}

/// What a Redis trigger does when its subscription connection is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TriggerFailure {
    /// Reconnect with backoff and go on (the host's forgiving mode; messages published while
    /// disconnected are lost, as pub/sub is at-most-once).
    #[default]
    Reconnect,
    /// End the whole application, HTTP included, as Spin 4.0.2 does ("A trigger exited
    /// unexpectedly. Terminating.").
    EndApp,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            memory_limit_bytes: 128 << 20,
            request_timeout: None,
            tcp_nodelay: false,
            redis_timeouts: false,
            stream_timeout: Duration::from_secs(3600),
            redis_concurrency: 16,
            variables: BTreeMap::new(),
            runtime_config: None,
            clock_offset_ms: 0,
            redis_connections: RedisConnectionMode::Pooled,
            trigger_failure: TriggerFailure::Reconnect,
            guest_output: None,
        }
    }
}

impl HostConfig {
    /// Spin 4.0.2's behaviour where the host otherwise differs: a new Redis connection per
    /// `open`, one Redis message handled at a time per subscription, and a lost trigger
    /// connection ends the app; none of the opt-in extras Spin lacks (a request deadline,
    /// `TCP_NODELAY`, Redis timeouts). Used by the parity tests and the benchmark.
    pub fn spin_faithful(mut self) -> Self {
        self.redis_connections = RedisConnectionMode::PerOpen;
        self.redis_concurrency = 1;
        self.trigger_failure = TriggerFailure::EndApp;
        self.request_timeout = None;
        self.tcp_nodelay = false;
        self.redis_timeouts = false;
        self
    }

    /// How long shutdown waits for requests in flight: their deadline and a second, or without
    /// one [`SHUTDOWN_GRACE_WITHOUT_DEADLINE`].
    pub fn shutdown_grace(&self) -> Duration {
        self.request_timeout
            .map_or(SHUTDOWN_GRACE_WITHOUT_DEADLINE, |t| {
                t + Duration::from_secs(1)
            })
    }
}
