//! Admission of an API request, before its handler does any work: who is calling and for which
//! tenant ([`Ctx`]), then the policies every request passes — the rate limits
//! ([`crate::ratelimit::enforce`]) and, for API v2, the tenant's `api-v2-enabled` flag.

use leaderboard::board::view::ApiVersion;
use leaderboard::policy::flags::ValueType;
use leaderboard::{LeaderboardError, Result, TenantId};

use crate::api::Ctx;
use crate::flags::{API_V2_ENABLED, product_flag};
use crate::http::Call;
use crate::platform::Platform;

/// Authenticates the request, resolves its tenant and applies the rate limits and the
/// API-version flag: the context a function's handler works with, or the `401`/`403`/`429`/`404`
/// that ends the request.
pub async fn admit<'p>(platform: &'p dyn Platform, call: &Call<'_>) -> Result<Ctx<'p>> {
    admit_reading(platform, call, |_| Vec::new()).await
}

/// [`admit`], reading ahead the KV keys `reads` names for the tenant along with the ones every
/// request reads, in one call (see [`Ctx::new`]): what a handler will read, e.g. its cached page.
pub async fn admit_reading<'p>(
    platform: &'p dyn Platform,
    call: &Call<'_>,
    reads: impl FnOnce(&TenantId) -> Vec<String>,
) -> Result<Ctx<'p>> {
    let ctx = Ctx::new(platform, call, reads).await?;
    crate::ratelimit::enforce(&ctx, call).await?;
    check_version(&ctx, call).await?;
    Ok(ctx)
}

/// [`admit`] without the rate limits, for a route whose calls say their class and board only
/// once the request is parsed: each root field of a GraphQL operation passes
/// [`crate::ratelimit::enforce_as`] before it does any work.
pub async fn admit_per_call<'p>(platform: &'p dyn Platform, call: &Call<'_>) -> Result<Ctx<'p>> {
    let ctx = Ctx::new(platform, call, |_| Vec::new()).await?;
    check_version(&ctx, call).await?;
    Ok(ctx)
}

/// API v2 answers only where the tenant's `api-v2-enabled` flag is not `false`.
async fn check_version(ctx: &Ctx<'_>, call: &Call<'_>) -> Result<()> {
    if call.version == ApiVersion::V2
        && product_flag(ctx, call, API_V2_ENABLED, ValueType::Boolean).await
            == Some(serde_json::Value::Bool(false))
    {
        return Err(LeaderboardError::NotFound(format!(
            "API v2 is not enabled for tenant '{}' (flag '{API_V2_ENABLED}')",
            ctx.tenant.as_str(),
        )));
    }
    Ok(())
}
