//! The small tools the bench leans on: the Redis server, `redis-cli`, `curl` and `edge-load`
//! (each run bounded in time, through [`Procs`]), a loopback HTTP probe, free ports, the HS256
//! tokens, the manifests' copies, and what the report says about the machine.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac;
use sha2::Sha256;

use crate::Bench;
use crate::procs::{self, Procs, Role};
use crate::records::{LoadResult, Size};

/// A built component: its name and the size it must stay within, in KB (the test guests have
/// none).
pub struct Component {
    pub name: &'static str,
    pub max_kb: Option<u64>,
}

/// The components whose sizes the report gives, in its order.
pub const COMPONENTS: [Component; 12] = [
    Component {
        name: "hello",
        max_kb: None,
    },
    Component {
        name: "floors",
        max_kb: None,
    },
    Component {
        name: "health",
        max_kb: Some(500),
    },
    Component {
        name: "boards",
        max_kb: Some(500),
    },
    Component {
        name: "scores",
        max_kb: Some(500),
    },
    Component {
        name: "rankings",
        max_kb: Some(500),
    },
    Component {
        name: "pipeline",
        max_kb: Some(500),
    },
    Component {
        name: "flags",
        max_kb: Some(800),
    },
    Component {
        name: "tokens",
        max_kb: Some(500),
    },
    Component {
        name: "projector",
        max_kb: Some(500),
    },
    Component {
        name: "graphql",
        max_kb: Some(500),
    },
    Component {
        name: "connect",
        max_kb: Some(500),
    },
];

/// The longest a `curl` (most are also given `-m 10`) or `redis-cli` may run.
const SHORT: Duration = Duration::from_secs(30);

/// Seconds since the epoch (`date +%s`).
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A loopback TCP port free right now.
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Whether `http://127.0.0.1:PORT/PATH` answers with any HTTP status within `limit` (what
/// `curl -s -o /dev/null -m S URL` succeeding, or Python's `urlopen` not failing to connect,
/// told).
pub fn answers(url: &str, limit: Duration) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let Ok(addr) = authority.parse::<SocketAddr>() else {
        return false;
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, limit) else {
        return false;
    };
    stream.set_read_timeout(Some(limit)).ok();
    stream.set_write_timeout(Some(limit)).ok();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut got = Vec::new();
    let mut chunk = [0u8; 64];
    while got.len() < 12 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
    }
    got.starts_with(b"HTTP/1.")
        && got
            .get(9..12)
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
}

/// `n` random bytes as hex (`secrets.token_hex(n)`).
pub fn random_hex(n: usize) -> Result<String> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = vec![0u8; n];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    let mut out = String::with_capacity(2 * n);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    Ok(out)
}

/// An HS256 token for `sub` with one role, valid for two hours (the bytes `scripts/lib.sh`'s
/// `mint` made).
pub fn mint(secret: &str, sub: &str, role: &str) -> Result<String> {
    let exp = now_secs() + 7200;
    let head = URL_SAFE_NO_PAD.encode(r#"{"alg": "HS256", "typ": "JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"sub": "{sub}", "roles": ["{role}"], "exp": {exp}}}"#
    ));
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|e| anyhow::anyhow!("HS256 key: {e}"))?;
    mac.update(format!("{head}.{body}").as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    Ok(format!("{head}.{body}.{sig}"))
}

/// The `metrics` variable's default in the shipped spin.toml.
pub fn shipped_metrics(spin_toml: &Path) -> Result<String> {
    let text = std::fs::read_to_string(spin_toml)
        .with_context(|| format!("reading {}", spin_toml.display()))?;
    let found: Vec<&str> = text
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("metrics = { default = \"")?;
            rest.get(..rest.rfind("\" }")?)
        })
        .collect();
    Ok(found.join("\n"))
}

/// A manifest with its component paths made absolute (the first `sources` of each line, the
/// folder its `source` lines name, replaced by `wasm_dir`).
pub fn copy_manifest(from: &Path, to: &Path, sources: &str, wasm_dir: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(from).with_context(|| format!("reading {}", from.display()))?;
    let dir = wasm_dir
        .to_str()
        .context("the wasm folder's path is not UTF-8")?;
    let copy: String = text
        .split_inclusive('\n')
        .map(|line| line.replacen(sources, dir, 1))
        .collect();
    std::fs::write(to, copy).with_context(|| format!("writing {}", to.display()))
}

/// The components' sizes.
pub fn sizes(wasm_dir: &Path) -> Result<Vec<Size>> {
    let mut sizes = Vec::new();
    for Component { name: c, .. } in COMPONENTS {
        let path = wasm_dir.join(format!("{c}.wasm"));
        let meta =
            std::fs::metadata(&path).with_context(|| format!("sizing {}", path.display()))?;
        sizes.push(Size {
            component: c.to_string(),
            bytes: meta.len(),
        });
    }
    Ok(sizes)
}

/// Where `command -v NAME` finds an executable on PATH.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

/// `[ -x FILE ]` for a file.
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Starts redis-server on a free loopback port (no persistence), up to three ports, each tried
/// with a PING 100 times, 50 ms apart; its port. With the keyspace events the schedule's alarm
/// needs (`Kx`), as `scripts/up.sh` starts its Redis (the cluster's nodes have them too).
pub fn start_redis(procs: &Procs, tmp: &Path) -> Result<u16> {
    start_redis_server(
        procs,
        &tmp.join("redis.log"),
        &["--notify-keyspace-events", "Kx"],
        false,
    )
}

/// Where a cluster node's bus listens: its port + 10000 (Redis's default).
pub const BUS_OFFSET: u16 = 10_000;

/// A loopback port free right now whose bus port ([`BUS_OFFSET`] above) is free too.
fn free_node_port() -> Result<u16> {
    for _ in 0..100 {
        let port = free_port()?;
        if port <= u16::MAX - BUS_OFFSET
            && std::net::TcpListener::bind(("127.0.0.1", port + BUS_OFFSET)).is_ok()
        {
            return Ok(port);
        }
    }
    bail!("no free loopback port with a free bus port in 100 tries")
}

/// [`start_redis`] with `extra` arguments after the port and address, its output in `log`; a
/// cluster node (`node`) gets a port whose bus port is free too.
pub fn start_redis_server(procs: &Procs, log: &Path, extra: &[&str], node: bool) -> Result<u16> {
    for attempt in 1..=3 {
        let port = if node {
            free_node_port()?
        } else {
            free_port()?
        };
        let (out, err) = procs::log_to(log)?;
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", port.to_string().as_str(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let pid = procs.spawn(&mut cmd, "redis-server", Role::Redis)?;
        let mut tries = 0;
        while !ping(procs, port) {
            tries += 1;
            if tries > 100 || !procs.alive(pid) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if ping(procs, port) {
            return Ok(port);
        }
        procs.stop(pid);
        if attempt == 3 {
            return Err(procs.fail("redis-server did not start".to_string(), log));
        }
    }
    bail!("redis-server did not start")
}

fn ping(procs: &Procs, port: u16) -> bool {
    let mut cmd = Command::new("redis-cli");
    cmd.args(["-p", port.to_string().as_str(), "ping"])
        .stdin(Stdio::null());
    procs
        .capture(
            &mut cmd,
            "redis-cli ping",
            Duration::from_secs(2),
            Stdio::null(),
        )
        .is_ok_and(|out| out.success())
}

/// `redis-cli -p PORT ARGS...`: its output (an error if it failed).
pub fn redis_cli_on(procs: &Procs, port: u16, args: &[&str]) -> Result<String> {
    let mut cmd = Command::new("redis-cli");
    cmd.arg("-p")
        .arg(port.to_string())
        .args(args)
        .stdin(Stdio::null());
    let out = procs.capture(&mut cmd, "redis-cli", SHORT, Stdio::inherit())?;
    if !out.success() {
        bail!("redis-cli -p {port} {} failed", args.join(" "));
    }
    Ok(out.text())
}

/// The version `redis-server --version` gives (its last `v=`).
pub fn redis_version(procs: &Procs) -> Result<String> {
    let mut cmd = Command::new("redis-server");
    cmd.arg("--version").stdin(Stdio::null());
    let out = procs.capture(&mut cmd, "redis-server --version", SHORT, Stdio::inherit())?;
    let text = out.text();
    let found: Vec<&str> = text
        .lines()
        .filter_map(|line| {
            let at = line.rfind("v=")?;
            line.get(at + 2..)?.split(' ').next()
        })
        .collect();
    Ok(found.join("\n"))
}

/// The CPU's model name (the first `model name` of /proc/cpuinfo).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .filter(|l| l.starts_with("model name"))
                .find_map(|l| l.split_once(':').map(|(_, v)| v.trim().to_string()))
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

/// The online CPUs (Python's `os.cpu_count()`), else what this process may use.
pub fn cpu_count() -> Option<u64> {
    if let Ok(online) = std::fs::read_to_string("/sys/devices/system/cpu/online")
        && let Some(n) = count_cpu_list(online.trim())
    {
        return Some(n);
    }
    std::thread::available_parallelism()
        .ok()
        .and_then(|n| u64::try_from(n.get()).ok())
}

/// The number of CPUs in a list like `0-3,5`.
fn count_cpu_list(list: &str) -> Option<u64> {
    let mut n = 0u64;
    for part in list.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (a.parse::<u64>().ok()?, b.parse::<u64>().ok()?);
                n += b.checked_sub(a)? + 1;
            }
            None => {
                part.parse::<u64>().ok()?;
                n += 1;
            }
        }
    }
    Some(n)
}

/// The kernel release (`os.uname().release`).
pub fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

impl Bench {
    /// `redis-cli -p PORT ARGS...` on the bench's Redis; its output (an error if it failed).
    pub(crate) fn redis_cli(&self, args: &[&str]) -> Result<String> {
        redis_cli_on(&self.procs, self.redis_port, args)
    }

    /// Runs a `curl` command: its output; an error when curl itself failed (no answer, a
    /// timeout): the run stops.
    pub(crate) fn curl(&self, cmd: &mut Command, what: &str) -> Result<String> {
        cmd.stdin(Stdio::null());
        let out = self.procs.capture(cmd, "curl", SHORT, Stdio::inherit())?;
        if !out.success() {
            bail!("{what}: curl got no answer");
        }
        Ok(out.text())
    }

    /// Runs a `curl` command whose failure is ignored (its output is read for a header): what
    /// it printed.
    pub(crate) fn curl_output(&self, cmd: &mut Command) -> Result<Vec<u8>> {
        cmd.stdin(Stdio::null());
        Ok(self
            .procs
            .capture(cmd, "curl", SHORT, Stdio::inherit())?
            .stdout)
    }

    /// Runs edge-load (bounded by `limit`) with `args`; its JSON result, parsed and as printed.
    /// A failure shows edge-load's stderr and stops the run.
    pub(crate) fn edge_load(
        &self,
        args: &[String],
        limit: Duration,
        what: &str,
    ) -> Result<(LoadResult, String)> {
        let err_path = self.tmp.join("load.err");
        let err = File::create(&err_path).context("creating load.err")?;
        let mut cmd = self.command(self.bin.join("edge-load"));
        cmd.args(args);
        let out = self
            .procs
            .capture(&mut cmd, "edge-load", limit, Stdio::from(err))?;
        if !out.success() {
            return Err(self
                .procs
                .fail(format!("edge-load failed ({what})"), &err_path));
        }
        let raw = out.text();
        let result: LoadResult = serde_json::from_str(&raw)
            .with_context(|| format!("edge-load ({what}) printed {raw:?}"))?;
        Ok((result, raw))
    }

    /// Runs one of our tools to its end (bounded), its stdout captured and its stderr shown; an
    /// error if it failed.
    pub(crate) fn tool(&self, program: &str, args: &[&str], limit: Duration) -> Result<String> {
        let mut cmd = self.command(self.bin.join(program));
        cmd.args(args);
        let out = self
            .procs
            .capture(&mut cmd, program, limit, Stdio::inherit())?;
        if !out.success() {
            bail!(
                "{program} {} failed",
                args.first().copied().unwrap_or_default()
            );
        }
        Ok(out.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_count() {
        assert_eq!(count_cpu_list("0-1"), Some(2));
        assert_eq!(count_cpu_list("0-3,5"), Some(5));
        assert_eq!(count_cpu_list("0"), Some(1));
        assert_eq!(count_cpu_list("x"), None);
    }

    #[test]
    fn tokens_are_three_parts() {
        let token = mint("secret", "bench-admin", "admin").unwrap_or_default();
        assert_eq!(token.split('.').count(), 3);
        assert!(token.starts_with("eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9."));
    }
}
