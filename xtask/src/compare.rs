//! `cargo xtask compare A.json B.json`: compares two result files (from
//! `target/perfspec/results/`) or baselines, metric by metric, with the same statistics as the
//! gate. A result file is one run: its noise is the sampling error of each statistic.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use perfspec::assertion::{Metric, Stat};
use perfspec::baseline::{Baseline, decode, side_of_baseline};
use perfspec::gate::{Decision, Rule, Side, compare, quantile_se};
use perfspec::measure::stat_of;
use perfspec::units::fmt_change;
use serde_json::Value;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The reference: a result or baseline JSON file.
    a: PathBuf,
    /// The file compared with it.
    b: PathBuf,
    /// Worse by more than this share, beyond the noise: regressed.
    #[arg(long, default_value = "10%")]
    threshold: String,
}

/// One file's figures, by scope (`all` and each request).
enum Figures {
    Baseline(Box<Baseline>),
    Result(Value),
}

fn load(path: &Path) -> Result<Figures> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    match v["schema"].as_str() {
        Some("perfspec-baseline") => {
            let (spec, scenario) = (
                v["spec"].as_str().unwrap_or(""),
                v["scenario"].as_str().unwrap_or(""),
            );
            let baseline = Baseline::parse(&text, path, spec, scenario)?;
            Ok(Figures::Baseline(Box::new(baseline)))
        }
        Some("perfspec-result") => Ok(Figures::Result(v)),
        _ => bail!(
            "{} is neither a perfspec result nor a baseline (no \"schema\" of either)",
            path.display()
        ),
    }
}

fn side(f: &Figures, scope: Option<&str>, metric: &Metric) -> Option<Side> {
    match f {
        Figures::Baseline(b) => side_of_baseline(b, scope, metric),
        Figures::Result(v) => {
            let requests = v["requests"].as_array()?;
            let chosen: Vec<&Value> = requests
                .iter()
                .filter(|r| scope.is_none_or(|s| r["name"] == s))
                .collect();
            match metric {
                Metric::Throughput => {
                    let rate = match scope {
                        Some(_) => chosen.first()?["rate_per_s"].as_f64()?,
                        None => v["total"]["rate_per_s"].as_f64()?,
                    };
                    Some(Side {
                        runs: vec![rate],
                        within_se: 0.0,
                    })
                }
                Metric::Latency(stat) => {
                    let mut h = decode(chosen.first()?["histogram"].as_str()?).ok()?;
                    for r in chosen.iter().skip(1) {
                        h.add(decode(r["histogram"].as_str()?).ok()?).ok()?;
                    }
                    let se = match stat {
                        Stat::Percentile(p) => quantile_se(&h, *p / 100.0),
                        _ => 0.0,
                    };
                    Some(Side {
                        runs: vec![stat_of(&h, *stat)?],
                        within_se: se,
                    })
                }
                _ => None,
            }
        }
    }
}

fn scopes(f: &Figures) -> Vec<String> {
    match f {
        Figures::Baseline(b) => b.histograms.keys().cloned().collect(),
        Figures::Result(v) => v["requests"].as_array().map_or(vec![], |r| {
            r.iter()
                .filter_map(|x| x["name"].as_str().map(String::from))
                .collect()
        }),
    }
}

pub(crate) fn run(args: Args) -> Result<()> {
    let threshold = args
        .threshold
        .trim_end_matches('%')
        .parse::<f64>()
        .context("--threshold is a percentage, e.g. 10%")?
        / 100.0;
    let rule = Rule {
        threshold,
        warn: threshold / 2.0,
        noise_floor: 0.01,
    };
    let (a, b) = (load(&args.a)?, load(&args.b)?);
    println!("{} -> {}", args.a.display(), args.b.display());
    println!(
        "{:<24} {:>12} {:>12} {:>9} {:>22}  result",
        "metric", "a", "b", "change", "95% interval"
    );
    let mut regressed = false;
    let mut names: Vec<Option<String>> = vec![None];
    names.extend(
        scopes(&a)
            .into_iter()
            .filter(|s| scopes(&b).contains(s))
            .map(Some),
    );
    for scope in &names {
        for (label, metric) in [
            ("p50", Metric::Latency(Stat::Percentile(50.0))),
            ("p95", Metric::Latency(Stat::Percentile(95.0))),
            ("p99", Metric::Latency(Stat::Percentile(99.0))),
            ("throughput", Metric::Throughput),
        ] {
            let name = scope
                .as_ref()
                .map_or(label.to_string(), |s| format!("{s}.{label}"));
            let (Some(sa), Some(sb)) = (
                side(&a, scope.as_deref(), &metric),
                side(&b, scope.as_deref(), &metric),
            ) else {
                println!("{name:<24} {:>12}", "-");
                continue;
            };
            let Some(c) = compare(&sa, &sb, metric.higher_is_better(), rule) else {
                continue;
            };
            regressed |= c.decision == Decision::Regressed;
            let unit = metric.unit();
            println!(
                "{name:<24} {:>12} {:>12} {:>9} {:>10} .. {:>8}  {}",
                unit.format(c.base),
                unit.format(c.head),
                fmt_change(c.change),
                fmt_change(c.interval.0),
                fmt_change(c.interval.1),
                c.decision.label()
            );
        }
    }
    if regressed {
        bail!("regressed beyond {} (see above)", args.threshold);
    }
    Ok(())
}
