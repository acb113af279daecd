//! `cargo xtask`: perfspec's commands (`perfspec::commands`, what any workspace's xtask gets
//! from `perfspec::commands::main()`) plus this project's own tasks. Thin: each task is a
//! module.

mod bench;
mod gate_study;

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "perfspec commands and project tasks")]
enum Task {
    #[command(flatten)]
    Perfspec(perfspec::commands::Command),
    /// Run benchmarks (release build) and print their figures.
    Bench(bench::Args),
    /// Measure the regression gate: false alarms on an unchanged service, detections of a
    /// 20 % slower one.
    GateStudy(gate_study::Args),
}

fn main() -> ExitCode {
    let project = |result: anyhow::Result<()>| match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    };
    match Task::parse() {
        Task::Perfspec(command) => command.run(),
        Task::Bench(args) => project(bench::run(args)),
        Task::GateStudy(args) => project(gate_study::run(args)),
    }
}

/// `$CARGO` (set when run through cargo), else `cargo`, without the variables `cargo run` set
/// for xtask (they would make cargo rebuild ring and all above it).
pub(crate) fn cargo() -> std::process::Command {
    perfspec::cargo::command()
}

/// The workspace root (xtask lives one folder below it).
pub(crate) fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}
