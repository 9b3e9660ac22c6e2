//! `edge-live --push`: the push tier (nginx with nchan, `deploy/push/`) holding `--clients`
//! viewers of one board, half WebSocket and half EventSource, while the app's worker publishes.
//!
//! Each viewer connects to `--push` (`http://host:port/push/{tenant}/{board}`; the WebSocket ones
//! at the same path) from one of eight loopback addresses (127.0.0.1–8, so the connections are
//! not bounded by one address's ephemeral ports) and counts as connected once it has the board's
//! state (the channel's kept message). Then, with every viewer connected: nginx's resident memory
//! (the master and its workers, `--nginx-pid`) against before they came, and Redis's commands per
//! second over `--idle-secs` with nobody writing. Then `--writes` submissions `--interval-ms`
//! apart; each write's version is read from Redis after it, and a viewer's delay for that write is
//! from sending it to the first state carrying that version or a newer one. A viewer is complete
//! when it got a state at every write's own version. Prints one JSON line. Bounded: each phase has
//! a deadline, and the viewers are dropped at the end.
//!
//! With `--own-rank URL` every viewer also reads its own standing from the app when the version
//! moves (own_rank.rs).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use futures::StreamExt;
use http::Request;
use http_body_util::{BodyStream, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::own_rank::{self, Reader, Reads};
use crate::{Args, make_writes, percentile, split_url};

/// The loopback addresses the viewers connect from, in turn.
const SOURCES: u8 = 8;

/// What one viewer received: when it first saw each version.
#[derive(Default)]
struct Seen {
    arrivals: BTreeMap<i64, Instant>,
}

impl Seen {
    /// Notes a state that came `at`: its version, when it is one not seen before.
    fn note(&mut self, state: &[u8], at: Instant) -> Option<i64> {
        let version = serde_json::from_slice::<serde_json::Value>(state)
            .ok()
            .and_then(|v| v["version"].as_i64())?;
        let new = !self.arrivals.contains_key(&version);
        self.arrivals.entry(version).or_insert(at);
        new.then_some(version)
    }

    /// When the first state at `version` or later came.
    fn covered(&self, version: i64) -> Option<Instant> {
        self.arrivals.range(version..).map(|(_, at)| *at).min()
    }
}

/// A TCP connection to `authority` from the `n`th loopback source address.
async fn connect(authority: &str, n: usize) -> Result<TcpStream> {
    let to: SocketAddr = authority
        .parse()
        .with_context(|| format!("{authority}: give the push tier as ip:port"))?;
    let from = IpAddr::V4(Ipv4Addr::new(
        127,
        0,
        0,
        1 + (n % usize::from(SOURCES)) as u8,
    ));
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    let stream = socket.connect(to).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Notes a state, and hands a new version to the viewer's reader of its own standing.
fn arrived(state: &[u8], seen: &Mutex<Seen>, own: Option<&watch::Sender<i64>>) {
    let new = seen.lock().unwrap().note(state, Instant::now());
    if let (Some(version), Some(own)) = (new, own) {
        own.send_replace(version);
    }
}

async fn websocket(
    url: String,
    n: usize,
    seen: Arc<Mutex<Seen>>,
    own: Option<watch::Sender<i64>>,
) -> Result<()> {
    let (authority, path) = split_url(&url)?;
    let stream = connect(&authority, n).await?;
    let (mut ws, _) =
        tokio_tungstenite::client_async(format!("ws://{authority}{path}"), stream).await?;
    while let Some(message) = ws.next().await {
        if let Message::Text(text) = message? {
            arrived(text.as_bytes(), &seen, own.as_ref());
        }
    }
    Ok(())
}

async fn event_stream(
    url: String,
    n: usize,
    seen: Arc<Mutex<Seen>>,
    own: Option<watch::Sender<i64>>,
) -> Result<()> {
    use eventsource_stream::Eventsource;
    let (authority, path) = split_url(&url)?;
    let stream = connect(&authority, n).await?;
    let (mut send, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let request = Request::builder()
        .uri(path)
        .header("host", authority)
        .header("accept", "text/event-stream")
        .body(Empty::<Bytes>::new())?;
    let response = send.send_request(request).await?;
    if response.status() != 200 {
        bail!("the event stream answered {}", response.status());
    }
    let events = BodyStream::new(response.into_body())
        .filter_map(|frame| async { frame.map(|f| f.into_data().ok()).transpose() })
        .eventsource();
    let mut events = std::pin::pin!(events);
    while let Some(event) = events.next().await {
        let event = event.map_err(|e| anyhow::anyhow!("{e}"))?;
        arrived(event.data.as_bytes(), &seen, own.as_ref());
    }
    Ok(())
}

/// nginx's resident memory in bytes: the master `pid` and its children (the workers).
fn nginx_rss(pid: u32) -> Result<u64> {
    let mut pids = vec![pid];
    for entry in std::fs::read_dir("/proc")? {
        let name = entry?.file_name();
        let Some(child) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // The parent is the second field after the command's closing parenthesis.
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if parent == Some(pid) {
            pids.push(child);
        }
    }
    let mut total = 0;
    for p in pids {
        let status = std::fs::read_to_string(format!("/proc/{p}/status"))
            .with_context(|| format!("reading /proc/{p}/status"))?;
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no VmRSS in /proc/{p}/status"))?;
        total += kib * 1024;
    }
    Ok(total)
}

/// Redis's `total_commands_processed`.
async fn commands(redis: &mut redis::aio::MultiplexedConnection) -> Result<u64> {
    let info: String = redis::cmd("INFO").arg("stats").query_async(redis).await?;
    info.lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .and_then(|v| v.trim().parse().ok())
        .context("no total_commands_processed in INFO stats")
}

pub async fn run(a: &Args, push: &str) -> Result<()> {
    let client_redis = redis::Client::open(a.redis.as_str())?;
    let mut redis = client_redis.get_multiplexed_async_connection().await?;
    if a.own_rank.is_some() {
        own_rank::seed(a).await?;
    }
    let rss_before = a.nginx_pid.map(nginx_rss).transpose()?;
    let seen: Vec<Arc<Mutex<Seen>>> = (0..a.clients).map(|_| Arc::default()).collect();
    let mut own_reads: Vec<Arc<Mutex<Reads>>> = Vec::new();
    let mut readers = Vec::new();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(a.clients);
    for (n, s) in seen.iter().enumerate() {
        let (url, s) = (push.to_string(), Arc::clone(s));
        let own = a.own_rank.as_deref().map(|prefix| {
            let reader = Reader::new(prefix, n);
            own_reads.push(Arc::clone(&reader.reads));
            let (versions, seen_versions) = watch::channel(0);
            readers.push(tokio::spawn(reader.follow(seen_versions)));
            versions
        });
        tasks.push(if n % 2 == 0 {
            tokio::spawn(websocket(url, n, s, own))
        } else {
            tokio::spawn(event_stream(url, n, s, own))
        });
        // 100 new connections every 20 ms (5,000 a second): nginx's accept queue, and the app it
        // asks about each viewer, take them without refusals.
        if n % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(a.connect_secs);
    let connected = loop {
        let n = seen
            .iter()
            .filter(|s| !s.lock().unwrap().arrivals.is_empty())
            .count();
        if n == a.clients || Instant::now() >= deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let connect_secs = started.elapsed().as_secs_f64();
    let failed: Vec<String> = {
        let mut reasons = BTreeMap::<String, usize>::new();
        for t in &mut tasks {
            if t.is_finished()
                && let Ok(Err(e)) = t.await
            {
                *reasons.entry(e.to_string()).or_default() += 1;
            }
        }
        reasons
            .into_iter()
            .map(|(why, n)| format!("{n}× {why}"))
            .collect()
    };
    let rss_after = a.nginx_pid.map(nginx_rss).transpose()?;

    // Idle: nobody writes; whatever Redis serves now is the cost of holding the viewers.
    let before = commands(&mut redis).await?;
    tokio::time::sleep(Duration::from_secs(a.idle_secs)).await;
    let after = commands(&mut redis).await?;
    // The second INFO is counted in `after`.
    let idle = (after - before).saturating_sub(1) as f64 / a.idle_secs.max(1) as f64;

    let writes = make_writes(a, &mut redis, "push").await?;

    let mut delays = Vec::new();
    let mut complete = 0;
    for s in &seen {
        let s = s.lock().unwrap();
        if s.arrivals.is_empty() {
            continue;
        }
        for (version, sent) in &writes {
            if let Some(at) = s.covered(*version) {
                delays.push(at.duration_since(*sent).as_secs_f64() * 1000.0);
            }
        }
        complete += usize::from(writes.iter().all(|(v, _)| s.arrivals.contains_key(v)));
    }
    for t in tasks {
        t.abort();
    }
    for r in readers {
        r.abort();
    }
    delays.sort_by(f64::total_cmp);
    let own = a
        .own_rank
        .as_ref()
        .map(|_| own_rank_result(&own_reads, &writes));
    let rss_per_viewer = match (rss_before, rss_after) {
        (Some(b), Some(a)) if connected > 0 => {
            serde_json::json!(a.saturating_sub(b) as f64 / connected as f64)
        }
        _ => serde_json::Value::Null,
    };
    println!(
        "{}",
        serde_json::json!({
            "mode": "push",
            "clients": a.clients,
            "websocket": a.clients.div_ceil(2),
            "eventsource": a.clients / 2,
            "connected": connected,
            "connect_secs": connect_secs,
            "failed": failed,
            "complete": complete,
            "writes": a.writes,
            "events": delays.len(),
            "p50_ms": percentile(&delays, 50.0),
            "p99_ms": percentile(&delays, 99.0),
            "max_ms": delays.last().copied().unwrap_or(f64::NAN),
            "nginx_rss_before": rss_before,
            "nginx_rss_after": rss_after,
            "nginx_rss_per_viewer": rss_per_viewer,
            "idle_redis_commands_per_sec": idle,
            "own_rank": own,
        })
    );
    Ok(())
}

/// The viewers' reads of their own standing: from each write to each viewer's answer read after
/// that write's state.
fn own_rank_result(reads: &[Arc<Mutex<Reads>>], writes: &[(i64, Instant)]) -> serde_json::Value {
    let mut delays = Vec::new();
    let (mut answers, mut hits, mut complete) = (0, 0, 0);
    let mut failed = BTreeMap::<String, u64>::new();
    for r in reads {
        let r = r.lock().unwrap();
        answers += r.answered.len();
        hits += r.hits;
        for (why, n) in &r.failed {
            *failed.entry(why.clone()).or_default() += n;
        }
        let mut all = true;
        for (version, sent) in writes {
            match r.covered(*version) {
                Some(at) => delays.push(at.duration_since(*sent).as_secs_f64() * 1000.0),
                None => all = false,
            }
        }
        complete += usize::from(all);
    }
    delays.sort_by(f64::total_cmp);
    serde_json::json!({
        "viewers": reads.len(),
        "answers": answers,
        "cache_hits": hits,
        "failed": failed,
        "complete": complete,
        "p50_ms": percentile(&delays, 50.0),
        "p99_ms": percentile(&delays, 99.0),
        "max_ms": delays.last().copied().unwrap_or(f64::NAN),
    })
}
