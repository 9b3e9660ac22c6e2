//! The repository's link to a Redis Cluster: each command goes to the primary that owns its key's
//! slot ([`crate::cluster`]), on a connection opened the first time the request needs that node.
//!
//! - **The slot map** comes from the regional KV store ([`crate::cluster::MAP_KEY`], read ahead
//!   with the request's other KV keys) while it is younger than [`crate::cluster::MAP_TTL_MS`];
//!   else from `CLUSTER SLOTS` on a node that answers (a node already open, the seeds, the nodes
//!   of the old map), stored back for the region's other requests.
//! - **`MOVED`**: the map is read again and the command sent once more, to the node named. Redis
//!   did not run a redirected command, so this is safe for writes too.
//! - **`ASK`** (the slot is migrating and the key is on the target already): `ASKING` then the
//!   command on the target, once; the map stays.
//! - **A node that cannot be reached**: its connection is dropped and the map read again (at most
//!   every [`crate::cluster::MIN_REFRESH_MS`]), so the request after a failover finds the
//!   promoted replica; a command that changes nothing is retried once, on the node the map now
//!   names. `TRYAGAIN` and `CLUSTERDOWN` are the server saying it cannot serve now: the request
//!   answers `503` with `Retry-After` ([`crate::redis_error`]).
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
    /// The node that answered the last command ([`Routed::on_last`]).
    last: RefCell<Option<String>>,
}

impl Routed {
    pub(super) fn new(
        seeds: Vec<String>,
        connector: Rc<dyn RedisConnector>,
        kv: Option<Box<dyn KvStore>>,
    ) -> Self {
        Self {
            seeds,
            connector,
            kv,
            map: RefCell::new(None),
            open: RefCell::new(Vec::new()),
            last: RefCell::new(None),
        }
    }

    /// `command` on the node that answered the last command (`WAIT` for a write's replicas).
    pub(super) async fn on_last(
        &self,
        command: &str,
        args: &[RedisParameter],
    ) -> Result<Vec<RedisResult>, RedisError> {
        let last = self.last.borrow().clone();
        let node = last.ok_or_else(|| {
            RedisError::Transport(format!("{command}: no command ran on this cluster yet"))
        })?;
        self.on(&node, command, args).await
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
        match self.on(&node, command, args).await {
            Err(RedisError::Reply(text)) => match Redirect::parse(&text, host(&node)) {
                Some(Redirect::Moved(to)) => {
                    self.refresh(Some(&to)).await;
                    settled(self.on(&to, command, args).await)
                }
                Some(Redirect::Ask(to)) => {
                    // Both on one connection: `ASKING` holds for its next command only.
                    let conn = self.connection(&to).await?;
                    self.report_broken(&to, conn.execute("ASKING", &[]).await)?;
                    let answered = self.report_broken(&to, conn.execute(command, args).await);
                    if answered.is_ok() {
                        *self.last.borrow_mut() = Some(to);
                    }
                    settled(answered)
                }
                None => Err(RedisError::Reply(text)),
            },
            Err(e @ RedisError::Transport(_)) => {
                let stale = self.map.borrow().as_ref().is_none_or(|m| {
                    crate::scope::now_ms() - m.read_ms() >= cluster::MIN_REFRESH_MS
                });
                if stale {
                    self.refresh(None).await;
                }
                if !retry {
                    return Err(e);
                }
                eprintln!("redis error on {node} (retrying {command} once): {e}");
                super::jitter().await;
                let node = self.node_for(slot).await?;
                self.on(&node, command, args).await
            }
            answered => answered,
        }
    }

    /// A command without a key (`PING`, `PUBLISH`) on the first node that answers: one already
    /// open, else the primaries of the map in turn (a dead primary's turn costs a refused
    /// connection).
    async fn anywhere(
        &self,
        command: &str,
        args: &[RedisParameter],
    ) -> Result<Vec<RedisResult>, RedisError> {
        let mut nodes: Vec<String> = self.open.borrow().iter().map(|(n, _)| n.clone()).collect();
        let known = self.map.borrow().clone();
        let map = match known {
            Some(map) => map,
            None => self.load().await?,
        };
        nodes.extend(map.nodes().into_iter().map(str::to_owned));
        let mut failed = None;
        for (i, node) in nodes.iter().enumerate() {
            if nodes[..i].contains(node) {
                continue;
            }
            match self.on(node, command, args).await {
                Err(e @ RedisError::Transport(_)) => failed = Some(e),
                answered => return answered,
            }
        }
        Err(failed.unwrap_or_else(|| RedisError::Transport("the cluster has no primary".into())))
    }

    /// The node serving `slot` by the map (read first if the request has none).
    async fn node_for(&self, slot: u16) -> Result<String, RedisError> {
        let known = self.map.borrow().clone();
        let map = match known {
            Some(map) => map,
            None => self.load().await?,
        };
        map.node_for(slot).map(str::to_owned).ok_or_else(|| {
            RedisError::Transport(format!(
                "no primary serves slot {slot} in the cluster's slot map"
            ))
        })
    }

    /// The map shared in the KV store while it is young enough, else one read from the cluster.
    async fn load(&self) -> Result<Rc<SlotMap>, RedisError> {
        if let Some(kv) = self.kv.as_deref() {
            match kv.get(cluster::MAP_KEY).await {
                Ok(Some(raw)) => match serde_json::from_slice::<SlotMap>(&raw) {
                    Ok(map) if crate::scope::now_ms() - map.read_ms() < cluster::MAP_TTL_MS => {
                        let map = Rc::new(map);
                        *self.map.borrow_mut() = Some(Rc::clone(&map));
                        return Ok(map);
                    }
                    Ok(_) => {}
                    Err(e) => eprintln!("redis cluster: the stored slot map does not decode: {e}"),
                },
                Ok(None) => {}
                Err(e) => eprintln!("redis cluster: cannot read the stored slot map: {e}"),
            }
        }
        self.refresh(None).await;
        self.map.borrow().clone().ok_or_else(|| {
            RedisError::Transport("no node of the cluster answered CLUSTER SLOTS".into())
        })
    }

    /// Reads the map from the first node that answers `CLUSTER SLOTS` (`first`, then the nodes
    /// already open, the seeds and the old map's nodes) and shares it; the old map stays when
    /// none answers.
    async fn refresh(&self, first: Option<&str>) {
        let mut candidates: Vec<String> = first.map(str::to_owned).into_iter().collect();
        candidates.extend(self.open.borrow().iter().map(|(n, _)| n.clone()));
        candidates.extend(self.seeds.iter().map(|u| cluster::address(u).to_owned()));
        if let Some(map) = self.map.borrow().as_ref() {
            candidates.extend(map.nodes().into_iter().map(str::to_owned));
        }
        let mut tried: Vec<&str> = Vec::new();
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
                .and_then(|r| SlotMap::parse(&r, crate::scope::now_ms()));
            match parsed {
                Ok(map) => {
                    self.share(&map).await;
                    *self.map.borrow_mut() = Some(Rc::new(map));
                    return;
                }
                Err(e) => eprintln!("redis cluster: no slot map from {node}: {e}"),
            }
        }
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

    /// `command` on `node`'s connection.
    async fn on(
        &self,
        node: &str,
        command: &str,
        args: &[RedisParameter],
    ) -> Result<Vec<RedisResult>, RedisError> {
        let conn = self.connection(node).await?;
        let answered = self.report_broken(node, conn.execute(command, args).await);
        if answered.is_ok() {
            *self.last.borrow_mut() = Some(node.to_owned());
        }
        answered
    }

    /// Forgets `node`'s connection when Redis could not be reached on it (it may be broken).
    fn report_broken<T>(&self, node: &str, result: Result<T, RedisError>) -> Result<T, RedisError> {
        if let Err(RedisError::Transport(_)) = &result {
            self.open.borrow_mut().retain(|(n, _)| n != node);
        }
        result
    }

    /// The request's connection to `node`, opened on first use.
    async fn connection(&self, node: &str) -> Result<Rc<dyn RedisExec>, RedisError> {
        if let Some((_, conn)) = self.open.borrow().iter().find(|(n, _)| n == node) {
            return Ok(Rc::clone(conn));
        }
        let seed = self.seeds.first().map_or("redis://", String::as_str);
        let conn: Rc<dyn RedisExec> =
            Rc::from(self.connector.open(&cluster::node_url(seed, node)).await?);
        self.open
            .borrow_mut()
            .push((node.to_owned(), Rc::clone(&conn)));
        Ok(conn)
    }
}

/// The answer after following a redirection: another redirection means the slot is moving
/// under the request (a map read a moment ago is already out of date), which a client retries
/// like a node that cannot serve now (`503`), not a refused command.
fn settled(answered: Result<Vec<RedisResult>, RedisError>) -> Result<Vec<RedisResult>, RedisError> {
    match answered {
        Err(RedisError::Reply(text)) if Redirect::parse(&text, "").is_some() => {
            Err(RedisError::Transport(format!(
                "redirected again after following a redirection: {text}"
            )))
        }
        other => other,
    }
}

/// The host of a `host:port`.
fn host(node: &str) -> &str {
    node.rsplit_once(':').map_or(node, |(h, _)| h)
}
