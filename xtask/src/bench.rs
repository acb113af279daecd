//! `cargo xtask bench [NAME…] [-- ARGS]`: runs the named bench targets (all by default) in
//! release mode; each prints its figures and saves them under `target/perfspec/bench/`.

use anyhow::{Context, Result, bail};

/// The benchmarks, in the order they run.
const BENCHES: &[(&str, &str)] = &[
    (
        "generator",
        "quiet gate; HTTP/1.1 and HTTPS throughput and CPU per completed request beside oha and wrk; open model at 20k/s; memory per idle user and for 1M requests",
    ),
    (
        "open_model",
        "open-model rate accuracy, schedule lateness, highest rate held",
    ),
    (
        "streams",
        "concurrent streams timed with inter-token-latency error under 1 ms",
    ),
    (
        "stress",
        "capacity search, recovery time and abort-on against known answers",
    ),
    (
        "metrics",
        "scraping a 1,000-series /metrics every second; generator throughput with the live endpoint served",
    ),
    (
        "flows",
        "generator CPU per request of a three-step flow against the same requests as a mix; per-turn TTFT of multi-turn chats against the server's truth",
    ),
    (
        "shards",
        "4 shard processes × 2,500 users merged against one process of 10,000; the open schedule's union; merging 100 shard files",
    ),
];

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Which benchmarks (default: all).
    names: Vec<String>,
    /// Arguments passed to each benchmark (after `--`), e.g. `-- --duration 10`.
    #[arg(last = true)]
    extra: Vec<String>,
}

pub(crate) fn run(args: Args) -> Result<()> {
    // `open-model` and `open_model` both name the bench target `open_model`.
    let names: Vec<String> = if args.names.is_empty() {
        BENCHES.iter().map(|(n, _)| n.to_string()).collect()
    } else {
        args.names.iter().map(|n| n.replace('-', "_")).collect()
    };
    for name in &names {
        if !BENCHES.iter().any(|(n, _)| n == name) {
            let known: Vec<String> = BENCHES
                .iter()
                .map(|(n, what)| format!("  {n}: {what}"))
                .collect();
            bail!(
                "unknown benchmark `{name}`; available:\n{}",
                known.join("\n")
            );
        }
    }
    for name in names {
        eprintln!("== cargo bench --bench {name}");
        let status = crate::cargo()
            .current_dir(crate::root())
            .args(["bench", "--bench", &name, "--features", "commands", "--"])
            .args(&args.extra)
            .status()
            .context("running cargo bench")?;
        if !status.success() {
            bail!("benchmark `{name}` failed ({status})");
        }
    }
    Ok(())
}
