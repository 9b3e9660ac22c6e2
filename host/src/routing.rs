//! HTTP routing with Spin's rules and the `spin-*` request headers Spin gives components.
//!
//! Patterns: exact (`/health/live`), named segments (`/boards/:board`), and a trailing wildcard
//! (`/api/...`; `/...` matches everything). Precedence is Spin's (routefinder's "best match"):
//! segment by segment, a literal beats a named segment, which beats the wildcard — so an exact route
//! beats any wildcard and the longest wildcard prefix wins. When two triggers declare the same
//! route the later one wins, as in Spin. Private routes are not routable from outside.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use anyhow::{Result, bail};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// One compiled route.
#[derive(Debug, Clone)]
pub struct Route {
    /// The route as written in the manifest.
    pub raw: String,
    /// The component it maps to.
    pub component: String,
    segments: Vec<Segment>,
    wildcard: bool,
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

/// The application's router.
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

impl Router {
    /// Builds the router from `(route, component)` pairs in manifest order.
    pub fn build<'a>(routes: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let mut out: Vec<Route> = Vec::new();
        for (raw, component) in routes {
            let based = sanitize(raw);
            let (prefix, wildcard) = match based.strip_suffix("/...") {
                Some(p) => (p.to_string(), true),
                None if based == "..." => (String::new(), true),
                None => (based.clone(), false),
            };
            let mut segments = Vec::new();
            for seg in prefix.split('/').filter(|s| !s.is_empty()) {
                if seg == "..." || seg.contains('*') {
                    bail!("invalid route '{raw}': a wildcard may only end a route as '/...'");
                }
                match seg.strip_prefix(':') {
                    Some("") => bail!("invalid route '{raw}': ':' needs a name"),
                    Some(name) => segments.push(Segment::Param(name.to_string())),
                    None => segments.push(Segment::Literal(seg.to_string())),
                }
            }
            let route = Route {
                raw: based,
                component: component.to_string(),
                segments,
                wildcard,
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
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut best: Option<(Vec<u8>, &Route, RouteMatch)> = None;
        for route in &self.routes {
            let Some((score, m)) = route.matches(path, &parts) else {
                continue;
            };
            if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                best = Some((score, route, m));
            }
        }
        best.map(|(_, _, m)| m)
    }
}

impl Route {
    fn matches(&self, path: &str, parts: &[&str]) -> Option<(Vec<u8>, RouteMatch)> {
        if parts.len() < self.segments.len()
            || (!self.wildcard && parts.len() != self.segments.len())
        {
            return None;
        }
        let mut score = Vec::with_capacity(parts.len() + 1);
        let mut params = BTreeMap::new();
        for (seg, part) in self.segments.iter().zip(parts) {
            match seg {
                Segment::Literal(l) if l == part => score.push(3),
                Segment::Literal(_) => return None,
                Segment::Param(name) => {
                    params.insert(name.clone(), (*part).to_string());
                    score.push(2);
                }
            }
        }
        // Remaining path segments are covered by the wildcard; an exact route outranks a wildcard
        // matching the same segments.
        score.resize(parts.len(), 1);
        score.push(if self.wildcard { 0 } else { 1 });
        let path_info = if self.wildcard {
            let rest = parts[self.segments.len()..].join("/");
            match (rest.is_empty(), path.ends_with('/') && path != "/") {
                (true, false) => String::new(),
                (true, true) => "/".to_string(),
                (false, false) => format!("/{rest}"),
                (false, true) => format!("/{rest}/"),
            }
        } else {
            String::new()
        };
        let path_info = if self.wildcard && self.segments.is_empty() && path == "/" {
            "/".to_string()
        } else {
            path_info
        };
        let component_route = self
            .raw
            .strip_suffix("/...")
            .unwrap_or(&self.raw)
            .to_string();
        Some((
            score,
            RouteMatch {
                component: self.component.clone(),
                raw_route: self.raw.clone(),
                component_route,
                path_info,
                params,
            },
        ))
    }
}

impl RouteMatch {
    /// A synthetic match for service chaining (`http://<component>.spin.internal/path`): as if the
    /// component were mounted at `/...`.
    pub fn synthetic(component: &str, path: &str) -> Self {
        Self {
            component: component.to_string(),
            raw_route: "/...".to_string(),
            component_route: String::new(),
            path_info: path.to_string(),
            params: BTreeMap::new(),
        }
    }

    /// The `spin-*` headers for this match, as Spin computes them.
    pub fn spin_headers(&self, full_url: &str, client: SocketAddr) -> Vec<(String, String)> {
        let mut h = vec![
            ("spin-path-info".to_string(), self.path_info.clone()),
            ("spin-full-url".to_string(), full_url.to_string()),
            ("spin-matched-route".to_string(), self.raw_route.clone()),
            ("spin-base-path".to_string(), "/".to_string()),
            (
                "spin-raw-component-route".to_string(),
                self.raw_route.clone(),
            ),
            (
                "spin-component-route".to_string(),
                self.component_route.clone(),
            ),
            ("spin-client-addr".to_string(), client.to_string()),
        ];
        for (name, value) in &self.params {
            h.push((
                format!("spin-path-match-{}", name.to_ascii_lowercase()),
                value.clone(),
            ));
        }
        h
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
    fn header_values_match_spin() {
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
}
