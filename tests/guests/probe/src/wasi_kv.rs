//! `wasi:keyvalue@0.2.0-draft2` through `edge::kv`:
//! `POST /atomic/{store}/{key}/incr?delta=N`, `POST /atomic/{store}/{key}/cas-incr`,
//! `POST /atomic/{store}/{key}/cas-race` (a CAS with another write between `current` and `swap`),
//! `PUT|GET|DELETE /batch/{store}` (`?keys=a,b` for GET/DELETE).

use std::collections::BTreeMap;

use edge::http::Response;
use edge::kv::{Bucket, KvError};

use crate::reply::{self, Query};

/// How many lost races `cas-incr` tolerates before giving up.
const CAS_MAX_RETRIES: u32 = 64;

/// Status for a store error: access-denied 403, no-such-store 404, CAS exhausted 409, else (a busy store too) 500.
fn fail(e: &KvError) -> Response {
    let status = match e {
        KvError::AccessDenied => 403,
        KvError::NoSuchStore => 404,
        KvError::CasRetriesExhausted(_) => 409,
        KvError::Busy(_) | KvError::Other(_) | KvError::NotOpen => 500,
    };
    reply::error(status, format!("{e:?}"))
}

/// Opens `store` and runs `f`, turning any error into its response.
fn with_bucket(store: &str, f: impl FnOnce(&Bucket) -> Result<Response, KvError>) -> Response {
    Bucket::open(store)
        .and_then(|b| f(&b))
        .unwrap_or_else(|e| fail(&e))
}

pub fn incr(store: &str, key: &str, query: &Query) -> Response {
    let delta = match query.get("delta").map(str::parse::<i64>) {
        None => 1,
        Some(Ok(d)) => d,
        Some(Err(e)) => return reply::error(400, format!("delta: {e}")),
    };
    with_bucket(store, |b| {
        let value = b.increment(key, delta)?;
        Ok(reply::json(200, &serde_json::json!({ "value": value })))
    })
}

/// The next counter value after `current` (absent = 0), or why it cannot be computed.
fn next_counter(current: Option<&[u8]>) -> Result<i64, String> {
    let n = match current {
        None => 0,
        Some(raw) => std::str::from_utf8(raw)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .ok_or_else(|| "stored value is not a decimal integer".to_owned())?,
    };
    n.checked_add(1)
        .ok_or_else(|| "counter overflow".to_owned())
}

pub fn cas_incr(store: &str, key: &str) -> Response {
    with_bucket(store, |b| {
        // The outcome of the attempt that finally won the swap.
        let mut outcome: Result<i64, String> = Ok(0);
        let (_, retries) = b.compare_and_swap(
            key,
            |current| {
                outcome = next_counter(current);
                match &outcome {
                    Ok(n) => n.to_string().into_bytes(),
                    // Write the value back unchanged and report the problem afterwards.
                    Err(_) => current.map(<[u8]>::to_vec).unwrap_or_default(),
                }
            },
            CAS_MAX_RETRIES,
        )?;
        Ok(match outcome {
            Ok(value) => reply::json(
                200,
                &serde_json::json!({ "value": value, "retries": retries }),
            ),
            Err(why) => reply::error(422, why),
        })
    })
}

/// A compare-and-swap that loses a race on purpose: `current`, then a plain `set` of the key to
/// `interloper` (another writer), then `swap` to `mine`. Answers what the swap reported and what
/// the key holds afterwards — what a store's CAS really guarantees.
pub fn cas_race(store: &str, key: &str) -> Response {
    with_bucket(store, |b| {
        let cas = b.cas(key)?;
        let seen = cas.current()?;
        b.set(key, b"interloper")?;
        let swap = match cas.swap(b"mine")? {
            Ok(()) => "ok",
            Err(_) => "failed",
        };
        let after = b.get(key)?;
        Ok(reply::json(
            200,
            &serde_json::json!({
                "seen": seen.map(|v| String::from_utf8_lossy(&v).into_owned()),
                "swap": swap,
                "after": after.map(|v| String::from_utf8_lossy(&v).into_owned()),
            }),
        ))
    })
}

pub fn set_many(store: &str, body: &[u8]) -> Response {
    let entries: BTreeMap<String, String> = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(e) => return reply::error(400, format!("body must be a JSON object of strings: {e}")),
    };
    let entries: Vec<(String, Vec<u8>)> = entries
        .into_iter()
        .map(|(k, v)| (k, v.into_bytes()))
        .collect();
    with_bucket(store, |b| {
        b.set_many(&entries)?;
        Ok(reply::no_content())
    })
}

pub fn get_many(store: &str, query: &Query) -> Response {
    let Some(keys) = query.list("keys") else {
        return reply::error(400, "missing ?keys=a,b");
    };
    with_bucket(store, |b| {
        let found: serde_json::Map<String, serde_json::Value> = b
            .get_many(&keys)?
            .into_iter()
            .map(|(k, v)| {
                let v = v.map_or(serde_json::Value::Null, |bytes| {
                    String::from_utf8_lossy(&bytes).into_owned().into()
                });
                (k, v)
            })
            .collect();
        Ok(reply::json(200, &found.into()))
    })
}

pub fn delete_many(store: &str, query: &Query) -> Response {
    let Some(keys) = query.list("keys") else {
        return reply::error(400, "missing ?keys=a,b");
    };
    with_bucket(store, |b| {
        b.delete_many(&keys)?;
        Ok(reply::no_content())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_starts_at_zero_and_rejects_garbage() {
        assert_eq!(next_counter(None), Ok(1));
        assert_eq!(next_counter(Some(b"41")), Ok(42));
        assert!(next_counter(Some(b"x")).is_err());
        assert!(next_counter(Some(i64::MAX.to_string().as_bytes())).is_err());
    }
}
