//! The servers under measurement. Per runtime: the app exactly as shipped (spin.toml with
//! spin-worker.toml and runtime-config.toml: KV on SQLite in a scratch `.spin/`), two "observed"
//! copies of the app (access log to a file, metrics at the shipped default / on every request;
//! same KV store) and the floors app (`floors`). edge-host runs in its Spin-faithful mode; Spin
//! gets every app variable resolved once with `--variable`, as scripts/up.sh starts it. A fourth
//! copy, with its own worker and KV store, speaks to the bench's Redis Cluster (`cluster`) in
//! cluster mode, for the cluster rows. And the native baseline, edge-native.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::Bench;
use crate::floors::floors_manifest;
use crate::knobs::{EDGE_HOST, SPIN, SPIN_P3};
use crate::procs::{self, Role};
use crate::rows::Server;
use crate::tools::{self, free_port};

/// How long [`Bench::wait_for`] waits for a server's first answer. On a machine whose Wasm
/// compile cache is empty, every copy of the app (and its worker) compiles its components at once
/// on the same cores: the first spin-p3 run on a fresh 2-core machine gave up after the minute
/// it was given then (one copy alone: 13–15 s).
const START_WITHIN: Duration = Duration::from_secs(300);

/// Where each server of a runtime (or the native baseline) answers.
#[derive(Debug, Default)]
pub struct Servers {
    pub app: String,
    pub hello: String,
    pub observed: String,
    pub observed_exact: String,
    /// The app in cluster mode, against the bench's Redis Cluster.
    pub cluster: String,
    pub native: String,
}

impl Servers {
    /// The base URL of a row's server (empty when that server is not running).
    pub fn url(&self, server: Server) -> &str {
        match server {
            Server::App => &self.app,
            Server::Hello => &self.hello,
            Server::Observed => &self.observed,
            Server::ObservedExact => &self.observed_exact,
            Server::Cluster => &self.cluster,
            Server::Native => &self.native,
        }
    }
}

/// The ports of a runtime's servers.
struct Ports {
    app: u16,
    hello: u16,
    observed: u16,
    exact: u16,
    cluster: u16,
}

/// The pids of the servers to wait for.
struct Pids {
    app: u32,
    hello: u32,
    observed: u32,
    exact: u32,
    cluster: u32,
}

impl Bench {
    /// Starts a runtime's servers and waits until each answers, the floors give their 1.2 KB
    /// value and the worker has subscribed to the doorbell.
    pub(crate) fn start_runtime(&self, rt: &str) -> Result<Servers> {
        let dir = self.tmp.join(rt);
        let floors = dir.join("floors");
        // The cluster copy has the same manifests and runtime config in a folder of its own, so
        // its KV store (`.spin/`) is its own too.
        let cluster_dir = dir.join("cluster");
        // The shipped manifests with absolute component paths; the runtime config's relative
        // `.spin/` lands in this scratch folder (the floors app has its own copy).
        // spin-p3 serves the p3 build of the HTTP app; the worker is p2 on every runtime.
        for app_dir in [&dir, &cluster_dir] {
            std::fs::create_dir_all(app_dir)
                .with_context(|| format!("creating {}", app_dir.display()))?;
            self.write_app_manifest(rt, app_dir)?;
            tools::copy_manifest(
                &self.root.join("spin-worker.toml"),
                &app_dir.join("spin-worker.toml"),
                crate::P2_SOURCES,
                &self.wasm_dir,
            )?;
        }
        std::fs::create_dir_all(&floors)
            .with_context(|| format!("creating {}", floors.display()))?;
        let config = self.root.join("runtime-config.toml");
        for to in [&dir, &floors, &cluster_dir] {
            std::fs::copy(config.as_path(), to.join("runtime-config.toml"))
                .with_context(|| format!("copying runtime-config.toml to {}", to.display()))?;
        }
        std::fs::write(
            floors.join("hello.toml"),
            floors_manifest(self.build(rt)?.wasm_dir, &self.redis_url),
        )
        .context("writing the floors manifest")?;
        let ports = Ports {
            app: free_port()?,
            hello: free_port()?,
            observed: free_port()?,
            exact: free_port()?,
            cluster: free_port()?,
        };
        let pids = match rt {
            EDGE_HOST => self.start_edge_host(&dir, &ports)?,
            SPIN | SPIN_P3 => self.start_spin(&dir, &ports)?,
            other => bail!("unknown runtime {other}"),
        };
        let servers = Servers {
            app: format!("http://127.0.0.1:{}", ports.app),
            hello: format!("http://127.0.0.1:{}", ports.hello),
            observed: format!("http://127.0.0.1:{}", ports.observed),
            observed_exact: format!("http://127.0.0.1:{}", ports.exact),
            cluster: format!("http://127.0.0.1:{}", ports.cluster),
            native: String::new(),
        };
        let hello_log = dir.join("hello.log");
        self.wait_for(
            &format!("{}/health/live", servers.app),
            pids.app,
            &dir.join("app.log"),
        )?;
        self.wait_for(&format!("{}/", servers.hello), pids.hello, &hello_log)?;
        self.check_floors(rt, &servers.hello, &hello_log)?;
        self.wait_for(
            &format!("{}/health/live", servers.observed),
            pids.observed,
            &dir.join("observed.log"),
        )?;
        self.wait_for(
            &format!("{}/health/live", servers.observed_exact),
            pids.exact,
            &dir.join("exact.log"),
        )?;
        self.wait_for(
            &format!("{}/health/live", servers.cluster),
            pids.cluster,
            &cluster_dir.join("app.log"),
        )?;
        self.wait_for_worker(rt, self.redis_port, &dir.join("worker.log"))?;
        self.wait_for_worker(rt, self.cluster_trigger, &cluster_dir.join("worker.log"))?;
        eprintln!(
            "==> {rt}: app on {}, hello floor on {}",
            servers.app, servers.hello
        );
        Ok(servers)
    }

    fn start_edge_host(&self, dir: &Path, ports: &Ports) -> Result<Pids> {
        let host = self.bin.join("edge-host");
        let up = |manifest: &'static str, port: u16| -> Vec<String> {
            [
                "up",
                "--spin-faithful",
                "--manifest",
                manifest,
                "--runtime-config",
                "runtime-config.toml",
                "--listen",
            ]
            .into_iter()
            .map(String::from)
            .chain([format!("127.0.0.1:{port}")])
            .collect()
        };
        let observed_env = [
            ("SPIN_VARIABLE_REQUEST_LOG", "json"),
            ("SPIN_VARIABLE_METRICS", self.shipped_metrics.as_str()),
        ];
        let exact_env = [
            ("SPIN_VARIABLE_REQUEST_LOG", "json"),
            ("SPIN_VARIABLE_METRICS", "on"),
        ];
        let observed = self.spawn_server(
            &host,
            &up("spin.toml", ports.observed),
            dir,
            &observed_env,
            &dir.join("observed.log"),
        )?;
        let exact = self.spawn_server(
            &host,
            &up("spin.toml", ports.exact),
            dir,
            &exact_env,
            &dir.join("exact.log"),
        )?;
        let app = self.spawn_server(
            &host,
            &up("spin.toml", ports.app),
            dir,
            &[],
            &dir.join("app.log"),
        )?;
        self.spawn_server(
            &host,
            &up("spin-worker.toml", 0),
            dir,
            &[],
            &dir.join("worker.log"),
        )?;
        let cluster_vars = self.cluster_env();
        let cluster_env = borrowed(&cluster_vars);
        let cluster_dir = dir.join("cluster");
        let cluster = self.spawn_server(
            &host,
            &up("spin.toml", ports.cluster),
            &cluster_dir,
            &cluster_env,
            &cluster_dir.join("app.log"),
        )?;
        self.spawn_server(
            &host,
            &up("spin-worker.toml", 0),
            &cluster_dir,
            &cluster_env,
            &cluster_dir.join("worker.log"),
        )?;
        let hello = self.spawn_server(
            &host,
            &up("hello.toml", ports.hello),
            &dir.join("floors"),
            &[],
            &dir.join("hello.log"),
        )?;
        Ok(Pids {
            app,
            hello,
            observed,
            exact,
            cluster,
        })
    }

    fn start_spin(&self, dir: &Path, ports: &Ports) -> Result<Pids> {
        let spin = self.spin.as_ref().context("no Spin CLI")?;
        // Every app variable resolved once (scripts/spin_variables.py), each app with its own
        // settings.
        let observed_env = [
            ("SPIN_VARIABLE_REQUEST_LOG", "json"),
            ("SPIN_VARIABLE_METRICS", self.shipped_metrics.as_str()),
        ];
        let exact_env = [
            ("SPIN_VARIABLE_REQUEST_LOG", "json"),
            ("SPIN_VARIABLE_METRICS", "on"),
        ];
        self.spin_variables(dir, "spin.toml", "app-vars.json", &[])?;
        self.spin_variables(dir, "spin-worker.toml", "worker-vars.json", &[])?;
        self.spin_variables(dir, "spin.toml", "observed-vars.json", &observed_env)?;
        self.spin_variables(dir, "spin.toml", "exact-vars.json", &exact_env)?;
        let cluster_vars = self.cluster_env();
        let cluster_env = borrowed(&cluster_vars);
        let cluster_dir = dir.join("cluster");
        self.spin_variables(&cluster_dir, "spin.toml", "app-vars.json", &cluster_env)?;
        self.spin_variables(
            &cluster_dir,
            "spin-worker.toml",
            "worker-vars.json",
            &cluster_env,
        )?;
        let up = |manifest: &str, vars: Option<&str>, port: Option<u16>| -> Vec<String> {
            let mut args: Vec<String> = ["up", "--from", manifest]
                .into_iter()
                .map(String::from)
                .collect();
            args.push("--runtime-config-file".to_string());
            args.push("runtime-config.toml".to_string());
            if let Some(vars) = vars {
                args.push("--variable".to_string());
                args.push(format!("@{vars}"));
            }
            if let Some(port) = port {
                args.push("--listen".to_string());
                args.push(format!("127.0.0.1:{port}"));
            }
            args
        };
        let observed = self.spawn_server(
            spin,
            &up(
                "spin.toml",
                Some("observed-vars.json"),
                Some(ports.observed),
            ),
            dir,
            &observed_env,
            &dir.join("observed.log"),
        )?;
        let exact = self.spawn_server(
            spin,
            &up("spin.toml", Some("exact-vars.json"), Some(ports.exact)),
            dir,
            &exact_env,
            &dir.join("exact.log"),
        )?;
        let app = self.spawn_server(
            spin,
            &up("spin.toml", Some("app-vars.json"), Some(ports.app)),
            dir,
            &[],
            &dir.join("app.log"),
        )?;
        self.spawn_server(
            spin,
            &up("spin-worker.toml", Some("worker-vars.json"), None),
            dir,
            &[],
            &dir.join("worker.log"),
        )?;
        let cluster = self.spawn_server(
            spin,
            &up("spin.toml", Some("app-vars.json"), Some(ports.cluster)),
            &cluster_dir,
            &cluster_env,
            &cluster_dir.join("app.log"),
        )?;
        self.spawn_server(
            spin,
            &up("spin-worker.toml", Some("worker-vars.json"), None),
            &cluster_dir,
            &cluster_env,
            &cluster_dir.join("worker.log"),
        )?;
        let hello = self.spawn_server(
            spin,
            &up("hello.toml", None, Some(ports.hello)),
            &dir.join("floors"),
            &[],
            &dir.join("hello.log"),
        )?;
        Ok(Pids {
            app,
            hello,
            observed,
            exact,
            cluster,
        })
    }

    /// `python3 scripts/spin_variables.py MANIFEST OUT runtime-config.toml` in `dir`.
    fn spin_variables(
        &self,
        dir: &Path,
        manifest: &str,
        out: &str,
        env: &[(&str, &str)],
    ) -> Result<()> {
        let mut cmd = self.command("python3");
        cmd.arg(self.root.join("scripts").join("spin_variables.py"))
            .args([manifest, out, "runtime-config.toml"])
            .current_dir(dir)
            .envs(env.iter().copied());
        let status = self.procs.run(
            &mut cmd,
            "scripts/spin_variables.py",
            Duration::from_secs(60),
        )?;
        if !status.is_some_and(|s| s.success()) {
            bail!("scripts/spin_variables.py {manifest} {out} failed");
        }
        Ok(())
    }

    /// Starts a server in `cwd` with its stdout and stderr in `log`; its pid.
    fn spawn_server(
        &self,
        program: &Path,
        args: &[String],
        cwd: &Path,
        env: &[(&str, &str)],
        log: &Path,
    ) -> Result<u32> {
        let (out, err) = procs::log_to(log)?;
        let mut cmd = self.command(program);
        cmd.args(args)
            .current_dir(cwd)
            .envs(env.iter().copied())
            .stdout(out)
            .stderr(err);
        self.procs
            .spawn(&mut cmd, &program.display().to_string(), Role::Server)
    }

    /// Until `url` answers (any status), tried every 0.1 s for [`START_WITHIN`] from this call
    /// while `pid` runs; else its log and the error.
    fn wait_for(&self, url: &str, pid: u32, log: &Path) -> Result<()> {
        let started = Instant::now();
        while !tools::answers(url, Duration::from_secs(2)) {
            if !self.procs.alive(pid) {
                return Err(self.procs.fail(format!("{url}: its server ended"), log));
            }
            if started.elapsed() > START_WITHIN {
                let secs = START_WITHIN.as_secs();
                return Err(self
                    .procs
                    .fail(format!("{url} did not answer within {secs} s"), log));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    /// The cluster copy's variables over the bench's: the cluster's nodes as seeds, cluster mode,
    /// every loopback port admitted (the nodes are reached at the addresses the cluster
    /// announces) and the trigger on the primary that owns the schedule alarm's slot.
    fn cluster_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SPIN_VARIABLE_REDIS_URL", self.cluster.seeds()),
            ("SPIN_VARIABLE_REDIS_MODE", "cluster".to_string()),
            (
                "SPIN_VARIABLE_REDIS_HOSTS",
                "redis://127.0.0.1:*".to_string(),
            ),
            (
                "SPIN_VARIABLE_REDIS_TRIGGER_URL",
                format!("redis://127.0.0.1:{}", self.cluster_trigger),
            ),
        ]
    }

    /// Until a worker has subscribed to `lb:doorbell` on the server at `port` (pub/sub
    /// subscriptions are a node's own on a cluster), 300 tries 0.1 s apart.
    fn wait_for_worker(&self, rt: &str, port: u16, log: &Path) -> Result<()> {
        let mut tries = 0;
        loop {
            let subscribed =
                tools::redis_cli_on(&self.procs, port, &["pubsub", "numsub", "lb:doorbell"])
                    .ok()
                    .and_then(|out| out.lines().next_back()?.trim().parse::<i64>().ok())
                    .is_some_and(|n| n >= 1);
            if subscribed {
                return Ok(());
            }
            tries += 1;
            if tries > 300 {
                return Err(self
                    .procs
                    .fail(format!("the {rt} worker did not subscribe"), log));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts edge-native (`--manifest spin.toml`, a port of its choosing); its URL.
    pub(crate) fn start_native(&self) -> Result<String> {
        let out = self.tmp.join("native.out");
        let err = self.tmp.join("native.err");
        let mut cmd = self.command(self.bin.join("edge-native"));
        cmd.args(["--manifest", "spin.toml", "--listen", "127.0.0.1:0"])
            .stdout(File::create(&out).context("creating native.out")?)
            .stderr(File::create(&err).context("creating native.err")?);
        let pid = self.procs.spawn(&mut cmd, "edge-native", Role::Server)?;
        let mut tries = 0;
        loop {
            tries += 1;
            if tries > 100 || !self.procs.alive(pid) {
                return Err(self
                    .procs
                    .fail("edge-native did not start".to_string(), &err));
            }
            std::thread::sleep(Duration::from_millis(100));
            let printed = std::fs::read_to_string(out.as_path()).unwrap_or_default();
            if let Some(url) = native_url(&printed) {
                return Ok(url);
            }
        }
    }
}

/// The URL in edge-native's `edge-native: serving on http://127.0.0.1:PORT` line.
fn native_url(printed: &str) -> Option<String> {
    printed.lines().find_map(|line| {
        let port = line.strip_prefix("edge-native: serving on http://127.0.0.1:")?;
        let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| format!("http://127.0.0.1:{port}"))
    })
}

/// Variables as the spawning functions take them.
fn borrowed<'a>(vars: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    vars.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_url_from_its_line() {
        assert_eq!(
            native_url("edge-native: serving on http://127.0.0.1:4321\n").as_deref(),
            Some("http://127.0.0.1:4321")
        );
        assert_eq!(
            native_url("edge-native: serving on http://0.0.0.0:1\n"),
            None
        );
    }
}
