//! JUnit XML (`target/perfspec/junit.xml`) for CI test tabs: one test suite, one test case
//! per scenario (`classname` the spec, `name` the scenario, `time` the measured seconds).
//!
//! - a failed trial has a `<failure type="fail">` whose body is the console table;
//! - an inconclusive one a `<failure type="inconclusive">` (the test fails unless the
//!   scenario says `inconclusive = "pass"`: then the case passes) and a `<system-out>` note;
//! - one that could not measure, and a spec that cannot run, an `<error>`;
//! - an ignored scenario the run selected but did not run (no `--ignored`), `<skipped/>`.

use std::fmt::Write;

use super::escape::{attr, xml};
use super::{Figures, RunReport, TrialReport, console, rfc3339};
use crate::assertion::Outcome;

/// Renders the run as JUnit XML.
pub fn render(run: &RunReport) -> String {
    render_with_skipped(run, &[])
}

/// Renders the run as JUnit XML, with `skipped` (the `SPEC::SCENARIO` names of ignored
/// scenarios the run selected but did not run) as skipped test cases.
pub fn render_with_skipped(run: &RunReport, skipped: &[String]) -> String {
    let c = run.counts();
    let failures = run
        .trials
        .iter()
        .filter(|t| t.measured().is_some() && !t.passes())
        .count();
    let time: f64 = run
        .trials
        .iter()
        .filter_map(|t| t.measured())
        .map(|m| m.measurement.window.as_secs_f64())
        .sum();
    let head = format!(
        "name=\"perfspec\" tests=\"{}\" failures=\"{failures}\" errors=\"{}\" skipped=\"{}\" time=\"{time:.3}\"",
        c.total() + skipped.len(),
        c.error,
        skipped.len()
    );
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(out, "<testsuites {head}>");
    let _ = writeln!(
        out,
        "  <testsuite {head} timestamp=\"{}\">",
        rfc3339(run.started_at).trim_end_matches('Z')
    );
    let _ = writeln!(
        out,
        "    <properties>\n      <property name=\"perfspec.version\" value=\"{}\"/>\n    </properties>",
        env!("CARGO_PKG_VERSION")
    );
    for t in &run.trials {
        out.push_str(&case(t));
    }
    for b in &run.broken {
        let first = b.error.lines().next().unwrap_or_default();
        let _ = writeln!(
            out,
            "    <testcase classname=\"{}\" name=\"(spec)\" time=\"0.000\">\n      <error type=\"spec\" message=\"{}\">{}</error>\n    </testcase>",
            attr(&b.name),
            attr(first),
            xml(&b.error)
        );
    }
    for name in skipped {
        let (spec, scenario) = name.split_once("::").unwrap_or((name, ""));
        let _ = writeln!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"0.000\">\n      <skipped message=\"ignored: the scenario says ignore = true; run it with -- --ignored or --include-ignored\"/>\n    </testcase>",
            attr(spec),
            attr(scenario)
        );
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

fn case(t: &TrialReport) -> String {
    let time = t
        .measured()
        .map_or(0.0, |m| m.measurement.window.as_secs_f64());
    let mut out = format!(
        "    <testcase classname=\"{}\" name=\"{}\" time=\"{time:.3}\"",
        attr(&t.spec),
        attr(&t.scenario.name)
    );
    let table = xml(&console::trial_table(t));
    // Whatever could not be decided, whatever the status: a property CI tools show and a note.
    let undecided = undecided(t);
    let mut body = String::new();
    if !undecided.is_empty() {
        body.push_str("      <properties>\n");
        for u in &undecided {
            let _ = writeln!(
                body,
                "        <property name=\"perfspec.undecided\" value=\"{}\"/>",
                attr(u)
            );
        }
        body.push_str("      </properties>\n");
    }
    body.push_str(&match t.measured() {
        None => {
            let reason = t.outcome.as_ref().err().map_or("", String::as_str);
            let first = reason.lines().next().unwrap_or_default();
            format!(
                "      <error type=\"error\" message=\"could not measure: {}\">{table}</error>\n",
                attr(first)
            )
        }
        Some(m) => match t.status_name() {
            "pass" => String::new(),
            "inconclusive" => {
                let why = reasons(t);
                let why = if why.is_empty() {
                    undecided.join("; ")
                } else {
                    why
                };
                let note = format!(
                    "      <system-out>INCONCLUSIVE{}: {}</system-out>\n",
                    if t.passes() {
                        " (passes: inconclusive = \"pass\")"
                    } else {
                        ""
                    },
                    xml(&why)
                );
                if t.passes() {
                    note
                } else {
                    format!(
                        "      <failure type=\"inconclusive\" message=\"inconclusive: {}\">{table}</failure>\n{note}",
                        attr(&why)
                    )
                }
            }
            _ => {
                let f = Figures::of(m);
                let message = match (f.failed, m.verdict.problems().first()) {
                    (0, Some(p)) => p.lines().next().unwrap_or_default().to_string(),
                    _ => format!("{} of {} checks failed: {}", f.failed, f.checks, failed(t)),
                };
                format!(
                    "      <failure type=\"fail\" message=\"{}\">{table}</failure>\n",
                    attr(&message)
                )
            }
        },
    });
    if !undecided.is_empty() && t.status_name() != "inconclusive" {
        let _ = writeln!(
            body,
            "      <system-out>UNDECIDED: {}</system-out>",
            xml(&undecided.join("; "))
        );
    }
    if body.is_empty() {
        out.push_str("/>\n");
    } else {
        let _ = write!(out, ">\n{body}    </testcase>\n");
    }
    out
}

/// `p95 < 500us (observed 717 µs); …`
fn failed(t: &TrialReport) -> String {
    let Some(m) = t.measured() else {
        return String::new();
    };
    m.verdict
        .checks()
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| {
            format!(
                "{} (observed {})",
                c.assertion.text,
                c.observed.map_or("-".into(), |v| c.unit().format(v))
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why a trial is inconclusive: its doubts, then everything undecided.
fn reasons(t: &TrialReport) -> String {
    let Some(m) = t.measured() else {
        return String::new();
    };
    let doubts = m.verdict.doubts().iter().map(|d| d.reason.clone());
    doubts.chain(undecided(t)).collect::<Vec<_>>().join("; ")
}

/// Every check the run could not decide and every comparison the gate could not decide, with
/// its interval and what would decide it.
fn undecided(t: &TrialReport) -> Vec<String> {
    let Some(m) = t.measured() else {
        return Vec::new();
    };
    let checks = m.verdict.checks().iter().filter_map(|c| match &c.outcome {
        Outcome::Inconclusive(why) => Some(format!("{}: {why}", c.assertion.text)),
        _ => None,
    });
    let gate = m
        .verdict
        .gate()
        .map_or(&[][..], |g| g.changes())
        .iter()
        .filter_map(|c| c.undecided_text());
    checks.chain(gate).collect()
}
