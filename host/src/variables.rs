//! Application and component variables, resolved the way Spin does.
//!
//! Providers, in order: the environment (`SPIN_VARIABLE_<NAME>`, like Spin's env provider), then
//! explicit overrides given to the host, then the manifest default. Component variables are
//! templates over application variables (`"redis://{{ host }}:6379"`), resolved once at start-up.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow, bail};

use crate::manifest::{Manifest, VariableDecl};

/// Resolved application variables.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    values: BTreeMap<String, String>,
    secrets: Vec<String>,
}

impl Variables {
    /// Resolves every application variable; a required one without a value is an error.
    pub fn resolve(
        decls: &BTreeMap<String, VariableDecl>,
        overrides: &BTreeMap<String, String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let mut values = BTreeMap::new();
        let mut secrets = Vec::new();
        for (name, decl) in decls {
            let env_name = format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase());
            let value = env(&env_name)
                .or_else(|| overrides.get(name).cloned())
                .or_else(|| decl.default.clone());
            match value {
                Some(v) => {
                    if decl.secret {
                        secrets.push(name.clone());
                    }
                    values.insert(name.clone(), v);
                }
                None if decl.required => bail!(
                    "required variable '{name}' has no value: set {env_name} or give it a default"
                ),
                None => {}
            }
        }
        Ok(Self { values, secrets })
    }

    /// The value of an application variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Whether the variable is declared secret (its value must not be logged).
    pub fn is_secret(&self, name: &str) -> bool {
        self.secrets.iter().any(|s| s == name)
    }

    /// Expands `{{ name }}` references in a template.
    pub fn expand(&self, template: &str) -> Result<String> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| anyhow!("unterminated '{{{{' in template '{template}'"))?;
            let name = after[..end].trim();
            let value = self.get(name).ok_or_else(|| {
                anyhow!("template '{template}' refers to undefined variable '{name}'")
            })?;
            out.push_str(value);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Resolves each component's variables; errors name the component.
    pub fn component_values(
        &self,
        manifest: &Manifest,
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        let mut all = BTreeMap::new();
        for (id, comp) in &manifest.components {
            let mut vals = BTreeMap::new();
            for (name, template) in &comp.variables {
                let v = self
                    .expand(template)
                    .map_err(|e| anyhow!("component '{id}' variable '{name}': {e}"))?;
                vals.insert(name.clone(), v);
            }
            all.insert(id.clone(), vals);
        }
        Ok(all)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn decls() -> BTreeMap<String, VariableDecl> {
        let mut d = BTreeMap::new();
        d.insert(
            "host".into(),
            VariableDecl {
                default: Some("localhost".into()),
                ..Default::default()
            },
        );
        d.insert(
            "token".into(),
            VariableDecl {
                required: true,
                secret: true,
                ..Default::default()
            },
        );
        d
    }

    #[test]
    fn env_beats_default_and_required_is_enforced() {
        let env = |k: &str| (k == "SPIN_VARIABLE_TOKEN").then(|| "t0k".to_string());
        let v = Variables::resolve(&decls(), &BTreeMap::new(), env).unwrap();
        assert_eq!(v.get("token"), Some("t0k"));
        assert_eq!(v.get("host"), Some("localhost"));
        assert!(v.is_secret("token"));
        let err = Variables::resolve(&decls(), &BTreeMap::new(), |_| None).unwrap_err();
        assert!(err.to_string().contains("SPIN_VARIABLE_TOKEN"));
    }

    #[test]
    fn templates_expand_and_reject_unknown_names() {
        let env = |k: &str| (k == "SPIN_VARIABLE_TOKEN").then(|| "t".to_string());
        let v = Variables::resolve(&decls(), &BTreeMap::new(), env).unwrap();
        assert_eq!(
            v.expand("redis://{{ host }}:6379/{{token}}").unwrap(),
            "redis://localhost:6379/t"
        );
        assert!(v.expand("{{ nope }}").is_err());
        assert!(v.expand("{{ host").is_err());
    }
}
