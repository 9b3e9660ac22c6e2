//! [`super::Spin`]'s variables: bundles of several app variables read with one host call, each read
//! once per request (kept a while on p3).

/// Component variables that join several app variables with `|` (templates in the manifest), so
/// a request reads them all with one host call: `(bundle, its parts in order)`. The last part
/// takes the rest of the value, so it alone may contain `|` (a rate-limit policy, a secret); the
/// others must not. A component that does not define a bundle reads its parts one by one.
pub const BUNDLES: &[(&str, &[&str])] = &[
    (
        "http_policy",
        &[
            "cors_allowed_origins",
            "request_log",
            "hsts_max_age_secs",
            "metrics",
            "behind_trusted_proxy",
            "redis_url",
            "redis_mode",
            "redis_min_replica_acks",
            "rate_limits",
        ],
    ),
    (
        "jwt_policy",
        &["jwt_issuer", "jwt_audience", "jwt_hs256_secret"],
    ),
];

/// How long a p3 instance keeps a variable it read (ms): a changed value (a variable provider's
/// rotated secret) applies within this time, and at once in a new instance (Spin 4 replaces a
/// p3 instance after 128 requests or 1 s idle). A p2 instance serves one request, which reads
/// each variable once.
#[cfg(feature = "p3")]
pub const VARIABLE_TTL_MS: u64 = 10_000;

#[cfg(feature = "p3")]
thread_local! {
    /// The variables this instance read (`None`: undefined) and when.
    static VARIABLES: std::cell::RefCell<Vec<(String, Option<String>, std::time::Instant)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// One host read of a variable (undefined → `None`); on p3 the instance's copy while it is
/// younger than [`VARIABLE_TTL_MS`]. A read the host could not answer (a variable provider's
/// error) is logged, counts as unset for this request, and is not kept.
pub(super) async fn read_variable(name: &str) -> Option<String> {
    #[cfg(feature = "p3")]
    if let Some(kept) = VARIABLES.with_borrow(|vars| {
        vars.iter()
            .find(|(n, _, at)| n == name && at.elapsed().as_millis() < u128::from(VARIABLE_TTL_MS))
            .map(|(_, v, _)| v.clone())
    }) {
        return kept;
    }
    crate::scope::count(crate::scope::HostCall::Variable);
    #[cfg(feature = "p2")]
    let read = spin_sdk::variables::get(name);
    #[cfg(feature = "p3")]
    let read = spin_sdk::variables::get(name).await;
    let value = match read {
        Ok(value) => Some(value),
        Err(spin_sdk::variables::Error::Undefined(_)) => None,
        Err(e) => {
            eprintln!("variables: {name} could not be read: {e:?}");
            return None;
        }
    };
    #[cfg(feature = "p3")]
    VARIABLES.with_borrow_mut(|vars| {
        vars.retain(|(n, _, _)| n != name);
        vars.push((name.to_owned(), value.clone(), std::time::Instant::now()));
    });
    value
}

/// A bundle's raw value, read at most once per request (`None`: not defined here).
pub async fn bundle(name: &'static str) -> Option<String> {
    bundle_parts(name).await.map(|parts| parts.join("|"))
}

pub(super) async fn bundle_parts(name: &'static str) -> Option<Vec<String>> {
    // The bundles this request read (`None`: the component does not define it) and their parts.
    if let Some(read) = crate::scope::with(|l| {
        l.bundles_read
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, parts)| parts.clone())
    }) {
        return read;
    }
    let arity = BUNDLES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(1, |(_, parts)| parts.len());
    let parts = read_variable(name)
        .await
        .map(|v| v.splitn(arity, '|').map(str::to_owned).collect());
    crate::scope::with(|l| l.bundles_read.push((name, parts.clone())));
    parts
}
