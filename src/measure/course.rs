//! How a run unfolded beyond its totals: its phases (each measured on its own, at full
//! precision), whether it was aborted and why, when the service recovered after a phase,
//! whether the target stayed alive, and, for a capacity search, every step it took.

use super::Measurement;

/// How a run unfolded; empty for a plain run.
#[derive(Debug, Clone, Default)]
pub struct Course {
    /// The phases the stages name, in time order.
    pub phases: Vec<PhaseMeasurement>,
    /// Set when an `abort-on` condition ended the run early.
    pub aborted: Option<Abort>,
    /// The recovery after the phase `recovery = { after = … }` names.
    pub recovery: Option<Recovery>,
    /// The capacity search this run is the result of.
    pub capacity: Option<Capacity>,
    /// Whether the target's process outlived the run; `None` when no process was watched.
    pub alive: Option<Liveness>,
    /// Each turn index of the flows' chat steps measured on its own (turn 1 first).
    pub turns: Vec<TurnMeasurement>,
    /// Each flow the scenario ran: its iterations, how many succeeded, how long they took.
    pub flows: Vec<FlowMeasurement>,
}

/// The iterations of one flow intended to start in the measured window and finished before
/// load stopped (an iteration cut off by the end of the run is in neither count).
#[derive(Debug, Clone)]
pub struct FlowMeasurement {
    /// The flow's name.
    pub name: String,
    /// Iterations whose every step (teardown included) succeeded.
    pub succeeded: u64,
    /// Iterations in which a step failed (its setup, a step, a capture, its teardown).
    pub failed: u64,
    /// Durations of the iterations that succeeded, µs: from the intended start of the first
    /// step (setup not included: it runs once per user) to the end of the last, think times
    /// between steps included.
    pub duration: hdrhistogram::Histogram<u64>,
}

impl FlowMeasurement {
    /// Finished iterations.
    pub fn iterations(&self) -> u64 {
        self.succeeded + self.failed
    }

    /// Succeeded over finished iterations; `None` when none finished.
    pub fn success_rate(&self) -> Option<f64> {
        let n = self.iterations();
        (n > 0).then(|| self.succeeded as f64 / n as f64)
    }

    /// No iterations yet.
    pub fn empty(name: impl Into<String>) -> FlowMeasurement {
        FlowMeasurement {
            name: name.into(),
            succeeded: 0,
            failed: 0,
            duration: super::new_histogram(),
        }
    }

    /// Adds `other`'s iterations to these.
    pub fn add(&mut self, other: &FlowMeasurement) {
        self.succeeded += other.succeeded;
        self.failed += other.failed;
        super::stats::merge_into(&mut self.duration, &other.duration);
    }

    /// Every flow's iterations together (`name`: `all`).
    pub fn total(flows: &[FlowMeasurement]) -> FlowMeasurement {
        let mut total = FlowMeasurement::empty("all");
        for f in flows {
            total.add(f);
        }
        total
    }
}

/// One turn index of multi-turn conversations: the chat requests sent as that turn.
#[derive(Debug, Clone)]
pub struct TurnMeasurement {
    /// The turn's index, from 1.
    pub turn: u32,
    /// The requests sent as this turn, with full-precision histograms (TTFT, ITL, goodput…),
    /// over the run's measured window.
    pub measurement: Measurement,
}

/// One phase: where it lies on the timeline and what its requests did.
#[derive(Debug, Clone)]
pub struct PhaseMeasurement {
    /// Its name.
    pub name: String,
    /// Its start, seconds from the end of the warm-up (negative within it).
    pub from_s: f64,
    /// Its end, seconds from the end of the warm-up.
    pub to_s: f64,
    /// The requests intended to start in its measured part (after the warm-up, before load
    /// stopped), with full-precision histograms; its timeline counts from the phase's
    /// measured start, and its window is that part's length.
    pub measurement: Measurement,
}

impl PhaseMeasurement {
    /// Whether any of it was measured (not all warm-up, reached before load stopped).
    pub fn measured(&self) -> bool {
        !self.measurement.window.is_zero()
    }
}

/// Why and when a run was aborted.
#[derive(Debug, Clone, PartialEq)]
pub struct Abort {
    /// Seconds from the end of the warm-up when the condition was seen.
    pub at_s: f64,
    /// The condition as written.
    pub condition: String,
    /// What it observed, for people: `35.2% in 2–7 s`.
    pub observed: String,
}

impl Abort {
    /// One line: `aborted at 7.0 s: error-rate over 5s > 20% held (35.2% in 2–7 s)`.
    pub fn reason(&self) -> String {
        format!(
            "aborted at {:.1} s: `{}` held ({})",
            self.at_s, self.condition, self.observed
        )
    }
}

/// The recovery after a phase: when the windowed p95 and error rate were back within limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    /// The phase recovered from.
    pub after: String,
    /// Its end, seconds from the end of the warm-up.
    pub after_end_s: f64,
    /// The p95 a window must not exceed (µs), when judged.
    pub p95_limit_us: Option<f64>,
    /// The error rate a window must not exceed, when judged.
    pub error_rate_limit: Option<f64>,
    /// Start of the first of `hold` consecutive windows within the limits, seconds from the
    /// end of the warm-up; `None` when it never came.
    pub recovered_at_s: Option<f64>,
    /// Windows judged after the phase.
    pub windows: u32,
    /// Windows with too few samples for a p95 (they count as not recovered).
    pub thin: u32,
    /// Why recovery could not be judged at all (a reference phase without enough samples).
    pub undecided: Option<String>,
}

impl Recovery {
    /// Seconds from the end of the phase to the recovery.
    pub fn time_s(&self) -> Option<f64> {
        self.recovered_at_s.map(|t| (t - self.after_end_s).max(0.0))
    }
}

/// Whether the target's process outlived the run.
#[derive(Debug, Clone, PartialEq)]
pub enum Liveness {
    /// Still running when load ended.
    Alive,
    /// Gone; how (exit status, or that the process disappeared).
    Exited(String),
}

/// The result of a capacity search.
#[derive(Debug, Clone, PartialEq)]
pub struct Capacity {
    /// Whether levels are users (closed model) rather than arrival rates (open model).
    pub users: bool,
    /// The highest level that held.
    pub held: Option<f64>,
    /// The `capacity` metric: the arrival rate held (open), or the throughput measured at
    /// the most users held (closed).
    pub value: Option<f64>,
    /// The lowest level that failed.
    pub failed: Option<f64>,
    /// Why the result is only a lower bound (the generator saturated, the highest level tried
    /// still held, a step could not be decided).
    pub lower_bound: Option<String>,
    /// Every level tried, in order.
    pub steps: Vec<CapacityStep>,
}

impl Capacity {
    /// A level for people: `250.0/s` or `40 users`.
    pub fn level_text(&self, level: f64) -> String {
        if self.users {
            format!("{level:.0} users")
        } else {
            crate::units::fmt_rate(level)
        }
    }
}

/// One level of a capacity search.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityStep {
    /// Arrivals per second (open) or users (closed).
    pub level: f64,
    /// What the level's runs add up to.
    pub outcome: StepOutcome,
    /// Each run at this level (more than one when a run was close to a limit).
    pub runs: Vec<StepRun>,
}

/// Whether a level held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Every assertion held.
    Held,
    /// An assertion failed (or the run had a problem).
    Failed,
    /// The run cannot tell (generator saturated, too few samples): not the knee.
    Inconclusive,
}

impl StepOutcome {
    /// `held`, `failed`, `inconclusive`.
    pub fn name(self) -> &'static str {
        match self {
            StepOutcome::Held => "held",
            StepOutcome::Failed => "failed",
            StepOutcome::Inconclusive => "inconclusive",
        }
    }
}

/// One run of a capacity step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRun {
    /// Its outcome.
    pub outcome: StepOutcome,
    /// Successful requests per second.
    pub throughput: f64,
    /// Response-time percentiles, µs.
    pub p50_us: Option<f64>,
    /// See `p50_us`.
    pub p95_us: Option<f64>,
    /// See `p50_us`.
    pub p99_us: Option<f64>,
    /// Failed over completed requests.
    pub error_rate: f64,
    /// Measured seconds.
    pub window_s: f64,
    /// What decided it: the first failed check, the problem, or the doubt.
    pub reason: Option<String>,
    /// Whether a check was within the noise margin of its limit (the step was repeated).
    pub noisy: bool,
}
