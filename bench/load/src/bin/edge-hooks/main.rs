//! `edge-hooks`: a webhook receiver for `scripts/bench.sh`. Listens on a loopback port, answers
//! every POST `204`, and for each message measures the delay from the event (the body's
//! `timestamp`: when the score was accepted) to its arrival. Stops once it has `--expect`
//! distinct `webhook-id`s or after `--timeout-secs`, and prints one JSON line: messages received
//! (and distinct), deliveries per second between the first and the last arrival, and the delay's
//! p50/p99/max.
//!
//! ```text
//! edge-hooks --port P --expect N [--timeout-secs 120] [--ready-file F]
//! ```

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[derive(Default)]
struct Seen {
    ids: HashSet<String>,
    received: u64,
    delays_ms: Vec<f64>,
    first_ms: Option<f64>,
    last_ms: f64,
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1e3)
        .unwrap_or(0.0)
}

async fn receive(
    seen: Arc<Mutex<Seen>>,
    req: Request<Incoming>,
) -> Result<Response<Empty<Bytes>>, Infallible> {
    let id = req
        .headers()
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let at = now_ms();
    let event_ms = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["timestamp"].as_str().map(str::to_string))
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.timestamp_millis() as f64);
    let mut s = seen.lock().unwrap_or_else(|e| e.into_inner());
    s.received += 1;
    if s.ids.insert(id) {
        if let Some(e) = event_ms {
            s.delays_ms.push(at - e);
        }
        s.first_ms.get_or_insert(at);
        s.last_ms = at;
    }
    let mut resp = Response::new(Empty::new());
    *resp.status_mut() = http::StatusCode::NO_CONTENT;
    Ok(resp)
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied()
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut port = None;
    let mut expect = None;
    let mut timeout = 120u64;
    let mut ready = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--port" => port = Some(value()?.parse::<u16>()?),
            "--expect" => expect = Some(value()?.parse::<usize>()?),
            "--timeout-secs" => timeout = value()?.parse()?,
            "--ready-file" => ready = Some(value()?),
            other => bail!("unknown argument {other}"),
        }
    }
    let (Some(port), Some(expect)) = (port, expect) else {
        bail!("usage: edge-hooks --port P --expect N [--timeout-secs S] [--ready-file F]");
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    if let Some(f) = ready {
        std::fs::write(f, "ready")?;
    }
    let seen = Arc::new(Mutex::new(Seen::default()));
    let accept_seen = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = Arc::clone(&accept_seen);
            tokio::spawn(async move {
                let service = service_fn(move |req| receive(Arc::clone(&seen), req));
                let _closed = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    while tokio::time::Instant::now() < deadline {
        if seen.lock().unwrap_or_else(|e| e.into_inner()).ids.len() >= expect {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = seen.lock().unwrap_or_else(|e| e.into_inner());
    let mut delays = s.delays_ms.clone();
    delays.sort_by(f64::total_cmp);
    let span = s.first_ms.map(|f| (s.last_ms - f) / 1e3).unwrap_or(0.0);
    let round = |v: Option<f64>| v.map(|x| (x * 10.0).round() / 10.0);
    println!(
        "{}",
        serde_json::json!({
            "expected": expect,
            "received": s.received,
            "distinct": s.ids.len(),
            "complete": s.ids.len() >= expect,
            "deliveries_per_s": (span > 0.0).then(|| (s.ids.len() as f64 / span).round()),
            "p50_ms": round(percentile(&delays, 0.5)),
            "p99_ms": round(percentile(&delays, 0.99)),
            "max_ms": round(delays.last().copied()),
        })
    );
    Ok(())
}
