//! What people read in the terminal: the table a trial prints when it fails (and that the
//! summary repeats), and the one-line-per-scenario summary at the end of a run.

use std::fmt::Write;

use std::path::{Path, PathBuf};

use super::artifacts::Written;
use super::table::render;
use super::{Figures, Measured, RunReport, TrialReport, describe_load};
use crate::assertion::{Check, Outcome, Stat, Unit};
use crate::gate::Change;
use crate::measure::{Channel, Measurement, RequestStats, stat_of};
use crate::units::{fmt_count, fmt_percent, fmt_rate, fmt_us};

/// The full table for one trial: header, checks, per-request statistics, errors by kind.
pub fn trial_table(r: &TrialReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  {}  ({})",
        r.name(),
        r.label(),
        describe_load(&r.scenario)
    );
    match &r.outcome {
        Err(reason) => {
            let _ = writeln!(out, "  could not measure: {}", reason.replace('\n', "\n  "));
        }
        Ok(m) => out.push_str(&measured(m)),
    }
    if let Some(log) = &r.log {
        let _ = writeln!(out, "  target log: {log}");
    }
    out
}

fn measured(m: &Measured) -> String {
    let mut out = String::new();
    for p in m.verdict.problems() {
        let _ = writeln!(out, "  problem: {}", p.replace('\n', "\n    "));
    }
    for d in m.verdict.doubts() {
        let _ = writeln!(out, "  inconclusive: {}", d.reason);
    }
    if !m.verdict.checks().is_empty() {
        out.push('\n');
        out.push_str(&checks_table(m.verdict.checks()));
    }
    out.push('\n');
    out.push_str(&requests_table(&m.measurement));
    out.push_str(&super::tokens::tables(&m.measurement));
    out.push_str(&flows_table(&m.measurement));
    out.push_str(&super::stress::tables(&m.measurement));
    let errors = errors_line(&m.measurement);
    if !errors.is_empty() {
        let _ = writeln!(out, "\n  errors by kind: {errors}");
    }
    let _ = writeln!(out, "  generator: {}", generator_line(&m.measurement));
    out.push_str(&super::resources_section(m));
    if let Some(b) = m.verdict.gate() {
        out.push_str(&super::gate::baseline_section(b));
    }
    if m.measurement.interrupted > 0 {
        let _ = writeln!(
            out,
            "  {} request(s) still in flight at the end of the graceful stop were interrupted (not counted)",
            m.measurement.interrupted
        );
    }
    out
}

/// What the generator did: rates, drops and queueing delay (open model), CPU.
pub fn generator_line(m: &Measurement) -> String {
    let g = &m.generator;
    let secs = m.window.as_secs_f64().max(1e-9);
    let mut parts = Vec::new();
    if let Some(requested) = g.requested {
        parts.push(format!(
            "requested {}, sent {}, dropped {}",
            fmt_rate(requested as f64 / secs),
            fmt_rate(g.sent as f64 / secs),
            fmt_count(g.dropped as f64)
        ));
    }
    if let Some(l) = &g.lateness {
        let s = |st| stat_of(l, st).map_or("-".into(), fmt_us);
        parts.push(format!(
            "queueing delay (intended -> sent) p50 {} p99 {} max {}",
            s(Stat::Percentile(50.0)),
            s(Stat::Percentile(99.0)),
            s(Stat::Max)
        ));
    }
    match g.cpu {
        Some(c) => parts.push(format!(
            "CPU {} of {} worker thread(s)",
            fmt_percent(c),
            g.threads
        )),
        None => parts.push(format!("{} worker thread(s)", g.threads)),
    }
    parts.join("; ")
}

/// The assertion table: observed, limit, margin, result.
pub fn checks_table(checks: &[Check]) -> String {
    let mut rows = vec![
        ["check", "observed", "limit", "margin", "result"]
            .map(String::from)
            .to_vec(),
    ];
    let mut notes = Vec::new();
    for c in checks {
        let unit = c.unit();
        let observed = c.observed.map_or("-".into(), |v| unit.format(v));
        let limit = format!(
            "{} {}",
            c.assertion.op.symbol(),
            unit.format(c.assertion.limit)
        );
        let margin = c
            .margin()
            .map_or("-".into(), |m| margin_text(m, c.assertion.limit, unit));
        let mut result = c.outcome.label().to_string();
        match &c.outcome {
            Outcome::Inconclusive(why) | Outcome::NotMeasurable(why) => {
                notes.push(format!("{}: {why}", c.assertion.text))
            }
            _ => {
                if let Some(n) = &c.note {
                    notes.push(format!("{}: {n}", c.assertion.text));
                }
            }
        }
        if c.outcome == Outcome::Fail {
            result = "FAIL  <--".into();
        }
        rows.push(vec![
            c.assertion.text.clone(),
            observed,
            limit,
            margin,
            result,
        ]);
    }
    let mut out = render(&rows, "  ");
    for n in notes {
        let _ = writeln!(out, "    note: {n}");
    }
    out
}

fn margin_text(margin: f64, limit: f64, unit: Unit) -> String {
    let sign = if margin >= 0.0 { "+" } else { "-" };
    let abs = unit.format(margin.abs());
    if limit != 0.0 {
        format!("{sign}{abs} ({sign}{:.0}%)", (margin / limit).abs() * 100.0)
    } else {
        format!("{sign}{abs}")
    }
}

/// Per-request statistics and the total.
pub fn requests_table(m: &Measurement) -> String {
    let two = m.requests.iter().any(|r| r.service.is_some());
    // `count/s`: completed requests (successful and failed) per second; `ok/s`: successful
    // ones, which is what `throughput` asserts on.
    let mut header = vec![
        "request", "count", "count/s", "ok/s", "p50", "p95", "p99", "max",
    ];
    if two {
        header.extend(["service p50", "service p99"]);
    }
    header.push("errors");
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    let mut add = |s: &RequestStats| {
        let stat = |ch, st| stat_of(s.histogram(ch), st).map_or("-".into(), fmt_us);
        let errors = match s.error_count() {
            0 => "0".to_string(),
            n => format!("{} ({})", fmt_count(n as f64), fmt_percent(s.error_rate())),
        };
        let secs = m.window.as_secs_f64();
        let completed = if secs > 0.0 {
            s.requests() as f64 / secs
        } else {
            0.0
        };
        let mut row = vec![
            s.name.clone(),
            fmt_count(s.requests() as f64),
            fmt_rate(completed),
            fmt_rate(m.throughput(s)),
        ];
        for st in [
            Stat::Percentile(50.0),
            Stat::Percentile(95.0),
            Stat::Percentile(99.0),
            Stat::Max,
        ] {
            row.push(stat(Channel::Response, st));
        }
        if two {
            row.push(stat(Channel::Service, Stat::Percentile(50.0)));
            row.push(stat(Channel::Service, Stat::Percentile(99.0)));
        }
        row.push(errors);
        rows.push(row);
    };
    for r in &m.requests {
        add(r);
    }
    if m.requests.len() > 1 {
        add(&m.total());
    }
    render(&rows, "  ")
}

/// Each flow's iterations: how many finished, the share that succeeded, how long the
/// succeeded ones took; empty without flows.
pub fn flows_table(m: &Measurement) -> String {
    if m.course.flows.is_empty() {
        return String::new();
    }
    let mut rows = vec![
        [
            "flow",
            "iterations",
            "succeeded",
            "p50",
            "p95",
            "p99",
            "max",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for f in &m.course.flows {
        let stat = |st| stat_of(&f.duration, st).map_or("-".into(), fmt_us);
        rows.push(vec![
            f.name.clone(),
            fmt_count(f.iterations() as f64),
            f.success_rate().map_or("-".into(), |r| {
                format!("{} ({})", fmt_count(f.succeeded as f64), fmt_percent(r))
            }),
            stat(Stat::Percentile(50.0)),
            stat(Stat::Percentile(95.0)),
            stat(Stat::Percentile(99.0)),
            stat(Stat::Max),
        ]);
    }
    format!("\n{}", render(&rows, "  "))
}

/// `search: timeout 3, http-5xx 2 (503 ×2); embed: connect 1`, empty without errors.
pub fn errors_line(m: &Measurement) -> String {
    m.requests
        .iter()
        .filter(|r| r.error_count() > 0)
        .map(|r| format!("{}: {}", r.name, r.error_breakdown().join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One line per trial: status, name, key figures (and the change against the baseline when
/// a trial has one); broken specs last.
pub fn summary(run: &RunReport) -> String {
    let baselines = run.trials.iter().any(|t| t.baseline.is_some());
    let mut header = vec![
        "", "scenario", "requests", "ok/s", "p50", "p95", "p99", "errors", "checks",
    ];
    if baselines {
        header.push("vs baseline");
    }
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    for r in &run.trials {
        let mut row = vec![r.label().to_string(), r.name()];
        match r.measured() {
            Some(m) => {
                let f = Figures::of(m);
                let us = |v: Option<f64>| v.map_or("-".into(), fmt_us);
                row.extend([
                    fmt_count(f.requests as f64),
                    fmt_rate(f.throughput),
                    us(f.p50),
                    us(f.p95),
                    us(f.p99),
                    fmt_percent(f.error_rate),
                    f.checks_text(),
                ]);
            }
            None => {
                row.extend(["-", "-", "-", "-", "-", "-", "could not measure"].map(String::from))
            }
        }
        if baselines {
            row.push(r.baseline.as_ref().map_or("-".into(), |b| {
                b.changes
                    .iter()
                    .map(Change::short)
                    .collect::<Vec<_>>()
                    .join(", ")
            }));
        }
        rows.push(row);
    }
    for b in &run.broken {
        let mut row = vec!["ERROR".to_string(), b.name.clone()];
        row.extend(["-", "-", "-", "-", "-", "-", "spec error"].map(String::from));
        rows.push(row);
    }
    let mut out = String::from("\nperfspec summary\n");
    out.push_str(&render(&rows, "  "));
    out
}

/// Where the run's reports went: `reports: target/perfspec/report.html (charts), …`, and
/// what could not be written.
pub fn artifacts(written: &Written, show: impl Fn(&Path) -> PathBuf) -> String {
    let mut out = String::new();
    if !written.files.is_empty() {
        out.push_str("\nreports\n");
        let rows: Vec<Vec<String>> = written
            .files
            .iter()
            .map(|(what, path)| vec![show(path).display().to_string(), what.to_string()])
            .collect();
        out.push_str(&render_rows(&rows));
    }
    for e in &written.errors {
        let _ = writeln!(out, "error: {e}");
    }
    out
}

fn render_rows(rows: &[Vec<String>]) -> String {
    let width = rows.iter().map(|r| r[0].chars().count()).max().unwrap_or(0);
    rows.iter()
        .map(|r| format!("  {:<width$}  {}\n", r[0], r[1]))
        .collect()
}
