//! The harness side of sharded runs: the settings (`PERFSPEC_SHARD`, `PERFSPEC_START_AT`,
//! `PERFSPEC_SHARD_RESOURCES`, or `--shard K/N`, `--start-at T`, `--shard-resources K`), a
//! shard's share of a scenario, its shard file, and the verdict of merged shards.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::Config;
use crate::report::TrialReport;
use crate::shard::{Shard, ShardFile, ShardRun};
use crate::spec::{Load, Scenario, Spec};

/// The shard settings from the environment, overridden by the command-line flags.
pub(crate) fn settings(flags: &Flags) -> Option<Result<ShardRun, String>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let shard = flags.shard.clone().or_else(|| var("PERFSPEC_SHARD"));
    let start = flags.start_at.clone().or_else(|| var("PERFSPEC_START_AT"));
    let resources = flags
        .resources
        .clone()
        .or_else(|| var("PERFSPEC_SHARD_RESOURCES"));
    ShardRun::from_values(
        shard.as_deref(),
        start.as_deref(),
        resources.as_deref(),
        SystemTime::now(),
    )
}

/// The shard flags of a command line.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Flags {
    pub shard: Option<String>,
    pub start_at: Option<String>,
    pub resources: Option<String>,
}

impl Flags {
    /// Whether any flag was given.
    pub fn any(&self) -> bool {
        self.shard.is_some() || self.start_at.is_some() || self.resources.is_some()
    }
}

/// Removes `--shard K/N`, `--start-at T` and `--shard-resources K` (or `--flag=value`) from
/// the command line, which libtest does not know; returns what they said.
pub(crate) fn take_flags(args: Vec<String>) -> (Vec<String>, Flags) {
    let (mut rest, mut flags) = (Vec::new(), Flags::default());
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (name, value) = match a.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (a.as_str(), None),
        };
        let field = match name {
            "--shard" => &mut flags.shard,
            "--start-at" => &mut flags.start_at,
            "--shard-resources" => &mut flags.resources,
            _ => {
                rest.push(a);
                continue;
            }
        };
        *field = Some(value.or_else(|| it.next()).unwrap_or_default());
    }
    (rest, flags)
}

/// Why this trial cannot run as a shard: invalid settings, or a mode a shard cannot take part
/// in (blessing, A/B rounds, a capacity search: each decides from runs a shard only has a
/// part of).
pub(crate) fn refusal(scenario: &Scenario, config: &Config) -> Option<String> {
    let run = match config.shard.as_ref()? {
        Err(e) => return Some(e.clone()),
        Ok(run) => run,
    };
    let why = if config.bless.is_some() {
        "baselines are blessed from whole runs: bless without PERFSPEC_SHARD"
    } else if config.ab.is_some() {
        "A/B rounds compare whole runs: run them without PERFSPEC_SHARD"
    } else if scenario.capacity.is_some() {
        "a capacity search decides each step from the whole load: it cannot be sharded"
    } else {
        return None;
    };
    Some(format!("shard {}: {why}", run.shard))
}

/// What shard `shard` runs of `scenario`: its share of `max-users` (open model) and of
/// `iterations`. Its users and arrivals are picked by the scheduler.
pub(crate) fn scenario_share(scenario: &Scenario, shard: Shard) -> Scenario {
    let mut s = scenario.clone();
    if let Load::Open(open) = &mut s.load {
        open.max_users = shard.share(u64::from(open.max_users)).max(1) as u32;
    }
    s.iterations = s.iterations.map(|n| shard.share(n));
    s
}

/// From the start of a scenario's load to its end at the latest.
pub(crate) fn planned_length(scenario: &Scenario) -> Duration {
    scenario.warmup + scenario.duration + scenario.graceful_stop
}

/// Where shard `shard` of a scenario writes its shard file.
pub(crate) fn shard_path(config: &Config, spec: &str, scenario: &str, shard: Shard) -> PathBuf {
    config
        .out_dir
        .join("shards")
        .join(spec)
        .join(scenario)
        .join(format!("{}-of-{}.shard.json", shard.index, shard.count))
}

/// Writes the shard file of a finished shard trial (and removes a stale one when it could
/// not measure); a file that cannot be written fails the trial.
pub(crate) fn write_shard_file(
    spec: &Spec,
    scenario: &Scenario,
    config: &Config,
    run: &ShardRun,
    slot: Option<SystemTime>,
    report: &mut TrialReport,
) {
    let path = shard_path(config, &spec.name, &scenario.name, run.shard);
    let Ok(m) = &mut report.outcome else {
        let _ = std::fs::remove_file(&path);
        return;
    };
    let file = ShardFile {
        schema: crate::shard::SCHEMA.into(),
        schema_version: if spec.flows.is_empty() {
            crate::shard::VERSION_WITHOUT_FLOWS
        } else {
            crate::shard::VERSION
        },
        perfspec_version: env!("CARGO_PKG_VERSION").into(),
        spec: spec.name.clone(),
        scenario: scenario.name.clone(),
        spec_file: spec.path.display().to_string(),
        spec_hash: crate::shard::spec_hash(spec, scenario),
        shard: run.shard.index,
        shards: run.shard.count,
        start_at: slot.map(crate::shard::start_text),
        sampled_target: run.samples_target(),
        problems: m
            .verdict
            .problems()
            .iter()
            .map(|p| crate::report::redact(p, &spec.secrets))
            .collect(),
        measurement: crate::shard::MeasurementFile::of(&m.measurement),
    };
    if let Err(e) = crate::shard::write_file(&path, &file) {
        m.verdict = m
            .verdict
            .clone()
            .with_problem(format!("{}: the shard file: {e}", path.display()));
    }
}

#[cfg_attr(not(feature = "commands"), allow(dead_code))]
/// The trial of merged shards: judged like a run (assertions, doubts, the regression gate,
/// which cannot rerun to confirm), then written like one.
pub(crate) fn merged_trial(
    spec: &Spec,
    index: usize,
    config: &Config,
    combined: crate::shard::Combined,
) -> TrialReport {
    let scenario = &spec.scenarios[index];
    let mut measured = super::trial::judge(scenario, combined.measurement, combined.problems);
    let mut rerun = || -> Result<crate::report::Measured, String> {
        Err("merged shards cannot be rerun to confirm: run the shards again".to_string())
    };
    super::gate::after_first(spec, scenario, config, &mut measured, &mut rerun);
    let report = TrialReport {
        spec: spec.name.clone(),
        scenario: scenario.clone(),
        spec_file: spec.path.display().to_string(),
        outcome: Ok(measured),
        log: None,
        series: Vec::new(),
        baseline: None,
    };
    let log = config
        .out_dir
        .join("logs")
        .join(&spec.name)
        .join(format!("{}.log", scenario.name));
    // A merge captured nothing: the shards' own runs redacted their logs.
    let captured = crate::secrets::CapturedSecrets::default();
    super::finish::finish(spec, config, report, &log, &captured)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_flags_are_taken_out_of_the_command_line() {
        let args = [
            "perf",
            "--shard",
            "2/4",
            "--start-at=1796115600",
            "x::y",
            "--exact",
        ];
        let (rest, flags) = take_flags(args.iter().map(|s| s.to_string()).collect());
        assert_eq!(rest, ["perf", "x::y", "--exact"]);
        assert_eq!(flags.shard.as_deref(), Some("2/4"));
        assert_eq!(flags.start_at.as_deref(), Some("1796115600"));
        assert_eq!(flags.resources, None);
    }
}
