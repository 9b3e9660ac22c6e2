//! `edge-live`: how many live-update clients one instance holds, and how fast a write reaches them.
//!
//! Opens `--clients` event streams (`GET <url>` with `Accept: text/event-stream`, one HTTP/1.1
//! connection each) and waits until each has its `snapshot` (or `--connect-secs` pass). Then makes
//! `--writes` score submissions (`POST <scores-url>`, one every `--interval-ms`), reading the board's
//! version from Redis after each (`GET <version-key>`), and notes when each client receives the
//! event whose `id` is that version. Prints one JSON line: clients asked and connected, how many
//! got every write's event, and the delay from sending a write to its event arriving (p50, p99,
//! max over every client and write). Bounded: every phase has a deadline, and the streams are
//! dropped at the end.
//!
//! The SSE parsing here is the few lines this needs (`id:` and `event:` fields of complete
//! events); the test suite checks the format with a real SSE client library.
//!
//! With `--push URL` the viewers are the push tier's instead (push.rs), and with `--own-rank URL`
//! each also reads its own standing when the version moves (own_rank.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod own_rank;
mod push;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Empty, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

struct Args {
    url: String,
    scores_url: String,
    headers: Vec<(String, String)>,
    redis: String,
    version_key: String,
    clients: usize,
    writes: usize,
    interval: Duration,
    connect_secs: u64,
    /// `--push URL`: the viewers are the push tier's (push.rs), not the app's `/live`.
    push: Option<String>,
    /// `--nginx-pid PID`: the push tier's nginx master, whose memory is measured.
    nginx_pid: Option<u32>,
    /// `--idle-secs S` (5): how long Redis's commands are counted with the viewers idle.
    idle_secs: u64,
    /// `--own-rank URL` (with `--push`): the players route (`…/boards/{board}/players/`) each
    /// viewer reads its own standing from when the version moves.
    own_rank: Option<String>,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        url: String::new(),
        scores_url: String::new(),
        headers: Vec::new(),
        redis: String::new(),
        version_key: String::new(),
        clients: 10,
        writes: 10,
        interval: Duration::from_millis(500),
        connect_secs: 30,
        push: None,
        nginx_pid: None,
        idle_secs: 5,
        own_rank: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => a.url = value()?,
            "--scores-url" => a.scores_url = value()?,
            "--header" => {
                let h = value()?;
                let (k, v) = h.split_once(':').context("--header takes 'name: value'")?;
                a.headers.push((k.trim().to_string(), v.trim().to_string()));
            }
            "--redis" => a.redis = value()?,
            "--version-key" => a.version_key = value()?,
            "--clients" => a.clients = value()?.parse()?,
            "--writes" => a.writes = value()?.parse()?,
            "--interval-ms" => a.interval = Duration::from_millis(value()?.parse()?),
            "--connect-secs" => a.connect_secs = value()?.parse()?,
            "--push" => a.push = Some(value()?),
            "--nginx-pid" => a.nginx_pid = Some(value()?.parse()?),
            "--idle-secs" => a.idle_secs = value()?.parse()?,
            "--own-rank" => a.own_rank = Some(value()?),
            other => bail!("unknown flag {other}"),
        }
    }
    if let Some(prefix) = &a.own_rank {
        if a.push.is_none() {
            bail!("--own-rank measures the push tier's pattern: give --push too");
        }
        if !prefix.ends_with('/') {
            bail!(
                "--own-rank takes the players route, ending in '/' (…/boards/{{board}}/players/)"
            );
        }
    }
    if a.url.is_empty() || a.scores_url.is_empty() || a.redis.is_empty() {
        bail!(
            "usage: edge-live --url URL --scores-url URL --redis URL --version-key KEY \
             [--header 'k: v']... [--clients N] [--writes N] [--interval-ms MS] [--connect-secs S] \
             [--push URL [--nginx-pid PID] [--idle-secs S] [--own-rank URL]]"
        );
    }
    Ok(a)
}

/// `http://host:port/path?query` → (`host:port`, `/path?query`).
fn split_url(url: &str) -> Result<(String, String)> {
    let rest = url.strip_prefix("http://").context("only http:// URLs")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    Ok((
        authority.to_string(),
        if path.is_empty() {
            "/".into()
        } else {
            path.to_string()
        },
    ))
}

/// What one client received: the arrival time of each event id, and whether its snapshot came.
#[derive(Default)]
struct Seen {
    snapshot: bool,
    arrivals: HashMap<i64, Instant>,
}

async fn client(url: String, seen: Arc<Mutex<Seen>>) -> Result<()> {
    let (authority, path) = split_url(&url)?;
    let stream = TcpStream::connect(&authority).await?;
    stream.set_nodelay(true)?;
    let (mut send, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = Request::builder()
        .uri(path)
        .header("host", authority)
        .header("accept", "text/event-stream")
        .body(Empty::<Bytes>::new())?;
    let resp = send.send_request(req).await?;
    if resp.status() != 200 {
        bail!("the stream answered {}", resp.status());
    }
    let mut body = resp.into_body();
    let mut buf = String::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        let at = Instant::now();
        buf.push_str(&String::from_utf8_lossy(&data));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            };
            let id = field("id:").and_then(|v| v.parse::<i64>().ok());
            let mut s = seen.lock().unwrap();
            match (field("event:").as_deref(), id) {
                (Some("snapshot"), Some(id)) => {
                    s.snapshot = true;
                    s.arrivals.entry(id).or_insert(at);
                }
                (Some("update"), Some(id)) => {
                    s.arrivals.entry(id).or_insert(at);
                }
                _ => {}
            }
        }
    }
    Ok(())
}

async fn post(url: &str, headers: &[(String, String)], body: String) -> Result<u16> {
    let (authority, path) = split_url(url)?;
    let stream = TcpStream::connect(&authority).await?;
    let (mut send, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("host", authority)
        .header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = send
        .send_request(req.body(Full::new(Bytes::from(body)))?)
        .await?;
    let status = resp.status().as_u16();
    resp.into_body().collect().await?;
    Ok(status)
}

/// `--writes` submissions (players `<prefix>-<i>`) `--interval-ms` apart, each one's version read
/// from Redis after it: (version, when the write was sent). Then a few seconds for the last
/// write's events to arrive.
async fn make_writes(
    a: &Args,
    redis: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
) -> Result<Vec<(i64, Instant)>> {
    let mut writes = Vec::new();
    for i in 0..a.writes {
        let sent = Instant::now();
        let body = format!(
            r#"{{"player":"{prefix}-{i}","score":{}}}"#,
            1_000_000_000 + i
        );
        let status = post(&a.scores_url, &a.headers, body).await?;
        if !(200..300).contains(&status) {
            bail!("a write answered {status}");
        }
        let version: i64 = redis::cmd("GET")
            .arg(&a.version_key)
            .query_async(redis)
            .await?;
        writes.push((version, sent));
        tokio::time::sleep(a.interval.saturating_sub(sent.elapsed())).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    Ok(writes)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let a = parse_args()?;
    if let Some(push) = &a.push {
        return push::run(&a, push).await;
    }
    let client_redis = redis::Client::open(a.redis.as_str())?;
    let mut redis = client_redis.get_multiplexed_async_connection().await?;
    let seen: Vec<Arc<Mutex<Seen>>> = (0..a.clients).map(|_| Arc::default()).collect();
    let tasks: Vec<_> = seen
        .iter()
        .map(|s| tokio::spawn(client(a.url.clone(), Arc::clone(s))))
        .collect();

    // Until every client has its snapshot (or the connect deadline).
    let deadline = Instant::now() + Duration::from_secs(a.connect_secs);
    let connected = loop {
        let n = seen.iter().filter(|s| s.lock().unwrap().snapshot).count();
        if n == a.clients || Instant::now() >= deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let writes = make_writes(&a, &mut redis, "live").await?;

    let mut delays = Vec::new();
    let mut complete = 0;
    for s in &seen {
        let s = s.lock().unwrap();
        if !s.snapshot {
            continue;
        }
        let mut all = true;
        for (version, sent) in &writes {
            match s.arrivals.get(version) {
                Some(at) => delays.push(at.duration_since(*sent).as_secs_f64() * 1000.0),
                None => all = false,
            }
        }
        complete += usize::from(all);
    }
    for t in tasks {
        t.abort();
    }
    delays.sort_by(f64::total_cmp);
    println!(
        "{}",
        serde_json::json!({
            "clients": a.clients,
            "connected": connected,
            "complete": complete,
            "writes": a.writes,
            "events": delays.len(),
            "p50_ms": percentile(&delays, 50.0),
            "p99_ms": percentile(&delays, 99.0),
            "max_ms": delays.last().copied().unwrap_or(f64::NAN),
        })
    );
    Ok(())
}
