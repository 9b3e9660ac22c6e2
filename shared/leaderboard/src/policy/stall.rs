//! Telling a Redis server that stopped answering without refusing (a paused process, a
//! black-holed network) from a busy one, so that new requests for it fail fast instead of joining
//! the wait: Spin's outbound Redis has no timeouts, and a command sent to such a server waits
//! until it answers, however long that is.
//!
//! A region's requests share, per server, a **canary**, kept with the others as one JSON map in
//! the region's KV store: about once every [`StallPolicy::canary_every_ms`], one request marks its
//! first command to the server before sending it ([`Canary::claim`]) and clears the mark when the
//! answer comes ([`Canary::answered`]). A mark older than [`StallPolicy::stalled_after_ms`] says the
//! server has stopped answering ([`Watch::Stalled`]): requests that have not sent yet fail at once
//! with a `503` and `Retry-After`, but one every [`StallPolicy::reprobe_ms`] sends all the same (a
//! new canary, as the breaker's half-open probe), so the first answer after the server resumes
//! clears the mark for everyone. A request that sent before the mark grew old waits for the
//! server: nothing but the server can end that wait.
//!
//! So, from the moment a server stops, new requests for it fail fast within
//! `canary_every_ms + stalled_after_ms` (4 s); until then they wait with the rest, and every
//! `reprobe_ms` one more does. A healthy server costs the region two KV writes every
//! `canary_every_ms`, whatever the load. The silence that means a stall is long (3 s) so that a
//! canary slowed by a starved CPU is not taken for one. A canary whose request ends without an
//! answer (its instance killed) looks like a stall until the reprobe that follows at once
//! answers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How often a canary goes out and when its silence means a stall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StallPolicy {
    /// A server gets a new canary this long after the last one was sent.
    pub canary_every_ms: i64,
    /// A canary unanswered this long means the server has stopped answering.
    pub stalled_after_ms: i64,
    /// While stalled, one request in this long sends anyway.
    pub reprobe_ms: i64,
    /// A server no request has sent a canary to for this long is forgotten (a node that left
    /// the cluster, a pod's old address).
    pub forget_after_ms: i64,
}

impl Default for StallPolicy {
    fn default() -> Self {
        Self {
            canary_every_ms: 1_000,
            stalled_after_ms: 3_000,
            reprobe_ms: 2_000,
            forget_after_ms: 600_000,
        }
    }
}

/// One server's canary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Canary {
    /// When the oldest unanswered canary was sent (0: every canary answered).
    pub since_ms: i64,
    /// When the last canary (or reprobe) was sent.
    pub last_ms: i64,
}

/// What a request about to send its first command to a server does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    /// Send.
    Go,
    /// Send as the canary: claim it first ([`Canary::claim`]).
    Canary,
    /// The server has not answered a canary for `waited_ms`: do not send; retry after
    /// `retry_after_ms`.
    Stalled {
        /// How long the oldest canary has waited.
        waited_ms: i64,
        /// Until the next reprobe.
        retry_after_ms: i64,
    },
}

impl Canary {
    /// What a request does at `now_ms`.
    pub fn watch(&self, policy: &StallPolicy, now_ms: i64) -> Watch {
        let since_last = now_ms - self.last_ms;
        if self.since_ms == 0 {
            return if since_last >= policy.canary_every_ms {
                Watch::Canary
            } else {
                Watch::Go
            };
        }
        let waited_ms = now_ms - self.since_ms;
        if waited_ms < policy.stalled_after_ms {
            Watch::Go
        } else if since_last >= policy.reprobe_ms {
            Watch::Canary
        } else {
            Watch::Stalled {
                waited_ms,
                retry_after_ms: policy.reprobe_ms - since_last,
            }
        }
    }

    /// [`Canary::watch`] for a request that must answer rather than wait (a health probe): at a
    /// stalled server's reprobe turn it is told the server is stalled, never sent as the
    /// reprobe.
    pub fn watch_without_reprobe(&self, policy: &StallPolicy, now_ms: i64) -> Watch {
        match (self.watch(policy, now_ms), self.silent_for(policy, now_ms)) {
            (Watch::Canary, Some(waited_ms)) => Watch::Stalled {
                waited_ms,
                retry_after_ms: policy.reprobe_ms,
            },
            (watch, _) => watch,
        }
    }

    /// How long the server has not answered, if that makes it stalled (for reports: between
    /// two reprobes and at one alike).
    pub fn silent_for(&self, policy: &StallPolicy, now_ms: i64) -> Option<i64> {
        let waited = now_ms - self.since_ms;
        (self.since_ms != 0 && waited >= policy.stalled_after_ms).then_some(waited)
    }

    /// Claims the canary at `now_ms`; `false` if another request took it meanwhile.
    pub fn claim(&mut self, policy: &StallPolicy, now_ms: i64) -> bool {
        if self.watch(policy, now_ms) != Watch::Canary {
            return false;
        }
        self.last_ms = now_ms;
        if self.since_ms == 0 {
            self.since_ms = now_ms;
        }
        true
    }

    /// The server answered a canary: it answers. Whether anything changed.
    pub fn answered(&mut self) -> bool {
        std::mem::replace(&mut self.since_ms, 0) != 0
    }
}

/// Every server's canary in a region (`host:port` → canary), as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Canaries(pub BTreeMap<String, Canary>);

impl Canaries {
    /// Decodes the stored value; anything unreadable counts as no canary (the watch must never
    /// keep the app away from Redis because of its own bookkeeping).
    pub fn decode(raw: Option<&[u8]>) -> Self {
        raw.and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default()
    }

    /// The stored form (JSON).
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A server's canary (a default one for a server never watched).
    pub fn of(&self, server: &str) -> Canary {
        self.0.get(server).copied().unwrap_or_default()
    }

    /// Forgets the servers no canary went to for [`StallPolicy::forget_after_ms`].
    pub fn prune(&mut self, policy: &StallPolicy, now_ms: i64) {
        self.0
            .retain(|_, c| now_ms - c.last_ms < policy.forget_after_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: StallPolicy = StallPolicy {
        canary_every_ms: 1_000,
        stalled_after_ms: 1_500,
        reprobe_ms: 2_000,
        forget_after_ms: 600_000,
    };

    #[test]
    fn a_canary_goes_out_once_a_period_and_an_answer_clears_it() {
        let mut c = Canary::default();
        assert_eq!(c.watch(&P, 10_000), Watch::Canary);
        assert!(c.claim(&P, 10_000));
        // The others go, and no second canary is claimed while the first is young.
        assert_eq!(c.watch(&P, 10_500), Watch::Go);
        assert!(!c.claim(&P, 10_500));
        assert!(c.answered());
        assert!(!c.answered());
        assert_eq!(c.watch(&P, 10_900), Watch::Go);
        assert_eq!(c.watch(&P, 11_000), Watch::Canary);
        // A health probe may be a healthy server's canary.
        assert_eq!(c.watch_without_reprobe(&P, 11_000), Watch::Canary);
    }

    #[test]
    fn a_silent_canary_stalls_the_server_with_one_reprobe_every_period() {
        let t = 10_000;
        let mut c = Canary::default();
        assert!(c.claim(&P, t));
        assert_eq!(c.watch(&P, t + 1_499), Watch::Go);
        assert_eq!(
            c.watch(&P, t + 1_500),
            Watch::Stalled {
                waited_ms: 1_500,
                retry_after_ms: 500
            }
        );
        assert_eq!(c.watch(&P, t + 2_000), Watch::Canary);
        assert_eq!(c.silent_for(&P, t + 2_000), Some(2_000));
        // A health probe is told, and does not reprobe.
        assert_eq!(
            c.watch_without_reprobe(&P, t + 2_000),
            Watch::Stalled {
                waited_ms: 2_000,
                retry_after_ms: 2_000
            }
        );
        assert!(c.claim(&P, t + 2_000));
        // The oldest silence is what counts; the next reprobe is a period after this one.
        assert_eq!(
            c.watch(&P, t + 2_100),
            Watch::Stalled {
                waited_ms: 2_100,
                retry_after_ms: 1_900
            }
        );
        // The server resumes: the first answer clears the stall for everyone.
        assert!(c.answered());
        assert_eq!(c.watch(&P, t + 2_200), Watch::Go);
        assert_eq!(c.silent_for(&P, t + 2_200), None);
    }

    #[test]
    fn unreadable_state_is_no_canary() {
        assert_eq!(Canaries::decode(Some(b"not json")), Canaries::default());
        assert_eq!(Canaries::decode(None).of("a:1"), Canary::default());
        let mut all = Canaries::default();
        all.0.insert(
            "127.0.0.1:6379".into(),
            Canary {
                since_ms: 5,
                last_ms: 7,
            },
        );
        assert_eq!(Canaries::decode(Some(&all.encode())), all);
        // A server gone for ten minutes, stalled or not, is forgotten.
        all.prune(&P, 7 + 599_999);
        assert_eq!(all.0.len(), 1);
        all.prune(&P, 7 + 600_000);
        assert!(all.0.is_empty());
    }
}
