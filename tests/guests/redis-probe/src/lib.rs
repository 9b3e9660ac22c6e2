//! `tests/guests/redis-probe`: a Redis-triggered test guest.
//!
//! For every message it opens the Redis at the component variable `redis_url` and appends the
//! payload to the list `probe:received`. Payload `trap` panics (the host must survive a trapped
//! instance); payload `slow` busy-waits ~200 ms first (to observe concurrency/ordering).

use std::time::{Duration, Instant};

use anyhow::Context;
use spin_sdk::redis::{Connection, RedisParameter};
use spin_sdk::{redis_component, variables};

/// The list every received payload is pushed onto.
const RECEIVED_LIST: &str = "probe:received";

/// How long a `slow` message keeps the instance busy.
const SLOW_FOR: Duration = Duration::from_millis(200);

#[redis_component]
fn on_message(payload: Vec<u8>) -> anyhow::Result<()> {
    let address = variables::get("redis_url").context("reading variable redis_url")?;
    let conn = Connection::open(&address).context("opening redis connection")?;
    match payload.as_slice() {
        b"trap" => panic!("redis-probe: deliberate trap"),
        b"slow" => busy_wait(SLOW_FOR),
        _ => {}
    }
    conn.execute(
        "RPUSH",
        &[
            RedisParameter::Binary(RECEIVED_LIST.as_bytes().to_vec()),
            RedisParameter::Binary(payload),
        ],
    )
    .context("RPUSH probe:received")?;
    Ok(())
}

/// Spins (no sleeping, no yielding) for `how_long`, so the instance really is busy.
fn busy_wait(how_long: Duration) {
    let start = Instant::now();
    let mut spins: u64 = 0;
    while start.elapsed() < how_long {
        spins = std::hint::black_box(spins.wrapping_add(1));
    }
}
