//! Why a Redis command has no reply, told apart so that only an unreachable store counts against
//! the region's breaker ([`crate::breaker`]): one damaged key, or a script's own error reply, fails
//! its request alone and never opens the breaker for every tenant.
//!
//! Spin's outbound Redis (`fermyon:spin/redis@2.0.0`) returns every failure of a command, a
//! refused connection and an error reply alike, as `other(text)`, the text being redis-rs's
//! rendering of its error (Spin 4.0.2 pins redis-rs 0.32; edge-host renders with the same crate):
//!
//! - an error reply whose code redis-rs knows: `An error was signalled by the server - <Kind>:
//!   <detail>` (`ERR` is `ResponseError`, `LOADING` is `BusyLoadingError`, …);
//! - an error reply with another code (`WRONGTYPE`, `BUSY`, a script's `redis.error_reply`):
//!   `<CODE>: <detail>`, the reply's first word then the rest;
//! - anything else (a refused, reset or timed-out connection): an I/O or client error's text,
//!   such as `Connection refused (os error 111)` or `broken pipe`.
//!
//! Sources: `../shared/notes/redis-cluster-facts.md` §3 and §10 (Spin's `other_error`, redis-rs's
//! `Display`). [`classify`] reads that text; the formats are pinned by the unit tests below and
//! by the suites, which corrupt a key on both runtimes (`api_breaker`).

/// Why a Redis command has no reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedisError {
    /// Redis cannot be reached, or refuses everyone for now: the connection failed or broke, or
    /// the server answered an error that is about the server, not this command (`LOADING`,
    /// `BUSY`, `MASTERDOWN`, `CLUSTERDOWN`, `TRYAGAIN`, `READONLY`, `NOREPLICAS`, `MISCONF`).
    /// Counts against the breaker; a client sees `503` and retries.
    #[error("Redis is unavailable: {0}")]
    Transport(String),
    /// Redis answered this command with an error: a value of the wrong type under one key, a
    /// script's own error reply, a reply the host cannot convert. Redis itself is healthy: the
    /// request that met it fails (`500`) and no other.
    #[error("Redis refused the command: {0}")]
    Reply(String),
}

/// What redis-rs writes before the kind of an error reply whose code it knows (then ` - Kind:
/// detail`, or `- Kind` when the reply had no detail).
const SERVER_SIGNALLED: &str = "An error was signalled by the server";

/// The kinds (redis-rs's names) of known error replies that say the server cannot serve now.
const UNAVAILABLE_KINDS: &[&str] = &[
    "BusyLoadingError",
    "TryAgain",
    "ClusterDown",
    "MasterDown",
    "ReadOnly",
];

/// The codes of other error replies that say the server cannot serve now.
const UNAVAILABLE_CODES: &[&str] = &["LOADING", "BUSY", "NOREPLICAS", "MISCONF", "MASTERDOWN"];

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
        return if UNAVAILABLE_KINDS.contains(&kind) {
            RedisError::Transport(owned())
        } else {
            RedisError::Reply(owned())
        };
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
mod tests {
    use super::*;

    fn reply(text: &str) -> bool {
        matches!(classify(text), RedisError::Reply(t) if t == text)
    }

    fn transport(text: &str) -> bool {
        matches!(classify(text), RedisError::Transport(t) if t == text)
    }

    #[test]
    fn error_replies_about_the_command_are_replies() {
        assert!(reply(
            "WRONGTYPE: Operation against a key holding the wrong kind of value"
        ));
        assert!(reply(
            "An error was signalled by the server - ResponseError: unknown fold op x"
        ));
        assert!(reply(
            "An error was signalled by the server - NoScriptError: No matching script. Please use EVAL."
        ));
        assert!(reply(
            "An error was signalled by the server - CrossSlot: Keys in request don't hash to the same slot"
        ));
        assert!(reply(
            "An error was signalled by the server- ExecAbortError"
        ));
        // A script's own `redis.error_reply` whose first word is not a known code.
        assert!(reply("unknown: fold op 7"));
        assert!(reply("NOGROUP: No such key 'x' or consumer group 'g'"));
    }

    #[test]
    fn a_server_that_cannot_serve_anyone_now_is_unavailable() {
        assert!(transport(
            "An error was signalled by the server- BusyLoadingError"
        ));
        assert!(transport(
            "An error was signalled by the server - BusyLoadingError: Redis is loading the dataset in memory"
        ));
        assert!(transport(
            "An error was signalled by the server - ClusterDown: The cluster is down"
        ));
        assert!(transport(
            "An error was signalled by the server - TryAgain: Multiple keys request during rehashing of slot"
        ));
        assert!(transport(
            "BUSY: Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSCRIPT."
        ));
        assert!(transport("NOREPLICAS: Not enough good replicas to write."));
        assert!(transport(
            "MISCONF: Redis is configured to save RDB snapshots, but it's currently unable to persist to disk."
        ));
    }

    #[test]
    fn connection_failures_are_unavailable() {
        assert!(transport("Connection refused (os error 111)"));
        assert!(transport("Connection reset by peer (os error 104)"));
        assert!(transport("broken pipe"));
        assert!(transport(
            "Multiplexed connection driver unexpectedly terminated- IoError"
        ));
        assert!(transport(
            "failed to lookup address information: Name or service not known"
        ));
        assert!(transport(""));
        assert!(transport(": nothing before the colon"));
    }
}
