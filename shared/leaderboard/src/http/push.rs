//! Publishing boards to the push tier (nginx + nchan, `deploy/push/`): the rules, free of I/O.
//! The worker (`edge::push`) publishes a board's whole live state when a write announces it,
//! at most once per board per interval (debounced: the newest state always goes out).

/// How many entries a published state carries: the first page of the current period, as
/// `GET …/live?limit=100` renders it.
pub const TOP_N: u32 = 100;

/// The default of `live_publish_interval_ms`: the Spin-native `/live` polls at this cadence too.
pub const DEFAULT_INTERVAL_MS: i64 = 250;

/// The longest interval an operator may set: the worker waits it out within one message, and
/// Spin hands a Redis trigger's messages over one at a time.
pub const MAX_INTERVAL_MS: i64 = 2_000;

/// The publishing settings, from the worker's variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSettings {
    /// The publisher's base URL (`http://127.0.0.1:8091/pub`): a board's channel is
    /// `<base>/<tenant>/<board>`.
    pub base_url: String,
    /// At most one publish per board per this many milliseconds.
    pub interval_ms: i64,
}

impl PushSettings {
    /// From `push_publish_url` (unset or empty: publishing is off, `None`) and
    /// `live_publish_interval_ms` (unset: [`DEFAULT_INTERVAL_MS`]). A URL that is not `http(s)`,
    /// or an interval outside `0..=`[`MAX_INTERVAL_MS`], is an error naming the variable.
    pub fn parse(url: Option<&str>, interval_ms: Option<&str>) -> Result<Option<Self>, String> {
        let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "push_publish_url must be an http or https URL, got '{url}'"
            ));
        }
        let interval_ms = match interval_ms.map(str::trim).filter(|s| !s.is_empty()) {
            None => DEFAULT_INTERVAL_MS,
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|ms| (0..=MAX_INTERVAL_MS).contains(ms))
                .ok_or_else(|| {
                    format!(
                        "live_publish_interval_ms must be an integer in 0..={MAX_INTERVAL_MS}, \
                         got '{raw}'"
                    )
                })?,
        };
        Ok(Some(Self {
            base_url: url.trim_end_matches('/').to_string(),
            interval_ms,
        }))
    }

    /// The publisher's URL of a board's channel.
    pub fn channel_url(&self, tenant: &str, board: &str) -> String {
        format!("{}/{tenant}/{board}", self.base_url)
    }
}

/// What was last published of a board: its version and when (Unix ms), stored as
/// `<version>:<ms>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pushed {
    /// The board version the published state showed.
    pub version: i64,
    /// When it was published (Unix ms).
    pub at_ms: i64,
}

impl Pushed {
    /// The stored form; anything else reads as nothing published (the next change publishes).
    pub fn parse(raw: &str) -> Option<Self> {
        let (version, at_ms) = raw.split_once(':')?;
        Some(Self {
            version: version.parse().ok()?,
            at_ms: at_ms.parse().ok()?,
        })
    }

    /// The stored form, `<version>:<ms>`.
    pub fn encode(&self) -> String {
        format!("{}:{}", self.version, self.at_ms)
    }
}

/// What to do when a write to a board is announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// The push tier has this version or a newer one already.
    Nothing,
    /// Publish the board's state now.
    Now,
    /// Publish after waiting this many milliseconds (the interval since the last publish), then
    /// the newest state.
    After(i64),
}

/// Whether, and when, the board at `version` is published, `last` having been published and
/// `now_ms` being the time.
pub fn due(last: Option<Pushed>, version: i64, now_ms: i64, interval_ms: i64) -> Due {
    match last {
        None => Due::Now,
        Some(last) if last.version >= version => Due::Nothing,
        Some(last) => {
            let wait = last.at_ms + interval_ms - now_ms;
            // A clock that went back more than an interval is not waited out.
            if wait <= 0 || wait > interval_ms {
                Due::Now
            } else {
                Due::After(wait)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_off_without_a_url_and_checked_with_one() {
        assert_eq!(PushSettings::parse(None, Some("5")), Ok(None));
        assert_eq!(PushSettings::parse(Some(" "), None), Ok(None));
        assert_eq!(
            PushSettings::parse(Some("http://push:8091/pub/"), None),
            Ok(Some(PushSettings {
                base_url: "http://push:8091/pub".into(),
                interval_ms: DEFAULT_INTERVAL_MS,
            }))
        );
        let s = PushSettings::parse(Some("https://p/pub"), Some("0"))
            .unwrap()
            .unwrap();
        assert_eq!(s.interval_ms, 0);
        assert_eq!(s.channel_url("default", "cup"), "https://p/pub/default/cup");
        for bad in ["-1", "2001", "abc", "1.5"] {
            let e = PushSettings::parse(Some("http://p/pub"), Some(bad)).unwrap_err();
            assert!(e.contains("live_publish_interval_ms"), "{e}");
        }
        let e = PushSettings::parse(Some("redis://p"), None).unwrap_err();
        assert!(e.contains("push_publish_url"), "{e}");
    }

    #[test]
    fn pushed_round_trips_and_garbage_reads_as_nothing() {
        let p = Pushed {
            version: 42,
            at_ms: 1_700_000_000_123,
        };
        assert_eq!(Pushed::parse(&p.encode()), Some(p));
        for bad in ["", "42", "a:1", "1:b", "1:2:3"] {
            assert_eq!(Pushed::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_change_publishes_at_once_after_the_interval_and_waits_within_it() {
        let last = Some(Pushed {
            version: 5,
            at_ms: 1_000,
        });
        assert_eq!(due(None, 1, 1_000, 250), Due::Now);
        assert_eq!(due(last, 5, 1_100, 250), Due::Nothing);
        assert_eq!(due(last, 4, 5_000, 250), Due::Nothing);
        assert_eq!(due(last, 6, 1_100, 250), Due::After(150));
        assert_eq!(due(last, 6, 1_250, 250), Due::Now);
        assert_eq!(due(last, 6, 9_000, 250), Due::Now);
        // Interval 0: every change at once.
        assert_eq!(due(last, 6, 1_000, 0), Due::Now);
        // The clock went back: no wait longer than the interval.
        assert_eq!(due(last, 6, 500, 250), Due::Now);
    }
}
