//! Test harness: a private `redis-server` on a free port, and the host started in-process on an
//! ephemeral port with the built components. Every test gets its own Redis and host, so tests run
//! in parallel.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
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
}

impl RedisServer {
    pub fn start() -> Self {
        let mut server = Self {
            port: free_port(),
            child: None,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
            ])
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

    /// Kills and starts the server again on the same port (data is lost: no persistence).
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
    }
}

/// A running app under test.
pub struct TestApp {
    pub host: Host,
    pub base: String,
    pub http: reqwest::Client,
    pub dir: PathBuf,
}

impl TestApp {
    /// Writes `manifest` (with `{wasm}` replaced by the component folder) and optionally a runtime
    /// config into a fresh folder, and starts the host on an ephemeral port.
    pub async fn start(
        manifest: &str,
        runtime_config: Option<&str>,
        mut config: HostConfig,
    ) -> Self {
        Self::try_start(manifest, runtime_config, &mut config)
            .await
            .unwrap_or_else(|e| panic!("host failed to start: {e:#}"))
    }

    pub async fn try_start(
        manifest: &str,
        runtime_config: Option<&str>,
        config: &mut HostConfig,
    ) -> anyhow::Result<Self> {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("edge-host-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let wasm = wasm_dir();
        let text = manifest.replace("{wasm}", &wasm.to_string_lossy());
        let manifest_path = dir.join("spin.toml");
        std::fs::write(&manifest_path, text)?;
        if let Some(rc) = runtime_config {
            let p = dir.join("runtime-config.toml");
            std::fs::write(&p, rc)?;
            config.runtime_config = Some(p);
        }
        let listen: SocketAddr = ([127, 0, 0, 1], 0).into();
        let host = Host::start(&manifest_path, listen, config.clone()).await?;
        let base = format!("http://{}", host.addr());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            host,
            base,
            http,
            dir,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
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
        self.http
            .request(method.clone(), self.url(path))
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub async fn stop(self) {
        self.host.shutdown().await;
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
