//! `edge-live --push URL --own-rank URL`: the pattern docs/api.md gives for a player's own rank
//! beside the push tier, measured. Every viewer is also a player, `own-<n>`, given an entry before
//! the viewers connect; when a state's version moves, the viewer reads its own standing
//! (`GET <own-rank URL>own-<n>`, the app's cache-aside read, no token: the board is public) on a
//! keep-alive connection of its own, in a task of its own (the viewer's socket is read
//! meanwhile), one read at a time, of the latest version. Measured: from each write to each
//! viewer's answer read after that write's state, and how many answers the regional cache gave
//! (`X-Cache: HIT`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use futures::StreamExt;
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::{Args, post, split_url};

/// Entries given to the viewers' players at once.
const SEED_CONCURRENCY: usize = 16;

/// The player viewer `n` is.
fn player(n: usize) -> String {
    format!("own-{n}")
}

/// Gives every viewer's player an entry (scores spread over the board), through the app.
pub async fn seed(a: &Args) -> Result<()> {
    let statuses: Vec<Result<u16>> = futures::stream::iter(0..a.clients)
        .map(|n| {
            let body = format!(
                r#"{{"player":"{}","score":{}}}"#,
                player(n),
                (n * 7919) % 100_000
            );
            async move { post(&a.scores_url, &a.headers, body).await }
        })
        .buffer_unordered(SEED_CONCURRENCY)
        .collect()
        .await;
    for status in statuses {
        let status = status?;
        if !(200..300).contains(&status) {
            bail!("seeding a viewer's player answered {status}");
        }
    }
    Ok(())
}

/// What one viewer's reads of its own standing came to.
#[derive(Default)]
pub struct Reads {
    /// When the answer read after each version's state came.
    pub answered: BTreeMap<i64, Instant>,
    /// Answers the regional cache gave.
    pub hits: u64,
    /// Reads that did not answer `200`, by reason.
    pub failed: BTreeMap<String, u64>,
}

impl Reads {
    /// When the first answer read at `version` or later came.
    pub fn covered(&self, version: i64) -> Option<Instant> {
        self.answered.range(version..).map(|(_, at)| *at).min()
    }
}

/// A viewer's reader of its own standing: its connection to the app, opened at the first read.
pub struct Reader {
    url: String,
    send: Option<http1::SendRequest<Empty<Bytes>>>,
    pub reads: Arc<Mutex<Reads>>,
}

impl Reader {
    /// The reader of viewer `n`, whose player's standing is at `<prefix>own-<n>` (`prefix` ends
    /// in `/`).
    pub fn new(prefix: &str, n: usize) -> Self {
        Self {
            url: format!("{prefix}{}", player(n)),
            send: None,
            reads: Arc::default(),
        }
    }

    /// Reads the standing each time the viewer's version moves (`versions`: the latest one the
    /// viewer saw; versions that came during a read are read once, after it), until the viewer
    /// is gone.
    pub async fn follow(mut self, mut versions: watch::Receiver<i64>) {
        while versions.changed().await.is_ok() {
            let version = *versions.borrow_and_update();
            self.read(version).await;
        }
    }

    /// Reads the standing after the state at `version` came; a failure is counted by its reason,
    /// not raised (the viewer goes on watching).
    async fn read(&mut self, version: i64) {
        match self.get().await {
            Ok((200, hit)) => {
                let mut reads = self.reads.lock().unwrap();
                reads.answered.entry(version).or_insert_with(Instant::now);
                reads.hits += u64::from(hit);
            }
            failed => {
                self.send = None;
                let why = match failed {
                    Ok((status, _)) => format!("answered {status}"),
                    Err(e) => e.to_string(),
                };
                *self.reads.lock().unwrap().failed.entry(why).or_default() += 1;
            }
        }
    }

    async fn get(&mut self) -> Result<(u16, bool)> {
        let (authority, path) = split_url(&self.url)?;
        if self.send.is_none() {
            let stream = TcpStream::connect(&authority).await?;
            stream.set_nodelay(true)?;
            let (send, conn) = http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            self.send = Some(send);
        }
        let send = self.send.as_mut().context("no connection")?;
        let request = Request::builder()
            .uri(path)
            .header("host", authority)
            .body(Empty::<Bytes>::new())?;
        let response = send.send_request(request).await?;
        let status = response.status().as_u16();
        let hit = response
            .headers()
            .get("x-cache")
            .is_some_and(|v| v.as_bytes() == b"HIT");
        response.into_body().collect().await?;
        Ok((status, hit))
    }
}
