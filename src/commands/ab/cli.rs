//! `ab [FILTER] [--exact] [--base REV] [--control] [--rounds MIN..MAX] [--release]` on the
//! command line: prints what each metric came to; false when a scenario failed (a regression,
//! a missed assertion, a round that could not measure).

use super::{AbOptions, ab};
use crate::commands::workspace::locate;
use crate::commands::{Error, Target, Workspace};
use crate::units::fmt_change;

/// `ab` on the command line.
#[derive(Debug, clap::Args)]
pub struct Args {
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
    #[command(flatten)]
    target: Target,
}

/// Runs `ab`: false when the A/B gate failed.
pub fn run(ws: &Workspace, args: Args) -> Result<bool, Error> {
    let (min, max) = args
        .rounds
        .split_once("..")
        .and_then(|(a, b)| Some((a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?)))
        .filter(|(a, b)| *a >= 2 && a <= b && *b <= 100)
        .ok_or_else(|| {
            Error::Usage(format!(
                "--rounds `{}` is not MIN..MAX with 2 <= MIN <= MAX <= 100, e.g. 3..12",
                args.rounds
            ))
        })?;
    let package = locate(
        &ws.cargo,
        &ws.dir,
        args.target.package.as_deref(),
        &args.target.test,
    )?;
    let options = AbOptions {
        filter: args.filter,
        exact: args.exact,
        base: args.base,
        control: args.control,
        release: args.release,
        min_rounds: min,
        max_rounds: max,
        test: args.target.test,
        cargo: ws.cargo.clone(),
        out: Some(package.out_dir()),
        ..AbOptions::new(package.dir)
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
        println!("the A/B gate failed (exit code {})", report.exit_code);
    }
    Ok(report.exit_code == 0)
}
