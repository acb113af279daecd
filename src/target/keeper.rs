//! The keeper: a small process between the harness and each target, so that nothing the target
//! starts outlives the run, however the harness ends.
//!
//! ```text
//! harness ──fork──> keeper (subreaper) ──fork+exec──> target ──> its children, daemons …
//!    │  stop command ──>  │                             PR_SET_PDEATHSIG(SIGKILL) to the keeper
//!    │  <── pid, exit, done
//! ```
//!
//! std's `Command` forks a child and runs `pre_exec` in it; there [`split`] forks once more: the
//! grandchild becomes the target (it returns to std, which execs the program) and the child
//! stays behind as its keeper and never returns. The keeper is a *child subreaper*: whatever the
//! target forks, daemonised with `setsid` and a second fork or not, is re-parented to the keeper
//! when its own parent exits, so the keeper can always find it among its children. It stops
//! everything when the harness asks, or when its command pipe from the harness closes: that
//! happens whenever the harness ends, SIGKILL included. The target gets SIGKILL if its keeper
//! dies (the keeper is single-threaded, so the parent-death signal cannot fire early because a
//! thread ended).
//!
//! The keeper is a fork of a multi-threaded process that never execs: it may only call
//! async-signal-safe functions (raw system calls through `libc`) and must not allocate.

use std::io;

use libc::{c_int, pid_t};

/// Keeper → harness: the target's pid (`a`).
pub(super) const PID: u8 = b'P';
/// Keeper → harness: the target exited with wait status `a`; `b` processes it started were
/// left running (now the keeper's children).
pub(super) const EXITED: u8 = b'X';
/// Keeper → harness: everything is gone; `a` is 1 when SIGKILL was needed.
pub(super) const DONE: u8 = b'D';
/// Harness → keeper: stop everything, SIGKILL after `u32` milliseconds.
pub(super) const STOP: u8 = b'S';

/// Size of a keeper → harness record: a tag and two little-endian `i32`.
pub(super) const RECORD: usize = 9;

/// Runs in the child std forked, before exec: forks the target and becomes its keeper. Returns
/// in the target (std then execs the program); never returns in the keeper. `ctl` is the read
/// end of the harness's command pipe, `status` the write end of the record pipe, `grace_ms` the
/// SIGTERM-to-SIGKILL grace when the harness disappears.
///
/// # Safety
/// Only from a `pre_exec` closure, with `ctl` and `status` open.
pub(super) unsafe fn split(ctl: c_int, status: c_int, grace_ms: u32) -> io::Result<()> {
    // SAFETY (whole function): raw system calls on our own process and file descriptors.
    unsafe {
        let keeper = libc::getpid();
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        match libc::fork() {
            -1 => Err(io::Error::last_os_error()),
            0 => {
                #[cfg(target_os = "linux")]
                {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                    // The keeper may have died before the line above: then nobody would
                    // ever send the signal.
                    if libc::getppid() != keeper {
                        return Err(io::Error::from_raw_os_error(libc::ESRCH));
                    }
                }
                #[cfg(not(target_os = "linux"))]
                let _ = keeper;
                if libc::setpgid(0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            }
            target => keep(ctl, status, target, grace_ms),
        }
    }
}

/// The keeper's life: report, reap, and stop everything when told or orphaned.
unsafe fn keep(ctl: c_int, status: c_int, target: pid_t, grace_ms: u32) -> ! {
    // SAFETY (whole function): async-signal-safe system calls only, no allocation.
    unsafe {
        // Terminal signals go to the harness's process group, not ours; anything else that
        // reaches us must not end the keeper before its children. SIGPIPE: the harness may
        // be gone when we report.
        for sig in [
            libc::SIGINT,
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGQUIT,
            libc::SIGPIPE,
            libc::SIGUSR1,
            libc::SIGUSR2,
        ] {
            libc::signal(sig, libc::SIG_IGN);
        }
        // Inherited descriptors (the harness's sockets, std's exec-error pipe, other
        // keepers' pipes) would keep them open as long as we live.
        close_all_but(ctl, status);
        send(status, PID, target, 0);
        let mut listening = true;
        let mut stop = Stop::new();
        let mut target_alive = true;
        loop {
            loop {
                let mut wstatus: c_int = 0;
                let reaped = libc::waitpid(-1, &mut wstatus, libc::WNOHANG);
                if reaped == target {
                    target_alive = false;
                    let mut left = 0;
                    for_each_child(|_| left += 1);
                    send(status, EXITED, wstatus, left);
                } else if reaped > 0 {
                    continue;
                } else if reaped == 0 || errno() == libc::EINTR {
                    break;
                } else {
                    // No child left, so no descendant either: nothing to keep.
                    send(status, DONE, i32::from(stop.killing), 0);
                    libc::_exit(0);
                }
            }
            if stop.started {
                stop.signal(target, target_alive);
            }
            let timeout = if stop.started { 5 } else { 25 };
            if !listening {
                libc::poll(std::ptr::null_mut(), 0, timeout);
                continue;
            }
            let mut pfd = libc::pollfd {
                fd: ctl,
                events: libc::POLLIN,
                revents: 0,
            };
            if libc::poll(&mut pfd, 1, timeout) <= 0 {
                continue;
            }
            let mut cmd = [0u8; 5];
            let n = libc::read(ctl, cmd.as_mut_ptr().cast(), cmd.len());
            if n == 5 && cmd[0] == STOP {
                let ms = u32::from_le_bytes([cmd[1], cmd[2], cmd[3], cmd[4]]);
                stop.start(ms);
            } else if n == 0 || (n < 0 && errno() != libc::EINTR && errno() != libc::EAGAIN) {
                // The harness is gone (ended, crashed or killed): stop everything.
                listening = false;
                stop.start(grace_ms);
            }
        }
    }
}

/// Stopping: SIGTERM to the target's group and every child once, SIGKILL to all of them after
/// the grace period, again on every round until no child is left.
struct Stop {
    started: bool,
    deadline_ns: i64,
    killing: bool,
    group_termed: bool,
    termed: [pid_t; 128],
    count: usize,
}

impl Stop {
    fn new() -> Stop {
        Stop {
            started: false,
            deadline_ns: 0,
            killing: false,
            group_termed: false,
            termed: [0; 128],
            count: 0,
        }
    }

    /// Starts stopping, or shortens the grace of a stop already under way.
    fn start(&mut self, grace_ms: u32) {
        let deadline = now_ns().saturating_add(i64::from(grace_ms) * 1_000_000);
        if !self.started || deadline < self.deadline_ns {
            self.deadline_ns = deadline;
        }
        self.started = true;
    }

    unsafe fn signal(&mut self, target: pid_t, target_alive: bool) {
        if !self.killing && now_ns() >= self.deadline_ns {
            self.killing = true;
        }
        // SAFETY: kill(2) on the target's process group and on our own children, which
        // cannot be reused pids: we have not reaped them.
        unsafe {
            if self.killing {
                libc::kill(-target, libc::SIGKILL);
                for_each_child(|pid| {
                    libc::kill(pid, libc::SIGKILL);
                });
                return;
            }
            if !self.group_termed && target_alive {
                self.group_termed = true;
                libc::kill(-target, libc::SIGTERM);
            }
            for_each_child(|pid| {
                if !self.termed[..self.count].contains(&pid) {
                    libc::kill(pid, libc::SIGTERM);
                    if self.count < self.termed.len() {
                        self.termed[self.count] = pid;
                        self.count += 1;
                    }
                }
            });
        }
    }
}

/// Calls `f` with the pid of each of our children (`/proc/thread-self/children`: the keeper
/// has one thread, so these are all of them). Without that file only the target's process
/// group is signalled.
unsafe fn for_each_child(mut f: impl FnMut(pid_t)) {
    // SAFETY: open/read/close on a /proc file, into a stack buffer.
    unsafe {
        let fd = libc::open(
            c"/proc/thread-self/children".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return;
        }
        let mut buf = [0u8; 1024];
        let mut pid: pid_t = 0;
        loop {
            let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
            if n <= 0 {
                break;
            }
            for &b in &buf[..n as usize] {
                if b.is_ascii_digit() {
                    pid = pid.saturating_mul(10).saturating_add(pid_t::from(b - b'0'));
                } else if pid > 0 {
                    f(pid);
                    pid = 0;
                }
            }
        }
        if pid > 0 {
            f(pid);
        }
        libc::close(fd);
    }
}

/// Closes every descriptor except `a` and `b`.
unsafe fn close_all_but(a: c_int, b: c_int) {
    // SAFETY: closing descriptors of this process, which only runs this module's code.
    unsafe {
        #[cfg(target_os = "linux")]
        {
            let (lo, hi) = (a.min(b) as u32, a.max(b) as u32);
            let ranges = [
                (0, lo.wrapping_sub(1)),
                (lo + 1, hi - 1),
                (hi + 1, u32::MAX),
            ];
            let mut ok = true;
            for (first, last) in ranges {
                if first <= last {
                    ok &= libc::syscall(libc::SYS_close_range, first, last, 0) == 0;
                }
            }
            if ok {
                return;
            }
        }
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur.min(65_536) as c_int
        } else {
            4096
        };
        for fd in 0..max {
            if fd != a && fd != b {
                libc::close(fd);
            }
        }
    }
}

/// Writes one record (atomically: it is shorter than `PIPE_BUF`).
unsafe fn send(status: c_int, tag: u8, a: i32, b: i32) {
    let mut rec = [0u8; RECORD];
    rec[0] = tag;
    rec[1..5].copy_from_slice(&a.to_le_bytes());
    rec[5..9].copy_from_slice(&b.to_le_bytes());
    // SAFETY: write(2) of a stack buffer; a failure (harness gone) changes nothing.
    unsafe {
        libc::write(status, rec.as_ptr().cast(), rec.len());
    }
}

// time_t and c_long are i64 here, narrower on 32-bit targets.
#[allow(clippy::useless_conversion)]
fn now_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
    }
    i64::from(ts.tv_sec)
        .saturating_mul(1_000_000_000)
        .saturating_add(i64::from(ts.tv_nsec))
}

/// This thread's errno (no allocation: an OS error is a plain code).
fn errno() -> c_int {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}
