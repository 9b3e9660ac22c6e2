//! A private `redis-server` per test, optionally persistent (append-only file) and restartable.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// Whether test servers are one-node clusters (`EDGE_TEST_REDIS=cluster1`): each owns every
/// hash slot, so nothing moves, but it refuses what a cluster refuses (keys of two slots in one
/// script or command, a database other than 0).
pub fn cluster_one() -> bool {
    std::env::var("EDGE_TEST_REDIS").as_deref() == Ok("cluster1")
}

/// A `redis-server` owned by one test; killed on drop.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    /// With persistence: the folder of the append-only file (every write fsynced).
    aof_dir: Option<PathBuf>,
    /// As a one-node cluster ([`cluster_one`]): the node's config file (it keeps the slots
    /// across a restart; removed on drop).
    cluster_conf: Option<PathBuf>,
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
            cluster_conf: None,
        }
    }

    /// A server with the append-only file on and `appendfsync always`: a `kill -9` loses no
    /// acknowledged write, and [`RedisServer::restart`] comes back with the data.
    pub fn start_persistent() -> Self {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = crate::scratch_dir().join(format!("edge-redis-aof-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        Self::start_with(Some(dir))
    }

    fn start_with(aof_dir: Option<PathBuf>) -> Self {
        let port = free_port();
        let cluster_conf = cluster_one().then(|| {
            crate::scratch_dir().join(format!(
                "edge-redis-nodes-{}-{port}.conf",
                std::process::id()
            ))
        });
        let mut server = Self {
            port,
            child: None,
            aof_dir,
            cluster_conf,
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
        // A one-node cluster (EDGE_TEST_REDIS=cluster1): it owns every slot, so nothing moves,
        // but Redis refuses what a cluster refuses (a script or command across hash slots).
        let cluster_conf = self
            .cluster_conf
            .as_ref()
            .map(|c| c.to_string_lossy().into_owned());
        if let Some(conf) = &cluster_conf {
            args.extend(["--cluster-enabled", "yes", "--cluster-config-file", conf]);
        }
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
                if cluster_conf.is_some() {
                    self.own_every_slot();
                }
                return;
            }
            assert!(Instant::now() < deadline, "redis-server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Makes a one-node cluster own every slot (kept in its config file across restarts) and
    /// waits until it says it is `ok`.
    fn own_every_slot(&self) {
        let mut c = self.conn();
        let info = |c: &mut redis::Connection| -> String {
            redis::cmd("CLUSTER")
                .arg("INFO")
                .query(c)
                .unwrap_or_else(|e| panic!("CLUSTER INFO: {e}"))
        };
        // A restarted node has its slots from its config file.
        if info(&mut c).contains("cluster_slots_assigned:0") {
            redis::cmd("CLUSTER")
                .arg("ADDSLOTSRANGE")
                .arg(0)
                .arg(16383)
                .query::<()>(&mut c)
                .unwrap_or_else(|e| panic!("CLUSTER ADDSLOTSRANGE: {e}"));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = info(&mut c);
            if now.contains("cluster_state:ok") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the one-node cluster did not come up: {now}"
            );
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
        if let Some(conf) = &self.cluster_conf
            && let Err(e) = std::fs::remove_file(conf)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!("{}: {e}", conf.display());
        }
        if let Some(dir) = &self.aof_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
