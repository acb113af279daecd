//! The catalogue of metrics an assertion may name, their units, and limits written with units.

use super::flow::FlowFigure;
use super::resource::{Reduce, ResourceMetric};
pub use super::value::Unit;

/// A latency statistic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// Smallest value.
    Min,
    /// Arithmetic mean.
    Mean,
    /// Standard deviation.
    Stdev,
    /// Largest value.
    Max,
    /// A percentile, 0 < p < 100.
    Percentile(f64),
}

impl Stat {
    /// Parses `min`, `mean`, `stdev`, `max`, `median`, `p50`, `p99.9`, …
    pub fn parse(s: &str) -> Option<Stat> {
        Some(match s {
            "min" => Stat::Min,
            "mean" | "avg" => Stat::Mean,
            "stdev" => Stat::Stdev,
            "max" => Stat::Max,
            "median" => Stat::Percentile(50.0),
            _ => {
                let p: f64 = s.strip_prefix('p')?.parse().ok()?;
                if !(p > 0.0 && p < 100.0) {
                    return None;
                }
                Stat::Percentile(p)
            }
        })
    }

    /// The name as written in reports: `p99.9`, `mean`.
    pub fn name(self) -> String {
        match self {
            Stat::Min => "min".into(),
            Stat::Mean => "mean".into(),
            Stat::Stdev => "stdev".into(),
            Stat::Max => "max".into(),
            Stat::Percentile(p) => format!("p{p}"),
        }
    }
}

/// What an assertion measures.
#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    /// A statistic of response time (successful requests): from the intended start, which is
    /// the actual start in the closed model.
    Latency(Stat),
    /// A statistic of service time (successful requests): from the actual send.
    Service(Stat),
    /// A statistic of the token timing of streamed responses.
    Stream(Token, Stat),
    /// A statistic of a stage the service reports in `Server-Timing`.
    Stage(String, Stat),
    /// A statistic of a connection phase: connect, TLS, time to first byte, transfer.
    Connection(ConnPhase, Stat),
    /// Arrivals that found no free user (open model); not scoped to a request.
    Dropped,
    /// Failed requests over all completed requests.
    ErrorRate,
    /// Failed requests.
    Errors,
    /// Successful requests per second of measured time.
    Throughput,
    /// Completed requests (successful and failed).
    Requests,
    /// Output tokens of successful streams.
    OutputTokens,
    /// Output tokens per second of measured time.
    OutputTokensPerSecond,
    /// Share of completed requests that met every goodput budget.
    Goodput,
    /// Requests that met every goodput budget, per second.
    GoodputRate,
    /// A resource of the target, the machine, the generator or a GPU; not scoped to a request
    /// and not windowable.
    Resource(ResourceMetric),
    /// Share of the measured seconds with requests in which every request succeeded.
    Availability,
    /// Time from the end of the phase named by `recovery = { after = … }` until latency and
    /// errors are back within the reference; not scoped to a request.
    RecoveryTime,
    /// The result of a capacity search: the highest arrival rate held (open model), or the
    /// throughput at the most users held (closed model).
    Capacity,
    /// The most users a closed-model capacity search held.
    CapacityUsers,
    /// Whether the target's process stayed alive for the whole run (1) or exited (0).
    SutAlive,
    /// A metric the service exports on its `/metrics` (or the ratio of two); not scoped to a
    /// request and not windowable.
    Scraped(super::ScrapedMetric),
    /// A figure of flow iterations (duration, success rate, count); not scoped to a request
    /// and not windowable.
    Flow(super::FlowMetric),
}

/// Token timing of streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// Time to the first token.
    Ttft,
    /// Inter-token latency: every gap between consecutive tokens.
    Itl,
    /// Time per output token after the first, per stream.
    Tpot,
}

impl Token {
    /// `ttft`, `itl`, `tpot`.
    pub fn name(self) -> &'static str {
        match self {
            Token::Ttft => "ttft",
            Token::Itl => "itl",
            Token::Tpot => "tpot",
        }
    }
}

/// The connection phases of a request, as curl reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnPhase {
    /// The TCP handshake, of requests that opened a connection.
    Connect,
    /// The TLS handshake, of requests that opened a TLS connection.
    Tls,
    /// From the start of a request to the first byte of its response.
    Ttfb,
    /// From the first byte of a response to its last.
    Transfer,
}

impl ConnPhase {
    /// `connect`, `tls`, `ttfb`, `transfer`.
    pub fn name(self) -> &'static str {
        match self {
            ConnPhase::Connect => "connect",
            ConnPhase::Tls => "tls",
            ConnPhase::Ttfb => "ttfb",
            ConnPhase::Transfer => "transfer",
        }
    }

    /// The phase called `name`.
    pub fn parse(name: &str) -> Option<ConnPhase> {
        Some(match name {
            "connect" => ConnPhase::Connect,
            "tls" => ConnPhase::Tls,
            "ttfb" => ConnPhase::Ttfb,
            "transfer" => ConnPhase::Transfer,
            _ => return None,
        })
    }
}

impl Metric {
    /// The unit of the metric's values.
    pub fn unit(&self) -> Unit {
        match self {
            Metric::Latency(_)
            | Metric::Service(_)
            | Metric::Stream(..)
            | Metric::Stage(..)
            | Metric::Connection(..)
            | Metric::RecoveryTime => Unit::Micros,
            Metric::Flow(f) => match f.figure {
                FlowFigure::Duration(_) => Unit::Micros,
                FlowFigure::SuccessRate => Unit::Fraction,
                FlowFigure::Iterations => Unit::Count,
            },
            Metric::ErrorRate | Metric::Goodput | Metric::Availability => Unit::Fraction,
            Metric::Throughput
            | Metric::OutputTokensPerSecond
            | Metric::GoodputRate
            | Metric::Capacity => Unit::PerSecond,
            Metric::Errors
            | Metric::Requests
            | Metric::Dropped
            | Metric::OutputTokens
            | Metric::CapacityUsers
            | Metric::SutAlive => Unit::Count,
            Metric::Resource(r) => r.unit(),
            Metric::Scraped(s) => s.unit(),
        }
    }

    /// Whether the metric can be checked per time window (the per-second timeline holds
    /// response times, counts and drops).
    pub fn windowable(&self) -> bool {
        matches!(
            self,
            Metric::Latency(_)
                | Metric::ErrorRate
                | Metric::Errors
                | Metric::Throughput
                | Metric::Requests
                | Metric::Dropped
        )
    }

    /// The percentile a metric reads, for the too-few-samples rule.
    pub fn percentile(&self) -> Option<f64> {
        match self {
            Metric::Latency(Stat::Percentile(p))
            | Metric::Service(Stat::Percentile(p))
            | Metric::Stream(_, Stat::Percentile(p))
            | Metric::Stage(_, Stat::Percentile(p))
            | Metric::Connection(_, Stat::Percentile(p)) => Some(*p),
            Metric::Resource(ResourceMetric {
                reduce: Reduce::Stat(Stat::Percentile(p)),
                ..
            }) => Some(*p),
            Metric::Scraped(s) => s.percentile(),
            Metric::Flow(super::FlowMetric {
                figure: FlowFigure::Duration(Stat::Percentile(p)),
                ..
            }) => Some(*p),
            _ => None,
        }
    }

    /// Whether the metric reads streamed responses.
    pub fn needs_stream(&self) -> bool {
        matches!(
            self,
            Metric::Stream(..) | Metric::OutputTokens | Metric::OutputTokensPerSecond
        )
    }

    /// The metric's name as written (`p95`, `error-rate`, `stage.search.p95`).
    pub fn name(&self) -> String {
        match self {
            Metric::Latency(s) => s.name(),
            Metric::Service(s) => format!("service.{}", s.name()),
            Metric::Stream(t, s) => format!("{}.{}", t.name(), s.name()),
            Metric::Stage(n, s) => format!("stage.{n}.{}", s.name()),
            Metric::Connection(p, s) => format!("{}.{}", p.name(), s.name()),
            Metric::Dropped => "dropped".into(),
            Metric::ErrorRate => "error-rate".into(),
            Metric::Errors => "errors".into(),
            Metric::Throughput => "throughput".into(),
            Metric::Requests => "requests".into(),
            Metric::OutputTokens => "output-tokens".into(),
            Metric::OutputTokensPerSecond => "output-tokens-per-second".into(),
            Metric::Goodput => "goodput".into(),
            Metric::GoodputRate => "goodput-rate".into(),
            Metric::Resource(r) => r.name(),
            Metric::Availability => "availability".into(),
            Metric::RecoveryTime => "recovery-time".into(),
            Metric::Capacity => "capacity".into(),
            Metric::CapacityUsers => "capacity-users".into(),
            Metric::SutAlive => "sut.alive".into(),
            Metric::Scraped(s) => s.name(),
            Metric::Flow(f) => f.name(),
        }
    }

    /// Whether bigger observed values are better (throughput) or worse (latency).
    pub fn higher_is_better(&self) -> bool {
        matches!(
            self,
            Metric::Throughput
                | Metric::Requests
                | Metric::OutputTokens
                | Metric::OutputTokensPerSecond
                | Metric::Goodput
                | Metric::GoodputRate
                | Metric::Availability
                | Metric::Capacity
                | Metric::CapacityUsers
                | Metric::SutAlive
                | Metric::Flow(super::FlowMetric {
                    figure: FlowFigure::SuccessRate | FlowFigure::Iterations,
                    ..
                })
        )
    }

    /// Whether the metric belongs to the whole run rather than to requests (no `search.`
    /// prefix).
    pub(super) fn whole_run(&self) -> bool {
        matches!(
            self,
            Metric::RecoveryTime
                | Metric::Capacity
                | Metric::CapacityUsers
                | Metric::SutAlive
                | Metric::Flow(_)
        )
    }
}
