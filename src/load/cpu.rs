//! CPU time of the generator's own worker threads (named `perfspec-load`), so a run can tell
//! when the generator, not the service, was the bottleneck.

/// Seconds of CPU the generator's worker threads used so far; `None` where `/proc` is missing.
pub(super) fn worker_cpu() -> Option<f64> {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks <= 0 {
        return None;
    }
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // "pid (comm) state ..."; comm may hold spaces, so split after the last ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        if !head.contains("(perfspec-load") {
            continue;
        }
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the comm.
        let (Some(u), Some(s)) = (fields.get(11), fields.get(12)) else {
            continue;
        };
        total += u.parse::<u64>().unwrap_or(0) + s.parse::<u64>().unwrap_or(0);
    }
    Some(total as f64 / ticks as f64)
}
