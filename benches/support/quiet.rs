//! The quiet gate of the benchmarks: wait for an idle machine before measuring, and say how
//! much CPU other processes took while a measurement ran (its contamination).

use std::time::{Duration, Instant};

/// Busy and total CPU time of the whole machine so far, in clock ticks (`/proc/stat`).
pub fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = cpu
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    let total: u64 = v.iter().take(8).sum();
    Some((total - idle, total))
}

/// Clock ticks per second.
pub fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// CPU seconds process `pid` used so far (user + system), from `/proc/PID/stat`.
pub fn process_cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / ticks_per_second())
}

/// The share of the whole machine (0 to 1) busy over `over`.
pub fn busy_share(over: Duration) -> Option<f64> {
    let (b0, t0) = machine_ticks()?;
    std::thread::sleep(over);
    let (b1, t1) = machine_ticks()?;
    Some((b1 - b0) as f64 / (t1 - t0).max(1) as f64)
}

/// Waits until the machine is below `threshold` busy (a share of all CPUs) for two seconds in
/// a row, at most `max_wait`; returns a line saying how quiet it got.
pub fn wait_for_quiet(threshold: f64, max_wait: Duration) -> String {
    let start = Instant::now();
    let mut quiet_in_a_row = 0;
    let mut last = 1.0;
    while start.elapsed() < max_wait {
        let Some(busy) = busy_share(Duration::from_secs(1)) else {
            return "quiet gate: /proc/stat unreadable, not checked".into();
        };
        last = busy;
        quiet_in_a_row = if busy < threshold {
            quiet_in_a_row + 1
        } else {
            0
        };
        if quiet_in_a_row >= 2 {
            return format!(
                "quiet gate: machine {:.0}% busy after {:.0} s of waiting (threshold {:.0}%)",
                busy * 100.0,
                start.elapsed().as_secs_f64(),
                threshold * 100.0
            );
        }
    }
    format!(
        "quiet gate: NOT QUIET — still {:.0}% busy after {:.0} s (threshold {:.0}%); figures below are contaminated, load average {}",
        last * 100.0,
        max_wait.as_secs_f64(),
        threshold * 100.0,
        loadavg()
    )
}

/// `/proc/loadavg`'s first three fields.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Measures what other processes did while a measurement ran: start before, finish after,
/// with the CPU seconds the measured processes used themselves.
pub struct Contamination {
    busy0: u64,
    at: Instant,
}

impl Contamination {
    pub fn start() -> Contamination {
        Contamination {
            busy0: machine_ticks().map_or(0, |t| t.0),
            at: Instant::now(),
        }
    }

    /// CPU other processes used during the measurement, in cores (1.0 = one core all along).
    pub fn others(&self, own_cpu_s: f64) -> f64 {
        let busy = machine_ticks()
            .map_or(0, |t| t.0)
            .saturating_sub(self.busy0) as f64
            / ticks_per_second();
        ((busy - own_cpu_s) / self.at.elapsed().as_secs_f64().max(1e-3)).max(0.0)
    }
}
