//! Two regional instances of the app on one Redis, each with its own KV store (edge cache) and its
//! own worker, on the runtime under test: a write in region A invalidates region B's cached reads
//! through the `lb:invalidate` channel (B's next read is a miss with the new ranking, long before
//! the TTL); with B's worker gone, B keeps serving its copy (pub/sub is at-most-once).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::api::{Api, Reply, start, start_region};

const PAGE: &str = "/api/v1/boards/world/entries";

async fn subscribers(api: &Api, channel: &str) -> u64 {
    let n: Vec<(String, u64)> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query(&mut api.redis.conn())
        .unwrap_or_default();
    n.first().map_or(0, |(_, n)| *n)
}

fn players(r: &Reply) -> Vec<String> {
    r.body["entries"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(|x| x["player"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_in_one_region_invalidates_the_other_regions_cached_reads() {
    let mut a = start().await;
    a.start_worker().await;
    let mut b = start_region(&a).await;
    b.start_worker().await;
    let mut subscribed = 0;
    let both = harness::eventually_async(Duration::from_secs(30), async || {
        subscribed = subscribers(&a, "lb:invalidate").await;
        (subscribed >= 2).then_some(())
    })
    .await;
    assert!(
        both.is_some(),
        "both workers subscribe to lb:invalidate: {subscribed} did in 30 s"
    );

    a.create_board(json!({"id": "world", "public_read": true, "cache": {"ttl_secs": 600}}))
        .await;
    a.submit_ok("world", "ann", json!(10)).await;
    let first = b.get(PAGE, None).await;
    assert_eq!(first.header("x-cache"), "MISS");
    // B caches the page. Ann's write was announced too: when B's worker hears it after B's
    // first read (a loaded machine), it drops that copy, and the next read misses once more.
    let mut seen = Vec::new();
    let hit = harness::eventually_async(Duration::from_secs(10), async || {
        let r = b.get(PAGE, None).await;
        assert_eq!(players(&r), ["ann"], "{}", r.body);
        seen.push(r.header("x-cache").to_string());
        (r.header("x-cache") == "HIT").then_some(())
    })
    .await;
    assert!(
        hit.is_some(),
        "region B never served its cached copy in 10 s: {seen:?}"
    );

    // A write in A: B's copy is dropped by B's worker, so B's next read misses with bob on top.
    a.submit_ok("world", "bob", json!(20)).await;
    let started = Instant::now();
    let seen = harness::eventually_async(Duration::from_secs(10), async || {
        let r = b.get(PAGE, None).await;
        if players(&r).first().map(String::as_str) == Some("bob") {
            return Some(r);
        }
        assert_eq!(r.header("x-cache"), "HIT", "{}", r.body);
        None
    })
    .await
    .expect("region B still serves the page from before A's write after 10 s (TTL is 600 s)");
    assert_eq!(seen.header("x-cache"), "MISS");
    assert_eq!(players(&seen), ["bob", "ann"]);
    eprintln!(
        "{}: region B saw region A's write after {:?}",
        a.app.runtime_name(),
        started.elapsed()
    );

    // Without B's worker the message reaches no one in B: B keeps its copy until the TTL.
    b.stop_worker().await;
    a.submit_ok("world", "cat", json!(30)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stale = b.get(PAGE, None).await;
    assert_eq!(stale.header("x-cache"), "HIT");
    assert!(
        !players(&stale).contains(&"cat".to_string()),
        "{}",
        stale.body
    );
    let in_a: Value = a.get(PAGE, None).await.body;
    assert_eq!(in_a["entries"][0]["player"], "cat");

    b.stop().await;
    a.stop().await;
}
