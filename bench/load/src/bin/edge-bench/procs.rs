//! Child processes. Every process the bench starts is registered here, in a process group of its
//! own (a terminal's Ctrl-C reaches the bench alone, which then stops them in order), so that the
//! normal end, an error (the [`Session`] guard's `Drop`) and SIGINT/SIGTERM ([`watch_signals`]) all
//! stop every one of them: servers with SIGINT, the rest with SIGTERM, all at once, then SIGKILL
//! for each whose grace period has passed, each signal to the child's whole process group (its
//! own children with it); Redis after everything else. A child stays registered
//! until it is reaped, so whichever thread stops it, the other sees it until it is gone. Every
//! wait on a child is bounded in time.
//!
//! After SIGINT or SIGTERM no child is started any more; the signal's thread stops every child,
//! removes the scratch folder and exits 130 or 143, unless the main thread has finished first: it
//! then waits for that cleanup and exits with the same status ([`Procs::after_run`]).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use tokio::signal::unix::{Signal, SignalKind, signal};

/// What a child is, which says how it is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A runtime or the native baseline: SIGINT (a clean shutdown), 5 s, then SIGKILL.
    Server,
    /// The redis-server: SIGTERM, 5 s, then SIGKILL; stopped after everything else.
    Redis,
    /// A bounded command (edge-load, redis-cli, curl, ...): SIGTERM, 5 s, then SIGKILL.
    Task,
    /// A cold-start server: SIGTERM, 10 s, then SIGKILL.
    Cold,
}

impl Role {
    fn signal(self) -> &'static str {
        match self {
            Role::Server => "INT",
            Role::Redis | Role::Task | Role::Cold => "TERM",
        }
    }

    fn grace(self) -> Duration {
        Duration::from_secs(if self == Role::Cold { 10 } else { 5 })
    }
}

struct Proc {
    child: Child,
    role: Role,
    /// When it was sent its role's signal (once, by whichever thread stops it first).
    signalled: Option<Instant>,
    /// When its group was sent SIGKILL (its grace period had passed).
    killed: Option<Instant>,
}

/// The running children, and whether new ones are refused.
struct Registry {
    procs: Vec<Proc>,
    /// Set by [`Procs::stop_all`]: the run is ending, nothing more is started.
    stopping: bool,
}

/// Where a SIGINT or SIGTERM stands.
#[derive(Default)]
struct SignalState {
    /// The exit status of the signal received (130 or 143).
    code: Option<u8>,
    /// The signal's cleanup is done (every child stopped, the scratch folder removed).
    cleaned: bool,
    /// The main thread has finished and waits for that cleanup: it exits, not the signal's
    /// thread.
    main_waiting: bool,
    /// The main thread has finished with no signal: a later one changes nothing.
    finished: bool,
}

struct Inner {
    live: Mutex<Registry>,
    signal: Mutex<SignalState>,
    cleaned: Condvar,
    tmp: PathBuf,
    scratch: AtomicU64,
}

/// The registry of running children (cheap to clone: shared).
#[derive(Clone)]
pub struct Procs {
    inner: Arc<Inner>,
}

/// A finished (or stopped) command's exit status and standard output.
pub struct Captured {
    /// `None`: it ran past its time limit and was stopped.
    pub status: Option<ExitStatus>,
    pub stdout: Vec<u8>,
}

impl Captured {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Standard output as text without its trailing newlines (what `$(...)` gives).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout)
            .trim_end_matches('\n')
            .to_string()
    }
}

impl Procs {
    /// A registry whose scratch files go to `tmp`.
    pub fn new(tmp: PathBuf) -> Self {
        Self {
            inner: Arc::new(Inner {
                live: Mutex::new(Registry {
                    procs: Vec::new(),
                    stopping: false,
                }),
                signal: Mutex::new(SignalState::default()),
                cleaned: Condvar::new(),
                tmp,
                scratch: AtomicU64::new(0),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.inner
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn signal_state(&self) -> MutexGuard<'_, SignalState> {
        self.inner
            .signal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts `cmd` in a process group of its own and registers it; its pid. Refused once the
    /// children are being stopped (the registry stays locked from the check to the registration,
    /// so no child escapes [`Procs::stop_all`]).
    pub fn spawn(&self, cmd: &mut Command, what: &str, role: Role) -> Result<u32> {
        let mut live = self.lock();
        if live.stopping {
            bail!("not starting {what}: the bench is stopping");
        }
        let child = cmd
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {what}"))?;
        let pid = child.id();
        live.procs.push(Proc {
            child,
            role,
            signalled: None,
            killed: None,
        });
        Ok(pid)
    }

    /// Whether the child `pid` is still running.
    pub fn alive(&self, pid: u32) -> bool {
        let mut live = self.lock();
        live.procs
            .iter_mut()
            .find(|p| p.child.id() == pid)
            .is_some_and(|p| matches!(p.child.try_wait(), Ok(None)))
    }

    /// Waits at most `limit` for the child `pid` to end: its status (it is then unregistered),
    /// or `None` if it is still running.
    pub fn wait(&self, pid: u32, limit: Duration) -> Result<Option<ExitStatus>> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            {
                let mut live = self.lock();
                let Some(p) = live.procs.iter_mut().find(|p| p.child.id() == pid) else {
                    bail!("process {pid} is not one the bench runs");
                };
                if let Some(status) = p.child.try_wait().context("waiting for a child")? {
                    live.procs.retain(|p| p.child.id() != pid);
                    return Ok(Some(status));
                }
            }
            if started.elapsed() >= limit {
                return Ok(None);
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    /// Stops the child `pid` (as its role says) and unregisters it.
    pub fn stop(&self, pid: u32) {
        self.stop_together(&[pid]);
    }

    /// Stops every child of `role`, all at once.
    pub fn stop_role(&self, role: Role) {
        let pids: Vec<u32> = self
            .lock()
            .procs
            .iter()
            .filter(|p| p.role == role)
            .map(|p| p.child.id())
            .collect();
        self.stop_together(&pids);
    }

    /// Refuses new children, then stops every child, all at once, and Redis after them.
    pub fn stop_all(&self) {
        let (others, redis) = {
            let mut live = self.lock();
            live.stopping = true;
            let pids = |redis: bool| -> Vec<u32> {
                live.procs
                    .iter()
                    .filter(|p| (p.role == Role::Redis) == redis)
                    .map(|p| p.child.id())
                    .collect()
            };
            (pids(false), pids(true))
        };
        self.stop_together(&others);
        self.stop_together(&redis);
    }

    /// Stops the children `pids` together: each is sent its role's signal (once), then they are
    /// waited for with one start, each killed when its grace period has passed, until every one
    /// is reaped and unregistered (by this thread or another). The signals are sent with the
    /// registry locked, so no pid can have been reaped and reused in between.
    fn stop_together(&self, pids: &[u32]) {
        loop {
            let pending = {
                let mut live = self.lock();
                let now = Instant::now();
                live.procs.retain_mut(|p| {
                    if !pids.contains(&p.child.id()) {
                        return true;
                    }
                    if !matches!(p.child.try_wait(), Ok(None)) {
                        return false;
                    }
                    match (p.signalled, p.killed) {
                        (None, _) => {
                            send_signal(p.role.signal(), p.child.id());
                            p.signalled = Some(now);
                            true
                        }
                        (Some(at), None) if now.duration_since(at) >= p.role.grace() => {
                            send_signal("KILL", p.child.id());
                            p.killed = Some(now);
                            true
                        }
                        // Reaped by `try_wait` on a later pass; one that SIGKILL does not end
                        // (stuck in the kernel) is given up on rather than waited for.
                        (_, Some(at)) if now.duration_since(at) >= KILLED_GRACE => {
                            eprintln!(
                                "bench: process {} outlived SIGKILL by {}s: left behind",
                                p.child.id(),
                                KILLED_GRACE.as_secs()
                            );
                            false
                        }
                        _ => true,
                    }
                });
                live.procs.iter().any(|p| pids.contains(&p.child.id()))
            };
            if !pending {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `cmd` (its stdio as the caller set it) for at most `limit`; its status, or `None`
    /// when it had to be stopped.
    pub fn run(
        &self,
        cmd: &mut Command,
        what: &str,
        limit: Duration,
    ) -> Result<Option<ExitStatus>> {
        let pid = self.spawn(cmd, what, Role::Task)?;
        let status = self.wait(pid, limit)?;
        if status.is_none() {
            eprintln!(
                "bench: {what} still ran after {} s: stopping it",
                limit.as_secs()
            );
            self.stop(pid);
        }
        Ok(status)
    }

    /// Runs `cmd` for at most `limit` with its stdout captured (through a scratch file, so a
    /// large output cannot block it) and stderr as given.
    pub fn capture(
        &self,
        cmd: &mut Command,
        what: &str,
        limit: Duration,
        stderr: Stdio,
    ) -> Result<Captured> {
        let n = self.inner.scratch.fetch_add(1, Ordering::Relaxed);
        let path = self.inner.tmp.join(format!("out-{n}"));
        let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        cmd.stdout(file).stderr(stderr);
        let status = self.run(cmd, what, limit)?;
        let stdout = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        std::fs::remove_file(path).ok();
        Ok(Captured { status, stdout })
    }

    /// The run's error `msg`, with the log that explains it printed first (unless a signal is
    /// stopping the run: the failure is then the signal's doing, and its log says nothing).
    pub fn fail(&self, msg: String, log: &Path) -> anyhow::Error {
        if self.signal_state().code.is_none() {
            eprintln!("bench: {}:", log.display());
            dump(log);
        }
        anyhow::Error::msg(msg)
    }

    /// On SIGINT or SIGTERM (`code`: 130 or 143), on the signal's thread: refuses new children,
    /// stops every child, removes the scratch folder, then exits with `code`, or hands that to
    /// the main thread if it is already waiting. Nothing when the run is already over.
    fn interrupted(&self, code: u8) {
        {
            let mut state = self.signal_state();
            if state.finished {
                return;
            }
            state.code = Some(code);
        }
        eprintln!("bench: interrupted: stopping every server");
        self.stop_all();
        std::fs::remove_dir_all(&self.inner.tmp).ok();
        let mut state = self.signal_state();
        state.cleaned = true;
        if state.main_waiting {
            self.inner.cleaned.notify_all();
            return;
        }
        // Exiting with the state locked: the main thread, should it finish now, waits on that
        // lock instead of exiting too.
        std::process::exit(i32::from(code));
    }

    /// Called by the main thread once the run has ended (its servers stopped): `None` when no
    /// signal came (one coming later is ignored), else the signal's exit status, once the
    /// signal's cleanup has finished; the run's own error is then the signal's doing.
    pub fn after_run(&self) -> Option<u8> {
        let mut state = self.signal_state();
        let Some(code) = state.code else {
            state.finished = true;
            return None;
        };
        state.main_waiting = true;
        while !state.cleaned {
            state = self
                .inner
                .cleaned
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        Some(code)
    }
}

/// How long a child SIGKILL was sent to may take to be reaped before it is given up on.
const KILLED_GRACE: Duration = Duration::from_secs(5);

/// `kill -s SIGNAL -- -PID`: the child's whole process group (its own children too, such as the
/// `spin trigger` processes `spin up` runs). A child that already ended leaves nothing to signal;
/// `kill` failing otherwise is said once on stderr (the stop then ends with SIGKILL after the
/// grace period, or gives the child up).
fn send_signal(signal: &str, pid: u32) {
    let group = format!("-{pid}");
    let sent = Command::new("kill")
        .args(["-s", signal, "--", group.as_str()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match sent {
        Ok(status) if status.success() => {}
        Ok(status) => eprintln!("bench: kill -s {signal} -- {group}: {status}"),
        Err(e) => eprintln!("bench: kill -s {signal} -- {group}: {e}"),
    }
}

/// The run's guard: dropping it (the end of the run, an error, a panic) stops every child and
/// removes the scratch folder.
pub struct Session {
    procs: Procs,
    tmp: PathBuf,
}

impl Session {
    pub fn new(procs: Procs, tmp: PathBuf) -> Self {
        Self { procs, tmp }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.procs.stop_all();
        std::fs::remove_dir_all(&self.tmp).ok();
    }
}

/// Watches for SIGINT and SIGTERM on a thread of its own (see [`Procs::after_run`]). The handlers
/// are in place when this returns; when they cannot be, a line says so and an interrupt ends the
/// bench without stopping its children.
pub fn watch_signals(procs: Procs) {
    let (ready, installed) = std::sync::mpsc::channel::<Result<()>>();
    let watcher = std::thread::Builder::new()
        .name("signals".to_string())
        .spawn(move || {
            let (runtime, mut int, mut term) = match handlers() {
                Ok(parts) => {
                    ready.send(Ok(())).ok();
                    parts
                }
                Err(e) => {
                    ready.send(Err(e)).ok();
                    return;
                }
            };
            let code = runtime.block_on(async {
                tokio::select! {
                    Some(()) = int.recv() => Some(130),
                    Some(()) = term.recv() => Some(143),
                    else => None,
                }
            });
            if let Some(code) = code {
                procs.interrupted(code);
            }
        });
    let outcome = match watcher {
        Ok(_) => installed
            .recv()
            .unwrap_or_else(|_| Err(anyhow!("its thread ended"))),
        Err(e) => Err(anyhow::Error::new(e).context("starting its thread")),
    };
    if let Err(e) = outcome {
        eprintln!(
            "bench: warning: cannot watch for signals ({e:#}): an interrupt leaves the servers \
             running"
        );
    }
}

/// The SIGINT and SIGTERM handlers, on a runtime of their own.
fn handlers() -> Result<(tokio::runtime::Runtime, Signal, Signal)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting its runtime")?;
    let (int, term) = {
        let _context = runtime.enter();
        let int = signal(SignalKind::interrupt()).context("handling SIGINT")?;
        let term = signal(SignalKind::terminate()).context("handling SIGTERM")?;
        (int, term)
    };
    Ok((runtime, int, term))
}

/// A new scratch folder (mode 0700) under `TMPDIR` (else /tmp), as `mktemp -d` made it.
pub fn make_tmp() -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::var_os("TMPDIR")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    let base = std::path::absolute(&base)
        .with_context(|| format!("resolving TMPDIR {}", base.display()))?;
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    for attempt in 0..100u32 {
        let name = format!(
            "edge-lb-bench.{}-{}",
            std::process::id(),
            seed.wrapping_add(attempt)
        );
        let dir = base.join(name);
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
    bail!("cannot create a scratch folder in {}", base.display())
}

/// A log file for a child's stdout and stderr both (`>log 2>&1`).
pub fn log_to(path: &Path) -> Result<(Stdio, Stdio)> {
    let out = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let err = out
        .try_clone()
        .with_context(|| format!("opening {} twice", path.display()))?;
    Ok((Stdio::from(out), Stdio::from(err)))
}

/// Prints a file (a server's log, an error output) to stderr.
pub fn dump(path: &Path) {
    match std::fs::read(path) {
        Ok(bytes) => eprint!("{}", String::from_utf8_lossy(&bytes)),
        Err(e) => eprintln!("bench: cannot read {}: {e}", path.display()),
    }
}
