//! A private push tier per test: Debian's nginx with nchan serving the shipped configuration
//! (`deploy/push/nchan.conf`, rendered by `scripts/push.sh render`), its viewers' and publisher's
//! addresses on free loopback ports, its files in a folder of its own.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long nginx may take to answer its status page after it starts.
const START_WITHIN: Duration = Duration::from_secs(10);

pub struct PushTier {
    /// nginx's master process while it runs.
    child: Option<Child>,
    dir: PathBuf,
    /// The viewers' address, and the publisher's (`127.0.0.1:port`).
    pub listen: String,
    pub publish: String,
    /// Whether it shares its channels through Redis ([`PushTier::serve_on`]).
    on_redis: bool,
}

/// nginx's worker processes in the shipped configuration (`worker_processes`): each holds its own
/// Redis connection.
const WORKERS: u64 = 2;

impl PushTier {
    /// Picks the tier's addresses and folder without starting it (the app it asks about viewers
    /// needs the publisher's address first): [`PushTier::serve`] starts it.
    pub fn new() -> Self {
        let n = {
            static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        };
        let dir = crate::scratch_dir().join(format!("edge-push-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self {
            child: None,
            dir,
            listen: format!("127.0.0.1:{}", crate::free_port()),
            publish: format!("127.0.0.1:{}", crate::free_port()),
            on_redis: false,
        }
    }

    /// Renders the shipped configuration for the browser `origins` (`*`: any) and the app at
    /// `app` (`host:port`, asked who may watch each board), and starts it: nginx runs in the
    /// foreground as this user, stopped when the handle is dropped.
    pub fn serve(&mut self, origins: &str, app: &str) {
        self.serve_on(origins, app, None);
    }

    /// [`PushTier::serve`], sharing its channels with the other servers on the Redis at `redis`
    /// (a `redis://` URL; `None`: on its own).
    pub fn serve_on(&mut self, origins: &str, app: &str, redis: Option<&str>) {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let rendered = Command::new(root.join("scripts/push.sh"))
            .arg("render")
            .arg(&self.dir)
            .env("PUSH_LISTEN", &self.listen)
            .env("PUSH_PUBLISH", &self.publish)
            .env("PUSH_ORIGINS", origins)
            .env("PUSH_APP", app)
            .env("PUSH_REDIS", redis.unwrap_or_default())
            .output()
            .unwrap_or_else(|e| panic!("scripts/push.sh render: {e}"));
        assert!(
            rendered.status.success(),
            "scripts/push.sh render: {}",
            String::from_utf8_lossy(&rendered.stderr)
        );
        self.on_redis = redis.is_some();
        self.start_again();
    }

    /// Starts nginx (again, after [`PushTier::stop`]) on the same addresses, and waits until it
    /// answers (on Redis: until every worker process has connected to it; before, a viewer gets
    /// `503`).
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the push tier is running");
        let nginx = std::env::var("NGINX_BIN").unwrap_or_else(|_| "/usr/sbin/nginx".into());
        let mut prefix = self.dir.to_string_lossy().into_owned();
        prefix.push('/');
        let child = Command::new(&nginx)
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(self.dir.join("nginx.conf"))
            .arg("-e")
            .arg(self.dir.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {nginx} (run scripts/setup.sh): {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + START_WITHIN;
        while self.status().is_none()
            || (self.on_redis && self.counter("redis connected servers") < Some(WORKERS))
        {
            assert!(
                Instant::now() < deadline,
                "nginx did not answer within {START_WITHIN:?}: {}",
                self.error_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops nginx (`SIGTERM`, its fast stop: the workers close their connections at once), at
    /// most 5 s, then `SIGKILL`. Its channels and their messages are gone with it.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// A viewer's URL of a board's channel (`http://…/push/{tenant}/{board}`).
    pub fn viewer_url(&self, tenant: &str, board: &str) -> String {
        format!("http://{}/push/{tenant}/{board}", self.listen)
    }

    /// The same for a WebSocket client (`ws://…`).
    pub fn ws_url(&self, tenant: &str, board: &str) -> String {
        format!("ws://{}/push/{tenant}/{board}", self.listen)
    }

    /// The publisher's URL of a board's channel.
    pub fn publisher_url(&self, tenant: &str, board: &str) -> String {
        format!("http://{}/pub/{tenant}/{board}", self.publish)
    }

    /// nchan's status page (channels, subscribers, messages), or `None` while nginx does not
    /// answer it.
    pub fn status(&self) -> Option<String> {
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(&self.publish).ok()?;
        conn.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        write!(
            conn,
            "GET /status HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.publish
        )
        .ok()?;
        let mut answer = String::new();
        conn.read_to_string(&mut answer).ok()?;
        answer.starts_with("HTTP/1.1 200").then(|| {
            answer
                .split_once("\r\n\r\n")
                .map_or("", |(_, b)| b)
                .to_string()
        })
    }

    /// One counter of the status page (`subscribers`, `channels`, …).
    pub fn counter(&self, name: &str) -> Option<u64> {
        let status = self.status()?;
        status.lines().find_map(|l| {
            l.strip_prefix(name)?
                .strip_prefix(": ")?
                .trim()
                .parse()
                .ok()
        })
    }

    /// nginx's error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    /// The error log's lines saying a worker process died (`… exited on signal 6`): a worker's
    /// death drops every connection it held.
    pub fn dead_workers(&self) -> Vec<String> {
        self.error_log()
            .lines()
            .filter(|l| l.contains("exited on signal"))
            .map(str::to_string)
            .collect()
    }
}

impl Default for PushTier {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for PushTier {
    fn drop(&mut self) {
        // A failed test shows what nginx logged (a worker process that died drops every
        // connection it held: a viewer then sees its connection reset).
        if std::thread::panicking() {
            let log = self.error_log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!(
                "push tier error log (last {} lines, newest first):",
                tail.len()
            );
            for line in tail {
                eprintln!("  {line}");
            }
        }
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
