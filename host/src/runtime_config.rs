//! Spin-format runtime config (`runtime-config.toml`): which backend serves each KV store label.
//!
//! ```toml
//! [key_value_store.default]
//! type = "redis"                    # Spin's Redis KV provider
//! url = "redis://127.0.0.1:6379"
//!
//! [key_value_store.cache]
//! type = "spin"                     # Spin's SQLite provider; path relative to the config file
//! path = ".spin/cache.db"           # (without a path: an in-memory database, as in Spin)
//!
//! [key_value_store.scratch]
//! type = "memory"                   # host extension (real Spin has no such type): SQLite in memory
//! ```
//! Without a config, `default` is SQLite at `<app dir>/.spin/sqlite_key_value.db`, as in Spin.
//! Other sections Spin knows (`[sqlite_database.*]`, `[llm_compute]`, …) are an error here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::kv::{KvBackend, KvStores};

/// One store's backend choice.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum StoreConfig {
    /// SQLite file.
    Spin {
        /// File path (relative to the runtime config's folder); default `.spin/sqlite_key_value.db`.
        path: Option<PathBuf>,
    },
    /// Redis server.
    Redis {
        /// `redis://` URL.
        url: String,
    },
    /// In-process memory (host extension).
    Memory,
}

/// The parsed runtime config.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// `[key_value_store.<label>]`.
    #[serde(default)]
    pub key_value_store: BTreeMap<String, StoreConfig>,
    /// The folder relative paths resolve against.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

impl RuntimeConfig {
    /// Reads a runtime config file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading runtime config {}", path.display()))?;
        let mut cfg: RuntimeConfig = toml::from_str(&text)
            .with_context(|| format!("invalid runtime config {}", path.display()))?;
        cfg.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(cfg)
    }

    /// Opens every configured store, adding `default` (SQLite in `app_dir/.spin`) when absent.
    /// As in Spin, a `spin` store without a `path` is an in-memory database.
    pub async fn open_stores(&self, app_dir: &Path) -> Result<KvStores> {
        let mut stores = KvStores::default();
        let mut sqlite_files: BTreeMap<PathBuf, _> = BTreeMap::new();
        let mut entries: Vec<(String, Option<PathBuf>, Option<StoreConfig>)> = self
            .key_value_store
            .iter()
            .map(|(label, cfg)| (label.clone(), None, Some(cfg.clone())))
            .collect();
        if !self.key_value_store.contains_key("default") {
            let file = app_dir.join(".spin").join("sqlite_key_value.db");
            entries.push(("default".into(), Some(file), None));
        }
        for (label, implicit_file, cfg) in entries {
            if label.is_empty() {
                bail!("empty key-value store label in runtime config");
            }
            let file = match (implicit_file, cfg) {
                (Some(file), _) => Some(file),
                (None, Some(StoreConfig::Spin { path: Some(p) })) => Some(self.base_dir.join(p)),
                (None, Some(StoreConfig::Spin { path: None } | StoreConfig::Memory))
                | (None, None) => None,
                (None, Some(StoreConfig::Redis { url })) => {
                    let backend = KvBackend::redis(&url)
                        .await
                        .with_context(|| format!("key-value store '{label}'"))?;
                    stores.insert(&label, backend);
                    continue;
                }
            };
            let db = match &file {
                None => KvBackend::open_sqlite_db(None)?,
                Some(file) => match sqlite_files.get(file) {
                    Some(db) => std::sync::Arc::clone(db),
                    None => {
                        let db = KvBackend::open_sqlite_db(Some(file))?;
                        sqlite_files.insert(file.clone(), std::sync::Arc::clone(&db));
                        db
                    }
                },
            };
            stores.insert(
                &label,
                KvBackend::Sqlite {
                    db,
                    label: label.clone(),
                },
            );
        }
        Ok(stores)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_spin_format_and_rejects_unknown_sections() {
        let cfg: RuntimeConfig = toml::from_str(
            r#"
[key_value_store.default]
type = "redis"
url = "redis://127.0.0.1:1"
[key_value_store.cache]
type = "spin"
path = "x.db"
[key_value_store.scratch]
type = "memory"
"#,
        )
        .unwrap();
        assert_eq!(
            cfg.key_value_store["default"],
            StoreConfig::Redis {
                url: "redis://127.0.0.1:1".into()
            }
        );
        assert_eq!(cfg.key_value_store["scratch"], StoreConfig::Memory);
        assert!(toml::from_str::<RuntimeConfig>("[llm_compute]\ntype = \"spin\"").is_err());
        assert!(toml::from_str::<RuntimeConfig>("[key_value_store.x]\ntype = \"cosmos\"").is_err());
    }
}
