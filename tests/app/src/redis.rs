//! A private `redis-server` per test, optionally persistent (append-only file) and restartable.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// Whether each test's Redis is a cluster of three primaries, each with a replica
/// (`EDGE_TEST_REDIS=cluster3`, made by `redis-cli --cluster create`): the app then runs with
/// `redis_mode = cluster` and the primaries' URLs as its seeds, so its commands spread over
/// three servers and follow redirections.
pub fn cluster_three() -> bool {
    std::env::var("EDGE_TEST_REDIS").as_deref() == Ok("cluster3")
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

/// How many free ports a server is started on before its start fails.
const PORT_ATTEMPTS: u32 = 5;

/// The schedule's alarm key (`edge::schedule::ALARM`; the suite checks they agree).
pub const ALARM_KEY: &str = "lb:{claims}:alarm";

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
    /// As a cluster node ([`cluster_three`]): the node's own folder, with its config file (it keeps
    /// the slots across a restart) and what a replica's sync writes (removed on drop).
    cluster_dir: Option<PathBuf>,
    /// With [`cluster_three`], the cluster's other five nodes (this one is its first primary).
    peers: Vec<RedisServer>,
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// A handle on the servers another `RedisServer` owns (a second region's view of the same
    /// Redis, a cluster's every node): dropping it stops nothing.
    pub fn attach(of: &RedisServer) -> Self {
        Self {
            port: of.port,
            child: None,
            aof_dir: None,
            cluster_dir: None,
            peers: of.peers.iter().map(RedisServer::attach).collect(),
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

    /// One server, whatever `EDGE_TEST_REDIS` says (a Redis that is not the app's: the push
    /// tier's own).
    pub fn start_single() -> Self {
        Self::start_node(None, false)
    }

    /// Three primaries and three replicas, whatever `EDGE_TEST_REDIS` says (the cluster's own
    /// tests).
    pub fn start_cluster3() -> Self {
        Self::start_cluster(None)
    }

    /// [`RedisServer::start_cluster3`] with every node's append-only file on (`appendfsync
    /// always`): a node killed and started again comes back with its data, as a supervised
    /// production node does.
    pub fn start_cluster3_persistent() -> Self {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = crate::scratch_dir().join(format!("edge-cluster-aof-{}-{n}", std::process::id()));
        Self::start_cluster(Some(dir))
    }

    fn start_with(aof_dir: Option<PathBuf>) -> Self {
        if cluster_three() {
            return Self::start_cluster(aof_dir);
        }
        Self::start_node(aof_dir, false)
    }

    /// One server, a cluster node when `node`. A free port can be taken between the probe that
    /// found it and the server's bind (an outgoing connection's ephemeral port, another test's
    /// server): a server that exits at once is started again on another port, up to
    /// [`PORT_ATTEMPTS`] times.
    fn start_node(aof_dir: Option<PathBuf>, node: bool) -> Self {
        let mut attempt = 1;
        loop {
            let port = if node { free_node_port() } else { free_port() };
            let cluster_dir = node.then(|| {
                let dir = crate::scratch_dir()
                    .join(format!("edge-redis-node-{}-{port}", std::process::id()));
                std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
                dir
            });
            let mut server = Self {
                port,
                child: None,
                aof_dir: aof_dir.clone(),
                cluster_dir,
                peers: Vec::new(),
            };
            match server.try_spawn() {
                Ok(()) => return server,
                Err(exited) if attempt < PORT_ATTEMPTS => {
                    eprintln!("redis-server on {port} {exited}: another port");
                    // The next attempt uses the same append-only folder: the failed one must not
                    // remove it when it is dropped.
                    server.aof_dir = None;
                    attempt += 1;
                }
                Err(exited) => panic!("redis-server on {port} {exited}"),
            }
        }
    }

    /// Three primaries and three replicas joined by `redis-cli --cluster create`, checked by
    /// `redis-cli --cluster check`; every node `ok` and every replica's link up before it
    /// returns.
    /// With `aof_dir`, node `i`'s append-only file is in `<aof_dir>-node-<i>`.
    fn start_cluster(aof_dir: Option<PathBuf>) -> Self {
        let mut nodes: Vec<RedisServer> = (0..6)
            .map(|i| {
                let dir = aof_dir.as_ref().map(|d| {
                    let mut name = d.as_os_str().to_owned();
                    name.push(format!("-node-{i}"));
                    let d = PathBuf::from(name);
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
        // A replica that has just synced gets the primary's writes only after its first
        // acknowledgement (up to a second later): until then a primary that dies loses them. A
        // write on each primary, awaited by its replica, makes sure replication flows before a
        // test begins.
        for node in &nodes {
            let mut c = node.node_conn();
            let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut c).unwrap_or_default();
            if !matches!(role.first(), Some(redis::Value::BulkString(r)) if r == b"master") {
                continue;
            }
            let key = (0..)
                .map(|i| format!("edge-test-ready-{i}"))
                .find(|k| redis::cmd("EXISTS").arg(k).query::<i64>(&mut c).is_ok())
                .unwrap_or_default();
            let _: () = redis::cmd("SET").arg(&key).arg(1).query(&mut c).unwrap();
            let _: () = redis::cmd("DEL").arg(&key).query(&mut c).unwrap();
            let acked: i64 = redis::cmd("WAIT").arg(1).arg(10_000).query(&mut c).unwrap();
            assert_eq!(
                acked, 1,
                "the replica of node {} does not acknowledge",
                node.port
            );
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

    /// Starts the server on its port (again, after [`RedisServer::kill`]) and waits until it
    /// answers.
    fn spawn(&mut self) {
        if let Err(exited) = self.try_spawn() {
            panic!("redis-server on {} {exited}", self.port);
        }
    }

    /// [`RedisServer::spawn`], or why the server did not come up: it exited at once (e.g. its
    /// port was taken meanwhile), another server answers on its port, or it did not answer
    /// within 10 s.
    fn try_spawn(&mut self) -> Result<(), String> {
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
        // A cluster node keeps its config file, and a replica the copy its first sync writes, in a
        // folder of its own (else in the working folder, where the next node would load it).
        let dir = self
            .aof_dir
            .as_ref()
            .or(self.cluster_dir.as_ref())
            .map(|d| d.to_string_lossy().into_owned());
        let cluster_conf = self
            .cluster_dir
            .as_ref()
            .map(|d| d.join("nodes.conf").to_string_lossy().into_owned());
        let node_timeout = CLUSTER_NODE_TIMEOUT_MS.to_string();
        if let Some(conf) = &cluster_conf {
            args.extend(["--cluster-enabled", "yes", "--cluster-config-file", conf]);
            // A dead primary's shard is its own problem: the others keep serving their slots.
            args.extend(["--cluster-node-timeout", &node_timeout]);
            args.extend(["--cluster-require-full-coverage", "no"]);
            // A replica's first sync starts at once (the default waits 5 s for more replicas).
            args.extend(["--repl-diskless-sync-delay", "0"]);
        }
        if let Some(dir) = &dir {
            args.extend(["--dir", dir]);
        }
        // The schedule's alarm rings the worker by its keyspace event (`expired`), as
        // scripts/up.sh starts Redis.
        args.extend(["--notify-keyspace-events", "Kx"]);
        if self.aof_dir.is_some() {
            args.extend(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            args.extend(["--appendonly", "no"]);
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
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(format!("exited at once ({status})"));
            }
            if pong.is_ok() {
                // The server that answers must be this one, not another that held the port.
                let ours = self.child.as_ref().map(|c| c.id());
                let info: String = self
                    .node_client()
                    .get_connection()
                    .and_then(|mut c| redis::cmd("INFO").arg("server").query(&mut c))
                    .map_err(|e| format!("cannot ask who answers on its port: {e}"))?;
                let answered = info
                    .lines()
                    .find_map(|l| l.strip_prefix("process_id:"))
                    .and_then(|p| p.trim().parse::<u32>().ok());
                if answered == ours {
                    return Ok(());
                }
                self.kill();
                return Err(format!(
                    "found the port held by another server ({answered:?})"
                ));
            }
            if Instant::now() > deadline {
                return Err("did not answer within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills (`SIGKILL`) and starts the server again on the same port: with persistence the data
    /// comes back from the append-only file, else it is lost. A cluster node keeps its config
    /// file: it rejoins its cluster, as a replica if another node took its slots meanwhile.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Stops (`SIGSTOP`) or continues (`SIGCONT`) the server: a node that neither answers nor
    /// refuses while it is stopped.
    pub fn signal(&self, signal: &str) {
        let pid = self
            .child
            .as_ref()
            .map(|c| c.id().to_string())
            .unwrap_or_else(|| panic!("the server on {} is not this handle's", self.port));
        let sent = Command::new("kill")
            .args([format!("-{signal}"), pid])
            .status()
            .unwrap_or_else(|e| panic!("kill -{signal}: {e}"));
        assert!(sent.success(), "kill -{signal} failed");
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
            ("redis_trigger_url", self.trigger_node().url()),
        ]
    }

    /// Where the worker subscribes: this server, or the cluster node that owns the slot of the
    /// schedule's alarm (its keyspace event is published there alone), as scripts/up.sh picks it.
    pub fn trigger_node(&self) -> &RedisServer {
        if self.peers.is_empty() {
            return self;
        }
        let slot: u16 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(ALARM_KEY)
            .query(&mut self.node_conn())
            .unwrap_or_else(|e| panic!("CLUSTER KEYSLOT: {e}"));
        self.peer(self.slot_owner(slot))
    }

    /// [`RedisServer::trigger_node`] once the cluster agrees on it: every node that answers names
    /// the same primary for the alarm's slot, and none flags a node that answers as failing. Right
    /// after a primary's restart its own view may still give it the slot its replica is about to
    /// take (a `fail` flag set while it was down lets the replica be promoted for up to twice
    /// `cluster-node-timeout` after it is back): a worker that subscribed there would hear no
    /// alarm. Asked again every 100 ms for up to 15 × `cluster-node-timeout` (the flag's undo
    /// time and an election, with room for a loaded machine); what the nodes said when it gives up.
    pub fn settled_trigger_node(&self) -> &RedisServer {
        if self.peers.is_empty() {
            return self;
        }
        let bound = Duration::from_millis(CLUSTER_NODE_TIMEOUT_MS * 15);
        let deadline = Instant::now() + bound;
        let slot = loop {
            let asked = std::iter::once(self)
                .chain(&self.peers)
                .find_map(|n| n.try_query(redis::cmd("CLUSTER").arg("KEYSLOT").arg(ALARM_KEY)));
            match asked {
                Some(slot) => break slot,
                None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
                None => panic!("no node of the cluster answered CLUSTER KEYSLOT within {bound:?}"),
            }
        };
        loop {
            let views: Vec<(u16, Vec<ClusterNode>)> = std::iter::once(self)
                .chain(&self.peers)
                .filter_map(|n| Some((n.port, n.try_cluster_nodes()?)))
                .collect();
            let live: Vec<u16> = views.iter().map(|(port, _)| *port).collect();
            let owners: Vec<Option<u16>> = views
                .iter()
                .map(|(_, nodes)| {
                    nodes
                        .iter()
                        .find(|n| {
                            n.primary
                                && !n.failing
                                && n.slots.iter().any(|&(a, b)| a <= slot && slot <= b)
                        })
                        .map(|n| n.port)
                })
                .collect();
            let agreed =
                owners.first().copied().flatten().filter(|owner| {
                    live.contains(owner) && owners.iter().all(|o| *o == Some(*owner))
                });
            let flagged = views
                .iter()
                .flat_map(|(_, nodes)| nodes)
                .any(|n| n.failing && live.contains(&n.port));
            match agreed {
                Some(owner) if !flagged => return self.peer(owner),
                _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
                _ => panic!(
                    "the cluster did not agree on the alarm slot's primary within {bound:?}: \
                     owners by node {:?}, a live node flagged failing: {flagged}; views {views:?}",
                    live.iter().zip(&owners).collect::<Vec<_>>()
                ),
            }
        }
    }

    /// `CLUSTER NODES` as this node lists them, or None when it does not answer.
    fn try_cluster_nodes(&self) -> Option<Vec<ClusterNode>> {
        let text: String = self.try_query(redis::cmd("CLUSTER").arg("NODES"))?;
        Some(text.lines().filter_map(ClusterNode::parse).collect())
    }

    /// `cmd`'s answer from this node alone, or None when it does not answer within 1 s.
    fn try_query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Option<T> {
        let mut conn = self
            .node_client()
            .get_connection_with_timeout(Duration::from_secs(1))
            .ok()?;
        conn.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
        cmd.query(&mut conn).ok()
    }

    /// The port of the primary serving `slot`.
    pub fn slot_owner(&self, slot: u16) -> u16 {
        self.cluster_nodes()
            .into_iter()
            .find(|n| n.primary && n.slots.iter().any(|&(a, b)| a <= slot && slot <= b))
            .map(|n| n.port)
            .unwrap_or_else(|| panic!("no primary serves slot {slot}"))
    }

    /// The slot of a board's keys (`lb:{default/<board>}:…`), as the cluster computes it.
    pub fn board_slot(&self, board: &str) -> u16 {
        redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(format!("lb:{{default/{board}}}:config"))
            .query(&mut self.node_conn())
            .unwrap_or_else(|e| panic!("CLUSTER KEYSLOT of {board}: {e}"))
    }

    /// The port of the primary serving a board's slot.
    pub fn board_owner(&self, board: &str) -> u16 {
        self.slot_owner(self.board_slot(board))
    }

    /// Whether this is a cluster's first primary (with the other nodes as peers).
    pub fn is_cluster(&self) -> bool {
        !self.peers.is_empty()
    }

    /// The first board id `<prefix><n>` (n below 1000) whose primary's port `wanted` accepts.
    pub fn board_where(&self, prefix: &str, wanted: impl Fn(u16) -> bool) -> String {
        (0..1000)
            .map(|i| format!("{prefix}{i}"))
            .find(|b| wanted(self.board_owner(b)))
            .unwrap_or_else(|| panic!("no board id {prefix}<n> on the wanted primary"))
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

    /// Every node of the cluster as `CLUSTER NODES` on this one lists it.
    pub fn cluster_nodes(&self) -> Vec<ClusterNode> {
        let text: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query(&mut self.node_conn())
            .unwrap_or_else(|e| panic!("CLUSTER NODES: {e}"));
        text.lines().filter_map(ClusterNode::parse).collect()
    }

    /// The port of the replica of the primary on `port`.
    pub fn replica_of(&self, port: u16) -> u16 {
        // A replica `redis-cli --cluster create` assigned may take a moment (longer on a loaded
        // machine) to show as one in every node's view: asked again for up to 30 s.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let nodes = self.cluster_nodes();
            let primary = nodes.iter().find(|n| n.port == port).map(|n| n.id.clone());
            let found = nodes
                .iter()
                .find(|n| n.replica_of.is_some() && n.replica_of == primary)
                .map(|n| n.port);
            match found {
                Some(replica) => return replica,
                None if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                None => panic!("the primary on {port} has no replica: {nodes:?}"),
            }
        }
    }

    /// The node (of this cluster) listening on `port`.
    pub fn peer(&self, port: u16) -> &RedisServer {
        std::iter::once(self)
            .chain(&self.peers)
            .find(|n| n.port == port)
            .unwrap_or_else(|| panic!("no node of this cluster on port {port}"))
    }

    /// The node (of this cluster) listening on `port`, to kill or restart.
    pub fn peer_mut(&mut self, port: u16) -> &mut RedisServer {
        if self.port == port {
            return self;
        }
        self.peers
            .iter_mut()
            .find(|n| n.port == port)
            .unwrap_or_else(|| panic!("no node of this cluster on port {port}"))
    }

    /// Moves `slot` from its primary to the primary on `to` the way `redis-cli --cluster reshard`
    /// does (`CLUSTER SETSLOT … IMPORTING`/`MIGRATING`, `MIGRATE` in batches, `SETSLOT … NODE` on
    /// the target then the source), calling `between` after each batch of keys moved.
    pub fn move_slot(&self, slot: u16, to: u16, mut between: impl FnMut()) {
        let nodes = self.cluster_nodes();
        let owner = |port: u16| nodes.iter().find(|n| n.port == port).unwrap();
        let source = nodes
            .iter()
            .find(|n| n.primary && n.slots.iter().any(|&(a, b)| a <= slot && slot <= b))
            .unwrap_or_else(|| panic!("no primary owns slot {slot}"));
        let target = owner(to);
        assert!(
            target.primary && target.port != source.port,
            "move to another primary"
        );
        let mut src = self.peer(source.port).node_conn();
        let mut dst = self.peer(target.port).node_conn();
        let setslot = |c: &mut redis::Connection, how: &str, id: &str| {
            redis::cmd("CLUSTER")
                .arg("SETSLOT")
                .arg(slot)
                .arg(how)
                .arg(id)
                .exec(c)
                .unwrap_or_else(|e| panic!("CLUSTER SETSLOT {slot} {how}: {e}"));
        };
        setslot(&mut dst, "IMPORTING", &source.id);
        setslot(&mut src, "MIGRATING", &target.id);
        loop {
            let keys: Vec<String> = redis::cmd("CLUSTER")
                .arg("GETKEYSINSLOT")
                .arg(slot)
                .arg(10)
                .query(&mut src)
                .unwrap();
            if keys.is_empty() {
                break;
            }
            redis::cmd("MIGRATE")
                .arg("127.0.0.1")
                .arg(target.port)
                .arg("")
                .arg(0)
                .arg(5000)
                .arg("KEYS")
                .arg(&keys)
                .exec(&mut src)
                .unwrap_or_else(|e| panic!("MIGRATE: {e}"));
            between();
        }
        setslot(&mut dst, "NODE", &target.id);
        setslot(&mut src, "NODE", &target.id);
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

/// One line of `CLUSTER NODES`.
#[derive(Debug, Clone)]
pub struct ClusterNode {
    pub id: String,
    pub port: u16,
    /// A primary (`master`), else a replica.
    pub primary: bool,
    /// The node is failing (`fail` or `fail?`).
    pub failing: bool,
    /// A replica's primary (its id).
    pub replica_of: Option<String>,
    /// Slot ranges it serves (a primary), inclusive.
    pub slots: Vec<(u16, u16)>,
}

impl ClusterNode {
    /// `<id> <ip:port@cport> <flags> <primary> <ping> <pong> <epoch> <link> <slot>…`.
    fn parse(line: &str) -> Option<Self> {
        let mut f = line.split_whitespace();
        let id = f.next()?.to_owned();
        let port = f
            .next()?
            .split('@')
            .next()?
            .rsplit_once(':')?
            .1
            .parse()
            .ok()?;
        let flags = f.next()?;
        let replica_of = f.next().filter(|m| *m != "-").map(str::to_owned);
        let slots = f
            .skip(4)
            .filter(|s| !s.starts_with('['))
            .filter_map(|s| match s.split_once('-') {
                Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                None => s.parse().ok().map(|a| (a, a)),
            })
            .collect();
        Some(Self {
            id,
            port,
            primary: flags.split(',').any(|f| f == "master"),
            // Not `nofailover`, which Redis sets on any node run with
            // `cluster-replica-no-failover`.
            failing: flags.split(',').any(|f| f == "fail" || f == "fail?"),
            replica_of,
            slots,
        })
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        if let Some(dir) = &self.cluster_dir
            && let Err(e) = std::fs::remove_dir_all(dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!("{}: {e}", dir.display());
        }
        if let Some(dir) = &self.aof_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
