//! Cold start, per runtime before its rows: the app (its build's manifest) and hello, each started with an
//! empty compile cache (HOME and XDG_CACHE_HOME pointed at an empty folder, so there is no
//! compiled component to reuse), timed from start to its first answer (any status) of
//! `/health/live`, or `/` for hello. At most 120 s, probing every 10 ms.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::Bench;
use crate::knobs::{EDGE_HOST, SPIN, SPIN_P3};
use crate::procs::{self, Role};
use crate::py;
use crate::records::ColdStart;
use crate::tools::{self, free_port};

/// The longest a cold start may take.
const LIMIT: Duration = Duration::from_secs(120);

/// A manifest of the hello component alone.
fn hello_manifest(wasm_dir: &Path) -> String {
    format!(
        r#"spin_manifest_version = 2
[application]
name = "hello"
[[trigger.http]]
route = "/..."
component = "hello"
[component.hello]
source = "{}/hello.wasm"
"#,
        wasm_dir.display()
    )
}

/// The line Python's `json.dumps` printed for a cold start.
fn python_line(c: &ColdStart) -> String {
    let secs = c.secs.map_or_else(|| "null".to_string(), py::repr);
    format!(
        r#"{{"runtime": "{}", "what": "{}", "secs": {secs}}}"#,
        c.runtime, c.what
    )
}

impl Bench {
    pub(crate) fn cold_start(&mut self, rt: &str) -> Result<()> {
        let dir = self.tmp.join(format!("cold-{rt}"));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        self.write_app_manifest(rt, &dir)?;
        std::fs::copy(
            self.root.join("runtime-config.toml"),
            dir.join("runtime-config.toml"),
        )
        .context("copying runtime-config.toml")?;
        std::fs::write(
            dir.join("hello.toml"),
            hello_manifest(self.build(rt)?.wasm_dir),
        )
        .context("writing hello.toml")?;
        for (what, manifest, path) in [
            ("app", "spin.toml", "/health/live"),
            ("hello", "hello.toml", "/"),
        ] {
            let port = free_port()?;
            eprintln!("==> {rt}: cold start of the {what} (empty compile cache)");
            let listen = format!("127.0.0.1:{port}");
            let mut cmd = match rt {
                SPIN | SPIN_P3 => {
                    let spin = self.spin.as_ref().context("no Spin CLI")?;
                    let mut cmd = self.command(spin);
                    cmd.args(["up", "--from", manifest])
                        .args(["--runtime-config-file", "runtime-config.toml"])
                        .args(["--listen", listen.as_str()]);
                    cmd
                }
                EDGE_HOST => {
                    let mut cmd = self.command(self.bin.join("edge-host"));
                    cmd.args(["up", "--spin-faithful", "--manifest", manifest])
                        .args(["--runtime-config", "runtime-config.toml"])
                        .args(["--listen", listen.as_str()]);
                    cmd
                }
                other => bail!("unknown runtime {other}"),
            };
            let home = dir.join(format!("home-{what}"));
            std::fs::create_dir_all(&home)
                .with_context(|| format!("creating {}", home.display()))?;
            let (out, err) = procs::log_to(&dir.join(format!("{what}.log")))?;
            cmd.current_dir(dir.as_path())
                .env("HOME", &home)
                .env("XDG_CACHE_HOME", home.join(".cache"))
                .stdout(out)
                .stderr(err);
            let url = format!("http://127.0.0.1:{port}{path}");
            let started = Instant::now();
            let pid = self.procs.spawn(&mut cmd, what, Role::Cold)?;
            let mut secs = None;
            while started.elapsed() < LIMIT && self.procs.alive(pid) {
                if tools::answers(&url, Duration::from_secs(5)) {
                    secs = Some(py::round(started.elapsed().as_secs_f64(), 3));
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            self.procs.stop(pid);
            let record = ColdStart {
                runtime: rt.to_string(),
                what: what.to_string(),
                secs,
            };
            eprintln!("    {}", python_line(&record));
            self.results.coldstart.push(record);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_as_python_printed_them() {
        let c = ColdStart {
            runtime: "spin".into(),
            what: "app".into(),
            secs: Some(0.5),
        };
        assert_eq!(
            python_line(&c),
            r#"{"runtime": "spin", "what": "app", "secs": 0.5}"#
        );
        let c = ColdStart { secs: None, ..c };
        assert_eq!(
            python_line(&c),
            r#"{"runtime": "spin", "what": "app", "secs": null}"#
        );
    }
}
