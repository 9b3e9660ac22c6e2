//! The WASIp2 [`EventSink`]: writes to the response body's `wasi:io` output stream.

use spin_sdk::http::{OutgoingResponse, ResponseOutparam};
use wasi::io::streams::OutputStream;

use super::EventSinkClosed;

/// The body of a streamed answer. The head is handed to the host with the first write (so head
/// and first event leave together: a head alone would wait for the client's delayed ACK under
/// Nagle, as [`crate::serve::send`] explains), or by [`EventSink::begin`].
pub struct EventSink {
    /// `None`: a body that runs for nothing (its head could not be sent): every write fails.
    stream: Option<OutputStream>,
    pending: Option<(ResponseOutparam, OutgoingResponse)>,
    trailers: Vec<(String, Vec<u8>)>,
}

/// What the host may take in one write (`wasi:io/streams`' `blocking-write-and-flush` limit).
const CHUNK: usize = 4096;

impl EventSink {
    pub(crate) fn new(stream: OutputStream, out: ResponseOutparam, head: OutgoingResponse) -> Self {
        Self {
            stream: Some(stream),
            pending: Some((out, head)),
            trailers: Vec::new(),
        }
    }

    /// A sink whose client is gone before anything was sent: a body run on it ends at its first
    /// write and gives back what it holds (a stream's place, `crate::live::Slot`).
    pub(crate) fn closed() -> Self {
        Self {
            stream: None,
            pending: None,
            trailers: Vec::new(),
        }
    }

    /// Hands the head to the host if it has not been yet (the client sees the stream open).
    pub fn begin(&mut self) -> Result<(), EventSinkClosed> {
        if self.stream.is_none() {
            return Err(EventSinkClosed);
        }
        if let Some((out, head)) = self.pending.take() {
            ResponseOutparam::set(out, head);
        }
        Ok(())
    }

    /// Writes `text` and flushes it to the client (waits until the host took it).
    pub async fn send(&mut self, text: &str) -> Result<(), EventSinkClosed> {
        self.send_bytes(text.as_bytes()).await
    }

    /// [`EventSink::send`] of bytes (a binary stream: Connect's enveloped messages).
    pub async fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), EventSinkClosed> {
        let mut rest = bytes;
        while !rest.is_empty() {
            let room = self
                .stream
                .as_ref()
                .ok_or(EventSinkClosed)?
                .check_write()
                .map_err(|_| EventSinkClosed)?;
            let room = usize::try_from(room).unwrap_or(usize::MAX).min(CHUNK);
            if room == 0 {
                if self.pending.is_some() {
                    self.begin()?;
                } else if let Some(stream) = &self.stream {
                    stream.subscribe().block();
                }
                continue;
            }
            let (now, later) = rest.split_at(room.min(rest.len()));
            self.stream
                .as_ref()
                .ok_or(EventSinkClosed)?
                .write(now)
                .map_err(|_| EventSinkClosed)?;
            rest = later;
        }
        self.begin()?;
        self.stream
            .as_ref()
            .ok_or(EventSinkClosed)?
            .blocking_flush()
            .map_err(|_| EventSinkClosed)
    }

    /// Trailer fields the body ends with (HTTP/2 trailers: gRPC's `grpc-status`). An HTTP/1.1
    /// client gets them only if the host sends a chunked body's trailer section.
    pub fn set_trailers(&mut self, trailers: Vec<(String, Vec<u8>)>) {
        self.trailers = trailers;
    }

    /// Ends the body: the head is sent if it was not, the stream closed and the body finished
    /// (with the trailers, if any were set).
    pub(crate) fn finish(mut self, body: spin_sdk::http::OutgoingBody) {
        if self.begin().is_err() {
            return;
        }
        drop(self.stream);
        let trailers = if self.trailers.is_empty() {
            None
        } else {
            match spin_sdk::http::Trailers::from_list(&self.trailers) {
                Ok(t) => Some(t),
                Err(e) => {
                    eprintln!("stream: invalid trailers: {e:?}");
                    None
                }
            }
        };
        if spin_sdk::http::OutgoingBody::finish(body, trailers).is_err() {
            eprintln!("stream: the body could not be finished");
        }
    }
}
