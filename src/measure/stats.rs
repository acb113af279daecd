//! Statistics of requests: per request name over the run, and per second.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use super::ErrorKind;
use crate::assertion::Stat;

/// Which latency: what a user waiting in line feels, or what the server took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// From the intended start (the schedule) to the last byte: includes any delay in the
    /// generator. For the closed model intended and actual start are the same.
    Response,
    /// From the actual send to the last byte.
    Service,
}

/// Latencies of one request name (or of all, merged).
#[derive(Debug, Clone)]
pub struct RequestStats {
    /// Request name; `"all"` for the merge of every request.
    pub name: String,
    /// Response time of successful requests, µs.
    pub latency: Histogram<u64>,
    /// Service time of successful requests, µs, when it differs from the response time (open
    /// model); `None` means the same as `latency`.
    pub service: Option<Histogram<u64>>,
    /// Successful requests.
    pub ok: u64,
    /// Failed requests by kind.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Response body bytes read.
    pub bytes: u64,
    /// Token timing of streamed responses, for requests that stream.
    pub stream: Option<StreamStats>,
    /// Stage timings from `Server-Timing` headers, µs, by stage name.
    pub stages: BTreeMap<String, Histogram<u64>>,
    /// Successful requests that met every goodput budget, when budgets are set.
    pub good: Option<u64>,
    /// Connection phases: connect and TLS per connection opened, time to first byte and
    /// transfer per successful response.
    pub phases: super::PhaseStats,
    /// Status codes and `Retry-After` of failed responses.
    pub refusals: super::Refusals,
}

/// Token timing of the streamed responses of one request name, µs.
#[derive(Debug, Clone)]
pub struct StreamStats {
    /// Time to the first token, from the intended start.
    pub ttft: Histogram<u64>,
    /// Gaps between consecutive tokens (every gap of every stream).
    pub itl: Histogram<u64>,
    /// Time per output token after the first, per stream: (end − first token) / (tokens − 1).
    pub tpot: Histogram<u64>,
    /// Output tokens of successful streams.
    pub output_tokens: u64,
    /// Streams whose token count came from the server's `usage`.
    pub counted_by_usage: u64,
    /// Streams whose token count is the number of content events.
    pub counted_by_events: u64,
}

impl StreamStats {
    pub(crate) fn new() -> StreamStats {
        StreamStats {
            ttft: new_histogram(),
            itl: new_histogram(),
            tpot: new_histogram(),
            output_tokens: 0,
            counted_by_usage: 0,
            counted_by_events: 0,
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &StreamStats) {
        merge_into(&mut self.ttft, &other.ttft);
        merge_into(&mut self.itl, &other.itl);
        merge_into(&mut self.tpot, &other.tpot);
        self.output_tokens += other.output_tokens;
        self.counted_by_usage += other.counted_by_usage;
        self.counted_by_events += other.counted_by_events;
    }

    /// How output tokens were counted: `usage`, `events` or `usage and events`.
    pub fn counting(&self) -> &'static str {
        match (self.counted_by_usage > 0, self.counted_by_events > 0) {
            (true, false) => "usage",
            (false, true) => "events",
            (true, true) => "usage and events",
            (false, false) => "none",
        }
    }
}

impl RequestStats {
    /// Empty stats for `name`; `two_channels` keeps service time apart.
    pub fn new(name: impl Into<String>, two_channels: bool) -> RequestStats {
        RequestStats {
            name: name.into(),
            latency: new_histogram(),
            service: two_channels.then(new_histogram),
            ok: 0,
            errors: BTreeMap::new(),
            bytes: 0,
            stream: None,
            stages: BTreeMap::new(),
            good: None,
            phases: super::PhaseStats::default(),
            refusals: super::Refusals::default(),
        }
    }

    /// The failures by kind, in report order, naming the status codes and the `Retry-After`
    /// of 429s: `["timeout 3", "http-5xx 12 (503 ×10, 500 ×2)", "rate-limited 4 (Retry-After
    /// 1–30 s)"]`.
    pub fn error_breakdown(&self) -> Vec<String> {
        ErrorKind::ALL
            .iter()
            .filter_map(|k| {
                let n = self.errors.get(k)?;
                let why = match k {
                    ErrorKind::RateLimited => match &self.refusals.retry_after_s {
                        Some(h) if h.min() == h.max() => format!("Retry-After {} s", h.max()),
                        Some(h) => format!("Retry-After {}–{} s", h.min(), h.max()),
                        None => "no Retry-After".to_string(),
                    },
                    k if k.is_status() => self.refusals.codes_of(*k),
                    _ => String::new(),
                };
                Some(if why.is_empty() {
                    format!("{k} {n}")
                } else {
                    format!("{k} {n} ({why})")
                })
            })
            .collect()
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

    /// The histogram of a channel.
    pub fn histogram(&self, channel: Channel) -> &Histogram<u64> {
        match (channel, &self.service) {
            (Channel::Service, Some(s)) => s,
            _ => &self.latency,
        }
    }

    /// A response-time statistic in µs; `None` without successful requests.
    pub fn stat(&self, stat: Stat) -> Option<f64> {
        stat_of(&self.latency, stat)
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &RequestStats) {
        merge_into(&mut self.latency, &other.latency);
        match (&mut self.service, &other.service) {
            (Some(a), Some(b)) => merge_into(a, b),
            (None, Some(b)) => self.service = Some(b.clone()),
            _ => {}
        }
        self.ok += other.ok;
        self.bytes += other.bytes;
        for (kind, n) in &other.errors {
            *self.errors.entry(*kind).or_default() += n;
        }
        if let Some(s) = &other.stream {
            self.stream.get_or_insert_with(StreamStats::new).merge(s);
        }
        for (name, h) in &other.stages {
            merge_into(
                self.stages
                    .entry(name.clone())
                    .or_insert_with(new_histogram),
                h,
            );
        }
        if let Some(g) = other.good {
            *self.good.get_or_insert(0) += g;
        }
        self.phases.merge(&other.phases);
        self.refusals.merge(&other.refusals);
    }
}

pub(crate) fn merge_into<T: hdrhistogram::Counter>(a: &mut Histogram<T>, b: &Histogram<T>) {
    a.add(b).expect("auto-resizing histograms always merge");
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
    /// Arrivals of this second that found no free user (open model).
    pub dropped: u64,
}

/// One request name in one second, by (intended) start time of the requests.
#[derive(Debug, Clone)]
pub struct SecondStats {
    /// Successful requests started in this second.
    pub ok: u64,
    /// Failed requests started in this second.
    pub errors: u64,
    /// Their response time, µs, 2 significant figures (enough for charts and windows).
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
        merge_into(&mut self.latency, &other.latency);
    }
}

impl Second {
    /// An empty second for `requests` request names.
    pub(crate) fn empty(t: i64, requests: usize) -> Second {
        Second {
            t,
            requests: vec![SecondStats::new(); requests],
            dropped: 0,
        }
    }

    /// All requests of this second together.
    pub fn total(&self) -> SecondStats {
        let mut total = SecondStats::new();
        for r in &self.requests {
            total.merge(r);
        }
        total
    }

    /// Adds `other` (the same second) into `self`.
    pub fn merge(&mut self, other: &Second) {
        for (a, b) in self.requests.iter_mut().zip(&other.requests) {
            a.merge(b);
        }
        self.dropped += other.dropped;
    }
}
