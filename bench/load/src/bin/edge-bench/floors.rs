//! The floors app (the test guests `hello`, no I/O, and `floors`: one KV get on the app's store
//! type at /kv, one outbound Redis open + GET at /redis, one GET on a kept connection at
//! /redis-kept for p3), and the check that its floors answer their value before they are measured.

use std::path::Path;

use anyhow::Result;

use crate::Bench;
use crate::knobs::SPIN_P3;

/// The floors app: hello at every path, the floors component at /kv, /redis and /redis-kept (a
/// p2 floors component answers that one 404; only the p3 rows load it).
pub(crate) fn floors_manifest(wasm_dir: &Path, redis_url: &str) -> String {
    let w = wasm_dir.display();
    format!(
        r#"spin_manifest_version = 2
[application]
name = "floors"
[[trigger.http]]
route = "/..."
component = "hello"
[[trigger.http]]
route = "/kv"
component = "floors"
[[trigger.http]]
route = "/redis"
component = "floors"
[[trigger.http]]
route = "/redis-kept"
component = "floors"
[component.hello]
source = "{w}/hello.wasm"
[component.floors]
source = "{w}/floors.wasm"
key_value_stores = ["default"]
allowed_outbound_hosts = ["{redis_url}"]
[component.floors.variables]
redis_url = "{redis_url}"
"#
    )
}

impl Bench {
    /// The floors answer their value: a 1.2 KB value (a cached top-10 page's size) put into the
    /// KV store through /kv and set in Redis, then read back through /kv and /redis.
    pub(crate) fn check_floors(&self, rt: &str, hello: &str, log: &Path) -> Result<()> {
        let value = "x".repeat(1200);
        self.redis_cli(&["set", "floor", value.as_str()])?;
        let kv = format!("{hello}/kv");
        let mut put = std::process::Command::new("curl");
        put.args([
            "-s",
            "-m",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "PUT",
        ])
        .args(["--data-binary", value.as_str(), kv.as_str()]);
        let code = self.curl(&mut put, "PUT /kv of the floors app")?;
        let floors: &[&str] = if rt == SPIN_P3 {
            &["kv", "redis", "redis-kept"]
        } else {
            &["kv", "redis"]
        };
        for floor in floors {
            let url = format!("{hello}/{floor}");
            let mut get = std::process::Command::new("curl");
            get.args(["-s", "-m", "10", url.as_str()]);
            let body = self.curl_output(&mut get)?;
            if code != "200" || body.len() != 1200 {
                return Err(self
                    .procs
                    .fail(format!("the {floor} floor does not answer its value"), log));
            }
        }
        Ok(())
    }
}
