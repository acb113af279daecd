//! After a trial's first run: bless a new baseline (more runs, all passing), compare with
//! the blessed one (running again to confirm before a regression fails the gate), or run A/B
//! rounds against the base revision. The runs are driven here; `gate::decide` judges them and
//! the verdict is rebuilt once from its parts and the outcome.

use std::path::Path;

use super::Config;
use crate::baseline::{self, Baseline, Host, histograms_of, scopes_of, side_of_baseline};
use crate::compare::{Status, Verdict};
use crate::gate::{BaseRuns, BaseSide, GateOutcome, Source, decide};
use crate::provenance::short_commit;
use crate::report::{Measured, describe_load};
use crate::spec::{HostMismatch, Scenario, Spec};

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

/// The command that blesses this scenario, as the user would type it in their workspace.
fn bless_command(config: &Config, spec: &str, scenario: &str, profile: Option<&str>) -> String {
    super::hint::bless_command(&config.workspace, &format!("{spec}::{scenario}"), profile)
}

fn shown(path: &Path, workspace: &Path) -> String {
    path.strip_prefix(workspace)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Blesses, compares or runs A/B rounds, according to `config`; `rerun` measures the
/// scenario once more.
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
    let outcome = if let Some(bless) = config.bless {
        bless_runs(spec, scenario, config, bless, &path, first, rerun)
    } else if let Some(ab) = &config.ab {
        Ok(super::ab::rounds(spec, scenario, ab, first, rerun))
    } else {
        stored(
            spec,
            scenario,
            config,
            profile.as_deref(),
            &path,
            first,
            rerun,
        )
    };
    let verdict = std::mem::replace(&mut first.verdict, Verdict::new(vec![], vec![], vec![]));
    first.verdict = match outcome {
        Ok(gate) => verdict.with_gate(gate),
        Err(problem) => verdict.with_problem(problem),
    };
}

/// Why a rerun cannot count: it could not measure, or it had a problem (the target exited …).
pub(crate) fn unusable(run: &Result<Measured, String>) -> Option<String> {
    match run {
        Err(e) => Some(format!("could not measure: {e}")),
        Ok(m) => m
            .verdict
            .problems()
            .first()
            .map(|p| format!("had a problem: {}", p.lines().next().unwrap_or_default())),
    }
}

fn bless_runs(
    spec: &Spec,
    scenario: &Scenario,
    config: &Config,
    bless: Bless,
    path: &Path,
    first: &Measured,
    rerun: &mut dyn FnMut() -> Result<Measured, String>,
) -> Result<GateOutcome, String> {
    let mut runs = vec![first.measurement.clone()];
    let mut failures = Vec::new();
    if first.verdict.status() != Status::Pass {
        failures.push(format!("run 1 ended {}", first.verdict.status().label()));
    }
    for i in 2..=bless.runs {
        match rerun() {
            Ok(m) => {
                if m.verdict.status() != Status::Pass {
                    failures.push(format!("run {i} ended {}", m.verdict.status().label()));
                }
                runs.push(m.measurement);
            }
            Err(e) => failures.push(format!("run {i} could not measure: {e}")),
        }
    }
    if !failures.is_empty() && !bless.force {
        return Err(format!(
            "not blessed: {}; fix the service or the assertions, or bless anyway with `--force` (`PERFSPEC_BLESS_FORCE=1`)",
            failures.join(", ")
        ));
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
    new.write(path).map_err(|e| e.to_string())?;
    let changes = scenario
        .regression
        .metrics
        .iter()
        .filter_map(|g| {
            let (text, metric) = (&g.text, &g.metric);
            let now = side_of_baseline(&new, g.scope.as_deref(), metric, g.turn)?;
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
                    .and_then(|o| side_of_baseline(o, g.scope.as_deref(), metric, g.turn))
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
    Ok(GateOutcome::Blessed {
        path: shown(path, &config.workspace),
        changes,
    })
}

/// Compares with the stored baseline, confirming suspect metrics with more runs.
fn stored(
    spec: &Spec,
    scenario: &Scenario,
    config: &Config,
    profile: Option<&str>,
    path: &Path,
    first: &Measured,
    rerun: &mut dyn FnMut() -> Result<Measured, String>,
) -> Result<GateOutcome, String> {
    let rule = &scenario.regression;
    if !path.exists() {
        return Ok(GateOutcome::Missing {
            path: shown(path, &config.workspace),
            command: bless_command(config, &spec.name, &scenario.name, profile),
            required: config.ci && rule.explicit,
        });
    }
    let b = Baseline::read(path, &spec.name, &scenario.name).map_err(|e| {
        let command = bless_command(config, &spec.name, &scenario.name, profile);
        super::hint::retarget(&e.to_string(), &command)
    })?;
    let here = Host::current();
    let other_host = (b.provenance.host.fingerprint != here.fingerprint).then(|| {
        format!(
            "baseline blessed on {}; this machine: {}",
            b.provenance.host.describe(),
            here.describe()
        )
    });
    let mut problems = Vec::new();
    if let Some(h) = &other_host
        && rule.host_mismatch == HostMismatch::Fail
    {
        problems.push(format!(
            "{h} (host-mismatch = \"fail\"): bless on this machine kind, e.g. with a baseline profile: {}",
            bless_command(
                config,
                &spec.name,
                &scenario.name,
                Some(profile.unwrap_or("RUNNER-KIND"))
            )
        ));
    }
    let binding = other_host.is_none() || rule.host_mismatch == HostMismatch::Compare;
    let mut base = BaseSide {
        source: Source::Baseline {
            path: shown(path, &config.workspace),
            blessed: blessed_label(&b),
            other_host,
        },
        runs: BaseRuns::Stored(Box::new(b)),
        binding,
        problems,
    };
    let mut runs = vec![first.measurement.clone()];
    let mut outcome = decide(rule, &base, &runs);
    let mut confirmations = 0;
    while binding
        && confirmations < rule.confirm
        && outcome.changes().iter().any(|c| {
            c.compared
                .as_ref()
                .is_some_and(|c| c.suspect(rule.threshold))
        })
    {
        confirmations += 1;
        let run = rerun();
        if let Some(why) = unusable(&run) {
            // The suspicion stays unconfirmed and the trial fails: a gate that could not
            // finish must not pass.
            base.problems
                .push(format!("confirmation run {confirmations} {why}"));
            outcome = decide(rule, &base, &runs);
            break;
        }
        if let Ok(m) = run {
            runs.push(m.measurement);
        }
        outcome = decide(rule, &base, &runs);
    }
    Ok(outcome)
}

/// `2026-11-20T10:02:11Z, abc1234, perfspec 0.1.0`; a baseline blessed from uncommitted
/// changes says so (its commit does not name the code it measured). Another commit is the
/// normal case and needs no note.
fn blessed_label(b: &Baseline) -> String {
    let p = &b.provenance;
    let version = format!("perfspec {}", p.perfspec_version);
    match &p.git_commit {
        Some(c) if p.git_dirty == Some(true) => format!(
            "{}, {}, {version} (blessed from uncommitted changes: the commit does not name the code it measured)",
            p.date,
            short_commit(c, p.git_dirty)
        ),
        Some(c) => format!("{}, {}, {version}", p.date, short_commit(c, None)),
        None => format!("{}, {version}", p.date),
    }
}
