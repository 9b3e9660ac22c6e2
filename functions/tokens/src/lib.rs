//! `functions/tokens`: verifies bearer tokens signed with a JWKS key (EdDSA, ES256, RS256, or an
//! `oct` key named by `kid`) for the other components.
//!
//! ```text
//! POST /internal/tokens/verify   {"token": "<compact JWS>"}     private route, service chaining only
//!   200 {"principal": {...}, "valid_until_ms": n}
//!   401 problem (why the token is refused)    500 problem (the JWKS does not parse)
//! ```
//!
//! The only component that links the asymmetric signature code: the API components verify the
//! HS256 secret themselves and send every other token here (`edge::auth::delegate`), caching the
//! verdicts in the regional KV store. Its route is private (`route = { private = true }`), so it
//! answers only the app's own components. It reads `jwt_jwks`, `jwt_issuer` and `jwt_audience`;
//! never the HS256 secret, which no delegated token needs.

use edge::auth::Delegated;
use edge::auth::delegate::{Verified, VerifyRequest, verify_here};
use leaderboard::{LeaderboardError, Result};

/// What the component answers.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// The JSON body: the verdict, or a problem.
    pub body: String,
    /// The `Allow` header of a `405`.
    pub allow: Option<String>,
}

/// Verifies one request's token at `now_ms` with the variables `variable` reads.
pub fn answer(
    variable: impl Fn(&str) -> Option<String>,
    method: &str,
    path: &str,
    body: &[u8],
    now_ms: i64,
) -> Answer {
    match verify(variable, method, path, body, now_ms) {
        Ok(verified) => match serde_json::to_string(&verified) {
            Ok(json) => Answer {
                status: 200,
                body: json,
                allow: None,
            },
            Err(e) => problem(&LeaderboardError::Internal(format!("encoding: {e}"))),
        },
        Err(e) => problem(&e),
    }
}

fn verify(
    variable: impl Fn(&str) -> Option<String>,
    method: &str,
    path: &str,
    body: &[u8],
    now_ms: i64,
) -> Result<Verified> {
    if path != "/internal/tokens/verify" {
        return Err(LeaderboardError::NotFound(format!(
            "no such resource: {path}"
        )));
    }
    if method != "POST" {
        return Err(LeaderboardError::MethodNotAllowed {
            detail: format!("{method} is not allowed on {path}"),
            allowed: "POST".into(),
        });
    }
    let request: VerifyRequest = serde_json::from_slice(body)
        .map_err(|e| LeaderboardError::InvalidBody(format!("a token verification request: {e}")))?;
    let (jwks, issuer, audience) = (
        variable(edge::settings::JWT_JWKS.name),
        variable(edge::settings::JWT_ISSUER.name),
        variable(edge::settings::JWT_AUDIENCE.name),
    );
    verify_here(
        &Delegated {
            token: &request.token,
            jwks: jwks.as_deref().unwrap_or_default(),
            issuer: issuer.as_deref(),
            audience: audience.as_deref(),
        },
        now_ms,
    )
}

/// A problem answer; a refusal's or a configuration error's own words also as `reason`, which
/// the calling component reports as its own (`edge::auth::delegate`).
fn problem(e: &LeaderboardError) -> Answer {
    let mut p = leaderboard::http::problem::Problem::from(e);
    if let LeaderboardError::Unauthorized(reason) | LeaderboardError::Internal(reason) = e {
        p.extensions
            .insert("reason".into(), serde_json::Value::from(reason.as_str()));
    }
    Answer {
        status: e.status(),
        body: p.to_json(),
        allow: e.allow().map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn vars(name: &str) -> Option<String> {
        (name == "jwt_jwks").then(|| r#"{"keys":[]}"#.to_string())
    }

    #[test]
    fn refusals_and_bad_requests_are_problems() {
        let refused = answer(
            vars,
            "POST",
            "/internal/tokens/verify",
            br#"{"token":"a.b.c"}"#,
            0,
        );
        assert_eq!(refused.status, 401);
        let v: serde_json::Value = serde_json::from_str(&refused.body).unwrap();
        assert!(
            v["reason"].as_str().unwrap().contains("malformed token"),
            "{v}"
        );
        let wrong_method = answer(vars, "GET", "/internal/tokens/verify", b"", 0);
        assert_eq!(wrong_method.status, 405);
        assert_eq!(wrong_method.allow.as_deref(), Some("POST"));
        assert_eq!(answer(vars, "POST", "/elsewhere", b"", 0).status, 404);
        assert_eq!(
            answer(vars, "POST", "/internal/tokens/verify", b"{", 0).status,
            400
        );
        let broken = |name: &str| (name == "jwt_jwks").then(|| "not json".to_string());
        let failed = answer(
            broken,
            "POST",
            "/internal/tokens/verify",
            br#"{"token":"a.b.c"}"#,
            0,
        );
        assert_eq!(failed.status, 500, "{}", failed.body);
    }
}

#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
fn handle(req: spin_sdk::http::Request) -> spin_sdk::http::Response {
    let answer = answer(
        |name| {
            spin_sdk::variables::get(name)
                .ok()
                .filter(|v| !v.is_empty())
        },
        &req.method().to_string(),
        req.path(),
        req.body(),
        edge::scope::now_ms(),
    );
    let content_type = if answer.status == 200 {
        "application/json"
    } else {
        "application/problem+json"
    };
    let mut response = spin_sdk::http::Response::builder();
    response
        .status(answer.status)
        .header("content-type", content_type);
    if let Some(allow) = &answer.allow {
        response.header("allow", allow.as_str());
    }
    response.body(answer.body).build()
}
