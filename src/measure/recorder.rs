//! Collects outcomes while load runs. Users record into shards (one lock each, so users on
//! different worker threads rarely meet); a collector folds finished seconds into one timeline
//! so memory does not grow with the number of users.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use tokio::time::Instant;

use super::{ErrorKind, Measurement, RequestStats, Second, SecondStats, new_histogram};

/// The largest latency recorded, µs (one hour).
const MAX_MICROS: u64 = 3_600_000_000;

struct ReqAcc {
    latency: Histogram<u64>,
    ok: u64,
    errors: [u64; ErrorKind::ALL.len()],
    bytes: u64,
}

#[derive(Default)]
struct Shard {
    requests: Vec<ReqAcc>,
    seconds: BTreeMap<i64, Vec<SecondStats>>,
    interrupted: u64,
}

/// The outcome of one request as the recorder needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record {
    /// Index of the request in the spec.
    pub request: usize,
    /// When the request started.
    pub start: Instant,
    /// How long it took.
    pub latency: Duration,
    /// Body bytes on success, the kind on failure.
    pub result: Result<u64, ErrorKind>,
}

/// Thread-safe collection of a run's outcomes.
pub(crate) struct Recorder {
    names: Vec<String>,
    measure_from: Instant,
    started_at: SystemTime,
    shards: Box<[Mutex<Shard>]>,
    timeline: Mutex<BTreeMap<i64, Vec<SecondStats>>>,
}

impl Recorder {
    /// A recorder for requests `names`; statistics count requests started at or after
    /// `measure_from` (the end of the warm-up).
    pub fn new(names: Vec<String>, measure_from: Instant, shards: usize) -> Recorder {
        let shards = (0..shards.max(1))
            .map(|_| {
                Mutex::new(Shard {
                    requests: names
                        .iter()
                        .map(|_| ReqAcc {
                            latency: new_histogram(),
                            ok: 0,
                            errors: [0; ErrorKind::ALL.len()],
                            bytes: 0,
                        })
                        .collect(),
                    ..Shard::default()
                })
            })
            .collect();
        Recorder {
            names,
            measure_from,
            started_at: SystemTime::now(),
            shards,
            timeline: Mutex::new(BTreeMap::new()),
        }
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

    /// Records one outcome.
    pub fn record(&self, shard: usize, r: Record) {
        // Cap at an hour: auto-resizing histograms would otherwise grow for absurd values.
        let micros = r.latency.as_micros().min(MAX_MICROS as u128) as u64;
        let second = self.second_of(r.start);
        let mut s = lock(&self.shards[shard % self.shards.len()]);
        let n = self.names.len();
        let sec = &mut s
            .seconds
            .entry(second)
            .or_insert_with(|| vec![SecondStats::new(); n])[r.request];
        match r.result {
            Ok(_) => {
                sec.ok += 1;
                let _ = sec.latency.record(micros);
            }
            Err(_) => sec.errors += 1,
        }
        if second >= 0 {
            let acc = &mut s.requests[r.request];
            match r.result {
                Ok(bytes) => {
                    acc.ok += 1;
                    acc.bytes += bytes;
                    let _ = acc.latency.record(micros);
                }
                Err(kind) => acc.errors[kind.index()] += 1,
            }
        }
    }

    /// Counts a request cut off by the end of the graceful stop.
    pub fn interrupted(&self, shard: usize) {
        lock(&self.shards[shard % self.shards.len()]).interrupted += 1;
    }

    /// Moves the shards' seconds into the shared timeline (cheap; run about once a second).
    pub fn collect(&self) {
        let mut timeline = lock(&self.timeline);
        for shard in self.shards.iter() {
            let seconds = std::mem::take(&mut lock(shard).seconds);
            for (t, stats) in seconds {
                let slot = timeline
                    .entry(t)
                    .or_insert_with(|| vec![SecondStats::new(); self.names.len()]);
                for (acc, s) in slot.iter_mut().zip(&stats) {
                    acc.merge(s);
                }
            }
        }
    }

    /// The finished measurement; `window` is the measured time.
    /// Takes what was recorded; the recorder is left empty.
    pub fn finish(&self, warmup: Duration, window: Duration) -> Measurement {
        self.collect();
        let mut requests: Vec<RequestStats> = self.names.iter().map(RequestStats::new).collect();
        let mut interrupted = 0;
        for shard in self.shards.iter() {
            let shard = std::mem::take(&mut *lock(shard));
            interrupted += shard.interrupted;
            for (stats, acc) in requests.iter_mut().zip(&shard.requests) {
                stats
                    .latency
                    .add(&acc.latency)
                    .expect("auto-resizing histograms always merge");
                stats.ok += acc.ok;
                stats.bytes += acc.bytes;
                for (kind, &n) in ErrorKind::ALL.iter().zip(&acc.errors) {
                    if n > 0 {
                        *stats.errors.entry(*kind).or_default() += n;
                    }
                }
            }
        }
        let timeline = std::mem::take(&mut *lock(&self.timeline));
        Measurement {
            started_at: self.started_at,
            warmup,
            window,
            requests,
            timeline: timeline
                .into_iter()
                .map(|(t, requests)| Second { t, requests })
                .collect(),
            interrupted,
        }
    }
}

/// Locks, recovering from a poisoned lock: a panicking user must not lose everyone's data.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_requests_go_to_the_timeline_only() {
        let t0 = Instant::now();
        let measure_from = t0 + Duration::from_millis(1500);
        let rec = Recorder::new(vec!["a".into(), "b".into()], measure_from, 4);
        let record = |shard, start, ms, result| {
            rec.record(
                shard,
                Record {
                    request: 0,
                    start,
                    latency: Duration::from_millis(ms),
                    result,
                },
            )
        };
        record(0, t0, 5, Ok(10));
        record(1, measure_from, 7, Ok(10));
        record(
            2,
            measure_from + Duration::from_millis(1200),
            9,
            Err(ErrorKind::Timeout),
        );
        rec.interrupted(3);
        let m = rec.finish(Duration::from_millis(1500), Duration::from_secs(2));
        let a = &m.requests[0];
        assert_eq!((a.ok, a.error_count(), a.bytes), (1, 1, 10));
        assert_eq!(a.latency.max() / 1000, 7);
        assert_eq!(m.interrupted, 1);
        let secs: Vec<i64> = m.timeline.iter().map(|s| s.t).collect();
        assert_eq!(secs, vec![-2, 0, 1]);
        assert_eq!(m.timeline[2].requests[0].errors, 1);
    }

    #[test]
    fn seconds_before_measurement_are_negative() {
        let t0 = Instant::now();
        let rec = Recorder::new(vec!["a".into()], t0 + Duration::from_secs(2), 1);
        assert_eq!(rec.second_of(t0 + Duration::from_secs(2)), 0);
        assert_eq!(rec.second_of(t0 + Duration::from_millis(2999)), 0);
        assert_eq!(rec.second_of(t0 + Duration::from_millis(1999)), -1);
        assert_eq!(rec.second_of(t0 + Duration::from_millis(1000)), -1);
        assert_eq!(rec.second_of(t0 + Duration::from_millis(999)), -2);
    }
}
