//! HTTP routing with Spin's rules and the `spin-*` request headers Spin gives components.
//!
//! The matching is the app's own (`leaderboard::http::routes`: Spin's precedence, which the
//! components also use to place a request by the app's route table); this module adds what
//! Spin hands a component with the request. Private routes are not routable from outside.

use std::net::SocketAddr;

pub use leaderboard::http::routes::{InvalidRoute, Route, RouteMatch, Router};

/// The `spin-*` headers for this match, as Spin computes them.
pub fn spin_headers(m: &RouteMatch, full_url: &str, client: SocketAddr) -> Vec<(String, String)> {
    let mut h = vec![
        ("spin-path-info".to_string(), m.path_info.clone()),
        ("spin-full-url".to_string(), full_url.to_string()),
        ("spin-matched-route".to_string(), m.raw_route.clone()),
        ("spin-base-path".to_string(), "/".to_string()),
        ("spin-raw-component-route".to_string(), m.raw_route.clone()),
        (
            "spin-component-route".to_string(),
            m.component_route.clone(),
        ),
        ("spin-client-addr".to_string(), client.to_string()),
    ];
    for (name, value) in &m.params {
        h.push((
            format!("spin-path-match-{}", name.to_ascii_lowercase()),
            value.clone(),
        ));
    }
    h
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::manifest::Manifest;

    /// A path `route` matches: each named segment a value; the wildcard nothing, then two segments.
    fn samples(route: &str) -> Vec<String> {
        let fill = |rest: &str| {
            route
                .split('/')
                .map(|s| match s {
                    "..." => rest,
                    s if s.starts_with(':') => "x",
                    s => s,
                })
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("/")
        };
        vec![format!("/{}", fill("")), format!("/{}", fill("a/b"))]
    }

    /// The manifests declare fewer, broader triggers than the app's route table
    /// (`leaderboard::http::routes`): each path of each route of the table still reaches the
    /// component the table names, on Spin's rules.
    #[test]
    fn the_manifests_triggers_take_every_route_of_the_table_to_its_component() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for file in ["spin.toml", "spin-p3.toml"] {
            let manifest = Manifest::from_file(&root.join(file)).unwrap();
            let router = Router::build(
                manifest
                    .http_triggers
                    .iter()
                    .filter_map(|t| t.route.as_deref().map(|r| (r, t.component.as_str()))),
            )
            .unwrap();
            // A component checks the table by its package's name (`edge::http_entry!`), the
            // name of its `.wasm`: the manifest's id must be it.
            for (_, component) in leaderboard::http::routes::ROUTES {
                let source = &manifest.components[*component].source;
                assert_eq!(
                    source.file_stem().and_then(|s| s.to_str()),
                    Some(*component),
                    "{file}: component {component} runs {}",
                    source.display()
                );
            }
            for (route, _) in leaderboard::http::routes::ROUTES {
                for path in samples(route) {
                    let by_table = leaderboard::http::routes::of_path(&path);
                    let by_manifest = router.route(&path).unwrap();
                    assert_eq!(
                        by_manifest.component, by_table.component,
                        "{file}: {path} (the table's {}) reaches {} by {}",
                        by_table.raw_route, by_manifest.component, by_manifest.raw_route
                    );
                }
            }
        }
    }
}
