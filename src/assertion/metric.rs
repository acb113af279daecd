//! The catalogue of metrics an assertion may name, their units, and limits written with units.

use super::resource::{self, Reduce, ResourceMetric};
use crate::units;

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
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// A statistic of response time (successful requests): from the intended start, which is
    /// the actual start in the closed model.
    Latency(Stat),
    /// A statistic of service time (successful requests): from the actual send.
    Service(Stat),
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
    /// A resource of the target, the machine, the generator or a GPU; not scoped to a request
    /// and not windowable.
    Resource(ResourceMetric),
}

/// The canonical unit of a metric's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Microseconds.
    Micros,
    /// A fraction (0.01 is 1 %).
    Fraction,
    /// Per second.
    PerSecond,
    /// A plain count.
    Count,
    /// Bytes.
    Bytes,
    /// A percentage as written (80.0 is 80 %): CPU (of one core for processes, of all cores
    /// for the system), GPU utilisation.
    Percent,
    /// Bytes per second (limits are usually written per minute: `1MiB/min`).
    BytesPerSecond,
    /// Watts.
    Watts,
    /// Degrees Celsius.
    Celsius,
}

impl Unit {
    /// Formats a value of this unit for people.
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Micros => units::fmt_us(v),
            Unit::Fraction => units::fmt_percent(v),
            Unit::PerSecond => units::fmt_rate(v),
            Unit::Count => units::fmt_count(v),
            Unit::Bytes => units::fmt_bytes(v),
            Unit::Percent => units::fmt_percent(v / 100.0),
            Unit::BytesPerSecond => units::fmt_byte_rate(v),
            Unit::Watts => format!("{v:.1} W"),
            Unit::Celsius => format!("{v:.0} °C"),
        }
    }

    /// The suffix JSON field names carry for this unit.
    pub fn json_suffix(self) -> &'static str {
        match self {
            Unit::Micros => "us",
            Unit::Fraction => "fraction",
            Unit::PerSecond => "per_s",
            Unit::Count => "count",
            Unit::Bytes => "bytes",
            Unit::Percent => "percent",
            Unit::BytesPerSecond => "bytes_per_s",
            Unit::Watts => "watts",
            Unit::Celsius => "celsius",
        }
    }
}

impl Metric {
    /// The unit of the metric's values.
    pub fn unit(self) -> Unit {
        match self {
            Metric::Latency(_) | Metric::Service(_) => Unit::Micros,
            Metric::ErrorRate => Unit::Fraction,
            Metric::Throughput => Unit::PerSecond,
            Metric::Errors | Metric::Requests | Metric::Dropped => Unit::Count,
            Metric::Resource(r) => r.unit(),
        }
    }

    /// Whether the metric can be checked per time window.
    pub fn windowable(self) -> bool {
        !matches!(self, Metric::Service(_) | Metric::Resource(_))
    }

    /// The percentile a metric reads, for the too-few-samples rule.
    pub fn percentile(self) -> Option<f64> {
        match self {
            Metric::Latency(Stat::Percentile(p))
            | Metric::Service(Stat::Percentile(p))
            | Metric::Resource(ResourceMetric {
                reduce: Reduce::Stat(Stat::Percentile(p)),
                ..
            }) => Some(p),
            _ => None,
        }
    }

    /// The metric's name as written (`p95`, `error-rate`).
    pub fn name(self) -> String {
        match self {
            Metric::Latency(s) => s.name(),
            Metric::Service(s) => format!("service.{}", s.name()),
            Metric::Dropped => "dropped".into(),
            Metric::ErrorRate => "error-rate".into(),
            Metric::Errors => "errors".into(),
            Metric::Throughput => "throughput".into(),
            Metric::Requests => "requests".into(),
            Metric::Resource(r) => r.name(),
        }
    }

    /// Whether bigger observed values are better (throughput) or worse (latency).
    pub fn higher_is_better(self) -> bool {
        matches!(self, Metric::Throughput | Metric::Requests)
    }
}

pub(super) const HELP: &str = "metrics are latency stats (min, mean, stdev, median, p50, p75, p90, \
    p95, p99, p99.9, max; latency.STAT or response.STAT, and service.STAT for service time), \
    error-rate, errors, throughput, requests and dropped; prefix a request name to limit one to \
    a request, e.g. \"search.p99 < 500ms\"; resources are sut.cpu.STAT, sut.rss.STAT, \
    sut.rss.growth, sut.rss.slope, sut.threads.STAT, sut.disk.read, system.cpu.STAT, \
    system.mem.STAT, generator.cpu.STAT, gpu.util.STAT, gpu.mem.sut, …";

/// Splits `search.p99.9` into `["search", "p99.9"]`, keeping a percentile's decimals.
fn segments(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in text.split('.') {
        let joins = out.last().is_some_and(|prev| {
            prev.len() > 1 && prev.starts_with('p') && prev[1..].chars().all(|c| c.is_ascii_digit())
        }) && !part.is_empty()
            && part.chars().all(|c| c.is_ascii_digit());
        if joins {
            let last = out.last_mut().expect("checked above");
            last.push('.');
            last.push_str(part);
        } else {
            out.push(part.to_string());
        }
    }
    out
}

/// Resolves a metric path to an optional request scope and a metric.
pub(super) fn resolve(
    text: &str,
    requests: &[&str],
) -> Result<(Option<String>, Metric), (String, String)> {
    let segs = segments(text);
    let (scope, rest) = match segs.first() {
        Some(first) if segs.len() > 1 && requests.contains(&first.as_str()) => {
            (Some(first.clone()), &segs[1..])
        }
        _ => (None, &segs[..]),
    };
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let metric = match rest.as_slice() {
        [whose, ..] if resource::Source::parse(whose).is_some() => {
            if scope.is_some() {
                return Err((
                    format!("`{text}`: resources belong to no request"),
                    format!("write `{}` without a request name", rest.join(".")),
                ));
            }
            Metric::Resource(resource::resolve(text, &rest)?)
        }
        ["latency" | "response", stat] | [stat] if Stat::parse(stat).is_some() => {
            Metric::Latency(Stat::parse(stat).expect("checked by the guard"))
        }
        ["service", stat] if Stat::parse(stat).is_some() => {
            Metric::Service(Stat::parse(stat).expect("checked by the guard"))
        }
        ["dropped"] if scope.is_some() => {
            return Err((
                format!("`{text}`: dropped arrivals belong to no request"),
                "write `dropped` without a request name".into(),
            ));
        }
        ["dropped"] => Metric::Dropped,
        ["error-rate"] => Metric::ErrorRate,
        ["errors"] => Metric::Errors,
        ["throughput"] => Metric::Throughput,
        ["requests"] => Metric::Requests,
        _ => return Err(unknown(text, &segs, requests)),
    };
    Ok((scope, metric))
}

fn unknown(text: &str, segs: &[String], requests: &[&str]) -> (String, String) {
    if let Some(hint) = resource::unknown(text, segs, HELP) {
        return hint;
    }
    if segs.len() > 1 && !requests.contains(&segs[0].as_str()) && Stat::parse(&segs[1]).is_some() {
        let known = if requests.is_empty() {
            "none".to_string()
        } else {
            requests.join(", ")
        };
        return (
            format!("unknown request `{}` in `{text}`", segs[0]),
            format!("requests of this spec: {known}"),
        );
    }
    if let Some(stat) = segs.last().and_then(|s| s.strip_prefix('p'))
        && stat.parse::<f64>().is_ok()
    {
        return (
            format!("`p{stat}` is not a percentile between 0 and 100"),
            "percentiles are written p50, p90, p99, p99.9".into(),
        );
    }
    let lower = text.to_lowercase();
    if lower != text && resolve(&lower, requests).is_ok() {
        return (
            format!("unknown metric `{text}`"),
            format!("metrics are lower case: `{lower}`"),
        );
    }
    let last = segs.last().map_or("", String::as_str);
    if let Some(close) = crate::spec::closest_name(last, NAMES.iter().copied()) {
        return (
            format!("unknown metric `{text}`"),
            format!("did you mean `{close}`? {HELP}"),
        );
    }
    (format!("unknown metric `{text}`"), HELP.into())
}

/// Metric and statistic names, for "did you mean".
const NAMES: &[&str] = &[
    "min",
    "mean",
    "stdev",
    "median",
    "max",
    "p50",
    "p75",
    "p90",
    "p95",
    "p99",
    "p99.9",
    "latency",
    "service",
    "error-rate",
    "errors",
    "throughput",
    "requests",
    "dropped",
];

/// Parses the limit of an assertion into the metric's canonical unit.
pub(super) fn parse_value(
    metric: &Metric,
    name: &str,
    text: &str,
) -> Result<f64, (String, String)> {
    let unit = metric.unit();
    let example = match unit {
        Unit::Micros => format!("{name} < 300ms"),
        Unit::Fraction => format!("{name} < 1%"),
        Unit::PerSecond => format!("{name} > 20/s"),
        Unit::Count => format!("{name} >= 100"),
        Unit::Bytes => format!("{name} < 512MiB"),
        Unit::Percent => format!("{name} < 80%"),
        Unit::BytesPerSecond => format!("{name} < 1MiB/min"),
        Unit::Watts => format!("{name} < 300W"),
        Unit::Celsius => format!("{name} < 85C"),
    };
    let expected = match unit {
        Unit::Micros => "a time (us, ms, s, m, h)",
        Unit::Fraction => "a percentage (%)",
        Unit::PerSecond => "a rate (/s, /min)",
        Unit::Count => "a plain number",
        Unit::Bytes => "a size (B, KiB, MiB, GiB, KB, MB, GB)",
        Unit::Percent => "a percentage (%)",
        Unit::BytesPerSecond => "a size per time (KiB/s, MiB/min, GiB/h)",
        Unit::Watts => "a power in watts (W)",
        Unit::Celsius => "a temperature in degrees Celsius (C)",
    };
    let wrong = || {
        (
            format!("`{text}` is not {expected}, which `{name}` needs"),
            format!("for example \"{example}\""),
        )
    };
    if text.is_empty() {
        return Err((
            format!("assertion on `{name}` has no value"),
            format!("for example \"{example}\""),
        ));
    }
    let (number, suffix) = units::number_and_unit(text).ok_or_else(wrong)?;
    let value = match (unit, suffix) {
        (Unit::Micros, s) if units::time_unit_us(s).is_some() => {
            number * units::time_unit_us(s).expect("checked by the guard")
        }
        (Unit::Fraction, "%") => number / 100.0,
        (Unit::PerSecond, s) if s.starts_with('/') => {
            units::parse_rate(text).map_err(|_| wrong())?
        }
        (Unit::Count, "") => number,
        (Unit::Bytes, s) => number * units::bytes_factor(s).ok_or_else(wrong)?,
        (Unit::Percent, "%") => number,
        (Unit::BytesPerSecond, s) if s.contains('/') => {
            units::parse_byte_rate(text).map_err(|_| wrong())?
        }
        (Unit::Watts, "W") => number,
        (Unit::Celsius, "C" | "°C") => number,
        _ => return Err(wrong()),
    };
    Ok(value)
}

/// Limits that make an assertion meaningless: `p95 < 0ms` never holds, an error rate above
/// 100 %, a fraction of a request.
pub(super) fn impossible(metric: Metric, op: super::Op, limit: f64) -> Option<(String, String)> {
    use super::Op;
    if let Metric::Resource(r) = metric {
        return resource::impossible(r, op, limit);
    }
    if matches!(op, Op::Lt) && limit <= 0.0 {
        return Some((
            "this can never hold: the metric is never below zero".into(),
            "write a positive limit".into(),
        ));
    }
    if metric.unit() == Unit::Fraction && limit > 1.0 {
        return Some((
            "a share above 100% means nothing".into(),
            "write a percentage from 0% to 100%".into(),
        ));
    }
    if metric.unit() == Unit::Count && limit.fract() != 0.0 {
        return Some((
            "counts are whole numbers".into(),
            format!("e.g. {}", limit.ceil()),
        ));
    }
    None
}
