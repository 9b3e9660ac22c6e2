//! Outbound HTTP to the outside (webhook deliveries): `POST`s with a deadline, on
//! `wasi:http/outgoing-handler` directly, because spin-sdk 5.2's `send` takes no request options.
//!
//! [`post_all`] sends several requests at once and waits on all of them together, so one slow
//! receiver costs a batch its timeout once, not once per message. Spin 4 sets no limit on a
//! guest's concurrent outbound requests by default (its runtime config can).
//!
//! The deadline holds twice: each request carries it as its connect, first-byte and between-bytes
//! timeouts (Spin 4 and wasmtime-wasi-http apply them), and the guest waits on the responses
//! together with a monotonic-clock timer per request, so a host that ignored the options still
//! cannot hold the guest past it. Every request carries `Content-Length` (never a chunked
//! body). A receiver's answer counts even when the host stopped taking the body first (one that
//! answers once it has read `Content-Length` bytes may close before the guest finishes the body).
//! Only the status and `Retry-After` are read; bodies are dropped unread. The host refuses a
//! destination outside the component's `allowed_outbound_hosts` (`HttpRequestDenied`).

/// What the receiver answered, or why there is no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A status and the `Retry-After` seconds, if it sent a number.
    Status(u16, Option<u64>),
    /// Nothing within the deadline.
    Timeout,
    /// The request could not be made (refused by the host, DNS, connection, TLS, protocol).
    Failed(String),
}

/// One `POST` to make.
#[derive(Debug, Clone)]
pub struct Post<'a> {
    /// Absolute `http` or `https` URL.
    pub url: &'a str,
    /// Request headers.
    pub headers: Vec<(&'static str, String)>,
    /// Request body.
    pub body: &'a [u8],
}

/// The answer to one [`Post`] and how long it took (ms, from the batch's start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// What came back.
    pub answer: Answer,
    /// Time until the answer (or the failure).
    pub elapsed_ms: u64,
}

/// Sends every post at once and waits for all of them, each at most `timeout_ms`. The answers
/// are in the posts' order.
#[cfg(target_arch = "wasm32")]
pub fn post_all(posts: &[Post<'_>], timeout_ms: u64) -> Vec<Sent> {
    use wasi::clocks::monotonic_clock;

    let begun = monotonic_clock::now();
    let elapsed = || monotonic_clock::now().saturating_sub(begun) / 1_000_000;
    let mut answers: Vec<Option<Sent>> = vec![None; posts.len()];
    let mut flying: Vec<(usize, InFlight)> = Vec::new();
    for (i, post) in posts.iter().enumerate() {
        match start(post, timeout_ms) {
            Ok(f) => flying.push((i, f)),
            Err(answer) => {
                answers[i] = Some(Sent {
                    answer,
                    elapsed_ms: elapsed(),
                });
            }
        }
    }
    while !flying.is_empty() {
        // Two pollables per request: its response, then its timer.
        let ready = {
            let pollables: Vec<&wasi::io::poll::Pollable> = flying
                .iter()
                .flat_map(|(_, f)| [&f.response, &f.timer])
                .collect();
            wasi::io::poll::poll(&pollables)
        };
        let mut done: Vec<usize> = ready.iter().map(|&r| r as usize / 2).collect();
        done.sort_unstable();
        done.dedup();
        for at in done.into_iter().rev() {
            let (i, f) = flying.swap_remove(at);
            answers[i] = Some(Sent {
                answer: f.answer(),
                elapsed_ms: elapsed(),
            });
        }
    }
    answers
        .into_iter()
        .map(|a| {
            a.unwrap_or(Sent {
                answer: Answer::Failed("not sent".into()),
                elapsed_ms: 0,
            })
        })
        .collect()
}

/// Natively (the benchmark's baseline server) there is no outbound HTTP.
#[cfg(not(target_arch = "wasm32"))]
pub fn post_all(posts: &[Post<'_>], _timeout_ms: u64) -> Vec<Sent> {
    posts
        .iter()
        .map(|_| Sent {
            answer: Answer::Failed("outbound HTTP needs a WebAssembly host".into()),
            elapsed_ms: 0,
        })
        .collect()
}

/// A request whose body is sent, waiting for its response. The pollables are declared before
/// the future: they are its children and must be dropped first.
#[cfg(target_arch = "wasm32")]
struct InFlight {
    response: wasi::io::poll::Pollable,
    timer: wasi::io::poll::Pollable,
    future: wasi::http::types::FutureIncomingResponse,
    /// Why the body could not be written to its end, if so. The receiver may still have
    /// answered: one that answers once it has read `Content-Length` bytes can close the
    /// connection before the guest has finished the body, and its answer is what counts.
    body_error: Option<String>,
}

#[cfg(target_arch = "wasm32")]
impl InFlight {
    /// The answer once its response or its timer is ready.
    fn answer(self) -> Answer {
        if !self.response.ready() {
            return Answer::Timeout;
        }
        match self.future.get() {
            Some(Ok(Ok(response))) => {
                let retry_after = response
                    .headers()
                    .get(&"retry-after".to_string())
                    .first()
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                Answer::Status(response.status(), retry_after)
            }
            // The host's error is the cause; a body that could not be written is context.
            Some(Ok(Err(code))) => match code {
                wasi::http::types::ErrorCode::ConnectionTimeout
                | wasi::http::types::ErrorCode::ConnectionReadTimeout
                | wasi::http::types::ErrorCode::ConnectionWriteTimeout => Answer::Timeout,
                other => Answer::Failed(match self.body_error {
                    Some(body) => format!("{other:?} ({body})"),
                    None => format!("{other:?}"),
                }),
            },
            Some(Err(())) => Answer::Failed("response already taken".into()),
            None => Answer::Timeout,
        }
    }
}

/// Starts one request and sends its body; the answer right away when it cannot be made.
#[cfg(target_arch = "wasm32")]
fn start(post: &Post<'_>, timeout_ms: u64) -> Result<InFlight, Answer> {
    use wasi::http::outgoing_handler;
    use wasi::http::types::{Fields, Method, OutgoingRequest, RequestOptions, Scheme};

    crate::scope::count(crate::scope::HostCall::Http);
    let failed = |e: String| Answer::Failed(e);
    let (scheme, rest) = post
        .url
        .split_once("://")
        .ok_or_else(|| failed("not an absolute URL".into()))?;
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    let path = if path.is_empty() { "/" } else { path };
    // The body's length goes in `Content-Length`: without it the host streams the body
    // chunked, and a receiver that reads `Content-Length` bytes (Python's `http.server`, many
    // gateways) sees an empty body and every signature check fails.
    let fields: Vec<(String, Vec<u8>)> = post
        .headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("content-length"))
        .map(|(k, v)| ((*k).to_string(), v.as_bytes().to_vec()))
        .chain([(
            "content-length".to_string(),
            post.body.len().to_string().into_bytes(),
        )])
        .collect();
    let fields = Fields::from_list(&fields).map_err(|e| failed(format!("headers: {e:?}")))?;
    let request = OutgoingRequest::new(fields);
    let bad = |what: &str| failed(format!("invalid {what}"));
    request
        .set_method(&Method::Post)
        .map_err(|()| bad("method"))?;
    let scheme = match scheme {
        "https" => Scheme::Https,
        "http" => Scheme::Http,
        other => Scheme::Other(other.to_string()),
    };
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| bad("scheme"))?;
    request
        .set_authority(Some(authority))
        .map_err(|()| bad("authority"))?;
    request
        .set_path_with_query(Some(path))
        .map_err(|()| bad("path"))?;
    let outgoing = request
        .body()
        .map_err(|()| failed("body already taken".into()))?;
    let nanos = timeout_ms.saturating_mul(1_000_000);
    let options = RequestOptions::new();
    // A host may not support a timeout (it says so with an error): the timer still holds.
    let _ignored = (
        options.set_connect_timeout(Some(nanos)),
        options.set_first_byte_timeout(Some(nanos)),
        options.set_between_bytes_timeout(Some(nanos)),
    );
    let timer = wasi::clocks::monotonic_clock::subscribe_duration(nanos);
    let future =
        outgoing_handler::handle(request, Some(options)).map_err(|e| failed(format!("{e:?}")))?;
    // From here the request is the host's: a body that cannot be written to its end is
    // reported only if the receiver did not answer (see `InFlight::body_error`).
    let body_error = match write_body(outgoing, post.body, &timer) {
        Ok(()) => None,
        Err(BodyError::Timeout) => return Err(Answer::Timeout),
        Err(BodyError::Failed(e)) => Some(e),
    };
    Ok(InFlight {
        response: future.subscribe(),
        timer,
        future,
        body_error,
    })
}

/// Why a request body was not written to its end.
#[cfg(target_arch = "wasm32")]
enum BodyError {
    /// The deadline passed while the host took no more bytes.
    Timeout,
    /// The host's stream refused a write, a flush or the finish.
    Failed(String),
}

/// Writes `body` to the request's outgoing body and finishes it, waiting for room at most until
/// `timer`.
#[cfg(target_arch = "wasm32")]
fn write_body(
    outgoing: wasi::http::types::OutgoingBody,
    body: &[u8],
    timer: &wasi::io::poll::Pollable,
) -> Result<(), BodyError> {
    let failed = |what: &str, e: &dyn std::fmt::Debug| BodyError::Failed(format!("{what}: {e:?}"));
    {
        let stream = outgoing
            .write()
            .map_err(|()| BodyError::Failed("body stream already taken".into()))?;
        let mut rest = body;
        while !rest.is_empty() {
            let room = stream
                .check_write()
                .map_err(|e| failed("writing the body", &e))?;
            if room == 0 {
                let ready = wasi::io::poll::poll(&[&stream.subscribe(), timer]);
                if !ready.contains(&0) {
                    return Err(BodyError::Timeout);
                }
                continue;
            }
            let n = usize::try_from(room)
                .unwrap_or(usize::MAX)
                .min(rest.len())
                .min(4096);
            stream
                .write(&rest[..n])
                .map_err(|e| failed("writing the body", &e))?;
            rest = &rest[n..];
        }
        match stream.flush() {
            Ok(()) => {}
            // Every byte is queued. With `Content-Length` the host's HTTP client lets go of the
            // body once it has that many bytes, and the stream then reads as closed
            // (wasmtime-wasi-http's `flush`): how the request went is the response's to tell.
            Err(wasi::io::streams::StreamError::Closed) => {}
            Err(e) => return Err(failed("writing the body", &e)),
        }
    }
    wasi::http::types::OutgoingBody::finish(outgoing, None)
        .map_err(|e| failed("finishing the body", &e))
}
