//! A stall the closed model hides. Closed-loop users wait for the service: while it stalls,
//! each has one request in flight and sends no other, so the stall costs a handful of slow
//! samples (far fewer than the users who would have arrived meanwhile) and the percentiles
//! look fine: coordinated omission. Its signature in a closed run is a slowest request far
//! above p99 (and above the latency limits asserted) together with a dip in the per-second
//! throughput at the same time. Pure: measurement in, doubt out.

use super::Doubt;
use crate::assertion::Stat;
use crate::measure::Measurement;
use crate::resources::Quantity;
use crate::spec::{Load, Scenario};
use crate::units::{fmt_percent, fmt_us};

/// A second with fewer requests than this share of the median second is a dip.
const DIP: f64 = 0.8;
/// The slowest request must take at least this many times p99.
const TAIL_RATIO: f64 = 5.0;
/// ...and, without a latency limit asserted, at least this long (µs).
const FLOOR_US: f64 = 50_000.0;
/// Fewer whole measured seconds than this say nothing about dips.
const MIN_SECONDS: usize = 3;
/// System CPU (percent of all cores) from which the machine itself may be the stall.
const BUSY_PERCENT: f64 = 95.0;

/// The doubt, when a closed run shows the signature of a hidden stall.
pub(crate) fn closed_stall(s: &Scenario, m: &Measurement) -> Option<Doubt> {
    let Load::Closed(closed) = &s.load else {
        return None;
    };
    let total = m.total();
    let p99 = total.stat(Stat::Percentile(99.0))?;
    let slowest = total.stat(Stat::Max)?;
    let limit = super::tightest_latency_limit(s);
    let threshold = limit.unwrap_or(FLOOR_US).max(TAIL_RATIO * p99);
    if slowest <= threshold {
        return None;
    }
    // Whole seconds of measured time after every user started: (t, requests, slowest µs).
    let ramped = closed.ramp_up.saturating_sub(m.warmup).as_secs_f64().ceil() as i64;
    let window = m.window.as_secs_f64();
    let seconds: Vec<(i64, u64, f64)> = m
        .timeline
        .iter()
        .filter(|sec| sec.t >= ramped && (sec.t + 1) as f64 <= window)
        .map(|sec| {
            let t = sec.total();
            let slow = if t.latency.is_empty() {
                0.0
            } else {
                t.latency.max() as f64
            };
            (sec.t, t.ok + t.errors, slow)
        })
        .collect();
    if seconds.len() < MIN_SECONDS {
        return None;
    }
    let mut counts: Vec<u64> = seconds.iter().map(|s| s.1).collect();
    counts.sort_unstable();
    let median = counts[counts.len() / 2] as f64;
    let slow_near = |t: i64| {
        seconds
            .iter()
            .any(|&(u, _, slow)| (u - t).abs() <= 1 && slow > threshold)
    };
    let dips: Vec<u64> = seconds
        .iter()
        .filter(|&&(t, n, _)| (n as f64) < DIP * median && slow_near(t))
        .map(|s| s.1)
        .collect();
    let lowest = *dips.iter().min()?;
    let above = limit.map_or(String::new(), |l| {
        format!(", above the limit of {}", fmt_us(l))
    });
    // A machine busy to the last core stalls the service too: say so, the cure differs.
    let busy = m
        .resources
        .as_ref()
        .and_then(|r| r.summary("system", Quantity::Cpu))
        .filter(|cpu| cpu.max >= BUSY_PERCENT)
        .map_or(String::new(), |cpu| {
            format!(
                " (the machine's CPU reached {} during the run: other processes may have stalled it rather than the service)",
                fmt_percent(cpu.max / 100.0)
            )
        });
    Some(Doubt {
        reason: format!(
            "the closed model may hide a stall: the slowest request took {} ({:.0}x p99 of {}{above}) and throughput fell to {} of its median second in {} of {} seconds{busy}; closed-loop users wait for the service, so the requests a stall would have delayed were never sent and are missing from the percentiles (coordinated omission): measure with the open model (load = {{ model = \"open\", rate = \"…/s\" }}) to see what users arriving on their own schedule feel",
            fmt_us(slowest),
            slowest / p99.max(1.0),
            fmt_us(p99),
            fmt_percent(lowest as f64 / median.max(1.0)),
            dips.len(),
            seconds.len(),
        ),
        masks_failures: false,
    })
}

#[cfg(test)]
mod tests;
