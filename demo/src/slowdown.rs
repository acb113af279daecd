//! Artificial, CPU-bound slowdown, so a regression gate can be tested against a service
//! that is really slower (more latency *and* more CPU), not one that merely sleeps.

use std::hint::black_box;
use std::time::{Duration, Instant};

use http::HeaderValue;

use crate::respond::server_timing;

/// An endpoint that `--slowdown` can affect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /embed`
    Embed,
    /// `POST /search`
    Search,
    /// `POST /v1/chat/completions`
    Chat,
}

/// A set of endpoints (tiny bit set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointSet(u8);

impl EndpointSet {
    fn bit(e: Endpoint) -> u8 {
        match e {
            Endpoint::Embed => 1,
            Endpoint::Search => 2,
            Endpoint::Chat => 4,
        }
    }

    /// Adds an endpoint.
    pub fn insert(&mut self, e: Endpoint) {
        self.0 |= Self::bit(e);
    }

    /// Whether the set holds `e`.
    pub fn contains(self, e: Endpoint) -> bool {
        self.0 & Self::bit(e) != 0
    }
}

/// The configured slowdown: a factor and the endpoints it applies to.
#[derive(Debug, Clone, Copy)]
pub struct Slowdown {
    factor: f64,
    added: Duration,
    endpoints: EndpointSet,
}

impl Slowdown {
    /// `factor` must be finite and ≥ 1 (the CLI guarantees it); other values disable it.
    pub fn new(factor: f64, endpoints: EndpointSet) -> Self {
        let factor = if factor.is_finite() && factor >= 1.0 {
            factor
        } else {
            1.0
        };
        Self {
            factor,
            added: Duration::ZERO,
            endpoints,
        }
    }

    /// Also adds `added` of latency that costs no CPU to each request of the endpoints.
    pub fn with_added_latency(mut self, added: Duration) -> Self {
        self.added = added;
        self
    }

    /// The factor for `endpoint`: the configured one, or 1.0 when it is not selected.
    pub fn factor(&self, endpoint: Endpoint) -> f64 {
        if self.endpoints.contains(endpoint) {
            self.factor
        } else {
            1.0
        }
    }

    /// Scales a simulated duration (chat timings) by the endpoint's factor.
    pub fn scale(&self, endpoint: Endpoint, d: Duration) -> Duration {
        Duration::try_from_secs_f64(d.as_secs_f64() * self.factor(endpoint)).unwrap_or(d)
    }

    /// A per-request stage recorder for `endpoint`.
    pub fn stages(&self, endpoint: Endpoint) -> Stages {
        Stages {
            extra: self.factor(endpoint) - 1.0,
            added: if self.endpoints.contains(endpoint) {
                self.added
            } else {
                Duration::ZERO
            },
            done: Vec::with_capacity(2),
        }
    }
}

/// Times the stages of one request and makes each `factor` times as expensive.
#[derive(Debug)]
pub struct Stages {
    extra: f64,
    added: Duration,
    done: Vec<(&'static str, Duration)>,
}

impl Stages {
    /// Runs one stage of real work, then burns CPU for `factor - 1` times as long. The
    /// recorded duration includes the burn: a slowed-down stage looks slower in
    /// Server-Timing too.
    pub fn run<T>(&mut self, name: &'static str, work: impl FnOnce() -> T) -> T {
        let t0 = Instant::now();
        let out = work();
        self.burn_for(t0.elapsed());
        self.done.push((name, t0.elapsed()));
        out
    }

    /// Records a stage that is not CPU work (e.g. simulated generation): no burn.
    pub fn record(&mut self, name: &'static str, d: Duration) {
        self.done.push((name, d));
    }

    /// Ends the request's CPU work that began at `handler_start`: burns for the work done
    /// outside stages (JSON parsing, serialisation), so the handler's whole cost grows by
    /// the factor. Call it once, after the last stage.
    pub fn finish(&self, handler_start: Instant) {
        let in_stages: Duration = self.done.iter().map(|(_, d)| *d).sum();
        self.burn_for(handler_start.elapsed().saturating_sub(in_stages));
        if !self.added.is_zero() {
            // Blocking on purpose: the worker waits without using CPU, as a synchronous call
            // to another service would make it.
            std::thread::sleep(self.added);
        }
    }

    /// The `Server-Timing` header value of the recorded stages.
    pub fn header(&self) -> HeaderValue {
        server_timing(&self.done)
    }

    fn burn_for(&self, work: Duration) {
        if self.extra > 0.0 {
            burn(Duration::try_from_secs_f64(work.as_secs_f64() * self.extra).unwrap_or_default());
        }
    }
}

/// Busy-loops on real arithmetic for `d`. `black_box` keeps the optimiser from deleting
/// the loop; the clock is read every few hundred iterations so it stays cheap but precise.
pub fn burn(d: Duration) {
    if d.is_zero() {
        return;
    }
    let deadline = Instant::now() + d;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut acc = 0.0f64;
    while Instant::now() < deadline {
        for _ in 0..256 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            acc = acc * 0.999 + (x >> 11) as f64 * 1e-16;
        }
        acc = black_box(acc);
    }
    black_box((x, acc));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_only_for_selected_endpoints() {
        let mut set = EndpointSet::default();
        set.insert(Endpoint::Search);
        let s = Slowdown::new(1.5, set);
        assert_eq!(s.factor(Endpoint::Search), 1.5);
        assert_eq!(s.factor(Endpoint::Embed), 1.0);
        assert_eq!(
            s.scale(Endpoint::Search, Duration::from_millis(10)),
            Duration::from_millis(15)
        );
    }

    #[test]
    fn stage_takes_at_least_factor_times_work() {
        let mut set = EndpointSet::default();
        set.insert(Endpoint::Embed);
        let s = Slowdown::new(2.0, set);
        let t0 = Instant::now();
        let mut stages = s.stages(Endpoint::Embed);
        stages.run("work", || burn(Duration::from_millis(5)));
        assert!(t0.elapsed() >= Duration::from_millis(10));
        let handler_start = Instant::now();
        burn(Duration::from_millis(5)); // "parsing": outside stages
        let stages = s.stages(Endpoint::Embed);
        stages.finish(handler_start);
        assert!(handler_start.elapsed() >= Duration::from_millis(10));
        assert_eq!(stages.header(), "");
    }
}
