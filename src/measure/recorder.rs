//! Collects outcomes while load runs. Users record into shards (one lock each, so users on
//! different worker threads rarely meet); a collector folds finished seconds into one timeline
//! so memory does not grow with the number of users.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use tokio::time::Instant;

use super::extras::Extras;
use super::phases::PhaseRecorder;
use super::stats::merge_into;
use super::{ErrorKind, PhaseStats, Refusals, Second, new_histogram};
use crate::spec::Goodput;

/// The largest latency recorded, µs (one hour): auto-resizing histograms would otherwise grow
/// for absurd values.
const MAX_MICROS: u64 = 3_600_000_000;

struct ReqAcc {
    latency: Histogram<u64>,
    service: Option<Histogram<u64>>,
    ok: u64,
    errors: [u64; ErrorKind::ALL.len()],
    bytes: u64,
    extras: Extras,
    phases: PhaseStats,
    refusals: Refusals,
}

#[derive(Default)]
struct Shard {
    requests: Vec<ReqAcc>,
    seconds: BTreeMap<i64, Second>,
    interrupted: u64,
    lateness: Option<Histogram<u64>>,
    sent: u64,
    dropped: u64,
    live: Option<Live>,
    flows: Vec<crate::measure::FlowMeasurement>,
}

/// What the live endpoint needs beyond the timeline, warm-up included, drained by each
/// collection.
struct Live {
    errors: Vec<[u64; ErrorKind::ALL.len()]>,
    lateness: Option<Histogram<u32>>,
}

/// What one collection folded in: the records since the previous one (the live endpoint
/// adds them to its counters and histograms).
#[derive(Debug)]
pub(crate) struct Collected {
    /// Every new record merged into one second (its `t` means nothing).
    pub second: Second,
    /// Failed requests by kind, per request in spec order.
    pub errors: Vec<[u64; ErrorKind::ALL.len()]>,
    /// Schedule lateness of the new sends, µs (open model).
    pub lateness: Option<Histogram<u32>>,
}

fn micros(d: Duration) -> u64 {
    d.as_micros().min(u128::from(MAX_MICROS)) as u64
}

/// Thread-safe collection of a run's outcomes.
pub(crate) struct Recorder {
    names: Vec<String>,
    streams: Vec<bool>,
    measure_from: Instant,
    started_at: SystemTime,
    open: bool,
    goodput: Option<Goodput>,
    shards: Box<[Mutex<Shard>]>,
    timeline: Mutex<BTreeMap<i64, Second>>,
    /// Each phase's own recorder, which sees the outcomes intended to start within it.
    phases: Vec<PhaseRecorder>,
    /// Each chat turn index's own recorder (turn 1 first), which sees the requests sent as it.
    turns: Vec<Recorder>,
    /// The names of the flows whose iterations are recorded.
    flow_names: Vec<String>,
}

impl Recorder {
    /// A recorder for requests `names`; statistics count requests intended to start at or after
    /// `measure_from` (the end of the warm-up). `open` keeps service time and lateness apart.
    /// A recorder without stream or goodput accounting.
    #[cfg(test)]
    pub fn new(names: Vec<String>, measure_from: Instant, shards: usize, open: bool) -> Recorder {
        Recorder::with_extras(names, vec![], None, measure_from, shards, open)
    }

    /// A recorder; `streams[i]` says whether request `i` streams, and `goodput` budgets are
    /// counted per request.
    pub fn with_extras(
        names: Vec<String>,
        streams: Vec<bool>,
        goodput: Option<Goodput>,
        measure_from: Instant,
        shards: usize,
        open: bool,
    ) -> Recorder {
        let shards = (0..shards.max(1))
            .map(|_| {
                Mutex::new(Shard {
                    requests: names
                        .iter()
                        .enumerate()
                        .map(|(i, _)| ReqAcc {
                            latency: new_histogram(),
                            service: open.then(new_histogram),
                            ok: 0,
                            errors: [0; ErrorKind::ALL.len()],
                            bytes: 0,
                            extras: Extras::new(
                                streams.get(i).copied().unwrap_or(false),
                                goodput.is_some(),
                            ),
                            phases: PhaseStats::default(),
                            refusals: Refusals::default(),
                        })
                        .collect(),
                    lateness: open.then(new_histogram),
                    ..Shard::default()
                })
            })
            .collect();
        Recorder {
            names,
            streams,
            measure_from,
            started_at: SystemTime::now(),
            open,
            goodput,
            shards,
            timeline: Mutex::new(BTreeMap::new()),
            phases: Vec::new(),
            turns: Vec::new(),
            flow_names: Vec::new(),
        }
    }

    /// Also records turns 1 to `turns` of multi-turn conversations each on its own.
    pub fn with_turns(mut self, turns: u32) -> Recorder {
        self.turns = (0..turns)
            .map(|_| {
                Recorder::with_extras(
                    self.names.clone(),
                    self.streams.clone(),
                    self.goodput,
                    self.measure_from,
                    self.shards.len(),
                    self.open,
                )
            })
            .collect();
        self
    }

    /// Also records each phase (name, start, end) on its own: full-precision statistics of
    /// the requests intended to start within it, from its measured part.
    pub fn with_phases(mut self, phases: Vec<(String, Instant, Instant)>) -> Recorder {
        self.phases = phases
            .into_iter()
            .map(|(name, start, end)| {
                let recorder = Recorder::with_extras(
                    self.names.clone(),
                    self.streams.clone(),
                    self.goodput,
                    start.max(self.measure_from),
                    self.shards.len(),
                    self.open,
                );
                PhaseRecorder::new(name, start..end, recorder)
            })
            .collect();
        self
    }

    /// The recorder of the phase an outcome intended at `at` belongs to.
    fn phase_of(&self, at: Instant) -> Option<&Recorder> {
        self.phases.iter().find_map(|p| p.recorder_at(at))
    }

    /// Keeps what the live endpoint needs (errors by kind and lateness from the first
    /// request), for [`Recorder::collect_live`].
    pub fn with_live(self) -> Recorder {
        for shard in self.shards.iter() {
            lock(shard).live = Some(Live {
                errors: vec![[0; ErrorKind::ALL.len()]; self.names.len()],
                lateness: self
                    .open
                    .then(|| Histogram::new(2).expect("2 significant figures is valid")),
            });
        }
        self
    }

    /// The number of shards; user `u` records into shard `u % shards`.
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// The second (relative to the start of measurement) an instant falls in.
    pub fn second_of(&self, at: Instant) -> i64 {
        if at >= self.measure_from {
            (at - self.measure_from).as_secs() as i64
        } else {
            -(((self.measure_from - at).as_nanos() as i64 - 1) / 1_000_000_000) - 1
        }
    }

    fn second<'a>(&self, s: &'a mut Shard, t: i64) -> &'a mut Second {
        let n = self.names.len();
        s.seconds.entry(t).or_insert_with(|| Second::empty(t, n))
    }

    /// Records one outcome.
    pub fn record(&self, shard: usize, r: Record) {
        if let Some(phase) = self.phase_of(r.intended) {
            phase.record(shard, r.clone());
        }
        if let Some(turn) = r.turn.and_then(|t| self.turns.get(t as usize - 1)) {
            turn.record(shard, r.clone());
        }
        let response = micros(r.done.saturating_duration_since(r.intended));
        let t = self.second_of(r.intended);
        let mut s = lock(&self.shards[shard % self.shards.len()]);
        let sec = &mut self.second(&mut s, t).requests[r.request];
        match r.result {
            Ok(_) => {
                sec.ok += 1;
                let _ = sec.latency.record(response);
            }
            Err(_) => sec.errors += 1,
        }
        if let Some(live) = &mut s.live {
            if let Err(kind) = r.result {
                live.errors[r.request][kind.index()] += 1;
            }
            if let (Some(l), true) = (&mut live.lateness, r.scheduled) {
                let _ = l.record(micros(r.sent.saturating_duration_since(r.intended)));
            }
        }
        if t < 0 {
            return;
        }
        s.sent += 1;
        if let (Some(l), true) = (&mut s.lateness, r.scheduled) {
            let _ = l.record(micros(r.sent.saturating_duration_since(r.intended)));
        }
        let acc = &mut s.requests[r.request];
        acc.phases.record(&r.detail, r.result.is_ok());
        match r.result {
            Ok(bytes) => {
                acc.ok += 1;
                acc.bytes += bytes;
                let _ = acc.latency.record(response);
                if let Some(service) = &mut acc.service {
                    let _ = service.record(micros(r.done.saturating_duration_since(r.sent)));
                }
                acc.extras
                    .record(&r.detail, r.intended, r.done, self.goodput.as_ref());
            }
            Err(kind) => {
                acc.errors[kind.index()] += 1;
                if kind.is_status() {
                    acc.refusals.record(&r.detail);
                }
            }
        }
    }

    /// Counts an arrival that found no free user.
    pub fn dropped(&self, shard: usize, intended: Instant) {
        if let Some(phase) = self.phase_of(intended) {
            phase.dropped(shard, intended);
        }
        let t = self.second_of(intended);
        let mut s = lock(&self.shards[shard % self.shards.len()]);
        self.second(&mut s, t).dropped += 1;
        if t >= 0 {
            s.dropped += 1;
        }
    }

    /// Counts a request cut off by the end of the graceful stop.
    pub fn interrupted(&self, shard: usize) {
        lock(&self.shards[shard % self.shards.len()]).interrupted += 1;
    }

    /// Moves the shards' seconds into the shared timeline (cheap; run about once a second).
    pub fn collect(&self) {
        self.fold(None);
    }

    /// [`Recorder::collect`], and what it folded in (for the live endpoint; errors by kind
    /// and lateness only after [`Recorder::with_live`]).
    pub fn collect_live(&self) -> Collected {
        let mut c = Collected {
            second: Second::empty(0, self.names.len()),
            errors: vec![[0; ErrorKind::ALL.len()]; self.names.len()],
            lateness: self
                .open
                .then(|| Histogram::new(2).expect("2 significant figures is valid")),
        };
        self.fold(Some(&mut c));
        c
    }

    fn fold(&self, mut out: Option<&mut Collected>) {
        let mut timeline = lock(&self.timeline);
        for shard in self.shards.iter() {
            let mut s = lock(shard);
            let seconds = std::mem::take(&mut s.seconds);
            if let (Some(c), Some(live)) = (out.as_deref_mut(), s.live.as_mut()) {
                for (total, new) in c.errors.iter_mut().zip(&mut live.errors) {
                    for (a, b) in total.iter_mut().zip(new.iter_mut()) {
                        *a += std::mem::take(b);
                    }
                }
                if let (Some(total), Some(l)) = (&mut c.lateness, &mut live.lateness) {
                    merge_into(total, l);
                    l.reset();
                }
            }
            drop(s);
            for (t, second) in seconds {
                if let Some(c) = out.as_deref_mut() {
                    c.second.merge(&second);
                }
                match timeline.get_mut(&t) {
                    Some(slot) => slot.merge(&second),
                    None => {
                        timeline.insert(t, second);
                    }
                }
            }
        }
    }

    /// The collected seconds in `range` merged into one (its `t` is the range's start): a
    /// cheap look at the latest seconds while load runs (the progress line). Only what the
    /// last [`Recorder::collect`] folded in is seen.
    pub fn seconds(&self, range: std::ops::Range<i64>) -> Second {
        let mut out = Second::empty(range.start, self.names.len());
        for (_, second) in lock(&self.timeline).range(range) {
            out.merge(second);
        }
        out
    }

    /// Successful requests, failed requests and dropped arrivals of the measured seconds
    /// collected so far (no histograms: cheap however long the run).
    pub fn counts(&self) -> (u64, u64, u64) {
        let timeline = lock(&self.timeline);
        let mut c = (0, 0, 0);
        for (_, second) in timeline.range(0..) {
            for r in &second.requests {
                c.0 += r.ok;
                c.1 += r.errors;
            }
            c.2 += second.dropped;
        }
        c
    }
}

/// Locks, recovering from a poisoned lock: a panicking user must not lose everyone's data.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

mod finish;
mod flows;
mod record;

pub(crate) use record::Record;
#[cfg(test)]
mod tests;
