//! Resources of the system under test, the machine and the generator, sampled on their own
//! schedule while load runs: CPU, memory, threads, disk I/O (sysinfo), GPUs (NVML, optional at
//! run time), and a leak fit over memory.
//!
//! Every source is a [`Sampler`]; one thread calls them all at each tick (default every 250 ms)
//! and keeps the readings as time series, aligned with the load timeline: `t` is seconds from
//! the end of the warm-up, negative before it, fractional. Statistics and checks use the points
//! of the measured window (`0 <= t <= window`).

mod counters;
mod gpu;
mod leak;
mod observe;
mod polls;
mod process;
mod sampling;
mod series;
mod system;

use std::collections::BTreeMap;
use std::time::Duration;

pub use counters::{Instructions, open_instructions};
pub use gpu::{FakeGpu, Gpu, GpuReading, GpuStatus, Nvml};
pub use leak::{Fit, MIN_FIT_POINTS, fit_window, theil_sen};
pub use observe::Observed;
pub(crate) use process::{ProcessTree, exists, find_target};
pub use sampling::SamplingCost;
pub(crate) use sampling::{Watch, cpu_clock, start, thread_cpu};
pub use series::{Point, Summary, in_window, secs_since, stat, window_increase};
pub(crate) use system::SystemWide;

/// The default time between two samples.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(250);

/// The shortest sample interval: CPU usage is a difference of two readings, and the system's
/// counters are not refreshed more often than every 200 ms (sysinfo keeps the old value).
pub const MIN_INTERVAL: Duration = Duration::from_millis(200);

/// What a series measures. The unit is fixed per quantity (see [`Quantity::json_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Quantity {
    /// CPU: percent of one core for processes (200 = two cores busy), percent of all cores
    /// for the system.
    Cpu,
    /// Resident memory of processes, bytes.
    Rss,
    /// Threads of processes.
    Threads,
    /// Processes in the target's tree.
    Processes,
    /// Bytes read from storage since sampling began (cumulative).
    DiskRead,
    /// Bytes written to storage since sampling began (cumulative).
    DiskWrite,
    /// Memory in use on the machine (total minus available), bytes.
    Mem,
    /// GPU utilisation: percent of time a kernel ran.
    GpuUtil,
    /// GPU memory in use on the device, bytes.
    GpuMem,
    /// GPU memory used by the target's processes, bytes.
    GpuMemSut,
    /// GPU power draw, watts.
    GpuPower,
    /// GPU temperature, °C.
    GpuTemp,
    /// CPU time (user + system) of the processes since sampling began (cumulative), µs.
    CpuTime,
    /// Instructions retired by the target's threads in user space since sampling began
    /// (cumulative; hardware counters through `perf_event_open`).
    Instructions,
}

impl Quantity {
    /// Every quantity, in report order.
    pub const ALL: [Quantity; 14] = [
        Quantity::Cpu,
        Quantity::Rss,
        Quantity::Threads,
        Quantity::Processes,
        Quantity::DiskRead,
        Quantity::DiskWrite,
        Quantity::Mem,
        Quantity::GpuUtil,
        Quantity::GpuMem,
        Quantity::GpuMemSut,
        Quantity::GpuPower,
        Quantity::GpuTemp,
        Quantity::CpuTime,
        Quantity::Instructions,
    ];

    /// The JSON field name, with its unit: `cpu_percent`, `rss_bytes`.
    pub fn json_name(self) -> &'static str {
        match self {
            Quantity::Cpu => "cpu_percent",
            Quantity::Rss => "rss_bytes",
            Quantity::Threads => "threads",
            Quantity::Processes => "processes",
            Quantity::DiskRead => "disk_read_bytes",
            Quantity::DiskWrite => "disk_write_bytes",
            Quantity::Mem => "mem_used_bytes",
            Quantity::GpuUtil => "util_percent",
            Quantity::GpuMem => "mem_used_bytes",
            Quantity::GpuMemSut => "sut_mem_bytes",
            Quantity::GpuPower => "power_watts",
            Quantity::GpuTemp => "temp_celsius",
            Quantity::CpuTime => "cpu_time_us",
            Quantity::Instructions => "instructions",
        }
    }

    /// Whether values only grow (counters since sampling began).
    pub fn cumulative(self) -> bool {
        matches!(
            self,
            Quantity::DiskRead | Quantity::DiskWrite | Quantity::CpuTime | Quantity::Instructions
        )
    }
}

/// Something sampled: `sut`, `system`, `generator`, `gpu0`, …, with one series per quantity.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Entity {
    /// `sut`, `system`, `generator`, `gpu0`.
    pub name: String,
    /// The series, each in time order.
    pub series: BTreeMap<Quantity, Vec<Point>>,
}

impl Entity {
    /// The series of `q`; empty when it was never read.
    pub fn series(&self, q: Quantity) -> &[Point] {
        self.series.get(&q).map_or(&[], Vec::as_slice)
    }
}

/// Everything sampled during one trial.
#[derive(Debug, Clone, PartialEq)]
pub struct Resources {
    /// Time between samples.
    pub interval: Duration,
    /// The measured window (statistics use `0 <= t <= window`).
    pub window: Duration,
    /// Sampled entities: `sut` (when the target's process is known), `system`, `generator`,
    /// then `gpu0`, `gpu1`, … in device order.
    pub entities: Vec<Entity>,
    /// What sampling itself cost.
    pub cost: SamplingCost,
    /// Whether GPUs could be measured.
    pub gpu: GpuStatus,
    /// CPUs of the machine (system CPU is a percentage of all of them).
    pub cpus: usize,
    /// Which processes `sut` is: `pid 4242 and its descendants`; `None` when unknown.
    pub sut: Option<String>,
    /// Why instructions could not be counted, when a scenario asked for them (no hardware
    /// counters in a VM, `perf_event_paranoid`); `None` when they were counted or not asked
    /// for.
    pub counters: Option<String>,
}

impl Resources {
    /// The entity called `name`.
    pub fn entity(&self, name: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.name == name)
    }

    /// The GPU entities (`gpu0`, `gpu1`, …).
    pub fn gpus(&self) -> impl Iterator<Item = &Entity> {
        self.entities.iter().filter(|e| e.name.starts_with("gpu"))
    }

    /// Statistics of `q` of entity `name` over the measured window.
    pub fn summary(&self, name: &str, q: Quantity) -> Option<Summary> {
        let e = self.entity(name)?;
        Summary::of(e.series(q), self.window, q.cumulative())
    }
}

/// Problems that fail the trial whatever the checks say: `require-gpu = true` without a GPU.
pub(crate) fn problems(scenario: &crate::spec::Scenario, r: &Resources) -> Vec<String> {
    match &r.gpu {
        GpuStatus::Unavailable(why) if scenario.require_gpu => vec![format!(
            "`require-gpu = true`, but no GPU can be measured: {why}"
        )],
        _ => Vec::new(),
    }
}

/// Takes readings on the sampling thread's schedule: the target's process tree, the whole
/// system, the generator's own process, GPUs, or a fake in tests.
pub trait Sampler: Send {
    /// Adds this tick's readings to `out`; a value that cannot be read is left out (the first
    /// CPU reading of a process, which has nothing to be a difference from, for one).
    fn sample(&mut self, out: &mut Readings);
}

/// The readings of one tick, filled by every sampler in turn.
#[derive(Debug, Default)]
pub struct Readings {
    entities: Vec<String>,
    values: Vec<(usize, Quantity, f64)>,
    sut_pids: Vec<u32>,
}

impl Readings {
    /// Records `value` of `q` for `entity`.
    pub fn push(&mut self, entity: &str, q: Quantity, value: f64) {
        if !value.is_finite() {
            return;
        }
        let i = match self.entities.iter().position(|e| e == entity) {
            Some(i) => i,
            None => {
                self.entities.push(entity.to_string());
                self.entities.len() - 1
            }
        };
        self.values.push((i, q, value));
    }

    /// The target's processes at this tick (set by the process-tree sampler, which runs
    /// first), for samplers that attribute usage to processes (GPU memory).
    pub fn sut_pids(&self) -> &[u32] {
        &self.sut_pids
    }

    /// Sets the target's processes for this tick.
    pub fn set_sut_pids(&mut self, pids: impl IntoIterator<Item = u32>) {
        self.sut_pids.clear();
        self.sut_pids.extend(pids);
    }

    /// The readings, as `(entity, quantity, value)`.
    pub fn values(&self) -> impl Iterator<Item = (&str, Quantity, f64)> {
        self.values
            .iter()
            .map(|&(i, q, v)| (self.entities[i].as_str(), q, v))
    }

    fn clear(&mut self) {
        self.values.clear();
        self.sut_pids.clear();
    }
}
