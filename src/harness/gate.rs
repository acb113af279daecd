//! After a trial's first run: bless a new baseline (more runs, all passing), or compare with
//! the blessed one, running again to confirm before a regression fails the gate.

use std::path::Path;

use super::Config;
use crate::baseline::{
    self, Baseline, Host, histograms_of, scopes_of, side_of_baseline, side_of_runs,
};
use crate::compare::{BaselineOutcome, RegressionCheck, Status};
use crate::measure::Measurement;
use crate::regression::{Rule, compare};
use crate::report::{Measured, describe_load};
use crate::spec::{HostMismatch, Inconclusive, Scenario, Spec};

/// How to bless: `cargo xtask bless-baseline` sets it through the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bless {
    /// Runs measured and kept together.
    pub runs: u32,
    /// Bless even when runs fail their assertions.
    pub force: bool,
}

impl Bless {
    /// `PERFSPEC_BLESS=N` (runs) and `PERFSPEC_BLESS_FORCE=1`.
    pub fn from_env() -> Option<Bless> {
        let runs = std::env::var("PERFSPEC_BLESS")
            .ok()?
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|&n| n > 0)?;
        let force = std::env::var("PERFSPEC_BLESS_FORCE").is_ok_and(|v| v == "1" || v == "true");
        Some(Bless { runs, force })
    }
}

/// The command that blesses this scenario, as a user would type it.
pub(crate) fn bless_command(spec: &str, scenario: &str, profile: Option<&str>) -> String {
    let prefix = profile.map_or(String::new(), |p| format!("PERFSPEC_PROFILE={p} "));
    format!("{prefix}cargo xtask bless-baseline --exact {spec}::{scenario}")
}

fn shown(path: &Path, workspace: &Path) -> String {
    path.strip_prefix(workspace)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Blesses or compares, according to `config`; `rerun` measures the scenario once more.
pub(crate) fn after_first(
    spec: &Spec,
    scenario: &Scenario,
    config: &Config,
    first: &mut Measured,
    rerun: &mut dyn FnMut() -> Result<Measured, String>,
) {
    let profile = config.profile.clone();
    let path = baseline::path(
        &config.baselines,
        profile.as_deref(),
        &spec.name,
        &scenario.name,
    );
    match config.bless {
        Some(bless) => bless_runs(spec, scenario, config, bless, &path, first, rerun),
        None => gate(
            spec,
            scenario,
            config,
            profile.as_deref(),
            &path,
            first,
            rerun,
        ),
    }
}

fn bless_runs(
    spec: &Spec,
    scenario: &Scenario,
    config: &Config,
    bless: Bless,
    path: &Path,
    first: &mut Measured,
    rerun: &mut dyn FnMut() -> Result<Measured, String>,
) {
    let mut runs = vec![first.measurement.clone()];
    let mut failures = Vec::new();
    if first.verdict.status != Status::Pass {
        failures.push(format!("run 1 ended {}", first.verdict.status.label()));
    }
    for i in 2..=bless.runs {
        match rerun() {
            Ok(m) => {
                if m.verdict.status != Status::Pass {
                    failures.push(format!("run {i} ended {}", m.verdict.status.label()));
                }
                runs.push(m.measurement);
            }
            Err(e) => failures.push(format!("run {i} could not measure: {e}")),
        }
    }
    if !failures.is_empty() && !bless.force {
        first.verdict.problems.push(format!(
            "not blessed: {}; fix the service or the assertions, or bless anyway with --force",
            failures.join(", ")
        ));
        first.verdict.status = Status::Fail;
        return;
    }
    let old = Baseline::read(path, &spec.name, &scenario.name).ok();
    let new = Baseline {
        schema: "perfspec-baseline".into(),
        schema_version: baseline::SCHEMA_VERSION,
        spec: spec.name.clone(),
        scenario: scenario.name.clone(),
        profile: config.profile.clone(),
        provenance: baseline::provenance(&config.workspace),
        load: describe_load(scenario),
        runs: runs.len(),
        window_s: runs
            .iter()
            .map(|m| (m.window.as_secs_f64() * 1000.0).round() / 1000.0)
            .collect(),
        scopes: scopes_of(&runs),
        histograms: histograms_of(&runs),
    };
    if let Err(e) = new.write(path) {
        first.verdict.problems.push(e.to_string());
        first.verdict.status = Status::Fail;
        return;
    }
    let changes = scenario
        .regression
        .metrics
        .iter()
        .filter_map(|(text, scope, metric)| {
            let now = side_of_baseline(&new, scope.as_deref(), metric)?;
            let unit = metric.unit();
            let geo = |runs: &[f64]| {
                (runs
                    .iter()
                    .map(|v| v.max(f64::MIN_POSITIVE).ln())
                    .sum::<f64>()
                    / runs.len().max(1) as f64)
                    .exp()
            };
            let after = unit.format(geo(&now.runs));
            Some(
                match old
                    .as_ref()
                    .and_then(|o| side_of_baseline(o, scope.as_deref(), metric))
                {
                    Some(before) => {
                        let (b, a) = (geo(&before.runs), geo(&now.runs));
                        format!(
                            "{text}: {} -> {after} ({:+.1}%)",
                            unit.format(b),
                            (a / b - 1.0) * 100.0
                        )
                    }
                    None => format!("{text}: (none) -> {after}"),
                },
            )
        })
        .collect();
    let outcome = BaselineOutcome::Blessed {
        path: shown(path, &config.workspace),
        changes,
    };
    first.verdict = std::mem::replace(
        &mut first.verdict,
        crate::compare::Verdict::new(vec![], vec![], vec![]),
    )
    .with_baseline(outcome, false);
}

fn gate(
    spec: &Spec,
    scenario: &Scenario,
    config: &Config,
    profile: Option<&str>,
    path: &Path,
    first: &mut Measured,
    rerun: &mut dyn FnMut() -> Result<Measured, String>,
) {
    let rule = &scenario.regression;
    let outcome = if !path.exists() {
        BaselineOutcome::Missing {
            path: shown(path, &config.workspace),
            command: bless_command(&spec.name, &scenario.name, profile),
            required: config.ci && rule.explicit,
        }
    } else {
        let b = match Baseline::read(path, &spec.name, &scenario.name) {
            Ok(b) => b,
            Err(e) => {
                first.verdict.problems.push(e.to_string());
                first.verdict.status = Status::Fail;
                return;
            }
        };
        let here = Host::current();
        let other_host = (b.provenance.host.fingerprint != here.fingerprint).then(|| {
            format!(
                "baseline blessed on {}; this machine: {}",
                b.provenance.host.describe(),
                here.describe()
            )
        });
        if other_host.is_some() && rule.host_mismatch == HostMismatch::Fail {
            first.verdict.problems.push(format!(
                "{} (host-mismatch = \"fail\"): bless on this machine kind, e.g. with a baseline profile: {}",
                other_host.as_deref().unwrap_or_default(),
                bless_command(&spec.name, &scenario.name, Some(profile.unwrap_or("RUNNER-KIND")))
            ));
            first.verdict.status = Status::Fail;
        }
        let binding = other_host.is_none() || rule.host_mismatch == HostMismatch::Compare;
        let mut runs = vec![first.measurement.clone()];
        let mut checks = regression_checks(&b, &runs, scenario);
        let mut confirmations = 0;
        while binding
            && confirmations < rule.confirm
            && checks.iter().any(|c| {
                c.comparison
                    .as_ref()
                    .is_some_and(|c| c.suspect(rule.threshold))
            })
        {
            confirmations += 1;
            match rerun() {
                Ok(m) => runs.push(m.measurement),
                Err(e) => {
                    first.verdict.problems.push(format!(
                        "confirmation run {confirmations} could not measure: {e}"
                    ));
                    break;
                }
            }
            checks = regression_checks(&b, &runs, scenario);
        }
        BaselineOutcome::Compared {
            path: shown(path, &config.workspace),
            blessed: blessed_label(&b),
            latency: merged_latency(&b),
            other_host,
            binding,
            checks,
        }
    };
    let verdict = std::mem::replace(
        &mut first.verdict,
        crate::compare::Verdict::new(vec![], vec![], vec![]),
    );
    first.verdict = verdict.with_baseline(outcome, rule.inconclusive == Inconclusive::Fail);
}

/// Every regression metric of the scenario: the baseline's runs against `runs`.
pub(crate) fn regression_checks(
    b: &Baseline,
    runs: &[Measurement],
    scenario: &Scenario,
) -> Vec<RegressionCheck> {
    let r = &scenario.regression;
    let rule = Rule {
        threshold: r.threshold,
        warn: r.warn,
        noise_floor: r.noise_floor,
    };
    r.metrics
        .iter()
        .map(|(text, scope, metric)| {
            let (base, current) = (
                side_of_baseline(b, scope.as_deref(), metric),
                side_of_runs(runs, scope.as_deref(), metric),
            );
            let (comparison, note) = match (&base, &current) {
                (None, _) => (
                    None,
                    Some("not in the baseline (re-bless to include it)".to_string()),
                ),
                (_, None) => (None, Some("not measured in this run".to_string())),
                (Some(b), Some(c)) => match compare(b, c, metric.higher_is_better(), rule) {
                    Some(c) => (Some(c), None),
                    None => (None, Some("no positive value to compare".to_string())),
                },
            };
            RegressionCheck {
                metric: text.clone(),
                unit: metric.unit(),
                comparison,
                note,
            }
        })
        .collect()
}

/// `2026-11-20T10:02:11Z, abc1234` (`+dirty` when blessed from uncommitted changes).
fn blessed_label(b: &Baseline) -> String {
    let p = &b.provenance;
    match &p.git_commit {
        Some(c) => {
            let dirty = if p.git_dirty == Some(true) {
                "+dirty"
            } else {
                ""
            };
            format!("{}, {}{dirty}", p.date, &c[..c.len().min(7)])
        }
        None => p.date.clone(),
    }
}

/// Every request's histogram of the baseline merged; `None` when there is none or one does
/// not decode (the file was checked when read; the chart is then left without a baseline).
fn merged_latency(b: &Baseline) -> Option<hdrhistogram::Histogram<u64>> {
    if b.histograms.is_empty() {
        return None;
    }
    let mut all = crate::measure::new_histogram();
    for text in b.histograms.values() {
        all.add(&crate::baseline::decode(text).ok()?).ok()?;
    }
    Some(all)
}
