//! `ab`: the working tree (head) against a base revision, on this machine, in alternating
//! rounds. The base is checked out in a git worktree under `target/perfspec-ab/base` with a
//! target folder of its own (kept between runs, so a CI cache keeps it warm); both checkouts
//! build their perf test binary and their workspace's binaries; then the head's perf binary
//! runs the selected scenarios, and after each one's first run alternates runs of the base's
//! binary and its own (`PERFSPEC_AB_*`), deciding each metric on the per-round ratios. It
//! writes the usual reports (`target/perfspec/`), whose baseline columns are the comparison
//! with the base.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod cli;

pub(super) use cli::{Args, run};

use super::cargo::{Built, build};

/// What to compare and how.
#[derive(Debug, Clone)]
pub struct AbOptions {
    /// The package whose perf specs run (its `perf-specs/`, its `tests/NAME.rs`), inside a git
    /// checkout: the head.
    pub package: PathBuf,
    /// The base revision (`origin/main`, a commit); ignored for a control run.
    pub base: String,
    /// Test filter passed to the perf binary (`search::`), all scenarios when empty.
    pub filter: Option<String>,
    /// Match the filter exactly.
    pub exact: bool,
    /// A/A control: run the head against itself to see the noise floor of this machine.
    pub control: bool,
    /// Build and run in release mode.
    pub release: bool,
    /// Rounds before a scenario may stop early.
    pub min_rounds: u32,
    /// The most rounds per scenario.
    pub max_rounds: u32,
    /// The perf test target (`perf` for `tests/perf.rs`).
    pub test: String,
    /// Where the head's reports go (`PERFSPEC_OUT`); `target/perfspec` when `None`.
    pub out: Option<PathBuf>,
    /// The cargo to build with (`$CARGO`).
    pub cargo: PathBuf,
    /// The spec folder (`PERFSPEC_SPECS`); the package's `perf-specs/` when `None`.
    pub specs: Option<PathBuf>,
    /// Environment for the head's runs only (its targets inherit it, the base's runs do not):
    /// how a study slows the head of an A/A pair down.
    pub head_env: Vec<(String, String)>,
}

impl AbOptions {
    /// Defaults for `package`: base `origin/main`, 3 to 12 rounds, test `perf`, dev profile.
    pub fn new(package: impl Into<PathBuf>) -> AbOptions {
        AbOptions {
            package: package.into(),
            base: "origin/main".into(),
            filter: None,
            exact: false,
            control: false,
            release: false,
            min_rounds: 3,
            max_rounds: 12,
            test: "perf".into(),
            out: None,
            cargo: std::env::var_os("CARGO").map_or_else(|| "cargo".into(), PathBuf::from),
            specs: None,
            head_env: Vec::new(),
        }
    }
}

/// Why an A/B comparison could not run.
#[derive(Debug, thiserror::Error)]
pub enum AbError {
    /// A program could not be started.
    #[error("cannot run {what}: {source}")]
    Start {
        /// What was run.
        what: String,
        /// Why.
        source: std::io::Error,
    },
    /// A git command failed.
    #[error("`git {args}` failed in {}: {message}", dir.display())]
    Git {
        /// The arguments.
        args: String,
        /// Where.
        dir: PathBuf,
        /// Its error output.
        message: String,
    },
    /// A build failed (cargo printed why above).
    #[error("{what} failed ({status}); see cargo's messages above")]
    Build {
        /// What was built.
        what: String,
        /// Its exit status.
        status: String,
    },
    /// Cargo built no test binary of that name.
    #[error("cargo built no test target `{test}` in {}: is there a tests/{test}.rs with harness = false?", dir.display())]
    NoTestBinary {
        /// The test target.
        test: String,
        /// The checkout.
        dir: PathBuf,
    },
    /// The package is not inside a git checkout.
    #[error("{} is not inside a git checkout: A/B needs git to check out the base revision", .0.display())]
    NotGit(PathBuf),
}

/// What one metric of one scenario came to.
#[derive(Debug, Clone, PartialEq)]
pub struct AbDecision {
    /// `SPEC::SCENARIO`.
    pub scenario: String,
    /// The metric (`p95`, `sut.cpu-per-request`).
    pub metric: String,
    /// `pass`, `warn`, `regressed`, `improved` or `inconclusive`; `None` when not compared.
    pub decision: Option<String>,
    /// Relative change, head over base, minus one.
    pub change: Option<f64>,
    /// Its 95 % interval.
    pub interval: Option<(f64, f64)>,
    /// Rounds compared.
    pub rounds: Option<u64>,
    /// For an undecided metric: what would decide it; otherwise why it was not compared.
    pub note: Option<String>,
}

/// What an A/B comparison did.
#[derive(Debug, Clone)]
pub struct AbReport {
    /// The perf binary's exit code: 0 when every selected scenario passed (a regression or a
    /// missed assertion fails it).
    pub exit_code: i32,
    /// The base revision as compared: `origin/main (3f2c1ab)`.
    pub base: String,
    /// Every metric of every scenario, from the result files.
    pub decisions: Vec<AbDecision>,
    /// Where the reports are.
    pub out: PathBuf,
    /// Time spent building both checkouts.
    pub build_time: Duration,
    /// Time spent measuring.
    pub run_time: Duration,
}

fn git(dir: &Path, args: &[&str]) -> Result<String, AbError> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .map_err(|e| AbError::Start {
            what: "git".into(),
            source: e,
        })?;
    if !out.status.success() {
        return Err(AbError::Git {
            args: args.join(" "),
            dir: dir.to_path_buf(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Compares the head (the working tree at `options.package`) with `options.base`, or with
/// itself for a control run, and returns what each metric came to.
pub fn ab(options: &AbOptions) -> Result<AbReport, AbError> {
    let package = std::fs::canonicalize(&options.package).unwrap_or(options.package.clone());
    let top = PathBuf::from(
        git(&package, &["rev-parse", "--show-toplevel"])
            .map_err(|_| AbError::NotGit(package.clone()))?,
    );
    let rel = package
        .strip_prefix(&top)
        .unwrap_or(Path::new(""))
        .to_path_buf();
    let scratch = package.join("target").join("perfspec-ab");
    let started = Instant::now();
    eprintln!("perfspec ab: building the head ({})", package.display());
    let head = build(
        &options.cargo,
        &package,
        None,
        &options.test,
        options.release,
    )?;
    let (base_built, base_dir, label) = if options.control {
        let label = format!(
            "the head itself ({})",
            short(&git(&package, &["rev-parse", "HEAD"])?)
        );
        (head.clone(), package.clone(), label)
    } else {
        let commit = git(
            &package,
            &[
                "rev-parse",
                "--verify",
                &format!("{}^{{commit}}", options.base),
            ],
        )?;
        let label = format!("{} ({})", options.base, short(&commit));
        let tree = scratch.join("base");
        checkout(&top, &tree, &commit)?;
        let base_package = tree.join(&rel);
        eprintln!(
            "perfspec ab: building the base, {label}, in {}",
            tree.display()
        );
        let built = build(
            &options.cargo,
            &base_package,
            Some(&scratch.join("base-target")),
            &options.test,
            options.release,
        )?;
        (built, base_package, label)
    };
    let build_time = started.elapsed();
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| package.join("target").join("perfspec"));
    let run_started = Instant::now();
    let exit_code = run_head(
        options,
        &package,
        &head,
        &base_built,
        &base_dir,
        &label,
        &scratch,
        &out,
    )?;
    let decisions = decisions(&out);
    Ok(AbReport {
        exit_code,
        base: label,
        decisions,
        out,
        build_time,
        run_time: run_started.elapsed(),
    })
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(7)]
}

/// Checks `commit` out in the worktree at `tree` (created when absent, reused otherwise).
fn checkout(top: &Path, tree: &Path, commit: &str) -> Result<(), AbError> {
    git(top, &["worktree", "prune"])?;
    if tree.join(".git").exists() {
        git(
            tree,
            &["checkout", "--quiet", "--detach", "--force", commit],
        )?;
        git(tree, &["clean", "--quiet", "-fdx", "--exclude=target"])?;
    } else {
        let _ = std::fs::remove_dir_all(tree);
        let path = tree.display().to_string();
        git(
            top,
            &[
                "worktree", "add", "--quiet", "--detach", "--force", &path, commit,
            ],
        )?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn run_head(
    options: &AbOptions,
    package: &Path,
    head: &Built,
    base: &Built,
    base_dir: &Path,
    label: &str,
    scratch: &Path,
    out: &Path,
) -> Result<i32, AbError> {
    let mut cmd = Command::new(&head.test);
    cmd.current_dir(package)
        .env("CARGO_MANIFEST_DIR", package)
        .env("PERFSPEC_OUT", out)
        .env("PERFSPEC_AB_BASE_EXE", &base.test)
        .env("PERFSPEC_AB_BASE_DIR", base_dir)
        .env("PERFSPEC_AB_WORK", scratch.join("runs"))
        .env("PERFSPEC_AB_LABEL", label)
        .env(
            "PERFSPEC_AB_CONTROL",
            if options.control { "1" } else { "0" },
        )
        .env("PERFSPEC_AB_MIN_ROUNDS", options.min_rounds.to_string())
        .env("PERFSPEC_AB_MAX_ROUNDS", options.max_rounds.to_string())
        .env_remove("PERFSPEC_BLESS");
    if let Some(s) = &options.specs {
        cmd.env("PERFSPEC_SPECS", s);
    }
    for (k, v) in &options.head_env {
        cmd.env(k, v);
    }
    let names: Vec<&str> = options.head_env.iter().map(|(k, _)| k.as_str()).collect();
    cmd.env("PERFSPEC_AB_HEAD_ONLY", names.join(","));
    match &head.bins {
        Some(d) => cmd.env("PERFSPEC_BIN_DIR", d),
        None => cmd.env_remove("PERFSPEC_BIN_DIR"),
    };
    match &base.bins {
        Some(d) => cmd.env("PERFSPEC_AB_BASE_BIN_DIR", d),
        None => cmd.env_remove("PERFSPEC_AB_BASE_BIN_DIR"),
    };
    if let Some(f) = &options.filter {
        cmd.arg(f);
    }
    if options.exact {
        cmd.arg("--exact");
    }
    eprintln!(
        "perfspec ab: head against {label}, {} to {} rounds per scenario",
        options.min_rounds, options.max_rounds
    );
    let status = cmd.status().map_err(|e| AbError::Start {
        what: head.test.display().to_string(),
        source: e,
    })?;
    Ok(status.code().unwrap_or(101))
}

/// Every metric of every scenario the run compared, from the result files of `out`.
fn decisions(out: &Path) -> Vec<AbDecision> {
    let read = |p: &Path| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
    };
    let Some(index) = read(&out.join("index.json")) else {
        return Vec::new();
    };
    let mut all = Vec::new();
    for t in index["trials"].as_array().into_iter().flatten() {
        let Some(result) = t["result"].as_str().and_then(|r| read(&out.join(r))) else {
            continue;
        };
        let scenario = t["name"].as_str().unwrap_or_default().to_string();
        for c in result["baseline"]["checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let f = |k: &str| c[k].as_f64();
            all.push(AbDecision {
                scenario: scenario.clone(),
                metric: c["metric"].as_str().unwrap_or_default().to_string(),
                decision: c["outcome"].as_str().map(String::from),
                change: f("change"),
                interval: f("interval_low").zip(f("interval_high")),
                rounds: c["runs_current"].as_u64(),
                note: c["undecided"]
                    .as_str()
                    .or(c["note"].as_str())
                    .map(String::from),
            });
        }
    }
    all
}
