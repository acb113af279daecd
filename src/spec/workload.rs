//! Load models as data: what the scheduler is asked to do.

use std::time::Duration;

/// How load is offered.
#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    /// A fixed number of users, each sending its next request when the last one finished
    /// (plus think time).
    Closed(Closed),
    /// Requests arrive on a schedule, whatever the service does.
    Open(Open),
}

/// The closed model.
#[derive(Debug, Clone, PartialEq)]
pub struct Closed {
    /// Concurrent users, each with its own connection (with `stages`: users at the start).
    pub users: u32,
    /// Users start evenly spread over this time.
    pub ramp_up: Duration,
    /// Pause between a user's requests.
    pub think: Think,
    /// Changes of the number of users from the start of the run (warm-up included), like the
    /// open model's stages with users instead of a rate; after the last stage the last number
    /// holds. Empty: `users` throughout (after `ramp_up`).
    pub stages: Vec<Stage>,
}

/// Pause between a user's requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Think {
    /// Always this long (zero: none).
    Fixed(Duration),
    /// Uniformly between the two.
    Uniform(Duration, Duration),
}

/// The open model: an arrival rate over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Open {
    /// Arrivals per second at the start.
    pub rate: f64,
    /// Changes of the rate from the start of the run (warm-up included); after the last
    /// stage the last rate holds.
    pub stages: Vec<Stage>,
    /// Users (each with its own connection) that serve arrivals; an arrival that finds none
    /// free is dropped, never delayed.
    pub max_users: u32,
    /// How arrivals are spaced.
    pub arrivals: Arrivals,
}

/// One change of the load level: the arrival rate (open model) or the number of users
/// (closed model).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stage {
    /// Change linearly to `to` over `over`.
    Ramp {
        /// Length of the ramp.
        over: Duration,
        /// Level at its end: arrivals per second (open), users (closed).
        to: f64,
    },
    /// Keep the current rate this long.
    Hold(Duration),
}

impl Stage {
    /// Its length.
    pub fn length(self) -> Duration {
        match self {
            Stage::Ramp { over, .. } => over,
            Stage::Hold(d) => d,
        }
    }
}

/// How arrivals are spaced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrivals {
    /// Evenly (`1/rate` apart).
    Uniform,
    /// A Poisson process (exponential gaps), from a fixed seed so runs repeat.
    Poisson {
        /// The seed.
        seed: u64,
    },
}

impl Load {
    /// The stages of either model.
    pub fn stages(&self) -> &[Stage] {
        match self {
            Load::Closed(c) => &c.stages,
            Load::Open(o) => &o.stages,
        }
    }
}

/// A named stretch of a run, from the `phase` of its stages (`{ hold = "2m", phase = "stress" }`):
/// assertions can be limited to it (`p95 in stress < 1s`), recovery is measured after it, and
/// reports shade it.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// Its name.
    pub name: String,
    /// Where it starts, from the start of the run (warm-up included).
    pub start: Duration,
    /// Where it ends, from the start of the run; the phase of the last stage lasts until the
    /// end of the run.
    pub end: Duration,
}
