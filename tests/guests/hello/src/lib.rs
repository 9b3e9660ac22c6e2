//! `tests/guests/hello`: the framework floor for benchmarks — any request answers
//! `200 hello, world` (text/plain) and does nothing else.

use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(_req: Request) -> Response {
    Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body("hello, world")
        .build()
}
