//! Reading a board's log and managing its dead letters.

use leaderboard::Result;

use super::{Keys, Repo, bin, int, text, uint};

const REDRIVE: &str = include_str!("lua/redrive.lua");
const RANGE: &str = include_str!("lua/range.lua");
const STRANDED: &str = include_str!("lua/stranded.lua");

/// A stream entry: its id and fields.
pub type StreamEntry = (String, Vec<(String, String)>);

impl Repo {
    /// Up to `limit` entries of a stream after `after` (exclusive; from the start when `None`).
    pub async fn stream_page(
        &self,
        key: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StreamEntry>> {
        let start = after.map_or_else(|| "-".to_string(), |a| format!("({a}"));
        self.range(key, &start, "+", limit).await
    }

    /// Up to `limit` entries of a stream with ids in `start..=end` (`-`/`+` for the ends, a
    /// leading `(` for exclusive).
    pub async fn range(
        &self,
        key: &str,
        start: &str,
        end: &str,
        limit: u32,
    ) -> Result<Vec<StreamEntry>> {
        let r = self
            .eval(
                RANGE,
                &[key.to_string()],
                vec![bin(start), bin(end), bin(limit.to_string())],
            )
            .await?;
        let mut out = Vec::new();
        let mut it = r.iter();
        while let Some(id) = it.next() {
            let n = it.next().map(uint).transpose()?.unwrap_or(0);
            let mut fields = Vec::new();
            for _ in 0..n / 2 {
                match (it.next(), it.next()) {
                    (Some(k), Some(v)) => fields.push((text(k)?, text(v)?)),
                    _ => {
                        return Err(leaderboard::LeaderboardError::CorruptData(
                            "a truncated stream entry".into(),
                        ));
                    }
                }
            }
            out.push((text(id)?, fields));
        }
        Ok(out)
    }

    /// Entries a stream holds.
    pub async fn stream_len(&self, key: &str) -> Result<u64> {
        let r = self.exec("XLEN", vec![bin(key)]).await?;
        r.first().map_or(Ok(0), uint)
    }

    /// The first entry id of a stream (`None` when empty).
    pub async fn stream_first(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .range(key, "-", "+", 1)
            .await?
            .into_iter()
            .next()
            .map(|(id, _)| id))
    }

    /// Moves dead letters (id and the fields to append) back into the inbox and rings the
    /// doorbell; how many moved.
    pub async fn redrive(
        &self,
        keys: &Keys,
        letters: &[StreamEntry],
        doorbell: &str,
        board_ref: &str,
    ) -> Result<u64> {
        let mut args = vec![bin(doorbell), bin(board_ref)];
        for (id, fields) in letters {
            args.push(bin(id.as_str()));
            args.push(bin((fields.len() * 2).to_string()));
            for (k, v) in fields {
                args.extend([bin(k.as_str()), bin(v.as_str())]);
            }
        }
        let r = self
            .eval(REDRIVE, &[keys.dead(), keys.inbox()], args)
            .await?;
        Ok(u64::try_from(r.first().map(int).transpose()?.unwrap_or(0)).unwrap_or(0))
    }

    /// Appends `entry` (field `entry`) to a stream that keeps about the newest `keep` entries.
    pub async fn append_capped(&self, key: &str, keep: u64, entry: &str) -> Result<String> {
        let r = self
            .exec(
                "XADD",
                vec![
                    bin(key),
                    bin("MAXLEN"),
                    bin("~"),
                    bin(keep.to_string()),
                    bin("*"),
                    bin("entry"),
                    bin(entry),
                ],
            )
            .await?;
        r.first()
            .map(text)
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Deletes dead letters; how many existed.
    pub async fn purge(&self, keys: &Keys, ids: &[String]) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut args = vec![bin(keys.dead())];
        args.extend(ids.iter().map(|i| bin(i.as_str())));
        let r = self.exec("XDEL", args).await?;
        Ok(u64::try_from(r.first().map(int).transpose()?.unwrap_or(0)).unwrap_or(0))
    }
    /// How many entries of `stream` its consumer group `group` took longer than `idle_ms` ago
    /// and has not acknowledged (counted up to `max`; 0 without the stream or the group).
    pub(crate) async fn stream_stranded(
        &self,
        stream: &str,
        group: &str,
        idle_ms: u64,
        max: u64,
    ) -> Result<u64> {
        let r = self
            .eval(
                STRANDED,
                &[stream.to_string()],
                vec![bin(group), bin(idle_ms.to_string()), bin(max.to_string())],
            )
            .await?;
        r.first()
            .map(crate::repo::uint)
            .transpose()
            .map(Option::unwrap_or_default)
    }
}

/// A stream id (`<ms>` or `<ms>-<seq>`).
pub fn check_stream_id(id: &str) -> Result<()> {
    let ok = match id.split_once('-') {
        Some((ms, seq)) => ms.parse::<u64>().is_ok() && seq.parse::<u64>().is_ok(),
        None => id.parse::<u64>().is_ok(),
    };
    if ok {
        Ok(())
    } else {
        Err(leaderboard::LeaderboardError::InvalidCursor(format!(
            "'{id}' is not an event id (<ms>-<seq>)"
        )))
    }
}
