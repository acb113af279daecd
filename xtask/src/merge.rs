//! `cargo xtask merge SHARDS…`: merges the shard files of a sharded run (files, or the output
//! folders of the shards) into one verdict per scenario and the usual reports
//! (`perfspec::commands::merge`); exits non-zero when a merged scenario fails.

use std::path::PathBuf;

use anyhow::{Result, bail};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Shard files (`*.shard.json`) or folders holding them (searched recursively).
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// The spec folder the shards ran (default: `PERFSPEC_SPECS`, else `perf-specs/`).
    #[arg(long)]
    specs: Option<PathBuf>,
    /// Where the merged reports go (default: `PERFSPEC_OUT`, else `target/perfspec`).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let root = crate::root();
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let specs = args
        .specs
        .or_else(|| var("PERFSPEC_SPECS"))
        .unwrap_or_else(|| root.join("perf-specs"));
    let out = args
        .out
        .or_else(|| var("PERFSPEC_OUT"))
        .unwrap_or_else(|| root.join("target").join("perfspec"));
    let mut harness = perfspec::Harness::new()
        .workspace(&root)
        .specs_dir(specs)
        .out_dir(out);
    if var("PERFSPEC_BASELINES").is_none() {
        harness = harness.baselines_dir(root.join("baselines"));
    }
    let report = perfspec::commands::merge(&args.shards, &harness)?;
    for s in &report.scenarios {
        eprintln!(
            "{}: {} shards merged, {} ({})",
            s.name,
            s.shards,
            s.status,
            s.result.display()
        );
    }
    if !report.write_errors.is_empty() {
        bail!(
            "the merge fails: {} of its reports could not be written:\n{}",
            report.write_errors.len(),
            report.write_errors.join("\n")
        );
    }
    if !report.passed() {
        bail!("a merged scenario did not pass (above)");
    }
    Ok(())
}
