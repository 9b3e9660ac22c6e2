//! `AuthConfig::from_values`: JWKS parsing and configuration errors.

use super::*;

#[test]
fn config_errors_name_the_key() {
    let err = |secret: Option<&str>, jwks: &str| match AuthConfig::from_values(
        secret,
        Some(jwks),
        None,
        None,
    ) {
        Err(LeaderboardError::Misconfigured(m)) => m,
        other => panic!("expected a configuration error, got {other:?}"),
    };
    let short = err(Some("short"), "");
    assert_eq!(
        short,
        "auth configuration: jwt_hs256_secret is 5 bytes; HS256 needs at least 32"
    );
    assert!(
        !short.contains("short;"),
        "the secret itself is never echoed"
    );
    assert!(err(None, "{not json").contains("jwt_jwks is not valid JSON"));
    assert!(err(None, "[]").contains("must be a JSON object"));
    assert!(err(None, r#"{"keys":{}}"#).contains("'keys' must be an array"));
    let ok_ec = public_jwks(&[("ec", &KEYS.ec)]);
    let ok_ec: serde_json::Value = serde_json::from_str(&ok_ec).unwrap();
    let ec = ok_ec["keys"][0].clone();
    let mut p384 = ec.clone();
    p384["crv"] = "P-384".into();
    let jwks = serde_json::json!({"keys": [ec, p384]}).to_string();
    let m = err(None, &jwks);
    assert!(
        m.starts_with("auth configuration: jwt_jwks: keys[1] (kid 'ec'): "),
        "{m}"
    );
    let m = err(
        None,
        r#"{"keys":[{"kty":"oct","k":"c2hvcnQ","kid":"tiny"}]}"#,
    );
    assert!(
        m.contains("keys[0] (kid 'tiny'): an oct key of 5 bytes is too short"),
        "{m}"
    );
    let m = err(None, r#"{"keys":[{"kty":"XYZ","kid":"x"}]}"#);
    assert!(m.contains("keys[0] (kid 'x'): "), "{m}");
    let m = err(None, r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"!!"}]}"#);
    assert!(
        m.starts_with("auth configuration: jwt_jwks: keys[0]: "),
        "{m}"
    );
    let mut ed = serde_json::from_str::<serde_json::Value>(&public_jwks(&[("ed", &KEYS.ed)]))
        .unwrap()["keys"][0]
        .clone();
    ed["alg"] = "ES256".into();
    let m = err(None, &serde_json::json!({"keys": [ed.clone()]}).to_string());
    assert!(
        m.ends_with("'alg' is ES256 but the key type only fits EdDSA"),
        "{m}"
    );
    ed["alg"] = "EdDSA".into();
    ed["use"] = "enc".into();
    let m = err(None, &serde_json::json!({"keys": [ed.clone()]}).to_string());
    assert!(m.contains("'use' is \"enc\""), "{m}");
    ed["use"] = "sig".into();
    let mut no_kid = ed.clone();
    no_kid.as_object_mut().unwrap().remove("kid");
    let m = err(
        None,
        &serde_json::json!({"keys": [ed.clone(), no_kid]}).to_string(),
    );
    assert!(m.contains("keys[1] has no 'kid'"), "{m}");
    let m = err(
        None,
        &serde_json::json!({"keys": [ed.clone(), ed]}).to_string(),
    );
    assert!(m.contains("keys[1]: duplicate kid 'ed'"), "{m}");
    // A 1024-bit RSA modulus parses but is too weak.
    let n = {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
        let mut n = vec![0xc5u8; 128];
        n[127] |= 1;
        B64.encode(n)
    };
    let m = err(
        None,
        &format!(r#"{{"keys":[{{"kty":"RSA","kid":"old","n":"{n}","e":"AQAB"}}]}}"#),
    );
    assert!(
        m.contains("keys[0] (kid 'old'): an RSA key of 1024 bits is too short"),
        "{m}"
    );
}

#[test]
fn config_accepts_a_bare_jwk_and_redacts_the_secret() {
    let single = public_jwks(&[("ed", &KEYS.ed)]);
    let bare: serde_json::Value = serde_json::from_str(&single).unwrap();
    let bare = bare["keys"][0].to_string();
    let config = AuthConfig::from_values(Some(SECRET), Some(&bare), None, None).unwrap();
    assert_eq!(config.keys.len(), 1);
    assert_eq!(config.keys.keys()[0].kid(), Some("ed"));
    assert_eq!(config.keys.keys()[0].alg(), JwsAlg::EdDsa);
    let debug = format!("{config:?}");
    assert!(
        !debug.contains(SECRET) && debug.contains("redacted"),
        "{debug}"
    );
    assert_eq!(config.leeway_secs, DEFAULT_LEEWAY_SECS);
}
