//! Asynchronous submissions: the board's inbox stream, the doorbell, and the projector's consumer
//! group.

use leaderboard::Result;

use leaderboard::idempotency::accepted_prefix;

use super::{Claim, Keys, Repo, bin, int, text, unavailable};

const ENQUEUE: &str = include_str!("lua/enqueue.lua");

impl Repo {
    /// Accepts an asynchronous submission: appends the event to the board's inbox stream (the
    /// durable record) and rings the doorbell channel so the projector drains it, in one script;
    /// with `claim`, only if the `Idempotency-Key` is still this attempt's (or free), storing the
    /// outcome in the same step. Returns the stream id, or `None` when the key is held by another
    /// attempt. A lost doorbell only delays projection until the next one.
    pub fn enqueue(
        &self,
        keys: &Keys,
        event_json: &str,
        doorbell: &str,
        board_ref: &str,
        claim: Option<&Claim>,
    ) -> Result<Option<String>> {
        let (flag, reservation, prefix) = match claim {
            Some(c) => ("1", c.reservation.clone(), accepted_prefix(&c.fingerprint)),
            None => ("0", String::new(), String::new()),
        };
        let r = self.eval(
            ENQUEUE,
            &[
                keys.inbox(),
                claim.map_or_else(|| keys.unused(), |c| keys.idem(&c.key)),
            ],
            vec![
                bin(event_json),
                bin(doorbell),
                bin(board_ref),
                bin(flag),
                bin(reservation),
                bin(prefix),
                Claim::ttl_arg(),
            ],
        )?;
        match r.as_slice() {
            [ok] if int(ok)? == 3 => Ok(None),
            [_, id] => Ok(Some(text(id)?)),
            other => Err(leaderboard::LeaderboardError::CorruptData(format!(
                "unexpected reply {other:?}"
            ))),
        }
    }

    /// Reads up to `count` inbox entries for the projector's consumer group (creating the group at
    /// the start of the stream if needed): first this consumer's pending entries (a previous run
    /// that died before acknowledging), then new ones. Returns `(stream id, event JSON)` pairs.
    pub fn inbox_batch(
        &self,
        keys: &Keys,
        group: &str,
        consumer: &str,
        count: u32,
    ) -> Result<Vec<(String, String)>> {
        let created = self.conn.execute(
            "XGROUP",
            &[
                bin("CREATE"),
                bin(keys.inbox()),
                bin(group),
                bin("0"),
                bin("MKSTREAM"),
            ],
        );
        // BUSYGROUP: the group exists already, which is the normal case.
        if let Err(e) = created
            && !e.contains("BUSYGROUP")
        {
            return Err(unavailable(e));
        }
        for start in ["0", ">"] {
            let r = self.exec(
                "XREADGROUP",
                vec![
                    bin("GROUP"),
                    bin(group),
                    bin(consumer),
                    bin("COUNT"),
                    bin(count.to_string()),
                    bin("STREAMS"),
                    bin(keys.inbox()),
                    bin(start),
                ],
            )?;
            // Flattened reply: stream name, then per entry: id, "event", json.
            let entries: Vec<(String, String)> = r
                .get(1..)
                .unwrap_or_default()
                .chunks(3)
                .filter_map(|c| match c {
                    [id, _field, json] => Some((text(id).ok()?, text(json).ok()?)),
                    _ => None,
                })
                .collect();
            if !entries.is_empty() {
                return Ok(entries);
            }
        }
        Ok(Vec::new())
    }

    /// Acknowledges (and trims) processed inbox entries.
    pub fn inbox_ack(&self, keys: &Keys, group: &str, ids: &[String]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut args = vec![bin(keys.inbox()), bin(group)];
        args.extend(ids.iter().map(|i| bin(i.as_str())));
        self.exec("XACK", args)?;
        let mut del = vec![bin(keys.inbox())];
        del.extend(ids.iter().map(|i| bin(i.as_str())));
        self.exec("XDEL", del)?;
        Ok(())
    }
}
