//! Verification keys: the HS256 shared secret and a JWKS (RFC 7517).
//!
//! Each JWK is decoded and converted by jwt-compact itself (`jwt_compact::jwk::JsonWebKey` and its
//! `TryFrom<&JsonWebKey>` impls for `Hs256Key`, the Ed25519 and P-256 public keys and
//! `RsaPublicKey`), which checks `kty`, `crv` and coordinate lengths. Written here by hand, because
//! jwt-compact has no notion of a key *set*: the `{"keys": [...]}` envelope, reading the
//! `kid`/`alg`/`use` members (its `JsonWebKey` ignores them), the `alg`-fits-`kty` check, and the
//! key-strength floors: RSA ≥ 2048 bits via jwt-compact's `StrongKey` (the bit count in the
//! message is computed here); HS256 ≥ 32 bytes checked here, because `StrongKey<Hs256Key>` wants
//! the 64-byte SHA-256 *block* size, stricter than RFC 7518 §3.2 (the 32-byte hash output).

use std::fmt;

use jwt_compact::Algorithm;
use jwt_compact::alg::{Ed25519, Es256, Hs256Key, RsaPublicKey, StrongKey};
use jwt_compact::jwk::{JsonWebKey, KeyType};
use leaderboard::LeaderboardError;
use serde_json::Value;

/// Minimum HS256 secret length in bytes (RFC 7518 §3.2: a key as long as the hash output).
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// Minimum RSA modulus length in bits (RFC 7518 §3.3).
pub const MIN_RSA_BITS: usize = 2048;

/// A JWS algorithm this service accepts. Anything else (`none`, `HS384`, `PS256`, …) is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwsAlg {
    /// HMAC-SHA-256 with a shared secret (`kty: oct`).
    Hs256,
    /// Ed25519 signatures (`kty: OKP`, `crv: Ed25519`).
    EdDsa,
    /// ECDSA on P-256 with SHA-256 (`kty: EC`, `crv: P-256`).
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`kty: RSA`, ≥ 2048 bits).
    Rs256,
}

impl JwsAlg {
    /// Every accepted algorithm.
    pub const ALL: [JwsAlg; 4] = [Self::Hs256, Self::EdDsa, Self::Es256, Self::Rs256];

    /// The JOSE name used in the `alg` header: `HS256`, `EdDSA`, `ES256`, `RS256`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::EdDsa => "EdDSA",
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }

    /// Parses a JOSE `alg` name (case-sensitive, as RFC 7515 requires).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl fmt::Display for JwsAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A public (or, for HS256, shared) key able to verify exactly one [`JwsAlg`].
#[derive(Clone)]
pub(crate) enum VerifyingKey {
    Hs256(Hs256Key),
    EdDsa(<Ed25519 as Algorithm>::VerifyingKey),
    Es256(<Es256 as Algorithm>::VerifyingKey),
    Rs256(StrongKey<RsaPublicKey>),
}

impl VerifyingKey {
    pub(crate) fn alg(&self) -> JwsAlg {
        match self {
            Self::Hs256(_) => JwsAlg::Hs256,
            Self::EdDsa(_) => JwsAlg::EdDsa,
            Self::Es256(_) => JwsAlg::Es256,
            Self::Rs256(_) => JwsAlg::Rs256,
        }
    }
}

/// The HS256 shared secret (`jwt_hs256_secret`): its UTF-8 bytes are the HMAC key.
/// `Debug` never prints it.
#[derive(Clone)]
pub struct Hs256Secret(pub(crate) VerifyingKey);

impl Hs256Secret {
    /// Wraps a secret of at least [`MIN_HS256_SECRET_BYTES`] bytes.
    pub fn new(secret: &str) -> Result<Self, LeaderboardError> {
        if secret.len() < MIN_HS256_SECRET_BYTES {
            return Err(config_error(format!(
                "jwt_hs256_secret is {} bytes; HS256 needs at least {MIN_HS256_SECRET_BYTES}",
                secret.len()
            )));
        }
        Ok(Self(VerifyingKey::Hs256(Hs256Key::new(secret.as_bytes()))))
    }
}

impl fmt::Debug for Hs256Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hs256Secret(<redacted>)")
    }
}

/// One key of a [`KeySet`], with its optional `kid`.
#[derive(Clone)]
pub struct Jwk {
    kid: Option<String>,
    pub(crate) key: VerifyingKey,
}

impl Jwk {
    /// The key's `kid`, if it has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The one algorithm this key verifies.
    pub fn alg(&self) -> JwsAlg {
        self.key.alg()
    }
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kid", &self.kid)
            .field("alg", &self.alg())
            .finish()
    }
}

/// A parsed JSON Web Key Set (`jwt_jwks`).
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<Jwk>,
}

impl KeySet {
    /// Parses `{"keys": [JWK, ...]}` (a single bare JWK object is accepted too).
    ///
    /// Supported: `oct` (HS256), `OKP`/`Ed25519` (EdDSA), `EC`/`P-256` (ES256), `RSA` (RS256).
    /// A key's optional `alg` must be the one its type implies and its optional `use` must be
    /// `sig`. With more than one key every key needs a distinct `kid`. Errors name the key:
    /// `keys[1] (kid 'ec-1'): ...`.
    pub fn from_json(json: &str) -> Result<Self, LeaderboardError> {
        let value: Value = serde_json::from_slice(json.as_bytes())
            .map_err(|e| config_error(format!("jwt_jwks is not valid JSON: {e}")))?;
        let raw_keys = match value {
            Value::Object(mut obj) if obj.contains_key("keys") => match obj.remove("keys") {
                Some(Value::Array(keys)) => keys,
                _ => return Err(config_error("jwt_jwks: 'keys' must be an array".into())),
            },
            Value::Object(obj) if obj.contains_key("kty") => vec![Value::Object(obj)],
            _ => {
                return Err(config_error(
                    "jwt_jwks must be a JSON object {\"keys\": [...]} (RFC 7517 §5)".into(),
                ));
            }
        };
        let mut keys = Vec::with_capacity(raw_keys.len());
        for (index, raw) in raw_keys.into_iter().enumerate() {
            keys.push(parse_jwk(index, raw)?);
        }
        if keys.len() > 1 {
            for (index, key) in keys.iter().enumerate() {
                let Some(kid) = key.kid() else {
                    return Err(config_error(format!(
                        "jwt_jwks: keys[{index}] has no 'kid'; with several keys every key needs one"
                    )));
                };
                if keys[..index].iter().any(|k| k.kid() == Some(kid)) {
                    return Err(config_error(format!(
                        "jwt_jwks: keys[{index}]: duplicate kid '{kid}'"
                    )));
                }
            }
        }
        Ok(Self { keys })
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys, in JWKS order.
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// The key with this `kid`.
    pub fn by_kid(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid() == Some(kid))
    }
}

/// A key variable the checks cannot use: `misconfigured` ([`crate::settings`]'s rule), saying
/// which and why (never a secret's value; a JWKS holds public keys only).
pub(crate) fn config_error(message: String) -> LeaderboardError {
    LeaderboardError::Misconfigured(format!("auth configuration: {message}"))
}

fn parse_jwk(index: usize, raw: Value) -> Result<Jwk, LeaderboardError> {
    let kid = match raw.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => {
            return Err(config_error(format!(
                "jwt_jwks: keys[{index}]: 'kid' must be a string"
            )));
        }
    };
    let name = match &kid {
        Some(kid) => format!("keys[{index}] (kid '{kid}')"),
        None => format!("keys[{index}]"),
    };
    let fail = |detail: String| config_error(format!("jwt_jwks: {name}: {detail}"));
    let declared_alg = match raw.get("alg") {
        None => None,
        Some(Value::String(alg)) => Some(alg.clone()),
        Some(_) => return Err(fail("'alg' must be a string".into())),
    };
    match raw.get("use") {
        None => {}
        Some(Value::String(u)) if u == "sig" => {}
        Some(other) => return Err(fail(format!("'use' is {other}, only \"sig\" is supported"))),
    }
    let jwk: JsonWebKey<'static> = serde_json::from_value(raw).map_err(|e| fail(e.to_string()))?;
    let key = match jwk.key_type() {
        KeyType::Symmetric => {
            let key = Hs256Key::try_from(&jwk).map_err(|e| fail(e.to_string()))?;
            let len = key.as_ref().len();
            if len < MIN_HS256_SECRET_BYTES {
                return Err(fail(format!(
                    "an oct key of {len} bytes is too short; HS256 needs at least \
                     {MIN_HS256_SECRET_BYTES}"
                )));
            }
            VerifyingKey::Hs256(key)
        }
        KeyType::KeyPair => VerifyingKey::EdDsa(
            <Ed25519 as Algorithm>::VerifyingKey::try_from(&jwk)
                .map_err(|e| fail(e.to_string()))?,
        ),
        KeyType::EllipticCurve => VerifyingKey::Es256(
            <Es256 as Algorithm>::VerifyingKey::try_from(&jwk).map_err(|e| fail(e.to_string()))?,
        ),
        KeyType::Rsa => {
            let bits = match &jwk {
                JsonWebKey::Rsa { modulus, .. } => modulus_bits(modulus),
                _ => 0,
            };
            let key = RsaPublicKey::try_from(&jwk).map_err(|e| fail(e.to_string()))?;
            let strong = StrongKey::try_from(key).map_err(|_| {
                fail(format!(
                    "an RSA key of {bits} bits is too short; RS256 needs at least {MIN_RSA_BITS}"
                ))
            })?;
            VerifyingKey::Rs256(strong)
        }
        other => return Err(fail(format!("unsupported key type {other}"))),
    };
    if let Some(alg) = declared_alg {
        match JwsAlg::from_name(&alg) {
            Some(a) if a == key.alg() => {}
            Some(_) => {
                return Err(fail(format!(
                    "'alg' is {alg} but the key type only fits {}",
                    key.alg()
                )));
            }
            None => {
                return Err(fail(format!(
                    "'alg' {alg} is not supported (accepted: HS256, EdDSA, ES256, RS256)"
                )));
            }
        }
    }
    Ok(Jwk { kid, key })
}

/// Bit length of a big-endian unsigned integer.
fn modulus_bits(bytes: &[u8]) -> usize {
    let mut rest = bytes.iter().skip_while(|b| **b == 0);
    match rest.next() {
        None => 0,
        Some(first) => (8 - first.leading_zeros() as usize) + 8 * rest.count(),
    }
}
