//! The app under test, on edge-host in-process or on a `spin up` process, and the recording of its
//! API responses.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use edge_host::{Host, HostConfig};

use crate::runtime::{RuntimeKind, SpinProcess};
use crate::wasm_dir;

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
        let dir = crate::scratch_dir().join(format!("edge-host-test-{}-{n}", std::process::id()));
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
