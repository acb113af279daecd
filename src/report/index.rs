//! The index of a run (`target/perfspec/index.json`): when it ran, with which perfspec, and
//! one entry per trial with its status, its result file and its key figures. Documented by
//! `schema/index.schema.json`.

use serde::Serialize;

use super::artifacts::{HTML, JUNIT, SUMMARY};
use super::{Figures, RunReport, TrialReport, rfc3339};
use crate::gate::Decision;

/// The index format version; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct IndexFile<'a> {
    schema: &'static str,
    schema_version: u32,
    perfspec_version: &'static str,
    started_at: String,
    status: &'static str,
    counts: CountsJson,
    trials: Vec<TrialJson<'a>>,
    broken_specs: Vec<BrokenJson<'a>>,
    reports: ReportsJson,
}

#[derive(Serialize)]
struct CountsJson {
    total: usize,
    pass: usize,
    fail: usize,
    inconclusive: usize,
    error: usize,
}

#[derive(Serialize)]
struct TrialJson<'a> {
    name: String,
    spec: &'a str,
    scenario: &'a str,
    status: &'static str,
    passes: bool,
    /// Relative to the folder of the index.
    result: String,
    error: Option<&'a str>,
    window_s: Option<f64>,
    requests: Option<u64>,
    throughput_per_s: Option<f64>,
    p50_us: Option<f64>,
    p95_us: Option<f64>,
    p99_us: Option<f64>,
    errors: Option<u64>,
    error_rate: Option<f64>,
    checks: Option<usize>,
    checks_failed: Option<usize>,
    changes: Vec<ChangeJson<'a>>,
}

#[derive(Serialize)]
struct ChangeJson<'a> {
    metric: &'a str,
    percent: f64,
    judgement: &'static str,
}

#[derive(Serialize)]
struct BrokenJson<'a> {
    name: &'a str,
    error: &'a str,
}

#[derive(Serialize)]
struct ReportsJson {
    summary: &'static str,
    junit: &'static str,
    html: &'static str,
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn trial(t: &TrialReport) -> TrialJson<'_> {
    let f = t.measured().map(Figures::of);
    TrialJson {
        name: t.name(),
        spec: &t.spec,
        scenario: &t.scenario.name,
        status: t.status_name(),
        passes: t.passes(),
        result: format!("results/{}/{}.json", t.spec, t.scenario.name),
        error: t.outcome.as_ref().err().map(String::as_str),
        window_s: f.as_ref().map(|f| round3(f.window_s)),
        requests: f.as_ref().map(|f| f.requests),
        throughput_per_s: f.as_ref().map(|f| round3(f.throughput)),
        p50_us: f.as_ref().and_then(|f| f.p50),
        p95_us: f.as_ref().and_then(|f| f.p95),
        p99_us: f.as_ref().and_then(|f| f.p99),
        errors: f.as_ref().map(|f| f.errors),
        error_rate: f.as_ref().map(|f| f.error_rate),
        checks: f.as_ref().map(|f| f.checks),
        checks_failed: f.as_ref().map(|f| f.failed),
        changes: t.baseline.as_ref().map_or(vec![], |b| {
            b.changes
                .iter()
                .filter_map(|c| {
                    let cmp = c.compared.as_ref()?;
                    Some(ChangeJson {
                        metric: &c.metric,
                        percent: round3(cmp.change * 100.0),
                        judgement: match cmp.decision {
                            Decision::Regressed => "regressed",
                            Decision::Improved => "improved",
                            Decision::Inconclusive => "undecided",
                            Decision::Pass | Decision::Warn => "unchanged",
                        },
                    })
                })
                .collect()
        }),
    }
}

/// Renders the index as pretty JSON with a trailing newline.
pub fn render(run: &RunReport) -> String {
    let c = run.counts();
    let file = IndexFile {
        schema: "perfspec-index",
        schema_version: SCHEMA_VERSION,
        perfspec_version: env!("CARGO_PKG_VERSION"),
        started_at: rfc3339(run.started_at),
        status: if run.passed() { "pass" } else { "fail" },
        counts: CountsJson {
            total: c.total(),
            pass: c.pass,
            fail: c.fail,
            inconclusive: c.inconclusive,
            error: c.error,
        },
        trials: run.trials.iter().map(trial).collect(),
        broken_specs: run
            .broken
            .iter()
            .map(|b| BrokenJson {
                name: &b.name,
                error: &b.error,
            })
            .collect(),
        reports: ReportsJson {
            summary: SUMMARY,
            junit: JUNIT,
            html: HTML,
        },
    };
    let mut text = serde_json::to_string_pretty(&file).expect("index structs always serialize");
    text.push('\n');
    text
}
