//! Bearer-token authentication: `Authorization: Bearer <JWT>` → [`Principal`].
//!
//! Sans-I/O: [`AuthConfig::from_values`] takes the Spin variables' values (`jwt_hs256_secret`,
//! `jwt_jwks`, `jwt_issuer`, `jwt_audience`; an empty string means unset) and [`authenticate`]
//! takes the header value and the current time (`now_ms`), so everything here runs natively in
//! tests and unchanged in the wasm32-wasip2 guests. Signatures are verified by
//! [jwt-compact](https://docs.rs/jwt-compact/0.8) (no `clock` feature: time is an argument).
//!
//! # Decision order
//!
//! 1. No header → `Ok(None)` (anonymous; [`leaderboard::policy::access`] decides whether that is enough).
//! 2. Not `Bearer <token>`, longer than [`MAX_TOKEN_LEN`], or not a compact JWS → 401.
//! 3. The header's `alg` must be one of `HS256`, `EdDSA`, `ES256`, `RS256` ([`JwsAlg`]).
//! 4. Key choice: a `kid` selects that JWKS key (unknown → 401). Without a `kid`: the HS256
//!    secret if one is configured and the token says `HS256` (or there is no JWKS), else the
//!    JWKS's only key; with several JWKS keys a `kid` is required.
//! 5. The token's `alg` must be the chosen key's algorithm, else 401 "alg mismatch" — so an HS256
//!    token "signed" with an RSA public key's bytes never reaches an HMAC check.
//! 6. Signature, then claims: `exp` required and `nbf` optional, both with `leeway_secs`; `iss`
//!    and `aud` (string or array) when configured; `sub` required; `tid` optional (default
//!    tenant); `roles` an optional array of strings, unknown roles ignored.
//!
//! Every failure is [`LeaderboardError::Unauthorized`] with a precise reason that never contains
//! key material; configuration errors are [`LeaderboardError::Internal`] (a deployment bug, 500).

pub mod delegate;
mod keys;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;

use chrono::{DateTime, SecondsFormat, Utc};
use jwt_compact::alg::{Ed25519, Es256, Hs256, Rsa, StrongAlg};
use jwt_compact::{AlgorithmExt, Claims, Token, UntrustedToken, ValidationError};
use leaderboard::{LeaderboardError, Principal, Result, Role, TenantId};
use serde::Deserialize;
use serde_json::Value;

use keys::VerifyingKey;
pub use keys::{Hs256Secret, Jwk, JwsAlg, KeySet, MIN_HS256_SECRET_BYTES, MIN_RSA_BITS};

/// Default clock-skew allowance for `exp` and `nbf`, in seconds.
pub const DEFAULT_LEEWAY_SECS: u32 = 30;

/// Longest accepted token, in bytes; anything longer is rejected before decoding.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Longest claim or header value echoed back in an error message.
const MAX_ECHO_CHARS: usize = 64;

/// How tokens are verified: keys, expected issuer/audience and clock leeway.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// HS256 shared secret, used for `HS256` tokens without a `kid`.
    pub hs256_secret: Option<Hs256Secret>,
    /// Public (or `oct`) keys from a JWKS, selected by `kid`.
    pub keys: KeySet,
    /// Required `iss`, if set.
    pub issuer: Option<String>,
    /// Required member of `aud`, if set.
    pub audience: Option<String>,
    /// Clock-skew allowance for `exp`/`nbf`, in seconds.
    pub leeway_secs: u32,
}

impl Default for AuthConfig {
    /// No keys (every token is rejected), no issuer/audience check, default leeway.
    fn default() -> Self {
        Self {
            hs256_secret: None,
            keys: KeySet::default(),
            issuer: None,
            audience: None,
            leeway_secs: DEFAULT_LEEWAY_SECS,
        }
    }
}

impl AuthConfig {
    /// Builds the configuration from the Spin variables `jwt_hs256_secret`, `jwt_jwks`,
    /// `jwt_issuer`, `jwt_audience`; `None` or an empty string means unset.
    ///
    /// Errors ([`LeaderboardError::Internal`]) name the offending variable and, for a JWKS, the
    /// key (`keys[1] (kid 'ec-1'): ...`). Secrets are never echoed.
    pub fn from_values(
        hs256_secret: Option<&str>,
        jwks_json: Option<&str>,
        issuer: Option<&str>,
        audience: Option<&str>,
    ) -> Result<Self> {
        fn set(v: Option<&str>) -> Option<&str> {
            v.filter(|s| !s.trim().is_empty())
        }
        Ok(Self {
            hs256_secret: set(hs256_secret).map(Hs256Secret::new).transpose()?,
            keys: set(jwks_json)
                .map(KeySet::from_json)
                .transpose()?
                .unwrap_or_default(),
            issuer: set(issuer).map(str::to_owned),
            audience: set(audience).map(str::to_owned),
            leeway_secs: DEFAULT_LEEWAY_SECS,
        })
    }

    /// Whether any verification key is configured (if not, every token is rejected).
    pub fn has_keys(&self) -> bool {
        self.hs256_secret.is_some() || !self.keys.is_empty()
    }
}

/// Custom claims read from a verified token; checked by hand for precise messages.
#[derive(Deserialize)]
struct CustomClaims {
    sub: Option<Value>,
    tid: Option<Value>,
    roles: Option<Value>,
    iss: Option<Value>,
    aud: Option<Value>,
}

fn unauthorized(reason: impl Into<String>) -> LeaderboardError {
    LeaderboardError::Unauthorized(reason.into())
}

/// A client-supplied string, shortened for inclusion in a message.
fn echo(s: &str) -> String {
    if s.chars().count() <= MAX_ECHO_CHARS {
        s.to_owned()
    } else {
        let mut short: String = s.chars().take(MAX_ECHO_CHARS).collect();
        short.push('…');
        short
    }
}

/// A token whose key is in the JWKS: what the calling component hands to the tokens component
/// (`functions/tokens`, [`delegate`]) to verify, with the configuration it is judged under (a
/// cached verdict holds only for the same configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delegated<'a> {
    /// The compact JWS, without `Bearer `.
    pub token: &'a str,
    /// The `jwt_jwks` variable's text.
    pub jwks: &'a str,
    /// The `jwt_issuer` variable, if set.
    pub issuer: Option<&'a str>,
    /// The `jwt_audience` variable, if set.
    pub audience: Option<&'a str>,
}

/// A variable's value, `None` when unset or blank.
fn set(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

/// Authenticates the `Authorization` header with the configuration read from variables
/// (`jwt_hs256_secret`, `jwt_jwks`, `jwt_issuer`, `jwt_audience`) through `variable`, reading
/// only what this token needs.
///
/// The API components verify HS256 tokens signed with the configured secret themselves. A token
/// that needs a JWKS key (it has a `kid`, is not HS256, or no secret is set) goes to `by_jwks`
/// when a JWKS is configured — in the components, [`delegate::verify`]: the tokens component,
/// the only one that links the EdDSA, ES256 and RS256 code. Without a JWKS such a token is
/// refused here, for the same reason [`authenticate`] gives. The outcome is always the one
/// [`authenticate`] reaches with everything read.
pub async fn authenticate_with(
    variable: impl AsyncFn(&str) -> Option<String>,
    authorization: Option<&str>,
    now_ms: i64,
    by_jwks: impl AsyncFnOnce(&Delegated<'_>) -> Result<Principal>,
) -> Result<Option<Principal>> {
    let Some(header) = authorization else {
        return Ok(None);
    };
    let token = bearer_token(header)?;
    let untrusted = untrusted(token)?;
    let alg = accepted_alg(&untrusted)?;
    let secret = set(variable(crate::settings::JWT_HS256_SECRET.name).await);
    let needs_jwks =
        untrusted.header().key_id.is_some() || alg != JwsAlg::Hs256 || secret.is_none();
    let issuer = set(variable(crate::settings::JWT_ISSUER.name).await);
    let audience = set(variable(crate::settings::JWT_AUDIENCE.name).await);
    if needs_jwks && let Some(jwks) = set(variable(crate::settings::JWT_JWKS.name).await) {
        return by_jwks(&Delegated {
            token,
            jwks: &jwks,
            issuer: issuer.as_deref(),
            audience: audience.as_deref(),
        })
        .await
        .map(Some);
    }
    let config = AuthConfig {
        hs256_secret: secret.as_deref().map(Hs256Secret::new).transpose()?,
        keys: KeySet::default(),
        issuer,
        audience,
        leeway_secs: DEFAULT_LEEWAY_SECS,
    };
    checked(&config, &untrusted, alg, now_ms, verify_secret).map(|(p, _)| Some(p))
}

/// Verifies the `Authorization` header value, if any, at `now_ms` (Unix milliseconds UTC).
///
/// `Ok(None)` when there is no header; `Ok(Some(principal))` for a valid token; otherwise
/// [`LeaderboardError::Unauthorized`] saying why. Never panics on any input.
pub fn authenticate(
    config: &AuthConfig,
    authorization: Option<&str>,
    now_ms: i64,
) -> Result<Option<Principal>> {
    let Some(header) = authorization else {
        return Ok(None);
    };
    verify_token(config, bearer_token(header)?, now_ms).map(|(p, _)| Some(p))
}

/// Verifies a compact JWS (no `Bearer `) with every algorithm: the caller and the token's
/// `exp` in Unix milliseconds (how long the verdict holds). What the tokens component runs.
pub fn verify_token(config: &AuthConfig, token: &str, now_ms: i64) -> Result<(Principal, i64)> {
    let untrusted = untrusted(token)?;
    let alg = accepted_alg(&untrusted)?;
    checked(config, &untrusted, alg, now_ms, verify)
}

fn untrusted(token: &str) -> Result<UntrustedToken<'_>> {
    UntrustedToken::new(token).map_err(|e| unauthorized(format!("malformed token: {e}")))
}

fn accepted_alg(untrusted: &UntrustedToken<'_>) -> Result<JwsAlg> {
    let alg_name = untrusted.algorithm();
    JwsAlg::from_name(alg_name).ok_or_else(|| {
        unauthorized(format!(
            "token alg '{}' is not accepted (accepted: HS256, EdDSA, ES256, RS256)",
            echo(alg_name)
        ))
    })
}

/// Key choice, signature (`verify_with`) and claims: the principal and the token's `exp` (ms).
fn checked(
    config: &AuthConfig,
    untrusted: &UntrustedToken<'_>,
    alg: JwsAlg,
    now_ms: i64,
    verify_with: fn(&VerifyingKey, &UntrustedToken<'_>) -> Result<Token<CustomClaims>>,
) -> Result<(Principal, i64)> {
    let kid = untrusted.header().key_id.as_deref();
    let (key, key_name) = select_key(config, kid, alg)?;
    if key.alg() != alg {
        return Err(unauthorized(format!(
            "alg mismatch: the token says {alg} but {key_name} is an {} key",
            key.alg()
        )));
    }
    let claims = verify_with(key, untrusted)?.into_parts().1;
    let exp_ms = check_time(&claims, now_ms, config.leeway_secs)?;
    Ok((principal(config, claims.custom)?, exp_ms))
}

fn bearer_token(header: &str) -> Result<&str> {
    let malformed = || unauthorized("the Authorization header must be 'Bearer <token>'");
    let (scheme, token) = header.trim().split_once(' ').ok_or_else(malformed)?;
    let token = token.trim_start();
    if !scheme.eq_ignore_ascii_case("bearer")
        || token.is_empty()
        || token.contains(char::is_whitespace)
    {
        return Err(malformed());
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(unauthorized(format!(
            "the token is {} bytes, longer than the limit of {MAX_TOKEN_LEN}",
            token.len()
        )));
    }
    Ok(token)
}

/// Chooses the verification key and names it for messages.
fn select_key<'c>(
    config: &'c AuthConfig,
    kid: Option<&str>,
    alg: JwsAlg,
) -> Result<(&'c VerifyingKey, String)> {
    if let Some(kid) = kid {
        return match config.keys.by_kid(kid) {
            Some(jwk) => Ok((&jwk.key, format!("key '{}'", echo(kid)))),
            None => Err(unauthorized(format!("unknown key id '{}'", echo(kid)))),
        };
    }
    if let Some(secret) = &config.hs256_secret
        && (alg == JwsAlg::Hs256 || config.keys.is_empty())
    {
        return Ok((&secret.0, "the configured HS256 secret".to_owned()));
    }
    match config.keys.keys() {
        [only] => Ok((&only.key, "the configured key".to_owned())),
        [] => Err(unauthorized(format!(
            "no key is configured to verify {alg} tokens"
        ))),
        _ => Err(unauthorized(
            "the token has no 'kid' header, which is required because several keys are configured",
        )),
    }
}

fn verify(key: &VerifyingKey, untrusted: &UntrustedToken<'_>) -> Result<Token<CustomClaims>> {
    match key {
        VerifyingKey::Hs256(k) => Hs256.validator(k).validate(untrusted),
        VerifyingKey::EdDsa(k) => Ed25519.validator(k).validate(untrusted),
        VerifyingKey::Es256(k) => Es256.validator(k).validate(untrusted),
        VerifyingKey::Rs256(k) => StrongAlg(Rsa::rs256()).validator(k).validate(untrusted),
    }
    .map_err(rejected)
}

/// [`verify`] for the HS256 secret only: what the API components link (no asymmetric code).
fn verify_secret(
    key: &VerifyingKey,
    untrusted: &UntrustedToken<'_>,
) -> Result<Token<CustomClaims>> {
    match key {
        VerifyingKey::Hs256(k) => Hs256.validator(k).validate(untrusted).map_err(rejected),
        other => Err(LeaderboardError::Internal(format!(
            "a {} key reached the HS256-only verifier",
            other.alg()
        ))),
    }
}

fn rejected(e: ValidationError) -> LeaderboardError {
    unauthorized(match e {
        ValidationError::InvalidSignature
        | ValidationError::InvalidSignatureLen { .. }
        | ValidationError::MalformedSignature(_) => "signature does not verify".to_owned(),
        ValidationError::MalformedClaims(e) => format!("malformed claims: {e}"),
        ValidationError::AlgorithmMismatch { expected, actual } => {
            format!(
                "alg mismatch: the token says {} but the key is {expected}",
                echo(&actual)
            )
        }
        other => format!("invalid token: {other}"),
    })
}

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Checks `exp` and `nbf`; returns `exp` in Unix milliseconds.
fn check_time(claims: &Claims<CustomClaims>, now_ms: i64, leeway_secs: u32) -> Result<i64> {
    let leeway_ms = i64::from(leeway_secs) * 1000;
    let exp = claims
        .expiration
        .ok_or_else(|| unauthorized("the token has no 'exp' claim"))?;
    if now_ms > exp.timestamp_millis().saturating_add(leeway_ms) {
        return Err(unauthorized(format!("token expired at {}", rfc3339(&exp))));
    }
    if let Some(nbf) = claims.not_before
        && now_ms.saturating_add(leeway_ms) < nbf.timestamp_millis()
    {
        return Err(unauthorized(format!(
            "token is not valid before {}",
            rfc3339(&nbf)
        )));
    }
    Ok(exp.timestamp_millis())
}

fn string_claim(name: &str, value: Option<Value>) -> Result<Option<String>> {
    match value {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(unauthorized(format!("claim '{name}' must be a string"))),
    }
}

fn principal(config: &AuthConfig, claims: CustomClaims) -> Result<Principal> {
    if let Some(expected) = &config.issuer {
        match string_claim("iss", claims.iss)? {
            None => return Err(unauthorized("the token has no 'iss' claim")),
            Some(iss) if &iss != expected => {
                return Err(unauthorized(format!(
                    "issuer '{}' is not accepted",
                    echo(&iss)
                )));
            }
            Some(_) => {}
        }
    }
    if let Some(expected) = &config.audience {
        check_audience(claims.aud, expected)?;
    }
    let subject = string_claim("sub", claims.sub)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| unauthorized("the token has no 'sub' claim"))?;
    let tenant = match string_claim("tid", claims.tid)? {
        None => TenantId::default(),
        Some(tid) => TenantId::new(tid.as_str())
            .map_err(|e| unauthorized(format!("claim 'tid' '{}' is not valid: {e}", echo(&tid))))?,
    };
    let roles = match claims.roles {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let mut roles = Vec::new();
            for item in items {
                let Value::String(name) = item else {
                    return Err(unauthorized("claim 'roles' must be an array of strings"));
                };
                if let Some(role) = Role::from_claim(&name)
                    && !roles.contains(&role)
                {
                    roles.push(role);
                }
            }
            roles
        }
        Some(_) => return Err(unauthorized("claim 'roles' must be an array of strings")),
    };
    Ok(Principal::new(subject, tenant, roles))
}

fn check_audience(aud: Option<Value>, expected: &str) -> Result<()> {
    match aud {
        None => Err(unauthorized("the token has no 'aud' claim")),
        Some(Value::String(aud)) if aud == expected => Ok(()),
        Some(Value::String(aud)) => Err(unauthorized(format!(
            "audience '{}' is not accepted",
            echo(&aud)
        ))),
        Some(Value::Array(items)) => {
            let mut names = Vec::with_capacity(items.len());
            for item in &items {
                let Value::String(name) = item else {
                    return Err(unauthorized(
                        "claim 'aud' must be a string or an array of strings",
                    ));
                };
                if name == expected {
                    return Ok(());
                }
                names.push(format!("'{}'", echo(name)));
            }
            Err(unauthorized(format!(
                "none of the audiences [{}] is accepted",
                echo(&names.join(", "))
            )))
        }
        Some(_) => Err(unauthorized(
            "claim 'aud' must be a string or an array of strings",
        )),
    }
}
