//! A spawned target, seen from the harness. Each target runs under its own keeper process
//! (`keeper.rs`), which reaps and stops the target's whole tree, daemons included, when the
//! harness asks (`teardown`, also on drop, so when a trial panics too) and by itself when the
//! harness disappears. A registry lets the signal handler stop every live target at once.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::keeper;

/// How long the harness waits for a keeper beyond the grace period it gave it.
const SLACK: Duration = Duration::from_secs(5);

/// The live targets' pipes, for the signal handler.
static LIVE: Mutex<Vec<Live>> = Mutex::new(Vec::new());

struct Live {
    id: u64,
    ctl: RawFd,
    status: RawFd,
    grace: Duration,
}

/// How a target ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Exit {
    /// Its exit status; `None` when its keeper died first (the target then got SIGKILL).
    pub status: Option<ExitStatus>,
    /// Processes it started that were still running when it exited (daemons).
    pub left: u32,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(s) => write!(f, "{s}"),
            None => write!(
                f,
                "its perfspec keeper process was killed, and it with SIGKILL"
            ),
        }
    }
}

impl Exit {
    /// What it left behind, for messages: empty when nothing.
    pub fn left_note(&self) -> String {
        match self.left {
            0 => String::new(),
            1 => "; it left 1 process running (did it daemonise?), which perfspec stops: run the service in the foreground".into(),
            n => format!("; it left {n} processes running (did it daemonise?), which perfspec stops: run the service in the foreground"),
        }
    }
}

/// A running target under its keeper.
#[derive(Debug)]
pub(crate) struct Process {
    keeper: Child,
    pid: u32,
    ctl: std::io::PipeWriter,
    status: std::io::PipeReader,
    pending: Vec<u8>,
    log: PathBuf,
    stop_timeout: Duration,
    exit: Option<Exit>,
    /// The keeper closed its end: it has exited, and everything under it is gone.
    closed: bool,
    killed: bool,
    torn_down: bool,
    id: u64,
}

impl Process {
    /// Spawns `argv` under a keeper, in a process group of its own, with stdout and stderr
    /// going to `out` (the log file at `log`).
    pub fn spawn(
        argv: &[String],
        env: &[(String, String)],
        cwd: &Path,
        out: File,
        log: &Path,
        stop_timeout: Duration,
    ) -> std::io::Result<Process> {
        static IDS: AtomicU64 = AtomicU64::new(0);
        let err = out.try_clone()?;
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| std::io::Error::other("empty command"))?;
        let (ctl_read, ctl) = std::io::pipe()?;
        let (mut status, status_write) = std::io::pipe()?;
        let (ctl_fd, status_fd) = (ctl_read.as_raw_fd(), status_write.as_raw_fd());
        let grace_ms = u32::try_from(stop_timeout.as_millis()).unwrap_or(u32::MAX);
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // The keeper's group; the target makes its own.
            .process_group(0);
        // SAFETY: `split` only makes async-signal-safe system calls; both descriptors stay
        // open until `spawn` returns.
        unsafe {
            command.pre_exec(move || keeper::split(ctl_fd, status_fd, grace_ms));
        }
        let keeper = command.spawn();
        // Our copies of the keeper's ends: with them open, neither side would see the other
        // go away.
        drop((ctl_read, status_write));
        let keeper = keeper?;
        let mut first = [0u8; keeper::RECORD];
        status.read_exact(&mut first)?;
        let pid = match record(&first) {
            (keeper::PID, pid, _) if pid > 0 => pid as u32,
            _ => return Err(std::io::Error::other("the keeper process did not report")),
        };
        set_nonblocking(status.as_raw_fd())?;
        let id = IDS.fetch_add(1, Ordering::Relaxed);
        lock_live().push(Live {
            id,
            ctl: ctl.as_raw_fd(),
            status: status.as_raw_fd(),
            grace: stop_timeout,
        });
        Ok(Process {
            keeper,
            pid,
            ctl,
            status,
            pending: Vec::new(),
            log: log.to_path_buf(),
            stop_timeout,
            exit: None,
            closed: false,
            killed: false,
            torn_down: false,
            id,
        })
    }

    /// How the target ended, if it has.
    pub fn exited(&mut self) -> Option<Exit> {
        self.drain();
        self.exit
    }

    /// The process id of the target (the root of its process tree).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last lines of the log, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }

    /// Stops the target and everything it started: SIGTERM, then SIGKILL after the grace
    /// period, until none is left. Returns whether SIGKILL was needed.
    pub fn teardown(&mut self) -> bool {
        if self.torn_down {
            return self.killed;
        }
        self.torn_down = true;
        send_stop(self.ctl.as_raw_fd(), self.stop_timeout);
        let deadline = Instant::now() + self.stop_timeout + SLACK;
        while !self.closed && Instant::now() < deadline {
            wait_readable(self.status.as_raw_fd(), Duration::from_millis(100));
            self.drain();
        }
        lock_live().retain(|l| l.id != self.id);
        if self.closed {
            // The keeper closed its end on exit: this returns at once.
            let _ = self.keeper.wait();
        }
        self.killed
    }

    /// Reads what the keeper reported so far.
    fn drain(&mut self) {
        let mut buf = [0u8; keeper::RECORD * 16];
        while !self.closed {
            match self.status.read(&mut buf) {
                Ok(0) => self.closed = true,
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let whole = self.pending.len() / keeper::RECORD * keeper::RECORD;
        for rec in self.pending[..whole].chunks_exact(keeper::RECORD) {
            match record(rec) {
                (keeper::EXITED, wstatus, left) => {
                    self.exit = Some(Exit {
                        status: Some(ExitStatus::from_raw(wstatus)),
                        left: left.max(0) as u32,
                    });
                }
                (keeper::DONE, killed, _) => self.killed = killed != 0,
                _ => {}
            }
        }
        self.pending.drain(..whole);
        if self.closed && self.exit.is_none() {
            self.exit = Some(Exit {
                status: None,
                left: 0,
            });
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.teardown();
    }
}

fn record(rec: &[u8]) -> (u8, i32, i32) {
    let int = |i: usize| i32::from_le_bytes([rec[i], rec[i + 1], rec[i + 2], rec[i + 3]]);
    (rec[0], int(1), int(5))
}

fn lock_live() -> std::sync::MutexGuard<'static, Vec<Live>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Tells a keeper to stop everything, SIGKILL after `grace`. A keeper that is gone already
/// does not mind (the error is EPIPE: Rust programs ignore SIGPIPE).
fn send_stop(ctl: RawFd, grace: Duration) {
    let ms = u32::try_from(grace.as_millis())
        .unwrap_or(u32::MAX)
        .to_le_bytes();
    let cmd = [keeper::STOP, ms[0], ms[1], ms[2], ms[3]];
    // SAFETY: write(2) of a stack buffer to a pipe we own.
    unsafe {
        libc::write(ctl, cmd.as_ptr().cast(), cmd.len());
    }
}

fn wait_readable(fd: RawFd, timeout: Duration) {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll(2) on one descriptor we own.
    unsafe {
        libc::poll(&mut pfd, 1, timeout.as_millis() as i32);
    }
}

fn set_nonblocking(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl(2) on a descriptor we own.
    let ok = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) == 0
    };
    if ok {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Stops every live target and waits until their keepers are done (from the signal handler
/// thread, not async-signal context). Each gets its own grace period, or `cap` if shorter.
pub(crate) fn stop_all(cap: Option<Duration>) {
    // Held throughout: a trial dropping its process waits, so no descriptor is closed (and
    // its number reused) while it is polled here.
    let live = lock_live();
    let grace = |l: &Live| cap.map_or(l.grace, |c| c.min(l.grace));
    for l in live.iter() {
        send_stop(l.ctl, grace(l));
    }
    let longest = live.iter().map(grace).max().unwrap_or_default();
    let deadline = Instant::now() + longest + SLACK;
    // events = 0: woken only by POLLHUP, when a keeper has exited.
    let mut fds: Vec<libc::pollfd> = live
        .iter()
        .map(|l| libc::pollfd {
            fd: l.status,
            events: 0,
            revents: 0,
        })
        .collect();
    while !fds.is_empty() && Instant::now() < deadline {
        // SAFETY: poll(2) on descriptors the registry keeps open while locked.
        unsafe {
            libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 100);
        }
        fds.retain(|p| p.revents == 0);
    }
}

/// The last `lines` lines of a file (reading at most its last 16 KiB).
fn log_tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(16 * 1024)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Creates the target's log file (and its folder).
pub(crate) fn create_log(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = File::create(path)?;
    f.flush()?;
    Ok(f)
}

#[cfg(test)]
mod tests;
