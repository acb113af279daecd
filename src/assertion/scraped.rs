//! The service's own metrics in assertions: `metric.NAME[{LABEL="VALUE",…}].FIGURE`, or the
//! ratio of two of them.
//!
//! ```text
//! metric.cache_hits_total.delta / metric.cache_lookups_total.delta > 80%
//! metric.db_pool_in_use.max < 20
//! metric.http_requests_total{route="/search"}.rate > 50/s
//! ```
//!
//! Counters give `delta` (the increase over the measured window, restarts counted from zero)
//! and `rate` (that per second); gauges give statistics of their samples (`mean`, `max`,
//! `min`, `median`, `pN`, `stdev`, `last`). Series that match the selector are added up.

use super::metric::{Stat, Unit};

/// A label matcher: `route="/search"` or `route!="/health"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    /// The label name.
    pub label: String,
    /// The value compared with.
    pub value: String,
    /// `!=` rather than `=`.
    pub negate: bool,
}

impl Matcher {
    /// Whether a series' labels satisfy this matcher (a missing label is the empty value).
    pub fn matches(&self, labels: &[(String, String)]) -> bool {
        let v = labels
            .iter()
            .find(|(k, _)| *k == self.label)
            .map_or("", |(_, v)| v.as_str());
        (v == self.value) != self.negate
    }
}

/// What one number is made of a metric's samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Figure {
    /// The increase of a counter over the measured window.
    Delta,
    /// The increase per second.
    Rate,
    /// The last sample in the measured window.
    Last,
    /// A statistic of the samples in the measured window.
    Stat(Stat),
}

impl Figure {
    fn parse(word: &str) -> Option<Figure> {
        Some(match word {
            "delta" => Figure::Delta,
            "rate" => Figure::Rate,
            "last" => Figure::Last,
            _ => Figure::Stat(Stat::parse(word)?),
        })
    }

    /// The word as written.
    pub fn name(self) -> String {
        match self {
            Figure::Delta => "delta".into(),
            Figure::Rate => "rate".into(),
            Figure::Last => "last".into(),
            Figure::Stat(s) => s.name(),
        }
    }

    /// Whether the figure reads a counter (`delta`, `rate`).
    pub fn of_counter(self) -> bool {
        matches!(self, Figure::Delta | Figure::Rate)
    }
}

/// One figure of the service's metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRef {
    /// The sample name as the service exports it.
    pub name: String,
    /// Label matchers; every series that matches them all is added up.
    pub matchers: Vec<Matcher>,
    /// How the samples become one number.
    pub figure: Figure,
}

impl MetricRef {
    /// The reference as written: `metric.http_requests_total{route="/search"}.delta`.
    pub fn text(&self) -> String {
        let mut out = format!("metric.{}", self.name);
        if !self.matchers.is_empty() {
            let parts: Vec<String> = self
                .matchers
                .iter()
                .map(|m| {
                    format!(
                        "{}{}\"{}\"",
                        m.label,
                        if m.negate { "!=" } else { "=" },
                        m.value.replace('\\', "\\\\").replace('"', "\\\"")
                    )
                })
                .collect();
            out.push('{');
            out.push_str(&parts.join(","));
            out.push('}');
        }
        out.push('.');
        out.push_str(&self.figure.name());
        out
    }
}

/// A metric of the service: one figure, or the ratio of two.
#[derive(Debug, Clone, PartialEq)]
pub enum ScrapedMetric {
    /// One figure.
    One(MetricRef),
    /// `numerator / denominator`, a share.
    Ratio(MetricRef, MetricRef),
}

impl ScrapedMetric {
    /// The unit: shares for ratios, per second for rates, plain numbers otherwise.
    pub fn unit(&self) -> Unit {
        match self {
            ScrapedMetric::Ratio(..) => Unit::Fraction,
            ScrapedMetric::One(r) if r.figure == Figure::Rate => Unit::PerSecond,
            ScrapedMetric::One(_) => Unit::Number,
        }
    }

    /// The metric as written.
    pub fn name(&self) -> String {
        match self {
            ScrapedMetric::One(r) => r.text(),
            ScrapedMetric::Ratio(a, b) => format!("{} / {}", a.text(), b.text()),
        }
    }

    /// The percentile the metric reads, for the too-few-samples rule.
    pub fn percentile(&self) -> Option<f64> {
        match self {
            ScrapedMetric::One(MetricRef {
                figure: Figure::Stat(Stat::Percentile(p)),
                ..
            }) => Some(*p),
            _ => None,
        }
    }

    /// Every figure the metric reads.
    pub fn refs(&self) -> Vec<&MetricRef> {
        match self {
            ScrapedMetric::One(r) => vec![r],
            ScrapedMetric::Ratio(a, b) => vec![a, b],
        }
    }
}

mod parse;

pub(super) use parse::{is_scraped, parse};

#[cfg(test)]
mod tests;
