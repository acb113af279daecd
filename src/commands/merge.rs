//! `merge`: the shard files of a sharded run (`PERFSPEC_SHARD=K/N`) → one measurement per
//! scenario, added up exactly (HDR histograms, counts, timelines by wall clock), judged by the
//! same code as any run (assertions, doubts, the regression gate against the blessed
//! baseline), written as the usual reports (result JSON, index, Markdown, JUnit, HTML).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Target, Workspace, WorkspaceError, locate};
use crate::Harness;
use crate::report::{RunReport, artifacts, console};
use crate::shard::{MergeError, ShardFile, combine, read_file, spec_hash};
use crate::spec::{Context, Spec};

/// What a merge did.
#[derive(Debug)]
pub struct MergeReport {
    /// One per scenario, in name order.
    pub scenarios: Vec<MergedScenario>,
    /// The reports that were written.
    pub written: Vec<PathBuf>,
    /// Reports that could not be written (the merge fails).
    pub write_errors: Vec<String>,
}

impl MergeReport {
    /// Whether every merged scenario passed and every report was written.
    pub fn passed(&self) -> bool {
        self.write_errors.is_empty() && self.scenarios.iter().all(|s| s.passed)
    }
}

/// One merged scenario.
#[derive(Debug)]
pub struct MergedScenario {
    /// `SPEC::SCENARIO`.
    pub name: String,
    /// Shards merged.
    pub shards: u32,
    /// `pass`, `fail`, `inconclusive` or `error`.
    pub status: &'static str,
    /// Whether it passes (as a test would).
    pub passed: bool,
    /// Its merged result file.
    pub result: PathBuf,
}

/// Why a merge could not produce a verdict.
#[derive(Debug, thiserror::Error)]
pub enum MergeCommandError {
    /// Missing, duplicate, mismatched or unreadable shard files.
    #[error(transparent)]
    Shards(#[from] MergeError),
    /// The spec the shards ran is not in the spec folder, or differs from it.
    #[error("{scenario}: {why}")]
    Spec {
        /// `SPEC::SCENARIO`.
        scenario: String,
        /// What is wrong.
        why: String,
    },
}

/// Merges the shard files found in `inputs` (files, or folders searched for `*.shard.json`)
/// with the settings of `harness` (spec folder, output folder, baselines, profile, CI), prints
/// the run summary to stderr, and writes the usual reports. A failed verdict is a report
/// whose [`MergeReport::passed`] is false; bad input is an error.
pub fn merge(inputs: &[PathBuf], harness: &Harness) -> Result<MergeReport, MergeCommandError> {
    let (specs_dir, config) = harness.parts();
    let mut groups: BTreeMap<(String, String), Vec<(PathBuf, ShardFile)>> = BTreeMap::new();
    for path in shard_files(inputs)? {
        let file = read_file(&path).map_err(|why| MergeError::Unreadable {
            path: path.clone(),
            why,
        })?;
        groups
            .entry((file.spec.clone(), file.scenario.clone()))
            .or_default()
            .push((path, file));
    }
    let mut run = RunReport {
        started_at: std::time::SystemTime::now(),
        trials: Vec::new(),
        broken: Vec::new(),
    };
    // Every group is checked before any is judged: bad input writes nothing.
    let mut checked = Vec::new();
    for ((spec_name, scenario_name), shards) in groups {
        let name = format!("{spec_name}::{scenario_name}");
        let hash = shards[0].1.spec_hash.clone();
        let combined = combine(shards)?;
        let spec_err = |why: String| MergeCommandError::Spec {
            scenario: name.clone(),
            why,
        };
        let spec = find_spec(specs_dir, &config.workspace, &spec_name).map_err(spec_err)?;
        let index = spec
            .scenarios
            .iter()
            .position(|s| s.name == scenario_name)
            .ok_or_else(|| {
                spec_err(format!(
                    "{} has no scenario `{scenario_name}`",
                    spec.path.display()
                ))
            })?;
        let now = spec_hash(&spec, &spec.scenarios[index]);
        if now != hash {
            return Err(spec_err(format!(
                "the shards ran another version of it (spec hash {hash}) than {} holds now (spec hash {now}): merge with the spec the shards ran",
                spec.path.display()
            )));
        }
        checked.push((name, spec, index, combined));
    }
    let mut scenarios = Vec::new();
    for (name, spec, index, combined) in checked {
        let scenario_name = spec.scenarios[index].name.clone();
        let count = combined.count;
        let report = crate::harness::merged_trial(&spec, index, config, combined);
        scenarios.push(MergedScenario {
            name,
            shards: count,
            status: report.status_name(),
            passed: report.passes(),
            result: config
                .out_dir
                .join("results")
                .join(&spec.name)
                .join(format!("{scenario_name}.json")),
        });
        if !report.passes() {
            eprintln!("{}", console::trial_table(&report));
        }
        run.trials.push(report);
    }
    let step_summary = std::env::var_os("GITHUB_STEP_SUMMARY")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let written = artifacts::write(&run, &config.out_dir, step_summary);
    eprint!("{}", console::summary(&run));
    eprint!("{}", console::artifacts(&written, Path::to_path_buf));
    Ok(MergeReport {
        scenarios,
        written: written.files.iter().map(|(_, p)| p.clone()).collect(),
        write_errors: written.errors,
    })
}

/// The shard files among `inputs`: files as given, folders searched (recursively) for
/// `*.shard.json`, in path order.
fn shard_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, MergeError> {
    let mut found = Vec::new();
    for input in inputs {
        if input.is_dir() {
            walk(input, &mut found);
        } else if input.is_file() {
            found.push(input.clone());
        } else {
            return Err(MergeError::Unreadable {
                path: input.clone(),
                why: "no such file or folder".into(),
            });
        }
    }
    if found.is_empty() {
        return Err(MergeError::Nothing(inputs.to_vec()));
    }
    found.sort();
    found.dedup();
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, found);
        } else if path.to_string_lossy().ends_with(".shard.json") {
            found.push(path);
        }
    }
}

/// The spec called `name` in `dir` (`NAME.toml`), parsed as a run would.
fn find_spec(dir: &Path, workspace: &Path, name: &str) -> Result<Spec, String> {
    let path = dir.join(format!("{name}.toml"));
    let bytes = std::fs::read(&path).map_err(|e| {
        format!(
            "the spec the shards ran is not at {} ({e}): give the spec folder the shards used (PERFSPEC_SPECS)",
            path.display()
        )
    })?;
    let shown = path.strip_prefix(workspace).unwrap_or(&path).to_path_buf();
    let cx = Context {
        display_path: Some(shown),
        ..Default::default()
    };
    Spec::parse_bytes(&bytes, &path, &cx).map_err(|e| e.to_string())
}

/// `merge` on the command line.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Shard files (`*.shard.json`) or folders holding them (searched recursively).
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// The spec folder the shards ran (default: `PERFSPEC_SPECS`, else the package's
    /// `perf-specs/`).
    #[arg(long)]
    specs: Option<PathBuf>,
    /// Where the merged reports go (default: `PERFSPEC_OUT`, else `TARGET/perfspec`).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    target: Target,
}

/// Runs `merge`: false when a merged scenario did not pass or a report was not written.
pub fn run(ws: &Workspace, args: Args) -> Result<bool, super::Error> {
    let package = locate(
        &ws.cargo,
        &ws.dir,
        args.target.package.as_deref(),
        &args.target.test,
    )
    .map_err(|e: WorkspaceError| super::Error::Workspace(e))?;
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let specs = args
        .specs
        .or_else(|| var("PERFSPEC_SPECS"))
        .unwrap_or_else(|| package.dir.join("perf-specs"));
    let out = args.out.unwrap_or_else(|| package.out_dir());
    let mut harness = Harness::new()
        .workspace(&package.dir)
        .specs_dir(specs)
        .out_dir(out);
    if var("PERFSPEC_BASELINES").is_none() {
        harness = harness.baselines_dir(package.dir.join("baselines"));
    }
    let report = merge(&args.shards, &harness)?;
    for s in &report.scenarios {
        eprintln!(
            "{}: {} shards merged, {} ({})",
            s.name,
            s.shards,
            s.status,
            s.result.display()
        );
    }
    for e in &report.write_errors {
        eprintln!("error: {e}");
    }
    if !report.write_errors.is_empty() {
        eprintln!(
            "the merge fails: {} of its reports could not be written",
            report.write_errors.len()
        );
    }
    Ok(report.passed())
}
