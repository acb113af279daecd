//! The load engine: one scheduler driven by a [`Load`] value. Users each own a connection and
//! run the same step (pick a request from the weighted mix, draw its data, send, record);
//! the model only decides when a user takes its next step: after the previous response and
//! a think time (closed), or when the schedule says (open). Every run is bounded in time
//! (warm-up + duration + graceful stop) and, optionally, in count.

mod closed;
mod cpu;
mod mix;
mod open;
mod schedule;
mod step;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::client::Prepared;
use crate::data::Rows;
use crate::measure::{Generator, Measurement, Recorder};
use crate::spec::{Load, Scenario};
pub(crate) use mix::Mix;

/// Everything a run needs, independent of where the target came from.
pub(crate) struct Plan {
    /// Where requests go.
    pub endpoint: Endpoint,
    /// The requests, in spec order.
    pub requests: Vec<Prepared>,
    /// Their weights, in the same order.
    pub weights: Vec<u32>,
    /// Data rows.
    pub rows: Rows,
    /// Largest body read.
    pub max_body: u64,
    /// Load shape and timing.
    pub scenario: Scenario,
}

/// Where a run's requests go.
#[derive(Debug, Clone)]
pub(crate) enum Endpoint {
    /// An HTTP service.
    Http(SocketAddr),
    /// An in-process component.
    Component(crate::component::Component),
}

/// State shared by all users of one run.
struct Shared {
    plan: Plan,
    mix: Mix,
    recorder: Recorder,
    t0: Instant,
    measure_from: Instant,
    end: Instant,
    hard_stop: Instant,
    iterations: Option<AtomicU64>,
}

impl Shared {
    /// Whether a request (intended to start at `at`) may start.
    fn may_start(&self, at: Instant) -> bool {
        if at >= self.end {
            return false;
        }
        match &self.iterations {
            Some(left) if at >= self.measure_from => left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok(),
            _ => true,
        }
    }
}

/// Runs the plan from `t0` (now, or a moment ago: the caller keeps it to align other
/// timelines, such as resource samples, with this one) until its end, the iteration count, or
/// `stop` turns true.
pub(crate) async fn drive(plan: Plan, stop: watch::Receiver<bool>, t0: Instant) -> Measurement {
    let s = &plan.scenario;
    let measure_from = t0 + s.warmup;
    let end = measure_from + s.duration;
    let names = plan.requests.iter().map(|r| r.name.clone()).collect();
    let threads = tokio::runtime::Handle::current().metrics().num_workers();
    let open = matches!(s.load, Load::Open(_));
    let shared = Arc::new(Shared {
        mix: Mix::new(&plan.weights),
        recorder: Recorder::with_extras(
            names,
            plan.requests.iter().map(|r| r.stream.is_some()).collect(),
            s.goodput,
            measure_from,
            4 * threads,
            open,
        ),
        iterations: s.iterations.map(AtomicU64::new),
        t0,
        measure_from,
        end,
        hard_stop: end + s.graceful_stop,
        plan,
    });
    let collector = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                shared.recorder.collect();
            }
        })
    };
    let cpu_before = cpu::worker_cpu();
    let requested = match shared.plan.scenario.load.clone() {
        Load::Closed(closed) => {
            closed::run(&shared, &closed, &stop).await;
            None
        }
        Load::Open(open) => Some(open::run(&shared, &open, &stop).await),
    };
    collector.abort();
    let wall = t0.elapsed();
    let cpu = match (cpu_before, cpu::worker_cpu()) {
        (Some(a), Some(b)) if !wall.is_zero() => {
            Some(((b - a) / (wall.as_secs_f64() * threads as f64)).clamp(0.0, 1.0))
        }
        _ => None,
    };
    let finished = Instant::now().min(end);
    let window = finished.saturating_duration_since(measure_from);
    let generator = Generator {
        requested,
        cpu,
        threads,
        ..Generator::default()
    };
    shared
        .recorder
        .finish(shared.plan.scenario.warmup, window, generator)
}

/// Resolves when `stop` turns true; never if the sender is gone.
async fn stopped(mut stop: watch::Receiver<bool>) {
    if stop.wait_for(|v| *v).await.is_err() {
        std::future::pending::<()>().await;
    }
}
