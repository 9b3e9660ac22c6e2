//! Per-request context shared by the functions: who is calling (JWT or API key), for which
//! tenant, and lazily opened Redis and edge-cache handles, the tenant's settings and flag
//! document. A function gets its [`Ctx`] from [`crate::admission::admit`], which also applies
//! the rate limits and the API-version flag.

use std::cell::OnceCell;

use leaderboard::policy::access::{self, Principal};
use leaderboard::{LeaderboardError, Result, TenantId};

use crate::auth;
use crate::cache::EdgeCache;
use crate::http::Call;
use crate::platform::Platform;
use crate::repo::Repo;
use crate::scope::now_ms;

/// The request's caller, tenant and handles.
pub struct Ctx<'p> {
    platform: &'p dyn Platform,
    /// The verified token's principal, if a token was sent.
    pub principal: Option<Principal>,
    /// The tenant every key is scoped to.
    pub tenant: TenantId,
    repo: OnceCell<Repo>,
    cache: OnceCell<EdgeCache>,
    settings: OnceCell<leaderboard::policy::tenant::TenantSettings>,
    flag_doc: OnceCell<Option<(u64, String)>>,
    flag_value: OnceCell<Result<Option<serde_json::Value>>>,
}

impl<'p> Ctx<'p> {
    /// Authenticates the request (`Authorization: Bearer <JWT>`, or an API key as `X-Api-Key` or
    /// `Authorization: Bearer lbk_…`) and resolves the tenant (the token's
    /// `tid`; `X-Tenant` may select one only when it agrees, or for public reads without a token).
    ///
    /// The key configuration is read from the variables only when the request carries a token (an
    /// anonymous read of a public board, the CDN's case, reads no key configuration), and the JWKS
    /// only when the token needs it ([`auth::authenticate_with`]).
    ///
    /// Crate-private: a function admits a request with [`crate::admission::admit`], which adds
    /// the policies every request passes.
    ///
    /// Once the tenant is known, the KV keys most requests read — the tenant's settings, its flag
    /// document, the Redis breaker's state — and those `reads` names are read ahead in one call
    /// ([`Platform::prefetch`]).
    pub(crate) async fn new(
        platform: &'p dyn Platform,
        call: &Call<'_>,
        reads: impl FnOnce(&TenantId) -> Vec<String>,
    ) -> Result<Self> {
        let repo = OnceCell::new();
        let method = call.req.method().to_string();
        let principal = match crate::tenants::apikeys::presented(
            call.header("x-api-key"),
            call.header("authorization"),
        ) {
            // An API key (`edge::tenants::apikeys`): looked up in the regional KV store, Redis on a miss.
            Some(key) => Some(
                crate::tenants::apikeys::authenticate(
                    platform,
                    async || Repo::open_in(&repo, platform).await,
                    key,
                    &crate::tenants::apikeys::Signed {
                        timestamp: call.header(leaderboard::policy::apikey::TIMESTAMP_HEADER),
                        signature: call.header(leaderboard::policy::apikey::SIGNATURE_HEADER),
                        method: &method,
                        target: call
                            .req
                            .uri()
                            .path_and_query()
                            .map_or(call.req.uri().path(), |p| p.as_str()),
                        body: call.req.body(),
                    },
                    call.now_ms,
                )
                .await?,
            ),
            None => {
                auth::authenticate_with(
                    async |name: &str| platform.variable(name).await,
                    call.header("authorization"),
                    call.now_ms,
                    async |delegated: &auth::Delegated<'_>| {
                        auth::delegate::verify(platform, delegated, call.now_ms).await
                    },
                )
                .await?
            }
        };
        let tenant = access::resolve_tenant(principal.as_ref(), call.header("x-tenant"))?;
        call.note_tenant(tenant.as_str());
        let mut ahead = vec![
            crate::tenants::kv_key(&tenant),
            crate::flags::doc::kv_key(&tenant),
            crate::breaker::KEY.to_owned(),
            crate::stall::KEY.to_owned(),
            crate::cluster::MAP_KEY.to_owned(),
        ];
        ahead.extend(reads(&tenant));
        platform.prefetch(crate::kv::STORE, &ahead).await;
        Ok(Self {
            platform,
            principal,
            tenant,
            repo,
            cache: OnceCell::new(),
            settings: OnceCell::new(),
            flag_doc: OnceCell::new(),
            flag_value: OnceCell::new(),
        })
    }

    /// The platform the request runs on.
    pub fn platform(&self) -> &dyn Platform {
        self.platform
    }

    /// The principal, or 401 when the request carried no token.
    pub fn require_principal(&self) -> Result<&Principal> {
        self.principal.as_ref().ok_or_else(|| {
            LeaderboardError::Unauthorized("send Authorization: Bearer <token>".into())
        })
    }

    /// The Redis repository (connected on first use).
    pub async fn repo(&self) -> Result<&Repo> {
        Repo::open_in(&self.repo, self.platform).await
    }

    /// The tenant's settings (`edge::tenants`), read once per request (regional KV store, Redis
    /// at most every few seconds).
    pub async fn tenant_settings(&self) -> Result<&leaderboard::policy::tenant::TenantSettings> {
        if let Some(s) = self.settings.get() {
            return Ok(s);
        }
        let loaded = crate::tenants::load(
            self.platform,
            async || self.repo().await,
            &self.tenant,
            now_ms(),
        )
        .await?;
        Ok(self.settings.get_or_init(|| loaded))
    }

    /// The tenant's stored flag document and its version (`edge::flags::doc::load`), read once
    /// per request.
    pub async fn flag_doc(&self) -> Result<&Option<(u64, String)>> {
        if let Some(d) = self.flag_doc.get() {
            return Ok(d);
        }
        let loaded = crate::flags::doc::load(
            self.platform,
            async || self.repo().await,
            &self.tenant,
            now_ms(),
        )
        .await?;
        Ok(self.flag_doc.get_or_init(|| loaded))
    }

    /// [`Ctx::flag_doc`] parsed, once per request however many flags the request looks up
    /// (`Ok(None)`: the tenant has no document).
    pub async fn flag_doc_value(&self) -> Result<Option<&serde_json::Value>> {
        let parsed = match self.flag_value.get() {
            Some(parsed) => parsed,
            None => {
                let parsed = match self.flag_doc().await {
                    Ok(doc) => doc
                        .as_ref()
                        .map(|(_, doc)| {
                            serde_json::from_slice(doc.as_bytes()).map_err(|e| {
                                leaderboard::LeaderboardError::CorruptData(format!(
                                    "stored flag document: {e}"
                                ))
                            })
                        })
                        .transpose(),
                    Err(e) => Err(e),
                };
                self.flag_value.get_or_init(|| parsed)
            }
        };
        parsed.as_ref().map(Option::as_ref).map_err(Clone::clone)
    }

    /// The edge cache (opened on first use).
    pub async fn cache(&self) -> &EdgeCache {
        if let Some(c) = self.cache.get() {
            return c;
        }
        let opened = EdgeCache::open(self.platform).await;
        self.cache.get_or_init(|| opened)
    }

    /// After a write to `board` of this tenant: drops its cached copies here and in every other
    /// region ([`EdgeCache::invalidate_everywhere`]; `config`: its configuration changed too).
    /// Only opening Redis can fail; the invalidation itself never fails the write.
    pub async fn invalidate_everywhere(&self, board: &str, config: bool) -> Result<()> {
        let cache = self.cache().await;
        let repo = self.repo().await?;
        cache
            .invalidate_everywhere(repo, self.tenant.as_str(), board, config)
            .await;
        Ok(())
    }
}
