//! The probe app: the probe guest (`tests/guests/probe`) on several routes, used by the host tests
//! and the parity tests.

use edge_host::HostConfig;

use crate::{RedisServer, TestApp};

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
