//! `bless-baseline [FILTER] [--exact] [--runs N] [--force] [--release]`: runs the selected
//! scenarios N times through the perf harness in bless mode (`PERFSPEC_BLESS=N`,
//! `PERFSPEC_BLESS_FORCE=1`). The harness refuses to bless runs that fail their assertions
//! (unless forced), writes each baseline atomically and prints old -> new per metric; this
//! command then reads the run's result files and says which baselines were written and which
//! were not, and why: the exit code follows what was written, not the test outcome (a forced
//! bless of failing runs writes its baselines and exits 0).

use std::process::Command;
use std::time::SystemTime;

use super::results::{self, ResultsError, TrialFiles};
use super::workspace::{Package, WorkspaceError, locate};
use super::{Selection, Workspace};

/// What to bless and how.
#[derive(Debug, Clone)]
pub struct BlessOptions {
    /// The scenarios and the package.
    pub selection: Selection,
    /// Runs per scenario, kept together.
    pub runs: u32,
    /// Bless even runs that fail their assertions.
    pub force: bool,
    /// Build and run in release mode.
    pub release: bool,
}

/// Why blessing could not run.
#[derive(Debug, thiserror::Error)]
pub enum BlessError {
    /// The package could not be found.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// cargo could not be started.
    #[error("cannot run {cargo}: {source}")]
    Start {
        /// The cargo.
        cargo: String,
        /// Why.
        source: std::io::Error,
    },
    /// The run wrote no reports (a build error, a broken harness).
    #[error(
        "`cargo test --test {test}` wrote no report, so nothing can be said about what was blessed ({source})"
    )]
    NoReport {
        /// The test target.
        test: String,
        /// Why.
        source: ResultsError,
    },
    /// The filter selected nothing.
    #[error("no scenario matched{}: `cargo test --test {test} -- --list` lists them", filter.as_ref().map(|f| format!(" `{f}`")).unwrap_or_default())]
    NothingSelected {
        /// The test target.
        test: String,
        /// The filter.
        filter: Option<String>,
    },
}

/// One scenario's baseline as written.
#[derive(Debug, Clone)]
pub struct Blessed {
    /// `SPEC::SCENARIO`.
    pub scenario: String,
    /// The baseline file, relative to the package.
    pub path: String,
    /// `p95: 1.2ms -> 1.3ms (+8.3%)` per regression metric.
    pub changes: Vec<String>,
    /// The runs failed their assertions and were blessed because of `--force`.
    pub forced: bool,
}

/// One scenario left without a new baseline (its old one, if any, is untouched).
#[derive(Debug, Clone)]
pub struct NotBlessed {
    /// `SPEC::SCENARIO`.
    pub scenario: String,
    /// Why.
    pub why: String,
}

/// What a bless run wrote.
#[derive(Debug, Clone)]
pub struct BlessReport {
    /// The package blessed.
    pub package: Package,
    /// Baselines written.
    pub blessed: Vec<Blessed>,
    /// Scenarios without a new baseline.
    pub not_blessed: Vec<NotBlessed>,
}

/// Runs the bless and reads back what it wrote.
pub fn bless(ws: &Workspace, options: &BlessOptions) -> Result<BlessReport, BlessError> {
    let sel = &options.selection;
    let package = locate(
        &ws.cargo,
        &ws.dir,
        sel.target.package.as_deref(),
        &sel.target.test,
    )?;
    let out = package.out_dir();
    let mut cmd = Command::new(&ws.cargo);
    crate::cargo::clean_env(&mut cmd)
        .current_dir(&ws.dir)
        .args(["test", "--package", package.name.as_str()]);
    if options.release {
        cmd.arg("--release");
    }
    cmd.args(["--test", sel.target.test.as_str(), "--"]);
    sel.filter_args(&mut cmd);
    cmd.env("PERFSPEC_BLESS", options.runs.to_string())
        .env("PERFSPEC_OUT", &out)
        .env_remove("PERFSPEC_AB_BASE_EXE");
    if options.force {
        cmd.env("PERFSPEC_BLESS_FORCE", "1");
    } else {
        cmd.env_remove("PERFSPEC_BLESS_FORCE");
    }
    if let Some(p) = crate::baseline::profile() {
        eprintln!("blessing for baseline profile `{p}` (PERFSPEC_PROFILE)");
    }
    let started = SystemTime::now();
    // The test outcome is not the answer: a forced bless of failing runs fails its tests and
    // still writes baselines. The result files say what was written.
    cmd.status().map_err(|source| BlessError::Start {
        cargo: ws.cargo.display().to_string(),
        source,
    })?;
    let (_, trials) =
        results::read(&out, Some(started)).map_err(|source| BlessError::NoReport {
            test: sel.target.test.clone(),
            source,
        })?;
    if trials.is_empty() {
        return Err(BlessError::NothingSelected {
            test: sel.target.test.clone(),
            filter: sel.filter.clone(),
        });
    }
    let (mut blessed, mut not_blessed) = (Vec::new(), Vec::new());
    for t in &trials {
        match outcome(t) {
            Ok(b) => blessed.push(b),
            Err(n) => not_blessed.push(n),
        }
    }
    Ok(BlessReport {
        package,
        blessed,
        not_blessed,
    })
}

fn outcome(t: &TrialFiles) -> Result<Blessed, NotBlessed> {
    let baseline = t.result.as_ref().map(|r| &r["baseline"]);
    if let Some(b) = baseline.filter(|b| b["kind"] == "blessed") {
        return Ok(Blessed {
            scenario: t.name.clone(),
            path: b["path"].as_str().unwrap_or_default().to_string(),
            changes: b["changes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str().map(String::from))
                .collect(),
            forced: t.status != "pass",
        });
    }
    let problems = t.result.as_ref().map(|r| &r["problems"]);
    let why = problems
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str())
        .find(|p| p.starts_with("not blessed"))
        .map(String::from)
        .or_else(|| t.error.clone().map(|e| format!("could not measure: {e}")))
        .unwrap_or_else(|| format!("the run ended {} and wrote no baseline", t.status));
    Err(NotBlessed {
        scenario: t.name.clone(),
        why,
    })
}

impl BlessReport {
    /// Whether every selected scenario has its new baseline.
    pub fn complete(&self) -> bool {
        self.not_blessed.is_empty()
    }

    /// What was written and what was not, for the console.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for b in &self.blessed {
            let forced = if b.forced {
                " (its runs failed their assertions: blessed because of --force)"
            } else {
                ""
            };
            // The path is relative to the package, or absolute outside it.
            let path = self.package.dir.join(&b.path);
            out.push_str(&format!(
                "blessed {} -> {}{forced}\n",
                b.scenario,
                path.display()
            ));
            for c in &b.changes {
                out.push_str(&format!("    {c}\n"));
            }
        }
        for n in &self.not_blessed {
            out.push_str(&format!("NOT blessed {}: {}\n", n.scenario, n.why));
        }
        let total = self.blessed.len() + self.not_blessed.len();
        if self.complete() {
            out.push_str(&format!("{total} of {total} baselines written\n"));
        } else {
            out.push_str(&format!(
                "{} of {total} baselines written; nothing was written for the {} not blessed (their old baselines, if any, are unchanged)\n",
                self.blessed.len(),
                self.not_blessed.len()
            ));
        }
        out
    }
}

/// `bless-baseline` on the command line.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    selection: Selection,
    /// Runs per scenario, kept together: more runs, a better noise estimate.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=50))]
    runs: u32,
    /// Bless even runs that fail their assertions.
    #[arg(long)]
    force: bool,
    /// Build and run in release mode (bless the way your gate runs).
    #[arg(long)]
    release: bool,
}

/// Runs `bless-baseline`: true when every selected scenario was blessed.
pub fn run(ws: &Workspace, args: Args) -> Result<bool, super::Error> {
    let report = bless(
        ws,
        &BlessOptions {
            selection: args.selection,
            runs: args.runs,
            force: args.force,
            release: args.release,
        },
    )?;
    print!("{}", report.render());
    Ok(report.complete())
}
