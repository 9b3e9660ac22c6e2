//! The WASIp3 [`EventSink`]: frames go down a channel whose other end is the response body
//! ([`crate::message::StreamedBody`]) the host reads as the client takes them.

use bytes::Bytes;
use futures::SinkExt;
use futures::channel::mpsc::Sender;
use http_body::Frame;

use super::EventSinkClosed;

/// The body of a streamed answer. On p3 the head has gone before the body runs; each write
/// waits until the host has room for it (the client takes what came before).
pub struct EventSink {
    /// `None`: a body that runs for nothing: every write fails.
    frames: Option<Sender<Frame<Bytes>>>,
    trailers: Vec<(String, Vec<u8>)>,
}

impl EventSink {
    pub(crate) fn new(frames: Sender<Frame<Bytes>>) -> Self {
        Self {
            frames: Some(frames),
            trailers: Vec::new(),
        }
    }

    /// The head has gone with the handler's answer: only whether the client is still there.
    pub fn begin(&mut self) -> Result<(), EventSinkClosed> {
        match &self.frames {
            Some(frames) if !frames.is_closed() => Ok(()),
            _ => Err(EventSinkClosed),
        }
    }

    /// Writes `text` for the client (waits until the host has room for it).
    pub async fn send(&mut self, text: &str) -> Result<(), EventSinkClosed> {
        self.send_bytes(text.as_bytes()).await
    }

    /// [`EventSink::send`] of bytes (a binary stream: Connect's enveloped messages).
    pub async fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), EventSinkClosed> {
        let frames = self.frames.as_mut().ok_or(EventSinkClosed)?;
        frames
            .send(Frame::data(Bytes::copy_from_slice(bytes)))
            .await
            .map_err(|_| EventSinkClosed)
    }

    /// Trailer fields the body ends with (HTTP/2 trailers: gRPC's `grpc-status`). An HTTP/1.1
    /// client gets them only if the host sends a chunked body's trailer section.
    pub fn set_trailers(&mut self, trailers: Vec<(String, Vec<u8>)>) {
        self.trailers = trailers;
    }

    /// Ends the body, with the trailers if any were set.
    pub(crate) async fn finish(mut self) {
        let Some(mut frames) = self.frames.take() else {
            return;
        };
        if self.trailers.is_empty() {
            return;
        }
        let mut fields = http::HeaderMap::new();
        for (name, value) in std::mem::take(&mut self.trailers) {
            match (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_bytes(&value),
            ) {
                (Ok(name), Ok(value)) => {
                    fields.append(name, value);
                }
                _ => eprintln!("stream: invalid trailer {name}"),
            }
        }
        if frames.send(Frame::trailers(fields)).await.is_err() {
            eprintln!("stream: the client left before the trailers");
        }
    }
}
