//! The WASIp2 adapter (spin-sdk 5.2): the request from Spin's `wasi:http@0.2` types, the response
//! written to the body's output stream ([`send`]), a stream's body run to its end before the
//! handler returns.

use spin_sdk::http::{OutgoingBody, OutgoingResponse, ResponseOutparam};

use super::{head, reparse, secure};
use crate::http::{Call, Method, Request, Response};
use crate::stream::{EventSink, Reply};

/// Runs a handler and hands its response to the host: a whole one in one piece (see [`send`]),
/// with CORS from the component's `cors_allowed_origins` variable, the access log unless
/// `request_log` is `off`, and HSTS when `hsts_max_age_secs` is set; for a stream
/// ([`Reply::Stream`]) the head through the same CORS, headers, access log and metrics
/// (compression excepted: an event stream is sent as written), then the handler's body writes to
/// the client until it returns. The body gets the request parsed anew.
///
/// The request is served in a scope of its own ([`crate::scope::scoped`]): what its layers note
/// for each other is its own, whatever else the instance serves meanwhile.
pub async fn serve_streaming(
    req: spin_sdk::http::Request,
    out: ResponseOutparam,
    handler: impl AsyncFnOnce(&Call<'_>) -> leaderboard::Result<Reply>,
) {
    crate::scope::scoped(serve_in_scope(req, out, handler)).await;
}

async fn serve_in_scope(
    req: spin_sdk::http::Request,
    out: ResponseOutparam,
    handler: impl AsyncFnOnce(&Call<'_>) -> leaderboard::Result<Reply>,
) {
    let req = match from_spin(req) {
        Ok(req) => req,
        Err(refused) => return send(*refused, out),
    };
    let (head, body) = head(&req, handler).await;
    let Some(writer) = body else {
        return send(head, out);
    };
    let Some(call) = reparse(&req) else {
        return send(head, out);
    };
    let Some((head, outgoing_body, stream)) = open(head) else {
        // The body still runs, on a closed sink: it gives back what it holds.
        writer(&call, &mut EventSink::closed()).await;
        return;
    };
    let mut sink = EventSink::new(stream, out, head);
    writer(&call, &mut sink).await;
    sink.finish(outgoing_body);
}

/// spin-sdk 5.2's request (WASIp2) as the [`Request`] handlers see, its body moved, not copied.
/// One the `http` crate refuses gets a `400` problem ([`refused`]).
fn from_spin(req: spin_sdk::http::Request) -> Result<Request, Box<Response>> {
    let path = req.path().to_string();
    let method =
        Method::from_bytes(req.method().to_string().as_bytes()).map_err(|e| refused(e, &path))?;
    let mut builder = ::http::Request::builder()
        .method(method)
        .uri(req.path_and_query().unwrap_or(&path));
    for (name, value) in req.headers() {
        builder = builder.header(name, value.as_bytes());
    }
    builder.body(req.into_body()).map_err(|e| refused(e, &path))
}

/// The host's form of a response, its body and the body's output stream (`None`, logged, when
/// the response cannot be converted).
fn open(
    response: Response,
) -> Option<(
    OutgoingResponse,
    OutgoingBody,
    wasi::io::streams::OutputStream,
)> {
    let headers: Vec<(String, Vec<u8>)> = response
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_string(), value.as_bytes().to_vec()))
        .collect();
    let fields = spin_sdk::http::Fields::from_list(&headers)
        .map_err(|e| eprintln!("response: the host refused its headers: {e:?}"))
        .ok()?;
    let outgoing = OutgoingResponse::new(fields);
    outgoing
        .set_status_code(response.status().as_u16())
        .map_err(|()| eprintln!("response: the host refused status {}", response.status()))
        .ok()?;
    let body = outgoing
        .body()
        .map_err(|()| eprintln!("response: body already taken"))
        .ok()?;
    let stream = body
        .write()
        .map_err(|()| eprintln!("response: body stream already taken"))
        .ok()?;
    Some((outgoing, body, stream))
}

/// Hands a response to the host with its whole body already written and finished, and a
/// `Content-Length`.
///
/// spin-sdk's default path sets the response (the host may now write the status line and headers
/// to the socket) and only then writes the body. Spin does not set `TCP_NODELAY`, so when the host
/// writes the headers before the body arrives, Nagle's algorithm holds the body segment until the
/// client acknowledges the headers, and a client with delayed ACKs waits ~40 ms to do so: every
/// keep-alive response stalls. Writing the body first means the host sees headers, body and its end
/// at once and sends them in one segment. A body the host's buffer cannot take whole (more than
/// one of its chunks, 1 MiB) is finished after the response is set instead, without stalling.
pub fn send(mut response: Response, out: ResponseOutparam) {
    let body = std::mem::take(response.body_mut());
    super::set_length(&mut response, body.len());
    let Some((outgoing, outgoing_body, stream)) = open(response) else {
        return;
    };
    // Write what the host can buffer now; when it can take no more, set the response (the host
    // starts sending) and wait for room for the rest.
    let mut rest: &[u8] = &body;
    let mut pending = Some((out, outgoing));
    while !rest.is_empty() {
        let room = match stream.check_write() {
            Ok(n) => usize::try_from(n).unwrap_or(usize::MAX),
            Err(_) => return, // the client has gone
        };
        if room == 0 {
            match pending.take() {
                Some((out, outgoing)) => ResponseOutparam::set(out, outgoing),
                None => stream.subscribe().block(),
            }
            continue;
        }
        let (now, later) = rest.split_at(room.min(rest.len()));
        if stream.write(now).is_err() {
            return;
        }
        rest = later;
    }
    drop(stream);
    if OutgoingBody::finish(outgoing_body, None).is_err() {
        eprintln!("response: body length does not match content-length");
    }
    if let Some((out, outgoing)) = pending {
        ResponseOutparam::set(out, outgoing);
    }
}

/// A request the `http` crate refuses (the host passes only valid requests, so it is not
/// expected): a `400` problem for its path.
fn refused(what: impl std::fmt::Display, path: &str) -> Box<Response> {
    let e = leaderboard::LeaderboardError::InvalidBody(format!(
        "the request's method, target or headers cannot be read: {what}"
    ));
    Box::new(secure(crate::http::problem(&e, path, None)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::from_spin;
    use crate::http::{Headers, Method};

    #[test]
    fn a_spin_request_reads_the_same_as_the_http_request_it_becomes() {
        let mut b = spin_sdk::http::Request::builder();
        b.method(spin_sdk::http::Method::Other("PURGE".into()))
            .uri("http://localhost:3000/api/v1/boards/b?limit=5&x=%20")
            .header("X-Tenant", "acme")
            .header("spin-path-match-board", "b")
            .body(b"{}".to_vec());
        let req = from_spin(b.build()).unwrap();
        assert_eq!(req.method(), Method::from_bytes(b"PURGE").unwrap());
        assert_eq!(req.uri().path(), "/api/v1/boards/b");
        assert_eq!(req.uri().query(), Some("limit=5&x=%20"));
        assert_eq!(req.header("x-tenant"), Some("acme"));
        assert_eq!(req.header("Spin-Path-Match-Board"), Some("b"));
        assert_eq!(req.body().as_slice(), b"{}");

        let mut b = spin_sdk::http::Request::builder();
        b.method(spin_sdk::http::Method::Get).uri("/");
        let req = from_spin(b.build()).unwrap();
        assert_eq!((req.method(), req.uri().path()), (&Method::GET, "/"));
        assert!(req.body().is_empty());
    }

    #[test]
    fn a_request_the_http_crate_refuses_is_a_400_problem() {
        let mut b = spin_sdk::http::Request::builder();
        b.method(spin_sdk::http::Method::Get)
            .uri("/x")
            .header("bad header name", "v");
        let refused = from_spin(b.build()).map(|_| ()).unwrap_err();
        assert_eq!(refused.status().as_u16(), 400);
        assert_eq!(
            refused.header("content-type"),
            Some(leaderboard::PROBLEM_CONTENT_TYPE)
        );
    }
}
