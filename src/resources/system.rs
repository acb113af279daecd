//! The whole machine: CPU busy share of all cores and memory in use, sampled with sysinfo.

use sysinfo::{MemoryRefreshKind, System};

use super::{Quantity, Readings, Sampler};

/// Samples `system`: CPU (percent of all cores) and memory in use (total minus available).
pub(crate) struct SystemWide {
    sys: System,
    first: bool,
}

impl SystemWide {
    /// A sampler of the whole machine; `Err` where sysinfo does not support the platform.
    pub fn new() -> Result<SystemWide, String> {
        Ok(SystemWide {
            sys: System::new().map_err(|e| format!("sysinfo: {e}"))?,
            first: true,
        })
    }

    /// CPUs of the machine (after the first sample).
    pub fn cpus(&self) -> usize {
        self.sys.cpus().len()
    }
}

impl Sampler for SystemWide {
    fn sample(&mut self, out: &mut Readings) {
        self.sys.refresh_cpu_usage();
        self.sys
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        // CPU usage is a difference between two refreshes: the first one has none.
        if !self.first {
            out.push(
                "system",
                Quantity::Cpu,
                f64::from(self.sys.global_cpu_usage()),
            );
        }
        self.first = false;
        let used = self
            .sys
            .total_memory()
            .saturating_sub(self.sys.available_memory());
        if self.sys.total_memory() > 0 {
            out.push("system", Quantity::Mem, used as f64);
        }
    }
}
