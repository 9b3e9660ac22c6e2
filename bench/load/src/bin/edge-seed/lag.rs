//! Submit→visible lag of an `async` board: submit a score for a fresh player (`202 Accepted`:
//! queued in the inbox), then poll `GET …/players/{player}` until it answers `200` (the projector
//! applied it), one sample after the other over one keep-alive connection.
//!
//! A sample's lag runs from sending the submission to receiving the first `200`; a sample that is
//! not visible within the timeout counts as timed out. Loopback only, bounded in samples and time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpStream;

/// Pause between two polls of the same sample.
const POLL_PAUSE: Duration = Duration::from_millis(1);

/// What to measure.
#[derive(Debug, Clone)]
pub struct LagPlan {
    pub addr: SocketAddr,
    /// `host:port` for the `Host` header.
    pub authority: String,
    pub board: String,
    /// Bearer token allowed to submit.
    pub token: String,
    pub samples: u32,
    /// Per-sample visibility timeout.
    pub timeout: Duration,
}

/// The measured lags.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LagReport {
    pub board: String,
    pub samples: u32,
    /// Samples that became visible in time.
    pub visible: u32,
    pub timed_out: u32,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// The nearest-rank `p`-th percentile of an ascending slice, in ms rounded to µs.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = ((p / 100.0 * n as f64).ceil() as usize).clamp(1, n);
    sorted
        .get(rank - 1)
        .map(|d| (d.as_secs_f64() * 1e6).round() / 1e3)
}

impl LagReport {
    /// Summarises the lags of the visible samples.
    pub fn new(board: &str, samples: u32, mut lags: Vec<Duration>) -> Self {
        lags.sort_unstable();
        let visible = u32::try_from(lags.len()).unwrap_or(u32::MAX);
        Self {
            board: board.to_string(),
            samples,
            visible,
            timed_out: samples.saturating_sub(visible),
            p50_ms: percentile_ms(&lags, 50.0),
            p99_ms: percentile_ms(&lags, 99.0),
            max_ms: percentile_ms(&lags, 100.0),
        }
    }
}

/// One keep-alive HTTP/1.1 connection, made again after an error.
pub struct Client {
    addr: SocketAddr,
    authority: String,
    conn: Option<SendRequest<Full<Bytes>>>,
}

impl Client {
    /// A client of `addr` (`authority` for the `Host` header); it connects on first use.
    pub fn new(addr: SocketAddr, authority: String) -> Self {
        Self {
            addr,
            authority,
            conn: None,
        }
    }

    /// Sends one request with a JSON body and an optional bearer token; its status (the body
    /// is read and dropped).
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: String,
    ) -> Result<StatusCode> {
        if self.conn.as_ref().is_none_or(SendRequest::is_closed) {
            let stream = TcpStream::connect(self.addr)
                .await
                .with_context(|| format!("connecting to {}", self.addr))?;
            stream.set_nodelay(true)?;
            let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move { connection.await.ok() });
            self.conn = Some(sender);
        }
        let Some(sender) = self.conn.as_mut() else {
            bail!("no connection");
        };
        sender.ready().await.context("connection not ready")?;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.authority.as_str())
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let resp = sender
            .send_request(req.body(Full::new(Bytes::from(body)))?)
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                self.conn = None;
                return Err(e).context("sending request");
            }
        };
        let status = resp.status();
        resp.into_body().collect().await.context("reading body")?;
        Ok(status)
    }
}

/// Runs the samples (players `lag<run>-<k>`, `run` from the wall clock so reruns use fresh
/// players).
pub async fn measure(plan: &LagPlan) -> Result<LagReport> {
    let mut client = Client::new(plan.addr, plan.authority.clone());
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let submit = format!("/api/v1/boards/{}/scores", plan.board);
    let mut lags = Vec::new();
    for k in 0..plan.samples {
        let player = format!("lag{run}-{k}");
        let read = format!("/api/v1/boards/{}/players/{player}", plan.board);
        let body = serde_json::json!({ "player": player, "score": k + 1 }).to_string();
        let started = Instant::now();
        let status = client
            .send(Method::POST, &submit, Some(&plan.token), body)
            .await?;
        if status != StatusCode::ACCEPTED {
            bail!("submitting for {player} answered {status}, expected 202 (is the board async?)");
        }
        loop {
            let status = client
                .send(Method::GET, &read, Some(&plan.token), String::new())
                .await?;
            if status == StatusCode::OK {
                lags.push(started.elapsed());
                break;
            }
            if status != StatusCode::NOT_FOUND {
                bail!("reading {player} answered {status}");
            }
            if started.elapsed() >= plan.timeout {
                eprintln!("edge-seed: {player} not visible after {:?}", plan.timeout);
                break;
            }
            tokio::time::sleep(POLL_PAUSE).await;
        }
    }
    Ok(LagReport::new(&plan.board, plan.samples, lags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_counts_timeouts_and_takes_nearest_rank_percentiles() {
        let lags: Vec<Duration> = (1..=10).rev().map(Duration::from_millis).collect();
        let r = LagReport::new("b", 12, lags);
        assert_eq!((r.visible, r.timed_out), (10, 2));
        assert_eq!(r.p50_ms, Some(5.0));
        assert_eq!(r.p99_ms, Some(10.0));
        assert_eq!(r.max_ms, Some(10.0));
        let none = LagReport::new("b", 3, Vec::new());
        assert_eq!((none.visible, none.timed_out, none.p50_ms), (0, 3, None));
    }

    #[test]
    fn percentiles_round_to_microseconds() {
        let lags = [Duration::from_micros(1_234_567)];
        assert_eq!(percentile_ms(&lags, 50.0), Some(1234.567));
    }
}
