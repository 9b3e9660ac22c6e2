//! Token minting for tests (cargo feature `testing`; always on in this crate's own tests).
//!
//! Claims are given as JSON objects and signed as-is, so tests can mint any claim set, including
//! broken ones (`"exp": "soon"`, no `sub`, …). These helpers panic on malformed *test* input
//! (invalid JSON, a public key where a private one is needed); they are not for production use.

use jwt_compact::alg::{Ed25519, Es256, Hs256, Hs256Key, Rsa, RsaPrivateKey};
use jwt_compact::jwk::{JsonWebKey, KeyType};
use jwt_compact::{Algorithm, AlgorithmExt, Claims, Header};
use serde_json::{Map, Value};

fn claims(claims_json: &str) -> Claims<Map<String, Value>> {
    match serde_json::from_str(claims_json) {
        Ok(map) => Claims::new(map),
        Err(e) => panic!("claims must be a JSON object: {e}"),
    }
}

fn header(kid: Option<&str>) -> Header {
    match kid {
        Some(kid) => Header::empty().with_key_id(kid),
        None => Header::empty(),
    }
}

fn sign<A: Algorithm>(alg: A, kid: Option<&str>, claims_json: &str, key: &A::SigningKey) -> String {
    match alg.token(&header(kid), &claims(claims_json), key) {
        Ok(token) => token,
        Err(e) => panic!("signing failed: {e}"),
    }
}

/// An HS256 token without `kid`, signed with the secret's UTF-8 bytes.
///
/// # Panics
///
/// If `claims_json` is not a JSON object.
pub fn mint_hs256(secret: &str, claims_json: &str) -> String {
    sign(Hs256, None, claims_json, &Hs256Key::new(secret.as_bytes()))
}

/// A token signed with a *private* JWK, the algorithm following from its type: `oct` → HS256,
/// `OKP` → EdDSA, `EC` → ES256, `RSA` → RS256; `kid` goes into the header.
///
/// # Panics
///
/// If the JWK is not a private key of a supported type or `claims_json` is not a JSON object.
pub fn mint_with_jwk(private_jwk_json: &str, kid: Option<&str>, claims_json: &str) -> String {
    let jwk: JsonWebKey<'_> = match serde_json::from_str(private_jwk_json) {
        Ok(jwk) => jwk,
        Err(e) => panic!("not a JWK: {e}"),
    };
    fn key<K: for<'a> TryFrom<&'a JsonWebKey<'a>, Error = jwt_compact::jwk::JwkError>>(
        jwk: &JsonWebKey<'_>,
    ) -> K {
        match K::try_from(jwk) {
            Ok(key) => key,
            Err(e) => panic!("not a private key of its type: {e}"),
        }
    }
    match jwk.key_type() {
        KeyType::Symmetric => sign(Hs256, kid, claims_json, &key::<Hs256Key>(&jwk)),
        KeyType::KeyPair => sign(
            Ed25519,
            kid,
            claims_json,
            &key::<<Ed25519 as Algorithm>::SigningKey>(&jwk),
        ),
        KeyType::EllipticCurve => sign(
            Es256,
            kid,
            claims_json,
            &key::<<Es256 as Algorithm>::SigningKey>(&jwk),
        ),
        KeyType::Rsa => sign(Rsa::rs256(), kid, claims_json, &key::<RsaPrivateKey>(&jwk)),
        other => panic!("unsupported key type {other}"),
    }
}

/// A JWKS (`{"keys": [...]}`) of the public halves of `(kid, private JWK JSON)` pairs, for
/// `AuthConfig::from_values`. `oct` keys stay as they are (they are their own verifying key).
///
/// # Panics
///
/// If a JWK does not parse.
pub fn public_jwks(keys: &[(&str, &str)]) -> String {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(kid, private_jwk_json)| {
            let jwk: JsonWebKey<'_> = match serde_json::from_str(private_jwk_json) {
                Ok(jwk) => jwk,
                Err(e) => panic!("not a JWK: {e}"),
            };
            let mut value = match serde_json::to_value(jwk.to_verifying_key()) {
                Ok(value) => value,
                Err(e) => panic!("JWK does not serialise: {e}"),
            };
            if let Value::Object(obj) = &mut value {
                obj.insert("kid".into(), Value::String((*kid).to_owned()));
            }
            value
        })
        .collect();
    serde_json::json!({ "keys": keys }).to_string()
}
