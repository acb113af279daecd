//! What a run measured: per-request HDR histograms (µs, 3 significant figures), errors by kind
//! and a per-second timeline. The [`Recorder`] collects it while load runs; [`Measurement`] is
//! the finished, immutable result everything downstream reads.

mod errors;
mod recorder;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;

pub use errors::ErrorKind;
pub(crate) use recorder::{Record, Recorder};

use crate::assertion::Stat;

/// Latencies of one request name (or of all, merged).
#[derive(Debug, Clone)]
pub struct RequestStats {
    /// Request name; `"all"` for the merge of every request.
    pub name: String,
    /// Latency of successful requests, µs.
    pub latency: Histogram<u64>,
    /// Successful requests.
    pub ok: u64,
    /// Failed requests by kind.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Response body bytes read.
    pub bytes: u64,
}

impl RequestStats {
    /// Empty stats for `name`.
    pub fn new(name: impl Into<String>) -> RequestStats {
        RequestStats {
            name: name.into(),
            latency: new_histogram(),
            ok: 0,
            errors: BTreeMap::new(),
            bytes: 0,
        }
    }

    /// Completed requests: successful and failed.
    pub fn requests(&self) -> u64 {
        self.ok + self.error_count()
    }

    /// Failed requests.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Failed over completed; 0 when nothing completed.
    pub fn error_rate(&self) -> f64 {
        match self.requests() {
            0 => 0.0,
            n => self.error_count() as f64 / n as f64,
        }
    }

    /// A latency statistic in µs; `None` without successful requests.
    pub fn stat(&self, stat: Stat) -> Option<f64> {
        stat_of(&self.latency, stat)
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &RequestStats) {
        self.latency
            .add(&other.latency)
            .expect("auto-resizing histograms always merge");
        self.ok += other.ok;
        self.bytes += other.bytes;
        for (kind, n) in &other.errors {
            *self.errors.entry(*kind).or_default() += n;
        }
    }
}

/// A statistic of any histogram, `None` when it is empty.
pub fn stat_of<T: hdrhistogram::Counter>(h: &Histogram<T>, stat: Stat) -> Option<f64> {
    if h.is_empty() {
        return None;
    }
    Some(match stat {
        Stat::Min => h.min() as f64,
        Stat::Mean => h.mean(),
        Stat::Stdev => h.stdev(),
        Stat::Max => h.max() as f64,
        Stat::Percentile(p) => h.value_at_quantile(p / 100.0) as f64,
    })
}

/// The histogram every per-request latency goes into: auto-resizing, 3 significant figures.
pub(crate) fn new_histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant figures is valid")
}

/// One second of the timeline.
#[derive(Debug, Clone)]
pub struct Second {
    /// Seconds from the start of measurement; negative during the warm-up.
    pub t: i64,
    /// Per request, in spec order.
    pub requests: Vec<SecondStats>,
}

/// One request name in one second: by start time of the requests.
#[derive(Debug, Clone)]
pub struct SecondStats {
    /// Successful requests started in this second.
    pub ok: u64,
    /// Failed requests started in this second.
    pub errors: u64,
    /// Their latency, µs, 2 significant figures (enough for charts and windows).
    pub latency: Histogram<u32>,
}

impl SecondStats {
    pub(crate) fn new() -> SecondStats {
        SecondStats {
            ok: 0,
            errors: 0,
            latency: Histogram::new(2).expect("2 significant figures is valid"),
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &SecondStats) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.latency
            .add(&other.latency)
            .expect("auto-resizing histograms always merge");
    }
}

impl Second {
    /// All requests of this second together.
    pub fn total(&self) -> SecondStats {
        let mut total = SecondStats::new();
        for r in &self.requests {
            total.merge(r);
        }
        total
    }
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
}

impl Measurement {
    /// All requests merged.
    pub fn total(&self) -> RequestStats {
        let mut total = RequestStats::new("all");
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

    /// The index of request `name` in spec order.
    pub fn request_index(&self, name: &str) -> Option<usize> {
        self.requests.iter().position(|r| r.name == name)
    }
}
