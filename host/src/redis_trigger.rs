//! The Redis trigger: subscribe to each `[[trigger.redis]]` channel and call the component's
//! inbound-redis export per message, with bounded concurrency (Spin handles one message at a time
//! per subscription: concurrency 1). A failing guest is logged and the subscriber goes on. A lost
//! connection is, per [`TriggerFailure`], re-established with backoff (pub/sub is at-most-once:
//! messages published while disconnected are not seen) or, as in Spin, the end of the whole app.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use futures::StreamExt;
use tokio::sync::{Semaphore, watch};

use crate::app::{Runtime, TriggerFailure};

/// Running subscribers.
pub struct RedisTrigger {
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    ended: watch::Receiver<Option<String>>,
}

impl RedisTrigger {
    /// Starts one subscriber per address.
    pub fn start(runtime: Arc<Runtime>) -> Result<Self> {
        let (shutdown, stop) = watch::channel(false);
        let (end, ended) = watch::channel(None);
        let end = Arc::new(end);
        let vars = crate::variables::Variables::resolve(
            &runtime.manifest.variables,
            &runtime.config.variables,
            |k| std::env::var(k).ok(),
        )?;
        let mut by_address: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for t in &runtime.manifest.redis_triggers {
            let template = t
                .address
                .clone()
                .or_else(|| runtime.manifest.redis_address.clone())
                .unwrap_or_default();
            // Spin allows application variables in both the address and the channel.
            let address = vars.expand(&template)?;
            let channel = vars.expand(&t.channel)?;
            by_address
                .entry(address)
                .or_default()
                .push((channel, t.component.clone()));
        }
        let tasks = by_address
            .into_iter()
            .map(|(address, subs)| {
                tokio::spawn(subscribe_loop(
                    Arc::clone(&runtime),
                    address,
                    subs,
                    stop.clone(),
                    Arc::clone(&end),
                ))
            })
            .collect();
        Ok(Self {
            shutdown,
            tasks,
            ended,
        })
    }

    /// Why the trigger ended the app ([`TriggerFailure::EndApp`]), once it has.
    pub fn ended(&self) -> watch::Receiver<Option<String>> {
        self.ended.clone()
    }

    /// Stops the subscribers.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

async fn subscribe_loop(
    runtime: Arc<Runtime>,
    address: String,
    subs: Vec<(String, String)>,
    mut stop: watch::Receiver<bool>,
    end: Arc<watch::Sender<Option<String>>>,
) {
    let limit = Arc::new(Semaphore::new(runtime.config.redis_concurrency.max(1)));
    let mut backoff = Duration::from_millis(50);
    loop {
        match subscribe_once(&runtime, &address, &subs, &limit, &mut stop).await {
            Ok(()) => return,
            Err(e) if runtime.config.trigger_failure == TriggerFailure::EndApp => {
                let reason = format!("redis trigger on {address}: {e:#}");
                tracing::error!("{reason}; a trigger exited unexpectedly: ending the app");
                end.send_replace(Some(reason));
                return;
            }
            Err(e) => {
                tracing::warn!("redis trigger on {address}: {e:#}; reconnecting in {backoff:?}");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

/// Returns Ok when asked to stop, Err when the connection is lost.
async fn subscribe_once(
    runtime: &Arc<Runtime>,
    address: &str,
    subs: &[(String, String)],
    limit: &Arc<Semaphore>,
    stop: &mut watch::Receiver<bool>,
) -> Result<()> {
    let client = redis::Client::open(address)?;
    let mut pubsub = client.get_async_pubsub().await?;
    for (channel, _) in subs {
        pubsub.subscribe(channel).await?;
    }
    tracing::info!(
        "redis trigger subscribed on {address} to {:?}",
        subs.iter().map(|s| &s.0).collect::<Vec<_>>()
    );
    // Messages are taken off the connection as they come, so a lost connection is seen at once,
    // not after the messages before it have each been handled (at concurrency 1, one drain after
    // another: a worker that outlived its Redis by half a minute under load). One task hands
    // them to the component in order, within the concurrency limit; what it has not handed over
    // when the subscription ends is dropped with it (pub/sub is at-most-once).
    let (queue, mut queued) = tokio::sync::mpsc::unbounded_channel::<(String, Vec<u8>)>();
    let dispatch = AbortOnDrop(tokio::spawn({
        let runtime = Arc::clone(runtime);
        let limit = Arc::clone(limit);
        async move {
            while let Some((component, payload)) = queued.recv().await {
                let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
                    return;
                };
                let runtime = Arc::clone(&runtime);
                tokio::spawn(async move {
                    if let Err(e) = runtime.handle_message(&component, payload).await {
                        tracing::error!(component = %component, "redis message handler failed: {e:#}");
                    }
                    drop(permit);
                });
            }
        }
    }));
    let mut messages = pubsub.on_message();
    loop {
        let msg = tokio::select! {
            m = messages.next() => m,
            _ = stop.changed() => return Ok(()),
        };
        let Some(msg) = msg else {
            drop(dispatch);
            anyhow::bail!("subscription stream ended");
        };
        let channel = msg.get_channel_name().to_string();
        let payload = msg.get_payload_bytes().to_vec();
        for (_, component) in subs.iter().filter(|(c, _)| *c == channel) {
            queue
                .send((component.clone(), payload.clone()))
                .map_err(|_| anyhow::anyhow!("the message dispatcher of {address} ended"))?;
        }
    }
}

/// Aborts its task when dropped: a subscription's dispatcher ends with the subscription.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
