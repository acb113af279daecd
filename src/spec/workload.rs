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
    /// Concurrent users, each with its own connection.
    pub users: u32,
    /// Users start evenly spread over this time.
    pub ramp_up: Duration,
    /// Pause between a user's requests.
    pub think: Think,
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

/// One change of the arrival rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stage {
    /// Change linearly to `to` arrivals per second over `over`.
    Ramp {
        /// Length of the ramp.
        over: Duration,
        /// Rate at its end, per second.
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
