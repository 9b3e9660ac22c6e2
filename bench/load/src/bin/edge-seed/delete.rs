//! Deleting a big board beside a big keyspace: how long the delete takes, and what everyone else
//! on the same Redis sees meanwhile.
//!
//! Fills the keyspace with `filler` small keys (`filler:<i>`, `MSET` in batches; skipped when
//! the keyspace already holds that many), then starts a probe on its own connection: the top 10
//! of another board (`ZREVRANGE` of its `all` period), one read every millisecond. After a
//! second of the probe alone, it sends the admin's `DELETE` of the board and waits for the answer.
//! The report: the delete's status and time, the keys left under the board's prefix, and the
//! probe's latency percentiles (and error answers, such as `BUSY` while a script holds Redis)
//! before and during the delete. Loopback only; bounded: the filler
//! by [`MAX_FILLER`], the delete by its timeout, the probe by the delete.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use http::{Method, StatusCode};
use serde::Serialize;

use crate::lag::{Client, percentile_ms};
use crate::seed::connect;

/// Most filler keys.
pub const MAX_FILLER: u64 = 50_000_000;
/// Keys per `MSET`, and `MSET`s per pipelined round trip.
const FILL_BATCH: u64 = 1_000;
const FILL_PIPELINE: u64 = 10;
/// The probe's pause between reads.
const PROBE_PAUSE: Duration = Duration::from_millis(1);
/// The probe alone, before the delete.
const BASELINE: Duration = Duration::from_secs(1);

/// What to measure.
#[derive(Debug, Clone)]
pub struct DeletePlan {
    pub redis_url: String,
    pub addr: SocketAddr,
    /// `host:port` for the `Host` header.
    pub authority: String,
    /// The board deleted, and its key prefix (`lb:{t/b}:`).
    pub board: String,
    pub prefix: String,
    /// An admin token of the board's tenant.
    pub token: String,
    /// The probe's sorted set (another board's `all` period).
    pub probe_key: String,
    pub filler: u64,
    pub timeout: Duration,
}

/// One probe read: when it was sent, how long its answer took, and the error Redis answered
/// instead of the ranking, if it did (`BUSY` while a script holds Redis).
type Read = (Instant, Duration, Option<String>);

/// Latency percentiles of the probe's reads in one phase, error answers included.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Probe {
    pub reads: usize,
    /// Reads Redis answered with an error.
    pub errors: usize,
    pub first_error: Option<String>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

impl Probe {
    fn of(reads: Vec<Read>) -> Self {
        let errors = reads.iter().filter(|(_, _, e)| e.is_some()).count();
        let first_error = reads.iter().find_map(|(_, _, e)| e.clone());
        let mut times: Vec<Duration> = reads.into_iter().map(|(_, d, _)| d).collect();
        times.sort_unstable();
        Self {
            reads: times.len(),
            errors,
            first_error,
            p50_ms: percentile_ms(&times, 50.0),
            p99_ms: percentile_ms(&times, 99.0),
            max_ms: percentile_ms(&times, 100.0),
        }
    }
}

/// The measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeleteReport {
    pub board: String,
    /// Keys in Redis when the delete started.
    pub keyspace: u64,
    pub status: u16,
    pub delete_ms: f64,
    /// Keys under the board's prefix after the delete (0: all gone).
    pub keys_left: u64,
    pub probe_before: Probe,
    pub probe_during: Probe,
}

/// Adds `filler:<i>` keys until Redis holds at least `n` keys.
fn fill(con: &mut redis::Connection, n: u64) -> Result<u64> {
    let mut have: u64 = redis::cmd("DBSIZE").query(con)?;
    let mut next = 0u64;
    while have < n {
        let mut pipe = redis::pipe();
        for _ in 0..FILL_PIPELINE {
            let mut mset = redis::cmd("MSET");
            for i in next..next + FILL_BATCH {
                mset.arg(format!("filler:{i}")).arg("x");
            }
            next += FILL_BATCH;
            pipe.add_command(mset).ignore();
        }
        pipe.query::<()>(con)?;
        have = redis::cmd("DBSIZE").query(con)?;
        if next > MAX_FILLER {
            bail!("the keyspace stays under {n} keys after {next} filler keys");
        }
    }
    Ok(have)
}

/// Keys matching `prefix*` (a full `SCAN`).
fn count_under(con: &mut redis::Connection, prefix: &str) -> Result<u64> {
    let mut cursor = 0u64;
    let mut n = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(10_000)
            .query(con)?;
        n += keys.len() as u64;
        cursor = next;
        if cursor == 0 {
            return Ok(n);
        }
    }
}

/// Fills, probes, deletes; see the module docs.
pub fn measure(plan: &DeletePlan) -> Result<DeleteReport> {
    let mut con = connect(&plan.redis_url)?;
    let keyspace = fill(&mut con, plan.filler)?;
    let stop = Arc::new(AtomicBool::new(false));
    let probe = {
        let stop = Arc::clone(&stop);
        let mut con = connect(&plan.redis_url)?;
        let key = plan.probe_key.clone();
        let cap = plan.timeout + BASELINE * 2;
        std::thread::spawn(move || -> Result<Vec<Read>> {
            let begun = Instant::now();
            let mut reads = Vec::new();
            while !stop.load(Ordering::Relaxed) && begun.elapsed() < cap {
                let at = Instant::now();
                let top: redis::RedisResult<Vec<String>> = redis::cmd("ZREVRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(9)
                    .query(&mut con);
                let took = at.elapsed();
                match top {
                    Ok(top) if top.is_empty() => bail!("the probe's board {key} is empty"),
                    Ok(_) => reads.push((at, took, None)),
                    Err(e) if e.is_io_error() => return Err(e).context("the probe's connection"),
                    Err(e) => reads.push((at, took, Some(e.to_string()))),
                }
                std::thread::sleep(PROBE_PAUSE);
            }
            Ok(reads)
        })
    };
    std::thread::sleep(BASELINE);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut client = Client::new(plan.addr, plan.authority.clone());
    let path = format!("/api/v1/boards/{}", plan.board);
    let started = Instant::now();
    let status = runtime.block_on(async {
        tokio::time::timeout(
            plan.timeout,
            client.send(Method::DELETE, &path, Some(&plan.token), String::new()),
        )
        .await
        .context("the delete timed out")?
    });
    let delete = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let reads = probe
        .join()
        .map_err(|_| anyhow::anyhow!("the probe panicked"))??;
    let status = status?;
    if status != StatusCode::NO_CONTENT {
        bail!("DELETE {path} answered {status}, expected 204");
    }
    let (before, during): (Vec<_>, Vec<_>) =
        reads.into_iter().partition(|(at, _, _)| *at < started);
    Ok(DeleteReport {
        board: plan.board.clone(),
        keyspace,
        status: status.as_u16(),
        delete_ms: (delete.as_secs_f64() * 1e6).round() / 1e3,
        keys_left: count_under(&mut con, &plan.prefix)?,
        probe_before: Probe::of(before),
        probe_during: Probe::of(during),
    })
}
