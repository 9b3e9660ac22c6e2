//! Plain single-key commands for the small records kept outside the boards (API keys and their
//! tenant index).

use leaderboard::Result;

use super::{Repo, bin, int, text};

impl Repo {
    /// `SADD`: whether the member is new.
    pub fn sadd(&self, key: &str, member: &str) -> Result<bool> {
        let r = self.exec("SADD", vec![bin(key), bin(member)])?;
        Ok(r.first().map(int).transpose()? == Some(1))
    }

    /// `SREM`: whether the member was there.
    pub fn srem(&self, key: &str, member: &str) -> Result<bool> {
        let r = self.exec("SREM", vec![bin(key), bin(member)])?;
        Ok(r.first().map(int).transpose()? == Some(1))
    }

    /// `SMEMBERS`.
    pub fn smembers(&self, key: &str) -> Result<Vec<String>> {
        self.exec("SMEMBERS", vec![bin(key)])?
            .iter()
            .map(text)
            .collect()
    }

    /// `SCARD`.
    pub fn scard(&self, key: &str) -> Result<u64> {
        let r = self.exec("SCARD", vec![bin(key)])?;
        Ok(r.first().map(int).transpose()?.unwrap_or(0).max(0) as u64)
    }

    /// `DEL` of one key: whether it existed.
    pub fn del(&self, key: &str) -> Result<bool> {
        let r = self.exec("DEL", vec![bin(key)])?;
        Ok(r.first().map(int).transpose()? == Some(1))
    }
}
