//! A/B rounds inside the head's perf binary: after the trial's first run, the base revision's
//! perf binary measures the same scenario (a child process, in bless mode, so it writes its
//! figures as a one-run baseline file), then the head again, alternating the order each round
//! (head-base, base-head, …) so a drift of the machine hits both sides alike. After each round
//! `gate::decide` judges the pairs; the rounds stop when every metric is decided, or at the
//! most rounds. `perfspec::commands::ab` builds both revisions and sets this up through the
//! environment.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::baseline::Baseline;
use crate::gate::{BaseRuns, BaseSide, GateOutcome, Source, decide};
use crate::report::Measured;
use crate::spec::{Scenario, Spec};

/// How to run the base side, from `PERFSPEC_AB_*` (set by `perfspec::commands::ab`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ab {
    /// The base revision's perf test binary.
    pub base_exe: PathBuf,
    /// Its workspace (its working directory).
    pub base_dir: PathBuf,
    /// Its `{bin:NAME}` binaries (`PERFSPEC_BIN_DIR` of its runs).
    pub base_bin_dir: Option<PathBuf>,
    /// Where the base runs write (one folder per round).
    pub work: PathBuf,
    /// The base revision for people: `main (3f2c1ab)`.
    pub label: String,
    /// A/A control: the "base" is the head's own binary.
    pub control: bool,
    /// Rounds before the gate may stop early.
    pub min_rounds: u32,
    /// The most rounds.
    pub max_rounds: u32,
    /// Variables of this process the base runs do not inherit (`PERFSPEC_AB_HEAD_ONLY`).
    pub head_only: Vec<String>,
}

impl Ab {
    /// The A/B setup of this process, when `PERFSPEC_AB_BASE_EXE` is set.
    pub fn from_env() -> Option<Ab> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let base_exe = PathBuf::from(var("PERFSPEC_AB_BASE_EXE")?);
        let number = |name: &str, default: u32| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u32>().ok())
                .filter(|&n| n > 0)
                .unwrap_or(default)
        };
        let max_rounds = number("PERFSPEC_AB_MAX_ROUNDS", 12);
        Some(Ab {
            base_dir: var("PERFSPEC_AB_BASE_DIR").map_or_else(
                || base_exe.parent().unwrap_or(Path::new(".")).to_path_buf(),
                PathBuf::from,
            ),
            base_bin_dir: var("PERFSPEC_AB_BASE_BIN_DIR").map(PathBuf::from),
            work: var("PERFSPEC_AB_WORK")
                .map_or_else(|| std::env::temp_dir().join("perfspec-ab"), PathBuf::from),
            label: std::env::var("PERFSPEC_AB_LABEL").unwrap_or_else(|_| "the base".into()),
            control: std::env::var("PERFSPEC_AB_CONTROL").is_ok_and(|v| v == "1" || v == "true"),
            min_rounds: number("PERFSPEC_AB_MIN_ROUNDS", 3).min(max_rounds),
            max_rounds,
            head_only: std::env::var("PERFSPEC_AB_HEAD_ONLY")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(String::from)
                .collect(),
            base_exe,
        })
    }
}

/// Runs A/B rounds of `scenario` after the head's `first` run and decides.
pub(crate) fn rounds(
    spec: &Spec,
    scenario: &Scenario,
    ab: &Ab,
    first: &Measured,
    rerun: &mut dyn FnMut() -> Result<Measured, String>,
) -> GateOutcome {
    let rule = &scenario.regression;
    let name = format!("{}::{}", spec.name, scenario.name);
    let mut base = BaseSide {
        source: Source::Ab {
            base: ab.label.clone(),
            control: ab.control,
        },
        runs: BaseRuns::Rounds(Vec::new()),
        binding: true,
        problems: Vec::new(),
    };
    let mut head = Vec::new();
    let mut outcome = decide(rule, &base, &head);
    let started = Instant::now();
    for round in 1..=ab.max_rounds {
        // Round 1 starts with the head's first run; then the order alternates.
        let head_first = round % 2 == 1;
        let mut head_run = || {
            if round == 1 {
                Ok(first.clone())
            } else {
                rerun()
            }
        };
        let (h, b) = if head_first {
            let h = head_run();
            (h, base_run(spec, scenario, ab, round))
        } else {
            let b = base_run(spec, scenario, ab, round);
            (head_run(), b)
        };
        let failed = match (super::gate::unusable(&h), b) {
            (Some(why), _) => Some(format!("A/B round {round}: the head run {why}")),
            (None, Err(why)) => Some(format!("A/B round {round}: the base run {why}")),
            (None, Ok(file)) => {
                if let (Ok(m), BaseRuns::Rounds(files)) = (h, &mut base.runs) {
                    head.push(m.measurement);
                    files.push(file);
                }
                None
            }
        };
        if let Some(problem) = failed {
            // A round that cannot measure leaves the comparison incomplete: the trial fails.
            base.problems.push(problem);
            return decide(rule, &base, &head);
        }
        outcome = decide(rule, &base, &head);
        eprintln!(
            "  {name} A/B round {round} ({:.0} s): {}",
            started.elapsed().as_secs_f64(),
            outcome
                .changes()
                .iter()
                .map(|c| match &c.compared {
                    Some(cmp) => format!(
                        "{} [{}] {}",
                        c.text(),
                        cmp.interval_text(),
                        cmp.decision.label()
                    ),
                    None => format!("{} -", c.metric),
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        let decided = outcome.changes().iter().all(|c| !c.undecided());
        if round >= ab.min_rounds && decided {
            break;
        }
    }
    outcome
}

/// One run of the base revision: its perf binary in bless mode (forced: a run that misses an
/// assertion still measured), with the head's specs, writing a one-run baseline file.
fn base_run(spec: &Spec, scenario: &Scenario, ab: &Ab, round: u32) -> Result<Baseline, String> {
    let dir = ab
        .work
        .join(&spec.name)
        .join(&scenario.name)
        .join(format!("base-{round}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let log_path = dir.join("output.log");
    let log = std::fs::File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let err = log
        .try_clone()
        .map_err(|e| format!("cannot write {}: {e}", log_path.display()))?;
    let specs = spec
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let specs = std::fs::canonicalize(&specs).unwrap_or(specs);
    let name = format!("{}::{}", spec.name, scenario.name);
    let mut cmd = Command::new(&ab.base_exe);
    cmd.args(["--exact", &name, "--test-threads", "1"])
        .current_dir(&ab.base_dir)
        .env("CARGO_MANIFEST_DIR", &ab.base_dir)
        .env("PERFSPEC_SPECS", &specs)
        .env("PERFSPEC_OUT", dir.join("out"))
        .env("PERFSPEC_BASELINES", dir.join("baselines"))
        .env("PERFSPEC_BLESS", "1")
        .env("PERFSPEC_BLESS_FORCE", "1")
        .env_remove("PERFSPEC_PROFILE")
        .env_remove("CI")
        .env_remove("GITHUB_STEP_SUMMARY")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PERFSPEC_AB_") {
            cmd.env_remove(key);
        }
    }
    for name in &ab.head_only {
        cmd.env_remove(name);
    }
    match &ab.base_bin_dir {
        Some(d) => cmd.env("PERFSPEC_BIN_DIR", d),
        None => cmd.env_remove("PERFSPEC_BIN_DIR"),
    };
    let status = cmd
        .status()
        .map_err(|e| format!("could not start {}: {e}", ab.base_exe.display()))?;
    let file = dir
        .join("baselines")
        .join(&spec.name)
        .join(format!("{}.json", scenario.name));
    if !file.is_file() {
        let tail = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = tail.lines().rev().take(12).collect();
        return Err(format!(
            "could not measure ({status}); its output ({}) ends:\n{}",
            log_path.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    Baseline::read(&file, &spec.name, &scenario.name)
        .map_err(|e| format!("wrote an unusable result: {e}"))
}
