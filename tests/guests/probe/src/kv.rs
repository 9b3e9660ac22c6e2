//! `GET|PUT|DELETE /kv/{store}/{key}`, `GET /kv/{store}/{key}?exists`, `GET /kv/{store}`:
//! Spin's own key-value interface (`fermyon:spin/key-value@2.0.0`).

use edge::http::Response;
use spin_sdk::key_value::{Error, Store};

use crate::reply;

/// Status for a Spin key-value error: access-denied 403, no-such-store 404, anything else 500.
fn status_of(e: &Error) -> u16 {
    match e {
        Error::AccessDenied => 403,
        Error::NoSuchStore => 404,
        _ => 500,
    }
}

fn fail(e: &Error) -> Response {
    reply::error(status_of(e), format!("{e:?}"))
}

/// Opens `store` and runs `f`, turning any error into its response.
fn with_store(store: &str, f: impl FnOnce(&Store) -> Result<Response, Error>) -> Response {
    Store::open(store)
        .and_then(|s| f(&s))
        .unwrap_or_else(|e| fail(&e))
}

/// `GET /kv/{store}/{key}?times=N`: the value, read N times (default 1; 0 only opens the store).
pub fn get(store: &str, key: &str, times: usize) -> Response {
    with_store(store, |s| {
        if times == 0 {
            return Ok(reply::no_content());
        }
        for _ in 1..times {
            s.get(key)?;
        }
        Ok(match s.get(key)? {
            Some(value) => reply::bytes(value),
            None => reply::error(404, "not found"),
        })
    })
}

pub fn exists(store: &str, key: &str) -> Response {
    with_store(store, |s| {
        Ok(reply::json(
            200,
            &serde_json::json!({ "exists": s.exists(key)? }),
        ))
    })
}

pub fn set(store: &str, key: &str, value: &[u8]) -> Response {
    with_store(store, |s| {
        s.set(key, value)?;
        Ok(reply::no_content())
    })
}

pub fn delete(store: &str, key: &str) -> Response {
    with_store(store, |s| {
        s.delete(key)?;
        Ok(reply::no_content())
    })
}

pub fn list_keys(store: &str) -> Response {
    with_store(store, |s| {
        let mut keys = s.get_keys()?;
        keys.sort();
        Ok(reply::json(200, &serde_json::json!({ "keys": keys })))
    })
}
