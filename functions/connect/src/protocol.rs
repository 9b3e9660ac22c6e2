//! The wire protocols, sans I/O: which one a request speaks, its codec, the Connect error codes
//! our problems map to, gRPC-Web's frames and `Connect-Timeout-Ms`.
//!
//! - **Connect unary**: `POST`, `Content-Type: application/json` or `application/proto`, the bare
//!   message as the body; the answer is `200` with the same type, or an error: the code's HTTP
//!   status and `application/json` `{"code", "message"}`.
//! - **gRPC-Web** (unary): `application/grpc-web` or `application/grpc-web+proto`; the body is one
//!   frame (flag byte `0`, 4-byte big-endian length, message); the answer is `200` with a data
//!   frame and a trailers frame (flag `0x80`) carrying `grpc-status` and `grpc-message`.
//! - **gRPC** (unary, HTTP/2): `application/grpc` or `application/grpc+proto`, the body framed as
//!   gRPC-Web's; the answer is `200` with the data frame and HTTP trailers `grpc-status` and
//!   `grpc-message`, or, for an error, those fields in the head alone ("trailers-only").

use leaderboard::{ConflictKind, LeaderboardError};

/// How a request's messages are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// The protobuf JSON mapping.
    Json,
    /// The protobuf binary encoding.
    Proto,
}

/// The protocol a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Connect unary with a codec.
    Connect(Codec),
    /// gRPC-Web, binary.
    GrpcWeb,
    /// gRPC (HTTP/2, the status in trailers), binary.
    Grpc,
}

/// The protocol of a request's `Content-Type` (parameters such as `charset` ignored), or `None`
/// for a type none of them uses (`415`).
pub fn protocol_of(content_type: Option<&str>) -> Option<Protocol> {
    match media_type(content_type?).as_str() {
        "application/json" => Some(Protocol::Connect(Codec::Json)),
        "application/proto" => Some(Protocol::Connect(Codec::Proto)),
        "application/grpc-web" | "application/grpc-web+proto" => Some(Protocol::GrpcWeb),
        "application/grpc" | "application/grpc+proto" => Some(Protocol::Grpc),
        _ => None,
    }
}

/// A `Content-Type`'s media type, lowercased, without its parameters.
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// A Connect error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// `invalid_argument`.
    InvalidArgument,
    /// `deadline_exceeded`.
    DeadlineExceeded,
    /// `not_found`.
    NotFound,
    /// `already_exists`.
    AlreadyExists,
    /// `permission_denied`.
    PermissionDenied,
    /// `resource_exhausted`.
    ResourceExhausted,
    /// `failed_precondition`.
    FailedPrecondition,
    /// `aborted`.
    Aborted,
    /// `unimplemented`.
    Unimplemented,
    /// `internal`.
    Internal,
    /// `unavailable`.
    Unavailable,
    /// `unauthenticated`.
    Unauthenticated,
}

impl Code {
    /// The code's name in Connect's error JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::InvalidArgument => "invalid_argument",
            Self::DeadlineExceeded => "deadline_exceeded",
            Self::NotFound => "not_found",
            Self::AlreadyExists => "already_exists",
            Self::PermissionDenied => "permission_denied",
            Self::ResourceExhausted => "resource_exhausted",
            Self::FailedPrecondition => "failed_precondition",
            Self::Aborted => "aborted",
            Self::Unimplemented => "unimplemented",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::Unauthenticated => "unauthenticated",
        }
    }

    /// The HTTP status Connect answers the code with.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidArgument | Self::FailedPrecondition => 400,
            Self::Unauthenticated => 401,
            Self::PermissionDenied => 403,
            Self::NotFound => 404,
            Self::AlreadyExists | Self::Aborted => 409,
            Self::ResourceExhausted => 429,
            Self::Unimplemented => 501,
            Self::Unavailable => 503,
            Self::DeadlineExceeded => 504,
            Self::Internal => 500,
        }
    }

    /// The gRPC status number (`grpc-status`).
    pub fn grpc(self) -> u8 {
        match self {
            Self::InvalidArgument => 3,
            Self::DeadlineExceeded => 4,
            Self::NotFound => 5,
            Self::AlreadyExists => 6,
            Self::PermissionDenied => 7,
            Self::ResourceExhausted => 8,
            Self::FailedPrecondition => 9,
            Self::Aborted => 10,
            Self::Unimplemented => 12,
            Self::Internal => 13,
            Self::Unavailable => 14,
            Self::Unauthenticated => 16,
        }
    }

    /// The code of a problem, by its HTTP status: an idempotency key another attempt holds or a
    /// write that raced others is `aborted` (retry), a conflict with what exists `already_exists`, a state
    /// that refuses the request until something else changes it, or a precondition,
    /// `failed_precondition` (a tournament outside its window too), a too-large request
    /// `resource_exhausted` like a rate limit (and a full tournament, or a player's used attempts).
    pub fn of(err: &LeaderboardError) -> Self {
        match err {
            // Another attempt holds the key: retried later, the request may pass. (A key reused
            // with another request fails again: a 422, `invalid_argument`.)
            LeaderboardError::IdempotencyInProgress(_) => return Self::Aborted,
            LeaderboardError::Conflict(c) => {
                return match c.kind() {
                    ConflictKind::Raced => Self::Aborted,
                    ConflictKind::Standing => Self::FailedPrecondition,
                    ConflictKind::Exists => Self::AlreadyExists,
                };
            }
            // The state of a tournament, not something that exists already.
            LeaderboardError::TournamentClosed { .. } => return Self::FailedPrecondition,
            LeaderboardError::TournamentFull { .. }
            | LeaderboardError::TournamentAttemptsUsed { .. } => return Self::ResourceExhausted,
            _ => {}
        }
        match err.status() {
            400 | 415 | 422 => Self::InvalidArgument,
            401 => Self::Unauthenticated,
            403 => Self::PermissionDenied,
            404 => Self::NotFound,
            405 => Self::Unimplemented,
            409 => Self::AlreadyExists,
            412 => Self::FailedPrecondition,
            413 | 429 => Self::ResourceExhausted,
            503 => Self::Unavailable,
            _ => Self::Internal,
        }
    }
}

/// The message of an enveloped request body (gRPC-Web, or a Connect stream's request): its one
/// uncompressed data frame.
pub fn unframe(body: &[u8]) -> Result<&[u8], String> {
    let [flag, a, b, c, d, rest @ ..] = body else {
        return Err("an enveloped message starts with a 5-byte prefix (flags and length)".into());
    };
    if flag & 0x01 != 0 {
        return Err("compressed messages are not supported".into());
    }
    if flag & 0x80 != 0 {
        return Err("a request carries a message, not an end-of-stream or trailers frame".into());
    }
    let len = u32::from_be_bytes([*a, *b, *c, *d]) as usize;
    if rest.len() != len {
        return Err(format!(
            "the envelope says {len} bytes, the body holds {}",
            rest.len()
        ));
    }
    Ok(rest)
}

/// One gRPC-Web frame.
pub fn frame(flag: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 5);
    out.push(flag);
    out.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(payload);
    out
}

/// gRPC's percent-encoding of `grpc-message`: bytes outside printable ASCII, and `%`.
pub fn grpc_message(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A gRPC-Web answer body: the message's data frame (if any), then the trailers.
pub fn grpc_web_body(message: Option<&[u8]>, status: u8, text: &str) -> Vec<u8> {
    let mut out = message.map(|m| frame(0, m)).unwrap_or_default();
    let trailers = format!(
        "grpc-status: {status}\r\ngrpc-message: {}\r\n",
        grpc_message(text)
    );
    out.extend(frame(0x80, trailers.as_bytes()));
    out
}

/// `Connect-Timeout-Ms`: at most 10 ASCII digits.
pub fn timeout_ms(header: Option<&str>) -> Result<Option<u64>, String> {
    match header {
        None => Ok(None),
        Some(v) if !v.is_empty() && v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit()) => v
            .parse()
            .map(Some)
            .map_err(|_| format!("bad Connect-Timeout-Ms '{v}'")),
        Some(v) => Err(format!(
            "Connect-Timeout-Ms must be 1 to 10 digits, got '{v}'"
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn content_types_pick_the_protocol() {
        assert_eq!(
            protocol_of(Some("application/json; charset=utf-8")),
            Some(Protocol::Connect(Codec::Json))
        );
        assert_eq!(
            protocol_of(Some("application/proto")),
            Some(Protocol::Connect(Codec::Proto))
        );
        assert_eq!(
            protocol_of(Some("application/grpc-web+proto")),
            Some(Protocol::GrpcWeb)
        );
        assert_eq!(protocol_of(Some("text/plain")), None);
        assert_eq!(protocol_of(None), None);
    }

    #[test]
    fn frames_round_trip_and_bad_ones_are_refused() {
        let f = frame(0, b"abc");
        assert_eq!(f, [0, 0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(unframe(&f).unwrap(), b"abc");
        assert!(unframe(&f[..6]).is_err());
        assert!(unframe(&frame(1, b"x")).is_err());
        assert!(unframe(b"\0\0").is_err());
        let body = grpc_web_body(None, 5, "no 'x' — here");
        assert_eq!(body[0], 0x80);
        let text = std::str::from_utf8(&body[5..]).unwrap();
        assert_eq!(
            text,
            "grpc-status: 5\r\ngrpc-message: no 'x' %E2%80%94 here\r\n"
        );
    }

    #[test]
    fn problems_map_to_connect_codes() {
        let of = |e: LeaderboardError| Code::of(&e);
        assert_eq!(
            of(LeaderboardError::BoardNotFound("x".into())),
            Code::NotFound
        );
        assert_eq!(
            of(LeaderboardError::Unauthorized("x".into())),
            Code::Unauthenticated
        );
        assert_eq!(
            of(LeaderboardError::Forbidden("x".into())),
            Code::PermissionDenied
        );
        assert_eq!(
            of(LeaderboardError::InvalidBody("x".into())),
            Code::InvalidArgument
        );
        assert_eq!(of(leaderboard::Conflict::WindowMoved.into()), Code::Aborted);
        assert_eq!(
            of(leaderboard::Conflict::RunOpen.into()),
            Code::FailedPrecondition
        );
        assert_eq!(
            of(LeaderboardError::IdempotencyInProgress("x".into())),
            Code::Aborted
        );
        assert_eq!(
            of(LeaderboardError::IdempotencyMismatch("x".into())),
            Code::InvalidArgument
        );
        assert_eq!(
            of(LeaderboardError::TournamentClosed {
                upcoming: false,
                start_ms: 0,
                end_ms: 1
            }),
            Code::FailedPrecondition
        );
        assert_eq!(
            of(LeaderboardError::TournamentFull { max_size: 2 }),
            Code::ResourceExhausted
        );
        assert_eq!(
            of(LeaderboardError::TournamentAttemptsUsed { allowed: 3 }),
            Code::ResourceExhausted
        );
        assert_eq!(
            of(LeaderboardError::TournamentNotJoined("x".into())),
            Code::PermissionDenied
        );
        assert_eq!(Code::NotFound.http_status(), 404);
        assert_eq!(Code::ResourceExhausted.grpc(), 8);
    }

    #[test]
    fn timeouts_are_digits() {
        assert_eq!(timeout_ms(Some("1500")).unwrap(), Some(1500));
        assert_eq!(timeout_ms(None).unwrap(), None);
        assert!(timeout_ms(Some("-1")).is_err());
        assert!(timeout_ms(Some("12345678901")).is_err());
    }
}
