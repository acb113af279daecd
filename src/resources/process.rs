//! Processes, sampled with sysinfo: the target's whole tree (a root and every descendant, found
//! again as they come and go) or the generator's own process.
//!
//! sysinfo has no children API: every [`SCAN_EVERY`] a full scan of the process table finds new
//! descendants through their parent; between scans only the known PIDs are refreshed (tens of
//! µs instead of milliseconds). A process that was part of the tree stays in it while it lives,
//! even when re-parented.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use super::{Quantity, Readings, Sampler};
use crate::spec::{ProcessRef, Target};

/// Time between full scans of the process table (new descendants are found this late).
pub const SCAN_EVERY: Duration = Duration::from_secs(2);

/// Disk counters of one process: what it had done when first seen, and its latest totals.
#[derive(Debug, Clone, Copy)]
struct Io {
    base: (u64, u64),
    last: (u64, u64),
}

/// Samples CPU, RSS, threads, processes and disk I/O of a set of processes.
pub(crate) struct ProcessTree {
    entity: &'static str,
    sys: System,
    roots: Vec<Pid>,
    descendants: bool,
    known: BTreeSet<Pid>,
    last_scan: Option<Instant>,
    cpu_ms: HashMap<Pid, u64>,
    last_tick: Option<Instant>,
    io: Option<HashMap<Pid, Io>>,
    /// CPU time (ns) of every process seen: when first seen and latest; processes that exit
    /// keep their last reading, so the total never goes back.
    cpu_time: HashMap<Pid, (u64, u64)>,
    first: bool,
}

impl ProcessTree {
    /// The tree of `roots` and all their descendants, as entity `sut`; `Err` where sysinfo does
    /// not support the platform.
    pub fn target(roots: &[u32]) -> Result<ProcessTree, String> {
        ProcessTree::new("sut", roots, true)
    }

    /// This process alone (not the targets it started), as entity `generator`.
    pub fn generator() -> Result<ProcessTree, String> {
        ProcessTree::new("generator", &[std::process::id()], false)
    }

    fn new(entity: &'static str, roots: &[u32], descendants: bool) -> Result<ProcessTree, String> {
        let roots: Vec<Pid> = roots.iter().map(|&p| Pid::from_u32(p)).collect();
        // Disk counters of another user's process are not readable: say so rather than
        // report zero.
        let io = (descendants && roots.iter().all(|p| readable_io(p.as_u32()))).then(HashMap::new);
        Ok(ProcessTree {
            entity,
            sys: System::new().map_err(|e| format!("sysinfo: {e}"))?,
            known: roots.iter().copied().collect(),
            roots,
            descendants,
            last_scan: None,
            cpu_ms: HashMap::new(),
            last_tick: None,
            io,
            cpu_time: HashMap::new(),
            first: true,
        })
    }

    /// Refreshes the whole table and adds every descendant of the roots and known processes.
    fn scan(&mut self) {
        self.sys.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing().without_tasks(),
        );
        let mut children: HashMap<Pid, Vec<Pid>> = HashMap::new();
        for (pid, p) in self.sys.processes() {
            if let Some(parent) = p.parent() {
                children.entry(parent).or_default().push(*pid);
            }
        }
        let mut stack: Vec<Pid> = self.roots.iter().chain(&self.known).copied().collect();
        while let Some(pid) = stack.pop() {
            for &child in children.get(&pid).map_or(&[][..], Vec::as_slice) {
                if self.known.insert(child) {
                    stack.push(child);
                }
            }
        }
    }
}

impl Sampler for ProcessTree {
    fn sample(&mut self, out: &mut Readings) {
        let now = Instant::now();
        if self.descendants && self.last_scan.is_none_or(|s| now - s >= SCAN_EVERY) {
            self.scan();
            self.last_scan = Some(now);
        }
        let pids: Vec<Pid> = self.known.iter().copied().collect();
        let mut kind = ProcessRefreshKind::nothing()
            .without_tasks()
            .with_cpu()
            .with_memory();
        if self.io.is_some() {
            kind = kind.with_disk_usage();
        }
        self.sys
            .refresh_processes_specifics(ProcessesToUpdate::Some(&pids), true, kind);
        let sys = &self.sys;
        self.known.retain(|p| sys.process(*p).is_some());

        let (mut rss, mut cpu_delta_ms, mut threads, mut counted) = (0u64, 0u64, 0u64, false);
        let mut cpu_now = HashMap::with_capacity(self.known.len());
        for pid in &self.known {
            let Some(p) = self.sys.process(*pid) else {
                continue;
            };
            rss += p.memory();
            let ms = p.accumulated_cpu_time();
            // A process seen for the first time has nothing to be a difference from.
            if let Some(&before) = self.cpu_ms.get(pid) {
                cpu_delta_ms += ms.saturating_sub(before);
            }
            cpu_now.insert(*pid, ms);
            // Nanoseconds from the process's CPU clock where the kernel gives it; the
            // millisecond figure otherwise.
            let ns = process_cpu_ns(pid.as_u32()).unwrap_or(ms.saturating_mul(1_000_000));
            let base = if self.first { ns } else { 0 };
            self.cpu_time.entry(*pid).or_insert((base, ns)).1 = ns;
            if let Some(n) = thread_count(pid.as_u32()) {
                threads += n;
                counted = true;
            }
            if let Some(io) = &mut self.io {
                let d = p.disk_usage();
                let totals = (d.total_read_bytes, d.total_written_bytes);
                // Processes there at the start count from then; later ones were born during
                // the run and count from zero.
                let base = if self.first { totals } else { (0, 0) };
                io.entry(*pid).or_insert(Io { base, last: totals }).last = totals;
            }
        }
        if self.descendants {
            out.set_sut_pids(self.known.iter().map(|p| p.as_u32()));
        }
        if self.known.is_empty() {
            // The processes are gone: nothing to report, not zeros.
            self.last_tick = Some(now);
            self.cpu_ms.clear();
            return;
        }
        let e = self.entity;
        if let Some(before) = self.last_tick {
            let wall_ms = (now - before).as_secs_f64() * 1000.0;
            if wall_ms > 0.0 {
                out.push(e, Quantity::Cpu, cpu_delta_ms as f64 / wall_ms * 100.0);
            }
        }
        out.push(e, Quantity::Rss, rss as f64);
        let cpu_ns: u64 = self
            .cpu_time
            .values()
            .map(|(base, last)| last.saturating_sub(*base))
            .sum();
        out.push(e, Quantity::CpuTime, cpu_ns as f64 / 1000.0);
        if counted {
            out.push(e, Quantity::Threads, threads as f64);
        }
        if self.descendants {
            out.push(e, Quantity::Processes, self.known.len() as f64);
        }
        if let Some(io) = &self.io {
            let sum = |f: fn(&Io) -> u64| io.values().map(f).sum::<u64>() as f64;
            out.push(
                e,
                Quantity::DiskRead,
                sum(|i| i.last.0.saturating_sub(i.base.0)),
            );
            out.push(
                e,
                Quantity::DiskWrite,
                sum(|i| i.last.1.saturating_sub(i.base.1)),
            );
        }
        self.cpu_ms = cpu_now;
        self.last_tick = Some(now);
        self.first = false;
    }
}

/// CPU time (user + system, every thread, ns) of process `pid` from its CPU-time clock:
/// nanosecond resolution where `/proc/PID/stat` counts 10 ms ticks.
pub(super) fn process_cpu_ns(pid: u32) -> Option<u64> {
    let pid = i32::try_from(pid).ok()?;
    let mut clock: libc::clockid_t = 0;
    // SAFETY: writes only into the clock id we own.
    if unsafe { libc::clock_getcpuclockid(pid, &mut clock) } != 0 {
        return None;
    }
    let t = super::cpu_clock(clock)?;
    u64::try_from(t.as_nanos()).ok()
}

/// Threads of a process (`num_threads` of `/proc/PID/stat`); `None` off Linux.
fn thread_count(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid …": comm may hold spaces and parentheses; fields after the last
    // ')' start at field 3, and num_threads is field 20.
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(17)?.parse().ok()
}

fn readable_io(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/io")).is_ok()
}

/// The root processes of the target: the spawned command, or for a `url` target the process
/// named by `pid`, `pid-file` or `process-name`. `Ok(None)` for a `url` target without them.
pub(crate) fn find_target(
    target: &Target,
    spawned: Option<u32>,
) -> Result<Option<Vec<u32>>, String> {
    let how = match (target, spawned) {
        (_, Some(pid)) => return Ok(Some(vec![pid])),
        (Target::Url(url), None) => match &url.process {
            Some(how) => how,
            None => return Ok(None),
        },
        (Target::Command(_) | Target::Component(_), None) => return Ok(None),
    };
    let alive = exists;
    match how {
        ProcessRef::Pid(pid) => {
            if alive(*pid) {
                Ok(Some(vec![*pid]))
            } else {
                Err(format!(
                    "`[target] pid = {pid}`: no process {pid} is running"
                ))
            }
        }
        ProcessRef::PidFile(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("`[target] pid-file`: cannot read {}: {e}", path.display()))?;
            let first = text.lines().next().unwrap_or("").trim();
            let pid: u32 = first.parse().map_err(|_| {
                format!(
                    "`[target] pid-file`: {} does not start with a process id (first line {first:?})",
                    path.display()
                )
            })?;
            if alive(pid) {
                Ok(Some(vec![pid]))
            } else {
                Err(format!(
                    "`[target] pid-file`: process {pid} (from {}) is not running",
                    path.display()
                ))
            }
        }
        ProcessRef::Name(name) => {
            let pids = by_name(name);
            if pids.is_empty() {
                Err(format!(
                    "`[target] process-name = {name:?}`: no running process has that name"
                ))
            } else {
                Ok(Some(pids))
            }
        }
    }
}

/// Processes whose name or executable file name is `name`, without those whose parent also
/// matches (a pre-forked server is one tree), and never this process.
fn by_name(name: &str) -> Vec<u32> {
    let Ok(mut sys) = System::new() else {
        return Vec::new();
    };
    sys.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing()
            .without_tasks()
            .with_exe(sysinfo::UpdateKind::OnlyIfNotSet),
    );
    let me = Pid::from_u32(std::process::id());
    let matches = |p: &sysinfo::Process| {
        p.name() == name || p.exe().and_then(Path::file_name).is_some_and(|f| f == name)
    };
    let found: BTreeSet<Pid> = sys
        .processes()
        .iter()
        .filter(|(pid, p)| **pid != me && matches(p))
        .map(|(pid, _)| *pid)
        .collect();
    found
        .iter()
        .filter(|pid| {
            sys.process(**pid)
                .and_then(|p| p.parent())
                .is_none_or(|parent| !found.contains(&parent))
        })
        .map(|p| p.as_u32())
        .collect()
}

/// Whether process `pid` exists (also when it belongs to another user).
pub(crate) fn exists(pid: u32) -> bool {
    let Ok(p) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks for existence and permission.
    p > 0
        && (unsafe { libc::kill(p, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

#[cfg(test)]
mod tests;
