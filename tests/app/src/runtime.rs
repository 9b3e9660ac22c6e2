//! The runtime under test (`EDGE_TEST_RUNTIME`) and a real `spin up` process.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// The runtime the HTTP-level tests run against: `EDGE_TEST_RUNTIME=spin` selects a real Spin CLI
/// (`SPIN_BIN`, else `spin` on `PATH`); anything else (the default) the project's own host,
/// in-process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeKind {
    /// `edge-host`, in-process.
    EdgeHost,
    /// A `spin` executable, one `spin up` process per app.
    Spin(PathBuf),
}

impl RuntimeKind {
    /// The runtime selected by the environment (panics when Spin is selected but not found, so a
    /// CI job meant to test Spin cannot pass without it).
    pub fn under_test() -> Self {
        match std::env::var("EDGE_TEST_RUNTIME").as_deref() {
            Ok("spin") => Self::Spin(
                spin_bin().expect("EDGE_TEST_RUNTIME=spin but no Spin CLI: set SPIN_BIN"),
            ),
            _ => Self::EdgeHost,
        }
    }

    /// Whether this is real Spin.
    pub fn is_spin(&self) -> bool {
        matches!(self, Self::Spin(_))
    }
}

/// The Spin CLI: `SPIN_BIN` (a relative path is taken from the workspace root, where
/// `scripts/test.sh` runs), else `spin` on `PATH`; `None` when there is none.
///
/// # Panics
/// When a Spin CLI is asked for and missing, so a run that should test on Spin fails instead of
/// passing without it: `SPIN_BIN` names no file, or `EDGE_REQUIRE_SPIN=1` (CI's `.ci/run` sets it)
/// and none is found.
pub fn spin_bin() -> Option<PathBuf> {
    match find_spin(
        std::env::var_os("SPIN_BIN"),
        std::env::var_os("PATH"),
        std::env::var("EDGE_REQUIRE_SPIN").is_ok_and(|v| v == "1"),
    ) {
        Ok(found) => found,
        Err(why) => panic!("{why}"),
    }
}

/// [`spin_bin`]'s decision: `Err` when a Spin CLI is asked for and missing.
pub fn find_spin(
    spin_bin: Option<std::ffi::OsString>,
    path: Option<std::ffi::OsString>,
    required: bool,
) -> Result<Option<PathBuf>, String> {
    if let Some(p) = spin_bin.filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        let p = if p.is_relative() {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(p)
        } else {
            p
        };
        return if p.is_file() {
            Ok(Some(std::fs::canonicalize(&p).unwrap_or(p)))
        } else {
            Err(format!("SPIN_BIN={} is not a file", p.display()))
        };
    }
    let found = path.and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("spin"))
            .find(|p| p.is_file())
    });
    match found {
        None if required => {
            Err("EDGE_REQUIRE_SPIN=1 but no Spin CLI: set SPIN_BIN or put spin on PATH".to_string())
        }
        found => Ok(found),
    }
}

/// `variables` as the environment Spin's provider reads (`SPIN_VARIABLE_<NAME>`).
fn spin_env(variables: &BTreeMap<String, String>) -> impl Iterator<Item = (String, &String)> {
    variables
        .iter()
        .map(|(k, v)| (format!("SPIN_VARIABLE_{}", k.to_ascii_uppercase()), v))
}

/// Writes `manifest`'s app variables, with `variables` as `SPIN_VARIABLE_*` over the defaults,
/// to `dir/variables.json` with `scripts/spin_variables.py`, as `scripts/up.sh` does; `None`
/// when the script declines (a `.env` file in `dir`, a runtime config naming variable providers).
fn resolved_variables(
    dir: &Path,
    manifest: &Path,
    runtime_config: Option<&Path>,
    variables: &BTreeMap<String, String>,
) -> anyhow::Result<Option<PathBuf>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/spin_variables.py");
    let file = dir.join("variables.json");
    // `-I -S`: the script needs only the standard library (no site-packages, no PYTHON* variables).
    let mut cmd = Command::new(crate::python());
    cmd.args(["-I", "-S"])
        .arg(&script)
        .arg(manifest)
        .arg(&file)
        .current_dir(dir);
    if let Some(rc) = runtime_config {
        cmd.arg(rc);
    }
    let out = cmd.envs(spin_env(variables)).output()?;
    match out.status.code() {
        Some(0) => Ok(Some(file)),
        Some(3) => Ok(None),
        _ => anyhow::bail!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Whether Spin's output says it serves HTTP on `addr` (it prints that once it has bound it).
fn serving(log: &str, addr: SocketAddr) -> bool {
    let line = format!("Serving http://{addr}");
    log.lines().any(|l| l.trim() == line)
}

/// How many ports [`SpinProcess::start`] tries.
const PORT_ATTEMPTS: u32 = 4;

/// How long a `spin up` whose components are in Spin's compile cache has to serve.
const WARM_START: Duration = Duration::from_secs(90);

/// How long one that compiles some has: an empty cache on a fresh machine (what the bench gives
/// its servers too).
const COLD_START: Duration = Duration::from_secs(300);

/// The components (`source = "…"` of the manifests) a `spin up` of this process has started, so
/// Spin's compile cache holds them.
static COMPILED: std::sync::Mutex<std::collections::BTreeSet<String>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// The `source = "…"` values of a manifest (local files, as the harness's manifests name their
/// components): what Spin compiles to start it. A source of another form (a URL table) is not
/// listed, so its start counts as warm.
fn component_sources(manifest: &str) -> Vec<String> {
    manifest
        .lines()
        .filter_map(|line| line.trim().strip_prefix("source"))
        .filter_map(|rest| rest.trim_start().strip_prefix('='))
        .filter_map(|value| value.trim_start().strip_prefix('"'))
        .filter_map(|quoted| quoted.split_once('"').map(|(path, _)| path.to_string()))
        .collect()
}

/// Spin's compile cache for the tests' apps, as Wasmtime's cache configuration
/// (`WASMTIME_CACHE_FILE`, Spin's `--cache`): Wasmtime's cache with zstd at level 1 in place of
/// its default 3, in `spin-test-cache/` of the target directory (beside `debug/`, found from the
/// test binary's own path). A warm `spin up` of the app spends most of its CPU loading its
/// compiled components from the cache (about 1.1 CPU-seconds on CI's kind of machine), and the
/// lighter level takes a fifth of it off; the suites start Spin some 700 times. What Spin runs
/// is the same. Only for Spin 4 (its Wasmtime reads this form; an older one wanted an `enabled`
/// key, which a newer one refuses): `None` for another Spin, which keeps its own cache. Written
/// once per process, through a rename (the suites run side by side).
fn cache_config(bin: &Path) -> anyhow::Result<Option<PathBuf>> {
    static CONFIG: std::sync::Mutex<Option<(PathBuf, Option<PathBuf>)>> =
        std::sync::Mutex::new(None);
    let mut config = CONFIG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((for_bin, path)) = config.as_ref()
        && for_bin == bin
    {
        return Ok(path.clone());
    }
    let version = Command::new(bin).arg("--version").output()?;
    let version = String::from_utf8_lossy(&version.stdout);
    let path = if version.starts_with("spin 4.") {
        Some(write_cache_config()?)
    } else {
        None
    };
    *config = Some((bin.to_path_buf(), path.clone()));
    Ok(path)
}

/// Writes [`cache_config`]'s file; its path.
fn write_cache_config() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    // target/<profile>/deps/<test binary>
    let target = exe
        .ancestors()
        .nth(3)
        .ok_or_else(|| anyhow::anyhow!("no target directory above {}", exe.display()))?;
    let dir = target.join("spin-test-cache");
    std::fs::create_dir_all(&dir)?;
    let modules = dir.join("modules");
    let modules = modules
        .to_str()
        .filter(|m| !m.chars().any(char::is_control))
        .ok_or_else(|| anyhow::anyhow!("{} cannot be a TOML string", modules.display()))?;
    let text = format!(
        "[cache]\ndirectory = \"{}\"\nbaseline-compression-level = 1\n\
         optimized-compression-level = 1\n",
        modules.replace('\\', "\\\\").replace('"', "\\\"")
    );
    let path = dir.join("config.toml");
    let partial = dir.join(format!("config.toml.{}", std::process::id()));
    std::fs::write(&partial, text)?;
    std::fs::rename(&partial, &path)?;
    Ok(path)
}

/// What Spin prints when its listen address is taken.
const PORT_TAKEN: &str = "is already in use";

/// A `spin up` process serving one app; its process group is killed on drop.
pub struct SpinProcess {
    child: Option<Child>,
    log: PathBuf,
}

impl SpinProcess {
    /// Starts `spin up` for `manifest` in `dir` on a free loopback port, with `variables` as
    /// `SPIN_VARIABLE_*`; waits until Spin says it serves on that port and its health route
    /// answers. Like `scripts/up.sh`, it also passes every app variable resolved once
    /// (`scripts/spin_variables.py`) with `--variable`, so the suite runs the app the way it is
    /// served.
    ///
    /// A free port can be taken between the probe that found it and Spin's bind (by an outgoing
    /// connection's ephemeral port, or another test's server): when Spin says the address is in
    /// use, it is started again on another port, up to [`PORT_ATTEMPTS`] times.
    ///
    /// The first start of each component in this process compiles it into Spin's cache, and
    /// runs alone ([`COMPILED`]): on a fresh machine the suites' first tests would otherwise each
    /// compile every component at once (CI's two cores, beside the other runtimes' suites: past
    /// 90 s). Such a start gets [`COLD_START`]; one whose components are all compiled,
    /// [`WARM_START`].
    pub fn start(
        bin: &Path,
        dir: &Path,
        manifest: &Path,
        runtime_config: Option<&Path>,
        variables: &BTreeMap<String, String>,
    ) -> anyhow::Result<(Self, SocketAddr)> {
        let sources = component_sources(&std::fs::read_to_string(manifest)?);
        let compiled = COMPILED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let cold = sources.iter().any(|s| !compiled.contains(s));
        // A cold start keeps the lock, so other starts wait for the cache it fills.
        let mut held = if cold {
            Some(compiled)
        } else {
            drop(compiled);
            None
        };
        let within = if cold { COLD_START } else { WARM_START };
        let mut attempt = 1;
        loop {
            let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
            match Self::start_on(bin, dir, manifest, runtime_config, variables, addr, within) {
                Err(e) if attempt < PORT_ATTEMPTS && e.to_string().contains(PORT_TAKEN) => {
                    eprintln!("spin up: {addr} was taken before Spin bound it; another port");
                    attempt += 1;
                }
                result => {
                    if let (Ok(_), Some(compiled)) = (&result, held.as_mut()) {
                        compiled.extend(sources);
                    }
                    return result;
                }
            }
        }
    }

    fn start_on(
        bin: &Path,
        dir: &Path,
        manifest: &Path,
        runtime_config: Option<&Path>,
        variables: &BTreeMap<String, String>,
        addr: SocketAddr,
        within: Duration,
    ) -> anyhow::Result<(Self, SocketAddr)> {
        use std::os::unix::process::CommandExt;
        // An app without HTTP routes (the worker) takes no --listen and is ready once Spin
        // reports its subscriptions.
        let serves_http = std::fs::read_to_string(manifest)?.contains("[[trigger.http]]");
        let log = dir.join("spin.log");
        let out = std::fs::File::create(&log)?;
        let mut cmd = Command::new(bin);
        cmd.arg("up").arg("--from").arg(manifest);
        if serves_http {
            cmd.arg("--listen").arg(addr.to_string());
        }
        cmd.current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .process_group(0);
        if let Some(rc) = runtime_config {
            cmd.arg("--runtime-config-file").arg(rc);
        }
        cmd.envs(spin_env(variables));
        if let Some(cache) = cache_config(bin)? {
            cmd.env("WASMTIME_CACHE_FILE", cache);
        }
        if let Some(file) = resolved_variables(dir, manifest, runtime_config, variables)? {
            cmd.arg("--variable").arg(format!("@{}", file.display()));
        }
        let mut process = Self {
            child: Some(cmd.spawn()?),
            log,
        };
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = process
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                anyhow::bail!("spin up exited with {status}:\n{}", process.log_text());
            }
            // Another server on the port (one that took it first) answers the health route
            // too: ready once Spin says it serves on that address, and answers there.
            let ready = if serves_http {
                serving(&process.log_text(), addr) && spin_health(addr)
            } else {
                subscribed(&process.log_text())
            };
            if ready {
                return Ok((process, addr));
            }
            if Instant::now() > deadline {
                anyhow::bail!(
                    "spin up did not serve within {} s:\n{}",
                    within.as_secs(),
                    process.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What Spin printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the `spin up` process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Stops Spin and its trigger processes (SIGTERM to the group, SIGKILL after 5 s).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let group = format!("-{}", child.id());
        let _ = Command::new("kill")
            .args(["-TERM", "--", &group])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = child.wait();
    }
}

impl Drop for SpinProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Spin has printed its Redis subscriptions (`Active Channels on …:` then `\t<addr>/<channel>: [...]`,
/// printed once subscribed).
fn subscribed(log: &str) -> bool {
    log.split_once("Active Channels")
        .is_some_and(|(_, rest)| rest.lines().any(|l| l.contains(": [")))
}

/// `GET /.well-known/spin/health` answers 200 (Spin's own route, served once the app is up).
fn spin_health(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req =
        "GET /.well-known/spin/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let mut reply = String::new();
    s.write_all(req.as_bytes()).is_ok()
        && s.read_to_string(&mut reply).is_ok()
        && reply.starts_with("HTTP/1.1 200")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifests_components_are_its_source_lines() {
        let manifest = r#"
[component.scores]
source = "/w/scores.wasm"
allowed_outbound_hosts = ["redis://127.0.0.1:*"]
[component.health]
source="/w/health.wasm" # the probe
[component.health.build]
command = "cargo build"
[component.remote]
source = { url = "https://example.com/x.wasm", digest = "sha256:00" }
sources_note = "not a source"
"#;
        assert_eq!(
            component_sources(manifest),
            ["/w/scores.wasm", "/w/health.wasm"]
        );
    }

    #[test]
    fn a_missing_spin_fails_when_it_is_asked_for() {
        let nowhere = Some(std::ffi::OsString::from("/nonexistent-dir"));
        assert_eq!(find_spin(None, nowhere.clone(), false), Ok(None));
        assert!(find_spin(None, nowhere.clone(), true).is_err());
        let wrong = Some(std::ffi::OsString::from("/nonexistent-dir/spin"));
        assert!(find_spin(wrong, nowhere, false).is_err());
    }

    #[test]
    fn spin_serves_once_it_says_so_on_its_own_address() {
        let addr: SocketAddr = ([127, 0, 0, 1], 38111).into();
        let log = "Logging component stdio to \".spin/logs/\"\n\nServing http://127.0.0.1:38111\nAvailable Routes:\n";
        assert!(serving(log, addr));
        assert!(!serving("Serving http://127.0.0.1:381110\n", addr));
        let taken = "Error: 127.0.0.1:38111 is already in use. To have Spin search for a free port, use the --find-free-port option.";
        assert!(!serving(taken, addr));
        assert!(taken.contains(PORT_TAKEN));
    }
}
