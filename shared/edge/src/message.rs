//! The request and response types handlers see: the `http` crate's, whatever the runtime's SDK
//! speaks. A WASIp2 component's entry converts spin-sdk 5.2's request to a [`Request`] and its
//! [`Response`] back ([`crate::serve`]); spin-sdk 6.0 (WASIp3) speaks these types itself.
//!
//! Headers are read and set by name as text ([`Headers`]); a response is built with
//! [`ResponseBuilder`], which never fails: a status outside `100..=999` or a header name or value
//! the `http` crate refuses (a control character) is a bug of ours, logged and answered as a `500`
//! (the status) or left out (the header), never a panic.

pub use ::http::Method;

/// A request, its body read whole.
pub type Request = ::http::Request<Vec<u8>>;

/// A response, its body whole (a streamed answer is [`crate::stream::Reply::Stream`]).
pub type Response = ::http::Response<Vec<u8>>;

/// Header fields by name, as text.
pub trait Headers {
    /// A header's value, if present and UTF-8: the last of several, as spin-sdk 5.2 kept it.
    fn header(&self, name: &str) -> Option<&str>;
    /// Sets a header, replacing any of the same name (an invalid name or value is logged and
    /// left out).
    fn set_header(&mut self, name: &str, value: impl AsRef<str>);
}

fn header_of<'a>(headers: &'a ::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(name)
        .iter()
        .next_back()
        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
}

fn set_header_in(headers: &mut ::http::HeaderMap, name: &str, value: &str) {
    match (
        ::http::HeaderName::from_bytes(name.as_bytes()),
        // Any bytes but controls, as spin-sdk 5.2 took them (a UTF-8 value included).
        ::http::HeaderValue::from_bytes(value.as_bytes()),
    ) {
        (Ok(name), Ok(value)) => {
            headers.insert(name, value);
        }
        _ => eprintln!("response: header {name:?} left out: its name or value is not valid"),
    }
}

impl<B> Headers for ::http::Request<B> {
    fn header(&self, name: &str) -> Option<&str> {
        header_of(self.headers(), name)
    }
    fn set_header(&mut self, name: &str, value: impl AsRef<str>) {
        set_header_in(self.headers_mut(), name, value.as_ref());
    }
}

impl<B> Headers for ::http::Response<B> {
    fn header(&self, name: &str) -> Option<&str> {
        header_of(self.headers(), name)
    }
    fn set_header(&mut self, name: &str, value: impl AsRef<str>) {
        set_header_in(self.headers_mut(), name, value.as_ref());
    }
}

/// Builds a [`Response`]: `ResponseBuilder::new(200).header("a", "b").body(bytes)`.
#[derive(Debug)]
pub struct ResponseBuilder {
    response: Response,
}

impl ResponseBuilder {
    /// A response of `status` (`500`, logged, when it is no HTTP status).
    pub fn new(status: u16) -> Self {
        let mut response = Response::new(Vec::new());
        *response.status_mut() = ::http::StatusCode::from_u16(status).unwrap_or_else(|_| {
            eprintln!("response: {status} is no HTTP status; answering 500");
            ::http::StatusCode::INTERNAL_SERVER_ERROR
        });
        Self { response }
    }

    /// Adds a header field (replacing one of the same name).
    pub fn header(mut self, name: &str, value: impl AsRef<str>) -> Self {
        self.response.set_header(name, value);
        self
    }

    /// Adds header fields, in order (a later one replaces an earlier one of the same name).
    pub fn headers<K: AsRef<str>, V: AsRef<str>>(
        mut self,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        for (name, value) in fields {
            self.response.set_header(name.as_ref(), value);
        }
        self
    }

    /// The response with `body`.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Response {
        *self.response.body_mut() = body.into();
        self.response
    }

    /// The response without a body.
    pub fn empty(self) -> Response {
        self.response
    }
}

/// A response of `status` with `body` and no header.
pub fn response(status: u16, body: impl Into<Vec<u8>>) -> Response {
    ResponseBuilder::new(status).body(body)
}

/// A WASIp3 message body (a response's, or an outgoing request's): whole, or the frames a
/// stream's body writes (`crate::stream::EventSink`).
#[cfg(feature = "p3")]
pub enum StreamedBody {
    /// The whole body (`None` once given to the host).
    Whole(Option<bytes::Bytes>),
    /// The frames written so far; ends when the writer finishes or goes.
    Stream(futures::channel::mpsc::Receiver<http_body::Frame<bytes::Bytes>>),
}

#[cfg(feature = "p3")]
impl http_body::Body for StreamedBody {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        match self.get_mut() {
            Self::Whole(body) => {
                std::task::Poll::Ready(body.take().map(|b| Ok(http_body::Frame::data(b))))
            }
            Self::Stream(frames) => futures::Stream::poll_next(std::pin::Pin::new(frames), cx)
                .map(|frame| frame.map(Ok)),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Self::Whole(None))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            Self::Whole(body) => {
                http_body::SizeHint::with_exact(body.as_ref().map_or(0, |b| b.len() as u64))
            }
            Self::Stream(_) => http_body::SizeHint::default(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_set_by_name_and_bad_ones_left_out() {
        let r = ResponseBuilder::new(201)
            .header("content-type", "application/json")
            .header("x-a", "1")
            .header("x-a", "2")
            .header("bad name", "v")
            .header("x-b", "line\nbreak")
            .header("x-c", "Zoë")
            .body("{}");
        assert_eq!(r.status().as_u16(), 201);
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(r.header("x-a"), Some("2"));
        assert_eq!(r.header("x-c"), Some("Zoë"));
        assert_eq!(r.headers().len(), 3);
        assert_eq!(r.body(), b"{}");
    }

    #[test]
    fn a_repeated_request_header_reads_as_its_last_value() {
        let req = ::http::Request::builder()
            .header("X-Tenant", "first")
            .header("x-tenant", "last")
            .header("x-bytes", &b"\xff"[..])
            .body(Vec::<u8>::new())
            .unwrap();
        assert_eq!(req.header("x-tenant"), Some("last"));
        assert_eq!(req.header("X-TENANT"), Some("last"));
        assert_eq!(req.header("x-bytes"), None, "not UTF-8");
        assert_eq!(req.header("x-absent"), None);
        let r = ResponseBuilder::new(200)
            .headers([("a", "1"), ("b", "2"), ("a", "3")])
            .empty();
        assert_eq!((r.header("a"), r.header("b")), (Some("3"), Some("2")));
    }

    #[test]
    fn a_status_that_is_no_http_status_answers_500() {
        assert_eq!(ResponseBuilder::new(42).empty().status().as_u16(), 500);
        assert_eq!(response(204, Vec::new()).status().as_u16(), 204);
    }
}
