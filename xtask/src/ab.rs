//! `cargo xtask ab [FILTER] [--exact] [--base REV] [--control] [--rounds MIN..MAX] [--release]`:
//! the working tree against a base revision, in alternating runs on this machine
//! (`perfspec::commands::ab`). Prints what each metric came to and exits non-zero when a
//! scenario failed (a regression, a missed assertion, a round that could not measure).

use anyhow::{Context, Result, bail};
use perfspec::commands::{AbOptions, ab};
use perfspec::units::fmt_change;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Scenarios to compare, as a test filter (`search::`, `embed::steady`); all by default.
    filter: Option<String>,
    /// Match the filter exactly.
    #[arg(long)]
    exact: bool,
    /// The base revision.
    #[arg(long, default_value = "origin/main")]
    base: String,
    /// A/A control: the head against itself, to see the noise floor of this machine.
    #[arg(long)]
    control: bool,
    /// Rounds per scenario: at least MIN (before stopping early), at most MAX.
    #[arg(long, default_value = "3..12")]
    rounds: String,
    /// Build and run in release mode.
    #[arg(long)]
    release: bool,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let (min, max) = args
        .rounds
        .split_once("..")
        .and_then(|(a, b)| Some((a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?)))
        .filter(|(a, b)| *a >= 2 && a <= b && *b <= 100)
        .context("--rounds is MIN..MAX with 2 <= MIN <= MAX <= 100, e.g. 3..12")?;
    let options = AbOptions {
        filter: args.filter,
        exact: args.exact,
        base: args.base,
        control: args.control,
        release: args.release,
        min_rounds: min,
        max_rounds: max,
        ..AbOptions::new(crate::root())
    };
    let report = ab(&options)?;
    println!(
        "\nperfspec ab: head against {} (built in {:.0} s, measured in {:.0} s)",
        report.base,
        report.build_time.as_secs_f64(),
        report.run_time.as_secs_f64()
    );
    for d in &report.decisions {
        let decided = match d.decision.as_deref() {
            Some("inconclusive") => "UNDECIDED".to_string(),
            Some(other) => other.to_uppercase(),
            None => "not compared".into(),
        };
        let change = d.change.map_or("-".into(), fmt_change);
        let interval = d.interval.map_or("-".into(), |(lo, hi)| {
            format!("{} .. {}", fmt_change(lo), fmt_change(hi))
        });
        let rounds = d.rounds.map_or(String::new(), |n| format!(", {n} rounds"));
        println!(
            "  {:<28} {:<26} {:>8}  [{interval}]  {decided}{rounds}",
            d.scenario, d.metric, change
        );
        if let Some(n) = &d.note {
            println!("      {n}");
        }
    }
    println!("  reports: {}", report.out.display());
    if report.exit_code != 0 {
        bail!("the A/B gate failed (exit code {})", report.exit_code);
    }
    Ok(())
}
