#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::LazyLock;

use jwt_compact::Algorithm;
use jwt_compact::alg::{Ed25519, Es256, Hs256Key, ModulusBits, Rsa};
use jwt_compact::jwk::JsonWebKey;
use proptest::prelude::*;
use rand_core::OsRng;

use super::testing::{mint_hs256, mint_with_jwk, public_jwks};
use super::*;

mod config;

/// 2026-01-01T00:00:00Z.
const NOW_MS: i64 = 1_767_225_600_000;
const NOW: i64 = NOW_MS / 1000;
const SECRET: &str = "an-hs256-secret-of-at-least-32-bytes!";

/// Private JWKs, generated once per test binary (RSA generation is the slow part).
struct Keys {
    ed: String,
    ed_other: String,
    ec: String,
    rsa: String,
    oct: String,
    /// The RSA public key's JWK text, as an attacker would find it published.
    rsa_public_text: String,
}

fn jwk_json(jwk: &JsonWebKey<'_>) -> String {
    serde_json::to_string(jwk).unwrap()
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let (ed, _) = Ed25519::generate(&mut OsRng);
    let (ed_other, _) = Ed25519::generate(&mut OsRng);
    let ec = <Es256 as Algorithm>::SigningKey::random(&mut OsRng);
    let (rsa, rsa_public) = Rsa::generate(&mut OsRng, ModulusBits::TwoKibibytes).unwrap();
    let oct = Hs256Key::new(b"an oct key from the JWKS, 32+ bytes long");
    Keys {
        ed: jwk_json(&JsonWebKey::from(&ed)),
        ed_other: jwk_json(&JsonWebKey::from(&ed_other)),
        ec: jwk_json(&JsonWebKey::from(&ec)),
        rsa: jwk_json(&JsonWebKey::from(rsa.as_ref())),
        oct: jwk_json(&JsonWebKey::from(&oct)),
        rsa_public_text: jwk_json(&JsonWebKey::from(rsa_public.as_ref())),
    }
});

fn jwks() -> String {
    let k = &*KEYS;
    public_jwks(&[
        ("ed", &k.ed),
        ("ec", &k.ec),
        ("rsa", &k.rsa),
        ("oct", &k.oct),
    ])
}

fn config() -> AuthConfig {
    AuthConfig::from_values(Some(SECRET), Some(&jwks()), None, None).unwrap()
}

fn claims(extra: &str) -> String {
    let base = format!(r#""sub":"alice","exp":{}"#, NOW + 3600);
    if extra.is_empty() {
        format!("{{{base}}}")
    } else {
        format!("{{{base},{extra}}}")
    }
}

fn auth(config: &AuthConfig, token: &str) -> Result<Option<Principal>> {
    authenticate(config, Some(&format!("Bearer {token}")), NOW_MS)
}

fn reason(r: Result<Option<Principal>>) -> String {
    match r {
        Err(LeaderboardError::Unauthorized(m)) => m,
        other => panic!("expected 401, got {other:?}"),
    }
}

fn hs(claims_json: &str) -> String {
    mint_hs256(SECRET, claims_json)
}

#[test]
fn no_header_is_anonymous() {
    assert_eq!(authenticate(&config(), None, NOW_MS), Ok(None));
}

#[test]
fn hs256_secret_happy_path() {
    let token = hs(&claims(
        r#""tid":"acme","roles":["player","admin","wizard"]"#,
    ));
    let p = auth(&config(), &token).unwrap().unwrap();
    assert_eq!(p.subject, "alice");
    assert_eq!(p.tenant.as_str(), "acme");
    assert_eq!(p.roles, vec![Role::Player, Role::Admin]);
    // Lower-case scheme, secret-only configuration.
    let only_secret = AuthConfig::from_values(Some(SECRET), Some(""), Some(""), None).unwrap();
    let p = authenticate(&only_secret, Some(&format!("bearer {token}")), NOW_MS).unwrap();
    assert_eq!(p.unwrap().subject, "alice");
}

#[test]
fn every_algorithm_via_jwks_with_kid() {
    let k = &*KEYS;
    let config = config();
    for (kid, jwk) in [
        ("ed", &k.ed),
        ("ec", &k.ec),
        ("rsa", &k.rsa),
        ("oct", &k.oct),
    ] {
        let token = mint_with_jwk(jwk, Some(kid), &claims(r#""roles":["service"]"#));
        let p = auth(&config, &token)
            .unwrap_or_else(|e| panic!("{kid}: {e}"))
            .unwrap();
        assert_eq!(p.subject, "alice", "{kid}");
        assert_eq!(p.tenant.as_str(), "default", "{kid}");
        assert_eq!(p.roles, vec![Role::Service], "{kid}");
    }
}

#[test]
fn a_single_key_jwks_needs_no_kid() {
    let config =
        AuthConfig::from_values(None, Some(&public_jwks(&[("e", &KEYS.ec)])), None, None).unwrap();
    let token = mint_with_jwk(&KEYS.ec, None, &claims(""));
    assert!(auth(&config, &token).unwrap().is_some());
}

#[test]
fn wrong_signatures() {
    let config = config();
    // Another Ed25519 key claiming to be "ed".
    let forged = mint_with_jwk(&KEYS.ed_other, Some("ed"), &claims(""));
    assert_eq!(reason(auth(&config, &forged)), "signature does not verify");
    // Another HS256 secret.
    let forged = mint_hs256("another-secret-that-is-also-32-bytes-long", &claims(""));
    assert_eq!(reason(auth(&config, &forged)), "signature does not verify");
    // A payload swapped under a valid RS256 signature.
    let genuine = mint_with_jwk(&KEYS.rsa, Some("rsa"), &claims(""));
    let other = mint_with_jwk(&KEYS.rsa, Some("rsa"), &claims(r#""roles":["admin"]"#));
    let parts: Vec<&str> = genuine.split('.').collect();
    let other_payload = other.split('.').nth(1).unwrap();
    let spliced = format!("{}.{}.{}", parts[0], other_payload, parts[2]);
    assert_eq!(reason(auth(&config, &spliced)), "signature does not verify");
    // An ES256 signature of the wrong length.
    let es = mint_with_jwk(&KEYS.ec, Some("ec"), &claims(""));
    let (signed, _) = es.rsplit_once('.').unwrap();
    let short = format!("{signed}.AAAA");
    assert_eq!(reason(auth(&config, &short)), "signature does not verify");
}

#[test]
fn hs256_signed_with_the_rsa_public_key_is_an_alg_mismatch() {
    // The classic confusion: sign HS256 with the published public key as the HMAC secret.
    let public = KEYS.rsa_public_text.as_str();
    let with_kid = mint_with_jwk(
        &jwk_json(&JsonWebKey::from(&Hs256Key::new(public.as_bytes()))),
        Some("rsa"),
        &claims(r#""roles":["admin"]"#),
    );
    assert_eq!(
        reason(auth(&config(), &with_kid)),
        "alg mismatch: the token says HS256 but key 'rsa' is an RS256 key"
    );
    // Without kid, against a JWKS holding only the RSA key (and no HS256 secret).
    let rsa_only =
        AuthConfig::from_values(None, Some(&public_jwks(&[("rsa", &KEYS.rsa)])), None, None)
            .unwrap();
    let no_kid = mint_hs256(public, &claims(r#""roles":["admin"]"#));
    assert_eq!(
        reason(auth(&rsa_only, &no_kid)),
        "alg mismatch: the token says HS256 but the configured key is an RS256 key"
    );
    // Other cross-type confusions.
    let ed_as_ec = mint_with_jwk(&KEYS.ed, Some("ec"), &claims(""));
    assert_eq!(
        reason(auth(&config(), &ed_as_ec)),
        "alg mismatch: the token says EdDSA but key 'ec' is an ES256 key"
    );
}

#[test]
fn unsupported_algorithms() {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
    let payload = B64.encode(claims(""));
    for alg in ["none", "HS384", "PS256", "hs256"] {
        let header = B64.encode(format!(r#"{{"alg":"{alg}"}}"#));
        let token = format!("{header}.{payload}.c2ln");
        assert_eq!(
            reason(auth(&config(), &token)),
            format!("token alg '{alg}' is not accepted (accepted: HS256, EdDSA, ES256, RS256)")
        );
    }
}

#[test]
fn expiry_not_before_and_leeway() {
    let config = config();
    let at = |exp: i64| hs(&format!(r#"{{"sub":"a","exp":{exp}}}"#));
    assert_eq!(
        reason(auth(&config, &at(NOW - 31))),
        "token expired at 2025-12-31T23:59:29Z"
    );
    assert!(auth(&config, &at(NOW - 30)).is_ok(), "within leeway");
    assert!(auth(&config, &at(NOW)).is_ok());
    let strict = AuthConfig {
        leeway_secs: 0,
        ..config.clone()
    };
    assert!(auth(&strict, &at(NOW)).is_ok());
    assert!(auth(&strict, &at(NOW - 1)).is_err());

    let nbf = |nbf: i64| hs(&claims(&format!(r#""nbf":{nbf}"#)));
    assert_eq!(
        reason(auth(&config, &nbf(NOW + 31))),
        "token is not valid before 2026-01-01T00:00:31Z"
    );
    assert!(auth(&config, &nbf(NOW + 30)).is_ok(), "within leeway");
    assert!(auth(&strict, &nbf(NOW + 1)).is_err());
    assert!(auth(&config, &nbf(NOW - 100)).is_ok());

    assert_eq!(
        reason(auth(&config, &hs(r#"{"sub":"a"}"#))),
        "the token has no 'exp' claim"
    );
    let msg = reason(auth(&config, &hs(r#"{"sub":"a","exp":"soon"}"#)));
    assert!(msg.starts_with("malformed claims: "), "{msg}");
    let msg = reason(auth(&config, &hs(r#"{"sub":"a","exp":1e300}"#)));
    assert!(msg.starts_with("malformed claims: "), "{msg}");
}

#[test]
fn issuer_and_audience() {
    let config = AuthConfig::from_values(
        Some(SECRET),
        None,
        Some("https://idp"),
        Some("leaderboards"),
    )
    .unwrap();
    let ok = hs(&claims(r#""iss":"https://idp","aud":"leaderboards""#));
    assert!(auth(&config, &ok).unwrap().is_some());
    let ok = hs(&claims(
        r#""iss":"https://idp","aud":["web","leaderboards"]"#,
    ));
    assert!(auth(&config, &ok).unwrap().is_some());

    let bad_iss = hs(&claims(r#""iss":"https://evil","aud":"leaderboards""#));
    assert_eq!(
        reason(auth(&config, &bad_iss)),
        "issuer 'https://evil' is not accepted"
    );
    let no_iss = hs(&claims(r#""aud":"leaderboards""#));
    assert_eq!(
        reason(auth(&config, &no_iss)),
        "the token has no 'iss' claim"
    );
    let bad_aud = hs(&claims(r#""iss":"https://idp","aud":"billing""#));
    assert_eq!(
        reason(auth(&config, &bad_aud)),
        "audience 'billing' is not accepted"
    );
    let bad_auds = hs(&claims(r#""iss":"https://idp","aud":["billing","web"]"#));
    assert_eq!(
        reason(auth(&config, &bad_auds)),
        "none of the audiences ['billing', 'web'] is accepted"
    );
    let no_aud = hs(&claims(r#""iss":"https://idp""#));
    assert_eq!(
        reason(auth(&config, &no_aud)),
        "the token has no 'aud' claim"
    );
    let odd_aud = hs(&claims(r#""iss":"https://idp","aud":7"#));
    assert!(reason(auth(&config, &odd_aud)).contains("'aud' must be"));
    // Unchecked when not configured.
    assert!(
        auth(
            &AuthConfig::from_values(Some(SECRET), None, None, None).unwrap(),
            &bad_aud
        )
        .is_ok()
    );
}

#[test]
fn subject_tenant_and_roles_claims() {
    let config = config();
    let exp = NOW + 60;
    for body in [
        format!(r#"{{"exp":{exp}}}"#),
        format!(r#"{{"sub":"","exp":{exp}}}"#),
        format!(r#"{{"sub":null,"exp":{exp}}}"#),
    ] {
        assert_eq!(
            reason(auth(&config, &hs(&body))),
            "the token has no 'sub' claim"
        );
    }
    let numeric_sub = hs(&format!(r#"{{"sub":42,"exp":{exp}}}"#));
    assert_eq!(
        reason(auth(&config, &numeric_sub)),
        "claim 'sub' must be a string"
    );
    let bad_tid = hs(&claims(r#""tid":"Acme Corp""#));
    assert!(reason(auth(&config, &bad_tid)).starts_with("claim 'tid' 'Acme Corp' is not valid"));
    let role_string = hs(&claims(r#""roles":"admin""#));
    assert_eq!(
        reason(auth(&config, &role_string)),
        "claim 'roles' must be an array of strings"
    );
    let no_roles = auth(&config, &hs(&claims(""))).unwrap().unwrap();
    assert!(no_roles.roles.is_empty());
    let dup = auth(&config, &hs(&claims(r#""roles":["admin","admin","root"]"#)))
        .unwrap()
        .unwrap();
    assert_eq!(dup.roles, vec![Role::Admin]);
}

#[test]
fn key_selection_failures() {
    let config = config();
    let unknown = mint_with_jwk(&KEYS.ec, Some("gone"), &claims(""));
    assert_eq!(reason(auth(&config, &unknown)), "unknown key id 'gone'");
    // No kid, not HS256, several JWKS keys.
    let no_kid = mint_with_jwk(&KEYS.ec, None, &claims(""));
    assert_eq!(
        reason(auth(&config, &no_kid)),
        "the token has no 'kid' header, which is required because several keys are configured"
    );
    let nothing = AuthConfig::default();
    assert!(!nothing.has_keys());
    assert_eq!(
        reason(auth(&nothing, &hs(&claims("")))),
        "no key is configured to verify HS256 tokens"
    );
}

#[test]
fn malformed_headers_and_tokens() {
    let config = config();
    for header in [
        "",
        "Bearer",
        "Bearer ",
        "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
        "Bearer a b",
        "Token x.y.z",
    ] {
        assert_eq!(
            reason(authenticate(&config, Some(header), NOW_MS)),
            "the Authorization header must be 'Bearer <token>'",
            "{header:?}"
        );
    }
    for token in ["abc", "a.b", "a.b.c", "....", "e30.e30.e30"] {
        assert!(
            reason(auth(&config, token)).starts_with("malformed token"),
            "{token}"
        );
    }
    let huge = "a".repeat(MAX_TOKEN_LEN + 1);
    assert!(reason(auth(&config, &huge)).contains("longer than the limit"));
}

static VALID_TOKEN: LazyLock<String> = LazyLock::new(|| hs(&claims(r#""roles":["player"]"#)));

proptest! {
    #[test]
    fn arbitrary_headers_never_panic_and_are_401(header in ".{0,200}") {
        let r = authenticate(&config(), Some(&header), NOW_MS);
        prop_assert!(matches!(r, Err(LeaderboardError::Unauthorized(_))), "{r:?}");
    }

    #[test]
    fn arbitrary_jws_shaped_tokens_are_401(
        token in "[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,90}",
    ) {
        let r = auth(&config(), &token);
        prop_assert!(matches!(r, Err(LeaderboardError::Unauthorized(_))), "{r:?}");
    }

    #[test]
    fn mutated_tokens_never_pass_as_someone_else(index in any::<prop::sample::Index>(), c in "[A-Za-z0-9_.=-]") {
        let genuine = VALID_TOKEN.as_str();
        let at = index.index(genuine.len());
        let mutated = format!("{}{}{}", &genuine[..at], c, &genuine[at + 1..]);
        let expected = auth(&config(), genuine).unwrap();
        match auth(&config(), &mutated) {
            Err(LeaderboardError::Unauthorized(_)) => {}
            Ok(p) => prop_assert_eq!(p, expected),
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }
}

/// What the tokens component does with a delegated token: the full verification, with the JWKS,
/// issuer and audience it was judged under and without the HS256 secret (a delegated token never
/// needs it).
fn tokens_component(d: &Delegated<'_>) -> Result<Principal> {
    let config = AuthConfig::from_values(None, Some(d.jwks), d.issuer, d.audience)?;
    verify_token(&config, d.token, NOW_MS).map(|(p, _)| p)
}

/// `authenticate_with` reads the JWKS only for tokens that need it, sends exactly those to the
/// tokens component, and decides exactly as `authenticate` with everything read.
#[test]
fn variables_are_read_lazily_with_the_same_outcome() {
    futures::executor::block_on(async {
        let jwks = jwks();
        let read = std::cell::RefCell::new(Vec::new());
        let with_jwks = async |name: &str| {
            read.borrow_mut().push(name.to_string());
            match name {
                "jwt_hs256_secret" => Some(SECRET.to_string()),
                "jwt_jwks" => Some(jwks.clone()),
                _ => None,
            }
        };
        let hs_token = hs(&claims(""));
        // {"alg":"RS256"} over an HMAC-signed body.
        let forged = format!(
            "eyJhbGciOiJSUzI1NiJ9.{}",
            hs_token.split_once('.').unwrap().1
        );
        let cases = [
            (hs_token.clone(), false),
            (mint_with_jwk(&KEYS.ed, Some("ed"), &claims("")), true),
            (mint_with_jwk(&KEYS.oct, Some("oct"), &claims("")), true),
            (mint_with_jwk(&KEYS.ec, None, &claims("")), true),
            (mint_with_jwk(&KEYS.rsa, Some("nope"), &claims("")), true),
            (forged.clone(), true),
            ("not.a.token".to_string(), false),
        ];
        for (token, delegated) in cases {
            read.borrow_mut().clear();
            let header = format!("Bearer {token}");
            let sent = std::cell::Cell::new(false);
            let lazy = authenticate_with(
                &with_jwks,
                Some(&header),
                NOW_MS,
                async |d: &Delegated<'_>| {
                    sent.set(true);
                    assert_eq!(d.token, token);
                    tokens_component(d)
                },
            )
            .await;
            assert_eq!(
                lazy,
                authenticate(&config(), Some(&header), NOW_MS),
                "{token}"
            );
            assert_eq!(sent.get(), delegated, "{token}");
            assert_eq!(
                read.borrow().iter().any(|n| n == "jwt_jwks"),
                delegated,
                "{token}: {:?}",
                read.borrow()
            );
        }
        read.borrow_mut().clear();
        let never =
            async |_: &Delegated<'_>| -> Result<Principal> { panic!("nothing to delegate") };
        assert_eq!(
            authenticate_with(&with_jwks, None, NOW_MS, &never).await,
            Ok(None)
        );
        assert!(read.borrow().is_empty(), "no token, no variables");

        // Without a JWKS nothing is delegated, and the refusals are `authenticate`'s.
        let secret_only =
            async |name: &str| (name == "jwt_hs256_secret").then(|| SECRET.to_string());
        let only = AuthConfig::from_values(Some(SECRET), None, None, None).unwrap();
        for token in [
            hs_token,
            forged,
            mint_with_jwk(&KEYS.ed, Some("ed"), &claims("")),
            mint_with_jwk(&KEYS.ec, None, &claims("")),
        ] {
            let header = format!("Bearer {token}");
            assert_eq!(
                authenticate_with(&secret_only, Some(&header), NOW_MS, &never).await,
                authenticate(&only, Some(&header), NOW_MS),
                "{token}"
            );
        }
        let nothing = async |_: &str| None::<String>;
        let header = format!("Bearer {}", mint_with_jwk(&KEYS.ec, None, &claims("")));
        assert_eq!(
            reason(authenticate_with(nothing, Some(&header), NOW_MS, &never).await),
            "no key is configured to verify ES256 tokens"
        );
    });
}

/// The tokens component reports the token's `exp` with the principal.
#[test]
fn verify_token_reports_the_expiry() {
    let token = mint_with_jwk(&KEYS.ed, Some("ed"), &claims(""));
    let (p, exp_ms) = verify_token(&config(), &token, NOW_MS).unwrap();
    assert_eq!(p.subject, "alice");
    assert_eq!(exp_ms, (NOW + 3600) * 1000);
}
