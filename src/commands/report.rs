//! `report [DIR]`: what a finished run came to, read back from its files (`index.json` and
//! the result file of each trial in `target/perfspec/`, or a downloaded CI artifact): one line
//! per scenario with its status and key figures, its failed checks, its baseline comparison
//! and the measured code's provenance. Exits non-zero when the run did not pass.

use std::path::PathBuf;

use serde_json::Value;

use super::results::{self, ResultsError, TrialFiles};
use super::workspace::{WorkspaceError, locate};
use super::{Target, Workspace};
use crate::report::markdown::symbol;

/// Why a run could not be reported.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The run's folder could not be found.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// Its files could not be read.
    #[error(transparent)]
    Results(#[from] ResultsError),
}

/// Renders the run in `dir` for the console; the second value: whether the run passed.
pub fn report(dir: &std::path::Path) -> Result<(String, bool), ReportError> {
    let (index, trials) = results::read(dir, None)?;
    let mut out = format!(
        "perfspec run of {} (perfspec {}), in {}\n",
        index["started_at"].as_str().unwrap_or("?"),
        index["perfspec_version"].as_str().unwrap_or("?"),
        dir.display()
    );
    for t in &trials {
        out.push_str(&trial(t));
    }
    for b in index["broken_specs"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "{} {}: {}\n",
            symbol("error"),
            b["name"].as_str().unwrap_or("?"),
            b["error"].as_str().unwrap_or("?")
        ));
    }
    let c = &index["counts"];
    out.push_str(&format!(
        "{} scenarios: {} pass, {} fail, {} inconclusive, {} error\n",
        c["total"], c["pass"], c["fail"], c["inconclusive"], c["error"]
    ));
    Ok((out, index["status"] == "pass"))
}

fn trial(t: &TrialFiles) -> String {
    let mut out = format!("{} {} ({})", symbol(&t.status), t.name, t.status);
    let Some(r) = &t.result else {
        out.push_str(": no result file\n");
        return out;
    };
    let total = &r["total"];
    if let (Some(p95), Some(rate)) = (
        total["latency"]["p95_us"].as_f64(),
        total["rate_per_s"].as_f64(),
    ) {
        out.push_str(&format!(
            ": p95 {}, {}, {} requests",
            crate::units::fmt_us(p95),
            crate::units::fmt_rate(rate),
            total["requests"]
        ));
    }
    if let Some(p) = provenance(r) {
        out.push_str(&format!(" [measured {p}]"));
    }
    out.push('\n');
    if let Some(e) = &t.error {
        out.push_str(&format!("    could not measure: {e}\n"));
    }
    for c in r["checks"].as_array().into_iter().flatten() {
        if c["outcome"] != "pass" {
            out.push_str(&format!(
                "    {} {}: {}\n",
                c["outcome"].as_str().unwrap_or("?").to_uppercase(),
                c["assertion"].as_str().unwrap_or("?"),
                c["observed"]
            ));
        }
    }
    for p in r["problems"].as_array().into_iter().flatten() {
        out.push_str(&format!("    problem: {}\n", p.as_str().unwrap_or("?")));
    }
    let b = &r["baseline"];
    for c in b["checks"].as_array().into_iter().flatten() {
        let change = c["change"]
            .as_f64()
            .map_or("-".into(), crate::units::fmt_change);
        out.push_str(&format!(
            "    {} {change} against {}: {}\n",
            c["metric"].as_str().unwrap_or("?"),
            b["path"].as_str().unwrap_or("the base"),
            c["outcome"].as_str().unwrap_or("not compared")
        ));
    }
    if b["kind"] == "missing" {
        out.push_str(&format!(
            "    no baseline at {}: {}\n",
            b["path"].as_str().unwrap_or("?"),
            b["command"].as_str().unwrap_or("")
        ));
    }
    out
}

/// `abc1234+dirty` from a result's `provenance`.
fn provenance(r: &Value) -> Option<String> {
    let p = &r["provenance"];
    let c = p["git_commit"].as_str()?;
    Some(crate::provenance::short_commit(c, p["git_dirty"].as_bool()))
}

/// `report` on the command line.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run's folder (holding `index.json`); the package's `target/perfspec` by default.
    dir: Option<PathBuf>,
    #[command(flatten)]
    target: Target,
}

/// Runs `report`: false when the run did not pass.
pub fn run(ws: &Workspace, args: Args) -> Result<bool, super::Error> {
    let dir = match args.dir {
        Some(d) => d,
        None => locate(
            &ws.cargo,
            &ws.dir,
            args.target.package.as_deref(),
            &args.target.test,
        )
        .map_err(ReportError::from)?
        .out_dir(),
    };
    let (text, passed) = report(&dir)?;
    print!("{text}");
    Ok(passed)
}
