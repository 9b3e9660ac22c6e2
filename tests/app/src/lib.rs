//! The harness of the app suite (`tests/app/suite`) and of edge-host's own tests
//! (`host/tests/host`): a private `redis-server` on a free port, and an app served by edge-host
//! started in-process on an ephemeral port with the built components — or, when
//! `EDGE_TEST_RUNTIME=spin`, by a real `spin up` process. Every test gets its own Redis and app,
//! so tests run in parallel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

mod app;
mod probe;
mod push;
mod redis;
mod runtime;

pub use app::{Recorded, TestApp};
pub use probe::{PROBE_STORES, probe_app, probe_app_under_test, probe_manifest};
pub use push::PushTier;
pub use redis::{
    ALARM_KEY, CLUSTER_NODE_TIMEOUT_MS, ClusterNode, Conn, RedisServer, cluster_three,
};
pub use runtime::{RuntimeKind, SpinProcess, spin_bin};

/// Where `scripts/build.sh` puts the components.
pub fn wasm_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("wasm32-wasip2/release");
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

/// Whether the suite tests the WASIp3 build of the HTTP components (`EDGE_TEST_BUILD=p3`, on
/// real Spin 4.0.x only: `scripts/build.sh p3` makes it): the API then comes from
/// `spin-p3.toml`; the worker and the probe guests are p2 either way.
pub fn p3_under_test() -> bool {
    let p3 = std::env::var("EDGE_TEST_BUILD").as_deref() == Ok("p3");
    assert!(
        !p3 || RuntimeKind::under_test().is_spin(),
        "EDGE_TEST_BUILD=p3 needs EDGE_TEST_RUNTIME=spin: only Spin 4.0.x runs the p3 build"
    );
    p3
}

/// The Python `scripts/setup.sh` installs the tests' tools in (`target/pytools/bin/python`),
/// whether it is there or not.
pub fn pytools_python() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/pytools/bin/python")
}

/// A Python to run a script that needs only the standard library: setup's, run directly, where
/// it is; `python3` from the PATH when setup has not run. `python3` on a machine's PATH may be a
/// version manager's shim (pyenv's is a shell script that starts several processes before
/// Python: 0.23 CPU-seconds a call in place of 0.07, paid on each of a run's ~700 Spin starts).
pub fn python() -> PathBuf {
    let venv = pytools_python();
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// Where `scripts/build.sh p3` puts the p3 components.
pub fn p3_wasm_dir() -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/p3/wasm32-wasip2/release");
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

/// Where a test keeps the files its servers write (Redis's append-only file, the KV store's
/// SQLite file, a generated manifest): `/dev/shm` when it is a writable memory file system, else
/// the temporary folder. Both survive a killed server, which is all the recovery tests need; in
/// memory, an `fsync` (Redis's `appendfsync always`, SQLite's every commit) never waits on a disk
/// that a parallel build is filling, so a timing the suite measures is the app's, not the disk's
/// (a 3 s stall of the first write after a Redis restart was seen in CI, never here).
pub fn scratch_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let shm = PathBuf::from("/dev/shm");
        let probe = shm.join(format!("edge-test-probe-{}", std::process::id()));
        match std::fs::create_dir_all(&probe).and_then(|()| std::fs::remove_dir(&probe)) {
            Ok(()) => shm,
            Err(_) => std::env::temp_dir(),
        }
    })
    .clone()
}

/// A free loopback port (bound then released), below the kernel's ephemeral range: a port the
/// kernel picks (`:0`) is one it also gives outgoing connections their source ports from, so one
/// of the many connections the suites open could take it between its check and the server's
/// bind (seen: nginx's "Address already in use"). Ports are picked at random from 10000 up to
/// 20000, so a Redis Cluster node's bus port (its port + 10000) is below that range too, and
/// never twice by this process; the kernel's pick when that range is too small.
pub fn free_port() -> u16 {
    use std::collections::HashSet;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::Mutex;
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    // Below 20000 too: a node's bus port (its port + 10000) is never handed out.
    let (from, to) = (10_000u16, ephemeral_low.saturating_sub(10_000).min(20_000));
    if to > from.saturating_add(1_000) {
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        let given = given.get_or_insert_with(HashSet::new);
        for _ in 0..500 {
            // Each RandomState is keyed afresh from the OS's random source.
            let hasher = std::collections::hash_map::RandomState::new().build_hasher();
            let port = from + u16::try_from(hasher.finish() % u64::from(to - from)).unwrap_or(0);
            if !given.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
                given.insert(port);
                return port;
            }
        }
    }
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// Polls the async `check` until it returns Some or the timeout passes ([`eventually`], for a
/// check that sends a request).
pub async fn eventually_async<T>(
    timeout: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Polls `check` until it returns Some or the timeout passes.
pub async fn eventually<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    eventually_async(timeout, async || check()).await
}
