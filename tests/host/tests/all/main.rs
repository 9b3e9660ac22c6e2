//! Integration tests of the local host: real `.wasm` guests (built by `scripts/build.sh`) run by
//! the host against a real `redis-server` that each test starts on a free port.
//!
//! The HTTP-level tests of the app (`api_*`, `app_*`) and the tests of behaviour a runtime
//! provides (`host_kv`, parts of `host_redis`, `parity`) also run on real Spin:
//! `EDGE_TEST_RUNTIME=spin SPIN_BIN=… cargo test -p edge-host --test all -- api_ app_ host_kv …`
//! (what `scripts/test.sh` does when a Spin CLI is available).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod api_async;
mod api_boards;
mod api_breaker;
mod api_cache_auth;
mod api_encoding;
mod api_experiments;
mod api_fault;
mod api_flags;
mod api_keys;
mod api_log;
mod api_metrics;
mod api_outage;
mod api_pipeline;
mod api_ratelimit;
mod api_regions;
mod api_scores;
mod api_tenants;
mod app_health;
mod harness;
mod host_http;
mod host_kv;
mod host_limits;
mod host_redis;
mod parity;

use edge_host::HostConfig;
use harness::{RedisServer, TestApp};

/// The probe guest on several routes, plus a private route, with a Redis URL variable.
pub fn probe_manifest(redis_url: &str, extra_component: &str) -> String {
    format!(
        r#"
spin_manifest_version = 2
[application]
name = "probe-app"

[variables]
redis_url = {{ default = "{redis_url}" }}
greeting = {{ default = "hello from the manifest" }}
from_env = {{ default = "unset" }}

[[trigger.http]]
route = "/..."
component = "probe"

[[trigger.http]]
route = "/headers"
component = "exact"

[[trigger.http]]
route = "/api/v2/..."
component = "nested"

[[trigger.http]]
route = "/api/..."
component = "api"

[[trigger.http]]
route = "/users/:id/..."
component = "users"

[[trigger.http]]
route = {{ private = true }}
component = "internal"

[component.probe]
source = "{{wasm}}/probe.wasm"
key_value_stores = ["default", "other"]
allowed_outbound_hosts = ["redis://127.0.0.1:*", "http://127.0.0.1:*", "http://*.spin.internal"]
[component.probe.variables]
redis_url = "{{{{ redis_url }}}}"
greeting = "{{{{ greeting }}}}!"

[component.exact]
source = "{{wasm}}/probe.wasm"

[component.api]
source = "{{wasm}}/probe.wasm"
key_value_stores = ["default"]

[component.nested]
source = "{{wasm}}/probe.wasm"

[component.users]
source = "{{wasm}}/probe.wasm"

[component.internal]
source = "{{wasm}}/probe.wasm"
{extra_component}
"#
    )
}

/// In-memory `default` and `other` stores in Spin's format (`spin` without a path).
pub const PROBE_STORES: &str =
    "[key_value_store.default]\ntype = \"spin\"\n[key_value_store.other]\ntype = \"spin\"\n";

/// Starts Redis and the probe app on edge-host with in-memory `default` and `other` stores.
pub async fn probe_app(config: HostConfig) -> (RedisServer, TestApp) {
    let redis = RedisServer::start();
    let app = TestApp::start(
        &probe_manifest(&redis.url(), ""),
        Some(PROBE_STORES),
        config,
    )
    .await;
    (redis, app)
}

/// [`probe_app`] on the runtime under test (`EDGE_TEST_RUNTIME`), in Spin-faithful mode on
/// edge-host.
pub async fn probe_app_under_test() -> (RedisServer, TestApp) {
    let redis = RedisServer::start();
    let app = TestApp::start_under_test(
        &probe_manifest(&redis.url(), ""),
        Some(PROBE_STORES),
        HostConfig::default().spin_faithful(),
    )
    .await;
    (redis, app)
}
