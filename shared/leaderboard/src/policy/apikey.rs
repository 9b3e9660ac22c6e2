//! API keys for service clients: backends that cannot hold JWT signing keys or mint tokens.
//!
//! A key is `lbk_<id>_<secret>`: `id` 16 lowercase hex digits (public, names the key), `secret`
//! 64 lowercase hex digits (256 bits). It is shown once, when an admin creates it; the service
//! stores only its SHA-256 (the edge crate hashes). A key acts for one tenant with the roles it
//! was given (`service` and/or `admin`: a key has no player behind it, so `player` is refused), as
//! a token with those roles would; it may expire, and an admin revokes it by deleting it.

use serde::{Deserialize, Serialize};

use crate::error::{LeaderboardError, Result};
use crate::ids::TenantId;
use crate::policy::access::Role;

/// Every key starts with this.
pub const PREFIX: &str = "lbk_";

/// The most keys a tenant keeps.
pub const MAX_KEYS: usize = 100;
/// The longest name of a key, in characters.
pub const MAX_NAME_CHARS: usize = 64;

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

/// Hex digits of a key's public id.
pub const ID_HEX_DIGITS: usize = 16;
/// Hex digits of a key's secret, and of a signing secret after its prefix.
pub const SECRET_HEX_DIGITS: usize = 64;

/// Whether `id` can name a key (16 lowercase hex digits): anything else names no key.
pub fn is_key_id(id: &str) -> bool {
    hex(id, ID_HEX_DIGITS)
}

/// Whether a tenant that holds `count` keys may make another: the `max_api_keys` quota problem
/// past [`MAX_KEYS`].
pub fn admit_new_key(count: u64) -> Result<()> {
    if count >= MAX_KEYS as u64 {
        return Err(LeaderboardError::QuotaExceeded {
            quota: "max_api_keys".into(),
            detail: format!("a tenant keeps at most {MAX_KEYS} API keys; revoke unused ones"),
        });
    }
    Ok(())
}

/// A new key, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minted {
    /// Its public id.
    pub id: String,
    /// The whole key, shown once.
    pub key: String,
    /// The signing secret (`lbs_…`), shown once, when the key must sign its requests.
    pub signing_secret: Option<String>,
}

/// Makes a new key from `random_hex(n)`: `n` lowercase hex digits from a random source fit for
/// secrets (the host's).
pub fn mint(
    require_signature: bool,
    mut random_hex: impl FnMut(usize) -> Result<String>,
) -> Result<Minted> {
    let signing_secret = if require_signature {
        Some(format!(
            "{SIGNING_PREFIX}{}",
            random_hex(SECRET_HEX_DIGITS)?
        ))
    } else {
        None
    };
    let id = random_hex(ID_HEX_DIGITS)?;
    let secret = random_hex(SECRET_HEX_DIGITS)?;
    Ok(Minted {
        key: format(&id, &secret),
        id,
        signing_secret,
    })
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
    /// Requests with this key must be signed ([`SIGNATURE_HEADER`]): a signing secret is made
    /// and shown once with the key.
    #[serde(default)]
    pub require_signature: bool,
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
    /// The HMAC secret of a key whose requests must be signed (kept as is: verifying an HMAC
    /// needs it; it lives in Redis only, never in the edge cache's copy's listing views).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<String>,
}

impl ApiKeyInput {
    /// Validates the request: the key's roles and expiry (`400` with the reason).
    pub fn validate(self, now_ms: i64) -> Result<(String, Vec<Role>, Option<i64>)> {
        let bad = |m: String| LeaderboardError::InvalidBody(format!("API key: {m}"));
        let name = self.name.trim().to_string();
        if name.is_empty()
            || name.chars().count() > MAX_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(bad(format!(
                "name must be 1..={MAX_NAME_CHARS} printable characters"
            )));
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
                let t = crate::time::parse(raw).ok_or_else(|| {
                    bad(format!("expires_at '{raw}' is not an RFC 3339 timestamp"))
                })?;
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
    pub fn principal(&self, now_ms: i64) -> Result<crate::policy::access::Principal> {
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
        Ok(crate::policy::access::Principal::new(
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
            "require_signature": self.signing_secret.is_some(),
        })
    }
}

/// Every signing secret starts with this.
pub const SIGNING_PREFIX: &str = "lbs_";
/// The request header with the signature: `v1=<64 lowercase hex digits>`.
pub const SIGNATURE_HEADER: &str = "x-lb-signature";
/// The request header with the signing time, Unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-lb-timestamp";
/// How far the signing time may be from the server's clock, either way; a signature is
/// remembered this long twice over, so within the window it is accepted once.
pub const SIGNATURE_WINDOW_SECS: i64 = 300;

/// What a signed request's HMAC-SHA256 covers, lines joined by `\n`: the scheme `v1`, the
/// timestamp as sent, the method in upper case, the path with its query exactly as sent, and the
/// lowercase hex SHA-256 of the body (of the empty string when there is none).
pub fn string_to_sign(
    timestamp: &str,
    method: &str,
    path_and_query: &str,
    body_sha256: &str,
) -> String {
    format!(
        "v1\n{timestamp}\n{}\n{path_and_query}\n{body_sha256}",
        method.to_ascii_uppercase()
    )
}

/// Checks a signed request's headers against the clock: the signature's hex digits, or `401`
/// saying what is wrong.
pub fn check_signature_headers<'a>(
    key_id: &str,
    timestamp: Option<&str>,
    signature: Option<&'a str>,
    now_ms: i64,
) -> Result<&'a str> {
    let unauthorized = |m: String| LeaderboardError::Unauthorized(format!("API key {key_id}: {m}"));
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(unauthorized(format!(
            "requests with this key must be signed: send {TIMESTAMP_HEADER} (Unix seconds) and              {SIGNATURE_HEADER}: v1=<hex HMAC-SHA256>"
        )));
    };
    let ts: i64 = timestamp.trim().parse().map_err(|_| {
        unauthorized(format!(
            "{TIMESTAMP_HEADER} '{timestamp}' is not Unix seconds"
        ))
    })?;
    let skew = (now_ms / 1000 - ts).abs();
    if skew > SIGNATURE_WINDOW_SECS {
        return Err(unauthorized(format!(
            "the signature's timestamp is {skew} s away from the server's clock (allowed:              {SIGNATURE_WINDOW_SECS} s)"
        )));
    }
    match signature.trim().strip_prefix("v1=") {
        Some(hex_digits) if hex(hex_digits, 64) => Ok(hex_digits),
        _ => Err(unauthorized(format!(
            "{SIGNATURE_HEADER} must be v1=<64 lowercase hex digits>"
        ))),
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
            signing_secret: None,
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

    #[test]
    fn signed_requests_need_both_headers_a_fresh_timestamp_and_a_v1_signature() {
        let now = 1_700_000_000_000;
        let sig = format!("v1={}", "ab".repeat(32));
        assert_eq!(
            check_signature_headers("k", Some("1700000000"), Some(&sig), now).unwrap(),
            "ab".repeat(32)
        );
        for (ts, s, want) in [
            (None, Some(sig.as_str()), "must be signed"),
            (Some("1700000000"), None, "must be signed"),
            (Some("yesterday"), Some(sig.as_str()), "not Unix seconds"),
            (Some("1699999699"), Some(sig.as_str()), "301 s away"),
            (Some("1700000301"), Some(sig.as_str()), "301 s away"),
            (Some("1700000000"), Some("v2=00"), "v1=<64"),
            (Some("1700000000"), Some("v1=ABAB"), "v1=<64"),
        ] {
            let err = check_signature_headers("k", ts, s, now).unwrap_err();
            assert_eq!(err.status(), 401);
            assert!(err.to_string().contains(want), "{err}");
        }
        assert_eq!(
            string_to_sign("1700000000", "post", "/api/v1/boards/a/scores?x=1", "e3b0"),
            "v1\n1700000000\nPOST\n/api/v1/boards/a/scores?x=1\ne3b0"
        );
    }

    #[test]
    fn a_minted_key_parses_and_is_admitted_up_to_the_quota() {
        let mut n = 0u8;
        let minted = mint(true, |len| {
            n += 1;
            Ok(format!("{:x}", n % 16).repeat(len))
        })
        .unwrap();
        assert_eq!(
            minted.signing_secret,
            Some(format!("{SIGNING_PREFIX}{}", "1".repeat(64)))
        );
        assert_eq!(minted.id, "2".repeat(16));
        assert!(is_key_id(&minted.id));
        assert_eq!(parse(&minted.key).unwrap().id, minted.id);
        assert!(!is_key_id("ABCDEF0123456789"), "upper case names no key");
        assert!(!is_key_id("abc"));
        assert!(admit_new_key(MAX_KEYS as u64 - 1).is_ok());
        assert!(matches!(
            admit_new_key(MAX_KEYS as u64),
            Err(LeaderboardError::QuotaExceeded { quota, .. }) if quota == "max_api_keys"
        ));
    }
}
