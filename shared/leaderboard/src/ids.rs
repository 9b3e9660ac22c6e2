//! Validated identifiers: [`TenantId`], [`BoardId`], [`PlayerId`].
//!
//! - Tenant and board ids: `^[a-z0-9][a-z0-9_-]{0,63}$` (safe inside Redis hash tags and URLs).
//! - Player ids: `^[A-Za-z0-9._~-]{1,64}$`, the URL-unreserved set, so a player id is path-safe
//!   without escaping and can be appended to a sorted-set member.
//!
//! All three serialise as plain JSON strings and are validated when deserialised.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

use crate::error::{IdKind, LeaderboardError, Result};

/// Maximum length of any id, in characters (all valid ids are ASCII, so also bytes).
pub const MAX_ID_LEN: usize = 64;

/// The tenant used when a token carries no `tid` claim.
pub const DEFAULT_TENANT: &str = "default";

fn invalid(kind: IdKind, reason: String) -> LeaderboardError {
    LeaderboardError::InvalidId { kind, reason }
}

fn check_common(kind: IdKind, s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(invalid(kind, "is empty".into()));
    }
    let len = s.chars().count();
    if len > MAX_ID_LEN {
        return Err(invalid(
            kind,
            format!("is {len} characters long, at most {MAX_ID_LEN} allowed"),
        ));
    }
    Ok(())
}

/// Whether `raw` is a short label, `^[a-z0-9][a-z0-9_-]{0,31}$`: a rate-limit policy's name, a
/// tournament's category, a cohort's band, a league's tier.
pub fn is_label(raw: &str) -> bool {
    let b = raw.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-')
}

/// Validates a tenant or board id (`^[a-z0-9][a-z0-9_-]{0,63}$`).
fn check_slug(kind: IdKind, s: &str) -> Result<()> {
    check_common(kind, s)?;
    for (pos, c) in s.chars().enumerate() {
        let ok =
            c.is_ascii_lowercase() || c.is_ascii_digit() || (pos > 0 && (c == '_' || c == '-'));
        if !ok {
            let allowed = if pos == 0 {
                "the first character must be a-z or 0-9"
            } else {
                "allowed: a-z, 0-9, '_' and '-'"
            };
            return Err(invalid(
                kind,
                format!("invalid character {c:?} at position {pos} ({allowed})"),
            ));
        }
    }
    Ok(())
}

/// Validates a player id (`^[A-Za-z0-9._~-]{1,64}$`).
fn check_player(s: &str) -> Result<()> {
    check_common(IdKind::Player, s)?;
    for (pos, c) in s.chars().enumerate() {
        if !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '-')) {
            return Err(invalid(
                IdKind::Player,
                format!(
                    "invalid character {c:?} at position {pos} (allowed: A-Z, a-z, 0-9, '.', '_', '~' and '-')"
                ),
            ));
        }
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an id.
            pub fn new(value: impl Into<String>) -> Result<Self> {
                let value = value.into();
                let check: fn(&str) -> Result<()> = $check;
                check(&value)?;
                Ok(Self(value))
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = LeaderboardError;
            fn try_from(value: String) -> Result<Self> {
                Self::new(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = LeaderboardError;
            fn try_from(value: &str) -> Result<Self> {
                Self::new(value)
            }
        }

        impl FromStr for $name {
            type Err = LeaderboardError;
            fn from_str(value: &str) -> Result<Self> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A tenant id (`^[a-z0-9][a-z0-9_-]{0,63}$`); defaults to [`DEFAULT_TENANT`].
    TenantId,
    |s| check_slug(IdKind::Tenant, s)
);
id_type!(
    /// A board id (`^[a-z0-9][a-z0-9_-]{0,63}$`).
    BoardId,
    |s| check_slug(IdKind::Board, s)
);
id_type!(
    /// A player id (`^[A-Za-z0-9._~-]{1,64}$`, URL-unreserved characters only).
    PlayerId,
    check_player
);

impl Default for TenantId {
    fn default() -> Self {
        Self(DEFAULT_TENANT.to_owned())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reason(e: LeaderboardError) -> String {
        match e {
            LeaderboardError::InvalidId { reason, .. } => reason,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn valid_ids() {
        assert_eq!(TenantId::default().as_str(), "default");
        assert!(BoardId::new("weekly-race_2").is_ok());
        assert!(BoardId::new("0").is_ok());
        assert!(BoardId::new("a".repeat(64)).is_ok());
        assert!(PlayerId::new("Alice.B_c~d-9").is_ok());
        assert!(PlayerId::new("~").is_ok());
    }

    #[test]
    fn invalid_ids_say_what_is_wrong() {
        let e = BoardId::new("").unwrap_err();
        assert_eq!(
            e,
            LeaderboardError::InvalidId {
                kind: IdKind::Board,
                reason: "is empty".into()
            }
        );
        assert_eq!(e.to_string(), "invalid board id: is empty");
        assert_eq!(
            reason(TenantId::new("a".repeat(65)).unwrap_err()),
            "is 65 characters long, at most 64 allowed"
        );
        assert_eq!(
            reason(BoardId::new("Race").unwrap_err()),
            "invalid character 'R' at position 0 (the first character must be a-z or 0-9)"
        );
        assert_eq!(
            reason(BoardId::new("-race").unwrap_err()),
            "invalid character '-' at position 0 (the first character must be a-z or 0-9)"
        );
        assert_eq!(
            reason(TenantId::new("acme corp").unwrap_err()),
            "invalid character ' ' at position 4 (allowed: a-z, 0-9, '_' and '-')"
        );
        let e = PlayerId::new("bob/evil").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid player id: invalid character '/' at position 3")
        );
        assert!(PlayerId::new("é").is_err());
        assert!(PlayerId::new("a".repeat(65)).is_err());
    }

    #[test]
    fn serde_is_a_validated_string() {
        let p: PlayerId = serde_json::from_str("\"p-1\"").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"p-1\"");
        let err = serde_json::from_str::<PlayerId>("\"p 1\"").unwrap_err();
        assert!(err.to_string().contains("invalid player id"), "{err}");
        assert!(serde_json::from_str::<BoardId>("17").is_err());
    }

    proptest! {
        #[test]
        fn slug_regex_agrees(s in "[a-z0-9][a-z0-9_-]{0,63}") {
            prop_assert!(BoardId::new(s.clone()).is_ok());
            prop_assert!(TenantId::new(s).is_ok());
        }

        #[test]
        fn player_regex_agrees(s in "[A-Za-z0-9._~-]{1,64}") {
            let id = PlayerId::new(s.clone()).unwrap();
            prop_assert_eq!(id.as_str(), s.as_str());
        }

        #[test]
        fn arbitrary_strings_never_panic_and_match_regex(s in ".{0,80}") {
            let player_ok = !s.is_empty() && s.chars().count() <= 64
                && s.chars().all(|c| c.is_ascii_alphanumeric() || ".-_~".contains(c));
            prop_assert_eq!(PlayerId::new(s.clone()).is_ok(), player_ok);
            let slug_ok = !s.is_empty() && s.chars().count() <= 64
                && s.chars().enumerate().all(|(i, c)| c.is_ascii_lowercase() || c.is_ascii_digit()
                    || (i > 0 && (c == '_' || c == '-')));
            prop_assert_eq!(BoardId::new(s).is_ok(), slug_ok);
        }
    }
}
