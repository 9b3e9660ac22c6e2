//! The repository's link to a Redis Cluster: each command goes to the primary that owns its key's
//! slot ([`crate::cluster`]), on a connection opened the first time the request needs that node.
//!
//! - **The slot map** comes from the regional KV store ([`crate::cluster::MAP_KEY`], read ahead
//!   with the request's other KV keys) while it is younger than [`crate::cluster::MAP_TTL_MS`] and
//!   was read from these seeds; else from `CLUSTER SLOTS` on a node that answers (the nodes
//!   already open, the seeds, the nodes of the older map), stored back for the region's other
//!   requests. An older map of the same seeds stays in use when no node answers.
//! - **`MOVED`**: the map is read again and the command sent once more, to the node named. Redis
//!   did not run a redirected command, so this is safe for writes too.
//! - **`ASK`** (the slot is migrating and the key is on the target already): `ASKING` then the
//!   command on the target, once; the map stays.
//! - **Another redirection right after one, or `TRYAGAIN`**: the slot is moving under the
//!   request; `503` with `Retry-After` ([`RedisError::Moving`]: not a failure of Redis).
//! - **A node that cannot be reached**: its connection is dropped and, when the map is older than
//!   [`crate::cluster::MIN_REFRESH_MS`], the map is read again from the other nodes, so the
//!   request after a failover finds the promoted replica; a command that changes nothing is
//!   retried once, on the node the map now names. While the other nodes answer, the failure is
//!   that shard's ([`RedisError::ShardDown`]: a `503`, not counted against the region's breaker,
//!   so the other shards' boards are never refused for it); only a cluster of which no node
//!   answers opens the breaker. `CLUSTERDOWN` is the server saying it cannot
//!   serve now: `503` ([`crate::redis_error`]).
//! - **A node that stopped answering** ([`crate::stall`]: the region's canary to it has waited
//!   too long): no connection is opened to it, and the map is read again from the other nodes;
//!   once a replica has taken over its slots the command goes there (nothing was sent, so a write
//!   too), else it is a `503`. Only that node's slots wait: the other primaries are asked as
//!   ever.
//!
//! Only primaries are asked (no `READONLY` reads from replicas): a read after a write must see it.

use std::cell::RefCell;
use std::rc::Rc;

use spin_sdk::redis::{RedisParameter, RedisResult};

use crate::cluster::{self, Redirect, SlotMap};
use crate::platform::{KvStore, RedisConnector, RedisError, RedisExec};

/// A request's connections to the primaries of one cluster.
pub(super) struct Routed {
    /// The seed nodes' URLs: the first lends its scheme and credentials to every node's URL.
    seeds: Vec<String>,
    connector: Rc<dyn RedisConnector>,
    /// The regional store the map is shared through (`None`: each request reads its own).
    kv: Option<Box<dyn KvStore>>,
    map: RefCell<Option<Rc<SlotMap>>>,
    /// Open connections by node (`host:port`).
    open: RefCell<Vec<(String, Rc<dyn RedisExec>)>>,
    /// The node and connection each slot's last write went on ([`Routed::wrote_on`]: `WAIT`
    /// counts what its own connection wrote).
    wrote: RefCell<Vec<Written>>,
    /// The region's watch on nodes that stop answering: consulted before a node's connection is
    /// opened ([`crate::stall`]).
    watch: Rc<crate::stall::StallWatch>,
}

/// A write a request made on a slot: the node, and the connection, it went on.
struct Written {
    slot: u16,
    node: String,
    conn: Rc<dyn RedisExec>,
}

impl Routed {
    pub(super) fn new(
        seeds: Vec<String>,
        connector: Rc<dyn RedisConnector>,
        kv: Option<Box<dyn KvStore>>,
        watch: Rc<crate::stall::StallWatch>,
    ) -> Self {
        Self {
            seeds,
            connector,
            kv,
            map: RefCell::new(None),
            open: RefCell::new(Vec::new()),
            wrote: RefCell::new(Vec::new()),
            watch,
        }
    }

    /// The node, and the connection, the last write on `key`'s slot went on in this request, if
    /// any.
    pub(super) fn wrote_on(&self, key: &[u8]) -> Option<(String, Rc<dyn RedisExec>)> {
        let slot = cluster::slot(key);
        self.wrote
            .borrow()
            .iter()
            .find(|w| w.slot == slot)
            .map(|w| (w.node.clone(), Rc::clone(&w.conn)))
    }

    /// `WAIT` (`args`) on `conn`, the connection a write to `node` went on
    /// ([`Routed::wrote_on`]). A node that cannot be reached is that shard's failure while the
    /// other nodes answer ([`RedisError::ShardDown`]), as for any other command: a primary killed
    /// under writes fails the `WAIT`s in flight on it, and counted against the region's breaker
    /// they would open it for every shard's boards.
    pub(super) async fn wait_on(
        &self,
        node: &str,
        conn: &Rc<dyn RedisExec>,
        args: &[RedisParameter],
    ) -> Result<Vec<RedisResult>, RedisError> {
        match conn.execute("WAIT", args).await {
            Err(e @ RedisError::Transport(_)) => {
                self.open
                    .borrow_mut()
                    .retain(|(n, open)| !(n == node && Rc::ptr_eq(open, conn)));
                Err(shard_down(e, self.refresh_without(node).await))
            }
            answered => answered,
        }
    }

    /// One command on the primary of its key's slot (the first node that answers for a command
    /// without a key), following one redirection; a command that changes nothing (`retry`) is
    /// retried once on a node that could not be reached.
    pub(super) async fn execute(
        &self,
        command: &str,
        args: &[RedisParameter],
        retry: bool,
    ) -> Result<Vec<RedisResult>, RedisError> {
        let Some(slot) = cluster::routing_key(command, args).map(cluster::slot) else {
            return self.anywhere(command, args).await;
        };
        let node = self.node_for(slot).await?;
        let (node, answered) = match self.follow(&node, command, args).await {
            // Nothing was sent to a stalled node: once a replica has taken over its slots the
            // map names another, and the command goes there, a write too.
            (node, Err(e @ RedisError::Stalled(_))) => {
                self.refresh_without(&node).await;
                let now = self.node_for(slot).await?;
                if now == node {
                    return Err(e);
                }
                match self.follow(&now, command, args).await {
                    (now, Err(e @ RedisError::Transport(_))) => {
                        return Err(shard_down(e, self.refresh_without(&now).await));
                    }
                    answered => answered,
                }
            }
            (node, Err(e @ RedisError::Transport(_))) => {
                let others_answer = self.refresh_without(&node).await;
                if !retry {
                    return Err(shard_down(e, others_answer));
                }
                eprintln!("redis error on {node} (retrying {command} once): {e}");
                super::jitter().await;
                let node = self.node_for(slot).await?;
                match self.follow(&node, command, args).await {
                    (node, Err(e @ RedisError::Transport(_))) => {
                        return Err(shard_down(e, self.refresh_without(&node).await));
                    }
                    answered => answered,
                }
            }
            answered => answered,
        };
        // A write (a command that is not retried) that went through: its connection, for `WAIT`.
        if answered.is_ok() && !retry {
            let conn = self
                .open
                .borrow()
                .iter()
                .find(|(n, _)| *n == node)
                .map(|(_, conn)| Rc::clone(conn));
            let mut wrote = self.wrote.borrow_mut();
            wrote.retain(|w| w.slot != slot);
            wrote.extend(conn.map(|conn| Written { slot, node, conn }));
        }
        answered
    }

    /// `command` on `node`, following one redirection: which node answered, and its answer.
    async fn follow(
        &self,
        node: &str,
        command: &str,
        args: &[RedisParameter],
    ) -> (String, Result<Vec<RedisResult>, RedisError>) {
        let text = match self.on(node, command, args).await {
            Err(RedisError::Reply(text)) => text,
            answered => return (node.to_owned(), answered),
        };
        match Redirect::parse(&text, host(node)) {
            Some(Redirect::Moved(to)) => {
                self.refresh(Some(&to), None).await;
                let answered = settled(self.on(&to, command, args).await);
                (to, answered)
            }
            Some(Redirect::Ask(to)) => {
                // Both on one connection: `ASKING` holds for its next command only.
                let asked = match self.on(&to, "ASKING", &[]).await {
                    Ok(_) => settled(self.on(&to, command, args).await),
                    Err(e) => Err(e),
                };
                (to, asked)
            }
            None => (node.to_owned(), Err(RedisError::Reply(text))),
        }
    }

    /// A command without a key (`PING`, `PUBLISH`) on the first node that answers: one already
    /// open, else the primaries of the map in turn (a dead primary's turn costs a refused
    /// connection). A `PUBLISH` sent again after a node failed may reach subscribers twice: the
    /// app's rings are doorbells, which a second ring does not change.
    async fn anywhere(
        &self,
        command: &str,
        args: &[RedisParameter],
    ) -> Result<Vec<RedisResult>, RedisError> {
        let mut nodes: Vec<String> = self.open.borrow().iter().map(|(n, _)| n.clone()).collect();
        let map = self.current().await?;
        nodes.extend(map.nodes().into_iter().map(str::to_owned));
        let mut failed = None;
        for (i, node) in nodes.iter().enumerate() {
            if nodes[..i].contains(node) {
                continue;
            }
            match self.on(node, command, args).await {
                Err(e @ (RedisError::Transport(_) | RedisError::Stalled(_))) => failed = Some(e),
                answered => return answered,
            }
        }
        Err(failed.unwrap_or_else(|| RedisError::Transport("the cluster has no primary".into())))
    }

    /// The request's map, loaded on first use.
    async fn current(&self) -> Result<Rc<SlotMap>, RedisError> {
        let known = self.map.borrow().clone();
        match known {
            Some(map) => Ok(map),
            None => self.load().await,
        }
    }

    /// The node serving `slot` by the map (read first if the request has none).
    async fn node_for(&self, slot: u16) -> Result<String, RedisError> {
        let map = self.current().await?;
        map.node_for(slot).map(str::to_owned).ok_or_else(|| {
            RedisError::Transport(format!(
                "no primary serves slot {slot} in the cluster's slot map"
            ))
        })
    }

    /// The map shared in the KV store while it is young enough and of these seeds, else one read
    /// from the cluster (an older map of these seeds is kept when no node answers).
    async fn load(&self) -> Result<Rc<SlotMap>, RedisError> {
        if let Some(kv) = self.kv.as_deref() {
            match kv.get(cluster::MAP_KEY).await {
                Ok(Some(raw)) => match serde_json::from_slice::<SlotMap>(&raw) {
                    Ok(map) if map.is_for(&self.seeds) => {
                        let fresh = crate::scope::now_ms() - map.read_ms() < cluster::MAP_TTL_MS;
                        let map = Rc::new(map);
                        *self.map.borrow_mut() = Some(Rc::clone(&map));
                        if fresh {
                            return Ok(map);
                        }
                    }
                    // Another cluster's (redis_url changed): never followed.
                    Ok(_) => {}
                    Err(e) => eprintln!("redis cluster: the stored slot map does not decode: {e}"),
                },
                Ok(None) => {}
                Err(e) => eprintln!("redis cluster: cannot read the stored slot map: {e}"),
            }
        }
        self.refresh(None, None).await;
        self.map.borrow().clone().ok_or_else(|| {
            RedisError::Transport("no node of the cluster answered CLUSTER SLOTS".into())
        })
    }

    /// After `failed` could not be reached: its connection is gone ([`Routed::on`]); the map is
    /// read again from the other nodes unless it is younger than
    /// [`cluster::MIN_REFRESH_MS`] (nothing changes before a replica takes over). Whether the
    /// other nodes answer: one gave the map now, or one did a moment ago.
    async fn refresh_without(&self, failed: &str) -> bool {
        let stale = self
            .map
            .borrow()
            .as_ref()
            .is_none_or(|m| crate::scope::now_ms() - m.read_ms() >= cluster::MIN_REFRESH_MS);
        !stale || self.refresh(None, Some(failed)).await
    }

    /// Reads the map from the first node that answers `CLUSTER SLOTS` (`first`, then the nodes
    /// already open, the seeds and the old map's nodes; never `skip`) and shares it; the old map
    /// stays when none answers. Whether one did.
    async fn refresh(&self, first: Option<&str>, skip: Option<&str>) -> bool {
        let mut candidates: Vec<String> = first.map(str::to_owned).into_iter().collect();
        candidates.extend(self.open.borrow().iter().map(|(n, _)| n.clone()));
        candidates.extend(self.seeds.iter().map(|u| cluster::address(u).to_owned()));
        if let Some(map) = self.map.borrow().as_ref() {
            candidates.extend(map.nodes().into_iter().map(str::to_owned));
        }
        crate::scope::note_upkeep("cluster slot map");
        let mut tried: Vec<&str> = skip.into_iter().collect();
        for node in &candidates {
            if tried.contains(&node.as_str()) {
                continue;
            }
            tried.push(node);
            let reply = self
                .on(
                    node,
                    "CLUSTER",
                    &[RedisParameter::Binary(b"SLOTS".to_vec())],
                )
                .await;
            let parsed = reply
                .map_err(|e| e.to_string())
                .and_then(|r| SlotMap::parse(&r, &self.seeds, crate::scope::now_ms()));
            match parsed {
                Ok(map) => {
                    self.share(&map).await;
                    *self.map.borrow_mut() = Some(Rc::new(map));
                    return true;
                }
                Err(e) => eprintln!("redis cluster: no slot map from {node}: {e}"),
            }
        }
        false
    }

    /// Stores a map read from the cluster for the region's other requests.
    async fn share(&self, map: &SlotMap) {
        let Some(kv) = self.kv.as_deref() else {
            return;
        };
        let stored = match serde_json::to_vec(map) {
            Ok(raw) => kv
                .set(cluster::MAP_KEY, &raw)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = stored {
            // Each request then reads its own map: slower, still right.
            eprintln!("redis cluster: cannot store the slot map: {e}");
        }
    }

    /// `command` on `node`'s connection; a connection on which Redis could not be reached is
    /// forgotten (it may be broken).
    pub(super) async fn on(
        &self,
        node: &str,
        command: &str,
        args: &[RedisParameter],
    ) -> Result<Vec<RedisResult>, RedisError> {
        let conn = self.connection(node).await?;
        let answered = conn.execute(command, args).await;
        if let Err(RedisError::Transport(_)) = &answered {
            self.open.borrow_mut().retain(|(n, _)| n != node);
        }
        answered
    }

    /// The request's connection to `node`, opened on first use.
    async fn connection(&self, node: &str) -> Result<Rc<dyn RedisExec>, RedisError> {
        if let Some((_, conn)) = self.open.borrow().iter().find(|(n, _)| n == node) {
            return Ok(Rc::clone(conn));
        }
        let opening = self.watch.before_open(node, crate::scope::now_ms()).await?;
        let seed = self.seeds.first().map_or("redis://", String::as_str);
        let conn: Rc<dyn RedisExec> =
            match self.connector.open(&cluster::node_url(seed, node)).await {
                Ok(conn) => Rc::from(conn),
                Err(e) => {
                    self.watch.answered(node).await;
                    return Err(e);
                }
            };
        let conn = self
            .watch
            .canary_after_open(node, opening, conn, false)
            .await?;
        self.open
            .borrow_mut()
            .push((node.to_owned(), Rc::clone(&conn)));
        Ok(conn)
    }
}

/// The answer after following a redirection: another redirection means the slot is moving
/// under the request (a map read a moment ago is already out of date), which a client retries
/// (`503`), not a refused command.
fn settled(answered: Result<Vec<RedisResult>, RedisError>) -> Result<Vec<RedisResult>, RedisError> {
    match answered {
        Err(RedisError::Reply(text)) if Redirect::parse(&text, "").is_some() => {
            Err(RedisError::Moving(format!(
                "redirected again after following a redirection: {text}"
            )))
        }
        other => other,
    }
}

/// A node that cannot be reached: while the cluster's other nodes answer it is that shard's
/// outage ([`RedisError::ShardDown`]: not counted against the region's breaker, which would
/// refuse every shard), else the cluster's ([`RedisError::Transport`]).
fn shard_down(e: RedisError, others_answer: bool) -> RedisError {
    match e {
        RedisError::Transport(text) if others_answer => RedisError::ShardDown(text),
        other => other,
    }
}

/// The host of a `host:port`.
fn host(node: &str) -> &str {
    node.rsplit_once(':').map_or(node, |(h, _)| h)
}
