//! A spawned target: its own process group, output to a log file, and a teardown that signals
//! the whole group (SIGTERM, then SIGKILL after the grace period) and reaps what it can. The
//! teardown runs on drop, so it also happens when a trial panics; a registry lets a signal
//! handler tear down every live group when the harness is interrupted.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Process groups of live targets, for the signal handler.
static LIVE_GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// A running target process and its group.
#[derive(Debug)]
pub(crate) struct Process {
    child: Child,
    pgid: i32,
    log: PathBuf,
    stop_timeout: Duration,
    exit: Option<ExitStatus>,
    torn_down: bool,
}

impl Process {
    /// Spawns `argv` in a new process group with stdout and stderr appended to `log`.
    pub fn spawn(
        argv: &[String],
        env: &[(String, String)],
        cwd: &Path,
        log: &Path,
        stop_timeout: Duration,
    ) -> std::io::Result<Process> {
        become_subreaper();
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let out = File::create(log)?;
        let err = out.try_clone()?;
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| std::io::Error::other("empty command"))?;
        let child = Command::new(program)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()?;
        let pgid = child.id() as i32;
        lock_groups().push(pgid);
        Ok(Process {
            child,
            pgid,
            log: log.to_path_buf(),
            stop_timeout,
            exit: None,
            torn_down: false,
        })
    }

    /// The main process's exit status, if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// The process id of the main process (the root of the target's process tree).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last lines of the log, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }

    /// Stops the whole group: SIGTERM, wait up to the grace period, then SIGKILL. Returns
    /// whether the group needed SIGKILL.
    pub fn teardown(&mut self) -> bool {
        if self.torn_down {
            return false;
        }
        self.torn_down = true;
        signal_group(self.pgid, libc::SIGTERM);
        let deadline = Instant::now() + self.stop_timeout;
        let mut killed = false;
        while self.group_alive() {
            if Instant::now() >= deadline {
                signal_group(self.pgid, libc::SIGKILL);
                killed = true;
                let hard = Instant::now() + Duration::from_secs(5);
                while self.group_alive() && Instant::now() < hard {
                    std::thread::sleep(Duration::from_millis(5));
                }
                break;
            }
            // Polling: there is no way to wait for a whole process group to end.
            std::thread::sleep(Duration::from_millis(5));
        }
        self.exited();
        lock_groups().retain(|&g| g != self.pgid);
        killed
    }

    /// Reaps what can be reaped and tells whether any member of the group is left.
    fn group_alive(&mut self) -> bool {
        self.exited();
        // Orphaned members were re-parented to us (we are a subreaper): reap them too.
        // SAFETY: waitpid with WNOHANG on our own process group only reads status.
        while unsafe { libc::waitpid(-self.pgid, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
        // SAFETY: signal 0 only checks for existence.
        unsafe { libc::kill(-self.pgid, 0) == 0 }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.teardown();
    }
}

fn lock_groups() -> std::sync::MutexGuard<'static, Vec<i32>> {
    LIVE_GROUPS.lock().unwrap_or_else(|p| p.into_inner())
}

fn signal_group(pgid: i32, signal: i32) {
    // SAFETY: kill(2) on a process group we created; ESRCH (already gone) is fine.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// Kills every live target group (from a signal handler thread, not async-signal context).
pub(crate) fn kill_all_groups(grace: Duration) {
    let groups = lock_groups().clone();
    for &g in &groups {
        signal_group(g, libc::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    // SAFETY: existence check only.
    while groups.iter().any(|&g| unsafe { libc::kill(-g, 0) } == 0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    for &g in &groups {
        signal_group(g, libc::SIGKILL);
    }
}

/// Makes this process the reaper of its orphaned descendants, so a target's daemons can be
/// reaped and counted rather than left to whatever init runs in the container.
fn become_subreaper() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(target_os = "linux")]
        // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes a plain integer argument.
        unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        }
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    fn group_exists(pgid: i32) -> bool {
        // SAFETY: signal 0 only checks for existence.
        unsafe { libc::kill(-pgid, 0) == 0 }
    }

    #[test]
    fn a_panic_while_the_target_runs_still_tears_the_group_down() {
        let log = std::env::temp_dir().join(format!("perfspec-panic-{}.log", std::process::id()));
        let argv = ["sh", "-c", "sleep 300 & sleep 300"].map(String::from);
        let (tx, rx) = std::sync::mpsc::channel();
        let log2 = log.clone();
        let outcome = std::thread::spawn(move || {
            let p = Process::spawn(
                &argv,
                &[],
                Path::new("."),
                &log2,
                Duration::from_millis(200),
            )
            .unwrap();
            tx.send(p.pgid).unwrap();
            panic!("the trial panics while its target runs");
        })
        .join();
        assert!(outcome.is_err(), "the thread panicked");
        let pgid = rx.recv().unwrap();
        assert!(
            !group_exists(pgid),
            "process group {pgid} outlived the panic"
        );
        let _ = std::fs::remove_file(log);
    }
}
