//! `tests/guests/hello`: the framework floor for benchmarks — any request answers
//! `200 hello, world` (text/plain) and does nothing else. The `p2` build (the default) is a
//! spin-sdk 5.2 component; the `p3` build (`scripts/build.sh p3`) a spin-sdk 6.0 one, the floor of
//! the app's p3 build.

#[cfg(all(feature = "p2", feature = "p3"))]
compile_error!("hello: the `p2` and `p3` features select one build each: enable one of them");
#[cfg(not(any(feature = "p2", feature = "p3")))]
compile_error!("hello: enable the `p2` (spin-sdk 5.2) or the `p3` (spin-sdk 6.0) feature");

// The p3 build names its spin-sdk (6.0) `spin_sdk`, as the entry point's macro expects.
#[cfg(feature = "p3")]
extern crate spin_sdk_6 as spin_sdk;

#[cfg(feature = "p2")]
#[spin_sdk::http_component]
fn handle(_req: spin_sdk::http::Request) -> spin_sdk::http::Response {
    spin_sdk::http::Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body("hello, world")
        .build()
}

#[cfg(all(target_arch = "wasm32", feature = "p3"))]
#[spin_sdk::http_service]
async fn handle(
    _req: spin_sdk::http::Request,
) -> (
    spin_sdk::http::StatusCode,
    spin_sdk::http::HeaderMap,
    spin_sdk::http::FullBody<&'static [u8]>,
) {
    let mut headers = spin_sdk::http::HeaderMap::new();
    headers.insert(
        "content-type",
        spin_sdk::http::HeaderValue::from_static("text/plain"),
    );
    (
        spin_sdk::http::StatusCode::OK,
        headers,
        spin_sdk::http::FullBody::new(b"hello, world"),
    )
}
