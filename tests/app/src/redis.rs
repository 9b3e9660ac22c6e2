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

/// Whether each test's Redis is a cluster of three primaries, each with a replica
/// (`EDGE_TEST_REDIS=cluster3`, made by `redis-cli --cluster create`): the app then runs with
/// `redis_mode = cluster` and the primaries' URLs as its seeds, so its commands spread over
/// three servers and follow redirections.
pub fn cluster_three() -> bool {
    std::env::var("EDGE_TEST_REDIS").as_deref() == Ok("cluster3")
}

/// Whether test servers are clusters of either kind (database 0 only).
pub fn clustered() -> bool {
    cluster_one() || cluster_three()
}

/// The cluster bus listens on a node's port + 10000: a node's port must leave that free and
/// below 65536.
const BUS_OFFSET: u16 = 10_000;

/// A free port whose cluster bus port is free too.
fn free_node_port() -> u16 {
    loop {
        let port = free_port();
        if port <= u16::MAX - BUS_OFFSET
            && std::net::TcpListener::bind(("127.0.0.1", port + BUS_OFFSET)).is_ok()
        {
            return port;
        }
    }
}

/// How long a cluster node may not answer before the others fail it over (ms): Redis's own test
/// clusters' value (`utils/create-cluster`).
pub const CLUSTER_NODE_TIMEOUT_MS: u64 = 2_000;

/// A connection to the test Redis: the server itself, or a cluster seen whole (redis-rs's cluster
/// client follows the slots).
pub enum Conn {
    Node(redis::Connection),
    Cluster(Box<redis::cluster::ClusterConnection>),
}

impl redis::ConnectionLike for Conn {
    fn req_packed_command(&mut self, cmd: &[u8]) -> redis::RedisResult<redis::Value> {
        match self {
            Self::Node(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> redis::RedisResult<Vec<redis::Value>> {
        match self {
            Self::Node(c) => c.req_packed_commands(cmd, offset, count),
            Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn req_command(&mut self, cmd: &redis::Cmd) -> redis::RedisResult<redis::Value> {
        match self {
            Self::Node(c) => c.req_command(cmd),
            Self::Cluster(c) => c.req_command(cmd),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Node(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }

    fn check_connection(&mut self) -> bool {
        match self {
            Self::Node(c) => c.check_connection(),
            Self::Cluster(c) => c.check_connection(),
        }
    }

    fn is_open(&self) -> bool {
        match self {
            Self::Node(c) => c.is_open(),
            Self::Cluster(c) => c.is_open(),
        }
    }
}

/// A `redis-server` owned by one test; killed on drop.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    /// With persistence: the folder of the append-only file (every write fsynced).
    aof_dir: Option<PathBuf>,
    /// As a cluster node ([`clustered`]): the node's config file (it keeps the slots across a
    /// restart; removed on drop).
    cluster_conf: Option<PathBuf>,
    /// With [`cluster_three`], the cluster's other five nodes (this one is its first primary).
    peers: Vec<RedisServer>,
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
            peers: Vec::new(),
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
        if cluster_three() {
            return Self::start_cluster(aof_dir);
        }
        Self::start_node(aof_dir, cluster_one())
    }

    /// One server, a cluster node when `node` (a one-node cluster owning every slot with
    /// [`cluster_one`]).
    fn start_node(aof_dir: Option<PathBuf>, node: bool) -> Self {
        let port = if node { free_node_port() } else { free_port() };
        let cluster_conf = node.then(|| {
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
            peers: Vec::new(),
        };
        server.spawn();
        server
    }

    /// Three primaries and three replicas joined by `redis-cli --cluster create`, checked by
    /// `redis-cli --cluster check`; every node `ok` and every replica's link up before it
    /// returns.
    fn start_cluster(aof_dir: Option<PathBuf>) -> Self {
        let mut nodes: Vec<RedisServer> = (0..6)
            .map(|i| {
                let dir = aof_dir.as_ref().map(|d| {
                    let d = d.join(format!("node-{i}"));
                    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
                    d
                });
                Self::start_node(dir, true)
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run redis-cli (run scripts/setup.sh): {e}"));
        assert!(
            created.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&created.stdout),
            String::from_utf8_lossy(&created.stderr)
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        for node in &nodes {
            loop {
                let mut c = node.node_conn();
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query(&mut c)
                    .unwrap_or_default();
                let repl: String = redis::cmd("INFO")
                    .arg("replication")
                    .query(&mut c)
                    .unwrap_or_default();
                let linked = repl.contains("role:master") || repl.contains("master_link_status:up");
                if info.contains("cluster_state:ok") && linked {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the cluster did not come up: {info}{repl}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let checked = Command::new("redis-cli")
            .args(["--cluster", "check", &addresses[0]])
            .output()
            .unwrap_or_else(|e| panic!("redis-cli: {e}"));
        assert!(
            checked.status.success(),
            "redis-cli --cluster check: {}",
            String::from_utf8_lossy(&checked.stdout)
        );
        let mut first = nodes.remove(0);
        first.peers = nodes;
        first
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
        let node_timeout = CLUSTER_NODE_TIMEOUT_MS.to_string();
        if let Some(conf) = &cluster_conf {
            args.extend(["--cluster-enabled", "yes", "--cluster-config-file", conf]);
            // A dead primary's shard is its own problem: the others keep serving their slots.
            args.extend(["--cluster-node-timeout", &node_timeout]);
            args.extend(["--cluster-require-full-coverage", "no"]);
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
                .node_client()
                .get_connection()
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if pong.is_ok() {
                if cluster_conf.is_some() && cluster_one() {
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
        let mut c = self.node_conn();
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

    /// This server's URL (a cluster's first primary).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// What the app's `redis_url` is: this server's URL, or every node's of a cluster (its
    /// seeds).
    pub fn app_url(&self) -> String {
        std::iter::once(self)
            .chain(&self.peers)
            .map(RedisServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The app's Redis variables for this server: `redis_url`, `redis_mode`, `redis_hosts` (its
    /// outbound allow-list entry) and `redis_trigger_url` (where the worker subscribes).
    pub fn app_variables(&self) -> Vec<(&'static str, String)> {
        let cluster = !self.peers.is_empty();
        vec![
            ("redis_url", self.app_url()),
            (
                "redis_mode",
                if cluster { "cluster" } else { "single" }.into(),
            ),
            (
                "redis_hosts",
                if cluster {
                    "redis://127.0.0.1:*".into()
                } else {
                    self.url()
                },
            ),
            ("redis_trigger_url", self.url()),
        ]
    }

    /// A client of this server alone.
    pub fn node_client(&self) -> redis::Client {
        redis::Client::open(self.url()).unwrap_or_else(|e| panic!("bad redis url: {e}"))
    }

    /// A connection to this server alone (a cluster's first primary: where the worker
    /// subscribes).
    pub fn node_conn(&self) -> redis::Connection {
        self.node_client()
            .get_connection()
            .unwrap_or_else(|e| panic!("redis connection: {e}"))
    }

    /// A connection to the test Redis, a cluster seen whole.
    pub fn conn(&self) -> Conn {
        if self.peers.is_empty() {
            return Conn::Node(self.node_conn());
        }
        let nodes: Vec<String> = std::iter::once(self)
            .chain(&self.peers)
            .map(RedisServer::url)
            .collect();
        let cluster = redis::cluster::ClusterClient::new(nodes)
            .and_then(|c| c.get_connection())
            .unwrap_or_else(|e| panic!("redis cluster connection: {e}"));
        Conn::Cluster(Box::new(cluster))
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
