//! What a run measured: per-request HDR histograms (µs, 3 significant figures), errors by kind,
//! a per-second timeline, and what the generator itself did. The [`Recorder`] collects it while
//! load runs; [`Measurement`] is the finished, immutable result everything downstream reads.

mod connection;
mod course;
mod errors;
mod extras;
mod phases;
mod recorder;
mod stats;

use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;

pub use connection::{PhaseStats, Refusals};
pub use course::{
    Abort, Capacity, CapacityStep, Course, FlowMeasurement, Liveness, PhaseMeasurement, Recovery,
    StepOutcome, StepRun, TurnMeasurement,
};
pub use errors::ErrorKind;
pub(crate) use recorder::{Collected, Record, Recorder};
pub(crate) use stats::new_histogram;
pub use stats::{Channel, RequestStats, Second, SecondStats, StreamStats, stat_of};

/// What the generator did, to judge whether the run can be trusted.
#[derive(Debug, Clone, Default)]
pub struct Generator {
    /// Schedule lateness of sent requests (actual minus intended start), µs: the queueing
    /// delay inside the generator. Open model only.
    pub lateness: Option<Histogram<u64>>,
    /// Arrivals the schedule asked for in the measured window (open model).
    pub requested: Option<u64>,
    /// Requests sent in the measured window.
    pub sent: u64,
    /// Arrivals in the measured window that found no free user (open model).
    pub dropped: u64,
    /// Busy share of the generator's worker threads over the run (0 to 1), where the platform
    /// tells (Linux).
    pub cpu: Option<f64>,
    /// Worker threads of the generator.
    pub threads: usize,
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// When load started (wall clock), for reports.
    pub started_at: SystemTime,
    /// The warm-up before measurement.
    pub warmup: Duration,
    /// Measured time: from the end of the warm-up until load stopped.
    pub window: Duration,
    /// Per request, in spec order.
    pub requests: Vec<RequestStats>,
    /// The timeline, warm-up included, in order.
    pub timeline: Vec<Second>,
    /// Requests still in flight when the graceful stop ran out (not in any statistic).
    pub interrupted: u64,
    /// The generator's own figures.
    pub generator: Generator,
    /// Resources sampled while load ran (target, machine, generator, GPUs); `None` when
    /// nothing was sampled.
    pub resources: Option<crate::resources::Resources>,
    /// Phases, an abort, the recovery, a capacity search, the target's fate.
    pub course: Course,
    /// The service's own metrics, read from its `/metrics` while load ran; `None` when the
    /// target has no `metrics` endpoint.
    pub metrics: Option<crate::scrape::Scraped>,
}

impl Measurement {
    /// Nothing measured: no requests, no timeline, an empty window starting at the epoch. The
    /// start of a merge, and of a measurement built by hand with `..Measurement::empty()`.
    pub fn empty() -> Measurement {
        Measurement {
            started_at: SystemTime::UNIX_EPOCH,
            warmup: Duration::ZERO,
            window: Duration::ZERO,
            requests: Vec::new(),
            timeline: Vec::new(),
            interrupted: 0,
            generator: Generator::default(),
            resources: None,
            course: Course::default(),
            metrics: None,
        }
    }

    /// All requests merged.
    pub fn total(&self) -> RequestStats {
        let two = self.requests.iter().any(|r| r.service.is_some());
        let mut total = RequestStats::new("all", two);
        for r in &self.requests {
            total.merge(r);
        }
        total
    }

    /// The stats of request `name`.
    pub fn request(&self, name: &str) -> Option<&RequestStats> {
        self.requests.iter().find(|r| r.name == name)
    }

    /// Successful requests per second of measured time.
    pub fn throughput(&self, stats: &RequestStats) -> f64 {
        let secs = self.window.as_secs_f64();
        if secs > 0.0 {
            stats.ok as f64 / secs
        } else {
            0.0
        }
    }

    /// The phase called `name`.
    pub fn phase(&self, name: &str) -> Option<&PhaseMeasurement> {
        self.course.phases.iter().find(|p| p.name == name)
    }

    /// The iterations of flow `name`, or of every flow (`None`); `None` when the run had no
    /// such flow.
    pub fn flow(&self, name: Option<&str>) -> Option<FlowMeasurement> {
        let flows = &self.course.flows;
        match name {
            Some(n) => flows.iter().find(|f| f.name == n).cloned(),
            None if flows.is_empty() => None,
            None => Some(FlowMeasurement::total(flows)),
        }
    }

    /// The chat requests sent as turn `turn` (from 1) of their conversations.
    pub fn turn(&self, turn: u32) -> Option<&TurnMeasurement> {
        self.course.turns.iter().find(|t| t.turn == turn)
    }

    /// The phase the second starting at `t` (seconds from the end of the warm-up) lies in.
    pub fn phase_at(&self, t: f64) -> Option<&PhaseMeasurement> {
        self.course
            .phases
            .iter()
            .find(|p| p.from_s <= t && t < p.to_s)
    }

    /// The index of request `name` in spec order.
    pub fn request_index(&self, name: &str) -> Option<usize> {
        self.requests.iter().position(|r| r.name == name)
    }
}
