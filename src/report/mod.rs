//! Reports of a run, for the people who judge it: the console (failure table, live progress
//! line, end summary), the versioned JSON result of each trial and the index of the run, the
//! Markdown summary (GitHub step summary, PR comment), JUnit XML (CI test tabs) and a
//! self-contained HTML report with charts.
//!
//! Every renderer reads the same [`TrialReport`]s (and the [`RunReport`] around them). What
//! other parts of perfspec add (resource timelines, baselines) reaches the renderers through
//! two generic fields: [`TrialReport::series`], named time series drawn as charts, and
//! [`TrialReport::baseline`], what to overlay and the changes to show.

pub mod artifacts;
mod client_json;
pub mod console;
mod course_json;
mod escape;
mod extras;
pub mod gate;
pub mod html;
pub mod index;
pub mod json;
pub mod junit;
pub mod markdown;
mod metrics_json;
pub mod progress;
mod resource_json;
mod resource_table;
mod run;
mod stress;
mod table;
pub mod tokens;
pub mod views;

pub use extras::{BaselineView, Series};
pub use resource_table::resources_section;
pub use run::{BrokenSpec, Counts, Figures, RunReport};

use crate::compare::{Status, Verdict};
use crate::measure::Measurement;
use crate::spec::{Arrivals, Load, Scenario, Stage, Think};
use crate::units::{fmt_duration, fmt_rate};

/// Everything known about one trial, for every renderer.
#[derive(Debug, Clone)]
pub struct TrialReport {
    /// Spec name (file stem).
    pub spec: String,
    /// The scenario as specified.
    pub scenario: Scenario,
    /// The spec file.
    pub spec_file: String,
    /// What was measured and decided, or why nothing could be measured.
    pub outcome: Result<Measured, String>,
    /// The target's log file, when perfspec started it.
    pub log: Option<String>,
    /// Extra time series to chart (CPU, RSS, GPU of the target …), drawn generically.
    pub series: Vec<Series>,
    /// The baseline this trial was compared with, when there is one.
    pub baseline: Option<BaselineView>,
}

/// A trial that ran.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The measurement.
    pub measurement: Measurement,
    /// The verdict.
    pub verdict: Verdict,
}

impl TrialReport {
    /// `SPEC::SCENARIO`.
    pub fn name(&self) -> String {
        format!("{}::{}", self.spec, self.scenario.name)
    }

    /// The status; `None` when the trial could not measure.
    pub fn status(&self) -> Option<Status> {
        self.outcome.as_ref().ok().map(|m| m.verdict.status())
    }

    /// `PASS`, `FAIL`, `INCONCLUSIVE` or `ERROR`.
    pub fn label(&self) -> &'static str {
        self.status().map_or("ERROR", Status::label)
    }

    /// `pass`, `fail`, `inconclusive` or `error`: the status in files.
    pub fn status_name(&self) -> &'static str {
        match self.status() {
            Some(Status::Pass) => "pass",
            Some(Status::Fail) => "fail",
            Some(Status::Inconclusive) => "inconclusive",
            None => "error",
        }
    }

    /// Whether the test passes: the trial passed, or it was inconclusive and the scenario
    /// lets what was undecided pass (`inconclusive = "pass"` for the run,
    /// `regression.inconclusive = "pass"` for the comparison).
    pub fn passes(&self) -> bool {
        self.measured()
            .is_some_and(|m| m.verdict.passes(&self.scenario))
    }

    /// The measurement, when the trial could measure.
    pub fn measured(&self) -> Option<&Measured> {
        self.outcome.as_ref().ok()
    }
}

/// The text secrets become in every artifact.
pub const REDACTED: &str = "[REDACTED]";

/// `text` with every secret (of at least 4 characters) replaced by [`REDACTED`]: in one pass,
/// the longest secret first where two overlap (so no part of a longer one is left behind),
/// fast with thousands of secrets (a data file marked `secret`).
pub fn redact(text: &str, secrets: &[String]) -> String {
    let patterns: Vec<&str> = secrets
        .iter()
        .map(String::as_str)
        .filter(|s| s.len() >= 4)
        .collect();
    if patterns.is_empty() {
        return text.to_string();
    }
    match aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .build(&patterns)
    {
        Ok(ac) => ac.replace_all(text, &vec![REDACTED; patterns.len()]),
        // Only a pattern set too large for the automaton: replace one by one.
        Err(_) => patterns
            .iter()
            .fold(text.to_string(), |out, s| out.replace(s, REDACTED)),
    }
}

impl TrialReport {
    /// Removes secrets from every text of the report (error, problems, doubts, notes), so no
    /// renderer can print them.
    pub fn redact(&mut self, secrets: &[String]) {
        if secrets.is_empty() {
            return;
        }
        match &mut self.outcome {
            Err(e) => *e = redact(e, secrets),
            Ok(m) => m.verdict.redact(secrets),
        }
    }
}

/// One line describing the load: `closed, 5 users, think 100ms..500ms; 3s warm-up, 20s measured`.
pub fn describe_load(s: &Scenario) -> String {
    let mut out = match &s.load {
        Load::Closed(c) => {
            let mut t = match (c.users, c.stages.is_empty()) {
                (0, false) => "closed".to_string(),
                (n, _) => format!("closed, {n} user{}", if n == 1 { "" } else { "s" }),
            };
            if !c.ramp_up.is_zero() {
                t.push_str(&format!(", ramp-up {}", fmt_duration(c.ramp_up)));
            }
            match c.think {
                Think::Fixed(d) if d.is_zero() => {}
                Think::Fixed(d) => t.push_str(&format!(", think {}", fmt_duration(d))),
                Think::Uniform(a, b) => {
                    t.push_str(&format!(", think {}..{}", fmt_duration(a), fmt_duration(b)))
                }
            }
            t.push_str(&stages_text(&c.stages, |n| format!("{n:.0} users")));
            t
        }
        Load::Open(o) => {
            let mut t = format!("open, {}", fmt_rate(o.rate));
            t.push_str(&stages_text(&o.stages, fmt_rate));
            if let Arrivals::Poisson { .. } = o.arrivals {
                t.push_str(", poisson");
            }
            t.push_str(&format!(", max {} users", o.max_users));
            t
        }
    };
    if let Some(c) = &s.capacity {
        out.push_str(&capacity_text(c, matches!(s.load, Load::Closed(_))));
    }
    if !s.warmup.is_zero() {
        out.push_str(&format!("; {} warm-up", fmt_duration(s.warmup)));
    }
    match s.iterations {
        Some(n) => out.push_str(&format!(
            "; {n} iterations (at most {})",
            fmt_duration(s.duration)
        )),
        None => out.push_str(&format!("; {} measured", fmt_duration(s.duration))),
    }
    out
}

/// `, ramp to 50 users over 10s, hold 1m`.
fn stages_text(stages: &[Stage], level: impl Fn(f64) -> String) -> String {
    let mut t = String::new();
    for stage in stages {
        match stage {
            Stage::Ramp { over, to } => t.push_str(&format!(
                ", ramp to {} over {}",
                level(*to),
                fmt_duration(*over)
            )),
            Stage::Hold(d) => t.push_str(&format!(", hold {}", fmt_duration(*d))),
        }
    }
    t
}

/// `; capacity search 50.0/s..2,000/s (bisect 5%)`: the load above is the first step's shape.
fn capacity_text(c: &crate::spec::CapacityRule, users: bool) -> String {
    let level = |v: f64| {
        if users {
            format!("{v:.0} users")
        } else {
            fmt_rate(v)
        }
    };
    let how = match c.search {
        crate::spec::Search::Bisect { precision } => {
            format!("bisect {}", crate::units::fmt_percent(precision))
        }
        crate::spec::Search::Step(step) => format!("step {}", level(step)),
    };
    format!(
        "; capacity search {}..{} ({how})",
        level(c.from),
        level(c.to)
    )
}

/// Formats a wall-clock time as RFC 3339 UTC (`2026-11-24T08:30:00Z`).
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn formats_utc_times() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_000_000)),
            "2026-11-18T11:06:40Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }
}
