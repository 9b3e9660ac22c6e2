//! Asynchronous submissions: the board's inbox stream, the doorbell, and the projector's consumer
//! group.

use leaderboard::Result;

use super::{Keys, Repo, bin, text, unavailable};

impl Repo {
    /// Accepts an asynchronous submission: appends the event to the board's inbox stream (the
    /// durable record) and rings the doorbell channel so the projector drains it. Returns the
    /// stream id. A lost doorbell only delays projection until the next one.
    pub fn enqueue(
        &self,
        keys: &Keys,
        event_json: &str,
        doorbell: &str,
        board_ref: &str,
    ) -> Result<String> {
        let r = self.exec(
            "XADD",
            vec![
                bin(keys.inbox()),
                bin("MAXLEN"),
                bin("~"),
                bin("1000000"),
                bin("*"),
                bin("event"),
                bin(event_json),
            ],
        )?;
        let id = r.first().map(text).transpose()?.unwrap_or_default();
        self.exec("PUBLISH", vec![bin(doorbell), bin(board_ref)])?;
        Ok(id)
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
