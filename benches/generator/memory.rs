//! The generator's memory: per connected idle user, and flat in the number of requests.

use std::path::Path;
use std::process::Command;

use super::closed_spec;
use super::support;

/// Peak RSS of the generator with 1,000 idle users minus that with 10, per user.
pub fn per_user(me: &Path, server: &support::Target) -> String {
    let peak = |users: u32| {
        let spec = closed_spec(&server.url(), users, 3, 1000, None);
        peak_rss(me, &spec)
    };
    match (peak(10), peak(1000)) {
        (Some(small), Some(large)) => format!(
            "{:.1} KiB (goal ≤ 24 KiB; peak RSS {:.0} KiB with 10 users, {:.0} KiB with 1,000)",
            (large - small) / 990.0,
            small,
            large
        ),
        _ => "not measured (the child run failed)".into(),
    }
}

/// Peak RSS after `n` requests minus after 10,000 (64 users, no think time).
pub fn for_requests(me: &Path, server: &support::Target, n: u64) -> String {
    let peak = |count: u64| {
        let spec = closed_spec(&server.url(), 64, 600, 0, Some(count));
        peak_rss(me, &spec)
    };
    match (peak(10_000), peak(n)) {
        (Some(small), Some(large)) => format!(
            "{:.1} MiB more for {n} requests than for 10,000 (goal ≤ 20 MiB for 1M; peak RSS {:.1} MiB for {n}, {:.1} MiB for 10,000)",
            (large - small) / 1024.0,
            large / 1024.0,
            small / 1024.0
        ),
        _ => "not measured (the child run failed)".into(),
    }
}

fn peak_rss(me: &Path, spec: &Path) -> Option<f64> {
    let out = Command::new(me)
        .args(["--child", &spec.display().to_string(), "bench", "1"])
        .output()
        .ok()?;
    support::json_field(&String::from_utf8_lossy(&out.stdout), "peak_rss_kib")
}
