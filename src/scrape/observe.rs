//! A metric of the service as one number over the measured window: the increase of counters
//! (restarts counted from zero), statistics of gauges, ratios. Pure.

use std::collections::BTreeMap;

use super::{Kind, MetricSeries, Scraped};
use crate::assertion::{Figure, MetricRef, ScrapedMetric};
use crate::resources::stat;

/// A metric of the service, read.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// The number, the scrapes behind it and how it was made.
    Value {
        /// The value.
        value: f64,
        /// Scrapes (or samples) behind it.
        samples: u64,
        /// How it was made, for people.
        note: Option<String>,
    },
    /// The metric or label does not exist, or does not take the figure: a mistake of the spec
    /// against this service. Says what does exist.
    Missing(String),
    /// The scrapes do not allow a number (no scrape in the window, a zero denominator).
    Undecided(String),
}

/// At most this many names are listed in a message.
const LISTED: usize = 25;

fn listing(mut names: Vec<&str>) -> String {
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return "none".into();
    }
    let more = names.len().saturating_sub(LISTED);
    let mut out = names[..names.len().min(LISTED)].join(", ");
    if more > 0 {
        out.push_str(&format!(" … and {more} more"));
    }
    out
}

impl Scraped {
    /// Reads `metric` over the measured window.
    pub fn observe(&self, metric: &ScrapedMetric) -> Reading {
        match metric {
            ScrapedMetric::One(r) => self.figure(r),
            ScrapedMetric::Ratio(a, b) => {
                let (num, den) = (self.figure(a), self.figure(b));
                let (
                    Reading::Value {
                        value: x,
                        samples: n,
                        ..
                    },
                    Reading::Value {
                        value: y,
                        samples: m,
                        note,
                    },
                ) = (&num, &den)
                else {
                    return match (num, den) {
                        (r @ Reading::Missing(_), _) | (_, r @ Reading::Missing(_)) => r,
                        (r @ Reading::Undecided(_), _) | (_, r @ Reading::Undecided(_)) => r,
                        _ => unreachable!("one side is not a value"),
                    };
                };
                if *y == 0.0 {
                    return Reading::Undecided(format!(
                        "the denominator `{}` is 0 over the measured window, so the ratio is undefined (did the load reach the code that counts it?)",
                        b.text()
                    ));
                }
                Reading::Value {
                    value: x / y,
                    samples: (*n).min(*m),
                    note: Some(format!(
                        "{} / {}{}",
                        crate::units::fmt_number(*x),
                        crate::units::fmt_number(*y),
                        note.as_deref().map_or(String::new(), |n| format!("; {n}"))
                    )),
                }
            }
        }
    }

    /// The series a reference selects, or why there are none.
    fn select(&self, r: &MetricRef) -> Result<Vec<&MetricSeries>, Reading> {
        let named: Vec<&MetricSeries> = self.series.iter().filter(|s| s.name == r.name).collect();
        if named.is_empty() {
            let family: Vec<&str> = self
                .series
                .iter()
                .filter(|s| {
                    s.name
                        .strip_prefix(r.name.as_str())
                        .is_some_and(|rest| rest.starts_with('_'))
                })
                .map(|s| s.name.as_str())
                .collect();
            if !family.is_empty() {
                return Err(Reading::Missing(format!(
                    "`{}` has no series of its own; the service exports {}",
                    r.name,
                    listing(family)
                )));
            }
            let names: Vec<&str> = self.series.iter().map(|s| s.name.as_str()).collect();
            let hint = crate::spec::closest_name(&r.name, names.iter().copied())
                .map_or(String::new(), |c| format!("did you mean `{c}`? "));
            return Err(Reading::Missing(format!(
                "the service's {} has no metric `{}`; {hint}it exports: {}",
                self.path,
                r.name,
                listing(names)
            )));
        }
        for m in &r.matchers {
            let known: Vec<&str> = named
                .iter()
                .flat_map(|s| s.labels.iter().map(|(k, _)| k.as_str()))
                .collect();
            if !m.value.is_empty() && !m.negate && !known.contains(&m.label.as_str()) {
                return Err(Reading::Missing(format!(
                    "`{}` has no label `{}`; its labels: {}",
                    r.name,
                    m.label,
                    listing(known)
                )));
            }
        }
        let chosen: Vec<&MetricSeries> = named
            .iter()
            .copied()
            .filter(|s| r.matchers.iter().all(|m| m.matches(&s.labels)))
            .collect();
        if chosen.is_empty() {
            let values: Vec<String> = r
                .matchers
                .iter()
                .map(|m| {
                    let seen: Vec<&str> = named
                        .iter()
                        .filter_map(|s| {
                            s.labels
                                .iter()
                                .find(|(k, _)| *k == m.label)
                                .map(|(_, v)| v.as_str())
                        })
                        .collect();
                    format!("{} takes {}", m.label, listing(seen))
                })
                .collect();
            return Err(Reading::Missing(format!(
                "no series of `{}` matches the selector; {}",
                r.name,
                values.join("; ")
            )));
        }
        Ok(chosen)
    }

    fn figure(&self, r: &MetricRef) -> Reading {
        let end = self.window.as_secs_f64();
        let read: Vec<f64> = self
            .scrapes
            .iter()
            .filter(|a| a.error.is_none())
            .map(|a| a.t)
            .collect();
        let (failed, first_error) = self.failures();
        let failures = || match first_error {
            Some(e) => format!(
                "; {failed} of {} reads of {} failed (first: {e})",
                self.scrapes.len(),
                self.path
            ),
            None => String::new(),
        };
        if read.is_empty() {
            return Reading::Undecided(format!(
                "the service's {} could not be read: {}",
                self.path,
                first_error.unwrap_or("it was never scraped")
            ));
        }
        if !read.iter().any(|t| (0.0..=end).contains(t)) {
            return Reading::Undecided(format!(
                "no read of {} succeeded in the measured window{}",
                self.path,
                failures()
            ));
        }
        let series = match self.select(r) {
            Ok(s) => s,
            Err(reading) => return reading,
        };
        let kind = self.kind(&r.name);
        if r.figure.of_counter() && kind == Kind::Gauge {
            return Reading::Missing(format!(
                "`{}` is a gauge: `{}` is for counters; use max, mean, min, last or pN",
                r.name,
                r.figure.name()
            ));
        }
        match r.figure {
            Figure::Delta | Figure::Rate => self.increase(r, &series, &read, failures()),
            Figure::Last | Figure::Stat(_) => gauge(r, &series, end, failures()),
        }
    }

    /// The increase of the selected counters from the last read before the window to the last
    /// one in it; a value that goes down is a restart and counts from zero.
    fn increase(
        &self,
        r: &MetricRef,
        series: &[&MetricSeries],
        read: &[f64],
        failures: String,
    ) -> Reading {
        let end = self.window.as_secs_f64();
        let read_before = read.iter().any(|t| *t < 0.0);
        let (mut total, mut resets, mut scrapes) = (0.0, 0, 0);
        let (mut from, mut to) = (f64::INFINITY, f64::NEG_INFINITY);
        for s in series {
            let last_in = s.points.partition_point(|p| p.t <= end);
            let Some(last) = last_in.checked_sub(1).filter(|&i| s.points[i].t >= 0.0) else {
                continue;
            };
            let before = s.points[..last_in].partition_point(|p| p.t < 0.0);
            // The last read before the window; a series absent from it was created since (0).
            let (mut prev, mut i) = match before.checked_sub(1) {
                Some(b) => (s.points[b].v, b + 1),
                None if read_before => (0.0, before),
                None => (s.points[before].v, before + 1),
            };
            let t0 = match before.checked_sub(1) {
                Some(b) => s.points[b].t,
                None if read_before => read
                    .iter()
                    .copied()
                    .filter(|t| *t < 0.0)
                    .fold(f64::NEG_INFINITY, f64::max),
                None => s.points[before].t,
            };
            from = from.min(t0);
            to = to.max(s.points[last].t);
            while i <= last {
                let v = s.points[i].v;
                if v < prev {
                    resets += 1;
                    total += v;
                } else {
                    total += v - prev;
                }
                prev = v;
                i += 1;
            }
            scrapes = scrapes.max(last + 1 - before);
        }
        if !to.is_finite() {
            return Reading::Undecided(format!(
                "no read in the measured window saw `{}`{failures}",
                r.text()
            ));
        }
        let mut note = format!("increase from {:.2} s to {:.2} s", from, to);
        if series.len() > 1 {
            note.push_str(&format!(", {} series added up", series.len()));
        }
        if resets > 0 {
            note.push_str(&format!(
                "; {resets} restart{} (the counter went down: counted from 0)",
                if resets == 1 { "" } else { "s" }
            ));
        }
        note.push_str(&failures);
        let value = match r.figure {
            Figure::Rate if to - from > 0.0 => total / (to - from),
            Figure::Rate => {
                return Reading::Undecided(format!(
                    "`{}` was read only once: a rate needs two reads",
                    r.text()
                ));
            }
            _ => total,
        };
        Reading::Value {
            value,
            samples: scrapes as u64,
            note: Some(note),
        }
    }
}

/// A statistic of the selected gauges, added up read by read, over the window.
fn gauge(r: &MetricRef, series: &[&MetricSeries], end: f64, failures: String) -> Reading {
    let mut sums: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    for s in series {
        for p in s.points.iter().filter(|p| (0.0..=end).contains(&p.t)) {
            sums.entry(p.t.to_bits()).or_insert((p.t, 0.0)).1 += p.v;
        }
    }
    let mut points: Vec<(f64, f64)> = sums.into_values().collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let values: Vec<f64> = points.iter().map(|p| p.1).collect();
    let value = match r.figure {
        Figure::Stat(s) => stat(&values, s),
        _ => values.last().copied(),
    };
    let Some(value) = value else {
        return Reading::Undecided(format!(
            "no read in the measured window saw `{}`{failures}",
            r.text()
        ));
    };
    let mut note = format!("{} of {} samples", r.figure.name(), values.len());
    if series.len() > 1 {
        note.push_str(&format!(", {} series added up", series.len()));
    }
    note.push_str(&failures);
    Reading::Value {
        value,
        samples: values.len() as u64,
        note: Some(note),
    }
}

#[cfg(test)]
mod tests;
