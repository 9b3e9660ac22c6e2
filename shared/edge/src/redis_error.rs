//! Why a Redis command has no reply, told apart so that only an unreachable store counts against
//! the region's breaker ([`crate::breaker`]): one damaged key, or a script's own error reply, fails
//! its request alone and never opens the breaker for every tenant.
//!
//! Spin's outbound Redis (`fermyon:spin/redis@2.0.0`) returns every failure of `execute`, a
//! refused connection, an error reply and a reply it cannot convert alike, as `other(text)`: the
//! text is redis-rs's `Display` of its error (spinframework/spin v4.0.2,
//! `crates/factor-outbound-redis/src/host.rs`, `other_error`; Spin pins redis-rs 0.32, and
//! edge-host renders with the same crate). From redis-rs 0.32 (`types.rs`, `Display for
//! RedisError`; `parser.rs`, `err_parser`):
//!
//! - an error reply whose code redis-rs knows: `An error was signalled by the server - <Kind>:
//!   <detail>` (`ERR` is `ResponseError`, `LOADING` is `BusyLoadingError`, …), or `… server-
//!   <Kind>` without a detail;
//! - an error reply with another code (`WRONGTYPE`, `BUSY`, `OOM`, a script's
//!   `redis.error_reply`): `<CODE>: <detail>`, the reply's first word then the rest;
//! - a reply the host cannot hand over (a map): `Could not convert Redis response - TypeError:
//!   …`;
//! - anything else (a refused, reset or timed-out connection): an I/O or client error's text,
//!   such as `Connection refused (os error 111)` or `broken pipe`.
//!
//! The unit tests make these texts with redis-rs itself; the suites corrupt a key on both
//! runtimes (`api_breaker`).

/// Why a Redis command has no reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedisError {
    /// Redis cannot be reached, or refuses everyone for now: the connection failed or broke, or
    /// the server answered an error about itself, not this command (`LOADING`, `BUSY`,
    /// `MASTERDOWN`, `CLUSTERDOWN`, `READONLY`, `NOREPLICAS`, `MISCONF`, `OOM`,
    /// `NOAUTH`, `WRONGPASS`, `NOPERM`). Counts against the breaker; a client sees `503` and
    /// retries.
    #[error("Redis is unavailable: {0}")]
    Transport(String),
    /// Redis answered this command with an error: a value of the wrong type under one key, a
    /// script's own error reply, a reply the host cannot convert. Redis itself is healthy: the
    /// request that met it fails (`500`) and no other.
    #[error("Redis refused the command: {0}")]
    Reply(String),
    /// A Redis Cluster slot is moving between primaries under this command (`TRYAGAIN`: a
    /// multi-key command while some of its keys have moved; or a redirection right after a
    /// redirection was followed). The servers are healthy: not counted against the breaker, the
    /// connection stays usable; a client sees `503` and retries.
    #[error("a Redis Cluster slot is moving: {0}")]
    Moving(String),
    /// The server has not answered the region's canary for too long ([`crate::stall`]): the
    /// command was not sent. Not counted against the breaker (nothing reached Redis); a client
    /// sees `503` with `Retry-After`.
    #[error("{0}")]
    Stalled(String),
    /// One primary of a Redis Cluster cannot be reached while the others answer: its shard's
    /// outage (its replica takes over). Not counted against the region's breaker, which would
    /// refuse every shard; a client sees `503` with `Retry-After` and retries.
    #[error("a Redis Cluster node is unavailable: {0}")]
    ShardDown(String),
}

/// What redis-rs writes before the kind of an error reply whose code it knows (then ` - Kind:
/// detail`, or `- Kind` when the reply had no detail).
const SERVER_SIGNALLED: &str = "An error was signalled by the server";

/// What redis-rs writes for a reply it (the host) could not convert.
const NOT_CONVERTED: &str = "- TypeError";

/// The kinds (redis-rs's names) of known error replies that say the server cannot serve now.
const UNAVAILABLE_KINDS: &[&str] = &["BusyLoadingError", "ClusterDown", "MasterDown", "ReadOnly"];

/// The codes of other error replies that say the server cannot serve now (or not us: a missing
/// or wrong password, a user without the permission). `LOADING` and `MASTERDOWN` are known kinds
/// above.
const UNAVAILABLE_CODES: &[&str] = &[
    "BUSY",
    "NOREPLICAS",
    "MISCONF",
    "OOM",
    "NOAUTH",
    "WRONGPASS",
    "NOPERM",
];

/// Tells a host's error text (see the module docs) for what it is.
pub fn classify(text: &str) -> RedisError {
    let owned = || text.to_string();
    if let Some(rest) = text.strip_prefix(SERVER_SIGNALLED) {
        let kind = rest
            .trim_start_matches([' ', '-'])
            .split(':')
            .next()
            .unwrap_or_default()
            .trim();
        return if kind == "TryAgain" {
            RedisError::Moving(owned())
        } else if UNAVAILABLE_KINDS.contains(&kind) {
            RedisError::Transport(owned())
        } else {
            RedisError::Reply(owned())
        };
    }
    if text.contains(NOT_CONVERTED) {
        return RedisError::Reply(owned());
    }
    match text.split_once(": ") {
        // An error reply's code is its first word (redis-rs splits the reply at its first
        // space); an I/O error's text has spaces before its first colon, if it has one.
        Some((code, _)) if !code.is_empty() && !code.contains(char::is_whitespace) => {
            if UNAVAILABLE_CODES.contains(&code) {
                RedisError::Transport(owned())
            } else {
                RedisError::Reply(owned())
            }
        }
        _ => RedisError::Transport(owned()),
    }
}

impl RedisError {
    /// Whether Redis may be down (the breaker counts it; a read-only command may be retried).
    pub fn is_transport(&self) -> bool {
        matches!(self, Self::Transport(_))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// What a host hands the guest for the error reply `line` (without its `-`): redis-rs's
    /// parse of the reply, then its `Display`.
    fn replied(line: &str) -> String {
        let value = redis::parse_redis_value(format!("-{line}\r\n").as_bytes()).unwrap();
        value.extract_error().unwrap_err().to_string()
    }

    fn is_reply(text: &str) -> bool {
        matches!(classify(text), RedisError::Reply(t) if t == text)
    }

    fn is_transport(text: &str) -> bool {
        matches!(classify(text), RedisError::Transport(t) if t == text)
    }

    #[test]
    fn error_replies_about_the_command_are_replies() {
        for line in [
            "WRONGTYPE Operation against a key holding the wrong kind of value",
            "ERR unknown fold op x",
            "ERR Error running script (call to f_1): @user_script:6: WRONGTYPE Operation",
            "NOSCRIPT No matching script. Please use EVAL.",
            "CROSSSLOT Keys in request don't hash to the same slot",
            "EXECABORT Transaction discarded because of previous errors.",
            "NOGROUP No such key 'x' or consumer group 'g'",
            // A script's own `redis.error_reply` whose first word is not a known code.
            "unknown fold op 7",
            "ERR",
        ] {
            let text = replied(line);
            assert!(is_reply(&text), "{line} → {text}");
        }
        // The host could not convert the reply (Spin's host and edge-host build this error).
        let unconverted = redis::RedisError::from((
            redis::ErrorKind::TypeError,
            "Could not convert Redis response",
            "Redis Map type is not supported".to_string(),
        ))
        .to_string();
        assert!(is_reply(&unconverted), "{unconverted}");
    }

    #[test]
    fn a_server_that_cannot_serve_anyone_now_is_unavailable() {
        for line in [
            "LOADING Redis is loading the dataset in memory",
            "LOADING",
            "CLUSTERDOWN The cluster is down",
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            "READONLY You can't write against a read only replica.",
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
            "NOREPLICAS Not enough good replicas to write.",
            "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.",
            "OOM command not allowed when used memory > 'maxmemory'.",
            "NOAUTH Authentication required.",
            "WRONGPASS invalid username-password pair or user is disabled.",
            "NOPERM User default has no permissions to run the 'eval' command",
        ] {
            let text = replied(line);
            assert!(is_transport(&text), "{line} → {text}");
        }
    }

    #[test]
    fn a_slot_moving_under_a_command_is_neither_unavailable_nor_refused() {
        let text = replied("TRYAGAIN Multiple keys request during rehashing of slot");
        assert!(
            matches!(classify(&text), RedisError::Moving(t) if t == text),
            "{text}"
        );
    }

    #[test]
    fn connection_failures_are_unavailable() {
        use std::io::{Error, ErrorKind};
        for kind in [
            ErrorKind::ConnectionRefused,
            ErrorKind::ConnectionReset,
            ErrorKind::BrokenPipe,
            ErrorKind::UnexpectedEof,
            ErrorKind::TimedOut,
        ] {
            let text = redis::RedisError::from(Error::from(kind)).to_string();
            assert!(is_transport(&text), "{kind:?} → {text}");
        }
        let refused = redis::RedisError::from(Error::from_raw_os_error(111)).to_string();
        assert!(is_transport(&refused), "{refused}");
        let dropped = redis::RedisError::from((
            redis::ErrorKind::IoError,
            "Multiplexed connection driver unexpectedly terminated",
        ))
        .to_string();
        assert!(is_transport(&dropped), "{dropped}");
        assert!(is_transport(""));
        assert!(is_transport(": nothing before the colon"));
    }
}
