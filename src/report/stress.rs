//! Console tables of how a run unfolded: its phases, an abort, the recovery and the steps of a
//! capacity search.

use super::table::render;
use crate::assertion::Stat;
use crate::measure::{Capacity, Measurement, Recovery, stat_of};
use crate::units::{fmt_count, fmt_percent, fmt_rate, fmt_us};

/// The phase table, the recovery and abort lines and the capacity steps, or nothing.
pub fn tables(m: &Measurement) -> String {
    let mut out = String::new();
    let c = &m.course;
    if !c.phases.is_empty() {
        let mut rows = vec![
            [
                "phase", "seconds", "requests", "rate", "p50", "p95", "p99", "errors",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for p in &c.phases {
            let me = &p.measurement;
            let t = me.total();
            let st = |q| stat_of(&t.latency, Stat::Percentile(q)).map_or("-".into(), fmt_us);
            let measured = if p.measured() {
                vec![
                    fmt_count(t.requests() as f64),
                    fmt_rate(me.throughput(&t)),
                    st(50.0),
                    st(95.0),
                    st(99.0),
                    format!(
                        "{} ({})",
                        fmt_count(t.error_count() as f64),
                        fmt_percent(t.error_rate())
                    ),
                ]
            } else {
                vec!["-".into(); 6]
            };
            let mut row = vec![p.name.clone(), format!("{:.1}..{:.1}", p.from_s, p.to_s)];
            row.extend(measured);
            rows.push(row);
        }
        out.push('\n');
        out.push_str(&render(&rows, "  "));
    }
    if let Some(r) = &c.recovery {
        out.push_str(&format!("  {}\n", recovery_line(r)));
    }
    if let Some(a) = &c.aborted {
        out.push_str(&format!("  {}\n", a.reason()));
    }
    if let Some(cap) = &c.capacity {
        out.push_str(&capacity_table(cap));
    }
    out
}

/// `recovery after stress (ended 12.0 s): 4 s (p95 ≤ 31.5 ms, error rate ≤ 1.00%)`.
pub fn recovery_line(r: &Recovery) -> String {
    let mut limits = Vec::new();
    if let Some(p) = r.p95_limit_us {
        limits.push(format!("p95 ≤ {}", fmt_us(p)));
    }
    if let Some(e) = r.error_rate_limit {
        limits.push(format!("error rate ≤ {}", fmt_percent(e)));
    }
    let what = match (&r.undecided, r.time_s()) {
        (Some(why), _) => format!("not judged: {why}"),
        (None, Some(t)) => format!("recovered after {t:.0} s"),
        (None, None) => format!(
            "no recovery in {} windows{}",
            r.windows,
            if r.thin > 0 {
                format!(" ({} with too few samples)", r.thin)
            } else {
                String::new()
            }
        ),
    };
    format!(
        "recovery after `{}` (ended at {:.1} s): {what} ({})",
        r.after,
        r.after_end_s,
        limits.join(", ")
    )
}

fn capacity_table(c: &Capacity) -> String {
    let mut rows = vec![
        [
            "capacity step",
            "run",
            "outcome",
            "throughput",
            "p50",
            "p95",
            "p99",
            "errors",
            "why",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for s in &c.steps {
        for (i, r) in s.runs.iter().enumerate() {
            let us = |v: Option<f64>| v.map_or("-".into(), fmt_us);
            rows.push(vec![
                if i == 0 {
                    c.level_text(s.level)
                } else {
                    String::new()
                },
                format!("{}{}", i + 1, if r.noisy { " (close)" } else { "" }),
                if i + 1 == s.runs.len() {
                    format!("{} -> {}", r.outcome.name(), s.outcome.name())
                } else {
                    r.outcome.name().to_string()
                },
                fmt_rate(r.throughput),
                us(r.p50_us),
                us(r.p95_us),
                us(r.p99_us),
                fmt_percent(r.error_rate),
                r.reason.clone().unwrap_or_default(),
            ]);
        }
    }
    let mut out = String::from("\n");
    out.push_str(&render(&rows, "  "));
    out.push_str(&format!("  {}\n", capacity_line(c)));
    out
}

/// `capacity: 400.0/s held, 412.5/s failed` (or why it is a lower bound).
pub fn capacity_line(c: &Capacity) -> String {
    let held = c.held.map_or("no level held".to_string(), |h| {
        format!("{} held", c.level_text(h))
    });
    let mut line = format!("capacity: {held}");
    if let Some(f) = c.failed {
        line.push_str(&format!(", {} failed", c.level_text(f)));
    }
    if c.users
        && let Some(v) = c.value
    {
        line.push_str(&format!(" (throughput {})", fmt_rate(v)));
    }
    if let Some(why) = &c.lower_bound {
        line.push_str(&format!("; a lower bound: {why}"));
    }
    line
}
