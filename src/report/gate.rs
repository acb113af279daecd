//! The comparison with the baseline in the console: the table of regression checks in a
//! failure message, and the notes after the summary (baselines blessed, baselines missing).

use std::fmt::Write;

use super::TrialReport;
use super::table::render;
use crate::compare::BaselineOutcome;
use crate::regression::Change;
use crate::units::fmt_change;

/// The comparison with the baseline (or why there was none).
pub fn baseline_section(b: &BaselineOutcome) -> String {
    let mut out = String::new();
    match b {
        BaselineOutcome::Missing { path, command, .. } => {
            let _ = writeln!(
                out,
                "  baseline: none at {path}; bless one with `{command}`"
            );
        }
        BaselineOutcome::Blessed { path, changes } => {
            let _ = writeln!(out, "  baseline: blessed {path}");
            for c in changes {
                let _ = writeln!(out, "    {c}");
            }
        }
        BaselineOutcome::Compared {
            path,
            blessed,
            other_host,
            binding,
            checks,
            ..
        } => {
            let runs = checks
                .iter()
                .find_map(|c| c.comparison.as_ref())
                .map_or(String::new(), |c| {
                    format!(", {} baseline run(s) vs {} run(s)", c.runs.0, c.runs.1)
                });
            let _ = writeln!(out, "\n  baseline {path} (blessed {blessed}){runs}");
            if let Some(h) = other_host {
                let effect = if *binding {
                    "compared anyway (host-mismatch = \"compare\")"
                } else {
                    "regressions only warn"
                };
                let _ = writeln!(out, "  note: {h}: {effect}");
            }
            let mut rows = vec![
                [
                    "metric",
                    "baseline",
                    "now",
                    "change",
                    "95% interval",
                    "result",
                ]
                .map(String::from)
                .to_vec(),
            ];
            for c in checks {
                let row = match &c.comparison {
                    Some(cmp) => {
                        let mut result = cmp.outcome.label().to_string();
                        if cmp.outcome == Change::Regressed {
                            result = if *binding {
                                "REGRESSED  <--".into()
                            } else {
                                "REGRESSED (warning)".into()
                            };
                        }
                        vec![
                            c.metric.clone(),
                            c.unit.format(cmp.baseline),
                            c.unit.format(cmp.current),
                            fmt_change(cmp.change),
                            format!(
                                "{} .. {}",
                                fmt_change(cmp.interval.0),
                                fmt_change(cmp.interval.1)
                            ),
                            result,
                        ]
                    }
                    None => vec![
                        c.metric.clone(),
                        "-".into(),
                        "-".into(),
                        "-".into(),
                        "-".into(),
                        c.note.clone().unwrap_or_default(),
                    ],
                };
                rows.push(row);
            }
            out.push_str(&render(&rows, "  "));
        }
    }
    out
}

/// Lines after the summary: baselines written, and the command for those missing.
pub fn baseline_notes(reports: &[TrialReport]) -> String {
    let mut blessed = Vec::new();
    let mut missing = Vec::new();
    for r in reports {
        match r
            .outcome
            .as_ref()
            .ok()
            .and_then(|m| m.verdict.baseline.as_ref())
        {
            Some(BaselineOutcome::Blessed { path, changes }) => {
                blessed.push(format!("  {} -> {path}", r.name()));
                blessed.extend(changes.iter().map(|c| format!("      {c}")));
            }
            Some(BaselineOutcome::Missing { command, .. }) => {
                missing.push(format!("  {}: {command}", r.name()))
            }
            _ => {}
        }
    }
    let mut out = String::new();
    if !blessed.is_empty() {
        out.push_str("\nbaselines blessed:\n");
        out.push_str(&blessed.join("\n"));
        out.push('\n');
    }
    if !missing.is_empty() {
        out.push_str(
            "\nno baseline yet (the scenarios ran without a regression check); to bless:\n",
        );
        out.push_str(&missing.join("\n"));
        out.push('\n');
    }
    out
}
