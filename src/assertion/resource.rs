//! Resource metrics in assertions: `WHOSE.QUANTITY[.STAT]`, e.g. `sut.cpu.mean`, `sut.rss.max`,
//! `sut.rss.growth`, `sut.disk.write`, `system.mem.max`, `gpu0.util.mean`, `gpu.mem.sut`.
//! They belong to no request and are not checked per window.

use super::metric::{Stat, Unit};
use crate::resources::Quantity;

/// Whose resources a metric reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The system under test: its process and every descendant.
    Sut,
    /// The whole machine.
    System,
    /// perfspec's own process.
    Generator,
    /// GPU `N` (`gpuN.`), or every GPU together (`gpu.`).
    Gpu(Option<u32>),
}

impl Source {
    /// `sut`, `system`, `generator`, `gpu`, `gpu0`, …
    pub fn parse(word: &str) -> Option<Source> {
        Some(match word {
            "sut" => Source::Sut,
            "system" => Source::System,
            "generator" => Source::Generator,
            "gpu" => Source::Gpu(None),
            _ => {
                let n = word.strip_prefix("gpu")?;
                if n.is_empty() || !n.chars().all(|c| c.is_ascii_digit()) || n.len() > 3 {
                    return None;
                }
                Source::Gpu(Some(n.parse().ok()?))
            }
        })
    }

    /// The word as written.
    pub fn name(self) -> String {
        match self {
            Source::Sut => "sut".into(),
            Source::System => "system".into(),
            Source::Generator => "generator".into(),
            Source::Gpu(None) => "gpu".into(),
            Source::Gpu(Some(i)) => format!("gpu{i}"),
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Source::Sut => "sut",
            Source::System => "system",
            Source::Generator => "generator",
            Source::Gpu(_) => "gpu",
        }
    }
}

/// How a series becomes one number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reduce {
    /// A statistic of the samples in the measured window.
    Stat(Stat),
    /// The last sample in the measured window.
    Last,
    /// Growth over the measured window relative to the start of the fit line (leaks).
    Growth,
    /// The fitted change per second (leaks).
    Slope,
    /// The increase of a counter over the measured window (disk bytes).
    Total,
    /// The increase of a counter over exactly the measured window, per completed request
    /// (CPU time, instructions): the cost of one request.
    PerRequest,
}

/// A resource metric: whose, what, and how it is reduced to one number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResourceMetric {
    /// Whose resources.
    pub source: Source,
    /// What is sampled.
    pub quantity: Quantity,
    /// How the samples become one number.
    pub reduce: Reduce,
}

/// Which reductions a series takes.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// Statistics and `last`.
    Gauge,
    /// Statistics, `last`, `growth` and `slope`.
    Leak,
    /// No statistic: one number.
    Fixed(Reduce),
}

const CATALOGUE: &[(&str, &str, Quantity, Shape)] = &[
    ("sut", "cpu", Quantity::Cpu, Shape::Gauge),
    ("sut", "rss", Quantity::Rss, Shape::Leak),
    ("sut", "threads", Quantity::Threads, Shape::Gauge),
    ("sut", "processes", Quantity::Processes, Shape::Gauge),
    (
        "sut",
        "disk.read",
        Quantity::DiskRead,
        Shape::Fixed(Reduce::Total),
    ),
    (
        "sut",
        "disk.write",
        Quantity::DiskWrite,
        Shape::Fixed(Reduce::Total),
    ),
    (
        "sut",
        "cpu-per-request",
        Quantity::CpuTime,
        Shape::Fixed(Reduce::PerRequest),
    ),
    (
        "sut",
        "instructions-per-request",
        Quantity::Instructions,
        Shape::Fixed(Reduce::PerRequest),
    ),
    ("system", "cpu", Quantity::Cpu, Shape::Gauge),
    ("system", "mem", Quantity::Mem, Shape::Gauge),
    ("generator", "cpu", Quantity::Cpu, Shape::Gauge),
    ("generator", "rss", Quantity::Rss, Shape::Gauge),
    ("gpu", "util", Quantity::GpuUtil, Shape::Gauge),
    ("gpu", "mem", Quantity::GpuMem, Shape::Gauge),
    (
        "gpu",
        "mem.sut",
        Quantity::GpuMemSut,
        Shape::Fixed(Reduce::Stat(Stat::Max)),
    ),
    ("gpu", "power", Quantity::GpuPower, Shape::Gauge),
    ("gpu", "temp", Quantity::GpuTemp, Shape::Gauge),
];

/// Resource metrics as people write them, for "did you mean".
pub(super) const EXAMPLES: &[&str] = &[
    "sut.cpu.mean",
    "sut.cpu.p95",
    "sut.cpu.max",
    "sut.rss.max",
    "sut.rss.mean",
    "sut.rss.last",
    "sut.rss.growth",
    "sut.rss.slope",
    "sut.threads.max",
    "sut.processes.max",
    "sut.disk.read",
    "sut.disk.write",
    "sut.cpu-per-request",
    "sut.instructions-per-request",
    "system.cpu.mean",
    "system.cpu.max",
    "system.mem.max",
    "generator.cpu.mean",
    "generator.rss.max",
    "gpu.util.mean",
    "gpu.util.max",
    "gpu.mem.max",
    "gpu.mem.sut",
    "gpu.power.mean",
    "gpu.temp.max",
];

/// Words that start a quantity, for metrics written without whose they are (`cpu.mean`).
const QUANTITY_WORDS: &[&str] = &[
    "cpu", "rss", "mem", "memory", "threads", "disk", "util", "power", "temp",
];

const STAT_HELP: &str = "statistics: mean, max, min, median, pN (p95, p99), stdev, last";

fn listing(kind: &str) -> &'static str {
    match kind {
        "sut" => {
            "sut.cpu.STAT, sut.rss.STAT, sut.rss.growth, sut.rss.slope, sut.threads.STAT, sut.processes.STAT, sut.disk.read, sut.disk.write, sut.cpu-per-request, sut.instructions-per-request"
        }
        "system" => "system.cpu.STAT, system.mem.STAT",
        "generator" => "generator.cpu.STAT, generator.rss.STAT",
        _ => {
            "gpu.util.STAT, gpu.mem.STAT, gpu.mem.sut, gpu.power.STAT, gpu.temp.STAT (gpu0., gpu1., … for one device)"
        }
    }
}

impl ResourceMetric {
    /// The unit of the metric's values.
    pub fn unit(self) -> Unit {
        match self.reduce {
            Reduce::Growth => return Unit::Fraction,
            Reduce::Slope => return Unit::BytesPerSecond,
            _ => {}
        }
        match self.quantity {
            Quantity::Cpu | Quantity::GpuUtil => Unit::Percent,
            Quantity::Threads | Quantity::Processes => Unit::Count,
            Quantity::GpuPower => Unit::Watts,
            // CPU time is kept in µs; per request it is a duration like latency.
            Quantity::CpuTime => Unit::Micros,
            Quantity::Instructions => Unit::Count,
            Quantity::GpuTemp => Unit::Celsius,
            Quantity::Rss
            | Quantity::Mem
            | Quantity::GpuMem
            | Quantity::GpuMemSut
            | Quantity::DiskRead
            | Quantity::DiskWrite => Unit::Bytes,
        }
    }

    /// The metric as written: `sut.cpu.mean`, `gpu0.mem.sut`, `sut.disk.read`.
    pub fn name(self) -> String {
        let (_, path, _, shape) = CATALOGUE
            .iter()
            .find(|(k, _, q, _)| *k == self.source.kind() && *q == self.quantity)
            .expect("metrics are built from the catalogue");
        let stat = match (shape, self.reduce) {
            (Shape::Fixed(_), _) | (_, Reduce::Total | Reduce::PerRequest) => String::new(),
            (_, Reduce::Stat(s)) => format!(".{}", s.name()),
            (_, Reduce::Last) => ".last".into(),
            (_, Reduce::Growth) => ".growth".into(),
            (_, Reduce::Slope) => ".slope".into(),
        };
        format!("{}.{path}{stat}", self.source.name())
    }

    /// Whether values above 100 % mean nothing (shares of the machine or a device, unlike a
    /// process's CPU, which counts cores).
    pub fn bounded_percent(self) -> bool {
        self.unit() == Unit::Percent
            && self.source != Source::Sut
            && self.source != Source::Generator
    }
}

/// Resolves `segs` (whose first is a [`Source`] word) into a resource metric.
pub(super) fn resolve(text: &str, segs: &[&str]) -> Result<ResourceMetric, (String, String)> {
    let source = Source::parse(segs[0]).expect("callers check the source word");
    let kind = source.kind();
    let find = |path: &str| CATALOGUE.iter().find(|(k, p, ..)| *k == kind && *p == path);
    let whole = segs[1..].join(".");
    let metric = |quantity, reduce| ResourceMetric {
        source,
        quantity,
        reduce,
    };
    if let Some(&(_, path, q, shape)) = find(&whole) {
        return match shape {
            Shape::Fixed(reduce) => Ok(metric(q, reduce)),
            _ => Err((
                format!("`{text}` needs a statistic"),
                format!(
                    "e.g. `{}.{path}.max` or `{}.{path}.mean`; {STAT_HELP}",
                    segs[0], segs[0]
                ),
            )),
        };
    }
    let prefix = segs[1..segs.len().saturating_sub(1).max(1)].join(".");
    let word = segs.last().copied().unwrap_or("");
    let Some(&(_, path, q, shape)) = (segs.len() >= 3).then(|| find(&prefix)).flatten() else {
        let mut help = format!("{} metrics are {}", segs[0], listing(kind));
        if let Some(close) = crate::spec::closest_name(text, EXAMPLES.iter().copied()) {
            help = format!("did you mean `{close}`? {help}");
        }
        return Err((format!("unknown resource metric `{text}`"), help));
    };
    let reduce = match (shape, word) {
        (Shape::Fixed(Reduce::Total), _) => {
            return Err((
                format!(
                    "`{}.{path}` is a total over the measured time and takes no statistic",
                    segs[0]
                ),
                format!("write `{}.{path}`", segs[0]),
            ));
        }
        (Shape::Fixed(Reduce::PerRequest), _) => {
            return Err((
                format!(
                    "`{}.{path}` is one cost per request over the measured time and takes no statistic",
                    segs[0]
                ),
                format!("write `{}.{path}`", segs[0]),
            ));
        }
        (Shape::Fixed(_), _) => {
            return Err((
                format!(
                    "`{}.{path}` is already the peak over the measured time and takes no statistic",
                    segs[0]
                ),
                format!("write `{}.{path}`", segs[0]),
            ));
        }
        (_, "last") => Reduce::Last,
        (Shape::Leak, "growth") => Reduce::Growth,
        (Shape::Leak, "slope") => Reduce::Slope,
        (_, "growth" | "slope") => {
            return Err((
                format!("`{word}` is leak detection, for memory of the target"),
                "write `sut.rss.growth` or `sut.rss.slope`".into(),
            ));
        }
        (_, w) => match Stat::parse(w) {
            Some(s) => Reduce::Stat(s),
            None => {
                let stats = [
                    "mean", "max", "min", "median", "p95", "p99", "stdev", "last",
                ];
                let hint = crate::spec::closest_name(w, stats).map_or(String::new(), |c| {
                    format!("did you mean `{}.{path}.{c}`? ", segs[0])
                });
                return Err((
                    format!("unknown statistic `{w}` in `{text}`"),
                    format!("{hint}{STAT_HELP}"),
                ));
            }
        },
    };
    Ok(metric(q, reduce))
}

/// Hints for an unknown metric that looks like a resource (`cpu.mean`, `systm.cpu.max`).
mod hints;

pub(super) use hints::{impossible, unknown};

#[cfg(test)]
mod tests;
