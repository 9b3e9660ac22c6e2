//! Plain single-key commands for the small records kept outside the boards (API keys and their
//! tenant index).

use leaderboard::Result;

use super::{Repo, bin, int, text};

impl Repo {
    /// `SADD`: whether the member is new.
    pub async fn sadd(&self, key: &str, member: &str) -> Result<bool> {
        let r = self.exec("SADD", vec![bin(key), bin(member)]).await?;
        Ok(r.first().map(int).transpose()? == Some(1))
    }

    /// `SREM`: whether the member was there.
    pub async fn srem(&self, key: &str, member: &str) -> Result<bool> {
        let r = self.exec("SREM", vec![bin(key), bin(member)]).await?;
        Ok(r.first().map(int).transpose()? == Some(1))
    }

    /// `SMEMBERS`.
    pub async fn smembers(&self, key: &str) -> Result<Vec<String>> {
        self.exec("SMEMBERS", vec![bin(key)])
            .await?
            .iter()
            .map(text)
            .collect()
    }

    /// `SCARD`.
    pub async fn scard(&self, key: &str) -> Result<u64> {
        let r = self.exec("SCARD", vec![bin(key)]).await?;
        Ok(r.first().map(int).transpose()?.unwrap_or(0).max(0) as u64)
    }

    /// `DEL` of one key: whether it existed.
    pub async fn del(&self, key: &str) -> Result<bool> {
        let r = self.exec("DEL", vec![bin(key)]).await?;
        Ok(r.first().map(int).transpose()? == Some(1))
    }

    /// `SET key value NX PX ms`: whether the key was new (a gate taken for `ms`, a signed
    /// request's first arrival).
    pub async fn set_nx_px(&self, key: &str, value: &str, ms: u64) -> Result<bool> {
        let ms = i64::try_from(ms).unwrap_or(i64::MAX);
        let r = self
            .exec(
                "SET",
                vec![
                    bin(key),
                    bin(value),
                    bin("NX"),
                    bin("PX"),
                    super::RedisParameter::Int64(ms),
                ],
            )
            .await?;
        Ok(r.first().is_some_and(|v| text(v).is_ok_and(|t| t == "OK")))
    }

    /// `PTTL`: the key's time left (ms); `-1` without expiry, `-2` when there is no key.
    pub async fn pttl(&self, key: &str) -> Result<i64> {
        let r = self.exec("PTTL", vec![bin(key)]).await?;
        Ok(r.first().map(int).transpose()?.unwrap_or(-2))
    }
    /// A string value (`None` when absent).
    pub async fn get(&self, key: &str) -> Result<Option<String>> {
        let r = self.exec("GET", vec![bin(key)]).await?;
        Ok(r.first().map(text).transpose()?.filter(|v| !v.is_empty()))
    }
    /// Sets a string value (no expiry).
    pub async fn set(&self, key: &str, value: &str) -> Result<()> {
        self.exec("SET", vec![bin(key), bin(value)]).await?;
        Ok(())
    }
    /// Sets a string value that lives `ttl_ms`.
    pub async fn set_px(&self, key: &str, value: &str, ttl_ms: u64) -> Result<()> {
        self.exec(
            "SET",
            vec![bin(key), bin(value), bin("PX"), bin(ttl_ms.to_string())],
        )
        .await?;
        Ok(())
    }
    /// Whether the board of `keys` is marked as being created ([`super::Keys::creating`]).
    pub async fn creation_on_its_way(&self, keys: &super::Keys) -> Result<bool> {
        Ok(self.get(&keys.creating()).await?.is_some())
    }
    /// `PUBLISH` (at-most-once: subscribers that are not listening miss it).
    pub async fn publish(&self, channel: &str, message: &str) -> Result<()> {
        self.exec("PUBLISH", vec![bin(channel), bin(message)])
            .await?;
        Ok(())
    }
}
