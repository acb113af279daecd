//! The load engine: one scheduler driven by a [`Load`] value. Users each own a connection and
//! run the same step (pick a request from the weighted mix, draw its data, send, record);
//! the model only decides when a user takes its next step: after the previous response and
//! a think time (closed), or when the schedule says (open). Every run is bounded in time
//! (warm-up + duration + graceful stop) and, optionally, in count.

mod abort;
mod closed;
mod cpu;
mod mix;
mod open;
mod schedule;
mod session;
mod step;
mod timer;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::assertion::Stat;
use crate::client::{Prepared, Transport};
use crate::data::Rows;
use crate::measure::{Generator, Measurement, Recorder, stat_of};
use crate::report::progress::{Progress, Snapshot};
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
    /// The flows users run instead of the mix (the scenario's); empty: the mix.
    pub flows: Vec<crate::spec::Flow>,
    /// Data rows.
    pub rows: Rows,
    /// Largest body read.
    pub max_body: u64,
    /// Load shape and timing.
    pub scenario: Scenario,
    /// The run's series on the live endpoint, when it is served.
    pub live: Option<Arc<crate::export::RunFeed>>,
    /// The shard of the load this process sends (its users, or its arrivals); `None`: all.
    pub shard: Option<crate::shard::Shard>,
    /// Where captured credentials go, to be redacted from reports and the target's log.
    pub secrets: Arc<crate::secrets::CapturedSecrets>,
}

/// Where a run's requests go.
#[derive(Debug, Clone)]
pub(crate) enum Endpoint {
    /// An HTTP service, and how it is reached.
    Http(Arc<Transport>),
    /// An in-process component.
    Component(crate::component::Component),
}

/// State shared by all users of one run.
struct Shared {
    plan: Plan,
    mix: Mix,
    /// Picks a flow for each iteration of a user's session.
    flow_mix: Mix,
    recorder: Recorder,
    t0: Instant,
    measure_from: Instant,
    end: Instant,
    hard_stop: Instant,
    iterations: Option<AtomicU64>,
    /// Set when an `abort-on` condition held; the run then stops.
    aborted: std::sync::Mutex<Option<crate::measure::Abort>>,
    /// Users running now (for the live endpoint).
    active: AtomicU64,
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
/// `stop` turns true; shows `progress` about once a second while it runs.
pub(crate) async fn drive(
    mut plan: Plan,
    stop: watch::Receiver<bool>,
    t0: Instant,
    progress: Option<Progress>,
) -> Measurement {
    session::keep_captured(&mut plan.requests, &plan.flows);
    let s = &plan.scenario;
    let measure_from = t0 + s.warmup;
    let end = measure_from + s.duration;
    let names = plan.requests.iter().map(|r| r.name.clone()).collect();
    let threads = tokio::runtime::Handle::current().metrics().num_workers();
    let open = matches!(s.load, Load::Open(_));
    let phases = s
        .phases
        .iter()
        .map(|p| (p.name.clone(), t0 + p.start, t0 + p.end))
        .collect();
    let recorder = Recorder::with_extras(
        names,
        plan.requests.iter().map(|r| r.stream.is_some()).collect(),
        s.goodput,
        measure_from,
        4 * threads,
        open,
    )
    .with_phases(phases)
    .with_flows(plan.flows.iter().map(|f| f.name.clone()).collect())
    .with_turns(
        plan.flows
            .iter()
            .flat_map(|f| f.setup.iter().chain(&f.steps))
            .filter_map(|s| s.chat.as_ref().map(|c| c.turns))
            .max()
            .unwrap_or(0),
    );
    let shared = Arc::new(Shared {
        mix: Mix::new(&plan.weights),
        flow_mix: Mix::new(&plan.flows.iter().map(|f| f.weight).collect::<Vec<_>>()),
        recorder: match plan.live {
            Some(_) => recorder.with_live(),
            None => recorder,
        },
        active: AtomicU64::new(0),
        iterations: s.iterations.map(AtomicU64::new),
        aborted: std::sync::Mutex::new(None),
        t0,
        measure_from,
        end,
        hard_stop: end + s.graceful_stop,
        plan,
    });
    // The models stop on `stop`, or when an abort condition held.
    let (abort, stop) = abort::Switch::new(stop);
    let collector = {
        let shared = shared.clone();
        let mut progress = progress;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                collect(&shared);
                abort.check(&shared);
                if let Some(p) = &mut progress {
                    p.show(&snapshot(&shared));
                }
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
    // The task (and the progress line with it) is gone once this returns: the line is erased
    // before libtest prints the outcome.
    let _ = collector.await;
    if let Some(live) = &shared.plan.live {
        collect(&shared);
        live.end();
    }
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
    let mut m = shared
        .recorder
        .finish(shared.plan.scenario.warmup, window, generator);
    m.course.aborted = shared
        .aborted
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    m
}

/// Folds the users' records into the timeline, and hands what was new to the live endpoint.
fn collect(sh: &Shared) {
    match &sh.plan.live {
        None => sh.recorder.collect(),
        Some(live) => live.update(
            &sh.recorder.collect_live(),
            sh.active.load(Ordering::Relaxed),
            Instant::now() >= sh.measure_from,
        ),
    }
}

/// Counts a user as active while it lives.
struct Active<'a>(&'a AtomicU64);

impl<'a> Active<'a> {
    fn enter(sh: &'a Shared) -> Active<'a> {
        sh.active.fetch_add(1, Ordering::Relaxed);
        Active(&sh.active)
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the progress line shows now: the latest complete second's rate, the p95 of the
/// latest three complete seconds, the measured counts so far.
fn snapshot(sh: &Shared) -> Snapshot {
    let now = Instant::now();
    let current = sh.recorder.second_of(now);
    let last = sh.recorder.seconds(current - 1..current).total();
    let recent = sh.recorder.seconds(current - 3..current).total();
    let (ok, errors, dropped) = sh.recorder.counts();
    let s = &sh.plan.scenario;
    Snapshot {
        elapsed: now - sh.t0,
        warmup: s.warmup,
        duration: s.duration,
        rate: (now >= sh.t0 + Duration::from_secs(1)).then_some((last.ok + last.errors) as f64),
        p95_us: stat_of(&recent.latency, Stat::Percentile(95.0)),
        requests: ok + errors,
        errors,
        dropped,
    }
}

/// Resolves when `stop` turns true; never if the sender is gone.
async fn stopped(mut stop: watch::Receiver<bool>) {
    if stop.wait_for(|v| *v).await.is_err() {
        std::future::pending::<()>().await;
    }
}
