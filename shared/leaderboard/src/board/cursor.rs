//! Opaque keyset cursors for paging a board.
//!
//! A [`Cursor`] names the last entry of a page by its sort key (`rank_value`, `member`) and rank;
//! the next page starts strictly after it (`ZRANGE key (rank_value +inf BYSCORE` plus the member
//! tie-break), so pages stay stable under concurrent writes.
//!
//! Wire format: URL-safe base64 without padding of
//! `version:u8 | rank_value:u64be | rank:u64be | member bytes | check:u64be`, where `check` is a
//! 64-bit FNV-1a over the binding (tenant, board, period id, sort order — deliberately not a board
//! version) and the preceding payload. The check rejects cursors from another board/period/sort
//! and garbled ones; it is not a MAC (a forged cursor can only address the same board's data).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::board::config::RANK_VALUE_LIMIT;
use crate::board::config::SortOrder;
use crate::board::period::PeriodId;
use crate::board::sortkey::decode_member;
use crate::error::{LeaderboardError, Result};
use crate::ids::{BoardId, TenantId};

/// Current cursor format version.
pub const CURSOR_VERSION: u8 = 1;

/// Longest accepted cursor text.
pub const MAX_CURSOR_LEN: usize = 512;

const HEADER_LEN: usize = 1 + 8 + 8;
const CHECK_LEN: usize = 8;

/// What a cursor is bound to: it is only valid for the same tenant, board, period and sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorBinding<'a> {
    /// Tenant.
    pub tenant: &'a TenantId,
    /// Board.
    pub board: &'a BoardId,
    /// Period being paged.
    pub period: &'a PeriodId,
    /// Sort order of the board.
    pub sort: SortOrder,
    /// The cohort being paged, on a board with cohorts (`None`: the whole board).
    pub cohort: Option<&'a crate::competition::cohort::CohortId>,
}

/// Position after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor {
    /// Rank value of the last entry returned.
    pub rank_value: u64,
    /// Sorted-set member of the last entry returned.
    pub member: String,
    /// Competition rank of the last entry returned.
    pub rank: u64,
}

/// 64-bit FNV-1a (offset basis 0xcbf29ce484222325, prime 0x100000001b3), written here rather than
/// pulled in as a dependency: a fast non-cryptographic checksum for cursor binding.
pub fn fnv1a64(data: &[u8]) -> u64 {
    fnv1a64_update(0xcbf2_9ce4_8422_2325, data)
}

fn fnv1a64_update(mut hash: u64, data: &[u8]) -> u64 {
    for byte in data {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn check(binding: &CursorBinding<'_>, payload: &[u8]) -> u64 {
    let period = binding.period.to_string();
    let mut h = fnv1a64(b"leaderboard-cursor");
    for field in [
        binding.tenant.as_str().as_bytes(),
        binding.board.as_str().as_bytes(),
        period.as_bytes(),
        binding.sort.as_str().as_bytes(),
    ] {
        // Length-prefixed so field boundaries cannot shift.
        h = fnv1a64_update(h, &(field.len() as u64).to_be_bytes());
        h = fnv1a64_update(h, field);
    }
    if let Some(cohort) = binding.cohort {
        // Only a cohort's cursors carry it, so the board's keep their form.
        let cohort = cohort.to_string();
        h = fnv1a64_update(h, &(cohort.len() as u64).to_be_bytes());
        h = fnv1a64_update(h, cohort.as_bytes());
    }
    fnv1a64_update(h, payload)
}

/// Encodes `cursor` for `binding`. `cursor.member` should be a sort-key member (at most 77 bytes);
/// [`decode`] rejects anything else.
pub fn encode(binding: &CursorBinding<'_>, cursor: &Cursor) -> String {
    let mut buf = Vec::with_capacity(HEADER_LEN + cursor.member.len() + CHECK_LEN);
    buf.push(CURSOR_VERSION);
    buf.extend_from_slice(&cursor.rank_value.to_be_bytes());
    buf.extend_from_slice(&cursor.rank.to_be_bytes());
    buf.extend_from_slice(cursor.member.as_bytes());
    let sum = check(binding, &buf);
    buf.extend_from_slice(&sum.to_be_bytes());
    URL_SAFE_NO_PAD.encode(buf)
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    bytes
        .get(at..at + 8)?
        .try_into()
        .ok()
        .map(u64::from_be_bytes)
}

/// Decodes a cursor produced by [`encode`] for the same binding.
pub fn decode(binding: &CursorBinding<'_>, text: &str) -> Result<Cursor> {
    let invalid = |why: &str| LeaderboardError::InvalidCursor(why.to_owned());
    if text.len() > MAX_CURSOR_LEN {
        return Err(invalid(&format!("longer than {MAX_CURSOR_LEN} characters")));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| invalid("not URL-safe base64 without padding"))?;
    match bytes.first() {
        None => return Err(invalid("empty")),
        Some(&CURSOR_VERSION) => {}
        Some(v) => {
            return Err(invalid(&format!(
                "unsupported cursor version {v} (this service reads version {CURSOR_VERSION})"
            )));
        }
    }
    if bytes.len() < HEADER_LEN + CHECK_LEN + 1 {
        return Err(invalid("truncated"));
    }
    let (payload, tail) = bytes.split_at(bytes.len() - CHECK_LEN);
    let stored = u64_at(tail, 0).ok_or_else(|| invalid("truncated"))?;
    if stored != check(binding, payload) {
        return Err(invalid(
            "cursor was issued for another board, period or sort order, or is corrupted",
        ));
    }
    let rank_value = u64_at(payload, 1).ok_or_else(|| invalid("truncated"))?;
    let rank = u64_at(payload, 9).ok_or_else(|| invalid("truncated"))?;
    let member = std::str::from_utf8(&payload[HEADER_LEN..])
        .map_err(|_| invalid("member is not UTF-8"))?
        .to_owned();
    if rank_value >= RANK_VALUE_LIMIT || rank == 0 {
        return Err(invalid("position out of range"));
    }
    decode_member(&member).map_err(|_| invalid("member is malformed"))?;
    Ok(Cursor {
        rank_value,
        member,
        rank,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids() -> (TenantId, BoardId, PeriodId) {
        (
            TenantId::default(),
            BoardId::new("race").unwrap(),
            "2026-W47".parse().unwrap(),
        )
    }

    fn sample() -> Cursor {
        Cursor {
            rank_value: 42,
            member: "0000000000005alice".into(),
            rank: 3,
        }
    }

    #[test]
    fn fnv_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn round_trip_and_rejections() {
        let (t, b, p) = ids();
        let binding = CursorBinding {
            tenant: &t,
            board: &b,
            period: &p,
            sort: SortOrder::Desc,
            cohort: None,
        };
        let text = encode(&binding, &sample());
        assert!(
            text.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(decode(&binding, &text).unwrap(), sample());

        let other_sort = CursorBinding {
            sort: SortOrder::Asc,
            ..binding
        };
        let err = decode(&other_sort, &text).unwrap_err();
        assert!(err.to_string().contains("another board"), "{err}");
        assert_eq!(err.status(), 400);

        assert!(decode(&binding, &text[..text.len() - 3]).is_err());
        assert!(decode(&binding, "").is_err());
        assert!(decode(&binding, "!!!").is_err());
        assert!(decode(&binding, &format!("{text}=")).is_err());
        assert!(
            decode(&binding, &"A".repeat(600))
                .unwrap_err()
                .to_string()
                .contains("longer than 512")
        );

        let mut raw = URL_SAFE_NO_PAD.decode(&text).unwrap();
        raw[0] = 2;
        let err = decode(&binding, &URL_SAFE_NO_PAD.encode(&raw)).unwrap_err();
        assert_eq!(
            err,
            LeaderboardError::InvalidCursor(
                "unsupported cursor version 2 (this service reads version 1)".into()
            )
        );
    }

    #[test]
    fn longest_cursor_fits() {
        let (t, b, p) = ids();
        let binding = CursorBinding {
            tenant: &t,
            board: &b,
            period: &p,
            sort: SortOrder::Desc,
            cohort: None,
        };
        let c = Cursor {
            rank_value: RANK_VALUE_LIMIT - 1,
            member: format!("fffffffffffff{}", "x".repeat(64)),
            rank: u64::MAX,
        };
        let text = encode(&binding, &c);
        assert!(text.len() <= MAX_CURSOR_LEN);
        assert_eq!(decode(&binding, &text).unwrap(), c);
    }

    fn arb_cursor() -> impl Strategy<Value = Cursor> {
        (
            0..RANK_VALUE_LIMIT,
            1u64..,
            0i64..(1 << 52),
            "[A-Za-z0-9._~-]{1,64}",
        )
            .prop_map(|(rank_value, rank, t, p)| Cursor {
                rank_value,
                rank,
                member: format!("{t:013x}{p}"),
            })
    }

    proptest! {
        #[test]
        fn round_trips(c in arb_cursor(), asc in any::<bool>()) {
            let (t, b, p) = ids();
            let sort = if asc { SortOrder::Asc } else { SortOrder::Desc };
            let binding = CursorBinding { tenant: &t, board: &b, period: &p, sort, cohort: None };
            prop_assert_eq!(decode(&binding, &encode(&binding, &c)).unwrap(), c);
        }

        #[test]
        fn other_bindings_rejected(c in arb_cursor(), which in 0usize..5, other in "[a-z0-9]{1,8}") {
            let (t, b, p) = ids();
            let binding = CursorBinding { tenant: &t, board: &b, period: &p, sort: SortOrder::Desc, cohort: None };
            let text = encode(&binding, &c);
            let t2 = TenantId::new(format!("t{other}")).unwrap();
            let b2 = BoardId::new(format!("b{other}")).unwrap();
            let p2: PeriodId = "2026-W46".parse().unwrap();
            let cohort = crate::competition::cohort::CohortId { band: None, number: 1 };
            let mutated = match which {
                0 => CursorBinding { tenant: &t2, ..binding },
                1 => CursorBinding { board: &b2, ..binding },
                2 => CursorBinding { period: &p2, ..binding },
                3 => CursorBinding { cohort: Some(&cohort), ..binding },
                _ => CursorBinding { sort: SortOrder::Asc, ..binding },
            };
            let is_invalid = matches!(decode(&mutated, &text), Err(LeaderboardError::InvalidCursor(_)));
            prop_assert!(is_invalid);
        }

        #[test]
        fn byte_flips_rejected(c in arb_cursor(), pos in any::<usize>(), bit in 0u8..8) {
            let (t, b, p) = ids();
            let binding = CursorBinding { tenant: &t, board: &b, period: &p, sort: SortOrder::Desc, cohort: None };
            let mut raw = URL_SAFE_NO_PAD.decode(encode(&binding, &c)).unwrap();
            let i = pos % raw.len();
            raw[i] ^= 1 << bit;
            let is_invalid = matches!(decode(&binding, &URL_SAFE_NO_PAD.encode(&raw)), Err(LeaderboardError::InvalidCursor(_)));
            prop_assert!(is_invalid);
        }

        #[test]
        fn random_strings_rejected(s in "[A-Za-z0-9_-]{0,200}|.{0,600}") {
            let (t, b, p) = ids();
            let binding = CursorBinding { tenant: &t, board: &b, period: &p, sort: SortOrder::Desc, cohort: None };
            let is_invalid = matches!(decode(&binding, &s), Err(LeaderboardError::InvalidCursor(_)));
            prop_assert!(is_invalid);
        }
    }
}
