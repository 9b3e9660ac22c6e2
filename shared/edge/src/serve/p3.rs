//! The WASIp3 adapter (spin-sdk 6.0, Spin 4.0.x): the request from spin-sdk's `http` request
//! (its body read whole first), the response handed back as the `http` crate's, and a stream's
//! body written by a task of its own after the head has gone.
//!
//! One instance serves many requests in turn and several at once: every request (and its
//! stream's body) runs in a scope of its own ([`crate::scope::scoped`]).

use spin_sdk::http::body::IncomingBodyExt;

use super::{head, reparse, secure, set_length};
use crate::http::{Call, Request, Response};
use crate::message::StreamedBody;
use crate::stream::{EventSink, Reply};

/// What a p3 entry point answers: the head, and a body that is whole or written over time.
pub type P3Response = http::Response<StreamedBody>;

/// The channel's own buffer for a stream's frames: none beyond the one slot its sender always
/// has (`futures` channels hold `buffer + senders`), so a write waits until the body's reader
/// took the one before: the body runs at most a frame or two ahead of the client.
const STREAM_AHEAD: usize = 0;

/// Serves a request as [`crate::serve`]'s p2 adapter does: the head through CORS, the headers,
/// the access log and the metrics; a whole answer with its `Content-Length`. A stream's head is
/// answered at once and its body runs on in a task of its own (`wasip3::spawn`), in the scope
/// the head was made in, until it returns or the client leaves.
pub async fn serve_streaming(
    req: spin_sdk::http::Request,
    handler: impl AsyncFnOnce(&Call<'_>) -> leaderboard::Result<Reply>,
) -> P3Response {
    crate::scope::scoped(async move {
        let req = match from_spin(req).await {
            Ok(req) => req,
            Err(refused) => return whole(*refused),
        };
        let (head, body) = head(&req, handler).await;
        let Some(writer) = body else {
            return whole(head);
        };
        let (frames, written) = futures::channel::mpsc::channel(STREAM_AHEAD);
        // The body goes on with what the request noted so far (its trace, its settings), as the
        // p2 adapter's does after the head.
        let locals = crate::scope::take();
        spin_sdk::wasip3::spawn(crate::scope::scoped_with(locals, async move {
            let Some(call) = reparse(&req) else {
                return;
            };
            let mut sink = EventSink::new(frames);
            writer(&call, &mut sink).await;
            sink.finish().await;
        }));
        head.map(|_| StreamedBody::Stream(written))
    })
    .await
}

/// A whole response with its `Content-Length`.
fn whole(mut response: Response) -> P3Response {
    let body = std::mem::take(response.body_mut());
    set_length(&mut response, body.len());
    response.map(|_| StreamedBody::Whole(Some(body.into())))
}

/// spin-sdk 6.0's request as the [`Request`] handlers see, its body read whole (as spin-sdk 5.2
/// reads a p2 request's). Its target becomes the path and query alone, as a p2 request's is. A
/// body that cannot be read to its end gets a `400` problem.
async fn from_spin(req: spin_sdk::http::Request) -> Result<Request, Box<Response>> {
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    if let Some(target) = parts.uri.path_and_query().cloned() {
        parts.uri = http::Uri::from(target);
    }
    let body = body.bytes().await.map_err(|e| {
        // The host's words stay in the log (a client that went away mid-body, mostly).
        eprintln!("request: the body of {path} could not be read: {e:?}");
        let e = leaderboard::LeaderboardError::InvalidBody(
            "the request body could not be read to its end".into(),
        );
        Box::new(secure(crate::http::problem(&e, &path, None)))
    })?;
    Ok(Request::from_parts(parts, body.to_vec()))
}
