//! `cargo xtask bless-baseline [FILTER] [--exact] [--runs N] [--force] [--release]`: runs the
//! selected scenarios N times through the perf harness in bless mode. The harness refuses to
//! bless runs that fail their assertions (unless `--force`), writes each baseline atomically
//! and prints old -> new per metric.

use anyhow::{Context, Result, bail};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Scenarios to bless, as a test filter (`search::`, `embed::steady`); all by default.
    filter: Option<String>,
    /// Match the filter exactly.
    #[arg(long)]
    exact: bool,
    /// Runs per scenario, kept together: more runs, a better noise estimate.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=50))]
    runs: u32,
    /// Bless even runs that fail their assertions.
    #[arg(long)]
    force: bool,
    /// Include scenarios marked `ignore = true`.
    #[arg(long)]
    include_ignored: bool,
    /// Build and run in release mode (bless the way your gate runs).
    #[arg(long)]
    release: bool,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut cmd = crate::cargo();
    cmd.current_dir(crate::root()).arg("test");
    if args.release {
        cmd.arg("--release");
    }
    cmd.args(["--test", "perf", "--"]);
    if let Some(f) = &args.filter {
        cmd.arg(f);
    }
    if args.exact {
        cmd.arg("--exact");
    }
    if args.include_ignored {
        cmd.arg("--include-ignored");
    }
    cmd.env("PERFSPEC_BLESS", args.runs.to_string());
    if args.force {
        cmd.env("PERFSPEC_BLESS_FORCE", "1");
    }
    if let Ok(p) = std::env::var("PERFSPEC_PROFILE") {
        eprintln!("blessing for baseline profile `{p}` (PERFSPEC_PROFILE)");
    }
    let status = cmd.status().context("running cargo test --test perf")?;
    if !status.success() {
        bail!(
            "not every selected scenario was blessed (see the failures above); nothing was written for those"
        );
    }
    Ok(())
}
