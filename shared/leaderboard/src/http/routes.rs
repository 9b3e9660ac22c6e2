//! The app's routes, and Spin's rules for which one a path takes.
//!
//! [`ROUTES`] is every route of the HTTP API and the component that serves it, as Spin's
//! manifest wrote them one trigger each: what names a request's route (the access log's `route`,
//! the metrics' `route` label) and its named segments (`:board`) and wildcard rest. The
//! manifests (`spin.toml`, `spin-p3.toml`) declare fewer, broader triggers — Spin 4.0.2 loads a
//! component once per trigger that names it (`spin-factors-executor`'s `load_app`), so each
//! trigger costs every start a whole load of its component — and each request is then placed by
//! this table in the component (`edge::http::Call`, by [`of_path`]: the table matched as it is,
//! nothing built first, about 3 µs natively, `benches/core.rs`); a test in `edge-host` checks
//! that the manifests' triggers take every route of the table to the component the table names.
//!
//! [`Router`] is Spin's matching (Spin 4.0.2 `crates/routes`, routefinder's "best match"):
//! exact routes (`/health/live`), named segments (`/boards/:board`) and a trailing wildcard
//! (`/api/...`; `/...` matches everything, and a wildcard also matches nothing after its
//! prefix). Segment by segment a literal beats a named segment, which beats the wildcard, so an
//! exact route beats any wildcard and the longest wildcard prefix wins. When two routes are the
//! same, the later one wins. `edge-host` routes a manifest's triggers with it.

use std::collections::BTreeMap;

/// A route that cannot be matched: where a wildcard stands, or a nameless `:`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid route '{route}': {why}")]
pub struct InvalidRoute {
    route: String,
    why: &'static str,
}

impl InvalidRoute {
    fn new(route: &str, why: &'static str) -> Self {
        Self {
            route: route.to_string(),
            why,
        }
    }
}

/// The root catch-all: what no other route takes (`/health/...` and unknown paths alike).
pub const CATCH_ALL: (&str, &str) = ("/...", "health");

/// Every route of the HTTP API and its component, in the order the manifest wrote them.
pub const ROUTES: &[(&str, &str)] = &[
    ("/health/live", "health"),
    ("/health/ready", "health"),
    ("/health/detailed", "health"),
    ("/metrics", "health"),
    ("/openapi.json", "health"),
    ("/docs", "health"),
    CATCH_ALL,
    ("/api/:v/boards", "boards"),
    ("/api/:v/tournaments", "boards"),
    ("/api/:v/players/:player/tournaments", "boards"),
    ("/api/:v/boards/:board", "boards"),
    ("/api/:v/boards/:board/reviews", "boards"),
    ("/api/:v/boards/:board/reviews/...", "boards"),
    ("/api/:v/boards/:board/tournament/...", "boards"),
    ("/api/:v/tenants/...", "boards"),
    ("/api/:v/api-keys", "boards"),
    ("/api/:v/api-keys/...", "boards"),
    ("/api/:v/webhooks", "boards"),
    ("/api/:v/webhooks/...", "boards"),
    ("/api/:v/boards/:board/scores", "scores"),
    ("/api/:v/boards/:board/join", "scores"),
    ("/api/:v/boards/:board/attempts", "scores"),
    ("/api/:v/boards/:board/rewards", "scores"),
    ("/api/:v/boards/:board/rewards/claim", "scores"),
    ("/api/:v/boards/:board/league", "scores"),
    ("/api/:v/boards/:board/entries", "rankings"),
    ("/api/:v/boards/:board/players/...", "rankings"),
    ("/api/:v/boards/:board/live", "rankings"),
    ("/api/:v/boards/:board/stats", "rankings"),
    ("/boards/:board/dashboard", "rankings"),
    ("/api/:v/boards/:board/events", "pipeline"),
    ("/api/:v/boards/:board/dead-letters/...", "pipeline"),
    ("/api/:v/boards/:board/replay", "pipeline"),
    ("/api/:v/admin/drain", "pipeline"),
    ("/api/:v/audit", "pipeline"),
    ("/api/:v/flags", "flags"),
    ("/ofrep/v1/evaluate/flags/...", "flags"),
    ("/api/:v/experiments", "flags"),
    ("/api/:v/experiments/...", "flags"),
    ("/graphql", "graphql"),
    ("/leaderboard.v1.LeaderboardService/...", "connect"),
];

/// The route of [`ROUTES`] a path takes: every path takes one, the [`CATCH_ALL`] if no other.
/// Matched on the table as it is, with nothing built first: a p2 instance serves one request.
pub fn of_path(path: &str) -> RouteMatch {
    best(ROUTES.iter().copied(), path)
        .unwrap_or_else(|| capture(CATCH_ALL.0, CATCH_ALL.1, path, &segments_of(path)))
}

/// The best of `routes` (`(route, component)`, sanitized) for `path`: the highest [`score`];
/// of two that score the same (`/a/:x` and `/a/:y`), the earlier.
fn best<'r>(
    routes: impl IntoIterator<Item = (&'r str, &'r str)>,
    path: &str,
) -> Option<RouteMatch> {
    let parts = segments_of(path);
    let mut winner: Option<(Vec<u8>, &str, &str)> = None;
    for (raw, component) in routes {
        let (prefix, wildcard) = split_wildcard(raw);
        let Some(score) = score(prefix, wildcard, &parts) else {
            continue;
        };
        if winner.as_ref().is_none_or(|(s, _, _)| score > *s) {
            winner = Some((score, raw, component));
        }
    }
    winner.map(|(_, raw, component)| capture(raw, component, path, &parts))
}

/// One route of a manifest, checked.
#[derive(Debug, Clone)]
pub struct Route {
    /// The route as written (`/` first, no `/` last).
    pub raw: String,
    /// The component it maps to.
    pub component: String,
}

/// A successful match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// The matched component.
    pub component: String,
    /// The route as written (`spin-matched-route`, `spin-raw-component-route`).
    pub raw_route: String,
    /// The route without a trailing `/...` (`spin-component-route`).
    pub component_route: String,
    /// What the wildcard matched (`spin-path-info`), `""` for exact routes.
    pub path_info: String,
    /// Named segment values (`spin-path-match-<name>`).
    pub params: BTreeMap<String, String>,
}

/// A manifest's router (edge-host's).
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
}

fn sanitize(route: &str) -> String {
    let absolute = if route.starts_with('/') {
        route.to_string()
    } else {
        format!("/{route}")
    };
    match absolute.strip_suffix('/') {
        Some(s) => s.to_string(),
        None => absolute,
    }
}

/// A sanitized route without its trailing wildcard, and whether it had one.
fn split_wildcard(raw: &str) -> (&str, bool) {
    match raw.strip_suffix("/...") {
        Some(prefix) => (prefix, true),
        None if raw == "..." => ("", true),
        None => (raw, false),
    }
}

/// A route's segments before its wildcard.
fn route_segments(prefix: &str) -> impl Iterator<Item = &str> {
    prefix.split('/').filter(|s| !s.is_empty())
}

impl Router {
    /// Builds the router from `(route, component)` pairs in manifest order.
    pub fn build<'a>(
        routes: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, InvalidRoute> {
        let mut out: Vec<Route> = Vec::new();
        for (raw, component) in routes {
            let based = sanitize(raw);
            for seg in route_segments(split_wildcard(&based).0) {
                if seg == "..." || seg.contains('*') {
                    return Err(InvalidRoute::new(
                        raw,
                        "a wildcard may only end a route as '/...'",
                    ));
                }
                if seg == ":" {
                    return Err(InvalidRoute::new(raw, "':' needs a name"));
                }
            }
            let route = Route {
                raw: based,
                component: component.to_string(),
            };
            // Spin: a duplicate route replaces the earlier one.
            out.retain(|r| r.raw != route.raw);
            out.push(route);
        }
        Ok(Self { routes: out })
    }

    /// The routes, in manifest order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Finds the best route for a request path (without query).
    pub fn route(&self, path: &str) -> Option<RouteMatch> {
        best(
            self.routes
                .iter()
                .map(|r| (r.raw.as_str(), r.component.as_str())),
            path,
        )
    }
}

/// A path's segments as Spin's matcher (routefinder) reads them: the leading and trailing `/`
/// trimmed, an empty segment within kept (`/boards//entries` names an empty board).
fn segments_of(path: &str) -> Vec<&str> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    }
}

/// How well a route (`prefix`, before its wildcard if it has one) matches a path's segments
/// (higher is better), if it does: segment by segment 3 for a literal, 2 for a named segment, 1
/// for one the wildcard covers; then 1 for an exact route and 0 for a wildcard, so an exact
/// route outranks a wildcard that matches the same segments.
fn score(prefix: &str, wildcard: bool, parts: &[&str]) -> Option<Vec<u8>> {
    // First whether it matches at all, which most routes do not by their first segments:
    // nothing is allocated for them.
    let mut n = 0;
    for seg in route_segments(prefix) {
        let part = parts.get(n)?;
        if !seg.starts_with(':') && seg != *part {
            return None;
        }
        n += 1;
    }
    if !wildcard && parts.len() != n {
        return None;
    }
    let mut score: Vec<u8> = route_segments(prefix)
        .map(|seg| if seg.starts_with(':') { 2 } else { 3 })
        .collect();
    score.resize(parts.len(), 1);
    score.push(if wildcard { 0 } else { 1 });
    Some(score)
}

/// The match of `path` by the route `raw` of `component`, which matches it ([`score`]).
fn capture(raw: &str, component: &str, path: &str, parts: &[&str]) -> RouteMatch {
    let (prefix, wildcard) = split_wildcard(raw);
    let params = route_segments(prefix)
        .zip(parts)
        .filter_map(|(seg, part)| Some((seg.strip_prefix(':')?.to_string(), (*part).to_string())))
        .collect();
    let path_info = if wildcard {
        let n = route_segments(prefix).count();
        let rest = parts[n.min(parts.len())..].join("/");
        match (rest.is_empty(), path.ends_with('/') && path != "/") {
            (true, false) => String::new(),
            (true, true) => "/".to_string(),
            (false, false) => format!("/{rest}"),
            (false, true) => format!("/{rest}/"),
        }
    } else {
        String::new()
    };
    let path_info = if wildcard && prefix.is_empty() && path == "/" {
        "/".to_string()
    } else {
        path_info
    };
    RouteMatch {
        component: component.to_string(),
        raw_route: raw.to_string(),
        component_route: prefix.to_string(),
        path_info,
        params,
    }
}

impl RouteMatch {
    /// `component` mounted at `/...` taking `path` as it is: the match Spin makes for service
    /// chaining (`http://<component>.spin.internal/path`).
    pub fn at_root(component: &str, path: &str) -> Self {
        Self {
            component: component.to_string(),
            raw_route: "/...".to_string(),
            component_route: String::new(),
            path_info: path.to_string(),
            params: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &str)]) -> Router {
        Router::build(routes.iter().copied()).unwrap()
    }

    #[test]
    fn exact_beats_wildcard_and_longest_prefix_wins() {
        let r = router(&[
            ("/...", "all"),
            ("/one", "one"),
            ("/one/...", "one_w"),
            ("/one/two/...", "two_w"),
        ]);
        assert_eq!(r.route("/one").unwrap().component, "one");
        assert_eq!(r.route("/one/x").unwrap().component, "one_w");
        assert_eq!(r.route("/one/two/three").unwrap().component, "two_w");
        assert_eq!(r.route("/zzz").unwrap().component, "all");
        assert_eq!(r.route("/").unwrap().component, "all");
    }

    #[test]
    fn literal_beats_param_and_params_are_captured() {
        let r = router(&[("/users/:id", "by_id"), ("/users/me", "me")]);
        assert_eq!(r.route("/users/me").unwrap().component, "me");
        let m = r.route("/users/42").unwrap();
        assert_eq!(m.component, "by_id");
        assert_eq!(m.params["id"], "42");
        assert!(r.route("/users/42/x").is_none());
        assert!(r.route("/nothing").is_none());
    }

    #[test]
    fn what_spin_puts_in_its_headers() {
        let r = router(&[("/foo/...", "c"), ("/health/live", "h"), ("/...", "root")]);
        let m = r.route("/foo/bar").unwrap();
        assert_eq!(
            (
                m.path_info.as_str(),
                m.component_route.as_str(),
                m.raw_route.as_str()
            ),
            ("/bar", "/foo", "/foo/...")
        );
        assert_eq!(r.route("/foo").unwrap().path_info, "");
        assert_eq!(r.route("/foo/").unwrap().path_info, "/");
        assert_eq!(r.route("/foo/a/b/").unwrap().path_info, "/a/b/");
        let exact = r.route("/health/live").unwrap();
        assert_eq!(
            (exact.path_info.as_str(), exact.component_route.as_str()),
            ("", "/health/live")
        );
        let root = r.route("/x/y").unwrap();
        assert_eq!(
            (root.path_info.as_str(), root.component_route.as_str()),
            ("/x/y", "")
        );
    }

    #[test]
    fn duplicate_route_last_wins() {
        let r = router(&[("/a", "first"), ("/a", "second")]);
        assert_eq!(r.route("/a").unwrap().component, "second");
        assert_eq!(r.routes().len(), 1);
    }

    #[test]
    fn a_chained_request_is_mounted_at_the_root() {
        let m = RouteMatch::at_root("flags", "/internal/flags/evaluate");
        assert_eq!(
            (
                m.raw_route.as_str(),
                m.path_info.as_str(),
                m.component.as_str()
            ),
            ("/...", "/internal/flags/evaluate", "flags")
        );
    }

    #[test]
    fn of_two_routes_that_match_alike_the_earlier_wins() {
        let r = router(&[("/a/:x", "first"), ("/a/:y", "second")]);
        let m = r.route("/a/b").unwrap();
        assert_eq!(
            (m.component.as_str(), m.params["x"].as_str()),
            ("first", "b")
        );
    }

    #[test]
    fn bad_routes_are_refused() {
        for bad in ["/a/.../b", "/a/:", "/a*"] {
            assert!(Router::build([(bad, "c")]).is_err(), "{bad}");
        }
    }

    /// A path the route matches: each named segment a value, the wildcard one more segment.
    fn sample(route: &str) -> String {
        route
            .split('/')
            .map(|s| match s {
                "..." => "rest",
                s if s.starts_with(':') => "x",
                s => s,
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    #[test]
    fn every_route_of_the_table_is_valid_and_takes_its_own_paths() {
        let router = Router::build(ROUTES.iter().copied()).unwrap();
        let written: Vec<(&str, &str)> = router
            .routes()
            .iter()
            .map(|r| (r.raw.as_str(), r.component.as_str()))
            .collect();
        assert_eq!(written, ROUTES, "each route once, written as Spin reads it");
        for (route, component) in ROUTES {
            let m = of_path(&sample(route));
            assert_eq!(
                (m.raw_route.as_str(), m.component.as_str()),
                (*route, *component)
            );
            // The table matched as it is and as a router built of it: the same.
            for path in [sample(route), sample(route).replace("/rest", "")] {
                assert_eq!(Some(of_path(&path)), router.route(&path), "{path}");
            }
        }
        let m = of_path("/api/v1/boards/arena/players/ann/around");
        assert_eq!(m.raw_route, "/api/:v/boards/:board/players/...");
        assert_eq!(
            (m.params["v"].as_str(), m.params["board"].as_str()),
            ("v1", "arena")
        );
        assert_eq!(m.path_info, "/ann/around");
        assert_eq!(of_path("/nothing/here").raw_route, "/...");
    }

    #[test]
    fn an_empty_segment_within_a_path_is_a_segment_as_spin_reads_it() {
        // routefinder trims the path's leading and trailing `/` and splits the rest: a named
        // segment may be empty (the handler then refuses the empty id).
        let m = of_path("/api/v1/boards//entries");
        assert_eq!(m.raw_route, "/api/:v/boards/:board/entries");
        assert_eq!(m.params["board"], "");
        assert_eq!(of_path("/api//v1/tenants/x").raw_route, "/...");
        let m = of_path("/api/v1/boards/b/players/ann//around/");
        assert_eq!(m.path_info, "/ann//around/");
        assert_eq!(
            of_path("//api/v1/boards/b//").raw_route,
            "/api/:v/boards/:board"
        );
    }
}
