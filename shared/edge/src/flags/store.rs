//! A tenant's feature-flag document in Redis: `lb:tenant:{t}:flags`, a hash of the canonical
//! document and its version (bumped by every write).

use leaderboard::{LeaderboardError, Result, TenantId};

use crate::repo::script::{answer, script, unexpected};
use crate::repo::{RedisResult, Repo, bin, int, text, uint};

script! {
    /// A conditional write of the document (`lua/flags_put.lua`).
    mod flags_put = include_str!("lua/flags_put.lua");
    keys {
        /// The tenant's flags hash ([`key`]: `doc`, `version`).
        flags,
    }
    args {
        /// The version the writer read (`''`: any).
        expected,
        /// The document (canonical JSON).
        doc,
    }
}

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
        let r = flags_put::run(
            self,
            flags_put::Keys { flags: key(tenant) },
            flags_put::Args {
                expected: expected.map(|v| v.to_string()).unwrap_or_default().into(),
                doc: doc.into(),
            },
        )
        .await?;
        put_answer(&r)
    }
}

/// What `flags_put.lua` answered.
fn put_answer(r: &[RedisResult]) -> Result<Put> {
    let (word, rest) = answer(r)?;
    match (word.as_str(), rest) {
        ("written", [v]) => Ok(Put::Written(uint(v)?)),
        ("stale", [v]) => Ok(Put::Stale(uint(v)?)),
        _ => Err(unexpected(flags_put::NAME, &word, rest)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    use crate::repo::script::reply_text as word;

    #[test]
    fn a_put_is_read_by_its_word() {
        let put = |w: &str, v: i64| put_answer(&[word(w), RedisResult::Int64(v)]);
        assert_eq!(put("written", 4).unwrap(), Put::Written(4));
        assert_eq!(put("stale", 3).unwrap(), Put::Stale(3));
        assert!(matches!(
            put("stale", -1),
            Err(LeaderboardError::CorruptData(_))
        ));
        assert!(matches!(
            put("writen", 4),
            Err(LeaderboardError::CorruptData(_))
        ));
        assert!(matches!(
            put_answer(&[word("written")]),
            Err(LeaderboardError::CorruptData(_))
        ));
    }
}
