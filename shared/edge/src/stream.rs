//! Answers whose body is written over time (an event stream): the [`Reply`] a streaming handler
//! gives, and the [`EventSink`] its body writes to. [`crate::serve::serve_streaming`] sends the
//! head through the same CORS, header, log and metrics path as every answer, then runs the body.

use std::pin::Pin;

#[cfg(feature = "p2")]
#[path = "stream/p2.rs"]
mod sink;
#[cfg(feature = "p3")]
#[path = "stream/p3.rs"]
mod sink;

pub use sink::EventSink;

use crate::http::{Call, Response};

/// The work of a streamed body: it may wait on the host (a Redis read, the KV store) between
/// writes.
pub type BodyFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Writes a streamed body; gets the request again (parsed anew: the clock reads the time the
/// body runs): a closure that answers `Box::pin(async move { … })`.
pub type StreamBody = Box<dyn for<'a> FnOnce(&'a Call<'a>, &'a mut EventSink) -> BodyFuture<'a>>;

/// What a handler that may stream answers.
pub enum Reply {
    /// A whole response, sent as every other.
    Whole(Response),
    /// The head (status and headers; no body), then a body written by the function.
    Stream(Response, StreamBody),
}

/// The client has gone (or the host closed the body): nothing more can be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSinkClosed;
