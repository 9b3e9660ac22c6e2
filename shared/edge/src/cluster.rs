//! Redis Cluster routing, the parts that need no connection: which hash slot a key is in, which
//! primary serves a slot (the slot map, read with `CLUSTER SLOTS`), what a redirection says, and
//! which key routes a command. [`crate::repo::Repo`] sends each command to the primary that owns
//! its key's slot with these.
//!
//! Facts (Redis 7.0.15 `src/cluster.c`, `src/crc16.c`; the cluster specification): a key's slot
//! is CRC-16/XMODEM of its hash tag (the bytes between the first `{` and the first `}` after it,
//! when not empty; else the whole key) modulo 16384. Spin's outbound Redis flattens a reply's
//! nested arrays into one list ([`SlotMap::parse`] reads `CLUSTER SLOTS` that way), and hands an
//! error reply over as redis-rs's text of it (`… - Moved: 3999 127.0.0.1:7001`, read by
//! [`Redirect::parse`]).

use serde::{Deserialize, Serialize};
use spin_sdk::redis::{RedisParameter, RedisResult};

/// Hash slots in a cluster.
pub const SLOTS: u16 = 16384;

/// Where the region keeps the slot map it last read (regional KV store): every request reads it
/// in its first KV call ([`crate::api::Ctx`]), so routing costs no host call of its own.
pub const MAP_KEY: &str = "redis:cluster:slots";

/// How long a slot map is used before it is read again (ms). A slot that moved is followed at once
/// (`MOVED` refreshes the map) and a primary that stopped answering refreshes it too
/// (at most every [`MIN_REFRESH_MS`]); the age bounds what neither shows, such as a new primary whose slots
/// nobody has asked for yet.
pub const MAP_TTL_MS: i64 = 30_000;

/// A map younger than this (ms) is not read again after a failure: during a failover every
/// request fails on the dead primary until a replica takes over, and the map does not change
/// before then; once it has, a request finds the new primary within this time.
pub const MIN_REFRESH_MS: i64 = 250;

const XMODEM: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_XMODEM);

/// The hash slot of `key`: CRC-16/XMODEM of its hash tag, modulo [`SLOTS`].
pub fn slot(key: &[u8]) -> u16 {
    XMODEM.checksum(hash_tag(key)) % SLOTS
}

/// The part of `key` that is hashed: the bytes between the first `{` and the first `}` after
/// it, unless there are none; otherwise the whole key.
fn hash_tag(key: &[u8]) -> &[u8] {
    let Some(open) = key.iter().position(|&b| b == b'{') else {
        return key;
    };
    let rest = &key[open + 1..];
    match rest.iter().position(|&b| b == b'}') {
        Some(close) if close > 0 => &rest[..close],
        _ => key,
    }
}

/// The key that decides where a command goes, if it has one: a script's first declared key
/// (`EVAL script numkeys key…`; the scripts keep every key on one slot), `SCAN`'s `MATCH`
/// pattern (a board's keys share its hash tag, and the pattern carries it), else the first
/// argument. `PING` and `PUBLISH` have none: any node answers them, and a classic `PUBLISH`
/// reaches every node's subscribers.
pub fn routing_key<'a>(command: &str, args: &'a [RedisParameter]) -> Option<&'a [u8]> {
    let arg = |i: usize| match args.get(i) {
        Some(RedisParameter::Binary(b)) => Some(b.as_slice()),
        _ => None,
    };
    match command {
        "PING" | "PUBLISH" | "INFO" | "CLUSTER" => None,
        "EVAL" | "EVALSHA" => match args.get(1) {
            Some(RedisParameter::Int64(n)) if *n > 0 => arg(2),
            _ => None,
        },
        "SCAN" => {
            let at = args.iter().position(
                |a| matches!(a, RedisParameter::Binary(b) if b.eq_ignore_ascii_case(b"MATCH")),
            )?;
            arg(at + 1)
        }
        "XINFO" | "XGROUP" => arg(1),
        _ => arg(0),
    }
}

/// Which primary serves each slot, when that was read, and for which seeds (`redis_url`): a map
/// of other seeds is another cluster's, and never followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotMap {
    /// Ranges of slots (inclusive) and the `host:port` of their primary, by start.
    ranges: Vec<(u16, u16, String)>,
    /// When it was read (Unix ms).
    read_ms: i64,
    /// The seed nodes' addresses (`host:port`, never their credentials) it was read for.
    #[serde(default)]
    seeds: Vec<String>,
}

impl SlotMap {
    /// A map from a `CLUSTER SLOTS` reply as the host hands it over, flattened: per range its
    /// start and end (integers), then per node its address (bulk), port (integer) and id (bulk),
    /// the primary first. Each node's metadata map is empty unless the servers announce
    /// hostnames (`cluster-announce-hostname`, `cluster-preferred-endpoint-type`), which this
    /// parse refuses rather than misreads.
    pub fn parse(reply: &[RedisResult], seeds: &[String], read_ms: i64) -> Result<Self, String> {
        let mut ranges = Vec::new();
        let mut at = 0;
        let int = |i: usize| match reply.get(i) {
            Some(RedisResult::Int64(n)) => Some(*n),
            _ => None,
        };
        let bulk = |i: usize| match reply.get(i) {
            Some(RedisResult::Binary(b)) => std::str::from_utf8(b).ok(),
            _ => None,
        };
        while at < reply.len() {
            let (Some(start), Some(end)) = (int(at), int(at + 1)) else {
                return Err(format!("CLUSTER SLOTS: no slot range at item {at}"));
            };
            let in_range = |n: i64| u16::try_from(n).ok().filter(|&s| s < SLOTS);
            let (Some(start), Some(end)) = (in_range(start), in_range(end)) else {
                return Err(format!(
                    "CLUSTER SLOTS: slot range {start}-{end} out of bounds"
                ));
            };
            at += 2;
            let mut primary = None;
            // Each node: address, port, id; the next range starts with an integer.
            while let Some(host) = bulk(at) {
                let (Some(port), Some(_id)) = (int(at + 1), bulk(at + 2)) else {
                    return Err(format!(
                        "CLUSTER SLOTS: a node of {start}-{end} is not address, port, id \
                         (do the servers announce hostnames?)"
                    ));
                };
                primary.get_or_insert_with(|| node(host, port));
                at += 3;
            }
            let primary = primary
                .ok_or_else(|| format!("CLUSTER SLOTS: slots {start}-{end} have no node"))?;
            ranges.push((start, end, primary));
        }
        if ranges.is_empty() {
            return Err("CLUSTER SLOTS: no slot is served".into());
        }
        ranges.sort_unstable_by_key(|r| r.0);
        Ok(Self {
            ranges,
            read_ms,
            seeds: seed_addresses(seeds),
        })
    }

    /// The `host:port` of the primary serving `slot`, if any does.
    pub fn node_for(&self, slot: u16) -> Option<&str> {
        let at = self
            .ranges
            .partition_point(|r| r.0 <= slot)
            .checked_sub(1)?;
        let (start, end, node) = &self.ranges[at];
        (*start <= slot && slot <= *end).then_some(node.as_str())
    }

    /// Every primary's `host:port`, each once.
    pub fn nodes(&self) -> Vec<&str> {
        let mut nodes: Vec<&str> = self.ranges.iter().map(|r| r.2.as_str()).collect();
        nodes.sort_unstable();
        nodes.dedup();
        nodes
    }

    /// When it was read (Unix ms).
    pub fn read_ms(&self) -> i64 {
        self.read_ms
    }

    /// Whether it was read for these seed URLs (the same nodes, whatever their credentials).
    pub fn is_for(&self, seeds: &[String]) -> bool {
        self.seeds == seed_addresses(seeds)
    }
}

/// A redirection: the slot is served elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    /// The slot moved for good: refresh the map and send the command there.
    Moved(String),
    /// The slot is migrating and the key is already on the target: `ASKING`, then the command,
    /// there; the map stays.
    Ask(String),
}

impl Redirect {
    /// The redirection in a host's error text (redis-rs's `… - Moved: <slot> <host>:<port>`),
    /// with an empty host (`:6380`: the server's own) taken as `same_host`.
    pub fn parse(text: &str, same_host: &str) -> Option<Self> {
        let (kind, rest) = text
            .split_once(" - Moved: ")
            .map(|(_, r)| (true, r))
            .or_else(|| text.split_once(" - Ask: ").map(|(_, r)| (false, r)))?;
        let mut words = rest.split_whitespace();
        let _slot: u16 = words.next()?.parse().ok()?;
        let address = words.next()?;
        let (host, port) = address.rsplit_once(':')?;
        let port: u16 = port.parse().ok()?;
        let host = if host.is_empty() { same_host } else { host };
        let node = node(host, port);
        Some(if kind {
            Self::Moved(node)
        } else {
            Self::Ask(node)
        })
    }
}

/// The URL of `node` (`host:port`) with everything else of `seed` (scheme, user, password,
/// query): what the guest opens to reach a node the map or a redirection named.
pub fn node_url(seed: &str, node: &str) -> String {
    let (scheme, rest) = seed.split_once("://").unwrap_or(("redis", seed));
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let user = authority.rsplit_once('@').map(|(user, _)| user);
    match user {
        Some(user) => format!("{scheme}://{user}@{node}{tail}"),
        None => format!("{scheme}://{node}{tail}"),
    }
}

/// A node's `host:port`, an IPv6 address in brackets (`[::1]:7000`), as a URL needs it.
fn node(host: &str, port: impl std::fmt::Display) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The seeds' addresses, sorted: what a stored map records of them (a URL may carry a password,
/// which must not end up in the KV store).
fn seed_addresses(seeds: &[String]) -> Vec<String> {
    let mut addresses: Vec<String> = seeds.iter().map(|u| address(u).to_owned()).collect();
    addresses.sort_unstable();
    addresses
}

/// The `host:port` of a URL (what [`node_url`] replaces).
pub fn address(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    authority.rsplit_once('@').map_or(authority, |(_, a)| a)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Values from Redis's documentation (`CLUSTER KEYSLOT`) and a port of its `keyHashSlot`
    /// (../shared/notes/redis-cluster-facts.md §1); the app suite checks more against a real
    /// cluster.
    #[test]
    fn slots_match_redis() {
        for (key, want) in [
            ("somekey", 11058),
            ("foo{hash_tag}", 2515),
            ("foo", 12182),
            ("bar", 5061),
            ("hello", 866),
            ("123456789", 12739),
            ("{user1000}.following", 3443),
            ("{user1000}.followers", 3443),
            ("foo{}{bar}", 8363),
            ("foo{{bar}}zap", 4015),
            ("foo{bar}{zap}", 5061),
        ] {
            assert_eq!(slot(key.as_bytes()), want, "{key}");
        }
        assert_eq!(XMODEM.checksum(b"123456789"), 0x31C3);
    }

    #[test]
    fn a_boards_keys_share_its_slot() {
        let s = slot(b"lb:{acme/daily}:config");
        assert_eq!(slot(b"lb:{acme/daily}:z:2026-11"), s);
        assert_eq!(slot(b"lb:{acme/daily}:*"), s);
        assert_eq!(slot(b"acme/daily"), s);
    }

    fn b(s: &str) -> RedisResult {
        RedisResult::Binary(s.as_bytes().to_vec())
    }

    #[test]
    fn a_flattened_slots_reply_maps_every_slot_to_its_primary() {
        use RedisResult::Int64 as I;
        // Three ranges; the first two have a replica, the third lists its primary only.
        let reply = vec![
            I(5461),
            I(10922),
            b("127.0.0.1"),
            I(7001),
            b("id1"),
            b("127.0.0.1"),
            I(7004),
            b("id4"),
            I(0),
            I(5460),
            b("127.0.0.1"),
            I(7000),
            b("id0"),
            b("127.0.0.1"),
            I(7003),
            b("id3"),
            I(10923),
            I(16383),
            b("10.0.0.2"),
            I(7002),
            b("id2"),
        ];
        let map = SlotMap::parse(&reply, &[], 5).unwrap();
        assert_eq!(map.node_for(0), Some("127.0.0.1:7000"));
        assert_eq!(map.node_for(5460), Some("127.0.0.1:7000"));
        assert_eq!(map.node_for(5461), Some("127.0.0.1:7001"));
        assert_eq!(map.node_for(16383), Some("10.0.0.2:7002"));
        assert_eq!(
            map.nodes(),
            ["10.0.0.2:7002", "127.0.0.1:7000", "127.0.0.1:7001"]
        );
        assert_eq!(map.read_ms(), 5);
    }

    #[test]
    fn a_map_records_its_seeds_addresses_never_their_credentials() {
        use RedisResult::Int64 as I;
        let seeds = [
            "rediss://u:secret@b:2".to_string(),
            "rediss://u:secret@a:1".to_string(),
        ];
        let map = SlotMap::parse(&[I(0), I(16383), b("h"), I(1), b("id")], &seeds, 0).unwrap();
        let stored = serde_json::to_string(&map).unwrap();
        assert!(!stored.contains("secret"), "{stored}");
        assert!(map.is_for(&["redis://a:1".into(), "redis://b:2".into()]));
        assert!(!map.is_for(&["redis://a:1".into()]));
    }

    #[test]
    fn an_unserved_slot_has_no_node() {
        use RedisResult::Int64 as I;
        let map = SlotMap::parse(&[I(100), I(200), b("h"), I(1), b("id")], &[], 0).unwrap();
        assert_eq!(map.node_for(99), None);
        assert_eq!(map.node_for(150), Some("h:1"));
        assert_eq!(map.node_for(201), None);
    }

    #[test]
    fn a_reply_that_is_not_slots_is_refused() {
        use RedisResult::Int64 as I;
        for bad in [
            vec![],
            vec![I(0)],
            vec![I(0), I(16384), b("h"), I(1), b("id")],
            vec![I(0), I(10)],
            // Announced hostnames add a metadata map's pairs to each node.
            vec![I(0), I(10), b("h"), I(1), b("id"), b("hostname"), b("x")],
            vec![RedisResult::Status("OK".into())],
        ] {
            assert!(SlotMap::parse(&bad, &[], 0).is_err(), "{bad:?}");
        }
    }

    /// The texts are made by redis-rs, as the hosts make them.
    fn hosts_text(line: &str) -> String {
        let value = redis::parse_redis_value(format!("-{line}\r\n").as_bytes()).unwrap();
        value.extract_error().unwrap_err().to_string()
    }

    #[test]
    fn redirections_are_read_from_the_hosts_error_text() {
        assert_eq!(
            Redirect::parse(&hosts_text("MOVED 3999 127.0.0.1:7001"), "x"),
            Some(Redirect::Moved("127.0.0.1:7001".into()))
        );
        assert_eq!(
            Redirect::parse(&hosts_text("ASK 3999 10.1.2.3:6380"), "x"),
            Some(Redirect::Ask("10.1.2.3:6380".into()))
        );
        assert_eq!(
            Redirect::parse(&hosts_text("MOVED 3999 :6380"), "10.0.0.9"),
            Some(Redirect::Moved("10.0.0.9:6380".into()))
        );
        for other in [
            "CLUSTERDOWN The cluster is down",
            "TRYAGAIN Multiple keys request during rehashing of slot",
            "ERR unknown command",
        ] {
            assert_eq!(Redirect::parse(&hosts_text(other), "x"), None, "{other}");
        }
    }

    #[test]
    fn a_node_url_keeps_the_seeds_scheme_credentials_and_query() {
        assert_eq!(
            node_url("redis://127.0.0.1:7000", "127.0.0.1:7003"),
            "redis://127.0.0.1:7003"
        );
        assert_eq!(
            node_url(
                "rediss://user:p%40ss@seed.example:6379/0?x=1",
                "10.0.0.5:6379"
            ),
            "rediss://user:p%40ss@10.0.0.5:6379/0?x=1"
        );
        assert_eq!(
            address("rediss://u:p@seed.example:6379/0"),
            "seed.example:6379"
        );
        assert_eq!(address("redis://127.0.0.1:7000"), "127.0.0.1:7000");
    }

    #[test]
    fn ipv6_nodes_are_bracketed_as_urls_need() {
        use RedisResult::Int64 as I;
        let map = SlotMap::parse(&[I(0), I(16383), b("::1"), I(7000), b("id")], &[], 0).unwrap();
        assert_eq!(map.node_for(0), Some("[::1]:7000"));
        assert_eq!(
            node_url("redis://[::1]:7001", "[::1]:7000"),
            "redis://[::1]:7000"
        );
        assert_eq!(
            Redirect::parse(&hosts_text("MOVED 1 ::1:7002"), "x"),
            Some(Redirect::Moved("[::1]:7002".into()))
        );
        assert_eq!(
            Redirect::parse(&hosts_text("ASK 1 :7002"), "[::1]"),
            Some(Redirect::Ask("[::1]:7002".into()))
        );
    }

    #[test]
    fn commands_route_by_their_key() {
        let b = |s: &str| RedisParameter::Binary(s.as_bytes().to_vec());
        let eval = [
            b("return 1"),
            RedisParameter::Int64(2),
            b("k1"),
            b("k2"),
            b("a"),
        ];
        assert_eq!(routing_key("EVAL", &eval), Some(&b"k1"[..]));
        let no_keys = [b("return 1"), RedisParameter::Int64(0)];
        assert_eq!(routing_key("EVAL", &no_keys), None);
        assert_eq!(routing_key("GET", &[b("k")]), Some(&b"k"[..]));
        assert_eq!(routing_key("PUBLISH", &[b("ch"), b("m")]), None);
        let scan = [
            b("0"),
            b("MATCH"),
            b("lb:{t/b}:*"),
            b("COUNT"),
            RedisParameter::Int64(9),
        ];
        assert_eq!(routing_key("SCAN", &scan), Some(&b"lb:{t/b}:*"[..]));
        assert_eq!(
            routing_key("XINFO", &[b("STREAM"), b("s")]),
            Some(&b"s"[..])
        );
    }
}
