//! [`super::post_all`] on WASIp2 (`wasi:http@0.2`, as spin-sdk 5.2's `send` takes no request
//! options).

use super::{Answer, Post, Sent};

/// [`super::post_all`] on `wasi:http@0.2`'s outgoing handler: the requests' and timers'
/// pollables waited on together (the instance serves this one request meanwhile).
pub(super) async fn post_all(posts: &[Post<'_>], timeout_ms: u64) -> Vec<Sent> {
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

/// A request whose body is sent, waiting for its response. The pollables are declared before
/// the future: they are its children and must be dropped first.
struct InFlight {
    response: wasi::io::poll::Pollable,
    timer: wasi::io::poll::Pollable,
    future: wasi::http::types::FutureIncomingResponse,
    /// Why the body could not be written to its end, if so. The receiver may still have
    /// answered: one that answers once it has read `Content-Length` bytes can close the
    /// connection before the guest has finished the body, and its answer is what counts.
    body_error: Option<String>,
}

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
    let fields = Fields::from_list(&super::headers_with_length(post))
        .map_err(|e| failed(format!("headers: {e:?}")))?;
    let request = OutgoingRequest::new(fields);
    let bad = |what: &str| failed(format!("invalid {what}"));
    request
        .set_method(&match post.verb {
            super::Verb::Post => Method::Post,
            super::Verb::Delete => Method::Delete,
        })
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
enum BodyError {
    /// The deadline passed while the host took no more bytes.
    Timeout,
    /// The host's stream refused a write, a flush or the finish.
    Failed(String),
}

/// Writes `body` to the request's outgoing body and finishes it, waiting for room at most until
/// `timer`.
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
