//! Rate limits: policies, the GCRA decision, and the IETF `RateLimit` header fields.
//!
//! A [`Policy`] limits one key (the client IP, the token subject or the tenant) on some route
//! classes (`read`, `write`, `admin`, optionally only some boards) to `limit` requests per
//! `window_secs`, with up to `burst` at once. The decision is the generic cell rate algorithm
//! (GCRA): the only state is the *theoretical arrival time* (TAT, µs) of the key. A request at
//! `now` is allowed when `max(tat, now) - now <= (burst - 1) × T`, with `T = window / limit` the
//! emission interval, and then moves the TAT forward by `T`. So at most `burst` requests pass at
//! once, and over any interval of length `L` at most `burst + L / T` pass — never more than the
//! limit in the long run. The state of a key that has been idle for `burst × T` is worth nothing
//! and may expire.
//!
//! Where the state lives is per policy ([`Store`]): `redis` (one atomic script per request for all
//! of its policies: exact across every instance; `edge::ratelimit` runs the same arithmetic in Lua
//! and the component logs any decision where the two disagree) or `kv` (the regional Spin key-value store with
//! compare-and-swap: cheaper, approximate across regions and under races). When the store cannot
//! be reached, [`Unavailable`] says whether the request passes (`open`) or gets a `503` (`closed`).

use serde::{Deserialize, Serialize};

use crate::error::{LeaderboardError, Result};

/// The variable that holds the policies (JSON array); absent → [`default_policies`].
pub const VARIABLE: &str = "rate_limits";

/// What a policy counts requests by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// The client address (`spin-client-addr`, or the `X-Forwarded-For` hop the trusted
    /// proxies added: [`forwarded_client`]).
    Ip,
    /// The token's `sub`; requests without a token are not limited by such a policy.
    Subject,
    /// The tenant the request acts in.
    Tenant,
}

/// Rate-limit classes: what a policy's `classes` name. Each operation of the API counts under
/// one, through every door (`crate::http::operation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteClass {
    /// Reads of boards, rankings and the tournament listing (`GET`, `HEAD`) and flag
    /// evaluations (OFREP).
    Read,
    /// Score submissions, tournament joins and reward claims.
    Write,
    /// Everything else: board, dead-letter, replay, drain, audit administration.
    Admin,
}

impl RouteClass {
    /// The class's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }
}

/// Where a policy keeps its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Store {
    /// Redis, one atomic script: exact across every instance.
    #[default]
    Redis,
    /// The regional key-value store with compare-and-swap: approximate.
    Kv,
}

/// What happens when the policy's store cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unavailable {
    /// The request passes unlimited (`RateLimit-Outcome: fail-open`).
    #[default]
    Open,
    /// The request gets a `503` problem (`RateLimit-Outcome: fail-closed`).
    Closed,
}

/// A policy as written in the `rate_limits` variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    /// Name, shown in the `RateLimit` header fields and in a `429`: `^[a-z0-9][a-z0-9_-]{0,31}$`.
    pub name: String,
    /// What it counts by.
    pub key: KeyKind,
    /// Route classes it applies to (default: all).
    #[serde(default)]
    pub classes: Option<Vec<RouteClass>>,
    /// Only these boards (default: any route).
    #[serde(default)]
    pub boards: Option<Vec<String>>,
    /// Requests per window (1..=1,000,000,000).
    pub limit: u64,
    /// Window in seconds (1..=86,400).
    pub window_secs: u64,
    /// Requests allowed at once (default: `limit`; 1..=limit).
    #[serde(default)]
    pub burst: Option<u64>,
    /// Where its state lives (default `redis`).
    #[serde(default)]
    pub store: Store,
    /// When the store is unreachable (default `open`).
    #[serde(default)]
    pub on_unavailable: Unavailable,
    /// Token roles the policy does not apply to (e.g. `["service", "admin"]` for trusted
    /// backends); default none.
    #[serde(default)]
    pub exempt_roles: Vec<String>,
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Name.
    pub name: String,
    /// What it counts by.
    pub key: KeyKind,
    /// Classes it applies to.
    pub classes: Vec<RouteClass>,
    /// Boards it is limited to, if any.
    pub boards: Option<Vec<String>>,
    /// Requests per window.
    pub limit: u64,
    /// Window (s).
    pub window_secs: u64,
    /// Requests at once.
    pub burst: u64,
    /// Store.
    pub store: Store,
    /// Behaviour when the store is down.
    pub on_unavailable: Unavailable,
    /// Roles not limited.
    pub exempt_roles: Vec<String>,
}

impl Policy {
    /// The emission interval `T` in µs (at least 1).
    pub fn interval_us(&self) -> i64 {
        let us = u128::from(self.window_secs) * 1_000_000 / u128::from(self.limit);
        i64::try_from(us.max(1)).unwrap_or(i64::MAX)
    }

    /// Whether the policy applies to a request of `class` on `board` by a token with `roles`.
    pub fn applies(&self, class: RouteClass, board: Option<&str>, roles: &[&str]) -> bool {
        self.classes.contains(&class)
            && self
                .boards
                .as_ref()
                .is_none_or(|bs| board.is_some_and(|b| bs.iter().any(|x| x == b)))
            && !roles
                .iter()
                .any(|r| self.exempt_roles.iter().any(|e| e == r))
    }
}

/// The most a posted or configured policy may count (`limit`) and over how long (`window_secs`).
const MAX_LIMIT: u64 = 1_000_000_000;
const MAX_WINDOW_SECS: u64 = 86_400;
/// What the decision's arithmetic holds, whatever was stored: a key's theoretical arrival time
/// is at most the clock plus a tolerance (at most the window's µs, or the burst when the
/// interval is 1 µs) plus an interval, and must stay exact in the Lua script's doubles (under
/// 2^53 µs, about 285 years of Unix time) as in [`decide`]'s `i64`: a limit of at most 10^15 and
/// a window of at most 10^9 s (about 31 years) keep it under 2^52 for clocks to the year 2070.
const ARITHMETIC_MAX_LIMIT: u64 = 1_000_000_000_000_000;
const ARITHMETIC_MAX_WINDOW_SECS: u64 = 1_000_000_000;

impl PolicyInput {
    /// Validates a configured or posted policy: its limit and window within their maxima, then
    /// as [`PolicyInput::build`].
    pub fn validate(&self) -> Result<Policy> {
        self.policy(MAX_LIMIT, MAX_WINDOW_SECS)
    }

    /// Builds a policy as stored: checked only for what enforcing it needs (a name; a limit, a
    /// window and a burst of at least 1 and within what the decision's arithmetic holds, the
    /// burst within the limit; classes if any), its maxima unchecked (checked when it was put; a
    /// maximum lowered since must not turn stored settings into errors).
    pub fn build(&self) -> Result<Policy> {
        self.policy(ARITHMETIC_MAX_LIMIT, ARITHMETIC_MAX_WINDOW_SECS)
    }

    fn policy(&self, max_limit: u64, max_window_secs: u64) -> Result<Policy> {
        let bad = |m: String| LeaderboardError::Internal(format!("{VARIABLE}: {m}"));
        if !crate::ids::is_label(&self.name) {
            return Err(bad(format!(
                "policy name '{}' must match ^[a-z0-9][a-z0-9_-]{{0,31}}$",
                self.name
            )));
        }
        if !(1..=max_limit).contains(&self.limit) {
            return Err(bad(format!(
                "policy '{}': limit {} is out of range (1..={max_limit})",
                self.name, self.limit
            )));
        }
        if !(1..=max_window_secs).contains(&self.window_secs) {
            return Err(bad(format!(
                "policy '{}': window_secs {} is out of range (1..={max_window_secs})",
                self.name, self.window_secs
            )));
        }
        let burst = self.burst.unwrap_or(self.limit);
        if !(1..=self.limit).contains(&burst) {
            return Err(bad(format!(
                "policy '{}': burst {burst} is out of range (1..=limit {})",
                self.name, self.limit
            )));
        }
        let classes = match &self.classes {
            None => vec![RouteClass::Read, RouteClass::Write, RouteClass::Admin],
            Some(c) if c.is_empty() => {
                return Err(bad(format!(
                    "policy '{}': classes must not be empty",
                    self.name
                )));
            }
            Some(c) => c.clone(),
        };
        Ok(Policy {
            name: self.name.clone(),
            key: self.key,
            classes,
            boards: self.boards.clone(),
            limit: self.limit,
            window_secs: self.window_secs,
            burst,
            store: self.store,
            on_unavailable: self.on_unavailable,
            exempt_roles: self.exempt_roles.clone(),
        })
    }
}

/// Parses the `rate_limits` variable: a JSON array of policies (`[]` turns limiting off). A
/// malformed value is an `Internal` error naming the variable (a `500` problem: the operator's
/// configuration is wrong, not the request).
pub fn parse_policies(raw: &str) -> Result<Vec<Policy>> {
    let inputs: Vec<PolicyInput> = serde_json::from_slice(raw.as_bytes())
        .map_err(|e| LeaderboardError::Internal(format!("{VARIABLE} is not valid: {e}")))?;
    policies(&inputs, PolicyInput::validate)
}

/// Makes each policy of a list with `make` ([`PolicyInput::validate`] for a posted or configured
/// list, [`PolicyInput::build`] for a stored one), and refuses two of one name.
pub fn policies(
    inputs: &[PolicyInput],
    make: fn(&PolicyInput) -> Result<Policy>,
) -> Result<Vec<Policy>> {
    let policies = inputs.iter().map(make).collect::<Result<Vec<_>>>()?;
    for (i, p) in policies.iter().enumerate() {
        if policies[..i].iter().any(|q| q.name == p.name) {
            return Err(LeaderboardError::Internal(format!(
                "{VARIABLE}: two policies are named '{}'",
                p.name
            )));
        }
    }
    Ok(policies)
}

/// The shipped policies, in force when the `rate_limits` variable is not set. Trusted backends
/// (`service`, `admin` tokens) are exempt from the per-IP and per-subject write limits. All are
/// counted in Redis (exact, and measured cheaper than a compare-and-swap on Spin's SQLite KV
/// store, which commits every write) and let requests through when Redis is down, so cached
/// reads keep being served.
pub const DEFAULT_POLICIES: &str = r#"[
  {"name": "ip-read", "key": "ip", "classes": ["read"], "limit": 1200, "window_secs": 60,
   "burst": 300},
  {"name": "ip-write", "key": "ip", "classes": ["write"], "limit": 300, "window_secs": 60,
   "burst": 60, "exempt_roles": ["service", "admin"]},
  {"name": "subject-write", "key": "subject", "classes": ["write"], "limit": 120,
   "window_secs": 60, "burst": 30, "exempt_roles": ["service", "admin"]},
  {"name": "ip-admin", "key": "ip", "classes": ["admin"], "limit": 600, "window_secs": 60,
   "burst": 120}
]"#;

/// [`DEFAULT_POLICIES`], parsed.
pub fn default_policies() -> Vec<Policy> {
    parse_policies(DEFAULT_POLICIES).unwrap_or_default()
}

/// The decision for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request passes.
    pub allowed: bool,
    /// Requests that would still pass right now after this one.
    pub remaining: u64,
    /// Seconds until the key's whole burst is available again (the `t` of `RateLimit`).
    pub reset_secs: u64,
    /// Seconds until a denied request may succeed (`Retry-After`); 0 when allowed.
    pub retry_after_secs: u64,
    /// The TAT to store (µs); unchanged from the stored one when denied.
    pub tat_us: i64,
}

fn ceil_secs(us: i64) -> u64 {
    if us <= 0 {
        0
    } else {
        (us as u64).div_ceil(1_000_000)
    }
}

/// GCRA: the decision for a request at `now_ms` given the key's stored TAT (µs; `None` when the
/// key has no state).
pub fn decide(policy: &Policy, stored_tat_us: Option<i64>, now_ms: i64) -> Decision {
    let t = policy.interval_us();
    let now = now_ms.saturating_mul(1000);
    let tolerance = t.saturating_mul(policy.burst as i64 - 1);
    let tat = stored_tat_us.unwrap_or(now).max(now);
    if tat - now > tolerance {
        return Decision {
            allowed: false,
            remaining: 0,
            reset_secs: ceil_secs(tat - now),
            retry_after_secs: ceil_secs(tat - now - tolerance).max(1),
            tat_us: stored_tat_us.unwrap_or(now),
        };
    }
    let new_tat = tat + t;
    let remaining = ((now + tolerance - new_tat) / t + 1).max(0) as u64;
    Decision {
        allowed: true,
        remaining: remaining.min(policy.burst),
        reset_secs: ceil_secs(new_tat - now),
        retry_after_secs: 0,
        tat_us: new_tat,
    }
}

/// `RateLimit-Policy` and `RateLimit` field values (draft-ietf-httpapi-ratelimit-headers, the
/// structured-field form): one list member per policy that counted the request,
/// `"name";q=<limit>;w=<window>` and `"name";r=<remaining>;t=<reset>`.
pub fn header_fields(decisions: &[(&Policy, Decision)]) -> Option<(String, String)> {
    if decisions.is_empty() {
        return None;
    }
    let policy = decisions
        .iter()
        .map(|(p, _)| format!("\"{}\";q={};w={}", p.name, p.limit, p.window_secs))
        .collect::<Vec<_>>()
        .join(", ");
    let state = decisions
        .iter()
        .map(|(p, d)| format!("\"{}\";r={};t={}", p.name, d.remaining, d.reset_secs))
        .collect::<Vec<_>>()
        .join(", ");
    Some((policy, state))
}

/// How many proxies in front of the app append to `X-Forwarded-For`, from the
/// `behind_trusted_proxy` variable: `false` or unset none, `true` one, or their number (`2` for a
/// CDN in front of a load balancer). `None` for anything else (the caller says so and counts
/// none).
pub fn trusted_proxies(value: Option<&str>) -> Option<usize> {
    match value.map(str::trim) {
        None | Some("" | "false") => Some(0),
        Some("true") => Some(1),
        Some(n) => n.parse().ok(),
    }
}

/// The host of an address as proxies and runtimes write it: `203.0.113.7`, `203.0.113.7:4711`,
/// `[2001:db8::1]:4711` or `2001:db8::1` all give the address alone, so one client is one key
/// whichever port its connection had.
pub fn host_of(addr: &str) -> &str {
    match addr.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or(v6, |(h, _)| h),
        None if addr.matches(':').count() == 1 => addr.split_once(':').map_or(addr, |(h, _)| h),
        None => addr,
    }
}

/// The client's address in an `X-Forwarded-For` value behind `proxies` trusted proxies, each of
/// which appends the address it got the request from (ALB, Cloudflare, nginx's
/// `$proxy_add_x_forwarded_for`): the `proxies`-th hop from the right. Hops to its left came
/// with the request, so the client wrote them and is never identified by them (rotating a forged
/// first hop does not make a new client). With fewer hops than proxies the request passed fewer
/// proxies, and the leftmost hop is the client. `None` with no proxy or no hop.
pub fn forwarded_client(header: &str, proxies: usize) -> Option<&str> {
    if proxies == 0 {
        return None;
    }
    let hops: Vec<&str> = header
        .split(',')
        .map(|h| host_of(h.trim()))
        .filter(|h| !h.is_empty())
        .collect();
    hops.get(hops.len().saturating_sub(proxies)).copied()
}

#[cfg(test)]
#[path = "ratelimit_tests.rs"]
mod tests;
