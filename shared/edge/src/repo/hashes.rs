//! Hash commands for small per-tenant records kept outside the boards (webhook subscriptions).

use leaderboard::Result;

use super::{Repo, bin, int, text};

impl Repo {
    /// `HGET`: the field's value, if any.
    pub async fn hget(&self, key: &str, field: &str) -> Result<Option<String>> {
        let r = self.exec("HGET", vec![bin(key), bin(field)]).await?;
        Ok(match r.first() {
            None | Some(super::RedisResult::Nil) => None,
            Some(v) => Some(text(v)?),
        })
    }

    /// `HSET` of one field: whether the field is new.
    pub async fn hset(&self, key: &str, field: &str, value: &str) -> Result<bool> {
        let r = self
            .exec("HSET", vec![bin(key), bin(field), bin(value)])
            .await?;
        Ok(r.first().map(int).transpose()? == Some(1))
    }

    /// `HDEL` of one field: whether it was there.
    pub async fn hdel(&self, key: &str, field: &str) -> Result<bool> {
        let r = self.exec("HDEL", vec![bin(key), bin(field)]).await?;
        Ok(r.first().map(int).transpose()? == Some(1))
    }

    /// `HGETALL`, as (field, value) pairs.
    pub async fn hgetall(&self, key: &str) -> Result<Vec<(String, String)>> {
        let flat = self.exec("HGETALL", vec![bin(key)]).await?;
        flat.chunks_exact(2)
            .map(|kv| Ok((text(&kv[0])?, text(&kv[1])?)))
            .collect()
    }

    /// `HLEN`.
    pub async fn hlen(&self, key: &str) -> Result<u64> {
        let r = self.exec("HLEN", vec![bin(key)]).await?;
        Ok(r.first().map(int).transpose()?.unwrap_or(0).max(0) as u64)
    }
}
