//! `spin.toml` (manifest version 2): the subset of Spin's manifest the host runs, parsed strictly.
//!
//! What the host does not implement (other trigger types, `files`, `sqlite_databases`, `ai_models`,
//! remote `source`s, …) is a start-up error naming the feature, never a silent skip: a manifest the
//! host accepts is one Spin runs the same way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The parsed application.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The folder the manifest lives in; component sources are relative to it.
    pub base_dir: PathBuf,
    /// `[application] name`.
    pub name: String,
    /// `[application.trigger.redis] address` (may hold `{{ variable }}` templates).
    pub redis_address: Option<String>,
    /// `[variables]`.
    pub variables: BTreeMap<String, VariableDecl>,
    /// `[[trigger.http]]`.
    pub http_triggers: Vec<HttpTrigger>,
    /// `[[trigger.redis]]`.
    pub redis_triggers: Vec<RedisTrigger>,
    /// `[component.<id>]`, by id.
    pub components: BTreeMap<String, ComponentDecl>,
}

/// An application variable.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    /// Value used when no provider has one.
    pub default: Option<String>,
    /// Start-up fails when no provider or default gives a value.
    #[serde(default)]
    pub required: bool,
    /// The value must not be logged.
    #[serde(default)]
    pub secret: bool,
    /// Free text.
    pub description: Option<String>,
}

/// An HTTP route bound to a component.
#[derive(Debug, Clone)]
pub struct HttpTrigger {
    /// The route pattern, or `None` for a private route (reachable only via `<id>.spin.internal`).
    pub route: Option<String>,
    /// The component id.
    pub component: String,
}

/// A Redis channel bound to a component.
#[derive(Debug, Clone)]
pub struct RedisTrigger {
    /// The channel to subscribe to.
    pub channel: String,
    /// The component id.
    pub component: String,
    /// Per-trigger address; falls back to the application's.
    pub address: Option<String>,
}

/// A component declaration.
#[derive(Debug, Clone)]
pub struct ComponentDecl {
    /// Absolute path of the `.wasm` file.
    pub source: PathBuf,
    /// Component variables: name → template over application variables.
    pub variables: BTreeMap<String, String>,
    /// KV store labels this component may open.
    pub key_value_stores: Vec<String>,
    /// Outbound host patterns (may hold templates).
    pub allowed_outbound_hosts: Vec<String>,
    /// Environment variables given to the guest.
    pub environment: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    spin_manifest_version: toml::Value,
    application: RawApplication,
    #[serde(default)]
    variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    trigger: BTreeMap<String, toml::Value>,
    #[serde(default)]
    component: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApplication {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    version: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    authors: Vec<String>,
    #[serde(default)]
    trigger: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedisApp {
    address: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttpTrigger {
    route: RawRoute,
    component: String,
    #[serde(default)]
    executor: Option<toml::Value>,
    #[serde(default)]
    #[allow(dead_code)]
    id: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRoute {
    Path(String),
    Private { private: bool },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedisTrigger {
    channel: String,
    component: String,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    source: toml::Value,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    #[allow(dead_code)]
    build: Option<toml::Value>,
    #[serde(default)]
    files: Option<toml::Value>,
    #[serde(default)]
    exclude_files: Option<toml::Value>,
    #[serde(default)]
    sqlite_databases: Option<toml::Value>,
    #[serde(default)]
    ai_models: Option<toml::Value>,
    #[serde(default)]
    dependencies: Option<toml::Value>,
}

impl Manifest {
    /// Reads and validates a manifest file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading manifest {}", path.display()))?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let base = if base.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base
        };
        Self::parse(&text, &base).with_context(|| format!("in manifest {}", path.display()))
    }

    /// Parses manifest text; `base_dir` resolves relative component sources.
    pub fn parse(text: &str, base_dir: &Path) -> Result<Self> {
        let raw: RawManifest = toml::from_str(text).context("invalid spin.toml")?;
        if raw.spin_manifest_version.as_integer() != Some(2) {
            bail!("only spin_manifest_version = 2 is supported");
        }
        let redis_address = app_triggers(raw.application.trigger)?;
        for (name, decl) in &raw.variables {
            validate_variable_name(name)?;
            // Spin's rule: exactly one of the two.
            if decl.required == decl.default.is_some() {
                bail!("variable '{name}': must be `required` OR have a `default`");
            }
        }

        let (http_triggers, redis_triggers) = triggers(raw.trigger)?;
        let mut components = BTreeMap::new();
        for (id, value) in raw.component {
            let decl = component(&id, value, base_dir)?;
            components.insert(id, decl);
        }
        for t in &http_triggers {
            if !components.contains_key(&t.component) {
                bail!("HTTP trigger refers to unknown component '{}'", t.component);
            }
        }
        for t in &redis_triggers {
            if !components.contains_key(&t.component) {
                bail!(
                    "Redis trigger refers to unknown component '{}'",
                    t.component
                );
            }
            if t.address.is_none() && redis_address.is_none() {
                bail!(
                    "Redis trigger for channel '{}' has no address: set [application.trigger.redis] address",
                    t.channel
                );
            }
        }
        Ok(Manifest {
            base_dir: base_dir.to_path_buf(),
            name: raw.application.name,
            redis_address,
            variables: raw.variables,
            http_triggers,
            redis_triggers,
            components,
        })
    }
}

/// `[application.trigger.*]`: the Redis trigger's address, if any (an HTTP base other than `/`
/// and other trigger types are refused).
fn app_triggers(triggers: BTreeMap<String, toml::Value>) -> Result<Option<String>> {
    let mut redis_address = None;
    for (kind, value) in triggers {
        match kind.as_str() {
            "redis" => {
                let app: RawRedisApp = value
                    .try_into()
                    .context("invalid [application.trigger.redis]")?;
                redis_address = Some(app.address);
            }
            "http" => {
                let table = value.as_table().cloned().unwrap_or_default();
                if table.get("base").is_some_and(|b| b.as_str() != Some("/")) {
                    bail!(
                        "unsupported manifest feature: [application.trigger.http] base other than \"/\""
                    );
                }
            }
            other => bail!("unsupported manifest feature: trigger type '{other}'"),
        }
    }
    Ok(redis_address)
}

/// `[[trigger.http]]` and `[[trigger.redis]]` (other trigger types are refused).
fn triggers(
    triggers: BTreeMap<String, toml::Value>,
) -> Result<(Vec<HttpTrigger>, Vec<RedisTrigger>)> {
    let mut http_triggers = Vec::new();
    let mut redis_triggers = Vec::new();
    for (kind, value) in triggers {
        match kind.as_str() {
            "http" => {
                let list: Vec<RawHttpTrigger> =
                    value.try_into().context("invalid [[trigger.http]]")?;
                for t in list {
                    if t.executor
                        .is_some_and(|e| e.get("type").and_then(|v| v.as_str()) != Some("spin"))
                    {
                        bail!(
                            "unsupported manifest feature: non-spin executor on route for '{}'",
                            t.component
                        );
                    }
                    let route = match t.route {
                        RawRoute::Path(p) => Some(p),
                        RawRoute::Private { private: true } => None,
                        RawRoute::Private { private: false } => {
                            bail!("route = {{ private = false }} is not a valid route")
                        }
                    };
                    http_triggers.push(HttpTrigger {
                        route,
                        component: t.component,
                    });
                }
            }
            "redis" => {
                let list: Vec<RawRedisTrigger> =
                    value.try_into().context("invalid [[trigger.redis]]")?;
                for t in list {
                    redis_triggers.push(RedisTrigger {
                        channel: t.channel,
                        component: t.component,
                        address: t.address,
                    });
                }
            }
            other => bail!("unsupported manifest feature: trigger type '{other}'"),
        }
    }
    Ok((http_triggers, redis_triggers))
}

/// `[component.<id>]`: its source resolved against `base_dir`; features edge-host does not
/// implement are refused by name.
fn component(id: &str, value: toml::Value, base_dir: &Path) -> Result<ComponentDecl> {
    let c: RawComponent = value
        .try_into()
        .with_context(|| format!("invalid [component.{id}]"))?;
    for (feature, present) in [
        ("files", c.files.is_some()),
        ("exclude_files", c.exclude_files.is_some()),
        ("sqlite_databases", c.sqlite_databases.is_some()),
        ("ai_models", c.ai_models.is_some()),
        ("dependencies", c.dependencies.is_some()),
    ] {
        if present {
            bail!("unsupported manifest feature: '{feature}' in [component.{id}]");
        }
    }
    let source = match c.source.as_str() {
        Some(s) => base_dir.join(s),
        None => bail!(
            "unsupported manifest feature: non-file source in [component.{id}] (only local paths)"
        ),
    };
    for name in c.variables.keys() {
        validate_variable_name(name)?;
    }
    Ok(ComponentDecl {
        source,
        variables: c.variables,
        key_value_stores: c.key_value_stores,
        allowed_outbound_hosts: c.allowed_outbound_hosts,
        environment: c.environment,
    })
}

/// Spin variable names: lowercase ASCII letters, digits and underscores, starting with a letter.
pub fn validate_variable_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        bail!(
            "invalid variable name '{name}': use lowercase letters, digits and '_', starting with a letter"
        );
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const OK: &str = r#"
spin_manifest_version = 2
[application]
name = "t"
[application.trigger.redis]
address = "redis://127.0.0.1:6379"
[variables]
redis_url = { default = "redis://x" }
secret_key = { required = true, secret = true }
[[trigger.http]]
route = "/api/..."
component = "a"
[[trigger.http]]
route = { private = true }
component = "b"
[[trigger.redis]]
channel = "events"
component = "b"
[component.a]
source = "a.wasm"
key_value_stores = ["default"]
variables = { redis_url = "{{ redis_url }}" }
[component.b]
source = "b.wasm"
"#;

    #[test]
    fn parses_triggers_components_and_variables() {
        let m = Manifest::parse(OK, Path::new("/app")).unwrap();
        assert_eq!(m.http_triggers.len(), 2);
        assert_eq!(m.http_triggers[0].route.as_deref(), Some("/api/..."));
        assert_eq!(m.http_triggers[1].route, None);
        assert_eq!(m.redis_triggers[0].channel, "events");
        assert_eq!(m.components["a"].source, Path::new("/app/a.wasm"));
        assert!(m.variables["secret_key"].required);
    }

    #[test]
    fn unsupported_features_are_errors() {
        let text = OK.replace(
            "source = \"b.wasm\"",
            "source = \"b.wasm\"\nfiles = [\"x\"]",
        );
        let err = format!("{:#}", Manifest::parse(&text, Path::new("/")).unwrap_err());
        assert!(
            err.contains("unsupported manifest feature: 'files'"),
            "{err}"
        );
        let text = OK.replace("[[trigger.redis]]", "[[trigger.mqtt]]");
        let err = format!("{:#}", Manifest::parse(&text, Path::new("/")).unwrap_err());
        assert!(err.contains("trigger type 'mqtt'"), "{err}");
    }

    #[test]
    fn unknown_component_and_bad_names_rejected() {
        let text = OK.replace("component = \"a\"", "component = \"zz\"");
        assert!(Manifest::parse(&text, Path::new("/")).is_err());
        let text = OK.replace("redis_url = { default", "Redis_URL = { default");
        assert!(Manifest::parse(&text, Path::new("/")).is_err());
    }
}
