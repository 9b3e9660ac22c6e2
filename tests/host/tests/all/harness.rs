//! Test harness: a private `redis-server` on a free port, and the app served by the host started
//! in-process on an ephemeral port with the built components — or, for the HTTP-level tests when
//! `EDGE_TEST_RUNTIME=spin`, by a real `spin up` process. Every test gets its own Redis and app, so
//! tests run in parallel.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use edge_host::{Host, HostConfig};

/// Where `scripts/build.sh` puts the components.
pub fn wasm_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("wasm32-wasip2/release");
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// A `redis-server` owned by one test; killed on drop.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    /// With persistence: the folder of the append-only file (every write fsynced).
    aof_dir: Option<PathBuf>,
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// A handle on a server another `RedisServer` owns (a second region's view of the same
    /// Redis): dropping it stops nothing.
    pub fn attach(port: u16) -> Self {
        Self {
            port,
            child: None,
            aof_dir: None,
        }
    }

    /// A server with the append-only file on and `appendfsync always`: a `kill -9` loses no
    /// acknowledged write, and [`RedisServer::restart`] comes back with the data.
    pub fn start_persistent() -> Self {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("edge-redis-aof-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        Self::start_with(Some(dir))
    }

    fn start_with(aof_dir: Option<PathBuf>) -> Self {
        let mut server = Self {
            port: free_port(),
            child: None,
            aof_dir,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let port = self.port.to_string();
        let mut args = vec![
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--protected-mode",
            "no",
        ];
        let dir = self
            .aof_dir
            .as_ref()
            .map(|d| d.to_string_lossy().into_owned());
        match &dir {
            Some(dir) => args.extend([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                dir,
            ]),
            None => args.extend(["--appendonly", "no"]),
        }
        let child = Command::new("redis-server")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server (run scripts/setup.sh): {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let pong = self
                .client()
                .get_connection()
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if pong.is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "redis-server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills (`SIGKILL`) and starts the server again on the same port: with persistence the data
    /// comes back from the append-only file, else it is lost.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).unwrap_or_else(|e| panic!("bad redis url: {e}"))
    }

    pub fn conn(&self) -> redis::Connection {
        self.client()
            .get_connection()
            .unwrap_or_else(|e| panic!("redis connection: {e}"))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        if let Some(dir) = &self.aof_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

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
/// `scripts/test.sh` runs), else `spin` on `PATH`.
pub fn spin_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SPIN_BIN").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        let p = if p.is_relative() {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(p)
        } else {
            p
        };
        return p.is_file().then(|| std::fs::canonicalize(&p).unwrap_or(p));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("spin"))
            .find(|p| p.is_file())
    })
}

/// A `spin up` process serving one app; its process group is killed on drop.
pub struct SpinProcess {
    child: Option<Child>,
    log: PathBuf,
}

impl SpinProcess {
    /// Starts `spin up` for `manifest` in `dir` on a free loopback port, with `variables` as
    /// `SPIN_VARIABLE_*`; waits until Spin's own health route answers.
    pub fn start(
        bin: &Path,
        dir: &Path,
        manifest: &Path,
        runtime_config: Option<&Path>,
        variables: &BTreeMap<String, String>,
    ) -> anyhow::Result<(Self, SocketAddr)> {
        use std::os::unix::process::CommandExt;
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
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
        for (k, v) in variables {
            cmd.env(format!("SPIN_VARIABLE_{}", k.to_ascii_uppercase()), v);
        }
        let mut process = Self {
            child: Some(cmd.spawn()?),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(status) = process
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                anyhow::bail!("spin up exited with {status}:\n{}", process.log_text());
            }
            let ready = if serves_http {
                spin_health(addr)
            } else {
                subscribed(&process.log_text())
            };
            if ready {
                return Ok((process, addr));
            }
            if Instant::now() > deadline {
                anyhow::bail!("spin up did not serve within 90 s:\n{}", process.log_text());
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

enum Served {
    Host(Host),
    Spin(SpinProcess),
}

/// A running app under test.
pub struct TestApp {
    served: Served,
    pub base: String,
    pub http: reqwest::Client,
    pub dir: PathBuf,
    /// Whether this is the project's HTTP API (its responses are recorded for the OpenAPI check;
    /// the host tests' probe apps are not).
    pub records: bool,
}

/// Whether a manifest is the project's own HTTP API.
fn is_api(manifest: &str) -> bool {
    manifest.contains("name = \"edge-leaderboards\"")
}

impl TestApp {
    /// Writes `manifest` (with `{wasm}` replaced by the component folder) and optionally a runtime
    /// config into a fresh folder, and starts the host in-process on an ephemeral port.
    pub async fn start(
        manifest: &str,
        runtime_config: Option<&str>,
        mut config: HostConfig,
    ) -> Self {
        Self::try_start(manifest, runtime_config, &mut config)
            .await
            .unwrap_or_else(|e| panic!("host failed to start: {e:#}"))
    }

    /// [`TestApp::start`] on the runtime under test ([`RuntimeKind::under_test`]). On Spin only
    /// `config.variables` apply (as `SPIN_VARIABLE_*`); the runtime config must be Spin's format.
    pub async fn start_under_test(
        manifest: &str,
        runtime_config: Option<&str>,
        config: HostConfig,
    ) -> Self {
        Self::start_on(&RuntimeKind::under_test(), manifest, runtime_config, config).await
    }

    /// [`TestApp::start`] on a given runtime.
    pub async fn start_on(
        kind: &RuntimeKind,
        manifest: &str,
        runtime_config: Option<&str>,
        mut config: HostConfig,
    ) -> Self {
        let result = match kind {
            RuntimeKind::EdgeHost => Self::try_start(manifest, runtime_config, &mut config).await,
            RuntimeKind::Spin(bin) => Self::try_start_spin(bin, manifest, runtime_config, &config),
        };
        result.unwrap_or_else(|e| panic!("{kind:?} failed to start: {e:#}"))
    }

    fn prepare(
        manifest: &str,
        runtime_config: Option<&str>,
    ) -> anyhow::Result<(PathBuf, PathBuf, Option<PathBuf>)> {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("edge-host-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let wasm = wasm_dir();
        let text = manifest.replace("{wasm}", &wasm.to_string_lossy());
        let manifest_path = dir.join("spin.toml");
        std::fs::write(&manifest_path, text)?;
        let rc = match runtime_config {
            Some(rc) => {
                let p = dir.join("runtime-config.toml");
                std::fs::write(&p, rc)?;
                Some(p)
            }
            None => None,
        };
        Ok((dir, manifest_path, rc))
    }

    fn client() -> anyhow::Result<reqwest::Client> {
        Ok(reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?)
    }

    pub async fn try_start(
        manifest: &str,
        runtime_config: Option<&str>,
        config: &mut HostConfig,
    ) -> anyhow::Result<Self> {
        let (dir, manifest_path, rc) = Self::prepare(manifest, runtime_config)?;
        if rc.is_some() {
            config.runtime_config = rc;
        }
        // The guests' output (access log, errors) goes to the app's folder, as Spin's does to
        // its log: `guest_log` reads it, and the test output stays readable.
        if config.guest_output.is_none() {
            config.guest_output = Some(dir.join("guest.log"));
        }
        let listen: SocketAddr = ([127, 0, 0, 1], 0).into();
        let host = Host::start(&manifest_path, listen, config.clone()).await?;
        let base = format!("http://{}", host.addr());
        Ok(Self {
            served: Served::Host(host),
            base,
            http: Self::client()?,
            dir,
            records: is_api(manifest),
        })
    }

    fn try_start_spin(
        bin: &Path,
        manifest: &str,
        runtime_config: Option<&str>,
        config: &HostConfig,
    ) -> anyhow::Result<Self> {
        let (dir, manifest_path, rc) = Self::prepare(manifest, runtime_config)?;
        let (spin, addr) =
            SpinProcess::start(bin, &dir, &manifest_path, rc.as_deref(), &config.variables)?;
        Ok(Self {
            served: Served::Spin(spin),
            base: format!("http://{addr}"),
            http: Self::client()?,
            dir,
            records: is_api(manifest),
        })
    }

    /// What the components wrote to stdout/stderr so far (on Spin, its whole console output,
    /// where Spin copies component output).
    pub fn guest_log(&self) -> String {
        match &self.served {
            Served::Host(_) => {
                std::fs::read_to_string(self.dir.join("guest.log")).unwrap_or_default()
            }
            Served::Spin(s) => s.log_text(),
        }
    }

    /// The in-process host, when the app runs on edge-host.
    pub fn host(&self) -> Option<&Host> {
        match &self.served {
            Served::Host(h) => Some(h),
            Served::Spin(_) => None,
        }
    }

    /// The `spin up` process, when the app runs on Spin.
    pub fn spin(&mut self) -> Option<&mut SpinProcess> {
        match &mut self.served {
            Served::Host(_) => None,
            Served::Spin(s) => Some(s),
        }
    }

    /// Which runtime serves the app (for messages).
    pub fn runtime_name(&self) -> &'static str {
        match &self.served {
            Served::Host(_) => "edge-host",
            Served::Spin(_) => "spin",
        }
    }

    /// Shifts the guests' wall clock (the host's test clock); `false` on Spin, which has none.
    pub fn set_clock_offset(&self, offset: Duration, forward: bool) -> bool {
        match self.host() {
            Some(h) => {
                h.runtime.set_clock_offset(offset, forward);
                true
            }
            None => false,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.send(reqwest::Method::GET, path, "").await
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        let body = r.text().await.unwrap_or_default();
        let json = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
        (status, json)
    }

    pub async fn get_json_post(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self.send(reqwest::Method::POST, path, "").await;
        let status = r.status().as_u16();
        let body = r.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
        )
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let req = self.http.request(method.clone(), self.url(path));
        let req = if method == reqwest::Method::GET {
            req
        } else {
            req.body(body)
        };
        let req = req
            .build()
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let recorded = Recorded::request(&req, self.runtime_name(), self.records);
        let resp = self
            .http
            .execute(req)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        if !self.records || std::env::var_os("EDGE_RECORD_RESPONSES").is_none() {
            return resp;
        }
        // Recording reads the body: hand the test an equivalent response.
        let status = resp.status();
        let headers = resp.headers().clone();
        let version = resp.version();
        let bytes = resp.bytes().await.unwrap_or_default();
        recorded.response(status.as_u16(), &headers, &String::from_utf8_lossy(&bytes));
        let mut rebuilt = http::Response::builder().status(status).version(version);
        if let Some(h) = rebuilt.headers_mut() {
            *h = headers;
        }
        reqwest::Response::from(rebuilt.body(bytes).unwrap_or_default())
    }

    pub async fn stop(self) {
        match self.served {
            Served::Host(host) => host.shutdown().await,
            Served::Spin(mut spin) => spin.stop(),
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `check` until it returns Some or the timeout passes.
pub async fn eventually<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// One request/response pair of the API tests, appended as a JSON line to the file named by
/// `EDGE_RECORD_RESPONSES` (when set): `scripts/test.sh` validates every recorded response against
/// the OpenAPI document (`scripts/openapi_check.py responses`).
pub struct Recorded {
    line: Option<serde_json::Value>,
}

impl Recorded {
    pub fn request(req: &reqwest::Request, runtime: &str, enabled: bool) -> Self {
        if !enabled || std::env::var_os("EDGE_RECORD_RESPONSES").is_none() {
            return Self { line: None };
        }
        let url = req.url();
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let body = req
            .body()
            .and_then(|b| b.as_bytes())
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        Self {
            line: Some(serde_json::json!({
                "runtime": runtime,
                "method": req.method().as_str(),
                "path": path,
                "request_headers": header_map(req.headers()),
                "request_body": body,
            })),
        }
    }

    pub fn response(self, status: u16, headers: &reqwest::header::HeaderMap, body: &str) {
        let (Some(mut line), Some(file)) = (self.line, std::env::var_os("EDGE_RECORD_RESPONSES"))
        else {
            return;
        };
        line["status"] = status.into();
        line["headers"] = header_map(headers);
        line["body"] = body.into();
        use std::io::Write;
        static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&file)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = appended {
            panic!("EDGE_RECORD_RESPONSES={}: {e}", Path::new(&file).display());
        }
    }
}

fn header_map(headers: &reqwest::header::HeaderMap) -> serde_json::Value {
    headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.into())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}
