//! The Redis Cluster of the cluster rows: three primaries on free loopback ports, joined by
//! `redis-cli --cluster create`, with the settings `scripts/up.sh` gives its own throwaway
//! cluster; and which primary owns a key's slot (where `edge-seed` writes a board and where the
//! worker's trigger subscribes).
//!
//! No replicas, as the single Redis it is compared with has none: the rows measure what routing
//! costs a request, and a replica on the bench's own cores would charge the cluster for
//! replication the single Redis does not do (docs/benchmarks.md › Redis Cluster has what that
//! did to spin-p3's lone-client rows). Failover and replica acknowledgements are the app suite's
//! (`api_cluster`), on three primaries and three replicas.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::procs::Procs;
use crate::tools;

/// Every node's settings (after its port and address), as `scripts/up.sh` starts a cluster's
/// (its replication setting too, unused here, so that the list stays up.sh's).
const NODE_ARGS: &[&str] = &[
    "--cluster-enabled",
    "yes",
    "--cluster-node-timeout",
    "2000",
    "--cluster-require-full-coverage",
    "no",
    "--repl-diskless-sync-delay",
    "0",
    "--notify-keyspace-events",
    "Kx",
];

/// The schedule's alarm key (`edge::schedule::ALARM`): the worker's trigger subscribes on the
/// primary that owns its slot, where the key's expiry is announced.
pub const ALARM_KEY: &str = "lb:{claims}:alarm";

/// The cluster's nodes, every one a primary (`redis-cli --cluster create` needs three at least).
pub const NODES: usize = 3;

/// The longest `redis-cli --cluster create` may take.
const CREATE_LIMIT: Duration = Duration::from_secs(60);

/// A running cluster: its nodes' ports (stopped with the bench's other Redis).
pub struct Cluster {
    pub ports: Vec<u16>,
}

impl Cluster {
    /// Starts [`NODES`] nodes, each in a folder of its own (its `nodes.conf`), joins them as
    /// primaries and waits until every node says `cluster_state:ok`, 300 tries 0.1 s apart in
    /// all.
    pub fn start(procs: &Procs, tmp: &Path) -> Result<Self> {
        let mut ports = Vec::new();
        for i in 0..NODES {
            let dir = tmp.join("cluster").join(format!("node-{i}"));
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let dir_arg = dir
                .to_str()
                .context("the scratch folder's path is not UTF-8")?;
            let mut args = NODE_ARGS.to_vec();
            args.extend(["--dir", dir_arg, "--cluster-config-file", "nodes.conf"]);
            ports.push(tools::start_redis_server(
                procs,
                &dir.join("log"),
                &args,
                true,
            )?);
        }
        let addresses: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let mut create = Command::new("redis-cli");
        create
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null());
        let out = procs.capture(
            &mut create,
            "redis-cli --cluster create",
            CREATE_LIMIT,
            Stdio::inherit(),
        )?;
        if !out.success() {
            bail!("redis-cli --cluster create failed: {}", out.text());
        }
        let mut tries = 0;
        for &port in &ports {
            loop {
                let info = tools::redis_cli_on(procs, port, &["cluster", "info"])?;
                if info.lines().any(|l| l.trim() == "cluster_state:ok") {
                    break;
                }
                tries += 1;
                if tries > 300 {
                    bail!("the cluster node on port {port} did not come up: {info}");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(Self { ports })
    }

    /// Every node as a seed URL, comma-separated (`redis_url` in cluster mode).
    pub fn seeds(&self) -> String {
        let urls: Vec<String> = self
            .ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect();
        urls.join(",")
    }

    /// The port of the primary that owns `key`'s slot, as the first node tells.
    pub fn owner(&self, procs: &Procs, key: &str) -> Result<u16> {
        let seed = *self.ports.first().context("a cluster without nodes")?;
        let slot = tools::redis_cli_on(procs, seed, &["cluster", "keyslot", key])?;
        let slot: u16 = slot
            .trim()
            .parse()
            .with_context(|| format!("CLUSTER KEYSLOT {key} answered {slot:?}"))?;
        let nodes = tools::redis_cli_on(procs, seed, &["cluster", "nodes"])?;
        owner_of(&nodes, slot)
            .with_context(|| format!("no primary owns slot {slot} of {key}: {nodes}"))
    }
}

/// The port of the working primary whose slot ranges in a `CLUSTER NODES` answer hold `slot`.
/// A line is `id ip:port@bus flags primary ping pong epoch link slot...`, a slot `n` or `a-b`
/// (migrations, `[n->-id]`, are not ranges); a primary flagged `fail` or `fail?` is passed over.
fn owner_of(nodes: &str, slot: u16) -> Option<u16> {
    nodes.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (address, flags) = (fields.get(1)?, fields.get(2)?);
        let flags: Vec<&str> = flags.split(',').collect();
        if !flags.contains(&"master") || flags.iter().any(|f| f.starts_with("fail")) {
            return None;
        }
        let owns = fields.iter().skip(8).any(|range| {
            let (a, b) = range.split_once('-').unwrap_or((range, range));
            match (a.parse::<u16>(), b.parse::<u16>()) {
                (Ok(a), Ok(b)) => (a..=b).contains(&slot),
                _ => false,
            }
        });
        if !owns {
            return None;
        }
        let host_port = address.split('@').next()?;
        host_port.rsplit(':').next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODES_ANSWER: &str = "\
a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.1:7002@17002 master - 0 1 2 connected 5461-10922 [5462->-c3]
c3 127.0.0.1:7003@17003 master - 0 1 3 connected 10923-16383 [5462-<-b2]
d4 127.0.0.1:7004@17004 slave a1 0 1 1 connected
";

    #[test]
    fn the_owner_is_the_primary_whose_range_holds_the_slot() {
        assert_eq!(owner_of(NODES_ANSWER, 0), Some(7001));
        assert_eq!(owner_of(NODES_ANSWER, 5461), Some(7002));
        assert_eq!(owner_of(NODES_ANSWER, 16383), Some(7003));
        // A slot being migrated belongs to its source until the move ends.
        assert_eq!(owner_of(NODES_ANSWER, 5462), Some(7002));
        // A single slot is a range of one.
        let single = "e5 127.0.0.1:7005@17005 master - 0 1 4 connected 42";
        assert_eq!(owner_of(single, 42), Some(7005));
        assert_eq!(owner_of(single, 43), None);
        let failed = NODES_ANSWER.replace("myself,master", "myself,master,fail");
        assert_eq!(owner_of(&failed, 0), None);
        assert_eq!(
            owner_of(
                "d4 127.0.0.1:7004@17004 slave a1 0 1 1 connected 0-16383",
                1
            ),
            None
        );
    }
}
