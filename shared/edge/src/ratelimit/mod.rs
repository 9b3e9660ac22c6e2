//! Rate limits, applied in every API component in one place: [`crate::admission::admit`] calls
//! [`enforce`] once the caller and tenant are known and before the handler does any Redis work.
//!
//! The policies come from the `rate_limits` variable (JSON; unset → the shipped defaults,
//! `leaderboard::policy::ratelimit::DEFAULT_POLICIES`; `[]` → off), or from the tenant's settings when
//! they carry their own (`edge::tenants`), plus the tenant's `submissions_per_sec` quota. For a request, every policy that
//! applies (its route class, board and the caller's roles) is checked against the key it counts
//! by: the client IP (`spin-client-addr`, or, when the `behind_trusted_proxy` variable says the
//! app is behind `true` = one or N proxies, the `X-Forwarded-For` hop they added: the Nth from
//! the right, never one the client wrote), the token subject (requests without a token skip
//! such policies), or the tenant. `kv` policies run first, one compare-and-swap each on the
//! regional store; then all `redis` policies in one script, all or nothing. A denied request costs
//! those round trips and nothing else.
//!
//! Every response of a limited request carries `RateLimit-Policy` and `RateLimit`; a denial is a
//! `429 rate-limited` problem naming the policy, with `Retry-After`. When a policy's store cannot
//! be reached, its `on_unavailable` decides: `open` lets the request through, `closed` answers
//! `503`; either way the response says so in `Edge-RateLimit-Outcome: fail-open | fail-closed`.
//! State keys: `lb:rl:{<tenant>}:<policy>:<value>` in Redis (expiring once worthless), and
//! `rl:<tenant>:<policy>:<value>` in the KV store (no expiry in `wasi:keyvalue`: a stale TAT is
//! harmless, but the store keeps one small key per client seen).

pub mod store;

use leaderboard::http::operation::Operation;
use leaderboard::policy::ratelimit::{
    self, Decision, KeyKind, Policy, RouteClass, Store, Unavailable,
};
use leaderboard::{LeaderboardError, Result};

use crate::api::Ctx;
use crate::http::Call;
use crate::kv::STORE;
use crate::ratelimit::store::LimitKey;

/// The header that says a limit store was unreachable and what the policy did about it.
pub const OUTCOME_HEADER: &str = "edge-ratelimit-outcome";

/// Compare-and-swap retries on the KV store before the policy counts as unavailable.
const KV_RETRIES: u32 = 8;

/// The policies in force (`rate_limits`, [`crate::settings`]).
pub async fn policies(ctx: &Ctx<'_>) -> Result<Vec<Policy>> {
    crate::settings::RATE_LIMITS.read(ctx.platform()).await
}

/// The client address: `spin-client-addr` without its port, or, behind `trusted_proxies`
/// proxies, the `X-Forwarded-For` hop they added ([`leaderboard::policy::ratelimit::forwarded_client`]).
pub fn client_ip(call: &Call<'_>, trusted_proxies: usize) -> Option<String> {
    if let Some(client) = call
        .header("x-forwarded-for")
        .and_then(|v| leaderboard::policy::ratelimit::forwarded_client(v, trusted_proxies))
    {
        return Some(client.to_string());
    }
    let host = leaderboard::policy::ratelimit::host_of(call.header("spin-client-addr")?);
    (!host.is_empty()).then(|| host.to_string())
}

/// Checks the request against every policy that applies; adds the header fields to the
/// response; `Err` is the `429` (or the fail-closed `503`).
pub async fn enforce(ctx: &Ctx<'_>, call: &Call<'_>) -> Result<()> {
    // The class of the route's operation (`leaderboard::http::operation`).
    let class = Operation::class_of_route(call.method().as_str(), &call.path);
    enforce_class(ctx, call, class, call.param("board").as_deref()).await
}

/// [`enforce`] for one call of `operation` on `board` that the route does not say by itself:
/// each root field of a GraphQL request, each Connect method, counted under the operation's
/// class as its REST route is.
pub async fn enforce_as(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    operation: Operation,
    board: Option<&str>,
) -> Result<()> {
    enforce_class(ctx, call, operation.class(), board).await
}

async fn enforce_class(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    class: RouteClass,
    board: Option<&str>,
) -> Result<()> {
    let policies = in_force(ctx).await?;
    let applicable = applicable(ctx, call, &policies, class, board).await?;
    if applicable.is_empty() {
        return Ok(());
    }
    let mut checked = Checked::default();
    // The regional store first: cheap, and a denial there spares Redis.
    check_in_kv(ctx, &applicable, call.now_ms, &mut checked).await;
    if !checked.denied() {
        check_in_redis(ctx, &applicable, &mut checked).await?;
    }
    checked.answer(call)
}

/// The policies in force for the request's tenant: its settings may replace the configured ones
/// and add its submissions quota. Unreadable settings (Redis down and no regional copy) leave
/// the configured policies in force.
async fn in_force(ctx: &Ctx<'_>) -> Result<Vec<Policy>> {
    let settings = ctx.tenant_settings().await.map_err(|e| {
        eprintln!(
            "rate limits: tenant settings of '{}': {e}",
            ctx.tenant.as_str()
        );
    });
    let mut policies = match settings.ok().and_then(|s| s.rate_limits.clone()) {
        Some(own) => own,
        None => policies(ctx).await?,
    };
    policies.extend(settings.ok().and_then(|s| s.submissions_policy()));
    Ok(policies)
}

/// The policies that apply to this call (its route class, board and the caller's roles), each
/// with the value it counts by; a policy whose key the request does not have (no client
/// address, no token subject) does not apply.
async fn applicable<'p>(
    ctx: &Ctx<'_>,
    call: &Call<'_>,
    policies: &'p [Policy],
    class: RouteClass,
    board: Option<&str>,
) -> Result<Vec<(&'p Policy, String)>> {
    if policies.is_empty() {
        return Ok(Vec::new());
    }
    let roles: Vec<&str> = ctx
        .principal
        .as_ref()
        .map(|p| p.roles.iter().map(|r| r.as_str()).collect())
        .unwrap_or_default();
    let proxies = crate::settings::BEHIND_TRUSTED_PROXY
        .read(ctx.platform())
        .await?;
    let ip = client_ip(call, proxies);
    Ok(policies
        .iter()
        .filter(|p| p.applies(class, board, &roles))
        .filter_map(|p| {
            let value = match p.key {
                KeyKind::Ip => ip.clone()?,
                KeyKind::Subject => ctx.principal.as_ref()?.subject.clone(),
                KeyKind::Tenant => ctx.tenant.as_str().to_string(),
            };
            Some((p, value))
        })
        .collect())
}

/// What the limit stores said of one call.
#[derive(Default)]
struct Checked<'p> {
    /// Each policy checked, and its decision.
    decisions: Vec<(&'p Policy, Decision)>,
    /// The policies whose store could not be reached.
    unreachable: Vec<&'p Policy>,
}

impl Checked<'_> {
    fn denied(&self) -> bool {
        self.decisions.iter().any(|(_, d)| !d.allowed)
    }

    /// The header fields, then the answer: `503` when an unreachable policy fails closed, the
    /// `429` of the first policy that denied, else through (saying so when a policy failed
    /// open).
    fn answer(&self, call: &Call<'_>) -> Result<()> {
        if let Some((policy_field, state_field)) = ratelimit::header_fields(&self.decisions) {
            call.set_header("ratelimit-policy", policy_field);
            call.set_header("ratelimit", state_field);
        }
        if let Some(closed) = self
            .unreachable
            .iter()
            .find(|p| p.on_unavailable == Unavailable::Closed)
        {
            call.set_header(OUTCOME_HEADER, "fail-closed".into());
            return Err(LeaderboardError::Unavailable(format!(
                "the store of rate limit '{}' is unreachable and the policy fails closed; retry shortly",
                closed.name
            )));
        }
        if !self.unreachable.is_empty() {
            call.set_header(OUTCOME_HEADER, "fail-open".into());
        }
        match self.decisions.iter().find(|(_, d)| !d.allowed) {
            Some((policy, d)) => Err(LeaderboardError::RateLimited {
                policy: policy.name.clone(),
                retry_after_secs: d.retry_after_secs,
            }),
            None => Ok(()),
        }
    }
}

/// Checks the `kv` policies, one compare-and-swap each on the regional store.
async fn check_in_kv<'p>(
    ctx: &Ctx<'_>,
    applicable: &[(&'p Policy, String)],
    now_ms: i64,
    checked: &mut Checked<'p>,
) {
    let tenant = ctx.tenant.as_str();
    let kv_policies = applicable.iter().filter(|(p, _)| p.store == Store::Kv);
    let bucket = ctx.platform().kv(STORE).await;
    for (policy, value) in kv_policies {
        let Some(bucket) = bucket.as_ref() else {
            checked.unreachable.push(policy);
            continue;
        };
        let key = format!("rl:{tenant}:{}:{value}", policy.name);
        let mut decided = None;
        // The value is `<tat µs> <nonce>`: unique to this request, so a swap a store reported as
        // failed is known to have landed exactly when the key now holds this request's value.
        let nonce = crate::scope::nonce(now_ms);
        let updated = bucket
            .update(
                &key,
                &mut |current| {
                    let tat = current
                        .and_then(|v| std::str::from_utf8(v).ok())
                        .and_then(|v| v.split(' ').next())
                        .and_then(|v| v.parse::<i64>().ok());
                    let d = ratelimit::decide(policy, tat, now_ms);
                    decided = Some(d);
                    d.allowed
                        .then(|| format!("{} {nonce}", d.tat_us).into_bytes())
                },
                KV_RETRIES,
            )
            .await;
        match (updated, decided) {
            (Ok(()), Some(d)) => checked.decisions.push((policy, d)),
            (result, _) => {
                if let Err(e) = result {
                    eprintln!("rate limit {}: key-value store: {e}", policy.name);
                }
                checked.unreachable.push(policy);
            }
        }
    }
}

/// Checks the `redis` policies in one script, all or nothing, decided on Redis's clock
/// (`redis_now_ms`), so a burst's requests are charged in the order they reach it, whatever each
/// instance's clock read. An unreachable Redis makes them unreachable; another error is the
/// answer.
async fn check_in_redis<'p>(
    ctx: &Ctx<'_>,
    applicable: &[(&'p Policy, String)],
    checked: &mut Checked<'p>,
) -> Result<()> {
    let tenant = ctx.tenant.as_str();
    let redis_policies: Vec<&(&Policy, String)> = applicable
        .iter()
        .filter(|(p, _)| p.store == Store::Redis)
        .collect();
    if redis_policies.is_empty() {
        return Ok(());
    }
    let keys: Vec<LimitKey> = redis_policies
        .iter()
        .map(|(p, value)| LimitKey {
            key: format!("lb:rl:{{{tenant}}}:{}:{value}", p.name),
            interval_us: p.interval_us(),
            tolerance_us: p.interval_us().saturating_mul(p.burst as i64 - 1),
        })
        .collect();
    let limited = match ctx.repo().await {
        Ok(repo) => repo.rate_limit(&keys).await,
        Err(e) => Err(e),
    };
    match limited {
        Ok((_, redis_now_ms, states)) => {
            for ((policy, _), state) in redis_policies.iter().zip(states) {
                let d = ratelimit::decide(policy, state.stored_tat_us, redis_now_ms);
                if d.allowed != state.allowed {
                    eprintln!(
                        "rate limit {}: the script and the core disagree ({state:?} vs {d:?})",
                        policy.name
                    );
                }
                checked.decisions.push((
                    policy,
                    Decision {
                        allowed: state.allowed,
                        ..d
                    },
                ));
            }
            Ok(())
        }
        Err(LeaderboardError::Unavailable(_)) => {
            checked
                .unreachable
                .extend(redis_policies.iter().map(|(p, _)| *p));
            Ok(())
        }
        Err(e) => Err(e),
    }
}
