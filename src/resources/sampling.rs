//! The sampling thread: calls every [`Sampler`] on a fixed schedule (`start + k × interval`,
//! so lateness never accumulates), keeps the readings, and measures its own CPU time, so the
//! cost of looking is known.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::SystemWide;
use super::gpu::{GpuSampler, warn_once};
use super::series::secs_since;
use super::{Entity, Gpu, GpuStatus, Point, ProcessTree, Quantity, Readings, Resources, Sampler};

/// What sampling cost: CPU time of the sampling thread over its lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SamplingCost {
    /// Ticks taken.
    pub samples: u64,
    /// CPU time of the sampling thread (setup, full scans and every tick).
    pub cpu: Duration,
    /// How long the thread ran.
    pub wall: Duration,
}

impl SamplingCost {
    /// CPU of the sampling thread as a percentage of one core.
    pub fn percent_of_core(&self) -> f64 {
        if self.wall.is_zero() {
            0.0
        } else {
            self.cpu.as_secs_f64() / self.wall.as_secs_f64() * 100.0
        }
    }

    /// Mean CPU time per tick.
    pub fn per_sample(&self) -> Duration {
        self.cpu / u32::try_from(self.samples.max(1)).unwrap_or(u32::MAX)
    }
}

type Raw = Vec<(String, BTreeMap<Quantity, Vec<(Instant, f64)>>)>;

/// A running sampling thread; [`Sampling::finish`] stops it.
pub(crate) struct Sampling {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<Sampled>>,
    interval: Duration,
    gpu: GpuStatus,
    sut: Option<String>,
}

/// What the sampling thread hands back: the readings, its cost, the machine's CPUs, and why
/// instructions could not be counted (when asked for and impossible).
type Sampled = (Raw, SamplingCost, usize, Option<String>);

/// What a trial asks the sampler to watch beyond the machine and the generator.
pub(crate) struct Watch<'a> {
    /// The roots of the target's process tree; `None` when unknown.
    pub sut_roots: Option<&'a [u32]>,
    /// An in-process component as the target: the CPU time of its polls.
    pub component: Option<(&'a str, &'a crate::component::Component)>,
    /// Whether to count the target's instructions (a scenario asks for them).
    pub instructions: bool,
    /// Whether a scenario asks for GPU figures (their absence deserves the run's one warning).
    pub wants_gpu: bool,
}

/// Starts sampling what `watch` names (the target's process tree or component), the machine,
/// this process and the GPUs of `gpu` every `interval`, then calls the `extra` samplers, which
/// see the tick's readings (the service's metrics scraper, the live endpoint's feed).
pub(crate) fn start(
    interval: Duration,
    watch: Watch<'_>,
    gpu: Arc<dyn Gpu>,
    extra: Vec<Box<dyn Sampler>>,
) -> Sampling {
    let Watch {
        sut_roots,
        component,
        instructions,
        wants_gpu,
    } = watch;
    let mut samplers: Vec<Box<dyn Sampler>> = Vec::new();
    // The tree first: later samplers read its PIDs.
    if let Some(Ok(tree)) = sut_roots.map(ProcessTree::target) {
        samplers.push(Box::new(tree));
    }
    if let Some((_, c)) = component {
        samplers.push(Box::new(super::polls::PollCpu::new(c.cpu_meter())));
    }
    let counters = (instructions && sut_roots.is_some())
        .then(|| super::Instructions::new(super::open_instructions));
    let system = SystemWide::new().ok();
    if let Ok(me) = ProcessTree::generator() {
        samplers.push(Box::new(me));
    }
    let status = match gpu.devices() {
        Ok(n) => {
            samplers.push(Box::new(GpuSampler::new(gpu, n)));
            GpuStatus::Devices(n)
        }
        Err(reason) => {
            if wants_gpu {
                warn_once(&reason);
            }
            GpuStatus::Unavailable(reason)
        }
    };
    let sut = component
        .map(|(name, _)| format!("component `{name}`: the CPU time of its polls"))
        .or_else(|| {
            sut_roots.map(|roots| {
                let list: Vec<String> = roots.iter().map(u32::to_string).collect();
                format!(
                    "{} {} and descendants",
                    if roots.len() == 1 { "pid" } else { "pids" },
                    list.join(", ")
                )
            })
        });
    let stop = Arc::new((Mutex::new(false), Condvar::new()));
    let (first_tx, first_rx) = std::sync::mpsc::sync_channel(1);
    let thread = {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("perfspec-sampler".into())
            .spawn(move || run(samplers, counters, extra, system, interval, &stop, first_tx))
            .ok()
    };
    // The first sample is the baseline (disk counters, CPU times): take it before load starts.
    let _ = first_rx.recv_timeout(Duration::from_secs(5));
    Sampling {
        stop,
        thread,
        interval,
        gpu: status,
        sut,
    }
}

fn run(
    mut samplers: Vec<Box<dyn Sampler>>,
    mut counters: Option<super::Instructions>,
    mut extra: Vec<Box<dyn Sampler>>,
    mut system: Option<SystemWide>,
    interval: Duration,
    stop: &(Mutex<bool>, Condvar),
    first: std::sync::mpsc::SyncSender<()>,
) -> Sampled {
    let cpu_start = thread_cpu();
    let started = Instant::now();
    let mut raw: Raw = Vec::new();
    let mut out = Readings::default();
    let mut samples = 0u64;
    let mut next = started;
    let mut stopped_once = false;
    loop {
        out.clear();
        let at = Instant::now();
        for s in &mut samplers {
            s.sample(&mut out);
        }
        if let Some(c) = &mut counters {
            c.sample(&mut out);
        }
        if let Some(s) = &mut system {
            s.sample(&mut out);
        }
        for s in &mut extra {
            s.sample(&mut out);
        }
        samples += 1;
        if samples == 1 {
            let _ = first.try_send(());
        }
        for (entity, q, v) in out.values() {
            let i = match raw.iter().position(|(e, _)| e == entity) {
                Some(i) => i,
                None => {
                    raw.push((entity.to_string(), BTreeMap::new()));
                    raw.len() - 1
                }
            };
            raw[i].1.entry(q).or_default().push((at, v));
        }
        // The next tick on the fixed schedule; ticks missed by a slow sample are skipped.
        let now = Instant::now();
        while next <= now {
            next += interval;
        }
        let mut stopped = stop.0.lock().unwrap_or_else(|p| p.into_inner());
        while !*stopped && Instant::now() < next {
            let wait = next.saturating_duration_since(Instant::now());
            stopped = stop
                .1
                .wait_timeout(stopped, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        // One last tick when stopped: counters then have a reading after the end of the
        // measured window, so their increase over it is interpolated, not guessed.
        if *stopped {
            if stopped_once {
                break;
            }
            stopped_once = true;
            next = Instant::now();
        }
    }
    let cost = SamplingCost {
        samples,
        cpu: thread_cpu().saturating_sub(cpu_start),
        wall: started.elapsed(),
    };
    let why = counters.and_then(|c| c.unavailable().map(String::from));
    (raw, cost, system.map_or(0, |s| s.cpus()), why)
}

impl Sampling {
    /// Stops sampling and returns the series, with `t` in seconds from `measure_from` (the end
    /// of the warm-up) and statistics over `window`.
    pub fn finish(mut self, measure_from: Instant, window: Duration) -> Resources {
        *self.stop.0.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.stop.1.notify_all();
        let (raw, cost, cpus, counters) = self
            .thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        let t = |at: Instant| secs_since(measure_from, at);
        let mut entities: Vec<Entity> = raw
            .into_iter()
            .map(|(name, series)| Entity {
                name,
                series: series
                    .into_iter()
                    .map(|(q, points)| {
                        let points = points.into_iter().map(|(at, v)| Point { t: t(at), v });
                        (q, points.collect())
                    })
                    .collect(),
            })
            .collect();
        let rank = |name: &str| match name {
            "sut" => 0,
            "system" => 1,
            "generator" => 2,
            _ => 3,
        };
        entities.sort_by_key(|e| (rank(&e.name), e.name.len(), e.name.clone()));
        Resources {
            interval: self.interval,
            window,
            entities,
            cost,
            gpu: self.gpu.clone(),
            cpus,
            sut: self.sut.take(),
            counters,
        }
    }
}

/// CPU time the calling thread has used.
pub(crate) fn thread_cpu() -> Duration {
    cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID).unwrap_or_default()
}

/// The time of a CPU-time clock (this thread's, a process's); `None` when it cannot be read.
pub(crate) fn cpu_clock(clock: libc::clockid_t) -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return None;
    }
    Some(Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    ))
}

impl Drop for Sampling {
    fn drop(&mut self) {
        *self.stop.0.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.stop.1.notify_all();
    }
}
