//! The I/O side: `concurrency` workers, each with one HTTP/1.1 keep-alive connection and one
//! request in flight, until the phase's request cap or deadline.
//!
//! A request's latency runs from handing it to an established connection to the last byte of the
//! response body; connecting (first use, or after an error) is not part of it. A worker stops
//! starting requests at the deadline; requests still in flight get [`GRACE`] more to finish, after
//! which they count as errors, so every phase ends by itself.
//!
//! A body containing [`SEQ_PLACEHOLDER`] gets it replaced by the request's sequence number within
//! the phase (0, 1, 2, …), so e.g. every score submission can name a different player.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::args::Target;
use crate::summary::Tally;

/// How long in-flight requests may run past a phase's deadline.
pub const GRACE: Duration = Duration::from_secs(5);
/// Replaced in the body by the request's 0-based sequence number within its phase.
pub const SEQ_PLACEHOLDER: &str = "{seq}";
/// Pause after a failed request, so a dead server does not turn into a busy loop.
const ERROR_PAUSE: Duration = Duration::from_millis(10);

/// What every request of a run looks like.
#[derive(Debug, Clone)]
pub struct RequestPlan {
    /// The resolved loopback address.
    pub addr: SocketAddr,
    pub method: Method,
    pub path_and_query: String,
    /// Headers sent with every request (`Host` included).
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The body as text when it contains [`SEQ_PLACEHOLDER`] (then built per request).
    body_template: Option<String>,
}

impl RequestPlan {
    /// Builds the plan for `target`, adding `Host` unless the caller set one.
    pub fn new(
        addr: SocketAddr,
        target: &Target,
        method: Method,
        mut headers: HeaderMap,
        body: Bytes,
    ) -> Result<Self> {
        if !headers.contains_key(header::HOST) {
            headers.insert(header::HOST, target.authority.parse()?);
        }
        let body_template = std::str::from_utf8(&body)
            .ok()
            .filter(|s| s.contains(SEQ_PLACEHOLDER))
            .map(str::to_string);
        Ok(Self {
            addr,
            method,
            path_and_query: target.path_and_query.clone(),
            headers,
            body,
            body_template,
        })
    }

    /// The body of request number `seq`.
    pub fn body_for(&self, seq: u64) -> Bytes {
        match &self.body_template {
            Some(t) => Bytes::from(t.replace(SEQ_PLACEHOLDER, &seq.to_string())),
            None => self.body.clone(),
        }
    }

    fn request(&self, seq: u64) -> Result<Request<Full<Bytes>>> {
        let mut req = Request::builder()
            .method(self.method.clone())
            .uri(self.path_and_query.as_str())
            .body(Full::new(self.body_for(seq)))?;
        *req.headers_mut() = self.headers.clone();
        Ok(req)
    }
}

/// Resolves the target and keeps only loopback addresses (a `localhost` that resolves elsewhere
/// is refused, too).
pub async fn resolve(target: &Target) -> Result<SocketAddr> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .with_context(|| format!("resolving {}", target.host))?
        .collect();
    match addrs.iter().find(|a| a.ip().is_loopback()) {
        Some(a) => Ok(*a),
        None => bail!(
            "refusing to load {}: it resolves to {addrs:?}, not to a loopback address",
            target.host
        ),
    }
}

/// Live counters of the running phase (read by the progress line).
#[derive(Debug, Default)]
pub struct Counters {
    claimed: AtomicU64,
    /// Requests finished, with or without a response.
    pub done: AtomicU64,
    pub errors: AtomicU64,
    pub non_2xx: AtomicU64,
    /// The first error seen, to explain a non-zero error count.
    pub first_error: Mutex<Option<String>>,
}

impl Counters {
    fn record_error(&self, err: &anyhow::Error) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.done.fetch_add(1, Ordering::Relaxed);
        let mut first = self
            .first_error
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if first.is_none() {
            *first = Some(format!("{err:#}"));
        }
    }
}

/// Runs one phase: at most `cap` requests, started within `duration`.
pub async fn run_phase(
    plan: Arc<RequestPlan>,
    concurrency: usize,
    cap: u64,
    duration: Duration,
    counters: Arc<Counters>,
) -> Tally {
    let start = Instant::now();
    let deadline = start + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let plan = Arc::clone(&plan);
            let counters = Arc::clone(&counters);
            tokio::spawn(worker(plan, cap, deadline, counters))
        })
        .collect();
    let mut tally = Tally::default();
    for w in workers {
        match w.await {
            Ok(latencies) => tally.latencies.extend(latencies),
            Err(e) => counters.record_error(&anyhow::Error::from(e).context("worker task")),
        }
    }
    tally.elapsed = start.elapsed();
    tally.errors = counters.errors.load(Ordering::Relaxed);
    tally.non_2xx = counters.non_2xx.load(Ordering::Relaxed);
    tally
}

async fn worker(
    plan: Arc<RequestPlan>,
    cap: u64,
    deadline: Instant,
    counters: Arc<Counters>,
) -> Vec<Duration> {
    let hard_deadline = deadline + GRACE;
    let mut latencies = Vec::new();
    let mut conn: Option<SendRequest<Full<Bytes>>> = None;
    while Instant::now() < deadline {
        let seq = counters.claimed.fetch_add(1, Ordering::Relaxed);
        if seq >= cap {
            break;
        }
        match tokio::time::timeout_at(hard_deadline, one_request(&plan, seq, &mut conn)).await {
            Ok(Ok((status, latency))) => {
                latencies.push(latency);
                if !status.is_success() {
                    counters.non_2xx.fetch_add(1, Ordering::Relaxed);
                }
                counters.done.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Err(e)) => {
                counters.record_error(&e);
                conn = None;
                tokio::time::sleep(ERROR_PAUSE).await;
            }
            Err(_) => {
                counters.record_error(&anyhow::anyhow!(
                    "request still running {GRACE:?} after the deadline"
                ));
                break;
            }
        }
    }
    latencies
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // A broken connection also fails the pending request, which counts the error.
        connection.await.ok()
    });
    Ok(sender)
}

async fn one_request(
    plan: &RequestPlan,
    seq: u64,
    conn: &mut Option<SendRequest<Full<Bytes>>>,
) -> Result<(StatusCode, Duration)> {
    if conn.as_ref().is_none_or(SendRequest::is_closed) {
        *conn = Some(connect(plan.addr).await?);
    }
    let Some(sender) = conn.as_mut() else {
        bail!("no connection");
    };
    sender.ready().await.context("connection not ready")?;
    let req = plan.request(seq)?;
    let started = Instant::now();
    let resp = sender.send_request(req).await.context("sending request")?;
    let status = resp.status();
    resp.into_body()
        .collect()
        .await
        .context("reading response body")?;
    Ok((status, started.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::parse_target;

    fn plan(body: &str) -> Option<RequestPlan> {
        let target = parse_target("http://127.0.0.1:3000/scores").ok()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], 3000));
        let body = Bytes::from(body.to_string());
        RequestPlan::new(addr, &target, Method::POST, HeaderMap::new(), body).ok()
    }

    #[test]
    fn seq_placeholder_is_replaced_per_request() {
        let p = plan(r#"{"player":"w{seq}","score":{seq}}"#);
        assert_eq!(
            p.as_ref().map(|p| p.body_for(0)),
            Some(Bytes::from(r#"{"player":"w0","score":0}"#))
        );
        assert_eq!(
            p.as_ref().map(|p| p.body_for(41)),
            Some(Bytes::from(r#"{"player":"w41","score":41}"#))
        );
    }

    #[test]
    fn bodies_without_placeholder_are_sent_as_is() {
        let p = plan(r#"{"player":"p1","score":"{se"}"#);
        assert_eq!(
            p.as_ref().map(|p| p.body_for(5)),
            Some(Bytes::from(r#"{"player":"p1","score":"{se"}"#))
        );
        assert_eq!(
            p.as_ref()
                .and_then(|p| p.headers.get(header::HOST).cloned()),
            Some(http::HeaderValue::from_static("127.0.0.1:3000"))
        );
    }
}
