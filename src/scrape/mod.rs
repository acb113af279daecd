//! The service's own metrics: with `metrics = "/metrics"` on `[target]`, perfspec reads the
//! target's Prometheus endpoint before the load, at every resource sample (the same clock as
//! CPU and memory) and after the load, and keeps every series. Assertions read them through
//! `metric.NAME.FIGURE` (see [`crate::assertion::ScrapedMetric`]): counters' increase over
//! the measured window with restarts handled, statistics of gauges, ratios, label selectors.

mod fetch;
mod observe;
mod parse;
mod scraper;

use std::collections::BTreeMap;
use std::time::Duration;

pub(crate) use fetch::exchange;
pub use observe::Reading;
pub use parse::{Exposition, Kind, Sample, kind_of, parse};
pub(crate) use scraper::{Endpoint, Scraping, start};

use crate::resources::{Point, SamplingCost};

/// One series of the service: a sample name and its labels, with every value read.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSeries {
    /// The sample name (`cache_hits_total`).
    pub name: String,
    /// Labels, sorted by name.
    pub labels: Vec<(String, String)>,
    /// Values in time order; `t` in seconds from the end of the warm-up.
    pub points: Vec<Point>,
}

/// One read of `/metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// When, in seconds from the end of the warm-up.
    pub t: f64,
    /// Why it failed; `None` when it was read.
    pub error: Option<String>,
}

/// Everything read from the service's metrics endpoint during one trial.
#[derive(Debug, Clone, PartialEq)]
pub struct Scraped {
    /// The path read (`/metrics`).
    pub path: String,
    /// The measured window (figures use scrapes with `0 <= t <= window`).
    pub window: Duration,
    /// Every series seen, in order of first appearance.
    pub series: Vec<MetricSeries>,
    /// Declared types (`# TYPE`) by family name.
    pub types: BTreeMap<String, Kind>,
    /// Every read, successful or not, in time order.
    pub scrapes: Vec<Attempt>,
    /// Resource ticks that found the previous read still running (a slow endpoint).
    pub skipped: u64,
    /// CPU time of the scraping thread (request, parse, storage) over its lifetime.
    pub cost: SamplingCost,
}

impl Scraped {
    /// The kind of sample `name`, from the `# TYPE` lines.
    pub fn kind(&self, name: &str) -> Kind {
        kind_of(&self.types, name)
    }

    /// Reads that failed, with the first reason.
    pub fn failures(&self) -> (usize, Option<&str>) {
        let mut failed = self.scrapes.iter().filter_map(|a| a.error.as_deref());
        let first = failed.next();
        (usize::from(first.is_some()) + failed.count(), first)
    }
}
