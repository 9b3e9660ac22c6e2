//! `edge-load`: a small HTTP/1.1 keep-alive load generator for benchmarking the host on loopback.
//!
//! `edge-load --url URL [--method GET|POST] [--body STR | --body-file F] [--header 'k: v']...
//!  --concurrency N --requests N --duration-secs S [--warmup-secs S] [--label NAME] [--json]`
//!
//! A body may contain `{seq}`, replaced by each request's 0-based number within its phase (so
//! every submission can name a different player).
//!
//! Every run is bounded in requests and in time and stops by itself; only loopback targets
//! (127.0.0.0/8, ::1, localhost) are accepted. An optional warm-up phase runs first and is
//! discarded. Prints one result line (label, concurrency, requests, errors, non-2xx, req/s, p50,
//! p99 and max latency in ms), or with `--json` the same as one JSON object; progress goes to
//! stderr. Exits non-zero when the measured phase got no response at all.

mod args;
mod client;
mod summary;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;

use crate::args::{BodySource, Options};
use crate::client::{Counters, RequestPlan};
use crate::summary::Summary;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("edge-load: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode> {
    let Some(opts) = args::parse(std::env::args().skip(1))? else {
        println!("{}", args::USAGE);
        return Ok(ExitCode::SUCCESS);
    };
    let body = match &opts.body {
        BodySource::Empty => Bytes::new(),
        BodySource::Inline(s) => Bytes::from(s.clone()),
        BodySource::File(p) => Bytes::from(
            std::fs::read(p).with_context(|| format!("reading --body-file {}", p.display()))?,
        ),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let summary = runtime.block_on(load(&opts, body))?;
    let line = if opts.json {
        summary.json()?
    } else {
        summary.line()
    };
    println!("{line}");
    Ok(if summary.requests > summary.errors {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn load(opts: &Options, body: Bytes) -> Result<Summary> {
    let addr = client::resolve(&opts.target).await?;
    let plan = Arc::new(RequestPlan::new(
        addr,
        &opts.target,
        opts.method.clone(),
        opts.headers.clone(),
        body,
    )?);
    if !opts.warmup.is_zero() {
        phase(opts, &plan, "warm-up", u64::MAX, opts.warmup).await;
    }
    let tally = phase(opts, &plan, "run", opts.requests, opts.duration).await;
    Ok(Summary::new(&opts.label, opts.concurrency, tally))
}

/// Runs one phase with a progress line on stderr.
async fn phase(
    opts: &Options,
    plan: &Arc<RequestPlan>,
    name: &str,
    cap: u64,
    duration: Duration,
) -> summary::Tally {
    let counters = Arc::new(Counters::default());
    let progress = tokio::spawn(progress(
        format!("{} {name}", opts.label),
        Arc::clone(&counters),
        cap,
        duration,
    ));
    let tally = client::run_phase(
        Arc::clone(plan),
        opts.concurrency,
        cap,
        duration,
        Arc::clone(&counters),
    )
    .await;
    progress.abort();
    let tty = std::io::stderr().is_terminal();
    let done = counters.done.load(Ordering::Relaxed);
    eprintln!(
        "{}edge-load: {} {name}: {done} requests in {:.1}s",
        if tty { "\r\x1b[2K" } else { "" },
        opts.label,
        tally.elapsed.as_secs_f64()
    );
    let first_error = counters
        .first_error
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    if let Some(e) = first_error {
        eprintln!("edge-load: first error: {e}");
    }
    tally
}

/// Redraws one stderr line every 200 ms on a terminal, prints a line a second otherwise.
async fn progress(what: String, counters: Arc<Counters>, cap: u64, duration: Duration) {
    let tty = std::io::stderr().is_terminal();
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(if tty { 200 } else { 1000 }));
    tick.tick().await;
    loop {
        tick.tick().await;
        let done = counters.done.load(Ordering::Relaxed);
        let errors = counters.errors.load(Ordering::Relaxed);
        let of = if cap == u64::MAX {
            String::new()
        } else {
            format!("/{cap}")
        };
        let text = format!(
            "edge-load: {what}: {done}{of} requests, {errors} errors, {:.1}/{:.1}s",
            start.elapsed().as_secs_f64(),
            duration.as_secs_f64()
        );
        let mut err = std::io::stderr().lock();
        let written = if tty {
            write!(err, "\r\x1b[2K{text}").and_then(|()| err.flush())
        } else {
            writeln!(err, "{text}")
        };
        if written.is_err() {
            return;
        }
    }
}
