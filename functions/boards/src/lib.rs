//! `functions/boards`: board administration.
//!
//! ```text
//! POST   /api/{v}/boards            admin: create (body: board config)
//! GET    /api/{v}/boards            service/admin: the tenant's boards
//! GET    /api/{v}/boards/{board}    config, current period, next reset (public boards: no token)
//! DELETE /api/{v}/boards/{board}    admin: delete with all its data
//! GET    /api/{v}/tenants/{tenant}        platform, or the tenant's admin: its settings
//! PUT    /api/{v}/tenants/{tenant}        platform: replace them (quotas, defaults, rate limits)
//! GET    /api/{v}/tenants/{tenant}/usage  platform, or the tenant's admin: boards and players
//! …      /api/{v}/api-keys[/{id}]         admin: API keys for service clients (`keys`)
//! …      /api/{v}/webhooks[/{id}[/…]]     admin: webhook subscriptions (`webhooks`)
//! …      /api/{v}/boards/{board}/reviews[/…]  admin: held and flagged submissions (`reviews`)
//! GET    /api/{v}/tournaments                       the tenant's tournaments by state and category
//! GET    /api/{v}/players/{player}/tournaments      the tournaments a player joined, with rank
//! POST   /api/{v}/boards/{board}/tournament/end     admin: end a tournament now
//! POST   /api/{v}/boards/{board}/tournament/extend  admin: move its end later
//! ```

// The p3 build names its spin-sdk (6.0) `spin_sdk`, as the entry point's macro expects.
#[cfg(feature = "p3")]
extern crate spin_sdk_6 as spin_sdk;

use edge::boards::routes as boards;
use edge::http::{Call, Method, Response};
use edge::integrity::routes as reviews;
use edge::platform::Platform;
use edge::tenants::apikeys::routes as keys;
use edge::tenants::routes as tenants;
use edge::webhooks::routes as webhooks;
use leaderboard::{BoardId, Result, TenantId};
edge::http_entry!(route);

/// Serves one request on `platform` (Spin in the component; a native platform in the benchmark's
/// baseline server).
pub async fn route(platform: &dyn Platform, call: &Call<'_>) -> Result<Response> {
    let segments: Vec<&str> = call.path.split('/').filter(|s| !s.is_empty()).collect();
    if let ["api", _, "tenants", tenant, rest @ ..] = segments.as_slice() {
        let ctx = edge::admission::admit(platform, call).await?;
        let tenant = TenantId::new(*tenant)?;
        return match (call.method(), rest) {
            (&Method::GET, []) => tenants::get(call, &ctx, &tenant).await,
            (&Method::PUT, []) => tenants::put(call, &ctx, &tenant).await,
            (_, []) => Err(call.method_not_allowed("GET, PUT")),
            (&Method::GET, ["usage"]) => tenants::usage(call, &ctx, &tenant).await,
            (_, ["usage"]) => Err(call.method_not_allowed("GET")),
            _ => Err(call.not_found()),
        };
    }
    if let ["api", _, "api-keys", rest @ ..] = segments.as_slice() {
        let ctx = edge::admission::admit(platform, call).await?;
        return keys::route(call, &ctx, rest).await;
    }
    if let ["api", _, "webhooks", rest @ ..] = segments.as_slice() {
        let ctx = edge::admission::admit(platform, call).await?;
        return webhooks::route(call, &ctx, rest).await;
    }
    if let ["api", _, "boards", board, "reviews", rest @ ..] = segments.as_slice() {
        let ctx = edge::admission::admit(platform, call).await?;
        return reviews::route(call, &ctx, &BoardId::new(*board)?, rest).await;
    }
    if let ["api", _, "players", player, "tournaments"] = segments.as_slice() {
        let ctx = edge::admission::admit(platform, call).await?;
        return match call.method() {
            &Method::GET => edge::competitions::tournaments::joined(&ctx, call, player).await,
            _ => Err(call.method_not_allowed("GET")),
        };
    }
    if let ["api", _, "tournaments"] = segments.as_slice() {
        let ctx = edge::admission::admit(platform, call).await?;
        return match call.method() {
            &Method::GET => edge::competitions::tournaments::list(&ctx, call).await,
            _ => Err(call.method_not_allowed("GET")),
        };
    }
    if let ["api", _, "boards", board, "tournament", rest @ ..] = segments.as_slice() {
        // The method first: any other is `405` whatever the path's board id (as the scores
        // routes answer).
        let end = match (call.method(), rest) {
            (&Method::POST, ["end"]) => true,
            (&Method::POST, ["extend"]) => false,
            (_, ["end" | "extend"]) => return Err(call.method_not_allowed("POST")),
            _ => {
                return Err(call.not_found());
            }
        };
        let ctx = edge::admission::admit(platform, call).await?;
        let board = BoardId::new(*board)?;
        return if end {
            edge::competitions::tournaments::end_early(&ctx, call, &board).await
        } else {
            edge::competitions::tournaments::extend(&ctx, call, &board).await
        };
    }
    let board = call.param("board").map(BoardId::new).transpose()?;
    let ctx = edge::admission::admit(platform, call).await?;
    match (call.method(), board) {
        (&Method::POST, None) => boards::create(call, &ctx).await,
        (&Method::GET, None) => boards::list(call, &ctx).await,
        (&Method::GET, Some(id)) => boards::get(call, &ctx, &id).await,
        (&Method::DELETE, Some(id)) => boards::delete(call, &ctx, &id).await,
        (_, None) => Err(call.method_not_allowed("GET, POST")),
        (_, Some(_)) => Err(call.method_not_allowed("GET, DELETE")),
    }
}
