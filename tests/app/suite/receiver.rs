//! A webhook receiver for the suites: a loopback HTTP/1.1 server that answers each request as
//! its script says (status, `Retry-After`, a delay before answering) and records what it got.
//! It reads a body as plain receivers do: the `Content-Length` bytes, never a chunked body.
//!
//! Its port is [`harness::free_port`]'s: outside the kernel's ephemeral range and never twice in
//! this process, though a suite beside this one (another process) may have held it a moment
//! ago, and whatever still talks to that listener reaches this one. So the hook has a path of
//! its own, which only a subscription made with [`Receiver::url`] knows: anything else (another
//! path, bytes that are no HTTP request) is a stray, answered `404` when it is HTTP, kept apart
//! from what was received and named when a wait gives up. A request for another path that
//! carries a `webhook-id` is a misdirected delivery (the app under test lost the subscription's
//! URL), and [`Receiver::received`] fails the test.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How to answer one request.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub status: u16,
    pub delay: Duration,
    /// A `Retry-After` (seconds) to send.
    pub retry_after: Option<u64>,
}

impl Answer {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            delay: Duration::ZERO,
            retry_after: None,
        }
    }
}

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    /// When it arrived.
    pub at: std::time::Instant,
    /// Its request line (`POST /hook/… HTTP/1.1`).
    pub line: String,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Received {
    /// The body as JSON; panics saying what came when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "a received body is not JSON ({e}): {} {:?} {:?}",
                self.line,
                self.headers,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Answer>,
    fallback: Option<Answer>,
    received: Vec<Received>,
    /// The first line of each stray (a request for another path, or not HTTP).
    strays: Vec<String>,
    /// Deliveries (with a `webhook-id`) for another path: the request line of each.
    misdirected: Vec<String>,
}

/// The running receiver (stops with the test's runtime).
#[derive(Clone)]
pub struct Receiver {
    pub port: u16,
    /// The hook's path: `/hook/` and a random token.
    path: String,
    state: Arc<Mutex<State>>,
}

impl Receiver {
    /// Starts on a free loopback port; answers `200` unless scripted.
    pub async fn start() -> Self {
        use rand_core::RngCore;
        let port = harness::free_port();
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("the receiver cannot listen on {port}: {e}"));
        let path = format!("/hook/{:016x}", rand_core::OsRng.next_u64());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let own = path.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                let own = own.clone();
                tokio::spawn(async move {
                    let request = read_request(&mut socket).await;
                    let answer = {
                        let mut s = state.lock().unwrap();
                        match request {
                            Request::Http {
                                line,
                                headers,
                                body,
                            } if line.split(' ').nth(1) == Some(own.as_str()) => {
                                s.received.push(Received {
                                    at: std::time::Instant::now(),
                                    line,
                                    headers,
                                    body,
                                });
                                s.script
                                    .pop_front()
                                    .or(s.fallback)
                                    .unwrap_or(Answer::status(200))
                            }
                            Request::Http { line, headers, .. }
                                if headers.contains_key("webhook-id") =>
                            {
                                eprintln!("receiver {own}: a misdirected delivery: {line:?}");
                                s.misdirected.push(line);
                                Answer::status(404)
                            }
                            Request::Http { line, .. } => {
                                eprintln!("receiver {own}: a stray: {line:?}");
                                s.strays.push(line);
                                Answer::status(404)
                            }
                            Request::Stray(line) => {
                                eprintln!(
                                    "receiver {own}: bytes that are no HTTP request: {line:?}"
                                );
                                s.strays.push(line);
                                return;
                            }
                            Request::None => return,
                        }
                    };
                    tokio::time::sleep(answer.delay).await;
                    let retry_after = answer
                        .retry_after
                        .map(|s| format!("retry-after: {s}\r\n"))
                        .unwrap_or_default();
                    let head = format!(
                        "HTTP/1.1 {} X\r\ncontent-length: 2\r\n{retry_after}connection: close\r\n\r\nok",
                        answer.status
                    );
                    let _ignored = socket.write_all(head.as_bytes()).await;
                    let _ignored = socket.shutdown().await;
                });
            }
        });
        Self { port, path, state }
    }

    /// The URL of its hook.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.port, self.path)
    }

    /// The first line of each stray so far (a request for another path, or not HTTP).
    pub fn strays(&self) -> Vec<String> {
        self.state.lock().unwrap().strays.clone()
    }

    /// Answers the next requests as given, in order.
    pub fn script(&self, answers: &[Answer]) {
        self.state
            .lock()
            .unwrap()
            .script
            .extend(answers.iter().copied());
    }

    /// Answers every unscripted request so (`None`: 200).
    pub fn always(&self, answer: Option<Answer>) {
        self.state.lock().unwrap().fallback = answer;
    }

    /// What it received so far; panics if a delivery came for another path (the app lost the
    /// subscription's URL).
    pub fn received(&self) -> Vec<Received> {
        // Read under the lock, asserted after it (a panic holding it would poison it for the
        // connections' tasks).
        let (misdirected, received) = {
            let s = self.state.lock().unwrap();
            (s.misdirected.clone(), s.received.clone())
        };
        assert!(
            misdirected.is_empty(),
            "deliveries for another path than {}: {misdirected:?}",
            self.path
        );
        received
    }

    /// Waits until `until` holds of what it received, up to `secs`: what it received then, or
    /// `None` (for a caller that says more of what it waited on).
    pub async fn try_wait_for<F>(&self, secs: u64, until: F) -> Option<Vec<Received>>
    where
        F: Fn(&[Received]) -> bool,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.received();
            if until(&got) {
                return Some(got);
            }
            if tokio::time::Instant::now() >= deadline {
                eprintln!(
                    "receiver: gave up after {secs} s with {} request(s); strays: {:?}",
                    got.len(),
                    self.strays()
                );
                return None;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until `until` holds of what it received, up to `secs` (while `poke` runs between
    /// checks, e.g. a drain call); panics with what it has after that.
    pub async fn wait_for<F, P, Fut>(&self, secs: u64, until: F, mut poke: P) -> Vec<Received>
    where
        F: Fn(&[Received]) -> bool,
        P: FnMut() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.received();
            if until(&got) {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "receiver: condition not met within {secs} s; received {} request(s) (strays: {:?})",
                got.len(),
                self.strays()
            );
            poke().await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// How many bytes a request's head may take before it is taken for a stray.
const MAX_HEAD: usize = 64 * 1024;

/// The next bytes from the client (`None`: it closed, failed, or sent nothing for 10 s).
async fn read_more<'c>(
    socket: &mut tokio::net::TcpStream,
    chunk: &'c mut [u8; 4096],
) -> Option<&'c [u8]> {
    let n = tokio::time::timeout(Duration::from_secs(10), socket.read(chunk))
        .await
        .ok()?
        .ok()?;
    (n > 0).then(|| &chunk[..n])
}

/// What came on a connection.
enum Request {
    /// An HTTP/1.x request: its request line, headers and body.
    Http {
        line: String,
        headers: http::HeaderMap,
        body: Vec<u8>,
    },
    /// Bytes that are no HTTP/1.x request (their first line).
    Stray(String),
    /// Nothing whole: the client closed, failed or went quiet first.
    None,
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Request {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Bytes that end, stop or grow long without a head's end are a stray (a Redis client's
    // commands wait for a reply: they stop).
    let first_line = |buf: &[u8]| {
        let line = buf.split(|b| *b == b'\n').next().unwrap_or_default();
        String::from_utf8_lossy(line).trim_end().to_string()
    };
    let header_end = loop {
        let Some(more) = read_more(socket, &mut chunk).await else {
            return if buf.is_empty() {
                Request::None
            } else {
                Request::Stray(first_line(&buf))
            };
        };
        buf.extend_from_slice(more);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Request::Stray(first_line(&buf));
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let line = head.lines().next().unwrap_or_default().to_string();
    let stray = || Request::Stray(line.clone());
    let mut parts = line.split(' ');
    let (Some(_method), Some(_target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return stray();
    };
    if !version.starts_with("HTTP/1.") {
        return stray();
    }
    let mut headers = http::HeaderMap::new();
    for field in head.lines().skip(1) {
        let Some((k, v)) = field.split_once(':') else {
            return stray();
        };
        let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(k.trim().as_bytes()),
            http::HeaderValue::from_str(v.trim()),
        ) else {
            return stray();
        };
        headers.append(name, value);
    }
    // Like Python's `http.server` and many gateways: the body is the `Content-Length` bytes
    // after the head, and nothing without one (a chunked body is not read), so a delivery that
    // came chunked records an empty body and fails its signature check.
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0);
    let mut body = buf[header_end + 4..].to_vec();
    while body.len() < length {
        let Some(more) = read_more(socket, &mut chunk).await else {
            return Request::None;
        };
        body.extend_from_slice(more);
    }
    body.truncate(length);
    Request::Http {
        line,
        headers,
        body,
    }
}

/// An app with its worker that delivers webhooks to a loopback [`Receiver`] (retried a second
/// apart), the receiver, and the secret of its subscription to `events` at `top_n`.
pub async fn subscribed(events: &[&str], top_n: u32) -> (crate::api::Api, Receiver, String) {
    let mut api = crate::api::start_with(
        &[
            ("webhook_allow_private", "127.0.0.1"),
            ("webhook_allowed_hosts", "http://127.0.0.1:*"),
            ("webhook_retry_schedule", "1s,1s,1s"),
        ],
        edge_host::HostConfig::default(),
    )
    .await;
    api.start_worker().await;
    let receiver = Receiver::start().await;
    let sub = api
        .call(
            reqwest::Method::POST,
            "/api/v1/webhooks",
            Some(&crate::api::admin()),
            Some(serde_json::json!({"url": receiver.url(), "events": events, "top_n": top_n})),
            &[],
        )
        .await;
    assert_eq!(sub.status, 201, "{}", sub.body);
    let secret = sub.body["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("no secret in {}", sub.body))
        .to_string();
    (api, receiver, secret)
}
