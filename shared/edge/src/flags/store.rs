//! A tenant's feature-flag document in Redis: `lb:tenant:{t}:flags`, a hash of the canonical
//! document and its version (bumped by every write).

use leaderboard::{LeaderboardError, Result, TenantId};

use crate::repo::{Repo, bin, int, text};

const FLAGS_PUT: &str = include_str!("lua/flags_put.lua");

/// The hash of a tenant's flags.
pub fn key(tenant: &TenantId) -> String {
    format!("lb:tenant:{{{}}}:flags", tenant.as_str())
}

/// The outcome of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// Written; the new version.
    Written(u64),
    /// Not written: the document is at this version, not the expected one.
    Stale(u64),
}

impl Repo {
    /// The document and its version (`None`: the tenant never stored one).
    pub async fn flags_get(&self, tenant: &TenantId) -> Result<Option<(u64, String)>> {
        let r = self
            .exec("HMGET", vec![bin(key(tenant)), bin("version"), bin("doc")])
            .await?;
        match r.as_slice() {
            [v, d] => {
                let doc = text(d)?;
                if doc.is_empty() {
                    return Ok(None);
                }
                let version = u64::try_from(int(v)?).map_err(|_| {
                    LeaderboardError::CorruptData("negative flag document version".into())
                })?;
                Ok(Some((version, doc)))
            }
            _ => Err(LeaderboardError::CorruptData(
                "unexpected HMGET reply".into(),
            )),
        }
    }

    /// Writes the document if its version is `expected` (any with `None`).
    pub async fn flags_put(
        &self,
        tenant: &TenantId,
        expected: Option<u64>,
        doc: &str,
    ) -> Result<Put> {
        let r = self
            .eval(
                FLAGS_PUT,
                &[key(tenant)],
                vec![
                    bin(expected.map(|v| v.to_string()).unwrap_or_default()),
                    bin(doc),
                ],
            )
            .await?;
        let n = |i: usize| -> Result<u64> {
            r.get(i)
                .map(int)
                .transpose()?
                .and_then(|v| u64::try_from(v).ok())
                .ok_or_else(|| LeaderboardError::CorruptData("unexpected flags reply".into()))
        };
        Ok(if n(0)? == 1 {
            Put::Written(n(1)?)
        } else {
            Put::Stale(n(1)?)
        })
    }
}
