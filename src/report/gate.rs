//! The gate in the console: the table of compared metrics in a trial's table, and the notes
//! after the summary (baselines blessed, baselines missing, comparisons left undecided).

use std::fmt::Write;

use super::TrialReport;
use super::table::render;
use crate::gate::{Decision, GateOutcome, Source};
use crate::units::fmt_change;

/// The comparison with the base side (or why there was none).
pub fn baseline_section(g: &GateOutcome) -> String {
    let mut out = String::new();
    match g {
        GateOutcome::Missing { path, command, .. } => {
            let _ = writeln!(
                out,
                "  baseline: none at {path}; bless one with `{command}`"
            );
        }
        GateOutcome::Blessed { path, changes } => {
            let _ = writeln!(out, "  baseline: blessed {path}");
            for c in changes {
                let _ = writeln!(out, "    {c}");
            }
        }
        GateOutcome::Compared {
            source,
            binding,
            changes,
            ..
        } => {
            let runs =
                changes
                    .iter()
                    .find_map(|c| c.compared.as_ref())
                    .map_or(String::new(), |c| match source {
                        Source::Ab { .. } => format!(", {} round(s)", c.runs.0),
                        Source::Baseline { .. } => {
                            format!(", {} baseline run(s) vs {} run(s)", c.runs.0, c.runs.1)
                        }
                    });
            let what = match source {
                Source::Baseline { .. } => "baseline ",
                Source::Ab { .. } => "",
            };
            let _ = writeln!(out, "\n  {what}{}{runs}", source.label());
            if let Source::Baseline {
                other_host: Some(h),
                ..
            } = source
            {
                let effect = if *binding {
                    "compared anyway (host-mismatch = \"compare\")"
                } else {
                    "regressions only warn"
                };
                let _ = writeln!(out, "  note: {h}: {effect}");
            }
            let (base, head) = match source {
                Source::Baseline { .. } => ("baseline", "now"),
                Source::Ab { .. } => ("base", "head"),
            };
            let mut rows = vec![
                ["metric", base, head, "change", "95% interval", "result"]
                    .map(String::from)
                    .to_vec(),
            ];
            let mut notes = Vec::new();
            for c in changes {
                let row = match &c.compared {
                    Some(cmp) => {
                        let result = match cmp.decision {
                            Decision::Regressed if *binding => "REGRESSED  <--".to_string(),
                            Decision::Regressed => "REGRESSED (warning)".to_string(),
                            d => d.label().to_string(),
                        };
                        if let Some(n) = cmp.needed.filter(|_| c.undecided()) {
                            notes.push(format!("{}: {}", c.metric, n.text(cmp.paired)));
                        }
                        vec![
                            c.metric.clone(),
                            c.unit.format(cmp.base),
                            c.unit.format(cmp.head),
                            fmt_change(cmp.change),
                            cmp.interval_text(),
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
            for n in notes {
                let _ = writeln!(out, "    undecided: {n}");
            }
        }
    }
    out
}

/// Lines after the summary: baselines written, the command for those missing, and every
/// comparison the noise left undecided (a passing test may still not have decided).
pub fn baseline_notes(reports: &[TrialReport]) -> String {
    let mut blessed = Vec::new();
    let mut missing = Vec::new();
    let mut undecided = Vec::new();
    for r in reports {
        match r.measured().and_then(|m| m.verdict.gate()) {
            Some(GateOutcome::Blessed { path, changes }) => {
                blessed.push(format!("  {} -> {path}", r.name()));
                blessed.extend(changes.iter().map(|c| format!("      {c}")));
            }
            Some(GateOutcome::Missing { command, .. }) => {
                missing.push(format!("  {}: {command}", r.name()))
            }
            Some(g @ GateOutcome::Compared { .. }) => undecided.extend(
                g.changes()
                    .iter()
                    .filter_map(|c| c.undecided_text())
                    .map(|t| format!("  {}: {t}", r.name())),
            ),
            None => {}
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
    if !undecided.is_empty() {
        out.push_str("\nundecided (neither passed nor failed by the gate):\n");
        out.push_str(&undecided.join("\n"));
        out.push('\n');
    }
    out
}
