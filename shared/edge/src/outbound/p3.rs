//! [`super::post_all`] on WASIp3 (`wasi:http@0.3` through spin-sdk 6.0's `send`): each request
//! raced against a timer of its own, all of them awaited together, so the instance serves its
//! other requests while the receivers think.

use std::pin::pin;

use futures::future::{Either, join_all, select};
use spin_sdk::wasip3::http::types::{ErrorCode, RequestOptions};
use spin_sdk::wasip3::http_compat::RequestOptionsExtension;

use super::{Answer, Post, Sent};
use crate::message::StreamedBody;

pub(super) async fn post_all(posts: &[Post<'_>], timeout_ms: u64) -> Vec<Sent> {
    let begun = std::time::Instant::now();
    let elapsed = || u64::try_from(begun.elapsed().as_millis()).unwrap_or(u64::MAX);
    join_all(posts.iter().map(async |post| {
        let answer = match request(post, timeout_ms) {
            Ok(request) => {
                crate::scope::count(crate::scope::HostCall::Http);
                let sent = pin!(spin_sdk::http::send(request));
                let timer = pin!(spin_sdk::time::sleep(std::time::Duration::from_millis(
                    timeout_ms
                )));
                match select(sent, timer).await {
                    Either::Left((Ok(response), _)) => {
                        // The body is dropped unread.
                        let retry_after = response
                            .headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<u64>().ok());
                        Answer::Status(response.status().as_u16(), retry_after)
                    }
                    Either::Left((Err(code), _)) => failed(code),
                    Either::Right(((), _)) => Answer::Timeout,
                }
            }
            Err(answer) => answer,
        };
        Sent {
            answer,
            elapsed_ms: elapsed(),
        }
    }))
    .await
}

/// The host's error as an answer: its timeouts are [`Answer::Timeout`].
fn failed(code: ErrorCode) -> Answer {
    match code {
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout => Answer::Timeout,
        other => Answer::Failed(format!("{other:?}")),
    }
}

/// The `POST` with its `Content-Length` and the deadline as its connect, first-byte and
/// between-bytes timeouts (a host that does not support one says so; the timer still holds).
fn request(post: &Post<'_>, timeout_ms: u64) -> Result<http::Request<StreamedBody>, Answer> {
    let mut builder = http::Request::builder()
        .method(match post.verb {
            super::Verb::Post => http::Method::POST,
            super::Verb::Delete => http::Method::DELETE,
        })
        .uri(post.url);
    for (name, value) in super::headers_with_length(post) {
        builder = builder.header(name, value);
    }
    let nanos = timeout_ms.saturating_mul(1_000_000);
    let options = RequestOptions::new();
    let _ignored = (
        options.set_connect_timeout(Some(nanos)),
        options.set_first_byte_timeout(Some(nanos)),
        options.set_between_bytes_timeout(Some(nanos)),
    );
    builder
        .extension(RequestOptionsExtension(options))
        .body(StreamedBody::Whole(Some(post.body.to_vec().into())))
        .map_err(|e| Answer::Failed(format!("invalid request: {e}")))
}
