//! Redis through `fermyon:spin/redis@2.0.0`, at the component variable `redis_url`:
//! `POST /redis/execute` (JSON array `["CMD", "arg" | int, ...]`), `PUT|GET /redis/kv/{key}`,
//! `POST /redis/incr/{key}`, `POST /redis/publish/{channel}`. Redis errors are `502`.
//! `GET /redis/kv/{key}?times=N` reads N times on one connection.

use edge::http::Response;
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};
use spin_sdk::variables;

use crate::reply;

/// Opens the connection at `redis_url`, or the response explaining why not.
fn connect() -> Result<Connection, Box<Response>> {
    let address = variables::get("redis_url")
        .map_err(|e| Box::new(reply::error(500, format!("variable redis_url: {e:?}"))))?;
    Connection::open(&address).map_err(|e| Box::new(bad_gateway(&e)))
}

fn bad_gateway(e: &spin_sdk::redis::Error) -> Response {
    reply::error(502, format!("{e:?}"))
}

/// Runs `f` on a fresh connection, turning any Redis error into a `502`.
fn with_redis(f: impl FnOnce(&Connection) -> Result<Response, spin_sdk::redis::Error>) -> Response {
    match connect() {
        Ok(conn) => f(&conn).unwrap_or_else(|e| bad_gateway(&e)),
        Err(resp) => *resp,
    }
}

/// Parses `["CMD", "a", 1, ...]` into the command and its parameters.
fn parse_command(body: &[u8]) -> Result<(String, Vec<RedisParameter>), String> {
    let items: Vec<serde_json::Value> =
        serde_json::from_slice(body).map_err(|e| format!("body must be a JSON array: {e}"))?;
    let (command, args) = items
        .split_first()
        .ok_or_else(|| "empty command".to_owned())?;
    let command = command
        .as_str()
        .ok_or_else(|| "the first element must be the command string".to_owned())?;
    let params = args
        .iter()
        .map(|arg| match arg {
            serde_json::Value::String(s) => Ok(RedisParameter::Binary(s.as_bytes().to_vec())),
            serde_json::Value::Number(n) => n
                .as_i64()
                .map(RedisParameter::Int64)
                .ok_or_else(|| format!("{n} is not a 64-bit integer")),
            other => Err(format!("unsupported argument {other}")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((command.to_owned(), params))
}

fn render(result: &RedisResult) -> serde_json::Value {
    match result {
        RedisResult::Nil => serde_json::json!({ "nil": null }),
        RedisResult::Status(s) => serde_json::json!({ "status": s }),
        RedisResult::Int64(n) => serde_json::json!({ "int": n }),
        RedisResult::Binary(b) => serde_json::json!({ "bin": String::from_utf8_lossy(b) }),
    }
}

pub fn execute(body: &[u8]) -> Response {
    let (command, params) = match parse_command(body) {
        Ok(parsed) => parsed,
        Err(why) => return reply::error(400, why),
    };
    with_redis(|conn| {
        let results: Vec<_> = conn
            .execute(&command, &params)?
            .iter()
            .map(render)
            .collect();
        Ok(reply::json(200, &serde_json::json!({ "results": results })))
    })
}

pub fn set(key: &str, value: &[u8]) -> Response {
    with_redis(|conn| {
        conn.set(key, value)?;
        Ok(reply::no_content())
    })
}

/// `GET /redis/kv/{key}?times=N`: the value, read N times (default 1) on one connection — the
/// difference between N and 1 is the cost of a round trip without the connection's setup.
pub fn get(key: &str, times: usize) -> Response {
    with_redis(|conn| {
        for _ in 1..times {
            conn.get(key)?;
        }
        Ok(match conn.get(key)? {
            Some(value) => reply::bytes(value),
            None => reply::error(404, "not found"),
        })
    })
}

pub fn incr(key: &str) -> Response {
    with_redis(|conn| {
        let value = conn.incr(key)?;
        Ok(reply::json(200, &serde_json::json!({ "value": value })))
    })
}

pub fn publish(channel: &str, payload: &[u8]) -> Response {
    with_redis(|conn| {
        conn.publish(channel, payload)?;
        Ok(reply::no_content())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_arguments_become_binary_or_int() {
        let parsed = parse_command(br#"["SET", "k", 5]"#);
        assert!(matches!(
            parsed.as_ref().map(|(c, p)| (c.as_str(), p.as_slice())),
            Ok(("SET", [RedisParameter::Binary(k), RedisParameter::Int64(5)])) if k == b"k"
        ));
        assert!(parse_command(b"[]").is_err());
        assert!(parse_command(br#"[1]"#).is_err());
        assert!(parse_command(br#"["GET", true]"#).is_err());
    }
}
