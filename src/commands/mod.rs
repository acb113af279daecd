//! The commands a workspace's `xtask` runs (cargo feature `commands`). A downstream
//! `xtask/src/main.rs` is one line of code:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     perfspec::commands::main()
//! }
//! ```
//!
//! - [`bless()`] (`bless-baseline`): run the selected scenarios N times and write their
//!   baselines; says which were written.
//! - [`compare()`] (`compare A.json B.json`): two result or baseline files, metric by metric.
//! - [`ab()`] (`ab`): the working tree against a base revision, in alternating rounds.
//! - [`report()`] (`report [DIR]`): what a finished run came to, from its files.
//! - [`merge()`] (`merge SHARDS…`): the shard files of a sharded run into one verdict and
//!   the usual reports.
//!
//! Each command is one module holding its options, its function, its clap `Args` and its
//! `run`; [`Command`] lists them. A project with tasks of its own flattens [`Command`] into its
//! own clap enum (perfspec's `xtask/src/main.rs` does, for `bench` and `gate-study`).
//!
//! Exit codes: 0 when the command did what it says (every baseline written, no regression,
//! the run passed), 1 when it ran and the answer is no (a baseline not written, a
//! regression, a failed gate), 2 when it could not run (bad input, a build error).

mod ab;
mod bless;
mod cargo;
mod compare;
mod merge;
mod report;
mod results;
mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

pub use ab::{AbDecision, AbError, AbOptions, AbReport, ab};
pub use bless::{BlessError, BlessOptions, BlessReport, Blessed, NotBlessed, bless};
pub use compare::{CompareError, CompareReport, Row, compare, parse_threshold};
pub use merge::{MergeCommandError, MergeReport, MergedScenario, merge};
pub use report::{ReportError, report};
pub use results::{ResultsError, TrialFiles};
pub use workspace::{Package, WorkspaceError, locate};

/// Where a command runs: the folder it was started in (any folder of the user's workspace;
/// cargo finds the workspace from it) and the cargo to run.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The folder.
    pub dir: PathBuf,
    /// `$CARGO` (set when run through cargo), else `cargo`.
    pub cargo: PathBuf,
}

impl Workspace {
    /// The current folder and `$CARGO`.
    pub fn from_env() -> Workspace {
        Workspace {
            dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            cargo: std::env::var_os("CARGO").map_or_else(|| "cargo".into(), PathBuf::from),
        }
    }
}

/// Which package's perf tests a command runs.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// The package with the perf test target; the only one that has it by default.
    #[arg(long, short = 'p')]
    pub package: Option<String>,
    /// The perf test target (`tests/perf.rs` is `perf`).
    #[arg(long, default_value = "perf")]
    pub test: String,
}

/// Which scenarios a command runs.
#[derive(Debug, Clone, clap::Args)]
pub struct Selection {
    /// Scenarios, as a test filter (`search::`, `embed::steady`); all by default.
    pub filter: Option<String>,
    /// Match the filter exactly.
    #[arg(long)]
    pub exact: bool,
    /// Include scenarios marked `ignore = true`.
    #[arg(long)]
    pub include_ignored: bool,
    /// The package and test target.
    #[command(flatten)]
    pub target: Target,
}

impl Selection {
    /// The libtest arguments that select these scenarios.
    fn filter_args(&self, cmd: &mut std::process::Command) {
        if let Some(f) = &self.filter {
            cmd.arg(f);
        }
        if self.exact {
            cmd.arg("--exact");
        }
        if self.include_ignored {
            cmd.arg("--include-ignored");
        }
    }
}

/// Why a command could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `bless-baseline`.
    #[error(transparent)]
    Bless(#[from] BlessError),
    /// `compare`.
    #[error(transparent)]
    Compare(#[from] CompareError),
    /// `ab`.
    #[error(transparent)]
    Ab(#[from] AbError),
    /// `report`.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// `merge`.
    #[error(transparent)]
    Merge(#[from] MergeCommandError),
    /// Finding the package.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// Bad command-line input clap cannot check.
    #[error("{0}")]
    Usage(String),
}

/// The commands, for clap: `#[command(flatten)]` them into a project's own enum to add tasks.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run the selected scenarios N times and write their baselines.
    BlessBaseline(bless::Args),
    /// Compare two result or baseline files, metric by metric.
    Compare(compare::Args),
    /// Compare the working tree with a base revision in alternating runs on this machine.
    Ab(ab::Args),
    /// Show what a finished run came to, from its report folder.
    Report(report::Args),
    /// Merge the shard files of a sharded run (`PERFSPEC_SHARD=K/N`) into one verdict.
    Merge(merge::Args),
}

impl Command {
    /// Runs the command in `ws`: `Ok(true)` when its answer is yes (see the exit codes).
    pub fn run_in(self, ws: &Workspace) -> Result<bool, Error> {
        match self {
            Command::BlessBaseline(args) => bless::run(ws, args),
            Command::Compare(args) => compare::run(args),
            Command::Ab(args) => ab::run(ws, args),
            Command::Report(args) => report::run(ws, args),
            Command::Merge(args) => merge::run(ws, args),
        }
    }

    /// Runs the command in the current folder, prints an error, and returns the exit code.
    pub fn run(self) -> ExitCode {
        exit_code(self.run_in(&Workspace::from_env()))
    }
}

/// The exit code of a command's outcome (printing the error of one that could not run).
pub fn exit_code(outcome: Result<bool, Error>) -> ExitCode {
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

#[derive(clap::Parser)]
#[command(name = "cargo xtask", about = "perfspec commands")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Parses the command line (`cargo xtask COMMAND …`) and runs the command: the whole
/// `main` of a workspace's xtask.
pub fn main() -> ExitCode {
    use clap::Parser;
    Cli::parse().command.run()
}
