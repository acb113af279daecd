//! `compare A.json B.json [--threshold 10%]`: compares two result files (from
//! `target/perfspec/results/`) or baselines, metric by metric, with the same statistics as the
//! gate. A result file is one run: its noise is the sampling error of each statistic.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::assertion::{Metric, Stat};
use crate::baseline::{Baseline, BaselineError, decode, side_of_baseline};
use crate::gate::{Comparison, Decision, Rule, Side, compare as decide, quantile_se};
use crate::measure::stat_of;
use crate::units::fmt_change;

/// Why two files could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not JSON.
    #[error("{} is not JSON: {source}", path.display())]
    NotJson {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// A file is JSON of another kind.
    #[error("{} is neither a perfspec result nor a baseline (no \"schema\": \"perfspec-result\" or \"perfspec-baseline\")", .0.display())]
    NotPerfspec(PathBuf),
    /// A baseline is unusable.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// The threshold is not a percentage.
    #[error("--threshold `{0}` is not a percentage above 0, e.g. 10%")]
    Threshold(String),
}

/// One file's figures, by scope (`all` and each request).
enum Figures {
    Baseline(Box<Baseline>),
    Result(Value),
}

fn load(path: &Path) -> Result<Figures, CompareError> {
    let text = std::fs::read_to_string(path).map_err(|source| CompareError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let v: Value = serde_json::from_str(&text).map_err(|source| CompareError::NotJson {
        path: path.to_path_buf(),
        source,
    })?;
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
        _ => Err(CompareError::NotPerfspec(path.to_path_buf())),
    }
}

fn side(f: &Figures, scope: Option<&str>, metric: &Metric) -> Option<Side> {
    match f {
        Figures::Baseline(b) => side_of_baseline(b, scope, metric, None),
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

/// Where a file's measured code came from: `abc1234+dirty, perfspec 0.1.0`.
fn provenance(f: &Figures) -> Option<String> {
    let (commit, dirty, version) = match f {
        Figures::Baseline(b) => (
            b.provenance.git_commit.clone(),
            b.provenance.git_dirty,
            Some(b.provenance.perfspec_version.clone()),
        ),
        Figures::Result(v) => (
            v["provenance"]["git_commit"].as_str().map(String::from),
            v["provenance"]["git_dirty"].as_bool(),
            v["perfspec_version"].as_str().map(String::from),
        ),
    };
    let commit = commit.map(|c| crate::provenance::short_commit(&c, dirty));
    let parts: Vec<String> = commit
        .into_iter()
        .chain(version.map(|v| format!("perfspec {v}")))
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// One compared metric.
#[derive(Debug, Clone)]
pub struct Row {
    /// `p95`, `search.p99`.
    pub name: String,
    /// The metric.
    pub metric: Metric,
    /// The comparison; `None` when a file lacks the metric.
    pub comparison: Option<Comparison>,
}

/// What comparing two files came to.
#[derive(Debug, Clone)]
pub struct CompareReport {
    /// The two files.
    pub files: (PathBuf, PathBuf),
    /// Where each file's measured code came from, when recorded.
    pub provenance: (Option<String>, Option<String>),
    /// Notes on the provenance: a file measured from uncommitted changes.
    pub notes: Vec<String>,
    /// Every metric compared.
    pub rows: Vec<Row>,
}

impl CompareReport {
    /// Whether a metric regressed beyond the threshold.
    pub fn regressed(&self) -> bool {
        self.rows.iter().any(|r| {
            r.comparison
                .as_ref()
                .is_some_and(|c| c.decision == Decision::Regressed)
        })
    }

    /// The table, for the console.
    pub fn render(&self) -> String {
        let mut out = format!("{} -> {}\n", self.files.0.display(), self.files.1.display());
        let (a, b) = &self.provenance;
        if a.is_some() || b.is_some() {
            let show = |p: &Option<String>| p.clone().unwrap_or_else(|| "not recorded".into());
            out.push_str(&format!("measured code: {} -> {}\n", show(a), show(b)));
        }
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        out.push_str(&format!(
            "{:<24} {:>12} {:>12} {:>9} {:>22}  result\n",
            "metric", "a", "b", "change", "95% interval"
        ));
        for r in &self.rows {
            let Some(c) = &r.comparison else {
                out.push_str(&format!("{:<24} {:>12}\n", r.name, "-"));
                continue;
            };
            let unit = r.metric.unit();
            out.push_str(&format!(
                "{:<24} {:>12} {:>12} {:>9} {:>10} .. {:>8}  {}\n",
                r.name,
                unit.format(c.base),
                unit.format(c.head),
                fmt_change(c.change),
                fmt_change(c.interval.0),
                fmt_change(c.interval.1),
                c.decision.label()
            ));
        }
        out
    }
}

/// Parses `10%` (or `10`) into 0.1.
pub fn parse_threshold(text: &str) -> Result<f64, CompareError> {
    text.trim()
        .trim_end_matches('%')
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
        .map(|v| v / 100.0)
        .ok_or_else(|| CompareError::Threshold(text.to_string()))
}

/// Compares `b` with the reference `a`: worse by more than `threshold` (a share, 0.1) beyond
/// the noise is a regression.
pub fn compare(a: &Path, b: &Path, threshold: f64) -> Result<CompareReport, CompareError> {
    let rule = Rule {
        threshold,
        warn: threshold / 2.0,
        noise_floor: 0.01,
    };
    let (fa, fb) = (load(a)?, load(b)?);
    let mut names: Vec<Option<String>> = vec![None];
    let in_b = scopes(&fb);
    names.extend(
        scopes(&fa)
            .into_iter()
            .filter(|s| in_b.contains(s))
            .map(Some),
    );
    let mut rows = Vec::new();
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
            let comparison = match (
                side(&fa, scope.as_deref(), &metric),
                side(&fb, scope.as_deref(), &metric),
            ) {
                (Some(sa), Some(sb)) => decide(&sa, &sb, metric.higher_is_better(), rule),
                _ => None,
            };
            rows.push(Row {
                name,
                metric,
                comparison,
            });
        }
    }
    let provenance = (provenance(&fa), provenance(&fb));
    let notes = [(a, &provenance.0), (b, &provenance.1)]
        .into_iter()
        .filter(|(_, p)| p.as_deref().is_some_and(|p| p.contains("+dirty")))
        .map(|(f, _)| {
            format!(
                "{} was measured from uncommitted changes: its commit does not say what code it measured",
                f.display()
            )
        })
        .collect();
    Ok(CompareReport {
        files: (a.to_path_buf(), b.to_path_buf()),
        provenance,
        notes,
        rows,
    })
}

/// `compare` on the command line.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The reference: a result or baseline JSON file.
    a: PathBuf,
    /// The file compared with it.
    b: PathBuf,
    /// Worse by more than this share, beyond the noise: regressed.
    #[arg(long, default_value = "10%")]
    threshold: String,
}

/// Runs `compare`: false when a metric regressed.
pub fn run(args: Args) -> Result<bool, super::Error> {
    let threshold = parse_threshold(&args.threshold)?;
    let report = compare(&args.a, &args.b, threshold)?;
    print!("{}", report.render());
    if report.regressed() {
        println!("regressed beyond {}", args.threshold);
    }
    Ok(!report.regressed())
}
