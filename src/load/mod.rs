//! The load engine: one scheduler driven by a [`Load`] value. Users each own a connection and
//! loop: pick a request from the weighted mix, draw its data, send, record, pause. The run is
//! bounded in time (warm-up + duration + graceful stop) and, optionally, in count.

mod mix;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until, timeout_at};

use crate::client::{HttpUser, Prepared};
use crate::data::Rows;
use crate::measure::{ErrorKind, Measurement, Record, Recorder};
use crate::spec::{Closed, Load, Scenario};
pub(crate) use mix::Mix;

/// Everything a run needs, independent of where the target came from.
pub(crate) struct Plan {
    /// Where requests go.
    pub addr: SocketAddr,
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

/// State shared by all users of one run.
struct Shared {
    plan: Plan,
    mix: Mix,
    recorder: Recorder,
    measure_from: Instant,
    end: Instant,
    hard_stop: Instant,
    iterations: Option<AtomicU64>,
}

impl Shared {
    /// Whether a request starting at `at` may start.
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

/// Runs the plan until its end, the iteration count, or `stop` turns true.
pub(crate) async fn drive(plan: Plan, stop: watch::Receiver<bool>) -> Measurement {
    let t0 = Instant::now();
    let s = &plan.scenario;
    let measure_from = t0 + s.warmup;
    let end = measure_from + s.duration;
    let hard_stop = end + s.graceful_stop;
    let names = plan.requests.iter().map(|r| r.name.clone()).collect();
    let shards = 4 * std::thread::available_parallelism().map_or(2, |n| n.get());
    let shared = Arc::new(Shared {
        mix: Mix::new(&plan.weights),
        recorder: Recorder::new(names, measure_from, shards),
        iterations: s.iterations.map(AtomicU64::new),
        measure_from,
        end,
        hard_stop,
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
    let mut users = JoinSet::new();
    match shared.plan.scenario.load.clone() {
        Load::Closed(closed) => {
            for u in 0..closed.users {
                let offset = closed
                    .ramp_up
                    .mul_f64(f64::from(u) / f64::from(closed.users));
                users.spawn(closed_user(
                    u64::from(u),
                    shared.clone(),
                    t0 + offset,
                    closed.clone(),
                    stop.clone(),
                ));
            }
        }
    }
    while users.join_next().await.is_some() {}
    collector.abort();
    let finished = Instant::now().min(end);
    let window = finished.saturating_duration_since(measure_from);
    shared.recorder.finish(shared.plan.scenario.warmup, window)
}

/// Resolves when `stop` turns true; never if the sender is gone.
async fn stopped(mut stop: watch::Receiver<bool>) {
    if stop.wait_for(|v| *v).await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn closed_user(
    u: u64,
    sh: Arc<Shared>,
    start_at: Instant,
    closed: Closed,
    stop: watch::Receiver<bool>,
) {
    let shard = (u as usize) % sh.recorder.shards();
    let mut rng = SmallRng::seed_from_u64(u);
    let mut picker = sh.plan.rows.picker(u);
    let mut user = HttpUser::new(sh.plan.addr, sh.plan.max_body);
    let mut drawn = Vec::new();
    // One stop future per user, polled by every request and pause: no allocation per request.
    let stop_signal = stopped(stop.clone());
    tokio::pin!(stop_signal);
    tokio::select! {
        () = sleep_until(start_at) => {}
        () = &mut stop_signal => return,
    }
    loop {
        let start = Instant::now();
        if *stop.borrow() || !sh.may_start(start) {
            return;
        }
        let r = sh.mix.pick(&mut rng);
        let req = &sh.plan.requests[r];
        picker.draw(&sh.plan.rows, &req.sources, &mut drawn);
        let result = match req.build(&drawn) {
            Err(_) => Err(ErrorKind::InvalidRequest),
            Ok(http) => {
                // One timer per request: the earlier of its timeout and the hard stop.
                let timeout = start + req.timeout;
                let deadline = timeout.min(sh.hard_stop);
                tokio::select! {
                    biased;
                    res = timeout_at(deadline, user.send(http, &req.expect)) => match res {
                        Ok(r) => r.map(|rcv| rcv.bytes),
                        Err(_) if timeout <= sh.hard_stop => Err(ErrorKind::Timeout),
                        Err(_) => {
                            sh.recorder.interrupted(shard);
                            return;
                        }
                    },
                    () = &mut stop_signal => {
                        sh.recorder.interrupted(shard);
                        return;
                    }
                }
            }
        };
        sh.recorder.record(
            shard,
            Record {
                request: r,
                start,
                latency: start.elapsed(),
                result,
            },
        );
        let think = mix::think_time(closed.think, &mut rng);
        if !think.is_zero() {
            tokio::select! {
                () = sleep_until((Instant::now() + think).min(sh.end)) => {}
                () = &mut stop_signal => return,
            }
        }
    }
}
