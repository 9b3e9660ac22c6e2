//! API keys for service clients: backends that cannot hold JWT signing keys or mint tokens.
//!
//! A key is `lbk_<id>_<secret>`: `id` 16 lowercase hex digits (public, names the key), `secret`
//! 64 lowercase hex digits (256 bits). It is shown once, when an admin creates it; the service
//! stores only its SHA-256 (the edge crate hashes). A key acts for one tenant with the roles it
//! was given (`service` and/or `admin`: a key has no player behind it, so `player` is refused), as
//! a token with those roles would; it may expire, and an admin revokes it by deleting it.

use serde::{Deserialize, Serialize};

use crate::access::Role;
use crate::error::{LeaderboardError, Result};
use crate::ids::TenantId;

/// Every key starts with this.
pub const PREFIX: &str = "lbk_";

/// The most keys a tenant keeps.
pub const MAX_KEYS: usize = 100;

/// A presented key, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedKey<'a> {
    /// The public id.
    pub id: &'a str,
    /// The whole key as presented (what is hashed).
    pub raw: &'a str,
}

fn hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether a credential looks like an API key (then it is checked as one, never as a JWT).
pub fn looks_like_key(credential: &str) -> bool {
    credential.starts_with(PREFIX)
}

/// Splits a presented key; `401` with the reason when it is not well-formed.
pub fn parse(raw: &str) -> Result<PresentedKey<'_>> {
    let bad = || {
        LeaderboardError::Unauthorized(
            "malformed API key: expected lbk_<16 hex digits>_<64 hex digits>".into(),
        )
    };
    let rest = raw.strip_prefix(PREFIX).ok_or_else(bad)?;
    let (id, secret) = rest.split_once('_').ok_or_else(bad)?;
    if !(hex(id, 16) && hex(secret, 64)) {
        return Err(bad());
    }
    Ok(PresentedKey { id, raw })
}

/// Formats a new key from its id and secret (16 and 64 hex digits).
pub fn format(id: &str, secret: &str) -> String {
    format!("{PREFIX}{id}_{secret}")
}

/// `POST /api/v1/api-keys`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyInput {
    /// What the key is for (1..=64 characters, shown in listings and audit entries).
    pub name: String,
    /// `service` and/or `admin`.
    pub roles: Vec<String>,
    /// RFC 3339; the key stops working then. Absent: until revoked.
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// A key as stored (no secret: its SHA-256).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    /// The public id.
    pub id: String,
    /// The tenant it acts for.
    pub tenant: String,
    /// What it is for.
    pub name: String,
    /// Its roles.
    pub roles: Vec<String>,
    /// Lowercase hex SHA-256 of the whole key.
    pub sha256: String,
    /// Unix ms.
    pub created_ms: i64,
    /// Unix ms, if it expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<i64>,
}

impl ApiKeyInput {
    /// Validates the request: the key's roles and expiry (`400` with the reason).
    pub fn validate(self, now_ms: i64) -> Result<(String, Vec<Role>, Option<i64>)> {
        let bad = |m: String| LeaderboardError::InvalidBody(format!("API key: {m}"));
        let name = self.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(bad("name must be 1..=64 printable characters".into()));
        }
        if self.roles.is_empty() {
            return Err(bad("give at least one role (service, admin)".into()));
        }
        let mut roles = Vec::new();
        for r in &self.roles {
            let role = match r.as_str() {
                "service" => Role::Service,
                "admin" => Role::Admin,
                "player" => {
                    return Err(bad(
                        "a key has no player behind it: use a player token for players".into(),
                    ));
                }
                other => return Err(bad(format!("unknown role '{other}' (service, admin)"))),
            };
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
        let expires_ms = match &self.expires_at {
            None => None,
            Some(raw) => {
                let t = chrono::DateTime::parse_from_rfc3339(raw)
                    .map_err(|_| bad(format!("expires_at '{raw}' is not an RFC 3339 timestamp")))?
                    .timestamp_millis();
                if t <= now_ms {
                    return Err(bad("expires_at is in the past".into()));
                }
                Some(t)
            }
        };
        Ok((name, roles, expires_ms))
    }
}

impl StoredKey {
    /// The principal a valid presentation of this key acts as, at `now_ms`: `401` when expired.
    pub fn principal(&self, now_ms: i64) -> Result<crate::access::Principal> {
        if self.expires_ms.is_some_and(|e| now_ms >= e) {
            return Err(LeaderboardError::Unauthorized(format!(
                "API key {} has expired",
                self.id
            )));
        }
        let roles = self
            .roles
            .iter()
            .filter_map(|r| match r.as_str() {
                "service" => Some(Role::Service),
                "admin" => Some(Role::Admin),
                _ => None,
            })
            .collect();
        Ok(crate::access::Principal::new(
            format!("key:{}", self.id),
            TenantId::new(self.tenant.as_str())?,
            roles,
        ))
    }

    /// The listing view: everything but the hash.
    pub fn view(&self) -> serde_json::Value {
        let ts = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        };
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "roles": self.roles,
            "created_at": ts(self.created_ms),
            "expires_at": self.expires_ms.and_then(ts),
            "prefix": format!("{PREFIX}{}_…", self.id),
        })
    }
}

/// Compares two equal-length strings without an early exit.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const KEY: &str =
        "lbk_0123456789abcdef_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn keys_parse_only_in_their_exact_shape() {
        let k = parse(KEY).unwrap();
        assert_eq!(k.id, "0123456789abcdef");
        assert!(looks_like_key(KEY));
        for bad in [
            "",
            "lbk_",
            "lbk_0123456789abcdef",
            "lbk_0123456789ABCDEF_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "lbk_0123456789abcde_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
            "lbk_0123456789abcdef_0123456789abcdef",
            "xyz_0123456789abcdef_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.status(), 401, "{bad}");
        }
        assert_eq!(
            format("0123456789abcdef", &KEY[21..]),
            KEY,
            "format is parse's inverse"
        );
    }

    #[test]
    fn inputs_are_validated() {
        let input = |v: serde_json::Value| serde_json::from_value::<ApiKeyInput>(v).unwrap();
        let (name, roles, exp) =
            input(serde_json::json!({"name": " ci ", "roles": ["service", "admin", "service"]}))
                .validate(0)
                .unwrap();
        assert_eq!(
            (name.as_str(), roles, exp),
            ("ci", vec![Role::Service, Role::Admin], None)
        );
        for (v, want) in [
            (
                serde_json::json!({"name": "", "roles": ["service"]}),
                "name",
            ),
            (
                serde_json::json!({"name": "x", "roles": []}),
                "at least one role",
            ),
            (
                serde_json::json!({"name": "x", "roles": ["player"]}),
                "no player",
            ),
            (
                serde_json::json!({"name": "x", "roles": ["root"]}),
                "unknown role",
            ),
            (
                serde_json::json!({"name": "x", "roles": ["service"], "expires_at": "soon"}),
                "RFC 3339",
            ),
            (
                serde_json::json!({"name": "x", "roles": ["service"], "expires_at": "2000-01-01T00:00:00Z"}),
                "past",
            ),
        ] {
            let err = input(v.clone())
                .validate(1_700_000_000_000)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{v}: {err}");
        }
    }

    #[test]
    fn a_stored_key_acts_for_its_tenant_until_it_expires() {
        let k = StoredKey {
            id: "0123456789abcdef".into(),
            tenant: "acme".into(),
            name: "ci".into(),
            roles: vec!["service".into()],
            sha256: "00".into(),
            created_ms: 0,
            expires_ms: Some(1_000),
        };
        let p = k.principal(999).unwrap();
        assert_eq!(p.subject, "key:0123456789abcdef");
        assert_eq!(p.tenant.as_str(), "acme");
        assert!(p.has(Role::Service) && !p.has(Role::Admin));
        assert_eq!(k.principal(1_000).unwrap_err().status(), 401);
        assert!(k.view().get("sha256").is_none());
        assert!(constant_time_eq("abc", "abc") && !constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
