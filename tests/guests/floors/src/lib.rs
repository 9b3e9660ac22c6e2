//! `tests/guests/floors`: the I/O floors for benchmarks. A route of the app can be no faster than
//! the unavoidable host calls it makes, so `scripts/bench.sh` serves these beside the app on the
//! same runtime and prints each route as a ratio to the floor that bounds it:
//!
//! - `GET /kv`: one `get` of the key `floor` from the `default` KV store (what a cached read
//!   needs at the least), answered `200` with the value;
//! - `GET /redis`: one outbound Redis `open` of the variable `redis_url` and one `GET floor`
//!   (what a read that goes to Redis needs at the least), answered the same way.
//!
//! `PUT /kv` stores the request's body as `floor` (the benchmark seeds a value of a cached page's
//! size). Anything else is a `404`; a failing host call a `503` with the error as text.
//!
//! The `p2` build (the default) is a spin-sdk 5.2 component. The `p3` build (`scripts/build.sh
//! p3`, spin-sdk 6.0) makes the same calls through spin-sdk 6.0's async interfaces, and adds
//! `GET /redis-kept`: one `GET floor` on a connection the instance keeps (a p3 instance serves
//! many requests, several at once; like the app's p3 build, each request takes an idle
//! connection for itself alone, and one that failed is dropped).

#[cfg(all(feature = "p2", feature = "p3"))]
compile_error!("floors: the `p2` and `p3` features select one build each: enable one of them");
#[cfg(not(any(feature = "p2", feature = "p3")))]
compile_error!("floors: enable the `p2` (spin-sdk 5.2) or the `p3` (spin-sdk 6.0) feature");

// The p3 build names its spin-sdk (6.0) `spin_sdk`, as the entry point's macro expects.
#[cfg(feature = "p3")]
extern crate spin_sdk_6 as spin_sdk;

#[cfg(feature = "p2")]
mod p2 {
    use spin_sdk::http::{Method, Request, Response};
    use spin_sdk::http_component;

    #[http_component]
    fn handle(req: Request) -> Response {
        let value = match req.path() {
            "/kv" if *req.method() == Method::Put => spin_sdk::key_value::Store::open_default()
                .and_then(|store| store.set("floor", req.body()))
                .map(|()| Some(req.body().to_vec()))
                .map_err(|e| format!("{e:?}")),
            "/kv" => spin_sdk::key_value::Store::open_default()
                .and_then(|store| store.get("floor"))
                .map_err(|e| format!("{e:?}")),
            "/redis" => spin_sdk::variables::get("redis_url")
                .map_err(|e| format!("{e:?}"))
                .and_then(|url| {
                    spin_sdk::redis::Connection::open(&url).map_err(|e| format!("{e:?}"))
                })
                .and_then(|conn| conn.get("floor").map_err(|e| format!("{e:?}"))),
            _ => return reply(404, b"not found".to_vec()),
        };
        match value {
            Ok(v) => reply(200, v.unwrap_or_default()),
            Err(e) => reply(503, e.into_bytes()),
        }
    }

    fn reply(status: u16, body: Vec<u8>) -> Response {
        Response::builder()
            .status(status)
            .header("content-type", "application/octet-stream")
            .body(body)
            .build()
    }
}

#[cfg(all(target_arch = "wasm32", feature = "p3"))]
mod p3 {
    use std::cell::RefCell;

    use spin_sdk::http::body::IncomingBodyExt;
    use spin_sdk::http::{FullBody, HeaderMap, HeaderValue, Method, Request, StatusCode};
    use spin_sdk::redis::Connection;

    thread_local! {
        /// The connections `/redis-kept` reuses, as the app's p3 build keeps its own: a request
        /// takes an idle one (or opens one) for itself alone and gives it back after a GET that
        /// worked; one that failed is dropped.
        static KEPT: RefCell<Vec<Connection>> = const { RefCell::new(Vec::new()) };
    }

    type Reply = (StatusCode, HeaderMap, FullBody<bytes::Bytes>);

    #[spin_sdk::http_service]
    async fn handle(req: Request) -> Reply {
        let put = req.method() == Method::PUT;
        let path = req.uri().path().to_owned();
        let value = match path.as_str() {
            "/kv" if put => match req.into_body().bytes().await {
                Ok(body) => kv_put(body.to_vec()).await,
                Err(e) => Err(format!("{e:?}")),
            },
            "/kv" => kv_get().await,
            "/redis" => redis_get().await,
            "/redis-kept" => redis_kept_get().await,
            _ => return reply(StatusCode::NOT_FOUND, b"not found".to_vec()),
        };
        match value {
            Ok(v) => reply(StatusCode::OK, v.unwrap_or_default()),
            Err(e) => reply(StatusCode::SERVICE_UNAVAILABLE, e.into_bytes()),
        }
    }

    async fn kv_put(body: Vec<u8>) -> Result<Option<Vec<u8>>, String> {
        let store = spin_sdk::key_value::Store::open_default()
            .await
            .map_err(|e| format!("{e:?}"))?;
        store
            .set("floor", &body)
            .await
            .map_err(|e| format!("{e:?}"))?;
        Ok(Some(body))
    }

    async fn kv_get() -> Result<Option<Vec<u8>>, String> {
        let store = spin_sdk::key_value::Store::open_default()
            .await
            .map_err(|e| format!("{e:?}"))?;
        store.get("floor").await.map_err(|e| format!("{e:?}"))
    }

    async fn open() -> Result<Connection, String> {
        let url = spin_sdk::variables::get("redis_url")
            .await
            .map_err(|e| format!("{e:?}"))?;
        Connection::open(&url).await.map_err(|e| format!("{e:?}"))
    }

    async fn redis_get() -> Result<Option<Vec<u8>>, String> {
        let conn = open().await?;
        conn.get("floor").await.map_err(|e| format!("{e:?}"))
    }

    async fn redis_kept_get() -> Result<Option<Vec<u8>>, String> {
        let conn = match KEPT.with_borrow_mut(Vec::pop) {
            Some(conn) => conn,
            None => open().await?,
        };
        let value = conn.get("floor").await.map_err(|e| format!("{e:?}"))?;
        KEPT.with_borrow_mut(|kept| kept.push(conn));
        Ok(value)
    }

    fn reply(status: StatusCode, body: Vec<u8>) -> Reply {
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/octet-stream"),
        );
        (status, headers, FullBody::new(body.into()))
    }
}
