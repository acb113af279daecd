//! The gate's comparison in the HTML report: one row per metric, base and head, the change
//! with its 95 % interval, and the decision; an undecided row says what would decide it.

use std::fmt::Write;

use super::super::escape::xml;
use crate::gate::{Decision, GateOutcome, Source};
use crate::units::fmt_change;

/// The table of compared metrics; empty when the trial was not compared.
pub(super) fn table(g: &GateOutcome) -> String {
    let GateOutcome::Compared {
        source,
        binding,
        changes,
        ..
    } = g
    else {
        return String::new();
    };
    let (base, head) = match source {
        Source::Baseline { .. } => ("baseline", "now"),
        Source::Ab { .. } => ("base", "head"),
    };
    let mut out = format!(
        "<h3>Compared</h3><p class=\"gen\">{}{}</p>\n<table class=\"checks\"><thead><tr><th>metric</th><th class=\"num\">{base}</th>\
         <th class=\"num\">{head}</th><th class=\"num\">change</th><th class=\"num\">95% interval</th><th>result</th></tr></thead><tbody>\n",
        xml(&source.label()),
        if *binding {
            ""
        } else {
            " · regressions only warn"
        }
    );
    for c in changes {
        let Some(cmp) = &c.compared else {
            let _ = writeln!(
                out,
                "<tr class=\"na\"><td><code>{}</code><span class=\"why\">{}</span></td><td class=\"num\">—</td><td class=\"num\">—</td><td class=\"num\">—</td><td class=\"num\">—</td><td>N/A</td></tr>",
                xml(&c.metric),
                xml(c.note.as_deref().unwrap_or_default())
            );
            continue;
        };
        let class = match cmp.decision {
            Decision::Regressed if *binding => "fail",
            Decision::Inconclusive => "inconclusive",
            _ => "pass",
        };
        let why = cmp
            .needed
            .filter(|_| cmp.decision == Decision::Inconclusive)
            .map_or(String::new(), |n| {
                format!("<span class=\"why\">{}</span>", xml(&n.text(cmp.paired)))
            });
        let _ = writeln!(
            out,
            "<tr class=\"{class}\"><td><code>{}</code>{why}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            xml(&c.metric),
            xml(&c.unit.format(cmp.base)),
            xml(&c.unit.format(cmp.head)),
            xml(&fmt_change(cmp.change)),
            xml(&cmp.interval_text()),
            cmp.decision.label()
        );
    }
    out.push_str("</tbody></table>\n");
    out
}
