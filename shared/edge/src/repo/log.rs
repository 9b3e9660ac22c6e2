//! Reading a board's log and managing its dead letters.

use leaderboard::Result;

use spin_sdk::redis::RedisResult;

use super::script::{Arg, answer, answer_of, script, unexpected};
use super::{Keys, Repo, bin, int, text, uint};

script! {
    /// Dead letters moved back into the inbox (`lua/redrive.lua`): `moved`, how many.
    mod redrive = include_str!("lua/redrive.lua");
    keys {
        /// The board's dead letters (stream).
        dead,
        /// The board's inbox (stream).
        inbox,
    }
    args {
        /// The doorbell's channel.
        doorbell,
        /// The doorbell's payload (the board).
        payload;
        /// Per letter: its id, its field count, then its fields and values.
        more letters,
    }
}

script! {
    /// A page of a stream (`lua/range.lua`): `entries`, then per entry its id, its field count,
    /// then its fields and values.
    mod range = include_str!("lua/range.lua");
    keys {
        /// The stream.
        stream,
    }
    args {
        /// The first id (`-`, or a leading `(` for exclusive).
        start,
        /// The last id (`+`, or a leading `(` for exclusive).
        stop,
        /// Entries read at most.
        count,
    }
}

script! {
    /// Entries of a stream its group took and has not acknowledged (`lua/stranded.lua`):
    /// `stranded` and how many, `no_stream` or `no_group`.
    mod stranded = include_str!("lua/stranded.lua");
    keys {
        /// The stream.
        stream,
    }
    args {
        /// The consumer group.
        group,
        /// How long an entry was taken at least (ms).
        idle_ms,
        /// Entries counted at most.
        max,
    }
}

/// A stream entry: its id and fields.
pub type StreamEntry = (String, Vec<(String, String)>);

/// A stream entry's fields as a script lists them after their count (`count` values, names and
/// values in turn, taken from `it`): an odd, unreadable or truncated list is damaged data.
pub(crate) fn entry_fields(
    count: &RedisResult,
    it: &mut std::slice::Iter<'_, RedisResult>,
) -> Result<Vec<(String, String)>> {
    let count = usize::try_from(uint(count)?)
        .ok()
        .filter(|n| n % 2 == 0)
        .ok_or_else(|| {
            leaderboard::LeaderboardError::CorruptData(format!(
                "a stream entry of {count:?} field values"
            ))
        })?;
    let mut fields = Vec::new();
    for _ in 0..count / 2 {
        match (it.next(), it.next()) {
            (Some(k), Some(v)) => fields.push((text(k)?, text(v)?)),
            _ => return Err(truncated_entry()),
        }
    }
    Ok(fields)
}

/// A stream entry a script's answer cut short.
pub(crate) fn truncated_entry() -> leaderboard::LeaderboardError {
    leaderboard::LeaderboardError::CorruptData("a truncated stream entry".into())
}

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
        let r = range::run(
            self,
            range::Keys {
                stream: key.to_string(),
            },
            range::Args {
                start: start.into(),
                stop: end.into(),
                count: limit.into(),
            },
        )
        .await?;
        let rest = answer_of(&r, range::NAME, "entries")?;
        let mut out = Vec::new();
        let mut it = rest.iter();
        while let Some(id) = it.next() {
            let count = it.next().ok_or_else(truncated_entry)?;
            let fields = entry_fields(count, &mut it)?;
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
        let mut more = Vec::new();
        for (id, fields) in letters {
            more.push(Arg::from(id.as_str()));
            more.push(Arg::from(fields.len() * 2));
            for (k, v) in fields {
                more.extend([Arg::from(k.as_str()), Arg::from(v.as_str())]);
            }
        }
        let r = redrive::run(
            self,
            redrive::Keys {
                dead: keys.dead(),
                inbox: keys.inbox(),
            },
            redrive::Args {
                doorbell: doorbell.into(),
                payload: board_ref.into(),
                letters: more,
            },
        )
        .await?;
        match answer(&r)? {
            (word, [moved]) if word == "moved" => uint(moved),
            (word, rest) => Err(unexpected(redrive::NAME, &word, rest)),
        }
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
        let r = stranded::run(
            self,
            stranded::Keys {
                stream: stream.to_string(),
            },
            stranded::Args {
                group: group.into(),
                idle_ms: idle_ms.into(),
                max: max.into(),
            },
        )
        .await?;
        let (word, rest) = answer(&r)?;
        stranded_of(&word, rest)
    }
}

/// How many entries `stranded.lua` counted: none without the stream or its group.
fn stranded_of(word: &str, rest: &[RedisResult]) -> Result<u64> {
    match (word, rest) {
        ("stranded", [n]) => uint(n),
        ("no_stream" | "no_group", []) => Ok(0),
        _ => Err(unexpected(stranded::NAME, word, rest)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stranded_entries_are_counted_or_none() {
        let count = |word: &str, rest: &[RedisResult]| stranded_of(word, rest).ok();
        assert_eq!(count("stranded", &[RedisResult::Int64(3)]), Some(3));
        assert_eq!(count("no_stream", &[]), Some(0));
        assert_eq!(count("no_group", &[]), Some(0));
        // The previous release's bare count, and a word no release answers.
        assert_eq!(count("3", &[]), None);
        assert_eq!(count("no_group", &[RedisResult::Int64(1)]), None);
        assert_eq!(count("stranded", &[RedisResult::Int64(-1)]), None);
    }
}
