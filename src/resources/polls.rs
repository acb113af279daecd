//! An in-process component as the target: the CPU time its calls spent being polled (summed
//! by the component itself, see `component.rs`), reported as entity `sut` like a process
//! tree's: CPU as a share of one core, and the cumulative CPU time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::{Quantity, Readings, Sampler};

/// Reads a component's CPU meter (ns of polling).
pub(crate) struct PollCpu {
    meter: Arc<AtomicU64>,
    base: Option<u64>,
    last: Option<(Instant, u64)>,
}

impl PollCpu {
    pub fn new(meter: Arc<AtomicU64>) -> PollCpu {
        PollCpu {
            meter,
            base: None,
            last: None,
        }
    }
}

impl Sampler for PollCpu {
    fn sample(&mut self, out: &mut Readings) {
        let now = Instant::now();
        let ns = self.meter.load(Ordering::Relaxed);
        let base = *self.base.get_or_insert(ns);
        if let Some((at, before)) = self.last {
            let wall = (now - at).as_secs_f64();
            if wall > 0.0 {
                out.push(
                    "sut",
                    Quantity::Cpu,
                    ns.saturating_sub(before) as f64 / 1e9 / wall * 100.0,
                );
            }
        }
        out.push(
            "sut",
            Quantity::CpuTime,
            ns.saturating_sub(base) as f64 / 1000.0,
        );
        self.last = Some((now, ns));
    }
}
