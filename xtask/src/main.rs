//! `cargo xtask`: project tasks that are not tests. Thin: each task is a module.

mod ab;
mod bench;
mod bless;
mod compare;
mod gate_study;
mod merge;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "perfspec project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Run the selected scenarios (N times) and write their baselines.
    BlessBaseline(bless::Args),
    /// Compare two result or baseline files.
    Compare(compare::Args),
    /// Compare the working tree with a base revision in alternating runs on this machine.
    Ab(ab::Args),
    /// Run benchmarks (release build) and print their figures.
    Bench(bench::Args),
    /// Measure the regression gate: false alarms on an unchanged service, detections of a
    /// 20 % slower one.
    GateStudy(gate_study::Args),
    /// Merge the shard files of a sharded run (`PERFSPEC_SHARD=K/N`) into one verdict.
    Merge(merge::Args),
}

fn main() -> Result<()> {
    match Cli::parse().task {
        Task::BlessBaseline(args) => bless::run(args),
        Task::Compare(args) => compare::run(args),
        Task::Ab(args) => ab::run(args),
        Task::Bench(args) => bench::run(args),
        Task::GateStudy(args) => gate_study::run(args),
        Task::Merge(args) => merge::run(args),
    }
}

/// `$CARGO` (set when run through cargo), else `cargo`.
pub(crate) fn cargo() -> std::process::Command {
    std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// The workspace root (xtask lives one folder below it).
pub(crate) fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}
